//! The matching cases BL-19 (total, deterministic order), BL-20 (conflict of
//! interest and eligibility as hard filters) and BL-22 (rotation, load cap,
//! idempotent issues), run against the ranking and the facade, and the
//! rules they rest on: which engagements block or count, how ties break,
//! how deep a thematic match scores, and what `why_not` says.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::{d, profile, request, rso};
use roster_core::clock::{Clock, FixedClock};
use roster_core::lifecycle::{AuditDraft, AuditEntry};
use roster_core::matching::index::MatchIndex;
use roster_core::matching::{
    self, Context, CustomPart, EmptyBecause, Filter, Flag, LoadCap, MatchPolicy, WeightedPart,
};
use roster_core::membership::Membership;
use roster_core::model::{
    DateRange, Engagement, EngagementState, Feedback, NominationRecord, Organisation, Sector,
};
use roster_core::store::{
    CallStore, Caps, ExpertStore, Invitation, InvitationStore, IssuedInvitation, MissionStore,
    NewExpert, NewInvitation, NewRevocationRequest, Outbox, OutboxMessage, RevocationDecision,
    RevocationRequest, RevocationStore,
};
use roster_core::taxonomy::Taxonomy;
use roster_core::{
    Actor, Call, Expert, ExpertId, MemoryStore, MissionRequest, Roster, RosterError, Status,
    StoreError, Term,
};

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
    rank_among(policy, request, experts, &[])
}

/// Ranks with these engagements on record.
fn rank_among(
    policy: &MatchPolicy,
    request: &MissionRequest,
    experts: &[Expert],
    engagements: &[Engagement],
) -> matching::Shortlist {
    let membership = Membership::bundled();
    let ctx = Context {
        taxonomy: Taxonomy::current(),
        membership: &membership,
        policy,
        engagements,
        today: d("2025-06-01"),
    };
    matching::rank(request, experts, &ctx)
}

/// An engagement of `expert` on the request with key `request_id`.
fn engagement(
    expert: i64,
    request_id: &str,
    days: (&str, &str),
    state: EngagementState,
) -> Engagement {
    Engagement {
        request_id: request_id.into(),
        expert: ExpertId(expert),
        window: DateRange {
            first: d(days.0),
            last: d(days.1),
        },
        state,
        version: 1,
        feedback: None,
    }
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

#[test]
fn only_an_accepted_engagement_on_overlapping_days_blocks() {
    let experts: Vec<Expert> = (1..=6).map(|id| expert(id, "IDN")).collect();
    let around = ("2025-07-08", "2025-07-15");
    let engagements = [
        engagement(1, "IDN/R-9", around, EngagementState::Accepted),
        engagement(2, "IDN/R-9", around, EngagementState::Proposed),
        engagement(3, "IDN/R-9", around, EngagementState::Declined),
        // Ends the day before the mission starts.
        engagement(
            4,
            "IDN/R-8",
            ("2025-06-20", "2025-06-30"),
            EngagementState::Accepted,
        ),
        // Accepted on this very request: it holds these days for it.
        engagement(
            5,
            "THA/THA-2025-01",
            ("2025-07-01", "2025-07-10"),
            EngagementState::Accepted,
        ),
        // Shares only the mission's first day.
        engagement(
            6,
            "FJI/R-2",
            ("2025-06-25", "2025-07-01"),
            EngagementState::Completed,
        ),
    ];
    let list = rank_among(
        &MatchPolicy::default(),
        &thai_request(),
        &experts,
        &engagements,
    );
    let excluded: Vec<(i64, Filter)> = list
        .excluded
        .iter()
        .map(|e| (e.expert.0, e.filter))
        .collect();
    assert_eq!(excluded, [(1, Filter::Engaged), (6, Filter::Engaged)]);
    let mut ids = ranked_ids(&list);
    ids.sort();
    assert_eq!(ids, [2, 3, 4, 5]);
    assert_eq!(
        list.why_not(ExpertId(1)),
        "E-0001 was removed by the filter \"engaged\": engaged on mission IDN/R-9 from 2025-07-08 to 2025-07-15"
    );
    assert_eq!(
        list.why_not(ExpertId(6)),
        "E-0006 was removed by the filter \"engaged\": engaged on mission FJI/R-2 from 2025-06-25 to 2025-07-01"
    );
}

#[test]
fn only_accepted_and_completed_missions_count_toward_the_load_cap() {
    let experts: Vec<Expert> = (1..=5).map(|id| expert(id, "IDN")).collect();
    let march = ("2025-03-01", "2025-03-05");
    let engagements = [
        engagement(1, "IDN/R-1", march, EngagementState::Proposed),
        engagement(2, "IDN/R-1", march, EngagementState::Accepted),
        engagement(3, "IDN/R-1", march, EngagementState::Completed),
        engagement(4, "IDN/R-1", march, EngagementState::Declined),
        // Over before the rolling period starts on 2024-07-01.
        engagement(
            5,
            "IDN/R-0",
            ("2024-05-01", "2024-05-05"),
            EngagementState::Completed,
        ),
    ];
    let policy = MatchPolicy {
        load_cap: Some(LoadCap {
            max: 1,
            period_days: 365,
        }),
        ..MatchPolicy::default()
    };
    let list = rank_among(&policy, &thai_request(), &experts, &engagements);
    let excluded: Vec<(i64, Filter)> = list
        .excluded
        .iter()
        .map(|e| (e.expert.0, e.filter))
        .collect();
    assert_eq!(excluded, [(2, Filter::LoadCap), (3, Filter::LoadCap)]);
    let mut ids = ranked_ids(&list);
    ids.sort();
    assert_eq!(ids, [1, 4, 5]);
    assert_eq!(
        list.why_not(ExpertId(3)),
        "E-0003 was removed by the filter \"load cap\": 1 accepted or completed mission between 2024-07-01 and 2025-07-10; the cap is 1 per 365 days"
    );
}

#[test]
fn missions_accepted_later_in_the_period_count_toward_the_load_cap() {
    // Accepting November, then October, then July must not put three
    // missions in one rolling year when the cap is two.
    let experts: Vec<Expert> = (1..=3).map(|id| expert(id, "IDN")).collect();
    let engagements = [
        engagement(
            1,
            "IDN/OCT",
            ("2025-10-06", "2025-10-10"),
            EngagementState::Accepted,
        ),
        engagement(
            1,
            "IDN/NOV",
            ("2025-11-03", "2025-11-07"),
            EngagementState::Accepted,
        ),
        engagement(
            2,
            "IDN/NOV",
            ("2025-11-03", "2025-11-07"),
            EngagementState::Accepted,
        ),
        // More than a year after the request: its period does not reach it.
        engagement(
            3,
            "IDN/OCT26",
            ("2026-10-06", "2026-10-10"),
            EngagementState::Accepted,
        ),
        engagement(
            3,
            "IDN/NOV26",
            ("2026-11-03", "2026-11-07"),
            EngagementState::Accepted,
        ),
    ];
    let policy = MatchPolicy {
        load_cap: Some(LoadCap {
            max: 2,
            period_days: 365,
        }),
        ..MatchPolicy::default()
    };
    let request = thai_request();
    let list = rank_among(&policy, &request, &experts, &engagements);
    let excluded: Vec<(i64, Filter)> = list
        .excluded
        .iter()
        .map(|e| (e.expert.0, e.filter))
        .collect();
    assert_eq!(excluded, [(1, Filter::LoadCap)]);
    assert_eq!(
        list.why_not(ExpertId(1)),
        "E-0001 was removed by the filter \"load cap\": 2 accepted or completed missions between 2024-11-03 and 2025-11-07; the cap is 2 per 365 days"
    );
    let membership = Membership::bundled();
    let index = MatchIndex::build(
        &experts,
        &engagements,
        Taxonomy::current(),
        &membership,
        d("2025-06-01"),
    );
    let hits = index.rank(&request, &policy, &membership, 10).unwrap().hits;
    let mut ids: Vec<i64> = hits.iter().map(|h| h.expert.0).collect();
    ids.sort();
    assert_eq!(ids, [2, 3]);
}

#[test]
fn equal_totals_rank_fewer_recent_missions_first_then_lower_id() {
    let experts: Vec<Expert> = (1..=4).map(|id| expert(id, "IDN")).collect();
    let engagements = [
        engagement(
            1,
            "IDN/R-1",
            ("2025-02-01", "2025-02-05"),
            EngagementState::Completed,
        ),
        engagement(
            1,
            "IDN/R-2",
            ("2025-04-01", "2025-04-05"),
            EngagementState::Completed,
        ),
        engagement(
            2,
            "IDN/R-3",
            ("2025-05-01", "2025-05-05"),
            EngagementState::Accepted,
        ),
        // More than a year before the mission: not recent.
        engagement(
            3,
            "IDN/R-4",
            ("2024-06-01", "2024-06-05"),
            EngagementState::Completed,
        ),
        // Proposed only: never a mission for rotation.
        engagement(
            4,
            "IDN/R-5",
            ("2025-05-01", "2025-05-05"),
            EngagementState::Proposed,
        ),
    ];
    // Without the rotation part the four totals tie, so only the rotation
    // key and then the id can order them.
    let policy = MatchPolicy {
        weights: matching::Weights {
            rotation: 0,
            ..matching::Weights::default()
        },
        ..MatchPolicy::default()
    };
    let list = rank_among(&policy, &thai_request(), &experts, &engagements);
    let order: Vec<(i64, u32)> = list
        .ranked
        .iter()
        .map(|r| (r.expert.0, r.recent_missions))
        .collect();
    assert_eq!(order, [(3, 0), (4, 0), (2, 1), (1, 2)]);
    let total = list.ranked[0].total;
    assert!(total > 0);
    assert!(list.ranked.iter().all(|r| r.total == total), "{list:?}");
}

/// The thematic part of `expert`'s score: fraction, points and sentence.
/// An organisation has no state of its own, so for a request from IOM the
/// region part rewards experience where the mission takes place: Fiji
/// itself, then the Pacific; for a state, its own experience counts even
/// when the mission is elsewhere.
#[test]
fn the_region_part_reads_the_place_when_an_organisation_asks() {
    let worked_in = |id: i64, country: &str| {
        let mut e = expert(id, "PHL");
        e.profile.experience[0].countries = vec![country.into()];
        e
    };
    let experts = [
        worked_in(1, "FJI"),
        worked_in(2, "PNG"),
        worked_in(3, "IDN"),
    ];
    let region_part = |list: &matching::Shortlist, id: i64| {
        let r = list.ranked.iter().find(|r| r.expert.0 == id).unwrap();
        let part = r
            .parts
            .iter()
            .find(|p| p.name == matching::PartName::Region)
            .unwrap();
        (part.fraction, part.explanation.clone())
    };
    let mut iom = thai_request();
    iom.requester = "IOM".into();
    iom.place = "FJI".into();
    let list = rank_with(&MatchPolicy::default(), &iom, &experts);
    assert_eq!(
        [1, 2, 3].map(|id| region_part(&list, id)),
        [
            (1000, "has worked in FJI".to_owned()),
            (
                500,
                "has worked in PNG, in the same region as FJI".to_owned()
            ),
            (0, "no experience recorded in FJI or its region".to_owned()),
        ]
    );
    // Indonesia asking for a mission in Fiji: Indonesian experience counts.
    let mut indonesia = iom.clone();
    indonesia.requester = "IDN".into();
    let list = rank_with(&MatchPolicy::default(), &indonesia, &experts);
    assert_eq!(
        region_part(&list, 3),
        (1000, "has worked in IDN".to_owned())
    );
    assert_eq!(region_part(&list, 1).0, 0);
    // The index agrees with the reference on both.
    let membership = Membership::bundled();
    let policy = MatchPolicy::default();
    let index = MatchIndex::build(
        &experts,
        &[],
        Taxonomy::current(),
        &membership,
        d("2025-06-01"),
    );
    for request in [&iom, &indonesia] {
        let fast = index.rank(request, &policy, &membership, 3).unwrap();
        let slow = rank_with(&policy, request, &experts);
        let fast: Vec<(ExpertId, u32)> = fast.hits.iter().map(|h| (h.expert, h.total)).collect();
        let slow: Vec<(ExpertId, u32)> = slow.ranked.iter().map(|r| (r.expert, r.total)).collect();
        assert_eq!(fast, slow);
    }
}

fn thematic_part(list: &matching::Shortlist, expert: i64) -> (u32, u32, String) {
    let ranked = list
        .ranked
        .iter()
        .find(|r| r.expert == ExpertId(expert))
        .unwrap();
    let part = &ranked.parts[0];
    assert_eq!(part.name, matching::PartName::Thematic);
    (part.fraction, part.points, part.explanation.clone())
}

fn with_field(id: i64, theme: &str) -> Expert {
    let mut e = expert(id, "IDN");
    e.profile.experience[0].themes = vec![theme.into()];
    e
}

#[test]
fn thematic_depth_is_exact_then_sub_field_then_broader_area() {
    let mut prosecution = thai_request();
    prosecution.themes = vec!["B.2.3".into()];
    let experts = [
        with_field(1, "B.2"),
        with_field(2, "B.2.3"),
        with_field(3, "J"),
    ];
    let list = rank_with(&MatchPolicy::default(), &prosecution, &experts);
    assert_eq!(
        thematic_part(&list, 1),
        (
            300,
            300 * 35,
            "of 1 requested field: 0 matched exactly, 0 through a sub-field, 1 through the broader area".into()
        )
    );
    assert_eq!(
        thematic_part(&list, 2),
        (
            1000,
            1000 * 35,
            "of 1 requested field: 1 matched exactly, 0 through a sub-field, 0 through the broader area".into()
        )
    );
    assert_eq!(thematic_part(&list, 3).0, 0);

    // A request for the sub-area, met by experience in one of its fields.
    let mut trafficking = thai_request();
    trafficking.themes = vec!["B.2".into()];
    let list = rank_with(
        &MatchPolicy::default(),
        &trafficking,
        &[with_field(4, "B.2.3")],
    );
    assert_eq!(
        thematic_part(&list, 4),
        (
            700,
            700 * 35,
            "of 1 requested field: 0 matched exactly, 1 through a sub-field, 0 through the broader area".into()
        )
    );
}

#[test]
fn why_not_says_where_a_ranked_expert_stands_or_that_it_was_not_considered() {
    let experts: Vec<Expert> = (1..=4).map(|id| expert(id, "IDN")).collect();
    let list = rank_with(&MatchPolicy::default(), &thai_request(), &experts);
    assert_eq!(ranked_ids(&list), [1, 2, 3, 4]);
    assert_eq!(
        list.why_not(ExpertId(1)),
        "E-0001 is proposed, ranked 1 of 4"
    );
    assert_eq!(
        list.why_not(ExpertId(3)),
        "E-0003 is proposed, ranked 3 of 4"
    );
    assert_eq!(
        list.why_not(ExpertId(4)),
        "E-0004 passed every filter but ranked 4 of 4, below the 3 wanted"
    );
    assert_eq!(
        list.why_not(ExpertId(99)),
        "E-0099 was not considered: not on the roster"
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

/// A memory store that remembers the key of every request it stored, so a
/// test can count the records a sequence of calls made. It lets other
/// tasks run before each engagement write, so that two calls polled
/// together both read before either writes.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    saved: Mutex<Vec<String>>,
}

impl Recording {
    fn saved(&self) -> Vec<String> {
        self.saved.lock().unwrap().clone()
    }
}

#[async_trait]
impl MissionStore for Recording {
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError> {
        let stored = self.inner.save_request(request).await?;
        if stored {
            self.saved.lock().unwrap().push(request.key());
        }
        Ok(stored)
    }

    async fn request(&self, key: &str) -> Result<Option<MissionRequest>, StoreError> {
        self.inner.request(key).await
    }

    async fn create_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        tokio::task::yield_now().await;
        self.inner.create_engagement(engagement).await
    }

    async fn update_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        tokio::task::yield_now().await;
        self.inner.update_engagement(engagement).await
    }

    async fn update_engagement_capped(
        &self,
        engagement: &Engagement,
        caps: Caps,
    ) -> Result<Engagement, StoreError> {
        tokio::task::yield_now().await;
        self.inner.update_engagement_capped(engagement, caps).await
    }

    async fn engagements(&self, expert: Option<ExpertId>) -> Result<Vec<Engagement>, StoreError> {
        self.inner.engagements(expert).await
    }
}

#[async_trait]
impl CallStore for Recording {
    async fn create_call(&self, call: &Call) -> Result<Call, StoreError> {
        self.inner.create_call(call).await
    }

    async fn update_call(&self, call: &Call) -> Result<Call, StoreError> {
        self.inner.update_call(call).await
    }

    async fn call(&self, year: i32) -> Result<Option<Call>, StoreError> {
        self.inner.call(year).await
    }
}

#[async_trait]
impl ExpertStore for Recording {
    async fn create_expert(&self, new: NewExpert, audit: AuditDraft) -> Result<Expert, StoreError> {
        self.inner.create_expert(new, audit).await
    }

    async fn expert(&self, id: ExpertId) -> Result<Option<Expert>, StoreError> {
        self.inner.expert(id).await
    }

    async fn expert_by_identity(&self, key: &str) -> Result<Option<Expert>, StoreError> {
        self.inner.expert_by_identity(key).await
    }

    async fn experts(&self) -> Result<Vec<Expert>, StoreError> {
        self.inner.experts().await
    }

    async fn experts_with_status(&self, status: Status) -> Result<Vec<Expert>, StoreError> {
        self.inner.experts_with_status(status).await
    }

    async fn update_expert(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Expert, StoreError> {
        self.inner.update_expert(expert, audit).await
    }

    async fn audit_trail(&self, expert: Option<ExpertId>) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_trail(expert).await
    }
}

#[async_trait]
impl InvitationStore for Recording {
    async fn issue_invitation(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
        invitation: &NewInvitation,
    ) -> Result<IssuedInvitation, StoreError> {
        self.inner.issue_invitation(expert, audit, invitation).await
    }

    async fn redeem_invitation(
        &self,
        token_hash: &str,
        email_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExpertId>, StoreError> {
        self.inner
            .redeem_invitation(token_hash, email_key, at)
            .await
    }

    async fn invitations(&self, expert: ExpertId) -> Result<Vec<Invitation>, StoreError> {
        self.inner.invitations(expert).await
    }
}

#[async_trait]
impl Outbox for Recording {
    async fn enqueue_reminder(
        &self,
        expert: ExpertId,
        term_last_day: NaiveDate,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        self.inner
            .enqueue_reminder(expert, term_last_day, address, at)
            .await
    }

    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner.pending(limit).await
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.mark_sent(id, at).await
    }
}

#[async_trait]
impl RevocationStore for Recording {
    async fn request_revocation(
        &self,
        request: &NewRevocationRequest,
    ) -> Result<RevocationRequest, StoreError> {
        self.inner.request_revocation(request).await
    }

    async fn revocation_request(&self, id: i64) -> Result<Option<RevocationRequest>, StoreError> {
        self.inner.revocation_request(id).await
    }

    async fn revocation_requests(
        &self,
        expert: Option<ExpertId>,
    ) -> Result<Vec<RevocationRequest>, StoreError> {
        self.inner.revocation_requests(expert).await
    }

    async fn decide_revocation(
        &self,
        id: i64,
        decision: &RevocationDecision,
        change: Option<(&Expert, AuditDraft)>,
    ) -> Result<RevocationRequest, StoreError> {
        self.inner.decide_revocation(id, decision, change).await
    }
}

/// A roster on a recording store with X, Y and Z imported as included for
/// 2026, and a load cap of 2 missions per rolling 365 days.
async fn xyz_roster() -> (Roster, Arc<Recording>, Vec<ExpertId>) {
    let store = Arc::new(Recording::default());
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
    let roster = Roster::new(store.clone())
        .with_clock(clock)
        .with_load_cap(LoadCap {
            max: 2,
            period_days: 365,
        })
        .unwrap();
    (roster, store, ids)
}

#[tokio::test]
async fn bl22_rotation_load_cap_and_idempotent_issues() {
    let (roster, store, ids) = xyz_roster().await;
    let thai = Actor::Participant("THA".into());
    let mut heads = Vec::new();
    for n in 1..=6 {
        let req = monthly(n);
        let preview = if n == 3 {
            Some(previews_record_nothing(&roster, &store, &req).await)
        } else {
            None
        };
        let list = roster.match_request(&thai, req.clone()).await.unwrap();
        if n == 3 {
            assert_eq!(Some(&list), preview.as_ref());
            let again = roster.match_request(&thai, req.clone()).await.unwrap();
            assert_eq!(again, list);
            issuing_again_keeps_one_record(&roster, &store, &req).await;
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
    // One record per request issued, each once.
    let keys: Vec<String> = (1..=6).map(|n| format!("THA/THA-2026-{n:02}")).collect();
    assert_eq!(store.saved(), keys);
    // Load counts each confirmed assignment once.
    let engagements = store.engagements(None).await.unwrap();
    assert_eq!(engagements.len(), 6);
    assert!(
        engagements
            .iter()
            .all(|e| e.state == EngagementState::Accepted)
    );

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

/// Two accepts for one expert at once, on missions a month apart under a
/// cap of one per 365 days: both pass the ranking before either writes,
/// and the store, checking the cap as it writes, refuses the second with
/// an error on `expert` that gives the cap and the full period.
#[tokio::test]
async fn accepts_at_once_for_one_expert_keep_the_load_cap() {
    let (roster, store, ids) = xyz_roster().await;
    let roster = roster
        .with_load_cap(LoadCap {
            max: 1,
            period_days: 365,
        })
        .unwrap();
    let thai = Actor::Participant("THA".into());
    let x = ids[0];
    let (may, june) = (monthly(1), monthly(2));
    for req in [&may, &june] {
        roster.match_request(&thai, req.clone()).await.unwrap();
        roster.propose(&rso(), "THA", &req.id, x).await.unwrap();
    }
    let (a, b) = tokio::join!(
        roster.accept(&thai, "THA", &may.id, x),
        roster.accept(&thai, "THA", &june.id, x)
    );
    // Which one writes first is up to the scheduler; either way the full
    // period runs 365 days back from 1 June through 5 June.
    let (winner, loser, refused) = match (a, b) {
        (Ok(won), Err(RosterError::Validation(e))) => (won, &june, e),
        (Err(RosterError::Validation(e)), Ok(won)) => (won, &may, e),
        other => panic!("expected one accept and one refusal on a field, got {other:?}"),
    };
    assert_eq!(winner.state, EngagementState::Accepted);
    assert_eq!(refused.field.as_str(), "expert");
    assert_eq!(
        refused.message,
        format!(
            "{x} was removed by the filter \"load cap\": 1 accepted or completed mission \
             between 2025-06-01 and 2026-06-05; the cap is 1 per 365 days"
        )
    );
    let held: Vec<(String, EngagementState, u64)> = store
        .engagements(Some(x))
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.request_id, e.state, e.version))
        .collect();
    let mut want = vec![
        (winner.request_id.clone(), EngagementState::Accepted, 2),
        (loser.key(), EngagementState::Proposed, 1),
    ];
    want.sort_by(|p, q| p.0.cmp(&q.0));
    assert_eq!(held, want);
}

/// A request accepts no more experts than it wants: with X accepted on a
/// request for one expert, accepting Y, alone or at the same time as X, is
/// an error on `expert` that says so, and Y stays proposed; once X
/// declines, Y's acceptance goes through.
#[tokio::test]
async fn a_request_accepts_no_more_experts_than_it_wants() {
    let (roster, store, ids) = xyz_roster().await;
    let thai = Actor::Participant("THA".into());
    let (x, y) = (ids[0], ids[1]);
    let may = monthly(1);
    roster.match_request(&thai, may.clone()).await.unwrap();
    for expert in [x, y] {
        roster
            .propose(&rso(), "THA", &may.id, expert)
            .await
            .unwrap();
    }
    let filled = |expert: ExpertId| {
        format!(
            "THA/THA-2026-01 wants 1 expert and already has it; decline one before accepting {expert}"
        )
    };
    // At once: the store, checking the demand as it writes, lets one in.
    let (a, b) = tokio::join!(
        roster.accept(&thai, "THA", &may.id, x),
        roster.accept(&thai, "THA", &may.id, y)
    );
    let (winner, loser, refused) = match (a, b) {
        (Ok(won), Err(RosterError::Validation(e))) => (won.expert, y, e),
        (Err(RosterError::Validation(e)), Ok(won)) => (won.expert, x, e),
        other => panic!("expected one accept and one refusal on a field, got {other:?}"),
    };
    assert_eq!(refused.field.as_str(), "expert");
    assert_eq!(refused.message, filled(loser));
    // One after the other: the same refusal.
    let again = roster
        .accept(&thai, "THA", &may.id, loser)
        .await
        .unwrap_err();
    assert!(
        matches!(&again, RosterError::Validation(e) if e.message == filled(loser)),
        "{again:?}"
    );
    let states = |engagements: Vec<Engagement>| -> Vec<(ExpertId, EngagementState)> {
        engagements
            .into_iter()
            .map(|e| (e.expert, e.state))
            .collect()
    };
    let mut want = vec![
        (winner, EngagementState::Accepted),
        (loser, EngagementState::Proposed),
    ];
    want.sort_by_key(|w| w.0);
    assert_eq!(states(store.engagements(None).await.unwrap()), want);

    roster
        .decline_engagement(&thai, "THA", &may.id, winner)
        .await
        .unwrap();
    let accepted = roster.accept(&thai, "THA", &may.id, loser).await.unwrap();
    assert_eq!(accepted.state, EngagementState::Accepted);
    let mut want = vec![
        (winner, EngagementState::Declined),
        (loser, EngagementState::Accepted),
    ];
    want.sort_by_key(|w| w.0);
    assert_eq!(states(store.engagements(None).await.unwrap()), want);
}

/// The outcomes of two calls polled together, which must both succeed with
/// the same engagement.
async fn both<F>(a: F, b: F) -> Engagement
where
    F: std::future::Future<Output = Result<Engagement, RosterError>>,
{
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    a
}

/// The same call twice at once, as a double submission or a retry sends
/// it: both read before either writes, and both get the answer the first
/// one got, for proposing, accepting, declining and completing alike. Two accepts of
/// one expert on overlapping days at once: one is booked, the other is
/// refused on `expert` with the reason the ranking now gives.
#[tokio::test]
async fn calls_at_once_on_one_engagement_agree() {
    let (roster, store, ids) = xyz_roster().await;
    let thai = Actor::Participant("THA".into());
    let x = ids[0];
    let may = monthly(1);
    roster.match_request(&thai, may.clone()).await.unwrap();

    let office = rso();
    let a = both(
        roster.propose(&office, "THA", &may.id, x),
        roster.propose(&office, "THA", &may.id, x),
    )
    .await;
    assert_eq!((a.state, a.version), (EngagementState::Proposed, 1));
    let a = both(
        roster.accept(&thai, "THA", &may.id, x),
        roster.accept(&thai, "THA", &may.id, x),
    )
    .await;
    assert_eq!((a.state, a.version), (EngagementState::Accepted, 2));
    let a = both(
        roster.decline_engagement(&thai, "THA", &may.id, x),
        roster.decline_engagement(&thai, "THA", &may.id, x),
    )
    .await;
    assert_eq!((a.state, a.version), (EngagementState::Declined, 3));
    assert_eq!(store.engagements(Some(x)).await.unwrap(), [a]);
    // Proposed again after the decline, twice at once.
    let a = both(
        roster.propose(&office, "THA", &may.id, x),
        roster.propose(&office, "THA", &may.id, x),
    )
    .await;
    assert_eq!((a.state, a.version), (EngagementState::Proposed, 4));

    // Completing twice at once, on Y's June mission: both answered with the
    // completion recorded, its feedback once.
    let (y, june) = (ids[1], monthly(2));
    roster.match_request(&thai, june.clone()).await.unwrap();
    roster.propose(&office, "THA", &june.id, y).await.unwrap();
    roster.accept(&thai, "THA", &june.id, y).await.unwrap();
    let rating = || {
        Some(Feedback {
            rating: 4,
            comment: None,
        })
    };
    let after = roster.clone().with_clock(Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 6, 6, 3, 0, 0).unwrap(),
    )));
    let a = both(
        after.complete(&office, "THA", &june.id, y, None),
        after.complete(&office, "THA", &june.id, y, None),
    )
    .await;
    assert_eq!(
        (a.state, a.version, a.feedback.as_ref()),
        (EngagementState::Completed, 3, None)
    );
    // Feedback added by completing again, twice at once: recorded once.
    let a = both(
        after.complete(&office, "THA", &june.id, y, rating()),
        after.complete(&office, "THA", &june.id, y, rating()),
    )
    .await;
    assert_eq!(a.version, 4);
    assert_eq!(a.feedback.as_ref().map(|f| f.rating), Some(4));

    // Two requests on the same days, X proposed on both.
    let mut same_days = monthly(1);
    same_days.id = "THA-2026-01-B".into();
    roster
        .match_request(&thai, same_days.clone())
        .await
        .unwrap();
    for req in [&may, &same_days] {
        roster.propose(&rso(), "THA", &req.id, x).await.unwrap();
    }
    let (a, b) = tokio::join!(
        roster.accept(&thai, "THA", &may.id, x),
        roster.accept(&thai, "THA", &same_days.id, x)
    );
    let (winner, refused) = match (a, b) {
        (Ok(won), Err(RosterError::Validation(e))) => (won, e),
        (Err(RosterError::Validation(e)), Ok(won)) => (won, e),
        other => panic!("expected one accept and one refusal on a field, got {other:?}"),
    };
    assert_eq!(refused.field.as_str(), "expert");
    assert_eq!(
        refused.message,
        format!(
            "{x} was removed by the filter \"engaged\": engaged on mission {} from \
             2026-05-01 to 2026-05-05",
            winner.request_id
        )
    );
}

/// Previews `req` twice and checks that neither stored anything: the
/// request is unknown to `propose` and the engagements are as they were.
/// Returns the preview.
async fn previews_record_nothing(
    roster: &Roster,
    store: &Recording,
    req: &MissionRequest,
) -> matching::Shortlist {
    let thai = Actor::Participant("THA".into());
    let saved = store.saved();
    let engagements = store.engagements(None).await.unwrap();
    let a = roster.preview(&thai, req.clone()).await.unwrap();
    let b = roster.preview(&thai, req.clone()).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(store.saved(), saved);
    assert_eq!(store.request(&req.key()).await.unwrap(), None);
    assert_eq!(store.engagements(None).await.unwrap(), engagements);
    let err = roster
        .propose(&rso(), "THA", &req.id, a.ranked[0].expert)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RosterError::Store(StoreError::NotFound { entity: "request", id })
                if *id == req.key()
        ),
        "{err:?}"
    );
    assert_eq!(store.engagements(None).await.unwrap(), engagements);
    a
}

/// Checks that `req`, issued twice, is stored once and unchanged, and that
/// different content under its id is refused naming `id`.
async fn issuing_again_keeps_one_record(roster: &Roster, store: &Recording, req: &MissionRequest) {
    let key = req.key();
    let records = store.saved().iter().filter(|k| **k == key).count();
    assert_eq!(records, 1);
    assert_eq!(store.request(&key).await.unwrap().as_ref(), Some(req));

    let mut changed = req.clone();
    changed.experts_wanted = 2;
    let err = roster
        .match_request(&Actor::Participant("THA".into()), changed)
        .await
        .unwrap_err();
    let RosterError::Validation(e) = &err else {
        panic!("expected a validation error, got {err:?}");
    };
    assert_eq!(e.field.as_str(), "id");
    assert_eq!(
        e.message,
        "request `THA-2026-03` was already issued with different content; issue the change under a new id"
    );
    assert_eq!(store.request(&key).await.unwrap().as_ref(), Some(req));
    assert_eq!(store.saved().iter().filter(|k| **k == key).count(), 1);
}

#[tokio::test]
async fn every_engagement_change_moves_its_version_on_by_one() {
    let (roster, _, _) = xyz_roster().await;
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
    let (roster, store, _) = xyz_roster().await;
    let thai = request("R-1", &["B.2"]);
    let mut indonesian = thai.clone();
    indonesian.requester = "IDN".into();
    indonesian.title = "Another mission".into();
    roster.match_request(&rso(), thai.clone()).await.unwrap();
    roster.match_request(&rso(), indonesian).await.unwrap();
    // The Thai request is unchanged, so issuing it again is accepted.
    roster.match_request(&rso(), thai).await.unwrap();
    assert_eq!(store.saved(), ["THA/R-1", "IDN/R-1"]);
}

/// A policy that would rank nothing, or rank inexactly, is refused when
/// the roster is set up, naming its field: weights that add up to 0 or to
/// more than keeps every total exact (custom parts' included), and a load
/// cap of 0 missions or 0 days.
#[test]
fn a_policy_that_cannot_rank_is_refused_naming_its_field() {
    let roster = || Roster::new(Arc::new(MemoryStore::new()));
    let zero = matching::Weights {
        thematic: 0,
        years: 0,
        competencies: 0,
        languages: 0,
        region: 0,
        rotation: 0,
    };
    let refusal = |result: Result<Roster, RosterError>| match result {
        Err(RosterError::Validation(e)) => (e.field.to_string(), e.message),
        Err(other) => panic!("expected one field's error, got {other:?}"),
        Ok(_) => panic!("expected a refusal"),
    };
    assert_eq!(
        refusal(roster().with_weights(zero)),
        (
            "weights".to_owned(),
            "every weight is 0, so every expert would score 0; give at least one part a weight"
                .to_owned()
        )
    );
    // At the bound every total is exact; one more could saturate.
    let at_bound = matching::Weights {
        thematic: 4_294_967,
        ..zero
    };
    assert_eq!(matching::MAX_WEIGHT_SUM, 4_294_967);
    assert!(roster().with_weights(at_bound).is_ok());
    let over = matching::Weights {
        rotation: 1,
        ..at_bound
    };
    assert_eq!(
        refusal(roster().with_weights(over)).1,
        "add up to 4294968; at most 4294967 keeps every total exact \
         (each part earns up to 1000 points per unit of weight)"
    );
    let max = matching::Weights {
        thematic: u32::MAX,
        years: u32::MAX,
        competencies: u32::MAX,
        languages: u32::MAX,
        region: u32::MAX,
        rotation: u32::MAX,
    };
    assert!(
        refusal(roster().with_weights(max))
            .1
            .starts_with("add up to 25769803770;")
    );
    // A custom part's weight counts: added first, it lets the built-in
    // weights be 0; added on top of a full sum, it is refused.
    let custom = Arc::new(Table(vec![]));
    assert!(
        roster()
            .with_custom_part(custom.clone(), 10)
            .unwrap()
            .with_weights(zero)
            .is_ok()
    );
    let full = roster().with_weights(at_bound).unwrap();
    assert_eq!(
        refusal(full.with_custom_part(custom, 1)).0,
        "weights".to_owned()
    );

    let empty = LoadCap {
        max: 0,
        period_days: 0,
    };
    match roster().with_load_cap(empty) {
        Err(RosterError::Invalid(errors)) => {
            let found: Vec<(String, String)> = errors
                .iter()
                .map(|e| (e.field.to_string(), e.message.clone()))
                .collect();
            assert_eq!(
                found,
                [
                    (
                        "load_cap.max".to_owned(),
                        "is 0, which would remove every expert; allow at least 1 mission in \
                         the period"
                            .to_owned()
                    ),
                    (
                        "load_cap.period_days".to_owned(),
                        "is 0; the rolling period is at least 1 day".to_owned()
                    ),
                ]
            );
        }
        other => panic!("expected both fields of the cap, got {:?}", other.err()),
    }
    assert!(
        roster()
            .with_load_cap(LoadCap {
                max: 1,
                period_days: 1
            })
            .is_ok()
    );
}
