//! Snapshots of what people read: eligibility reports and ranking
//! explanations. A change of wording or of a score shows up as a diff.

mod common;

use common::{Fixture, d, profile, request, rso};
use roster_core::eligibility::{self, Policy};
use roster_core::model::LanguageSkill;

#[test]
fn eligibility_report_of_a_borderline_nominee() {
    let mut p = profile(
        "Kaʻimi Nohea",
        "kaimi@example.org",
        &["I.1", "I.4"],
        "2021-03-02",
    );
    p.referees[1].email = p.email.clone();
    p.languages.push(LanguageSkill {
        tag: "fj".into(),
        level: "native".parse().unwrap(),
    });
    p.availability.authorised = false;
    let report = eligibility::check(&p, d("2026-03-01"), &Policy::default(), |c| c == "IDN");
    assert!(!report.eligible());
    insta::assert_json_snapshot!(report);
}

#[test]
fn eligibility_report_of_an_eligible_nominee() {
    let p = profile("Sukarni", "sukarni@example.org", &["B.2.3"], "2015-01-01");
    let report = eligibility::check(&p, d("2026-03-01"), &Policy::default(), |c| c == "IDN");
    assert!(report.eligible());
    insta::assert_json_snapshot!(report);
}

#[tokio::test]
async fn shortlist_with_every_part_explained() {
    let f = Fixture::new().await;
    let a = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["B.2.3"], "2012-05-01"),
        )
        .await
        .unwrap()
        .expert();
    let b = f
        .nominate(
            "PHL",
            profile(
                "Maria Santos",
                "maria@example.org",
                &["B.2", "D.2.1"],
                "2008-01-01",
            ),
        )
        .await
        .unwrap()
        .expert();
    f.set_day("2026-04-15");
    f.include(a).await;
    f.include(b).await;
    let mut req = request("THA-2026-07", &["B.2", "D.2"]);
    req.desired_languages.push(LanguageSkill {
        tag: "th".into(),
        level: "B1".parse().unwrap(),
    });
    let list = f.roster.match_request(&rso(), req).await.unwrap();
    insta::assert_json_snapshot!(list);
}
