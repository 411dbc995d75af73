//! An in-memory matching index: the roster laid out as flat arrays, so that
//! ranking a request is one pass of integer work over every expert with a
//! bounded top-k heap.
//!
//! The index gives the same ranked ids, totals and per-filter counts as the
//! reference [`rank`](super::rank) (a property test holds the two together),
//! but renders the explanation sentences only for the experts it returns,
//! through [`IndexRanking::explain`].
//!
//! Per expert the hot data is a term (two day numbers), a flag byte, the
//! union of its thematic positions (89 nodes in two `u64`s), a competency
//! bitset, a government-employer state, a region mask and a few offsets into
//! flat side tables (experience periods, languages, countries, unavailable
//! days and blocking engagements) that are read only when a filter or part
//! needs them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{Datelike, NaiveDate};

use super::{
    Context, EmptyBecause, Filter, Flag, LoadCap, MatchPolicy, Ranked, Shortlist, Weights,
    YEARS_CAP, score,
};
use crate::language::{Level, primary, satisfies};
use crate::lifecycle::Status;
use crate::membership::Membership;
use crate::model::{Engagement, Expert, ExpertId, MissionRequest, Sector};
use crate::taxonomy::Taxonomy;

/// How many experts a ranking keeps unless told otherwise.
pub const DEFAULT_TOP: usize = 20;

const INCLUDED: u8 = 1;
const AVAILABLE: u8 = 2;
/// More languages than fit inline, or a tag id past `u8`: read the side table.
const MANY_LANGUAGES: u8 = 4;
/// Inline language slots per expert.
const INLINE: usize = 4;
const NO_TAG: u8 = u8::MAX;
const NONE16: u16 = u16::MAX;

/// Why the index cannot rank a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// Custom parts score an [`Expert`] record, which the index does not
    /// keep; rank with the reference [`rank`](super::rank) instead.
    #[error(
        "the policy has {0} custom score part(s); the index scores only the built-in parts, so rank with matching::rank"
    )]
    CustomParts(usize),
}

/// Thematic positions as a 128-bit set (the taxonomy has 89 nodes).
type Themes = [u64; 2];

fn theme_bit(set: &mut Themes, position: u16) {
    if let Some(word) = set.get_mut(usize::from(position / 64)) {
        *word |= 1 << (position % 64);
    }
}

fn meets(a: &Themes, b: &Themes) -> bool {
    (a[0] & b[0]) | (a[1] & b[1]) != 0
}

fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn level_rank(level: Level) -> u8 {
    Level::ALL
        .iter()
        .position(|l| *l == level)
        .map_or(0, |i| i as u8 + 1)
}

/// A period of experience: its thematic set and days (`last` is `None`
/// while open).
#[derive(Debug, Clone, Copy)]
struct Period {
    themes: Themes,
    first: i32,
    last: Option<i32>,
}

/// A blocking engagement: days and the interned request key.
#[derive(Debug, Clone, Copy)]
struct Booking {
    first: i32,
    last: i32,
    request: u32,
}

/// The roster as flat arrays. Build it once with [`MatchIndex::build`] or
/// push experts one at a time with [`MatchIndex::push`].
#[derive(Debug, Clone)]
pub struct MatchIndex {
    taxonomy: &'static Taxonomy,
    today: i32,
    ids: Vec<ExpertId>,
    terms: Vec<[i32; 2]>,
    flags: Vec<u8>,
    inline_languages: Vec<[(u8, u8); INLINE]>,
    themes: Vec<Themes>,
    competencies: Vec<u32>,
    government: Vec<u16>,
    regions: Vec<u64>,
    countries_bloom: Vec<u64>,
    // Offsets into the side tables: expert i owns [offset[i], offset[i + 1]).
    period_at: Vec<u32>,
    periods: Vec<Period>,
    language_at: Vec<u32>,
    languages: Vec<(u16, u8)>,
    country_at: Vec<u32>,
    countries: Vec<u16>,
    absence_at: Vec<u32>,
    absences: Vec<[i32; 2]>,
    booking_at: Vec<u32>,
    bookings: Vec<Booking>,
    country_ids: HashMap<String, u16>,
    region_ids: HashMap<String, u8>,
    country_region: Vec<Option<u8>>,
    tags: Vec<String>,
    tag_ids: HashMap<String, u16>,
    request_ids: HashMap<String, u32>,
}

impl MatchIndex {
    /// An empty index; `today` ends open periods of experience.
    pub fn new(taxonomy: &'static Taxonomy, today: NaiveDate) -> MatchIndex {
        MatchIndex {
            taxonomy,
            today: day(today),
            ids: Vec::new(),
            terms: Vec::new(),
            flags: Vec::new(),
            inline_languages: Vec::new(),
            themes: Vec::new(),
            competencies: Vec::new(),
            government: Vec::new(),
            regions: Vec::new(),
            countries_bloom: Vec::new(),
            period_at: vec![0],
            periods: Vec::new(),
            language_at: vec![0],
            languages: Vec::new(),
            country_at: vec![0],
            countries: Vec::new(),
            absence_at: vec![0],
            absences: Vec::new(),
            booking_at: vec![0],
            bookings: Vec::new(),
            country_ids: HashMap::new(),
            region_ids: HashMap::new(),
            country_region: Vec::new(),
            tags: Vec::new(),
            tag_ids: HashMap::new(),
            request_ids: HashMap::new(),
        }
    }

    /// The index of `experts` with their `engagements`, as of `today`.
    pub fn build(
        experts: &[Expert],
        engagements: &[Engagement],
        taxonomy: &'static Taxonomy,
        membership: &Membership,
        today: NaiveDate,
    ) -> MatchIndex {
        let mut index = MatchIndex::new(taxonomy, today);
        let mut by_expert: HashMap<ExpertId, Vec<&Engagement>> = HashMap::new();
        for e in engagements.iter().filter(|e| e.blocks()) {
            by_expert.entry(e.expert).or_default().push(e);
        }
        for expert in experts {
            let own = by_expert.get(&expert.id).map_or(&[][..], Vec::as_slice);
            index.push(expert, own.iter().copied(), membership);
        }
        index
    }

    /// How many experts the index holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no expert.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds one expert with its engagements (those that do not hold days
    /// are ignored).
    pub fn push<'e>(
        &mut self,
        expert: &Expert,
        engagements: impl IntoIterator<Item = &'e Engagement>,
        membership: &Membership,
    ) {
        let t = self.taxonomy;
        self.ids.push(expert.id);
        let (included, term) = match (expert.status, expert.term) {
            (Status::Included, Some(term)) => (true, [day(term.first_day), day(term.last_day)]),
            (Status::Included, None) => (true, [i32::MAX, i32::MIN]),
            _ => (false, [i32::MAX, i32::MIN]),
        };
        self.terms.push(term);
        let a = &expert.profile.availability;
        let mut flags = 0;
        if included {
            flags |= INCLUDED;
        }
        if a.available && a.authorised {
            flags |= AVAILABLE;
        }

        let mut all = [0u64; 2];
        let mut competencies = 0u32;
        let mut periods = Vec::new();
        for p in &expert.profile.experience {
            let mut set = [0u64; 2];
            for pos in p.themes.iter().filter_map(|c| t.theme_position(c).ok()) {
                theme_bit(&mut set, pos);
            }
            all[0] |= set[0];
            all[1] |= set[1];
            for pos in p
                .competencies
                .iter()
                .filter_map(|c| t.competency_position(c).ok())
            {
                competencies |= 1u32.checked_shl(u32::from(pos)).unwrap_or(0);
            }
            periods.push(Period {
                themes: set,
                first: day(p.from),
                last: p.to.map(day),
            });
        }
        periods.sort_by_key(|p| p.first);
        self.periods.extend(periods);
        self.period_at.push(self.periods.len() as u32);
        self.themes.push(all);
        self.competencies.push(competencies);

        let org = &expert.profile.organisation;
        let government = match (&org.sector, &org.state) {
            (Sector::Government, Some(state)) => self.country(state, membership),
            _ => NONE16,
        };
        self.government.push(government);

        let mut regions = 0u64;
        let mut bloom = 0u64;
        let mut countries: Vec<u16> = Vec::new();
        for c in expert.profile.experience.iter().flat_map(|p| &p.countries) {
            let id = self.country(c, membership);
            bloom |= 1 << (id % 64);
            if let Some(r) = self.country_region[usize::from(id)] {
                regions |= 1 << r;
            }
            if !countries.contains(&id) {
                countries.push(id);
            }
        }
        self.regions.push(regions);
        self.countries_bloom.push(bloom);
        self.countries.extend(countries);
        self.country_at.push(self.countries.len() as u32);

        let mut inline = [(NO_TAG, 0); INLINE];
        for (n, skill) in expert.profile.languages.iter().enumerate() {
            let tag = self.tag(&skill.tag);
            let level = level_rank(skill.level);
            self.languages.push((tag, level));
            match (inline.get_mut(n), u8::try_from(tag)) {
                (Some(slot), Ok(small)) if small != NO_TAG => *slot = (small, level),
                _ => flags |= MANY_LANGUAGES,
            }
        }
        self.language_at.push(self.languages.len() as u32);
        self.inline_languages.push(inline);
        self.flags.push(flags);

        for r in &a.unavailable {
            self.absences.push([day(r.first), day(r.last)]);
        }
        self.absence_at.push(self.absences.len() as u32);

        for e in engagements.into_iter().filter(|e| e.blocks()) {
            let next = self.request_ids.len() as u32;
            let request = *self.request_ids.entry(e.request_id.clone()).or_insert(next);
            self.bookings.push(Booking {
                first: day(e.window.first),
                last: day(e.window.last),
                request,
            });
        }
        self.booking_at.push(self.bookings.len() as u32);
    }

    fn country(&mut self, code: &str, membership: &Membership) -> u16 {
        if let Some(&id) = self.country_ids.get(code) {
            return id;
        }
        // Past u16::MAX - 1 distinct codes, later ones share the last id;
        // ISO 3166 has fewer than 300.
        let id = (self.country_ids.len() as u16).min(NONE16 - 1);
        self.country_ids.insert(code.to_owned(), id);
        // Regions past the 64th share a bit; the membership table has a handful.
        let region = membership.region(code).map(|r| {
            let next = self.region_ids.len().min(63) as u8;
            *self.region_ids.entry(r.to_owned()).or_insert(next)
        });
        if usize::from(id) == self.country_region.len() {
            self.country_region.push(region);
        }
        id
    }

    fn tag(&mut self, tag: &str) -> u16 {
        if let Some(&id) = self.tag_ids.get(tag) {
            return id;
        }
        let id = (self.tags.len() as u16).min(NONE16 - 1);
        if usize::from(id) == self.tags.len() {
            self.tags.push(tag.to_owned());
        }
        self.tag_ids.insert(tag.to_owned(), id);
        id
    }

    /// Ranks every expert for `request` (which must be valid) and keeps the
    /// best `top`. Fails only when the policy has custom parts.
    pub fn rank(
        &self,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
        top: usize,
    ) -> Result<IndexRanking, IndexError> {
        if !policy.custom.is_empty() {
            return Err(IndexError::CustomParts(policy.custom.len()));
        }
        let q = Query::new(self, request, policy, membership);
        // One count per filter, and the last for experts who pass.
        let mut removed = [0usize; FILTERS.len() + 1];
        let mut heap: BinaryHeap<Reverse<Key>> = BinaryHeap::with_capacity(top + 1);
        // Below every real key (no expert has u32::MAX recent missions), so
        // that everyone who passes is kept until the heap holds `top`.
        const FLOOR: Key = Key {
            total: 0,
            recent: Reverse(u32::MAX),
            id: Reverse(ExpertId(i64::MAX)),
        };
        let mut worst = FLOOR;
        for i in 0..self.ids.len() {
            let failed = self.first_failure(i, &q);
            removed[failed] += 1;
            if failed < FILTERS.len() || top == 0 {
                continue;
            }
            // Skip the expensive parts when even their best cannot beat the
            // weakest kept: the key with the bound is at least the true key,
            // and a key equal to the weakest kept is not kept.
            let bound = Key {
                total: self.bound(i, &q),
                recent: Reverse(0),
                id: Reverse(self.ids[i]),
            };
            if bound <= worst {
                continue;
            }
            let (total, recent) = self.total(i, &q);
            let key = Key {
                total,
                recent: Reverse(recent),
                id: Reverse(self.ids[i]),
            };
            if key <= worst {
                continue;
            }
            if heap.len() >= top {
                heap.pop();
            }
            heap.push(Reverse(key));
            if heap.len() >= top {
                worst = heap.peek().map_or(FLOOR, |w| w.0);
            }
        }
        let passed = removed[FILTERS.len()];
        let mut hits: Vec<Hit> = heap
            .into_iter()
            .map(|Reverse(k)| Hit {
                expert: k.id.0,
                total: k.total,
                recent_missions: k.recent.0,
            })
            .collect();
        hits.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then(a.recent_missions.cmp(&b.recent_missions))
                .then(a.expert.cmp(&b.expert))
        });
        let removed_by: Vec<(Filter, usize)> = FILTERS
            .iter()
            .zip(removed)
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| (*f, n))
            .collect();
        let empty_because = (passed == 0).then(|| EmptyBecause::from_counts(removed_by.clone()));
        Ok(IndexRanking {
            request_id: request.id.clone(),
            wanted: request.experts_wanted,
            hits,
            passed,
            removed_by,
            empty_because,
        })
    }

    /// The position in [`FILTERS`] of the first filter the expert fails;
    /// `FILTERS.len()` when it passes them all. Cheap checks come first and
    /// return early, as most experts fail one.
    fn first_failure(&self, i: usize, q: &Query) -> usize {
        let flags = self.flags[i];
        if flags & INCLUDED == 0 {
            return 0;
        }
        let [first, last] = self.terms[i];
        if !(first <= q.first && q.last <= last) {
            return 1;
        }
        if flags & AVAILABLE == 0
            || self.absences[span(&self.absence_at, i)]
                .iter()
                .any(|[f, l]| *f <= q.last && q.first <= *l)
        {
            return 2;
        }
        let bookings = &self.bookings[span(&self.booking_at, i)];
        let other = |b: &&Booking| b.request != q.request;
        if bookings
            .iter()
            .filter(other)
            .any(|b| b.first <= q.last && q.first <= b.last)
        {
            return 3;
        }
        if let Some((cap, from)) = q.cap {
            let load = bookings
                .iter()
                .filter(other)
                .filter(|b| b.first <= q.last && from <= b.last)
                .count();
            if load as u64 >= u64::from(cap.max) {
                return 4;
            }
        }
        if q.required
            .iter()
            .any(|(meets, level)| self.level(i, meets) < *level)
        {
            return 5;
        }
        if !q.excluded.is_empty() && q.excluded.binary_search(&self.ids[i]).is_ok() {
            return 6;
        }
        if q.requester != NONE16 && self.government[i] == q.requester {
            return 7;
        }
        FILTERS.len()
    }

    /// The best level of the expert's languages that meet a need.
    fn level(&self, i: usize, meets: &[bool]) -> u8 {
        if self.flags[i] & MANY_LANGUAGES != 0 {
            return best_level(&self.languages[span(&self.language_at, i)], meets);
        }
        self.inline_languages[i]
            .iter()
            .filter(|(tag, _)| meets.get(usize::from(*tag)).copied().unwrap_or(false))
            .map(|(_, level)| *level)
            .max()
            .unwrap_or(0)
    }

    fn thematic(&self, i: usize, q: &Query) -> u32 {
        let themes = &self.themes[i];
        let mut sum = 0u32;
        for need in &q.themes {
            sum += if meets(themes, &need.exact) {
                1000
            } else if meets(themes, &need.deeper) {
                700
            } else if meets(themes, &need.broader) {
                300
            } else {
                0
            };
        }
        sum / (q.themes.len().max(1) as u32)
    }

    fn competencies(&self, i: usize, q: &Query) -> u32 {
        if q.competencies.is_empty() {
            return 0;
        }
        let have = q
            .competencies
            .iter()
            .filter(|bit| self.competencies[i] & **bit != 0)
            .count();
        (have * 1000 / q.competencies.len()) as u32
    }

    /// An upper bound of the total from the hot columns only: thematic and
    /// competencies exactly, the other parts at their best.
    fn bound(&self, i: usize, q: &Query) -> u32 {
        let w = &q.weights;
        let years = if meets(&self.themes[i], &q.related) {
            1000
        } else {
            0
        };
        let languages = if q.desired.is_empty() { 0 } else { 1000 };
        let place =
            if q.requester != NONE16 && self.countries_bloom[i] & (1 << (q.requester % 64)) != 0 {
                1000
            } else if self.regions[i] & q.region != 0 {
                500
            } else {
                0
            };
        [
            (self.thematic(i, q), w.thematic),
            (years, w.years),
            (self.competencies(i, q), w.competencies),
            (languages, w.languages),
            (place, w.region),
            (1000, w.rotation),
        ]
        .into_iter()
        .fold(0u32, |t, (f, w)| t.saturating_add(f.saturating_mul(w)))
    }

    fn total(&self, i: usize, q: &Query) -> (u32, u32) {
        let w = &q.weights;
        let themes = &self.themes[i];
        let thematic = self.thematic(i, q);

        let years = if meets(themes, &q.related) {
            let days = self.relevant_days(i, q);
            let cap = YEARS_CAP * 365;
            (days.min(cap) * 1000 / cap) as u32
        } else {
            0
        };

        let competencies = self.competencies(i, q);

        let languages = if q.desired.is_empty() {
            0
        } else {
            let met = q
                .desired
                .iter()
                .filter(|(meets, level)| self.level(i, meets) >= *level)
                .count();
            (met * 1000 / q.desired.len()) as u32
        };

        let place = if q.requester != NONE16
            && self.countries_bloom[i] & (1 << (q.requester % 64)) != 0
            && self.countries[span(&self.country_at, i)].contains(&q.requester)
        {
            1000
        } else if self.regions[i] & q.region != 0 {
            500
        } else {
            0
        };

        let recent = self.bookings[span(&self.booking_at, i)]
            .iter()
            .filter(|b| b.request != q.request && b.last >= q.since && b.first < q.first)
            .count() as u32;
        let rotation = 1000u32.saturating_sub(recent.saturating_mul(500));

        let total = [
            (thematic, w.thematic),
            (years, w.years),
            (competencies, w.competencies),
            (languages, w.languages),
            (place, w.region),
            (rotation, w.rotation),
        ]
        .into_iter()
        .fold(0u32, |t, (f, w)| t.saturating_add(f.saturating_mul(w)));
        (total, recent)
    }

    /// Days of experience in periods related to the request, merged.
    fn relevant_days(&self, i: usize, q: &Query) -> i64 {
        let mut total = 0i64;
        let mut current: Option<(i32, i32)> = None;
        // Periods are sorted by first day at build time.
        for p in &self.periods[span(&self.period_at, i)] {
            if !meets(&p.themes, &q.related) {
                continue;
            }
            let last = p.last.unwrap_or(self.today).min(self.today);
            if p.first > last {
                continue;
            }
            match current.as_mut() {
                Some(c) if p.first <= c.1.saturating_add(1) => c.1 = c.1.max(last),
                _ => {
                    if let Some((f, l)) = current.replace((p.first, last)) {
                        total += i64::from(l - f) + 1;
                    }
                }
            }
        }
        total + current.map_or(0, |(f, l)| i64::from(l - f) + 1)
    }
}

const FILTERS: [Filter; 9] = [
    Filter::NotIncluded,
    Filter::TermEnds,
    Filter::Unavailable,
    Filter::Engaged,
    Filter::LoadCap,
    Filter::Language,
    Filter::Excluded,
    Filter::Conflict,
    Filter::InvalidScore,
];

fn span(offsets: &[u32], i: usize) -> std::ops::Range<usize> {
    offsets[i] as usize..offsets[i + 1] as usize
}

/// The best level among `skills` whose tag meets the need (`meets` is
/// indexed by tag id); 0 when none does.
fn best_level(skills: &[(u16, u8)], meets: &[bool]) -> u8 {
    skills
        .iter()
        .filter(|(tag, _)| meets.get(usize::from(*tag)).copied().unwrap_or(false))
        .map(|(_, level)| *level)
        .max()
        .unwrap_or(0)
}

/// Order of the top-k heap: higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    total: u32,
    recent: Reverse<u32>,
    id: Reverse<ExpertId>,
}

struct ThemeNeed {
    exact: Themes,
    deeper: Themes,
    broader: Themes,
}

/// A request turned into the index's terms once, before the pass.
struct Query {
    first: i32,
    last: i32,
    since: i32,
    request: u32,
    cap: Option<(LoadCap, i32)>,
    required: Vec<(Vec<bool>, u8)>,
    desired: Vec<(Vec<bool>, u8)>,
    excluded: Vec<ExpertId>,
    requester: u16,
    region: u64,
    themes: Vec<ThemeNeed>,
    related: Themes,
    competencies: Vec<u32>,
    weights: Weights,
}

impl Query {
    fn new(
        index: &MatchIndex,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
    ) -> Query {
        let t = index.taxonomy;
        let mut related = [0u64; 2];
        let themes = request
            .themes
            .iter()
            .filter_map(|c| t.theme_position(c).ok())
            .map(|r| {
                let mut need = ThemeNeed {
                    exact: [0; 2],
                    deeper: [0; 2],
                    broader: [0; 2],
                };
                theme_bit(&mut need.exact, r);
                theme_bit(&mut related, r);
                for f in t.subtree(r).skip(1) {
                    theme_bit(&mut need.deeper, f);
                    theme_bit(&mut related, f);
                }
                for a in (0..t.themes().len() as u16).filter(|&a| a != r && t.position_within(r, a))
                {
                    theme_bit(&mut need.broader, a);
                    theme_bit(&mut related, a);
                }
                need
            })
            .collect();
        let languages = |list: &[crate::model::LanguageSkill]| {
            list.iter()
                .map(|need| {
                    let meets = index
                        .tags
                        .iter()
                        // Parsing is slow; a tag of another language never
                        // meets, whatever its form.
                        .map(|have| {
                            primary(have).eq_ignore_ascii_case(primary(&need.tag))
                                && satisfies(have, &need.tag)
                        })
                        .collect();
                    (meets, level_rank(need.level))
                })
                .collect()
        };
        let mut excluded = request.excluded.clone();
        excluded.sort();
        let region = membership
            .region(&request.requester)
            .and_then(|r| index.region_ids.get(r))
            .map_or(0, |&r| 1u64 << r);
        Query {
            first: day(request.window.first),
            last: day(request.window.last),
            since: day(request.window.first) - 365,
            request: index
                .request_ids
                .get(&request.key())
                .copied()
                .unwrap_or(u32::MAX),
            cap: policy
                .load_cap
                .map(|cap| (cap, day(super::load_period_start(request, cap)))),
            required: languages(&request.required_languages),
            desired: languages(&request.desired_languages),
            excluded,
            requester: index
                .country_ids
                .get(&request.requester)
                .copied()
                .unwrap_or(NONE16),
            region,
            themes,
            related,
            competencies: request
                .competencies
                .iter()
                .map(|c| {
                    t.competency_position(c)
                        .map_or(0, |p| 1u32.checked_shl(u32::from(p)).unwrap_or(0))
                })
                .collect(),
            weights: policy.weights,
        }
    }
}

/// One expert the index kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The expert.
    pub expert: ExpertId,
    /// The total score, as [`Ranked::total`].
    pub total: u32,
    /// The rotation key, as [`Ranked::recent_missions`].
    pub recent_missions: u32,
}

/// The outcome of ranking a request over the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRanking {
    /// The request's id.
    pub request_id: String,
    /// How many experts the request wants.
    pub wanted: u16,
    /// The best experts, best first; at most the `top` asked for.
    pub hits: Vec<Hit>,
    /// How many experts passed every filter.
    pub passed: usize,
    /// How many each filter removed (each expert under its first), in
    /// filter order.
    pub removed_by: Vec<(Filter, usize)>,
    /// Why nobody passed; `None` when someone did.
    pub empty_because: Option<EmptyBecause>,
}

impl IndexRanking {
    /// A [`Shortlist`] of the hits with every part explained, rendered from
    /// the expert records (`experts` in any order; hits missing from it are
    /// skipped). The excluded list is left empty: ask
    /// [`filters`](super::filters) about one expert for its reasons.
    pub fn explain(
        &self,
        request: &MissionRequest,
        experts: &[Expert],
        ctx: &Context<'_>,
    ) -> Shortlist {
        let by_id: HashMap<ExpertId, &Expert> = experts.iter().map(|e| (e.id, e)).collect();
        let ranked = self
            .hits
            .iter()
            .filter_map(|hit| by_id.get(&hit.expert).map(|e| (hit, *e)))
            .enumerate()
            .map(|(i, (hit, expert))| {
                let mut flags = Vec::new();
                if expert.nominators().contains(request.requester.as_str()) {
                    flags.push(Flag::NominatedByRequester);
                }
                Ranked {
                    rank: i as u32 + 1,
                    expert: hit.expert,
                    total: hit.total,
                    parts: score(request, expert, ctx),
                    recent_missions: hit.recent_missions,
                    flags,
                }
            })
            .collect();
        Shortlist {
            request_id: self.request_id.clone(),
            wanted: self.wanted,
            ranked,
            excluded: Vec::new(),
            empty_because: self.empty_because.clone(),
        }
    }
}
