//! The information sheet's minimum selection criteria.
//!
//! [`check`] returns a report with every criterion, met or not, and the
//! reason in words; it never stops at the first failure.
//!
//! # Counting experience
//!
//! A period counts toward the experience criterion when it is tagged with at
//! least one thematic field and at least one competency. Counted periods are
//! merged, so overlapping or adjoining periods count each day once. Periods
//! run from their first day through their last, both ends inclusive; an open
//! period runs through the day of the check. The total is the number of
//! distinct days covered, and the criterion is met when it reaches
//! [`Policy::min_experience_days`], which by default is 1,826 days: five years
//! of 365 days plus one leap day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::language::Level;
use crate::model::{DateRange, Profile, Sector};

/// Thresholds of the selection criteria. The default is the sheet's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Distinct days of relevant experience required (default 1,826: five
    /// years).
    pub min_experience_days: i64,
    /// Referees required (default 2).
    pub min_referees: usize,
    /// Level of English required (default B2, working level).
    pub english_level: Level,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_experience_days: 5 * 365 + 1,
            min_referees: 2,
            english_level: Level::WORKING,
        }
    }
}

/// A criterion of the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// At least five years in the thematic fields, using a competency.
    Experience,
    /// Two distinct referees from government, an international organisation
    /// or an NGO, neither the expert.
    References,
    /// Working-level English.
    English,
    /// Available and authorised for short-term missions.
    Availability,
    /// Desirable: experience in a Bali Process member state.
    MemberStateExperience,
    /// Desirable: a language spoken in a member state besides English.
    MemberStateLanguage,
}

impl std::fmt::Display for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Criterion::Experience => "experience",
            Criterion::References => "references",
            Criterion::English => "English",
            Criterion::Availability => "availability",
            Criterion::MemberStateExperience => "member-state experience",
            Criterion::MemberStateLanguage => "member-state language",
        })
    }
}

/// The outcome for one criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which criterion.
    pub criterion: Criterion,
    /// Whether it is required (minimum criteria) or only desirable.
    pub required: bool,
    /// Whether it is met.
    pub met: bool,
    /// Why, in words.
    pub reason: String,
}

/// Every criterion for one profile on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The day of the check.
    pub checked_on: NaiveDate,
    /// One finding per criterion, required ones first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether every required criterion is met.
    pub fn eligible(&self) -> bool {
        self.findings.iter().all(|f| f.met || !f.required)
    }

    /// The required criteria that are not met.
    pub fn unmet(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.required && !f.met)
    }
}

/// Member-state languages other than English, by primary subtag; used for the
/// desirable language signal.
pub const MEMBER_STATE_LANGUAGES: &[&str] = &[
    "ar", "bn", "bi", "dz", "dv", "fa", "fj", "fr", "hi", "id", "ja", "km", "ko", "lo", "mi", "mn",
    "ms", "my", "na", "ne", "pau", "ps", "si", "sm", "tl", "fil", "ta", "th", "tet", "to", "tr",
    "ur", "vi", "zh", "tpi", "ho", "gil",
];

/// Checks a profile against every criterion on `on`.
///
/// `member_states` says whether a country code is a Bali Process member
/// state; it feeds the desirable signal only.
pub fn check(
    profile: &Profile,
    on: NaiveDate,
    policy: &Policy,
    is_member_state: impl Fn(&str) -> bool,
) -> Report {
    let mut findings = Vec::with_capacity(6);

    let days = relevant_days(profile, on);
    let years = days as f64 / 365.25;
    findings.push(Finding {
        criterion: Criterion::Experience,
        required: true,
        met: days >= policy.min_experience_days,
        reason: if days >= policy.min_experience_days {
            format!(
                "{days} days ({years:.1} years) of experience in the thematic fields using a competency; {} needed",
                policy.min_experience_days
            )
        } else {
            format!(
                "only {days} days ({years:.1} years) of experience in the thematic fields using a competency; {} needed",
                policy.min_experience_days
            )
        },
    });

    findings.push(references(profile, policy));

    let english = profile.level_in("en");
    let english_met = english.is_some_and(|l| l >= policy.english_level);
    findings.push(Finding {
        criterion: Criterion::English,
        required: true,
        met: english_met,
        reason: match english {
            Some(level) if english_met => {
                format!("English at {level}; {} needed", policy.english_level)
            }
            Some(level) => format!(
                "English at {level}, below the {} needed",
                policy.english_level
            ),
            None => format!("no English level given; {} needed", policy.english_level),
        },
    });

    let a = &profile.availability;
    findings.push(Finding {
        criterion: Criterion::Availability,
        required: true,
        met: a.available && a.authorised,
        reason: match (a.available, a.authorised) {
            (true, true) => "declared available and authorised for short-term missions".into(),
            (false, true) => "not declared available for short-term missions".into(),
            (true, false) => "not declared authorised to take short-term missions".into(),
            (false, false) => {
                "declared neither available nor authorised for short-term missions".into()
            }
        },
    });

    let mut states: Vec<&str> = profile
        .experience
        .iter()
        .flat_map(|p| p.countries.iter().map(String::as_str))
        .filter(|c| is_member_state(c))
        .collect();
    states.sort_unstable();
    states.dedup();
    findings.push(Finding {
        criterion: Criterion::MemberStateExperience,
        required: false,
        met: !states.is_empty(),
        reason: if states.is_empty() {
            "no experience recorded in a member state (desirable)".into()
        } else {
            format!("experience in member states {}", states.join(", "))
        },
    });

    let mut langs: Vec<String> = profile
        .languages
        .iter()
        .filter(|s| {
            MEMBER_STATE_LANGUAGES.contains(&crate::language::primary(&s.tag))
                && s.level >= Level::WORKING
        })
        .map(|s| format!("{} at {}", s.tag, s.level))
        .collect();
    langs.sort();
    findings.push(Finding {
        criterion: Criterion::MemberStateLanguage,
        required: false,
        met: !langs.is_empty(),
        reason: if langs.is_empty() {
            "no member-state language besides English at working level (desirable)".into()
        } else {
            format!("speaks {}", langs.join(", "))
        },
    });

    Report {
        checked_on: on,
        findings,
    }
}

fn references(profile: &Profile, policy: &Policy) -> Finding {
    let expert_email = profile.identity_key();
    let expert_name = profile.name.sort_key();
    let mut accepted: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in profile.referees.iter().enumerate() {
        let key = crate::contact::email_key(&r.email);
        let n = i + 1;
        if key == expert_email || r.name.sort_key() == expert_name {
            problems.push(format!("referee {n} is the expert"));
        } else if !matches!(
            r.organisation.sector,
            Sector::Government | Sector::InternationalOrganisation | Sector::Ngo
        ) {
            problems.push(format!(
                "referee {n} is not an official of a government, an international organisation or an NGO"
            ));
        } else if accepted.contains(&key) {
            problems.push(format!("referee {n} repeats an earlier referee"));
        } else {
            accepted.push(key);
        }
    }
    let met = accepted.len() >= policy.min_referees;
    let mut reason = format!(
        "{} acceptable referee{}; {} needed",
        accepted.len(),
        if accepted.len() == 1 { "" } else { "s" },
        policy.min_referees
    );
    if !problems.is_empty() {
        reason.push_str(" (");
        reason.push_str(&problems.join("; "));
        reason.push(')');
    }
    Finding {
        criterion: Criterion::References,
        required: true,
        met,
        reason,
    }
}

/// Distinct days of experience that count for the experience criterion, as
/// of `on`. Periods starting after `on` are ignored here; validation reports
/// them as input errors.
pub fn relevant_days(profile: &Profile, on: NaiveDate) -> i64 {
    let ranges = profile
        .experience
        .iter()
        .filter(|p| !p.themes.is_empty() && !p.competencies.is_empty())
        .filter_map(|p| {
            let last = p.to.unwrap_or(on).min(on);
            (p.from <= last).then_some(DateRange {
                first: p.from,
                last,
            })
        });
    merged_days(ranges)
}

/// The number of distinct days covered by the ranges.
pub fn merged_days(ranges: impl IntoIterator<Item = DateRange>) -> i64 {
    let mut ranges: Vec<DateRange> = ranges.into_iter().collect();
    ranges.sort_by_key(|r| (r.first, r.last));
    let mut total = 0;
    let mut current: Option<DateRange> = None;
    for r in ranges {
        match current.as_mut() {
            // Adjoining ranges (next starts the day after) merge too.
            Some(c) if r.first <= c.last.succ_opt().unwrap_or(c.last) => {
                c.last = c.last.max(r.last);
            }
            _ => {
                if let Some(c) = current.take() {
                    total += c.days();
                }
                current = Some(r);
            }
        }
    }
    total + current.map_or(0, |c| c.days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn r(a: &str, b: &str) -> DateRange {
        DateRange {
            first: d(a),
            last: d(b),
        }
    }

    #[test]
    fn merging_counts_each_day_once() {
        assert_eq!(merged_days([r("2020-01-01", "2020-01-10")]), 10);
        assert_eq!(
            merged_days([r("2020-01-01", "2020-01-10"), r("2020-01-05", "2020-01-20")]),
            20
        );
        assert_eq!(
            merged_days([r("2020-01-11", "2020-01-20"), r("2020-01-01", "2020-01-10")]),
            20
        );
        assert_eq!(
            merged_days([r("2020-01-01", "2020-01-10"), r("2020-02-01", "2020-02-10")]),
            20
        );
        assert_eq!(merged_days([]), 0);
    }

    fn arb_range() -> impl Strategy<Value = DateRange> {
        (0i64..4000, 0i64..800).prop_map(|(start, len)| {
            let first = d("2010-01-01") + chrono::Duration::days(start);
            DateRange {
                first,
                last: first + chrono::Duration::days(len),
            }
        })
    }

    proptest! {
        #[test]
        fn merge_ignores_order(mut ranges in prop::collection::vec(arb_range(), 0..12)) {
            let a = merged_days(ranges.clone());
            ranges.reverse();
            prop_assert_eq!(a, merged_days(ranges));
        }

        #[test]
        fn merge_never_exceeds_span_nor_drops(ranges in prop::collection::vec(arb_range(), 1..12), extra in arb_range()) {
            let total = merged_days(ranges.clone());
            let first = ranges.iter().map(|r| r.first).min().unwrap();
            let last = ranges.iter().map(|r| r.last).max().unwrap();
            prop_assert!(total <= (last - first).num_days() + 1);
            prop_assert!(total >= ranges.iter().map(DateRange::days).max().unwrap());
            let mut more = ranges.clone();
            more.push(extra);
            prop_assert!(merged_days(more) >= total);
        }
    }
}
