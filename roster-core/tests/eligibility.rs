//! The selection criteria at their boundaries.

mod common;

use common::{d, profile};
use roster_core::eligibility::{self, Criterion, Policy, relevant_days};
use roster_core::model::ExperiencePeriod;

fn experience_met(from: &str, on: &str) -> bool {
    let p = profile("Sukarni", "sukarni@example.org", &["C.1"], from);
    let report = eligibility::check(&p, d(on), &Policy::default(), |_| false);
    report.findings[0].criterion == Criterion::Experience && report.findings[0].met
}

#[test]
fn five_years_is_1826_days_counting_both_ends() {
    // 2021-03-02 through 2026-03-01 is exactly 1,826 days.
    assert!(!experience_met("2021-03-03", "2026-03-01"), "one day short");
    assert!(experience_met("2021-03-02", "2026-03-01"), "exactly");
    assert!(experience_met("2021-03-01", "2026-03-01"), "one day over");
}

#[test]
fn overlapping_and_untagged_periods() {
    let mut p = profile("Sukarni", "sukarni@example.org", &["C.1"], "2020-01-01");
    p.experience[0].to = Some(d("2020-12-31"));
    // Overlaps the first period by half a year: counted once.
    p.experience.push(ExperiencePeriod {
        from: d("2020-07-01"),
        to: Some(d("2021-06-30")),
        role: "Trainer".into(),
        themes: vec!["C.2".into()],
        competencies: vec!["training".into()],
        countries: vec![],
    });
    // No competency: not counted.
    p.experience.push(ExperiencePeriod {
        from: d("2022-01-01"),
        to: Some(d("2022-12-31")),
        role: "Clerk".into(),
        themes: vec!["C.2".into()],
        competencies: vec![],
        countries: vec![],
    });
    assert_eq!(relevant_days(&p, d("2026-01-01")), 366 + 181);
    // A custom policy lowers the bar.
    let policy = Policy {
        min_experience_days: 500,
        ..Policy::default()
    };
    let report = eligibility::check(&p, d("2026-01-01"), &policy, |_| false);
    assert!(report.findings[0].met);
}

#[test]
fn referees_must_be_distinct_officials_who_are_not_the_expert() {
    let mut p = profile("Sukarni", "sukarni@example.org", &["C.1"], "2010-01-01");
    p.referees[1].email = "REFEREE1@example.org".into();
    let report = eligibility::check(&p, d("2026-01-01"), &Policy::default(), |_| false);
    let refs = &report.findings[1];
    assert!(!refs.met);
    assert_eq!(
        refs.reason,
        "1 acceptable referee; 2 needed (referee 2 repeats an earlier referee)"
    );

    let mut p = profile("Sukarni", "sukarni@example.org", &["C.1"], "2010-01-01");
    p.referees[0].organisation.sector = roster_core::model::Sector::Private;
    let report = eligibility::check(&p, d("2026-01-01"), &Policy::default(), |_| false);
    assert_eq!(
        report.findings[1].reason,
        "1 acceptable referee; 2 needed (referee 1 is not an official of a government, an international organisation or an NGO)"
    );
}
