//! The coverage report on a small roster, pinned as a snapshot.

mod common;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use common::{d, profile};
use roster_core::language::Level;
use roster_core::matching::coverage::{CoverageOptions, coverage};
use roster_core::model::{LanguageSkill, NominationRecord};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId, Status, Term};

fn expert(id: i64, status: Status, themes: &[&str], nominators: &[&str], ends: &str) -> Expert {
    Expert {
        id: ExpertId(id),
        version: 1,
        status,
        profile: profile(
            &format!("Expert {id}"),
            &format!("e{id}@example.org"),
            themes,
            "2012-01-01",
        ),
        nominations: nominators
            .iter()
            .map(|n| NominationRecord {
                call_year: 2026,
                nominator: (*n).into(),
                received_at: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
            })
            .collect(),
        cv_document: None,
        term: Some(Term {
            first_day: d(ends) - chrono::Days::new(364),
            last_day: d(ends),
        }),
    }
}

#[test]
fn coverage_counts_included_experts_and_lists_the_gaps() {
    let mut thai_speaker = expert(2, Status::Included, &["D.2.1"], &["THA"], "2027-03-01");
    thai_speaker.profile.languages.push(LanguageSkill {
        tag: "th".into(),
        level: Level::B2,
    });
    let mut basic_khmer = expert(3, Status::Included, &["B.2"], &["IDN", "THA"], "2026-07-20");
    basic_khmer.profile.languages.push(LanguageSkill {
        tag: "km".into(),
        level: Level::A2,
    });
    let experts = vec![
        expert(1, Status::Included, &["B.2.3"], &["IDN"], "2026-07-01"),
        thai_speaker,
        basic_khmer,
        // Not included: never counted.
        expert(4, Status::Revoked, &["J"], &["FJI"], "2026-07-02"),
    ];
    let options = CoverageOptions {
        today: d("2026-06-15"),
        node_threshold: 1,
        working_level: Level::B2,
        member_languages: BTreeMap::from([
            ("KHM".into(), vec!["km".into()]),
            ("THA".into(), vec!["th".into()]),
            ("FJI".into(), vec!["en".into(), "fj".into()]),
        ]),
        ending_within_days: 60,
    };
    let report = coverage(&experts, Taxonomy::current(), &options);
    assert_eq!(report.included, 3);
    let count = |code: &str| report.themes.iter().find(|(c, _)| c == code).unwrap().1;
    // B counts both B.2 and B.2.3 experts, once each.
    assert_eq!(
        (count("B"), count("B.2"), count("B.2.3"), count("J")),
        (2, 2, 1, 0)
    );
    assert!(report.thin_themes.contains(&"J".to_owned()));
    let gaps: Vec<&str> = report
        .language_gaps
        .iter()
        .map(|g| g.tag.as_str())
        .collect();
    assert_eq!(gaps, ["fj", "km"]);
    insta::assert_json_snapshot!(report);
}

#[test]
fn a_period_past_the_calendar_lists_every_term_instead_of_panicking() {
    let experts = vec![
        expert(1, Status::Included, &["D.1"], &["THA"], "2026-09-30"),
        expert(2, Status::Included, &["D.1"], &["THA"], "2027-03-31"),
    ];
    let options = CoverageOptions {
        today: d("2026-06-15"),
        node_threshold: 1,
        working_level: Level::B2,
        member_languages: BTreeMap::new(),
        ending_within_days: u32::MAX,
    };
    let report = coverage(&experts, Taxonomy::current(), &options);
    let ending: Vec<ExpertId> = report.terms_ending.iter().map(|t| t.expert).collect();
    assert_eq!(ending, [ExpertId(1), ExpertId(2)]);
}

#[test]
fn a_term_that_has_ended_counts_no_more_before_the_sweep() {
    // Still marked included (the sweep has not run), but the term ended
    // the day before the report.
    let lapsed = expert(1, Status::Included, &["D.1"], &["THA"], "2026-06-14");
    let current = expert(2, Status::Included, &["D.1"], &["IDN"], "2026-06-15");
    let options = CoverageOptions {
        today: d("2026-06-15"),
        node_threshold: 2,
        working_level: Level::B2,
        member_languages: BTreeMap::new(),
        ending_within_days: 30,
    };
    let report = coverage(&[lapsed, current], Taxonomy::current(), &options);
    assert_eq!(report.included, 1);
    let count = |code: &str| report.themes.iter().find(|(c, _)| c == code).unwrap().1;
    assert_eq!((count("D"), count("D.1")), (1, 1));
    assert_eq!(report.nominators, BTreeMap::from([("IDN".to_owned(), 1)]));
    assert!(report.thin_themes.contains(&"D.1".to_owned()));
    let ending: Vec<ExpertId> = report.terms_ending.iter().map(|t| t.expert).collect();
    assert_eq!(ending, [ExpertId(2)]);
    assert_eq!(report.terms_ending_count, 1);
}
