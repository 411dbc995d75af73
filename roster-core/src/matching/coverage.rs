//! What the roster covers: included experts per thematic node, competency,
//! language and nominating member, and the gaps a call for nominations
//! should fill.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::language::{Level, primary, satisfies};
use crate::lifecycle::Status;
use crate::model::{Expert, ExpertId};
use crate::taxonomy::Taxonomy;

/// What to count and what counts as a gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageOptions {
    /// The day the report is for.
    pub today: NaiveDate,
    /// A thematic node with fewer included experts than this is a gap.
    pub node_threshold: usize,
    /// The level at which a language counts (working: B2).
    pub working_level: Level,
    /// Languages of each member state, by state code, as BCP 47 tags; a
    /// language nobody included speaks at the working level is a gap.
    pub member_languages: BTreeMap<String, Vec<String>>,
    /// Terms ending within this many days of `today` are listed.
    pub ending_within_days: u32,
}

/// A language of a member state that nobody included speaks at the
/// working level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageGap {
    /// The language.
    pub tag: String,
    /// The member states that use it, in code order.
    pub members: Vec<String>,
}

/// An included expert whose term ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermEnding {
    /// The expert.
    pub expert: ExpertId,
    /// The last day of the term.
    pub last_day: NaiveDate,
}

/// The coverage report. Every count is of experts included on the
/// report's day (whose term covers it, whether or not the sweep has run);
/// maps are in code order, so the report is the same on every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The day the report is for.
    pub today: NaiveDate,
    /// Included experts counted.
    pub included: usize,
    /// Per thematic node, in taxonomy order: experts with experience in the
    /// node or a node below it.
    pub themes: Vec<(String, usize)>,
    /// Per competency, in the sheet's order: experts who used it.
    pub competencies: Vec<(String, usize)>,
    /// Per language tag as recorded: experts at the working level or above.
    pub languages: BTreeMap<String, usize>,
    /// Per nominating member: experts it nominated.
    pub nominators: BTreeMap<String, usize>,
    /// Thematic nodes below the threshold, in taxonomy order.
    pub thin_themes: Vec<String>,
    /// Member-state languages nobody included speaks at the working level.
    pub language_gaps: Vec<LanguageGap>,
    /// Terms ending within the period, soonest first, then by id.
    pub terms_ending: Vec<TermEnding>,
    /// How many terms end within the period (the length of
    /// `terms_ending` when it is given in full).
    pub terms_ending_count: usize,
}

/// The coverage of the included experts among `experts`.
pub fn coverage(experts: &[Expert], taxonomy: &Taxonomy, options: &CoverageOptions) -> Coverage {
    // Included on `today`: a term that has ended counts no more, even
    // before the sweep moves the expert to expired (matching already
    // leaves such experts out).
    let included: Vec<&Expert> = experts
        .iter()
        .filter(|e| e.status == Status::Included)
        .filter(|e| e.term.as_ref().is_some_and(|t| t.covers(options.today)))
        .collect();

    let mut themes = vec![0usize; taxonomy.themes().len()];
    let mut competencies = vec![0usize; taxonomy.competencies().len()];
    let mut languages: BTreeMap<String, usize> = BTreeMap::new();
    let mut nominators: BTreeMap<String, usize> = BTreeMap::new();
    let mut terms_ending = Vec::new();
    // Past the calendar's last day every term ends within the period.
    let horizon = options
        .today
        .checked_add_days(chrono::Days::new(u64::from(options.ending_within_days)))
        .unwrap_or(NaiveDate::MAX);
    for expert in &included {
        // An expert counts once under each node it reaches, directly or
        // through a node below.
        let mut nodes = BTreeSet::new();
        let mut used = BTreeSet::new();
        for period in &expert.profile.experience {
            for code in &period.themes {
                if let Ok(node) = taxonomy.theme(code) {
                    nodes.insert(node.code);
                    if let Ok(above) = taxonomy.ancestors(code) {
                        nodes.extend(above.iter().map(|n| n.code));
                    }
                }
            }
            used.extend(
                period
                    .competencies
                    .iter()
                    .filter_map(|c| taxonomy.competency_position(c).ok()),
            );
        }
        for code in nodes {
            if let Ok(i) = taxonomy.theme_position(code) {
                themes[usize::from(i)] += 1;
            }
        }
        for i in used {
            competencies[usize::from(i)] += 1;
        }
        let spoken: BTreeSet<&str> = expert
            .profile
            .languages
            .iter()
            .filter(|s| s.level >= options.working_level)
            .map(|s| s.tag.as_str())
            .collect();
        for tag in spoken {
            *languages.entry(tag.to_owned()).or_default() += 1;
        }
        for code in expert.nominators() {
            *nominators.entry(code.to_owned()).or_default() += 1;
        }
        if let Some(term) = expert.term
            && options.today <= term.last_day
            && term.last_day <= horizon
        {
            terms_ending.push(TermEnding {
                expert: expert.id,
                last_day: term.last_day,
            });
        }
    }
    terms_ending.sort_by_key(|t| (t.last_day, t.expert));

    let themes: Vec<(String, usize)> = taxonomy
        .themes()
        .iter()
        .zip(themes)
        .map(|(n, count)| (n.code.to_owned(), count))
        .collect();
    let thin_themes = themes
        .iter()
        .filter(|(_, n)| *n < options.node_threshold)
        .map(|(code, _)| code.clone())
        .collect();

    let mut by_language: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (member, tags) in &options.member_languages {
        for tag in tags {
            by_language.entry(tag).or_default().push(member.clone());
        }
    }
    let language_gaps = by_language
        .into_iter()
        .filter(|(want, _)| {
            !languages
                .keys()
                .any(|have| primary(have) == primary(want) && satisfies(have, want))
        })
        .map(|(tag, members)| LanguageGap {
            tag: tag.to_owned(),
            members,
        })
        .collect();

    Coverage {
        today: options.today,
        included: included.len(),
        themes,
        competencies: taxonomy
            .competencies()
            .iter()
            .zip(competencies)
            .map(|(c, n)| (c.code.to_owned(), n))
            .collect(),
        languages,
        nominators,
        thin_themes,
        language_gaps,
        terms_ending_count: terms_ending.len(),
        terms_ending,
    }
}
