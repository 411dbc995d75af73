//! Matching included experts to a member state's mission request.
//!
//! Matching runs in two steps. Hard filters remove every expert who must not
//! be proposed, and say which filter removed each. The experts left are
//! scored: the score is a sum of named parts, each a fraction in thousandths
//! times a weight, so it is an integer and the same on every machine. Ties
//! break on the rotation key (fewer recent missions first), then on the
//! expert id, so the order never depends on input order, hashing or timing.
//! Points add up with saturating arithmetic, so no weight can overflow.
//!
//! | part         | what earns it                                                     |
//! |--------------|-------------------------------------------------------------------|
//! | thematic     | per requested field: exact 1000, a sub-field 700, the broader area 300 |
//! | years        | days of experience in matching fields, up to 15 years             |
//! | competencies | share of the requested competencies the expert has used           |
//! | languages    | share of the desired languages at the desired level               |
//! | region       | experience in the requesting state 1000, in its region 500        |
//! | rotation     | 1000, less 500 for each mission in the year before this one       |
//! | custom       | what a deployment's own [`CustomPart`] returns, 0 to 1000         |
//!
//! A [`MatchPolicy`] holds the weights, an optional [`LoadCap`] (a hard
//! filter) and the custom parts.

pub mod assignment;
pub mod coverage;
pub mod index;

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::eligibility::merged_days;
use crate::error::{Field, ValidationError};
use crate::lifecycle::Status;
use crate::membership::Membership;
use crate::model::{DateRange, Engagement, Expert, ExpertId, MissionRequest, Sector};
use crate::taxonomy::Taxonomy;

/// Weights of the score parts. Each part contributes at most
/// `1000 × weight` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// Depth of the thematic match.
    pub thematic: u32,
    /// Years in the matched fields.
    pub years: u32,
    /// Requested competencies.
    pub competencies: u32,
    /// Desired languages.
    pub languages: u32,
    /// Experience in the requesting state or its region.
    pub region: u32,
    /// Fair rotation.
    pub rotation: u32,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            thematic: 35,
            years: 20,
            competencies: 20,
            languages: 10,
            region: 10,
            rotation: 5,
        }
    }
}

/// A deployment's own score part, added to the built-in ones.
///
/// `score` returns the fraction earned in thousandths (0 to 1000) and a
/// sentence explaining it. A value above 1000 is never clamped silently:
/// the expert is left out of the ranking under [`Filter::InvalidScore`], with
/// the value in the reason.
pub trait CustomPart: Send + Sync {
    /// A short name, shown beside the part.
    fn name(&self) -> &str;

    /// The fraction earned, in thousandths, and why.
    fn score(&self, request: &MissionRequest, expert: &Expert) -> (u32, String);
}

/// A custom part and its weight.
#[derive(Clone)]
pub struct WeightedPart {
    /// The part.
    pub part: Arc<dyn CustomPart>,
    /// Its weight, as for [`Weights`].
    pub weight: u32,
}

impl fmt::Debug for WeightedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeightedPart")
            .field("name", &self.part.name())
            .field("weight", &self.weight)
            .finish()
    }
}

/// A hard limit on how many missions an expert carries: at most `max`
/// accepted or completed engagements in the `period_days` days before a
/// mission's first day, counting engagements that overlap that period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadCap {
    /// Most missions in the period.
    pub max: u32,
    /// Length of the rolling period, in days.
    pub period_days: u32,
}

/// Where a mission would take an expert over a [`LoadCap`]: a rolling period
/// that already holds `cap.max` or more of the expert's accepted or
/// completed missions. [`load_cap_breach`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapBreach {
    /// The cap that would be exceeded.
    pub cap: LoadCap,
    /// Accepted or completed missions already in `period`, the new one
    /// not counted.
    pub load: usize,
    /// The full period: `cap.period_days` days back from the first day of
    /// the new mission or of a mission accepted later, through that
    /// mission's last day.
    pub period: DateRange,
}

impl fmt::Display for CapBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} accepted or completed mission{} between {} and {}; the cap is {} per {} days",
            self.load,
            if self.load == 1 { "" } else { "s" },
            self.period.first,
            self.period.last,
            self.cap.max,
            self.cap.period_days
        )
    }
}

/// How requests are matched: weights, an optional load cap and custom parts.
///
/// [`rank`] and the index take the policy as it is; a policy built by hand
/// should pass [`check`](MatchPolicy::check) first (the `Roster` builders
/// check it), since weights beyond [`MAX_WEIGHT_SUM`] saturate totals and
/// stop telling experts apart.
#[derive(Debug, Clone, Default)]
pub struct MatchPolicy {
    /// Weights of the built-in parts.
    pub weights: Weights,
    /// The load cap, when the deployment has one.
    pub load_cap: Option<LoadCap>,
    /// Custom parts, scored after the built-in ones in this order.
    pub custom: Vec<WeightedPart>,
}

/// The largest sum of weights, built-in and custom, for which no total
/// saturates: each part earns at most 1000 points per unit of weight, and
/// totals are `u32`.
pub const MAX_WEIGHT_SUM: u64 = u32::MAX as u64 / 1000;

impl MatchPolicy {
    /// Every problem with the policy, each naming its field: weights,
    /// custom parts' included, that add up to 0 (every expert would score
    /// 0) or to more than [`MAX_WEIGHT_SUM`] (totals would saturate and
    /// stop telling experts apart), and a load cap that
    /// [`LoadCap::check`] refuses.
    pub fn check(&self) -> Vec<ValidationError> {
        let Weights {
            thematic,
            years,
            competencies,
            languages,
            region,
            rotation,
        } = self.weights;
        let sum: u64 = [thematic, years, competencies, languages, region, rotation]
            .into_iter()
            .chain(self.custom.iter().map(|c| c.weight))
            .map(u64::from)
            .sum();
        let field = Field::new("weights");
        let mut errors = Vec::new();
        if sum == 0 {
            errors.push(ValidationError::new(
                field,
                "every weight is 0, so every expert would score 0; give at least one part a \
                 weight",
            ));
        } else if sum > MAX_WEIGHT_SUM {
            errors.push(ValidationError::new(
                field,
                format!(
                    "add up to {sum}; at most {MAX_WEIGHT_SUM} keeps every total exact \
                     (each part earns up to 1000 points per unit of weight)"
                ),
            ));
        }
        if let Some(cap) = &self.load_cap {
            errors.extend(cap.check());
        }
        errors
    }
}

impl LoadCap {
    /// Every problem with the cap, each naming its field under
    /// `load_cap`: a cap of 0 missions, which would remove every expert,
    /// or a period of 0 days.
    pub fn check(&self) -> Vec<ValidationError> {
        let field = Field::new("load_cap");
        let mut errors = Vec::new();
        if self.max == 0 {
            errors.push(ValidationError::new(
                field.key("max"),
                "is 0, which would remove every expert; allow at least 1 mission in the period",
            ));
        }
        if self.period_days == 0 {
            errors.push(ValidationError::new(
                field.key("period_days"),
                "is 0; the rolling period is at least 1 day",
            ));
        }
        errors
    }
}

/// Years of experience at which the years part is full.
pub const YEARS_CAP: i64 = 15;

/// The hard filters, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Not currently included on the roster.
    NotIncluded,
    /// The term does not cover every mission day.
    TermEnds,
    /// Not available, not authorised, or declared unavailable on mission days.
    Unavailable,
    /// Already engaged on an overlapping mission.
    Engaged,
    /// Has reached the load cap of missions in the rolling period.
    LoadCap,
    /// Below the level of a required language.
    Language,
    /// Excluded by the requester.
    Excluded,
    /// Works for a government body of the requesting state.
    Conflict,
    /// A custom part returned a value outside 0 to 1000.
    InvalidScore,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Filter::NotIncluded => "not included",
            Filter::TermEnds => "term ends",
            Filter::Unavailable => "unavailable",
            Filter::Engaged => "engaged",
            Filter::LoadCap => "load cap",
            Filter::Language => "language",
            Filter::Excluded => "excluded",
            Filter::Conflict => "conflict of interest",
            Filter::InvalidScore => "invalid score",
        })
    }
}

/// The name of a score part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartName {
    /// Depth of the thematic match.
    Thematic,
    /// Years in the matched fields.
    Years,
    /// Requested competencies.
    Competencies,
    /// Desired languages.
    Languages,
    /// Experience in the requesting state or its region (for an
    /// organisation's request, the mission's place: [`experience_state`]).
    Region,
    /// Fair rotation.
    Rotation,
    /// A deployment's own part; [`ScorePart::custom`] names it.
    Custom,
}

impl fmt::Display for PartName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            PartName::Thematic => "thematic",
            PartName::Years => "years",
            PartName::Competencies => "competencies",
            PartName::Languages => "languages",
            PartName::Region => "region",
            PartName::Rotation => "rotation",
            PartName::Custom => "custom",
        })
    }
}

/// One part of an expert's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorePart {
    /// Which part.
    pub name: PartName,
    /// How much of the part was earned, in thousandths.
    pub fraction: u32,
    /// The part's weight.
    pub weight: u32,
    /// `fraction × weight`.
    pub points: u32,
    /// Why, in words.
    pub explanation: String,
    /// The custom part's name, for [`PartName::Custom`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<String>,
}

/// Something the requester should know about a ranked expert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The requesting member nominated the expert.
    NominatedByRequester,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Flag::NominatedByRequester => "nominated by the requesting state",
        })
    }
}

/// An expert who passed every hard filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    /// Position, from 1.
    pub rank: u32,
    /// The expert.
    pub expert: ExpertId,
    /// Sum of the parts' points.
    pub total: u32,
    /// Every part, in the order of [`PartName`], custom parts last.
    pub parts: Vec<ScorePart>,
    /// The rotation key: accepted or completed missions in the year before
    /// this one. Among equal totals, fewer come first.
    pub recent_missions: u32,
    /// Flags for the requester.
    pub flags: Vec<Flag>,
}

/// An expert removed by a hard filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// The expert.
    pub expert: ExpertId,
    /// The first filter that removed the expert.
    pub filter: Filter,
    /// Every filter the expert fails, with the reason in words.
    pub reasons: Vec<(Filter, String)>,
}

/// The outcome of matching one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortlist {
    /// The request's id.
    pub request_id: String,
    /// How many experts the request wants.
    pub wanted: u16,
    /// Every expert who passed the filters, best first.
    pub ranked: Vec<Ranked>,
    /// Every expert removed, by id.
    pub excluded: Vec<Excluded>,
    /// Why nobody passed the filters; `None` when someone did.
    pub empty_because: Option<EmptyBecause>,
}

/// Why a request's ranking is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmptyBecause {
    /// No expert was considered at all.
    NoExperts,
    /// Filters removed everyone. `last` is the last filter, in filter order,
    /// that removed anyone: the one that emptied the list.
    Filtered {
        /// The filter that removed the last experts.
        last: Filter,
        /// How many each filter removed (each expert under its first).
        removed_by: Vec<(Filter, usize)>,
    },
}

impl fmt::Display for EmptyBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmptyBecause::NoExperts => f.write_str("no expert is on the roster"),
            EmptyBecause::Filtered { last, removed_by } => {
                write!(f, "every expert was filtered out, the last by \"{last}\" (")?;
                for (i, (filter, n)) in removed_by.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{filter}: {n}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl EmptyBecause {
    /// The reason for a ranking with nobody in it, given the per-filter
    /// counts in filter order.
    pub fn from_counts(removed_by: Vec<(Filter, usize)>) -> EmptyBecause {
        match removed_by.last() {
            Some(&(last, _)) => EmptyBecause::Filtered { last, removed_by },
            None => EmptyBecause::NoExperts,
        }
    }
}

impl Shortlist {
    /// The experts proposed: the first `wanted` of the ranking.
    pub fn proposed(&self) -> &[Ranked] {
        &self.ranked[..self.ranked.len().min(self.wanted as usize)]
    }

    /// How many experts each filter removed (counting each expert under the
    /// first filter that removed it), in filter order.
    pub fn removed_by(&self) -> Vec<(Filter, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for e in &self.excluded {
            *counts.entry(e.filter).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }

    /// Why an expert is not proposed, or where it ranked.
    pub fn why_not(&self, expert: ExpertId) -> String {
        if let Some(e) = self.excluded.iter().find(|e| e.expert == expert) {
            let mut text = format!("{expert} was removed by the filter \"{}\"", e.filter);
            for (i, (filter, reason)) in e.reasons.iter().enumerate() {
                if i == 0 {
                    text.push_str(&format!(": {reason}"));
                } else {
                    text.push_str(&format!("; it also fails \"{filter}\": {reason}"));
                }
            }
            return text;
        }
        match self.ranked.iter().find(|r| r.expert == expert) {
            Some(r) if (r.rank as usize) <= self.wanted as usize => {
                format!(
                    "{expert} is proposed, ranked {} of {}",
                    r.rank,
                    self.ranked.len()
                )
            }
            Some(r) => format!(
                "{expert} passed every filter but ranked {} of {}, below the {} wanted",
                r.rank,
                self.ranked.len(),
                self.wanted
            ),
            None => format!("{expert} was not considered: not on the roster"),
        }
    }
}

/// What matching needs besides the experts.
pub struct Context<'a> {
    /// The taxonomy.
    pub taxonomy: &'a Taxonomy,
    /// Membership, for regions.
    pub membership: &'a Membership,
    /// Weights, load cap and custom parts.
    pub policy: &'a MatchPolicy,
    /// Every engagement of the experts considered.
    pub engagements: &'a [Engagement],
    /// Today in the roster's time zone; open experience periods end here.
    pub today: NaiveDate,
}

/// Filters and ranks `experts` for `request`, which must be valid.
///
/// This is the reference implementation: every expert is checked and
/// explained in full. [`index::MatchIndex`] gives the same order faster.
pub fn rank(request: &MissionRequest, experts: &[Expert], ctx: &Context<'_>) -> Shortlist {
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for expert in experts {
        let mut reasons = filters(request, expert, ctx);
        let scored = if reasons.is_empty() {
            score(request, expert, ctx)
        } else {
            Vec::new()
        };
        if let Some(bad) = scored.iter().find(|p| p.fraction > 1000) {
            reasons.push((
                Filter::InvalidScore,
                format!(
                    "the part \"{}\" returned {} thousandths; a part must be 0 to 1000",
                    bad.custom.as_deref().unwrap_or("custom"),
                    bad.fraction
                ),
            ));
        }
        if let Some((first, _)) = reasons.first() {
            excluded.push(Excluded {
                expert: expert.id,
                filter: *first,
                reasons,
            });
            continue;
        }
        let total = scored.iter().fold(0u32, |t, p| t.saturating_add(p.points));
        let mut flags = Vec::new();
        if expert.nominators().contains(request.requester.as_str()) {
            flags.push(Flag::NominatedByRequester);
        }
        ranked.push(Ranked {
            rank: 0,
            expert: expert.id,
            total,
            parts: scored,
            recent_missions: recent_missions(request, expert.id, ctx.engagements),
            flags,
        });
    }
    ranked.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(a.recent_missions.cmp(&b.recent_missions))
            .then(a.expert.cmp(&b.expert))
    });
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    excluded.sort_by_key(|e| e.expert);
    let mut list = Shortlist {
        request_id: request.id.clone(),
        wanted: request.experts_wanted,
        ranked,
        excluded,
        empty_because: None,
    };
    if list.ranked.is_empty() {
        list.empty_because = Some(EmptyBecause::from_counts(list.removed_by()));
    }
    list
}

/// Whether an engagement counts against `request`: it holds days, and is
/// on another request.
fn counts(e: &Engagement, key: &str) -> bool {
    e.blocks() && e.request_id != key
}

/// Accepted or completed missions of `expert` in the year before the
/// request's first day: the rotation key.
pub fn recent_missions(
    request: &MissionRequest,
    expert: ExpertId,
    engagements: &[Engagement],
) -> u32 {
    let key = request.key();
    let since = days_before(request.window.first, 365);
    engagements
        .iter()
        .filter(|e| {
            e.expert == expert
                && counts(e, &key)
                && e.window.last >= since
                && e.window.first < request.window.first
        })
        .count() as u32
}

/// The first day of the load cap's period for `request`.
pub fn load_period_start(request: &MissionRequest, cap: LoadCap) -> NaiveDate {
    days_before(request.window.first, cap.period_days.into())
}

/// The load cap rule: whether a mission of `expert` on `window`, for the
/// request whose [key](MissionRequest::key) is `key`, would take the expert
/// over `cap`, and where.
///
/// The state whose experience the region part rewards: the requester when
/// it is a state or territory, and otherwise (an organisation such as IOM
/// asks) the state where the mission takes place.
pub fn experience_state<'a>(request: &'a MissionRequest, membership: &Membership) -> &'a str {
    match membership.get(&request.requester) {
        Some(p) if !p.kind.is_state() => &request.place,
        _ => &request.requester,
    }
}

/// Of `engagements`, only the expert's accepted or completed ones on other
/// requests count. The period from `cap.period_days` days before the
/// mission's first day through its last day must hold fewer than `cap.max`
/// of them; so must the period of every counted mission whose own period
/// (back from its first day through its last day) reaches the new mission,
/// so that accepting a later mission first cannot let an earlier one
/// through. The matching filter and every store's
/// [`update_engagement_capped`](crate::store::MissionStore::update_engagement_capped)
/// apply this one function.
pub fn load_cap_breach<'a>(
    cap: LoadCap,
    expert: ExpertId,
    key: &str,
    window: &DateRange,
    engagements: impl IntoIterator<Item = &'a Engagement>,
) -> Option<CapBreach> {
    let mine: Vec<&DateRange> = engagements
        .into_iter()
        .filter(|e| e.expert == expert && counts(e, key))
        .map(|e| &e.window)
        .collect();
    let over = |period: DateRange| {
        let load = mine.iter().filter(|w| w.overlaps(&period)).count();
        (load as u64 >= u64::from(cap.max)).then_some(CapBreach { cap, load, period })
    };
    let own = DateRange {
        first: days_before(window.first, cap.period_days.into()),
        last: window.last,
    };
    // A mission already accepted later must stay within the cap too: its
    // own period, back from its first day, may reach this one.
    over(own).or_else(|| {
        mine.iter().find_map(|x| {
            let back = DateRange {
                first: days_before(x.first, cap.period_days.into()),
                last: x.last,
            };
            if window.overlaps(&back) {
                over(back)
            } else {
                None
            }
        })
    })
}

/// `days` days before `day`, saturating at the start of the calendar.
fn days_before(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(chrono::Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

/// Every hard filter `expert` fails for `request`, in filter order, with the
/// reason in words. Empty when the expert may be proposed.
pub fn filters(
    request: &MissionRequest,
    expert: &Expert,
    ctx: &Context<'_>,
) -> Vec<(Filter, String)> {
    let key = request.key();
    let mut out = Vec::new();
    let window = request.window;
    if expert.status != Status::Included {
        out.push((Filter::NotIncluded, format!("status is {}", expert.status)));
    } else {
        match expert.term {
            Some(term) if term.covers_range(&window) => {}
            Some(term) if term.first_day > window.first => out.push((
                Filter::TermEnds,
                format!(
                    "term starts {}, after the mission's first day {}",
                    term.first_day, window.first
                ),
            )),
            Some(term) => out.push((
                Filter::TermEnds,
                format!(
                    "term ends {}, before the mission's last day {}",
                    term.last_day, window.last
                ),
            )),
            None => out.push((Filter::TermEnds, "no term recorded".into())),
        }
    }
    let a = &expert.profile.availability;
    if !a.available || !a.authorised {
        out.push((
            Filter::Unavailable,
            "not declared available and authorised for missions".into(),
        ));
    } else if let Some(r) = a.unavailable.iter().find(|r| r.overlaps(&window)) {
        out.push((
            Filter::Unavailable,
            format!("declared unavailable {} to {}", r.first, r.last),
        ));
    }
    if let Some(e) = ctx
        .engagements
        .iter()
        .find(|e| e.expert == expert.id && counts(e, &key) && e.window.overlaps(&window))
    {
        out.push((
            Filter::Engaged,
            format!(
                "engaged on mission {} from {} to {}",
                e.request_id, e.window.first, e.window.last
            ),
        ));
    }
    if let Some(cap) = ctx.policy.load_cap
        && let Some(breach) = load_cap_breach(cap, expert.id, &key, &window, ctx.engagements)
    {
        out.push((Filter::LoadCap, breach.to_string()));
    }
    for need in &request.required_languages {
        match expert.profile.level_in(&need.tag) {
            Some(level) if level >= need.level => {}
            Some(level) => out.push((
                Filter::Language,
                format!("{} at {level}, below the required {}", need.tag, need.level),
            )),
            None => out.push((
                Filter::Language,
                format!("no {} recorded; {} required", need.tag, need.level),
            )),
        }
    }
    if request.excluded.contains(&expert.id) {
        out.push((Filter::Excluded, "excluded by the requester".into()));
    }
    let org = &expert.profile.organisation;
    if org.sector == Sector::Government && org.state.as_deref() == Some(request.requester.as_str())
    {
        out.push((
            Filter::Conflict,
            format!(
                "works for a government body of {}, the requesting state",
                request.requester
            ),
        ));
    }
    out
}

/// Every score part of `expert` for `request`, built-in parts in the order
/// of [`PartName`], then custom parts. The expert should pass the filters.
pub fn score(request: &MissionRequest, expert: &Expert, ctx: &Context<'_>) -> Vec<ScorePart> {
    let w = ctx.policy.weights;
    let t = ctx.taxonomy;
    let fields: Vec<u16> = expert
        .profile
        .experience
        .iter()
        .flat_map(|p| p.themes.iter())
        .filter_map(|c| t.theme_position(c).ok())
        .collect();
    let wanted: Vec<u16> = request
        .themes
        .iter()
        .filter_map(|c| t.theme_position(c).ok())
        .collect();

    // Thematic depth: per requested field, the best relation to the expert's.
    let mut exact = 0;
    let mut deeper = 0;
    let mut broader = 0;
    let mut sum = 0u32;
    for &r in &wanted {
        let best = fields
            .iter()
            .map(|&f| {
                if f == r {
                    1000
                } else if t.position_within(f, r) {
                    700
                } else if t.position_within(r, f) {
                    300
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0);
        match best {
            1000 => exact += 1,
            700 => deeper += 1,
            300 => broader += 1,
            _ => {}
        }
        sum += best;
    }
    let thematic = sum / wanted.len().max(1) as u32;
    let n = wanted.len();
    let thematic_text = format!(
        "of {n} requested field{}: {exact} matched exactly, {deeper} through a sub-field, {broader} through the broader area",
        if n == 1 { "" } else { "s" }
    );

    // Years in matching fields (in either direction of the taxonomy).
    let relevant = expert.profile.experience.iter().filter(|p| {
        p.themes
            .iter()
            .filter_map(|c| t.theme_position(c).ok())
            .any(|f| {
                wanted
                    .iter()
                    .any(|&r| t.position_within(f, r) || t.position_within(r, f))
            })
    });
    let days = merged_days(relevant.filter_map(|p| {
        let last = p.to.unwrap_or(ctx.today).min(ctx.today);
        (p.from <= last).then_some(DateRange {
            first: p.from,
            last,
        })
    }));
    let cap = YEARS_CAP * 365;
    let years = (days.min(cap) * 1000 / cap) as u32;
    let years_text = format!(
        "{:.1} years in the requested fields (full marks at {YEARS_CAP})",
        days as f64 / 365.25
    );

    // Competencies.
    let used: Vec<&str> = expert
        .profile
        .experience
        .iter()
        .flat_map(|p| p.competencies.iter().map(String::as_str))
        .collect();
    let have: Vec<&str> = request
        .competencies
        .iter()
        .map(String::as_str)
        .filter(|c| used.contains(c))
        .collect();
    let (competencies, competencies_text) = if request.competencies.is_empty() {
        (0, "the request names no competencies".to_owned())
    } else {
        (
            (have.len() * 1000 / request.competencies.len()) as u32,
            format!(
                "{} of {} requested competencies{}",
                have.len(),
                request.competencies.len(),
                if have.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", have.join(", "))
                }
            ),
        )
    };

    // Desired languages.
    let met: Vec<String> = request
        .desired_languages
        .iter()
        .filter(|need| {
            expert
                .profile
                .level_in(&need.tag)
                .is_some_and(|l| l >= need.level)
        })
        .map(|need| need.tag.clone())
        .collect();
    let (languages, languages_text) = if request.desired_languages.is_empty() {
        (0, "the request names no desired languages".to_owned())
    } else {
        (
            (met.len() * 1000 / request.desired_languages.len()) as u32,
            format!(
                "{} of {} desired languages{}",
                met.len(),
                request.desired_languages.len(),
                if met.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", met.join(", "))
                }
            ),
        )
    };

    // Experience in the requesting state (or, for an organisation, the
    // mission's place) or its region.
    let countries: Vec<&str> = expert
        .profile
        .experience
        .iter()
        .flat_map(|p| p.countries.iter().map(String::as_str))
        .collect();
    let state = experience_state(request, ctx.membership);
    let region = ctx.membership.region(state);
    let (place, place_text) = if countries.contains(&state) {
        (1000, format!("has worked in {state}"))
    } else if let Some(c) = region.and_then(|reg| {
        countries
            .iter()
            .find(|c| ctx.membership.region(c) == Some(reg))
    }) {
        (
            500,
            format!("has worked in {c}, in the same region as {state}"),
        )
    } else {
        (
            0,
            format!("no experience recorded in {state} or its region"),
        )
    };

    // Rotation: missions in the year before this one.
    let recent = recent_missions(request, expert.id, ctx.engagements);
    let rotation = 1000u32.saturating_sub(recent.saturating_mul(500));
    let rotation_text = match recent {
        0 => "no missions in the year before this one".to_owned(),
        1 => "1 mission in the year before this one".to_owned(),
        n => format!("{n} missions in the year before this one"),
    };

    [
        (PartName::Thematic, thematic, w.thematic, thematic_text),
        (PartName::Years, years, w.years, years_text),
        (
            PartName::Competencies,
            competencies,
            w.competencies,
            competencies_text,
        ),
        (PartName::Languages, languages, w.languages, languages_text),
        (PartName::Region, place, w.region, place_text),
        (PartName::Rotation, rotation, w.rotation, rotation_text),
    ]
    .into_iter()
    .map(|(name, fraction, weight, explanation)| ScorePart {
        name,
        fraction,
        weight,
        points: fraction.saturating_mul(weight),
        explanation,
        custom: None,
    })
    .chain(ctx.policy.custom.iter().map(|c| {
        let (fraction, explanation) = c.part.score(request, expert);
        ScorePart {
            name: PartName::Custom,
            fraction,
            weight: c.weight,
            // An out-of-range fraction is reported by `rank`, never counted.
            points: fraction.min(1000).saturating_mul(c.weight),
            explanation,
            custom: Some(c.part.name().to_owned()),
        }
    }))
    .collect()
}

/// Formats points as a score out of 100 with three decimals.
pub fn format_points(points: u32) -> String {
    format!("{}.{:03}", points / 1000, points % 1000)
}
