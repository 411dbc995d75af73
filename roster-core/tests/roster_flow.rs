//! The facade end to end on the in-memory store: the annual call, screening,
//! the lifecycle, access rules and matching.

mod common;

use chrono::{TimeZone, Utc};
use common::{Fixture, d, profile, request, rso};
use roster_core::eligibility::Criterion;
use roster_core::matching::{Filter, Flag, PartName};
use roster_core::model::{DateRange, Organisation, Sector};
use roster_core::{Actor, ExpertId, Nomination, NominationOutcome, RosterError, Status};

#[tokio::test]
async fn the_annual_call_runs_to_inclusion_with_an_audit_trail() {
    let f = Fixture::new().await;
    let id = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["B.2.3"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    f.set_day("2026-04-15");
    f.include(id).await;
    let expert = f.roster.expert(&rso(), id).await.unwrap();
    assert_eq!(expert.status, Status::Included);
    assert_eq!(expert.version, 4);
    let term = expert.term.unwrap();
    assert_eq!(
        (term.first_day, term.last_day),
        (d("2026-04-15"), d("2027-04-14"))
    );
    assert_eq!(expert.cv_document.as_deref().map(str::len), Some(32));

    let trail = f.roster.audit_trail(&rso(), Some(id)).await.unwrap();
    let steps: Vec<(Option<Status>, Status, &str)> = trail
        .iter()
        .map(|e| (e.change.from, e.change.to, e.change.actor.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, Status::Nominated, "participant:IDN"),
            (Some(Status::Nominated), Status::Invited, "rso:officer-1"),
            (Some(Status::Invited), Status::Registered, "expert:E-0001"),
            (Some(Status::Registered), Status::Included, "rso:officer-1"),
        ]
    );
    assert_eq!(
        trail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[tokio::test]
async fn nominations_outside_the_window_are_refused_with_the_window() {
    let f = Fixture::new().await;
    f.set_day("2026-04-01");
    let err = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the 2026 call accepts nominations from 2026-02-01 through 2026-03-31; today is 2026-04-01"
    );
    assert!(f.roster.experts(&rso()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_same_person_nominated_twice_is_one_expert_with_two_nominators() {
    let f = Fixture::new().await;
    let first = f
        .nominate(
            "THA",
            profile(
                "Siti Rahma",
                "Siti.Rahma@Example.ORG",
                &["C.1"],
                "2015-01-01",
            ),
        )
        .await
        .unwrap();
    let second = f
        .nominate(
            "IDN",
            profile(
                "Siti Rahma",
                "siti.rahma@example.org",
                &["C.1"],
                "2015-01-01",
            ),
        )
        .await
        .unwrap();
    let again = f
        .nominate(
            "IDN",
            profile(
                "Siti Rahma",
                "siti.rahma@example.org",
                &["C.1"],
                "2015-01-01",
            ),
        )
        .await
        .unwrap();
    let id = first.expert();
    assert_eq!(first, NominationOutcome::Created(id));
    assert_eq!(second, NominationOutcome::AddedNominator(id));
    assert_eq!(again, NominationOutcome::AlreadyRecorded(id));
    let experts = f.roster.experts(&rso()).await.unwrap();
    assert_eq!(experts.len(), 1);
    assert_eq!(
        experts[0].nominators().into_iter().collect::<Vec<_>>(),
        ["IDN", "THA"]
    );
    // The form first entered is kept for sending.
    assert_eq!(experts[0].profile.email, "Siti.Rahma@Example.ORG");
}

#[tokio::test]
async fn bad_input_names_every_field_and_stores_nothing() {
    let f = Fixture::new().await;
    let mut p = profile("Ab\u{202E}cd", "not-an-address", &["K.9"], "2015-01-01");
    p.experience[0].competencies.push("juggling".into());
    let err = f.nominate("IDN", p).await.unwrap_err();
    let RosterError::Invalid(errors) = err else {
        panic!("expected several field errors, got {err:?}");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "expert.name.full",
            "expert.email",
            "expert.experience[0].themes[0]",
            "expert.experience[0].competencies[2]"
        ]
    );
    assert!(f.roster.experts(&rso()).await.unwrap().is_empty());

    let err = f
        .nominate(
            "XXX",
            profile("Sukarni", "s@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nominator: `XXX` is not a Bali Process member or observer"
    );
    let err = f
        .roster
        .nominate(
            &Actor::Participant("THA".into()),
            Nomination {
                call_year: 2026,
                nominator: "IDN".into(),
                expert: profile("Sukarni", "s@example.org", &["A"], "2015-01-01"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant:THA may not nominate on behalf of another participant"
    );
}

#[tokio::test]
async fn screening_marks_failures_ineligible_with_every_reason() {
    let f = Fixture::new().await;
    let mut p = profile("Aung Kyaw Moe", "akm@example.org", &["D.1"], "2023-01-01");
    p.referees.truncate(1);
    p.languages[0].level = "B1".parse().unwrap();
    let id = f.nominate("MMR", p).await.unwrap().expert();
    let report = f.roster.screen(&rso(), id).await.unwrap();
    let unmet: Vec<Criterion> = report.unmet().map(|f| f.criterion).collect();
    assert_eq!(
        unmet,
        [
            Criterion::Experience,
            Criterion::References,
            Criterion::English
        ]
    );
    let expert = f.roster.expert(&rso(), id).await.unwrap();
    assert_eq!(expert.status, Status::Ineligible);
    let err = f.roster.invite(&rso(), id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0001 cannot go from ineligible to invited"
    );
}

#[tokio::test]
async fn refused_transitions_and_access_change_nothing() {
    let f = Fixture::new().await;
    let id = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    let err = f.roster.include(&rso(), id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0001 cannot go from nominated to included"
    );
    let err = f
        .roster
        .invite(&Actor::Participant("IDN".into()), id)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "participant:IDN may not invite experts");
    let err = f
        .roster
        .expert(&Actor::Participant("THA".into()), id)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "participant:THA may not see this expert");
    assert!(
        f.roster
            .expert(&Actor::Participant("IDN".into()), id)
            .await
            .is_ok()
    );
    let expert = f.roster.expert(&rso(), id).await.unwrap();
    assert_eq!((expert.status, expert.version), (Status::Nominated, 1));
    assert_eq!(f.roster.audit_trail(&rso(), None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn matching_filters_conflicts_and_expiring_terms_and_flags_nominees() {
    let f = Fixture::new().await;
    // E1: Thai government employee, conflicted for a Thai request.
    let mut e1 = profile("Somchai", "somchai@example.net", &["B.2.3"], "2010-01-01");
    e1.organisation = Organisation {
        name: "Immigration Bureau".into(),
        sector: Sector::Government,
        state: Some("THA".into()),
    };
    let e1 = f.nominate("IDN", e1).await.unwrap().expert();
    // E2: nominated by the requesting state, now at an international organisation.
    let mut e2 = profile("Kanya", "kanya@example.org", &["B.2"], "2012-01-01");
    e2.organisation.sector = Sector::InternationalOrganisation;
    let e2 = f.nominate("THA", e2).await.unwrap().expert();
    // E3: nothing in common with the request: score from rotation only.
    let e3 = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["J.5"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    // E4: included, then revoked.
    let e4 = f
        .nominate(
            "IDN",
            profile("Wayan", "wayan@example.org", &["B.2.3"], "2010-01-01"),
        )
        .await
        .unwrap()
        .expert();
    // E5: included a year earlier, so the term ends before the mission does.
    let e5 = f
        .nominate(
            "PHL",
            profile("Maria", "maria@example.org", &["B.2.3"], "2010-01-01"),
        )
        .await
        .unwrap()
        .expert();
    // E6: the strongest match.
    let e6 = f
        .nominate(
            "PHL",
            profile("Nilufar", "nilufar@example.org", &["B.2.3"], "2005-01-01"),
        )
        .await
        .unwrap()
        .expert();

    f.set_day("2026-03-15");
    // Start E5's term so that it ends on 2026-07-05.
    f.set_day("2025-07-06");
    f.include(e5).await;
    f.set_day("2026-04-15");
    for id in [e1, e2, e3, e4, e6] {
        f.include(id).await;
    }
    f.roster
        .revoke(&rso(), e4, "requested by the expert")
        .await
        .unwrap();

    let thai = Actor::Participant("THA".into());
    let list = f
        .roster
        .match_request(&thai, request("THA-2026-01", &["B.2"]))
        .await
        .unwrap();
    let ranked: Vec<ExpertId> = list.ranked.iter().map(|r| r.expert).collect();
    assert_eq!(ranked, [e2, e6, e3]);
    let excluded: Vec<(ExpertId, Filter)> =
        list.excluded.iter().map(|e| (e.expert, e.filter)).collect();
    assert_eq!(
        excluded,
        [
            (e1, Filter::Conflict),
            (e4, Filter::NotIncluded),
            (e5, Filter::TermEnds)
        ]
    );
    assert_eq!(list.ranked[0].flags, [Flag::NominatedByRequester]);
    let e3_parts: Vec<(PartName, u32)> = list.ranked[2]
        .parts
        .iter()
        .map(|p| (p.name, p.points))
        .collect();
    assert_eq!(
        e3_parts,
        [
            (PartName::Thematic, 0),
            (PartName::Years, 0),
            (PartName::Competencies, 20_000),
            (PartName::Languages, 0),
            (PartName::Region, 10_000 / 2),
            (PartName::Rotation, 5_000),
        ]
    );
    assert_eq!(
        list.why_not(e5),
        "E-0005 was removed by the filter \"term ends\": term ends 2026-07-05, before the mission's last day 2026-07-10"
    );
    assert_eq!(
        list.why_not(e3),
        "E-0003 passed every filter but ranked 3 of 3, below the 2 wanted"
    );
    assert_eq!(
        list.removed_by(),
        [
            (Filter::NotIncluded, 1),
            (Filter::TermEnds, 1),
            (Filter::Conflict, 1)
        ]
    );

    // The all-zero variant: even with no thematic signal, E1 never appears.
    let list = f
        .roster
        .match_request(&thai, request("THA-2026-02", &["H.4"]))
        .await
        .unwrap();
    assert!(list.ranked.iter().all(|r| r.expert != e1));
    assert!(
        list.excluded
            .iter()
            .any(|e| e.expert == e1 && e.filter == Filter::Conflict)
    );

    // Only the requester (or the RSO) may ask.
    let err = f
        .roster
        .match_request(
            &Actor::Participant("IDN".into()),
            request("THA-2026-03", &["B"]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant:IDN may not request experts for another member"
    );
}

#[tokio::test]
async fn requests_are_validated_field_by_field() {
    let f = Fixture::new().await;
    let mut bad = request("", &["Z.1"]);
    bad.window = DateRange {
        first: d("2026-07-10"),
        last: d("2026-07-01"),
    };
    bad.experts_wanted = 0;
    let err = f.roster.match_request(&rso(), bad).await.unwrap_err();
    let RosterError::Invalid(errors) = err else {
        panic!("expected field errors");
    };
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "id: is empty",
            "themes[0]: unknown thematic code `Z.1` in taxonomy rso-information-sheet-1",
            "window: ends on 2026-07-01, before it starts on 2026-07-10",
            "experts_wanted: must be at least 1",
        ]
    );
}

#[tokio::test]
async fn terms_lapse_and_renew_without_gap() {
    let f = Fixture::new().await;
    let id = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    f.set_day("2024-02-29");
    f.include(id).await;
    f.set_day("2025-02-28");
    let swept = f.roster.sweep().await.unwrap();
    assert_eq!(
        (swept.expired, swept.reminded),
        (vec![], vec![id]),
        "on the last day: reminded (30 days ahead), not expired"
    );
    f.set_day("2025-03-01");
    let swept = f.roster.sweep().await.unwrap();
    assert_eq!((swept.expired, swept.reminded), (vec![id], vec![]));
    let renewed = f.roster.renew(&rso(), id).await.unwrap();
    let err = f.roster.include(&rso(), id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0001 cannot go from included to included"
    );
    let term = renewed.term.unwrap();
    assert_eq!(
        (term.first_day, term.last_day),
        (d("2025-03-01"), d("2026-02-28"))
    );
    // Renewed early, within the term: the expert stays on the roster
    // through the renewed year, and a second renewal is refused while the
    // term already reaches a year ahead.
    f.set_day("2025-06-01");
    let early = f.roster.renew(&rso(), id).await.unwrap().term.unwrap();
    assert_eq!(
        (early.first_day, early.last_day),
        (d("2025-03-01"), d("2027-02-28"))
    );
    let err = f.roster.renew(&rso(), id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "term: E-0001 is already on the roster through 2027-02-28; renew within the last year of the term"
    );
}

#[tokio::test]
async fn today_is_the_roster_zone_day() {
    let f = Fixture::new().await;
    // 16:59:59 UTC is 23:59:59 in Bangkok; one second later it is the next day.
    f.clock
        .set(Utc.with_ymd_and_hms(2025, 2, 28, 16, 59, 59).unwrap());
    assert_eq!(f.roster.today(), d("2025-02-28"));
    f.clock
        .set(Utc.with_ymd_and_hms(2025, 2, 28, 17, 0, 0).unwrap());
    assert_eq!(f.roster.today(), d("2025-03-01"));
}

#[tokio::test]
async fn the_rso_reads_coverage_whole_and_an_analyst_reads_only_counts() {
    let f = Fixture::new().await;
    let a = f
        .nominate(
            "THA",
            profile("Anong Suk", "anong@example.org", &["D.1"], "2012-01-01"),
        )
        .await
        .unwrap()
        .expert();
    let b = f
        .nominate(
            "IDN",
            profile("Budi Hartono", "budi@example.org", &["D.1.2"], "2014-01-01"),
        )
        .await
        .unwrap()
        .expert();
    f.include(a).await;
    f.include(b).await;
    let options = roster_core::matching::coverage::CoverageOptions {
        today: d("2026-02-10"),
        node_threshold: 2,
        working_level: roster_core::language::Level::B2,
        member_languages: Default::default(),
        // Both terms run a year from today.
        ending_within_days: 400,
    };
    let whole = f.roster.coverage(&rso(), &options).await.unwrap();
    assert_eq!(whole.included, 2);
    let ending: Vec<ExpertId> = whole.terms_ending.iter().map(|t| t.expert).collect();
    assert_eq!(ending, [a, b]);
    assert_eq!(whole.terms_ending_count, 2);
    let counted = whole
        .themes
        .iter()
        .find(|(code, _)| code == "D.1")
        .map(|(_, n)| *n);
    assert_eq!(counted, Some(2));

    let analyst = Actor::Analyst("a-1".into());
    let aggregates = f.roster.coverage(&analyst, &options).await.unwrap();
    assert!(aggregates.terms_ending.is_empty());
    assert_eq!(aggregates.terms_ending_count, 2);
    assert_eq!(aggregates.themes, whole.themes);
    assert_eq!(aggregates.nominators, whole.nominators);

    for actor in [Actor::Participant("THA".into()), Actor::Expert(a)] {
        let err = f.roster.coverage(&actor, &options).await.unwrap_err();
        assert!(matches!(err, RosterError::Forbidden { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn members_search_included_experts_without_referees_contacts() {
    let f = Fixture::new().await;
    let included = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["B.2.3"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    let nominated = f
        .nominate(
            "IDN",
            profile("Aung Kyaw Moe", "akm@example.org", &["D.1"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    f.set_day("2026-04-15");
    f.include(included).await;
    let whole = f.roster.expert(&rso(), included).await.unwrap();
    assert!(whole.profile.referees.iter().all(|r| !r.email.is_empty()));

    // Another member sees the included expert, referees' addresses empty,
    // everything else as stored.
    let tha = Actor::Participant("THA".into());
    let seen = f.roster.expert(&tha, included).await.unwrap();
    assert!(seen.profile.referees.iter().all(|r| r.email.is_empty()));
    let mut expected = whole.clone();
    for referee in &mut expected.profile.referees {
        referee.email.clear();
    }
    assert_eq!(seen, expected);
    // The nominator sees its nominee whole; nobody else sees one not
    // included.
    let idn = Actor::Participant("IDN".into());
    assert_eq!(f.roster.expert(&idn, included).await.unwrap(), whole);
    assert_eq!(
        f.roster
            .expert(&tha, nominated)
            .await
            .unwrap_err()
            .to_string(),
        "participant:THA may not see this expert"
    );

    let listed = f.roster.included_experts(&tha).await.unwrap();
    assert_eq!(listed, [expected]);
    assert_eq!(
        f.roster.included_experts(&idn).await.unwrap(),
        std::slice::from_ref(&whole)
    );
    assert_eq!(f.roster.included_experts(&rso()).await.unwrap(), [whole]);
    for actor in [Actor::Expert(included), Actor::Analyst("a-1".into())] {
        assert_eq!(
            f.roster
                .included_experts(&actor)
                .await
                .unwrap_err()
                .to_string(),
            format!("{actor} may not search the included experts")
        );
    }
}
