//! The matching cases BL-19 (total, deterministic order), BL-20 (conflict of
//! interest and eligibility as hard filters) and BL-22 (rotation, load cap,
//! idempotent issues), run against the ranking and the facade.

mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::{d, profile, request, rso};
use roster_core::clock::{Clock, FixedClock};
use roster_core::lifecycle::AuditDraft;
use roster_core::matching::{
    self, Context, CustomPart, EmptyBecause, Filter, Flag, LoadCap, MatchPolicy, WeightedPart,
};
use roster_core::membership::Membership;
use roster_core::model::{DateRange, EngagementState, NominationRecord, Organisation, Sector};
use roster_core::store::{ExpertStore, NewExpert};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Actor, Expert, ExpertId, MemoryStore, MissionRequest, Roster, Status, Term};

/// An included expert with a term over 2025, nominated by `nominator`.
fn expert(id: i64, nominator: &str) -> Expert {
    Expert {
        id: ExpertId(id),
        version: 1,
        status: Status::Included,
        profile: profile(
            &format!("Expert {id}"),
            &format!("e{id}@example.net"),
            &["B.2"],
            "2015-01-01",
        ),
        nominations: vec![NominationRecord {
            call_year: 2025,
            nominator: nominator.into(),
            received_at: Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap(),
        }],
        cv_document: None,
        term: Some(Term {
            first_day: d("2025-01-01"),
            last_day: d("2025-12-31"),
        }),
    }
}

fn thai_request() -> MissionRequest {
    let mut r = request("THA-2025-01", &["B.2"]);
    r.window = DateRange {
        first: d("2025-07-01"),
        last: d("2025-07-10"),
    };
    r.experts_wanted = 3;
    r
}

fn ranked_ids(list: &matching::Shortlist) -> Vec<i64> {
    list.ranked.iter().map(|r| r.expert.0).collect()
}

/// A custom part that scores from a table, standing in for a deployment's
/// normalised score that can come out as garbage (0/0 in BL-19).
struct Table(Vec<(i64, u32)>);

impl CustomPart for Table {
    fn name(&self) -> &str {
        "affinity"
    }

    fn score(&self, _: &MissionRequest, expert: &Expert) -> (u32, String) {
        let value = self
            .0
            .iter()
            .find(|(id, _)| *id == expert.id.0)
            .map_or(0, |(_, v)| *v);
        (value, format!("affinity {value}"))
    }
}

fn rank_with(
    policy: &MatchPolicy,
    request: &MissionRequest,
    experts: &[Expert],
) -> matching::Shortlist {
    let membership = Membership::bundled();
    let ctx = Context {
        taxonomy: Taxonomy::current(),
        membership: &membership,
        policy,
        engagements: &[],
        today: d("2025-06-01"),
    };
    matching::rank(request, experts, &ctx)
}

#[test]
fn bl19_ties_break_on_rotation_then_id_and_a_bad_score_is_excluded() {
    let table = vec![
        (101, 800),
        (42, 800),
        (77, 800),
        (150, 800),
        (13, u32::MAX),
        (200, 500),
    ];
    let policy = MatchPolicy {
        custom: vec![WeightedPart {
            part: Arc::new(Table(table)),
            weight: 50,
        }],
        ..MatchPolicy::default()
    };
    // Loaded in the case's "hash map" order, and in reverse: same answer.
    let mut experts: Vec<Expert> = [101, 42, 77, 150, 13, 200]
        .into_iter()
        .map(|id| expert(id, "IDN"))
        .collect();
    let list = rank_with(&policy, &thai_request(), &experts);
    experts.reverse();
    assert_eq!(rank_with(&policy, &thai_request(), &experts), list);

    let top: Vec<i64> = list.proposed().iter().map(|r| r.expert.0).collect();
    assert_eq!(top, [42, 77, 101]);
    assert_eq!(ranked_ids(&list), [42, 77, 101, 150, 200]);
    assert_eq!(list.excluded.len(), 1);
    assert_eq!(list.excluded[0].expert, ExpertId(13));
    assert_eq!(list.excluded[0].filter, Filter::InvalidScore);
    assert_eq!(
        list.why_not(ExpertId(13)),
        "E-0013 was removed by the filter \"invalid score\": the part \"affinity\" returned 4294967295 thousandths; a part must be 0 to 1000"
    );
    assert_eq!(
        list.why_not(ExpertId(150)),
        "E-0150 passed every filter but ranked 4 of 5, below the 3 wanted"
    );
}

fn bl20_experts() -> Vec<Expert> {
    let mut e1 = expert(1, "IDN");
    e1.profile.organisation = Organisation {
        name: "Immigration Bureau".into(),
        sector: Sector::Government,
        state: Some("THA".into()),
    };
    let mut e2 = expert(2, "THA");
    e2.profile.organisation = Organisation {
        name: "An international organisation".into(),
        sector: Sector::InternationalOrganisation,
        state: None,
    };
    let mut e3 = expert(3, "IDN");
    e3.profile.experience[0].themes = vec!["J".into()];
    let mut e4 = expert(4, "IDN");
    e4.status = Status::Revoked;
    let mut e5 = expert(5, "IDN");
    e5.term = Some(Term {
        first_day: d("2024-07-06"),
        last_day: d("2025-07-05"),
    });
    let e6 = expert(6, "IDN");
    vec![e1, e2, e3, e4, e5, e6]
}

#[test]
fn bl20_conflicts_and_lapsed_inclusions_are_hard_filters() {
    let experts = bl20_experts();
    let zero = MatchPolicy {
        weights: matching::Weights {
            thematic: 0,
            years: 0,
            competencies: 0,
            languages: 0,
            region: 0,
            rotation: 0,
        },
        ..MatchPolicy::default()
    };
    for policy in [MatchPolicy::default(), zero] {
        let list = rank_with(&policy, &thai_request(), &experts);
        let excluded: Vec<(i64, Filter)> = list
            .excluded
            .iter()
            .map(|e| (e.expert.0, e.filter))
            .collect();
        assert_eq!(
            excluded,
            [
                (1, Filter::Conflict),
                (4, Filter::NotIncluded),
                (5, Filter::TermEnds)
            ]
        );
        let mut ids = ranked_ids(&list);
        ids.sort();
        assert_eq!(ids, [2, 3, 6]);
        let e2 = list
            .ranked
            .iter()
            .find(|r| r.expert == ExpertId(2))
            .unwrap();
        assert_eq!(e2.flags, [Flag::NominatedByRequester]);
        assert_eq!(
            list.why_not(ExpertId(1)),
            "E-0001 was removed by the filter \"conflict of interest\": works for a government body of THA, the requesting state"
        );
        assert_eq!(
            list.why_not(ExpertId(5)),
            "E-0005 was removed by the filter \"term ends\": term ends 2025-07-05, before the mission's last day 2025-07-10"
        );
    }
    // In the all-zero variant every total is 0 and the order is by id.
    let zero_list = rank_with(
        &MatchPolicy {
            weights: matching::Weights {
                thematic: 0,
                years: 0,
                competencies: 0,
                languages: 0,
                region: 0,
                rotation: 0,
            },
            ..MatchPolicy::default()
        },
        &thai_request(),
        &experts,
    );
    assert_eq!(ranked_ids(&zero_list), [2, 3, 6]);
    assert!(zero_list.ranked.iter().all(|r| r.total == 0));
    // E3 has no thematic match: it ranks, with 0 for the part and the reason.
    let list = rank_with(&MatchPolicy::default(), &thai_request(), &experts);
    let e3 = list
        .ranked
        .iter()
        .find(|r| r.expert == ExpertId(3))
        .unwrap();
    assert_eq!(e3.parts[0].points, 0);
    assert_eq!(
        e3.parts[0].explanation,
        "of 1 requested field: 0 matched exactly, 0 through a sub-field, 0 through the broader area"
    );
}

#[test]
fn an_empty_ranking_names_the_filter_that_emptied_it() {
    let experts = bl20_experts();
    let mut r = thai_request();
    r.excluded = vec![ExpertId(2), ExpertId(3), ExpertId(6)];
    let list = rank_with(&MatchPolicy::default(), &r, &experts);
    assert!(list.ranked.is_empty());
    let because = list.empty_because.clone().unwrap();
    assert_eq!(
        because,
        EmptyBecause::Filtered {
            last: Filter::Conflict,
            removed_by: vec![
                (Filter::NotIncluded, 1),
                (Filter::TermEnds, 1),
                (Filter::Excluded, 3),
                (Filter::Conflict, 1),
            ],
        }
    );
    assert_eq!(
        rank_with(&MatchPolicy::default(), &r, &[]).empty_because,
        Some(EmptyBecause::NoExperts)
    );
}

/// Six identical requests a month apart, then a seventh.
fn monthly(n: u32) -> MissionRequest {
    let mut r = request(&format!("THA-2026-{n:02}"), &["B.2"]);
    let first = d("2026-05-01") + chrono::Months::new(n - 1);
    r.window = DateRange {
        first,
        last: first + chrono::Days::new(4),
    };
    r.experts_wanted = 1;
    r
}

/// A roster on memory with X, Y and Z imported as included for 2026, and a
/// load cap of 2 missions per rolling 365 days.
async fn xyz_roster() -> (Roster, Vec<ExpertId>) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 15, 3, 0, 0).unwrap(),
    ));
    let mut ids = Vec::new();
    for name in ["X", "Y", "Z"] {
        let new = NewExpert {
            status: Status::Included,
            profile: profile(name, &format!("{name}@example.org"), &["B.2"], "2010-01-01"),
            nominations: vec![],
            term: Some(Term::starting(d("2026-01-01"))),
        };
        let audit = AuditDraft {
            actor: "rso:import".into(),
            at: clock.now(),
            from: None,
            to: Status::Included,
            reason: "imported".into(),
        };
        ids.push(store.create_expert(new, audit).await.unwrap().id);
    }
    let roster = Roster::new(store).with_clock(clock).with_load_cap(LoadCap {
        max: 2,
        period_days: 365,
    });
    (roster, ids)
}

#[tokio::test]
async fn bl22_rotation_load_cap_and_idempotent_issues() {
    let (roster, ids) = xyz_roster().await;
    let thai = Actor::Participant("THA".into());
    let mut heads = Vec::new();
    for n in 1..=6 {
        let req = monthly(n);
        if n == 3 {
            // Previews change nothing, and the issue after them is the same.
            let a = roster.preview(&thai, req.clone()).await.unwrap();
            let b = roster.preview(&thai, req.clone()).await.unwrap();
            assert_eq!(a, b);
        }
        let list = roster.match_request(&thai, req.clone()).await.unwrap();
        if n == 3 {
            let again = roster.match_request(&thai, req.clone()).await.unwrap();
            assert_eq!(again, list);
        }
        let head = list.ranked[0].expert;
        heads.push(head);
        roster.propose(&rso(), "THA", &req.id, head).await.unwrap();
        roster.accept(&thai, "THA", &req.id, head).await.unwrap();
    }
    let names: Vec<usize> = heads
        .iter()
        .map(|h| ids.iter().position(|i| i == h).unwrap())
        .collect();
    assert_eq!(names, [0, 1, 2, 0, 1, 2]);

    let seventh = monthly(7);
    let list = roster.match_request(&thai, seventh.clone()).await.unwrap();
    assert!(list.ranked.is_empty());
    assert_eq!(
        list.empty_because,
        Some(EmptyBecause::Filtered {
            last: Filter::LoadCap,
            removed_by: vec![(Filter::LoadCap, 3)],
        })
    );
    assert_eq!(
        list.why_not(ids[0]),
        format!(
            "{} was removed by the filter \"load cap\": 2 accepted or completed missions between 2025-11-01 and 2026-11-05; the cap is 2 per 365 days",
            ids[0]
        )
    );
    // The cap is hard: proposing anyway is refused with the reason.
    let err = roster
        .propose(&rso(), "THA", &seventh.id, ids[0])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("load cap"), "{err}");
}

#[tokio::test]
async fn every_engagement_change_moves_its_version_on_by_one() {
    let (roster, _) = xyz_roster().await;
    let thai = Actor::Participant("THA".into());
    let req = monthly(1);
    let list = roster.match_request(&thai, req.clone()).await.unwrap();
    let head = list.ranked[0].expert;
    let proposed = roster.propose(&rso(), "THA", &req.id, head).await.unwrap();
    assert_eq!(proposed.version, 1);
    // Proposing again returns the stored proposal unchanged.
    let again = roster.propose(&rso(), "THA", &req.id, head).await.unwrap();
    assert_eq!(again, proposed);
    let accepted = roster.accept(&thai, "THA", &req.id, head).await.unwrap();
    assert_eq!(accepted.version, 2);
    let declined = roster
        .decline_engagement(&thai, "THA", &req.id, head)
        .await
        .unwrap();
    assert_eq!(declined.version, 3);
    // A declined expert may be proposed again, on the same record.
    let reproposed = roster.propose(&rso(), "THA", &req.id, head).await.unwrap();
    assert_eq!(
        (reproposed.state, reproposed.version),
        (EngagementState::Proposed, 4)
    );
}

#[tokio::test]
async fn the_same_id_from_two_members_is_two_requests() {
    let (roster, _) = xyz_roster().await;
    let thai = request("R-1", &["B.2"]);
    let mut indonesian = thai.clone();
    indonesian.requester = "IDN".into();
    indonesian.title = "Another mission".into();
    roster.match_request(&rso(), thai.clone()).await.unwrap();
    roster.match_request(&rso(), indonesian).await.unwrap();
    // The Thai request is unchanged, so issuing it again is accepted.
    roster.match_request(&rso(), thai).await.unwrap();
}
