//! Post-mission feedback through the facade: recorded when a mission is
//! completed or later, validated field by field, and never replaced.

mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::{d, profile, request, rso};
use roster_core::clock::{Clock, FixedClock};
use roster_core::lifecycle::AuditDraft;
use roster_core::model::{DateRange, Engagement, EngagementState, Feedback, MissionFeedback};
use roster_core::store::{ExpertStore, NewExpert};
use roster_core::{
    Actor, ExpertId, MemoryStore, MissionRequest, Roster, RosterError, Status, Term,
};

/// A roster on memory, on 2026-04-15, with one expert included for 2026.
async fn roster() -> (Roster, Arc<FixedClock>, ExpertId) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 15, 3, 0, 0).unwrap(),
    ));
    let new = NewExpert {
        status: Status::Included,
        profile: profile("Ana", "ana@example.org", &["B.2"], "2010-01-01"),
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
    let id = store.create_expert(new, audit).await.unwrap().id;
    let roster = Roster::new(store).with_clock(clock.clone());
    (roster, clock, id)
}

/// A Thai request for May 2026, issued.
async fn issued(roster: &Roster, id: &str, first: &str) -> MissionRequest {
    let mut req = request(id, &["B.2"]);
    req.window = DateRange {
        first: d(first),
        last: d(first) + chrono::Days::new(4),
    };
    req.experts_wanted = 1;
    roster.match_request(&thai(), req.clone()).await.unwrap();
    req
}

/// `req`, issued, with `expert` proposed and accepted; then the clock moves
/// to 03:00 on the mission's first day, from which it may be completed.
async fn accepted(
    roster: &Roster,
    clock: &FixedClock,
    req: &MissionRequest,
    expert: ExpertId,
) -> Engagement {
    roster
        .propose(&rso(), "THA", &req.id, expert)
        .await
        .unwrap();
    let engagement = roster
        .accept(&thai(), "THA", &req.id, expert)
        .await
        .unwrap();
    clock.set(Utc.from_utc_datetime(&req.window.first.and_hms_opt(3, 0, 0).unwrap()));
    engagement
}

fn thai() -> Actor {
    Actor::Participant("THA".into())
}

fn feedback(rating: u8, comment: Option<&str>) -> Feedback {
    Feedback {
        rating,
        comment: comment.map(Into::into),
    }
}

/// The field of a single validation error, or a panic naming the error.
fn field_of(err: RosterError) -> String {
    match err {
        RosterError::Validation(e) => e.field.to_string(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn stored(roster: &Roster, req: &MissionRequest, expert: ExpertId) -> Engagement {
    // Completing a completed engagement without feedback returns it as stored.
    roster
        .complete(&rso(), "THA", &req.id, expert, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn ratings_outside_one_to_five_are_refused_naming_feedback_rating() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    let before = accepted(&roster, &clock, &req, ana).await;

    for rating in [0, 6] {
        let err = roster
            .complete(&rso(), "THA", &req.id, ana, Some(feedback(rating, None)))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "feedback.rating: is {rating}; a rating runs from 1 (unsatisfactory) to 5 (outstanding)"
            )
        );
        assert_eq!(field_of(err), "feedback.rating");
    }
    // Nothing was completed by the refused calls.
    let again = roster.accept(&thai(), "THA", &req.id, ana).await.unwrap();
    assert_eq!(again, before);

    let done = roster
        .complete(&rso(), "THA", &req.id, ana, None)
        .await
        .unwrap();
    for rating in [0, 6] {
        let err = roster
            .record_feedback(&rso(), "THA", &req.id, ana, feedback(rating, Some("ok")))
            .await
            .unwrap_err();
        assert_eq!(field_of(err), "feedback.rating");
    }
    assert_eq!(stored(&roster, &req, ana).await, done);
}

#[tokio::test]
async fn a_bad_rating_and_a_bad_comment_are_both_reported() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    accepted(&roster, &clock, &req, ana).await;
    let err = roster
        .complete(
            &rso(),
            "THA",
            &req.id,
            ana,
            Some(feedback(9, Some("fine\u{202E}enif"))),
        )
        .await
        .unwrap_err();
    let RosterError::Invalid(errors) = err else {
        panic!("expected every invalid field, got {err:?}");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["feedback.rating", "feedback.comment"]);
    assert_eq!(
        errors[1].message,
        "contains the control character U+202E, which is not allowed"
    );
}

#[tokio::test]
async fn feedback_on_an_engagement_not_completed_is_refused() {
    let (roster, _, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    let good = || feedback(4, Some("Clear and practical advice"));

    // Never proposed.
    let err = roster
        .record_feedback(&rso(), "THA", &req.id, ana, good())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "expert: {ana} was never proposed for THA/THA-2026-05, so cannot be given feedback"
        )
    );

    let proposed = roster.propose(&rso(), "THA", &req.id, ana).await.unwrap();
    let err = roster
        .record_feedback(&rso(), "THA", &req.id, ana, good())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "state: the engagement of {ana} on THA/THA-2026-05 is proposed; feedback is recorded only once the mission is completed"
        )
    );
    assert_eq!(field_of(err), "state");

    let accepted = roster.accept(&thai(), "THA", &req.id, ana).await.unwrap();
    assert_eq!(accepted.version, proposed.version + 1);
    let err = roster
        .record_feedback(&rso(), "THA", &req.id, ana, good())
        .await
        .unwrap_err();
    assert_eq!(field_of(err), "state");

    let declined = roster
        .decline_engagement(&thai(), "THA", &req.id, ana)
        .await
        .unwrap();
    let err = roster
        .record_feedback(&rso(), "THA", &req.id, ana, good())
        .await
        .unwrap_err();
    assert_eq!(field_of(err), "state");
    // A declined engagement cannot be completed either, with or without
    // feedback, and stays as it was.
    let err = roster
        .complete(&rso(), "THA", &req.id, ana, Some(good()))
        .await
        .unwrap_err();
    assert_eq!(field_of(err), "state");
    let again = roster
        .decline_engagement(&thai(), "THA", &req.id, ana)
        .await
        .unwrap();
    assert_eq!(again, declined);
    assert_eq!(again.feedback, None);
}

#[tokio::test]
async fn completing_records_who_gave_feedback_and_when() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    let before = accepted(&roster, &clock, &req, ana).await;
    clock.set(Utc.with_ymd_and_hms(2026, 5, 12, 2, 30, 0).unwrap());

    // The comment arrives decomposed and padded; it is kept in NFC.
    let officer = Actor::Rso("officer-7".into());
    let done = roster
        .complete(
            &officer,
            "THA",
            &req.id,
            ana,
            Some(feedback(5, Some("  Chị Nguye\u{302}\u{303}n: ดีมาก  "))),
        )
        .await
        .unwrap();
    assert_eq!(done.state, EngagementState::Completed);
    assert_eq!(done.version, before.version + 1);
    assert_eq!(
        done.feedback,
        Some(MissionFeedback {
            rating: 5,
            comment: Some("Chị Nguyễn: ดีมาก".into()),
            recorded_by: "rso:officer-7".into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 5, 12, 2, 30, 0).unwrap(),
        })
    );
    assert_eq!(stored(&roster, &req, ana).await, done);
}

#[tokio::test]
async fn completing_again_changes_nothing() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    accepted(&roster, &clock, &req, ana).await;
    let done = roster
        .complete(
            &rso(),
            "THA",
            &req.id,
            ana,
            Some(feedback(4, Some("Helpful"))),
        )
        .await
        .unwrap();

    clock.set(Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap());
    let officer = Actor::Rso("officer-2".into());
    // The same feedback again, even from another officer, and no feedback
    // at all: the stored engagement, same version, same recorder and time.
    let same = roster
        .complete(
            &officer,
            "THA",
            &req.id,
            ana,
            Some(feedback(4, Some("Helpful"))),
        )
        .await
        .unwrap();
    assert_eq!(same, done);
    let bare = roster
        .complete(&officer, "THA", &req.id, ana, None)
        .await
        .unwrap();
    assert_eq!(bare, done);
    let recorded = roster
        .record_feedback(
            &officer,
            "THA",
            &req.id,
            ana,
            feedback(4, Some(" Helpful ")),
        )
        .await
        .unwrap();
    assert_eq!(recorded, done);

    // Completing without feedback twice leaves the feedback empty.
    let july = issued(&roster, "THA-2026-07", "2026-07-06").await;
    accepted(&roster, &clock, &july, ana).await;
    let first = roster
        .complete(&rso(), "THA", &july.id, ana, None)
        .await
        .unwrap();
    let second = roster
        .complete(&rso(), "THA", &july.id, ana, None)
        .await
        .unwrap();
    assert_eq!(second, first);
    assert_eq!(second.feedback, None);
}

#[tokio::test]
async fn feedback_may_follow_the_completion() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    accepted(&roster, &clock, &req, ana).await;
    let done = roster
        .complete(&rso(), "THA", &req.id, ana, None)
        .await
        .unwrap();
    assert_eq!(done.feedback, None);

    clock.set(Utc.with_ymd_and_hms(2026, 5, 20, 4, 0, 0).unwrap());
    let with = roster
        .record_feedback(&rso(), "THA", &req.id, ana, feedback(3, None))
        .await
        .unwrap();
    assert_eq!(with.version, done.version + 1);
    assert_eq!(with.state, EngagementState::Completed);
    assert_eq!(
        with.feedback,
        Some(MissionFeedback {
            rating: 3,
            comment: None,
            recorded_by: "rso:officer-1".into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 5, 20, 4, 0, 0).unwrap(),
        })
    );
    assert_eq!(stored(&roster, &req, ana).await, with);

    // Completing with feedback where none is recorded records it too.
    let july = issued(&roster, "THA-2026-07", "2026-07-06").await;
    accepted(&roster, &clock, &july, ana).await;
    let bare = roster
        .complete(&rso(), "THA", &july.id, ana, None)
        .await
        .unwrap();
    let late = roster
        .complete(
            &rso(),
            "THA",
            &july.id,
            ana,
            Some(feedback(2, Some("Late"))),
        )
        .await
        .unwrap();
    assert_eq!(late.version, bare.version + 1);
    assert_eq!(late.feedback.map(|f| f.rating), Some(2));
}

#[tokio::test]
async fn recorded_feedback_is_never_replaced() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    accepted(&roster, &clock, &req, ana).await;
    let done = roster
        .complete(
            &rso(),
            "THA",
            &req.id,
            ana,
            Some(feedback(4, Some("Helpful"))),
        )
        .await
        .unwrap();

    for different in [
        feedback(2, Some("Helpful")),
        feedback(4, Some("Very helpful")),
        feedback(4, None),
    ] {
        let err = roster
            .complete(&rso(), "THA", &req.id, ana, Some(different.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "feedback: the engagement of {ana} on THA/THA-2026-05 already has feedback, recorded at 2026-05-04T03:00:00+00:00; recorded feedback is never replaced"
            )
        );
        let err = roster
            .record_feedback(&rso(), "THA", &req.id, ana, different)
            .await
            .unwrap_err();
        assert_eq!(field_of(err), "feedback");
    }
    assert_eq!(stored(&roster, &req, ana).await, done);
}

#[tokio::test]
async fn only_the_rso_records_feedback() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    accepted(&roster, &clock, &req, ana).await;
    for actor in [thai(), Actor::Expert(ana)] {
        let err = roster
            .complete(&actor, "THA", &req.id, ana, Some(feedback(5, None)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RosterError::Forbidden { .. }),
            "complete as {actor}: {err:?}"
        );
    }
    let done = roster
        .complete(&rso(), "THA", &req.id, ana, None)
        .await
        .unwrap();
    let err = roster
        .record_feedback(&thai(), "THA", &req.id, ana, feedback(5, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant:THA may not record post-mission feedback"
    );
    assert_eq!(stored(&roster, &req, ana).await, done);
}

#[tokio::test]
async fn a_mission_is_completed_from_its_first_day() {
    let (roster, clock, ana) = roster().await;
    let req = issued(&roster, "THA-2026-05", "2026-05-04").await;
    roster.propose(&rso(), "THA", &req.id, ana).await.unwrap();
    let booked = roster.accept(&thai(), "THA", &req.id, ana).await.unwrap();
    // The day before the mission, at its last minute in Bangkok, where the
    // roster keeps its days: refused, and the engagement stays accepted
    // without feedback.
    clock.set(Utc.with_ymd_and_hms(2026, 5, 3, 16, 59, 0).unwrap());
    let err = roster
        .complete(&rso(), "THA", &req.id, ana, Some(feedback(5, None)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "state: the mission of {ana} on THA/THA-2026-05 starts on 2026-05-04, and today is \
             2026-05-03; a mission is recorded as completed from its first day"
        )
    );
    let again = roster.accept(&thai(), "THA", &req.id, ana).await.unwrap();
    assert_eq!(again, booked);
    // From the first day on, even a mission cut short before its last day.
    clock.set(Utc.with_ymd_and_hms(2026, 5, 3, 17, 0, 0).unwrap());
    let done = roster
        .complete(&rso(), "THA", &req.id, ana, None)
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.version),
        (EngagementState::Completed, booked.version + 1)
    );
}
