//! One storage suite for every adapter.
//!
//! Each check is an async function that takes a fresh, empty store and
//! panics when the store breaks a promise of the [storage traits](crate::store).
//! The [`conformance_tests!`](crate::conformance_tests) macro turns every
//! check into a `#[tokio::test]`, so an adapter runs the whole suite, unchanged,
//! with one line in its tests:
//!
//! ```
//! use std::sync::Arc;
//! use roster_core::MemoryStore;
//!
//! roster_core::conformance_tests!(async || Arc::new(MemoryStore::new()));
//! # fn main() {}
//! ```
//!
//! The factory is called once per check and returns a [`Fixture`]: an
//! `Arc` of the store, or a pair of the store and whatever must outlive it
//! (a temporary directory), or a type of the adapter's own. It may also
//! return an `Option` of one, `None` skipping the check, for a database
//! server that is not configured on this machine. The calling crate
//! needs `tokio` with the `macros` and `rt` features among its
//! dev-dependencies.
//!
//! Stores keep instants to the microsecond (the resolution of PostgreSQL's
//! `timestamptz`), so the suite's instants are whole microseconds.
//!
//! Checks report a failure by panicking, as tests do: every `expect` and
//! `panic!` in this module is an assertion.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::StoreError;
use crate::language::Level;
use crate::lifecycle::{AuditDraft, AuditEntry, ChainReport, GENESIS, Status, Term, verify_chain};
use crate::matching::{CapBreach, LoadCap};
use crate::model::{
    Availability, Call, DateRange, Engagement, EngagementState, ExperiencePeriod, Expert, ExpertId,
    LanguageSkill, MissionFeedback, MissionRequest, NameOrder, NominationRecord, Organisation,
    PersonName, Profile, Referee, Sector,
};
use crate::store::{
    Caps, Invitation, NewExpert, NewInvitation, NewRevocationRequest, Notice, OutboxMessage,
    RevocationDecision, Store,
};

/// What one check runs against: a store, and whatever must live as long
/// as the store does.
pub trait Fixture {
    /// The store under test.
    fn store(&self) -> &dyn Store;

    /// Cleans up after a check that passed (a failed check leaves its data
    /// behind for inspection). Does nothing by default.
    fn finish(self) -> impl Future<Output = ()>
    where
        Self: Sized,
    {
        async {}
    }
}

impl<S: Store> Fixture for Arc<S> {
    fn store(&self) -> &dyn Store {
        &**self
    }
}

impl Fixture for Arc<dyn Store> {
    fn store(&self) -> &dyn Store {
        &**self
    }
}

/// A store and a guard, such as the temporary directory of a database file,
/// that is dropped after the check.
impl<F: Fixture, G> Fixture for (F, G) {
    fn store(&self) -> &dyn Store {
        self.0.store()
    }

    async fn finish(self) {
        self.0.finish().await;
    }
}

/// What a factory returns: a [`Fixture`], or an `Option` of one where
/// `None` skips the check (a database server that is not configured).
pub trait Setup {
    /// The fixture, when there is one.
    type Fixture: Fixture;

    /// The fixture to run a check against, or `None` to skip it.
    fn ready(self) -> Option<Self::Fixture>;
}

impl<F: Fixture> Setup for F {
    type Fixture = F;

    fn ready(self) -> Option<F> {
        Some(self)
    }
}

impl<F: Fixture> Setup for Option<F> {
    type Fixture = F;

    fn ready(self) -> Option<F> {
        self
    }
}

/// Expands to one `#[tokio::test]` per check of
/// [`roster_core::conformance`](crate::conformance), each running against a
/// fresh store from `$factory`.
///
/// `$factory` is called with no argument and returns a future of a
/// [`Fixture`], or of an `Option` of one where `None` skips the check: an
/// async closure or the path of an async function.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests! {
            $factory;
            empty_store_reads_nothing,
            expert_round_trip_keeps_every_field,
            names_in_any_script_round_trip,
            expert_ids_ascend,
            create_with_taken_identity_is_duplicate,
            concurrent_creates_of_one_identity_store_one,
            update_increments_version_and_audits_once,
            update_without_audit_writes_no_entry,
            stale_update_is_conflict_and_changes_nothing,
            concurrent_updates_of_one_version_store_one,
            update_of_missing_expert_is_not_found,
            identity_change_onto_another_expert_is_duplicate,
            identity_change_frees_the_old_key,
            experts_with_status_filters_and_orders,
            audit_trail_counts_from_one_without_gaps,
            create_call_stores_version_one_and_refuses_a_taken_year,
            update_call_bumps_the_version_and_refuses_stale_or_missing,
            save_request_keeps_the_first_version,
            create_engagement_stores_version_one_and_refuses_a_second,
            update_engagement_bumps_the_version,
            stale_engagement_update_is_conflict_and_changes_nothing,
            update_of_missing_engagement_is_not_found,
            overlapping_blocking_engagements_are_refused,
            non_blocking_engagements_may_overlap,
            concurrent_overlapping_engagements_store_one,
            capped_update_refuses_a_full_period_and_changes_nothing,
            concurrent_capped_accepts_store_one,
            capped_update_refuses_a_filled_request_and_changes_nothing,
            concurrent_accepts_on_a_filled_request_store_what_it_wants,
            engagements_filter_and_order,
            engagement_needs_a_stored_expert_and_request,
            completed_engagement_without_feedback_reads_none,
            feedback_round_trips_exactly,
            stale_feedback_update_keeps_the_recorded_feedback,
            invitation_is_issued_with_its_message_and_replaces_the_older,
            stale_invitation_issue_is_conflict_and_changes_nothing,
            redemption_checks_address_use_cancellation_and_expiry,
            concurrent_redemptions_of_one_token_succeed_once,
            reminders_are_queued_once_per_term_and_marked_sent,
            revocation_requests_and_decisions_are_kept,
            stale_revocation_decision_changes_nothing,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some(fixture) = $crate::conformance::Setup::ready(($factory)().await) else {
                    return;
                };
                $crate::conformance::$check($crate::conformance::Fixture::store(&fixture)).await;
                $crate::conformance::Fixture::finish(fixture).await;
            }
        )+
    };
}

/// A new store holds no call, expert, audit entry, request or engagement.
pub async fn empty_store_reads_nothing(store: &dyn Store) {
    assert_eq!(ok(store.call(2025).await, "call"), None);
    assert_eq!(ok(store.expert(ExpertId(1)).await, "expert"), None);
    assert_eq!(
        ok(
            store.expert_by_identity("a@example.org").await,
            "expert_by_identity"
        ),
        None
    );
    assert!(ok(store.experts().await, "experts").is_empty());
    for status in Status::ALL {
        let found = ok(
            store.experts_with_status(status).await,
            "experts_with_status",
        );
        assert!(
            found.is_empty(),
            "experts with status {status} in an empty store"
        );
    }
    assert!(ok(store.audit_trail(None).await, "audit_trail").is_empty());
    assert!(ok(store.audit_trail(Some(ExpertId(1))).await, "audit_trail").is_empty());
    assert_eq!(ok(store.request("KHM/R-1").await, "request"), None);
    assert!(ok(store.engagements(None).await, "engagements").is_empty());
}

/// An expert with every field populated comes back identical from every
/// read, after creation and after an update that sets the CV and term.
pub async fn expert_round_trip_keeps_every_field(store: &dyn Store) {
    let new = NewExpert {
        status: Status::Included,
        profile: full_profile(),
        nominations: vec![
            NominationRecord {
                call_year: 2025,
                nominator: "THA".into(),
                received_at: at("2025-03-01T02:03:04.123456Z"),
            },
            NominationRecord {
                call_year: 2025,
                nominator: "IOM".into(),
                received_at: at("2025-03-02T23:59:59.999999Z"),
            },
        ],
        term: Some(Term::starting(day("2024-02-29"))),
    };
    let created = ok(
        store
            .create_expert(new.clone(), created_as(Status::Included))
            .await,
        "create_expert",
    );
    assert_eq!(created.version, 1);
    assert_eq!(created.status, new.status);
    assert_eq!(created.profile, new.profile);
    assert_eq!(created.nominations, new.nominations);
    assert_eq!(created.term, new.term);
    assert_eq!(created.cv_document, None);
    assert_reads_back(store, &created).await;

    let mut registered = created.clone();
    registered.cv_document = Some("cv/2025/0001-ថ្មី.pdf".into());
    registered.term = Some(Term::starting(day("2025-07-01")));
    registered.profile.phone = None;
    registered.profile.experience.pop();
    let updated = ok(
        store.update_expert(&registered, None).await,
        "update_expert",
    );
    assert_eq!(
        updated,
        Expert {
            version: 2,
            ..registered
        }
    );
    assert_reads_back(store, &updated).await;
}

/// Names in Thai, Khmer, Chinese (with a character beyond the Basic
/// Multilingual Plane), 220 characters of Arabic script with vowel marks,
/// decomposed Vietnamese and a mononym are stored exactly as given: the
/// store does not trim, normalise or truncate.
pub async fn names_in_any_script_round_trip(store: &dyn Store) {
    let arabic: String = "عَبْدُ ٱلرَّحْمَٰن بن مُحَمَّد ".chars().cycle().take(220).collect();
    assert_eq!(arabic.chars().count(), 220);
    let names = [
        person(
            None,
            Some("สมศรี"),
            Some("ศรีสุข"),
            NameOrder::GivenFirst,
            None,
        ),
        person(
            None,
            Some("សុភា"),
            Some("ចាន់"),
            NameOrder::FamilyFirst,
            Some("CHAN Sophea"),
        ),
        person(
            None,
            Some("𠀋明"),
            Some("王"),
            NameOrder::FamilyFirst,
            Some("WANG Ming"),
        ),
        person(Some(&arabic), None, None, NameOrder::GivenFirst, None),
        person(
            None,
            Some("Thi Lan"),
            Some("Nguye\u{302}\u{303}n"),
            NameOrder::FamilyFirst,
            None,
        ),
        person(Some("Sukarni"), None, None, NameOrder::NoFamilyName, None),
    ];
    let mut stored = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let mut profile = profile(&format!("name{i}@example.org"));
        profile.referees[0].name = name.clone();
        profile.name = name;
        let expert = ok(
            store
                .create_expert(nominated(profile.clone()), created_as(Status::Nominated))
                .await,
            "create_expert",
        );
        assert_eq!(expert.profile, profile);
        assert_reads_back(store, &expert).await;
        stored.push(expert);
    }
    assert_eq!(ok(store.experts().await, "experts"), stored);
}

/// Ids ascend in the order of creation, and `experts` lists by id.
pub async fn expert_ids_ascend(store: &dyn Store) {
    let mut ids = Vec::new();
    for email in ["c@example.org", "a@example.org", "b@example.org"] {
        ids.push(create(store, email).await.id);
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not ascending: {ids:?}"
    );
    let listed: Vec<ExpertId> = ok(store.experts().await, "experts")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, ids);
    let unknown = ExpertId(ids[2].0 + 1);
    assert_eq!(ok(store.expert(unknown).await, "expert"), None);
    assert_eq!(
        ok(
            store.expert_by_identity("nobody@example.org").await,
            "expert_by_identity"
        ),
        None
    );
}

/// A second expert with the same identity key (the e-mail address in
/// another letter case) is refused with `Duplicate` and nothing changes.
pub async fn create_with_taken_identity_is_duplicate(store: &dyn Store) {
    let first = create(store, "Ana.Silva@Example.org").await;
    let before = snapshot(store).await;
    let mut twin = profile("ana.silva@EXAMPLE.ORG");
    twin.name = person(Some("Ana"), None, None, NameOrder::NoFamilyName, None);
    assert_eq!(twin.identity_key(), first.profile.identity_key());
    let result = store
        .create_expert(nominated(twin), created_as(Status::Nominated))
        .await;
    expect_duplicate(result, "expert", "identity", "create with a taken identity");
    assert_eq!(snapshot(store).await, before);
    assert_eq!(
        ok(
            store
                .expert_by_identity(&first.profile.identity_key())
                .await,
            "expert_by_identity"
        ),
        Some(first)
    );
}

/// Of several creations of one identity at once, exactly one is stored;
/// the others fail with `Duplicate`.
pub async fn concurrent_creates_of_one_identity_store_one(store: &dyn Store) {
    let attempt = || {
        store.create_expert(
            nominated(profile("same@example.org")),
            created_as(Status::Nominated),
        )
    };
    let (a, b, c, d) = tokio::join!(attempt(), attempt(), attempt(), attempt());
    let mut stored = 0;
    for result in [a, b, c, d] {
        match result {
            Ok(_) => stored += 1,
            Err(e) => expect_duplicate::<()>(Err(e), "expert", "identity", "concurrent create"),
        }
    }
    assert_eq!(stored, 1, "concurrent creates of one identity");
    assert_eq!(ok(store.experts().await, "experts").len(), 1);
    assert_eq!(ok(store.audit_trail(None).await, "audit_trail").len(), 1);
}

/// An update made against the stored version stores the record at the next
/// version and appends exactly one audit entry, after the earlier ones.
pub async fn update_increments_version_and_audits_once(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let mut invited = expert.clone();
    invited.status = Status::Invited;
    let change = draft(
        "rso:officer-7",
        "2025-04-01T08:00:00.000001Z",
        Some(Status::Nominated),
        Status::Invited,
        "ส่งคำเชิญลงทะเบียน",
    );
    let updated = ok(
        store.update_expert(&invited, Some(change.clone())).await,
        "update_expert",
    );
    assert_eq!(updated.version, 2);
    assert_eq!(
        updated,
        Expert {
            version: 2,
            ..invited
        }
    );
    assert_reads_back(store, &updated).await;
    let trail = ok(store.audit_trail(Some(expert.id)).await, "audit_trail");
    assert_eq!(trail.len(), 2, "one entry for creation, one for the update");
    assert_eq!(trail[0].change, created_as(Status::Nominated));
    let first_hash = trail[0].seal.as_ref().map(|s| s.hash.as_str());
    assert_eq!(
        trail[1],
        AuditEntry::sealed(
            trail[0].seq + 1,
            expert.id,
            change,
            first_hash.expect("a sealed first entry")
        )
    );

    let mut registered = updated.clone();
    registered.status = Status::Registered;
    let again = ok(
        store
            .update_expert(
                &registered,
                Some(draft(
                    "expert:E-0001",
                    "2025-04-02T00:00:00Z",
                    Some(Status::Invited),
                    Status::Registered,
                    "registered",
                )),
            )
            .await,
        "update_expert",
    );
    assert_eq!(again.version, 3);
    let trail = ok(store.audit_trail(Some(expert.id)).await, "audit_trail");
    let tos: Vec<Status> = trail.iter().map(|e| e.change.to).collect();
    assert_eq!(
        tos,
        [Status::Nominated, Status::Invited, Status::Registered]
    );
}

/// An update without an audit draft still moves the version on, and
/// writes no audit entry.
pub async fn update_without_audit_writes_no_entry(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let mut edited = expert.clone();
    edited.profile.phone = Some("+855 23 000 000".into());
    let updated = ok(store.update_expert(&edited, None).await, "update_expert");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.profile, edited.profile);
    assert_reads_back(store, &updated).await;
    assert_eq!(ok(store.audit_trail(None).await, "audit_trail").len(), 1);
}

/// An update made against a version that is no longer stored fails with
/// `Conflict`, naming both versions, and changes neither the record nor the
/// audit trail.
pub async fn stale_update_is_conflict_and_changes_nothing(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let mut invited = expert.clone();
    invited.status = Status::Invited;
    let audit = Some(created_as(Status::Invited));
    ok(store.update_expert(&invited, audit).await, "update_expert");
    let before = snapshot(store).await;

    let mut stale = expert.clone();
    stale.status = Status::Ineligible;
    stale.profile.phone = Some("+62 21 000 000".into());
    let result = store
        .update_expert(&stale, Some(created_as(Status::Ineligible)))
        .await;
    match result {
        Err(StoreError::Conflict {
            entity: "expert",
            id,
            expected: 1,
            current: 2,
        }) if id == expert.id.to_string() => {}
        other => panic!("stale update: expected Conflict from 1 to 2, got {other:?}"),
    }
    assert_eq!(snapshot(store).await, before);
}

/// Of several updates made at once against one version, exactly one is
/// stored with its audit entry; the others fail with `Conflict`.
pub async fn concurrent_updates_of_one_version_store_one(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let attempt = |status: Status| {
        let mut changed = expert.clone();
        changed.status = status;
        async move {
            let change = draft(
                "rso:officer-1",
                "2025-05-05T05:05:05Z",
                Some(Status::Nominated),
                status,
                "decided",
            );
            store.update_expert(&changed, Some(change)).await
        }
    };
    let (a, b, c) = tokio::join!(
        attempt(Status::Invited),
        attempt(Status::Ineligible),
        attempt(Status::Withdrawn)
    );
    let mut winner = None;
    for result in [a, b, c] {
        match result {
            Ok(stored) => {
                assert!(winner.is_none(), "two concurrent updates of version 1 won");
                winner = Some(stored);
            }
            Err(StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            }) => {}
            Err(e) => panic!("concurrent update: expected Conflict from 1 to 2, got {e:?}"),
        }
    }
    let winner = winner.expect("one concurrent update wins");
    assert_eq!(winner.version, 2);
    assert_reads_back(store, &winner).await;
    let trail = ok(store.audit_trail(None).await, "audit_trail");
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].change.to, winner.status);
}

/// Updating an expert that was never stored fails with `NotFound` and
/// writes no audit entry.
pub async fn update_of_missing_expert_is_not_found(store: &dyn Store) {
    let existing = create(store, "ana@example.org").await;
    let before = snapshot(store).await;
    let mut ghost = existing.clone();
    ghost.id = ExpertId(existing.id.0 + 998);
    ghost.profile.email = "ghost@example.org".into();
    let result = store
        .update_expert(&ghost, Some(created_as(Status::Invited)))
        .await;
    match result {
        Err(StoreError::NotFound {
            entity: "expert",
            id,
        }) if id == ghost.id.to_string() => {}
        other => panic!("update of a missing expert: expected NotFound, got {other:?}"),
    }
    assert_eq!(snapshot(store).await, before);
}

/// Changing an expert's identity to another expert's fails with
/// `Duplicate` and changes nothing.
pub async fn identity_change_onto_another_expert_is_duplicate(store: &dyn Store) {
    let a = create(store, "ana@example.org").await;
    let b = create(store, "bo@example.org").await;
    let before = snapshot(store).await;
    let mut collide = b.clone();
    collide.profile.email = "ANA@example.org".into();
    let result = store
        .update_expert(&collide, Some(created_as(Status::Invited)))
        .await;
    expect_duplicate(result, "expert", "identity", "identity change onto another");
    assert_eq!(snapshot(store).await, before);
    assert_eq!(
        ok(
            store.expert_by_identity("ana@example.org").await,
            "expert_by_identity"
        ),
        Some(a)
    );
    assert_eq!(
        ok(
            store.expert_by_identity("bo@example.org").await,
            "expert_by_identity"
        ),
        Some(b)
    );
}

/// After an identity change the expert is found by its new key only, and
/// the old key may be taken by a new expert.
pub async fn identity_change_frees_the_old_key(store: &dyn Store) {
    let expert = create(store, "old@example.org").await;
    let mut moved = expert.clone();
    moved.profile.email = "New@Example.org".into();
    let moved = ok(store.update_expert(&moved, None).await, "update_expert");
    assert_eq!(
        ok(
            store.expert_by_identity("old@example.org").await,
            "expert_by_identity"
        ),
        None
    );
    assert_eq!(
        ok(
            store.expert_by_identity("new@example.org").await,
            "expert_by_identity"
        ),
        Some(moved)
    );
    let newcomer = create(store, "old@example.org").await;
    assert_ne!(newcomer.id, expert.id);
}

/// `experts_with_status` returns exactly the experts whose stored status is
/// the one asked for, by id, following updates.
pub async fn experts_with_status_filters_and_orders(store: &dyn Store) {
    let statuses = [
        Status::Included,
        Status::Nominated,
        Status::Included,
        Status::Expired,
        Status::Nominated,
        Status::Included,
    ];
    let mut experts = Vec::new();
    for (i, status) in statuses.into_iter().enumerate() {
        let new = NewExpert {
            status,
            ..nominated(profile(&format!("s{i}@example.org")))
        };
        let expert = ok(
            store.create_expert(new, created_as(status)).await,
            "create_expert",
        );
        experts.push(expert);
    }
    let mut revoked = experts[2].clone();
    revoked.status = Status::Revoked;
    experts[2] = ok(
        store
            .update_expert(
                &revoked,
                Some(draft(
                    "rso:officer-2",
                    "2025-06-01T00:00:00Z",
                    Some(Status::Included),
                    Status::Revoked,
                    "at the nominator's request",
                )),
            )
            .await,
        "update_expert",
    );
    for status in Status::ALL {
        let want: Vec<Expert> = experts
            .iter()
            .filter(|e| e.status == status)
            .cloned()
            .collect();
        let got = ok(
            store.experts_with_status(status).await,
            "experts_with_status",
        );
        assert_eq!(got, want, "experts with status {status}");
    }
}

/// The audit trail numbers entries from 1 without gaps, even around
/// refused changes, and lists them oldest first, for all experts or for one.
pub async fn audit_trail_counts_from_one_without_gaps(store: &dyn Store) {
    let a = create(store, "ana@example.org").await;
    let b = create(store, "bo@example.org").await;

    // Refused changes must not use up a number.
    let taken = store
        .create_expert(
            nominated(profile("ana@example.org")),
            created_as(Status::Nominated),
        )
        .await;
    expect_duplicate(taken, "expert", "identity", "create with a taken identity");

    let mut a_invited = a.clone();
    a_invited.status = Status::Invited;
    let a1 = draft(
        "rso:officer-1",
        "2025-04-01T00:00:00Z",
        Some(Status::Nominated),
        Status::Invited,
        "invited",
    );
    let a_invited = ok(
        store.update_expert(&a_invited, Some(a1.clone())).await,
        "update_expert",
    );
    let stale = store.update_expert(&a, Some(a1.clone())).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "stale update: {stale:?}"
    );

    let mut b_ineligible = b.clone();
    b_ineligible.status = Status::Ineligible;
    let b1 = draft(
        "system",
        "2025-03-31T23:59:59.5Z",
        Some(Status::Nominated),
        Status::Ineligible,
        "fewer than five years of experience",
    );
    ok(
        store.update_expert(&b_ineligible, Some(b1.clone())).await,
        "update_expert",
    );
    let mut a_registered = a_invited.clone();
    a_registered.status = Status::Registered;
    let a2 = draft(
        &format!("expert:{}", a.id),
        "2025-04-03T10:00:00Z",
        Some(Status::Invited),
        Status::Registered,
        "ลงทะเบียนแล้ว",
    );
    ok(
        store.update_expert(&a_registered, Some(a2.clone())).await,
        "update_expert",
    );

    let all = ok(store.audit_trail(None).await, "audit_trail");
    // Every store seals the same chain, byte for byte.
    let want = chained(vec![
        (a.id, created_as(Status::Nominated)),
        (b.id, created_as(Status::Nominated)),
        (a.id, a1),
        (b.id, b1),
        (a.id, a2),
    ]);
    assert_eq!(verify_chain(&all), ChainReport::Ok { entries: 5 });
    assert_eq!(all, want);
    let of_a = ok(store.audit_trail(Some(a.id)).await, "audit_trail");
    let want_a: Vec<AuditEntry> = want.iter().filter(|e| e.expert == a.id).cloned().collect();
    assert_eq!(of_a, want_a);
    let of_b = ok(store.audit_trail(Some(b.id)).await, "audit_trail");
    assert_eq!(of_b.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 4]);
    let unknown = ExpertId(b.id.0 + 1);
    assert!(ok(store.audit_trail(Some(unknown)).await, "audit_trail").is_empty());
}

/// `create_call` stores a call at version 1, whatever version it is given,
/// and refuses a second call of the same year with `Duplicate`, keeping the
/// first.
pub async fn create_call_stores_version_one_and_refuses_a_taken_year(store: &dyn Store) {
    let first = Call {
        year: 2025,
        window: range("2025-02-01", "2025-03-31"),
        version: 7,
    };
    let stored = ok(store.create_call(&first).await, "create_call");
    let want = Call {
        version: 1,
        ..first.clone()
    };
    assert_eq!(stored, want);
    assert_eq!(ok(store.call(2025).await, "call"), Some(want.clone()));
    let other = Call {
        year: 2026,
        window: range("2026-01-15", "2026-02-28"),
        version: 1,
    };
    ok(store.create_call(&other).await, "create_call");
    let again = Call {
        window: range("2025-02-01", "2025-04-30"),
        ..first
    };
    expect_duplicate(
        store.create_call(&again).await,
        "call",
        "year",
        "second call of 2025",
    );
    assert_eq!(ok(store.call(2025).await, "call"), Some(want));
    assert_eq!(ok(store.call(2026).await, "call"), Some(other));
    assert_eq!(ok(store.call(2024).await, "call"), None);
}

/// `update_call` replaces the window against the stored version and stores
/// one version more; a stale version fails with `Conflict` naming both
/// versions, a year without a call with `NotFound`, and neither changes
/// anything.
pub async fn update_call_bumps_the_version_and_refuses_stale_or_missing(store: &dyn Store) {
    let opened = ok(
        store
            .create_call(&Call {
                year: 2025,
                window: range("2025-02-01", "2025-03-31"),
                version: 1,
            })
            .await,
        "create_call",
    );
    let extended = Call {
        window: range("2025-02-01", "2025-04-30"),
        ..opened.clone()
    };
    let stored = ok(store.update_call(&extended).await, "update_call");
    let want = Call {
        version: 2,
        ..extended
    };
    assert_eq!(stored, want);
    assert_eq!(ok(store.call(2025).await, "call"), Some(want.clone()));

    let stale = Call {
        window: range("2025-01-01", "2025-01-31"),
        ..opened
    };
    match store.update_call(&stale).await {
        Err(StoreError::Conflict {
            entity,
            id,
            expected,
            current,
        }) => assert_eq!(
            (entity, id.as_str(), expected, current),
            ("call", "2025", 1, 2)
        ),
        other => panic!("stale call update: expected Conflict, got {other:?}"),
    }
    assert_eq!(ok(store.call(2025).await, "call"), Some(want));

    let missing = Call {
        year: 2030,
        window: range("2030-02-01", "2030-03-31"),
        version: 1,
    };
    match store.update_call(&missing).await {
        Err(StoreError::NotFound { entity, id }) => {
            assert_eq!((entity, id.as_str()), ("call", "2030"));
        }
        other => panic!("update of a missing call: expected NotFound, got {other:?}"),
    }
    assert_eq!(ok(store.call(2030).await, "call"), None);
}

/// `save_request` stores a new request and returns `true`; for a known key
/// it returns `false` and keeps the first version. The same id from another
/// requester is another request.
pub async fn save_request_keeps_the_first_version(store: &dyn Store) {
    let first = request("KHM-2025-007", range("2025-09-01", "2025-09-12"));
    assert!(ok(store.save_request(&first).await, "save_request"));
    assert_eq!(
        ok(store.request("KHM/KHM-2025-007").await, "request"),
        Some(first.clone())
    );

    let mut second = first.clone();
    second.title = "Another title".into();
    second.experts_wanted = 5;
    assert!(!ok(store.save_request(&second).await, "save_request"));
    assert_eq!(
        ok(store.request(&first.key()).await, "request"),
        Some(first.clone())
    );
    assert_eq!(ok(store.request("KHM/khm-2025-007").await, "request"), None);
    assert_eq!(ok(store.request("KHM-2025-007").await, "request"), None);

    let mut from_thailand = second.clone();
    from_thailand.requester = "THA".into();
    assert!(ok(store.save_request(&from_thailand).await, "save_request"));
    assert_eq!(
        ok(store.request("THA/KHM-2025-007").await, "request"),
        Some(from_thailand)
    );
    assert_eq!(
        ok(store.request(&first.key()).await, "request"),
        Some(first)
    );
}

/// `create_engagement` stores an engagement at version 1, whatever version
/// it is given, and refuses a second engagement of the same expert on the
/// same request with `Duplicate`, keeping the first.
pub async fn create_engagement_stores_version_one_and_refuses_a_second(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let req = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let proposal = Engagement {
        version: 5,
        ..engage(&req, expert.id, EngagementState::Proposed)
    };
    let stored = ok(
        store.create_engagement(&proposal).await,
        "create_engagement",
    );
    let want = [engage(&req, expert.id, EngagementState::Proposed)];
    assert_eq!([stored], want);
    assert_eq!(ok(store.engagements(None).await, "engagements"), want);

    let second = engage(&req, expert.id, EngagementState::Declined);
    expect_duplicate(
        store.create_engagement(&second).await,
        "engagement",
        "request and expert",
        "second engagement on one request",
    );
    assert_eq!(ok(store.engagements(None).await, "engagements"), want);
}

/// `update_engagement` replaces state and window against the stored
/// version and stores one version more at every change.
pub async fn update_engagement_bumps_the_version(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let req = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let mut engagement = ok(
        store
            .create_engagement(&engage(&req, expert.id, EngagementState::Proposed))
            .await,
        "create_engagement",
    );
    engagement.state = EngagementState::Accepted;
    engagement.window = range("2025-07-02", "2025-07-09");
    let accepted = ok(
        store.update_engagement(&engagement).await,
        "update_engagement",
    );
    assert_eq!(
        accepted,
        Engagement {
            version: 2,
            ..engagement.clone()
        }
    );
    let completed = ok(
        store
            .update_engagement(&Engagement {
                state: EngagementState::Completed,
                ..accepted
            })
            .await,
        "update_engagement",
    );
    assert_eq!(completed.version, 3);
    assert_eq!(completed.state, EngagementState::Completed);
    assert_eq!(completed.window, range("2025-07-02", "2025-07-09"));
    assert_eq!(
        ok(store.engagements(Some(expert.id)).await, "engagements"),
        [completed]
    );
}

/// A change made against a stale version of an engagement fails with
/// `Conflict` naming both versions, and nothing changes.
pub async fn stale_engagement_update_is_conflict_and_changes_nothing(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let req = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let read = ok(
        store
            .create_engagement(&engage(&req, expert.id, EngagementState::Proposed))
            .await,
        "create_engagement",
    );
    let declined = ok(
        store
            .update_engagement(&Engagement {
                state: EngagementState::Declined,
                ..read.clone()
            })
            .await,
        "update_engagement",
    );
    let before = snapshot(store).await;
    let stale = Engagement {
        state: EngagementState::Accepted,
        ..read
    };
    match store.update_engagement(&stale).await {
        Err(StoreError::Conflict {
            entity,
            id,
            expected,
            current,
        }) => assert_eq!(
            (entity, id, expected, current),
            ("engagement", format!("KHM/R-1/{}", expert.id), 1, 2)
        ),
        other => panic!("stale engagement update: expected Conflict, got {other:?}"),
    }
    assert_eq!(snapshot(store).await, before);
    assert_eq!(ok(store.engagements(None).await, "engagements"), [declined]);
}

/// Updating an engagement that was never created fails with `NotFound`
/// and stores nothing.
pub async fn update_of_missing_engagement_is_not_found(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let req = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    for who in [expert.id, ExpertId(expert.id.0 + 1000)] {
        let ghost = engage(&req, who, EngagementState::Accepted);
        match store.update_engagement(&ghost).await {
            Err(StoreError::NotFound { entity, id }) => {
                assert_eq!((entity, id), ("engagement", format!("KHM/R-1/{who}")));
            }
            other => panic!("update of a missing engagement: expected NotFound, got {other:?}"),
        }
    }
    assert!(ok(store.engagements(None).await, "engagements").is_empty());
}

/// An accepted or completed engagement that shares a day with another
/// accepted or completed engagement of the same expert fails with
/// `Duplicate`, and nothing changes.
pub async fn overlapping_blocking_engagements_are_refused(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let july = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let last_day = saved_request(store, "R-2", "2025-07-10", "2025-07-12").await;
    let inside = saved_request(store, "R-3", "2025-07-03", "2025-07-04").await;
    let around = saved_request(store, "R-4", "2025-06-01", "2025-08-01").await;
    let accepted = engage(&july, expert.id, EngagementState::Accepted);
    ok(
        store.create_engagement(&accepted).await,
        "create_engagement",
    );
    let before = ok(store.engagements(None).await, "engagements");

    for (req, state) in [
        (&last_day, EngagementState::Accepted),
        (&inside, EngagementState::Completed),
        (&around, EngagementState::Accepted),
    ] {
        let clash = engage(req, expert.id, state);
        let result = store.create_engagement(&clash).await;
        expect_duplicate_entity(result, "engagement", "overlapping blocking engagement");
        assert_eq!(ok(store.engagements(None).await, "engagements"), before);
    }

    // Promoting a proposal onto booked days is refused too, and the
    // proposal stays as it was.
    let proposal = engage(&last_day, expert.id, EngagementState::Proposed);
    ok(
        store.create_engagement(&proposal).await,
        "create_engagement",
    );
    let before = ok(store.engagements(None).await, "engagements");
    let promoted = Engagement {
        state: EngagementState::Accepted,
        ..proposal
    };
    let result = store.update_engagement(&promoted).await;
    expect_duplicate_entity(result, "engagement", "promoted onto booked days");
    assert_eq!(ok(store.engagements(None).await, "engagements"), before);

    // An engagement never clashes with its own earlier version.
    let completed = Engagement {
        state: EngagementState::Completed,
        ..accepted
    };
    let stored = ok(
        store.update_engagement(&completed).await,
        "update_engagement",
    );
    assert_eq!(stored.version, 2);
}

/// Proposed and declined engagements hold no days: they may overlap
/// anything, and days next to a booking, or another expert's days, are free.
pub async fn non_blocking_engagements_may_overlap(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let bo = create(store, "bo@example.org").await;
    let july = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let overlap = saved_request(store, "R-2", "2025-07-05", "2025-07-15").await;
    let next = saved_request(store, "R-3", "2025-07-11", "2025-07-20").await;
    let before = saved_request(store, "R-4", "2025-06-20", "2025-06-30").await;

    let saves = [
        engage(&july, ana.id, EngagementState::Accepted),
        engage(&overlap, ana.id, EngagementState::Proposed),
        engage(&overlap, bo.id, EngagementState::Accepted),
        engage(&july, bo.id, EngagementState::Declined),
        engage(&next, ana.id, EngagementState::Accepted),
        engage(&before, ana.id, EngagementState::Completed),
    ];
    for engagement in &saves {
        ok(
            store.create_engagement(engagement).await,
            "create_engagement",
        );
    }
    let declined = Engagement {
        state: EngagementState::Declined,
        ..engage(&overlap, ana.id, EngagementState::Proposed)
    };
    ok(
        store.update_engagement(&declined).await,
        "update_engagement",
    );
    assert_eq!(ok(store.engagements(None).await, "engagements").len(), 6);
}

/// Of several overlapping bookings of one expert made at once, exactly one
/// is stored; the others fail with `Duplicate`.
pub async fn concurrent_overlapping_engagements_store_one(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let one = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let two = saved_request(store, "R-2", "2025-07-05", "2025-07-15").await;
    let three = saved_request(store, "R-3", "2025-07-10", "2025-07-11").await;
    let e1 = engage(&one, expert.id, EngagementState::Accepted);
    let e2 = engage(&two, expert.id, EngagementState::Accepted);
    let e3 = engage(&three, expert.id, EngagementState::Accepted);
    let (a, b, c) = tokio::join!(
        store.create_engagement(&e1),
        store.create_engagement(&e2),
        store.create_engagement(&e3)
    );
    let mut stored = 0;
    for result in [a, b, c] {
        match result {
            Ok(_) => stored += 1,
            Err(e) => {
                expect_duplicate_entity::<Engagement>(Err(e), "engagement", "concurrent booking")
            }
        }
    }
    assert_eq!(stored, 1, "concurrent overlapping bookings");
    assert_eq!(ok(store.engagements(None).await, "engagements").len(), 1);
}

/// `update_engagement_capped` with a load cap counts the expert's other
/// accepted and
/// completed engagements by the rule of
/// [`load_cap_breach`](crate::matching::load_cap_breach): a full period
/// back from the new mission's first day, or from a mission accepted later
/// whose own period reaches it, fails with `LoadCap` giving the cap and the
/// period, and nothing changes; a free period, a higher cap, an engagement
/// that holds no days and another expert's bookings pass.
pub async fn capped_update_refuses_a_full_period_and_changes_nothing(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let bo = create(store, "bo@example.org").await;
    let july = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let august = saved_request(store, "R-2", "2025-08-04", "2025-08-08").await;
    let may = saved_request(store, "R-3", "2025-05-01", "2025-05-05").await;
    let next_year = saved_request(store, "R-4", "2026-08-01", "2026-08-05").await;
    let one = LoadCap {
        max: 1,
        period_days: 365,
    };
    ok(
        store
            .create_engagement(&engage(&july, ana.id, EngagementState::Accepted))
            .await,
        "create_engagement",
    );
    // Bo's booking on the same days counts only for Bo.
    ok(
        store
            .create_engagement(&engage(&july, bo.id, EngagementState::Completed))
            .await,
        "create_engagement",
    );
    let mut proposals = Vec::new();
    for req in [&august, &may, &next_year] {
        proposals.push(ok(
            store
                .create_engagement(&engage(req, ana.id, EngagementState::Proposed))
                .await,
            "create_engagement",
        ));
    }
    let before = snapshot(store).await;

    // August: July lies in the 365 days back from 4 August.
    // May: it lies in July's own period, back from 1 July.
    for (proposal, period) in [
        (&proposals[0], range("2024-08-04", "2025-08-08")),
        (&proposals[1], range("2024-07-01", "2025-07-10")),
    ] {
        let accepted = Engagement {
            state: EngagementState::Accepted,
            ..proposal.clone()
        };
        let refused = store
            .update_engagement_capped(&accepted, Caps::load(one))
            .await;
        let message = refused.as_ref().err().map(ToString::to_string);
        match refused {
            Err(StoreError::LoadCap { id, breach }) => {
                assert_eq!(id, accepted.id());
                assert_eq!(
                    breach,
                    CapBreach {
                        cap: one,
                        load: 1,
                        period,
                    }
                );
            }
            other => panic!("capped accept in a full period: expected LoadCap, got {other:?}"),
        }
        assert_eq!(
            message.as_deref(),
            Some(
                format!(
                    "engagement {} would take its expert over the load cap: 1 accepted or \
                     completed mission between {} and {}; the cap is 1 per 365 days",
                    accepted.id(),
                    period.first,
                    period.last
                )
                .as_str()
            )
        );
        assert_eq!(snapshot(store).await, before);
    }

    // A year later the period is free; with room for two, August fits; a
    // declined engagement holds no days and always passes.
    let later = ok(
        store
            .update_engagement_capped(
                &Engagement {
                    state: EngagementState::Accepted,
                    ..proposals[2].clone()
                },
                Caps::load(one),
            )
            .await,
        "update_engagement_capped",
    );
    assert_eq!((later.state, later.version), (EngagementState::Accepted, 2));
    let two = LoadCap { max: 2, ..one };
    let august_accepted = ok(
        store
            .update_engagement_capped(
                &Engagement {
                    state: EngagementState::Accepted,
                    ..proposals[0].clone()
                },
                Caps::load(two),
            )
            .await,
        "update_engagement_capped",
    );
    assert_eq!(august_accepted.version, 2);
    let declined = ok(
        store
            .update_engagement_capped(
                &Engagement {
                    state: EngagementState::Declined,
                    ..proposals[1].clone()
                },
                Caps::load(one),
            )
            .await,
        "update_engagement_capped",
    );
    assert_eq!(declined.version, 2);
    let states: Vec<(String, EngagementState)> =
        ok(store.engagements(Some(ana.id)).await, "engagements")
            .into_iter()
            .map(|e| (e.request_id, e.state))
            .collect();
    assert_eq!(
        states,
        [
            (july.key(), EngagementState::Accepted),
            (august.key(), EngagementState::Accepted),
            (may.key(), EngagementState::Declined),
            (next_year.key(), EngagementState::Accepted),
        ]
    );
}

/// Two capped accepts for one expert at once, on missions that share no
/// day but fall in one period under a cap of one: exactly one is stored,
/// the other fails with `LoadCap`. Run for many experts in turn, so that a
/// check made outside the write's transaction would show.
pub async fn concurrent_capped_accepts_store_one(store: &dyn Store) {
    const ROUNDS: usize = 20;
    let one = LoadCap {
        max: 1,
        period_days: 365,
    };
    let july = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let august = saved_request(store, "R-2", "2025-08-04", "2025-08-08").await;
    for round in 0..ROUNDS {
        let expert = create(store, &format!("expert{round}@example.org")).await;
        let mut accepted = Vec::new();
        for req in [&july, &august] {
            let proposal = ok(
                store
                    .create_engagement(&engage(req, expert.id, EngagementState::Proposed))
                    .await,
                "create_engagement",
            );
            accepted.push(Engagement {
                state: EngagementState::Accepted,
                ..proposal
            });
        }
        let (a, b) = tokio::join!(
            store.update_engagement_capped(&accepted[0], Caps::load(one)),
            store.update_engagement_capped(&accepted[1], Caps::load(one))
        );
        let mut stored = Vec::new();
        for result in [a, b] {
            match result {
                Ok(engagement) => stored.push(engagement),
                Err(StoreError::LoadCap { breach, .. }) => {
                    assert_eq!((breach.cap, breach.load), (one, 1), "round {round}");
                }
                Err(other) => panic!("round {round}: not a load cap refusal: {other:?}"),
            }
        }
        assert_eq!(stored.len(), 1, "round {round}: accepts stored");
        let held: Vec<Engagement> = ok(store.engagements(Some(expert.id)).await, "engagements")
            .into_iter()
            .filter(Engagement::blocks)
            .collect();
        assert_eq!(held, stored, "round {round}: engagements holding days");
    }
}

/// `update_engagement_capped` with the request's demand counts the other
/// experts holding days (accepted or completed) on the same request: when
/// they are as many as it wants, it fails with `Filled` naming the request
/// and the demand, and nothing changes; proposals, declined engagements,
/// another request's bookings and the engagement's own stored version do
/// not count, and a larger demand or an engagement that holds no days
/// passes.
pub async fn capped_update_refuses_a_filled_request_and_changes_nothing(store: &dyn Store) {
    let mut experts = Vec::new();
    for name in ["ana", "bo", "chai", "dara", "eli"] {
        experts.push(create(store, &format!("{name}@example.org")).await.id);
    }
    let july = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let august = saved_request(store, "R-2", "2025-08-04", "2025-08-08").await;
    // On July: Ana completed, Bo accepted, Chai proposed, Dara declined.
    // Eli holds August, another request.
    for (expert, state) in [
        (experts[0], EngagementState::Completed),
        (experts[1], EngagementState::Accepted),
        (experts[2], EngagementState::Proposed),
        (experts[3], EngagementState::Declined),
    ] {
        ok(
            store.create_engagement(&engage(&july, expert, state)).await,
            "create_engagement",
        );
    }
    ok(
        store
            .create_engagement(&engage(&august, experts[4], EngagementState::Accepted))
            .await,
        "create_engagement",
    );
    let eli = ok(
        store
            .create_engagement(&engage(&july, experts[4], EngagementState::Proposed))
            .await,
        "create_engagement",
    );
    let before = snapshot(store).await;
    let chai_accepts = Engagement {
        state: EngagementState::Accepted,
        ..engage(&july, experts[2], EngagementState::Proposed)
    };
    let refused = store
        .update_engagement_capped(&chai_accepts, Caps::wanted(2))
        .await;
    let message = refused.as_ref().err().map(ToString::to_string);
    match refused {
        Err(StoreError::Filled { request, wanted }) => {
            assert_eq!((request.as_str(), wanted), (july.key().as_str(), 2));
        }
        other => panic!("accept on a filled request: expected Filled, got {other:?}"),
    }
    assert_eq!(
        message.as_deref(),
        Some(
            format!(
                "request {} is filled: it wants 2 experts, and as many hold its days",
                july.key()
            )
            .as_str()
        )
    );
    assert_eq!(snapshot(store).await, before);

    // Bo's own acceptance, written again, counts only the others: Ana.
    let bo_again = Engagement {
        version: 1,
        ..engage(&july, experts[1], EngagementState::Accepted)
    };
    let bo_again = ok(
        store
            .update_engagement_capped(&bo_again, Caps::wanted(2))
            .await,
        "update_engagement_capped",
    );
    assert_eq!(bo_again.version, 2);
    // Declining holds no days and passes even on a filled request.
    let eli_declines = ok(
        store
            .update_engagement_capped(
                &Engagement {
                    state: EngagementState::Declined,
                    ..eli
                },
                Caps::wanted(1),
            )
            .await,
        "update_engagement_capped",
    );
    assert_eq!(eli_declines.version, 2);
    // With room for three, Chai's acceptance is stored.
    let chai = ok(
        store
            .update_engagement_capped(&chai_accepts, Caps::wanted(3))
            .await,
        "update_engagement_capped",
    );
    assert_eq!((chai.state, chai.version), (EngagementState::Accepted, 2));
    let holding: Vec<ExpertId> = ok(store.engagements(None).await, "engagements")
        .into_iter()
        .filter(|e| e.request_id == july.key() && e.blocks())
        .map(|e| e.expert)
        .collect();
    assert_eq!(holding, experts[..3]);
}

/// Several accepts on one request at once, each of another expert: the
/// request is stored with exactly as many experts as it wants, and every
/// other accept fails with `Filled`. Run for many requests in turn, so
/// that a check made outside the write's transaction would show.
pub async fn concurrent_accepts_on_a_filled_request_store_what_it_wants(store: &dyn Store) {
    const ROUNDS: usize = 10;
    const WANTED: u16 = 2;
    let mut experts = Vec::new();
    for n in 0..4 {
        experts.push(create(store, &format!("expert{n}@example.org")).await.id);
    }
    for round in 0..ROUNDS {
        // One request a month, so that no expert's bookings overlap.
        let month = round + 1;
        let req = saved_request(
            store,
            &format!("R-{round}"),
            &format!("2025-{month:02}-01"),
            &format!("2025-{month:02}-05"),
        )
        .await;
        let mut accepts = Vec::new();
        for &expert in &experts {
            let proposal = ok(
                store
                    .create_engagement(&engage(&req, expert, EngagementState::Proposed))
                    .await,
                "create_engagement",
            );
            accepts.push(Engagement {
                state: EngagementState::Accepted,
                ..proposal
            });
        }
        let caps = Caps::wanted(WANTED);
        let (a, b, c, d) = tokio::join!(
            store.update_engagement_capped(&accepts[0], caps),
            store.update_engagement_capped(&accepts[1], caps),
            store.update_engagement_capped(&accepts[2], caps),
            store.update_engagement_capped(&accepts[3], caps),
        );
        let mut stored = Vec::new();
        for result in [a, b, c, d] {
            match result {
                Ok(engagement) => stored.push(engagement),
                Err(StoreError::Filled { request, wanted }) => {
                    assert_eq!((request, wanted), (req.key(), WANTED), "round {round}");
                }
                Err(other) => panic!("round {round}: not a filled refusal: {other:?}"),
            }
        }
        assert_eq!(
            stored.len(),
            usize::from(WANTED),
            "round {round}: accepts stored"
        );
        let held: Vec<Engagement> = ok(store.engagements(None).await, "engagements")
            .into_iter()
            .filter(|e| e.request_id == req.key() && e.blocks())
            .collect();
        stored.sort_by_key(|e| e.expert);
        assert_eq!(held, stored, "round {round}: engagements holding days");
    }
}

/// `engagements` lists by request id (compared as Unicode scalar values,
/// as Rust compares strings), then by expert id; for one expert, only
/// that expert's.
pub async fn engagements_filter_and_order(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let bo = create(store, "bo@example.org").await;
    let chai = create(store, "chai@example.org").await;
    // Byte order, not natural or locale order: "R-10" < "R-9" < "r-1" < "É-1".
    let ids = ["É-1", "r-1", "R-9", "R-10"];
    let mut requests = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let first = day("2025-01-01") + chrono::Days::new(30 * i as u64);
        let last = first + chrono::Days::new(3);
        let req = request(id, DateRange { first, last });
        assert!(ok(store.save_request(&req).await, "save_request"));
        requests.push(req);
    }
    let mut saved = Vec::new();
    for req in &requests {
        for expert in [chai.id, ana.id, bo.id] {
            let engagement = engage(req, expert, EngagementState::Accepted);
            ok(
                store.create_engagement(&engagement).await,
                "create_engagement",
            );
            saved.push(engagement);
        }
    }
    let mut want = saved.clone();
    want.sort_by(|x, y| (&x.request_id, x.expert).cmp(&(&y.request_id, y.expert)));
    assert_eq!(want[0].request_id, "KHM/R-10");
    assert_eq!(ok(store.engagements(None).await, "engagements"), want);
    let of_bo: Vec<Engagement> = want.iter().filter(|e| e.expert == bo.id).cloned().collect();
    assert_eq!(of_bo.len(), 4);
    assert_eq!(
        ok(store.engagements(Some(bo.id)).await, "engagements"),
        of_bo
    );
    let nobody = ExpertId(chai.id.0 + 1);
    assert!(ok(store.engagements(Some(nobody)).await, "engagements").is_empty());
}

fn ok<T>(result: Result<T, StoreError>, operation: &str) -> T {
    result.unwrap_or_else(|e| panic!("{operation} failed: {e} ({e:?})"))
}

fn expect_duplicate<T: Debug>(result: Result<T, StoreError>, entity: &str, key: &str, what: &str) {
    match result {
        Err(StoreError::Duplicate { entity: e, key: k }) if e == entity && k == key => {}
        other => panic!("{what}: expected Duplicate {{ {entity}, {key} }}, got {other:?}"),
    }
}

fn expect_duplicate_entity<T: Debug>(result: Result<T, StoreError>, entity: &str, what: &str) {
    match result {
        Err(StoreError::Duplicate { entity: e, .. }) if e == entity => {}
        other => panic!("{what}: expected Duplicate {{ {entity} }}, got {other:?}"),
    }
}

/// Issuing an invitation replaces the expert (one version on, with its
/// audit entry), stores the invitation and queues its message; issuing
/// again cancels the pending one.
pub async fn invitation_is_issued_with_its_message_and_replaces_the_older(store: &dyn Store) {
    let expert = create(store, "Hoa.Nguyen@Example.org").await;
    let mut invited = expert.clone();
    invited.status = Status::Invited;
    let audit = draft(
        "rso:officer-1",
        "2025-05-01T00:00:00Z",
        Some(Status::Nominated),
        Status::Invited,
        "invited to register",
    );
    let first = ok(
        store
            .issue_invitation(
                &invited,
                Some(audit),
                &new_invitation(&expert, "a", "2025-05-01T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    assert_eq!(first.expert.version, 2);
    assert_eq!(first.expert.status, Status::Invited);
    assert_reads_back(store, &first.expert).await;
    assert_eq!(
        first.invitation,
        Invitation {
            id: first.invitation.id,
            expert: expert.id,
            token_hash: hash_of("a"),
            email_key: "hoa.nguyen@example.org".into(),
            issued_at: at("2025-05-01T00:00:00Z"),
            expires_at: at("2025-05-15T00:00:00Z"),
            used_at: None,
            cancelled_at: None,
        }
    );
    assert_eq!(
        first.message,
        OutboxMessage {
            id: first.message.id,
            expert: expert.id,
            address: "Hoa.Nguyen@Example.org".into(),
            notice: Notice::Invitation {
                invitation: first.invitation.id,
                expires_at: at("2025-05-15T00:00:00Z"),
            },
            queued_at: at("2025-05-01T00:00:00Z"),
            sent_at: None,
        }
    );

    let second = ok(
        store
            .issue_invitation(
                &first.expert,
                None,
                &new_invitation(&expert, "b", "2025-05-03T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    assert_eq!(second.expert.version, 3);
    assert!(second.invitation.id > first.invitation.id);
    assert!(second.message.id > first.message.id);
    let listed = ok(store.invitations(expert.id).await, "invitations");
    assert_eq!(
        listed,
        [
            Invitation {
                cancelled_at: Some(at("2025-05-03T00:00:00Z")),
                ..first.invitation.clone()
            },
            second.invitation.clone()
        ]
    );
    assert_eq!(
        ok(store.pending(10).await, "pending"),
        [first.message, second.message]
    );
    assert_eq!(ok(store.audit_trail(None).await, "audit_trail").len(), 2);
    let taken = store
        .issue_invitation(
            &second.expert,
            None,
            &new_invitation(&expert, "b", "2025-05-04T00:00:00Z"),
        )
        .await;
    expect_duplicate(
        taken,
        "invitation",
        "token hash",
        "issue with a taken token hash",
    );
}

/// Issuing against a stale version fails with `Conflict` and stores no
/// invitation, message or audit entry.
pub async fn stale_invitation_issue_is_conflict_and_changes_nothing(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let mut moved = expert.clone();
    moved.status = Status::Invited;
    ok(store.update_expert(&moved, None).await, "update_expert");
    let before = snapshot(store).await;
    let stale = store
        .issue_invitation(
            &expert,
            None,
            &new_invitation(&expert, "a", "2025-05-01T00:00:00Z"),
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            })
        ),
        "stale issue: {stale:?}"
    );
    assert_eq!(snapshot(store).await, before);
    assert!(ok(store.invitations(expert.id).await, "invitations").is_empty());
    assert!(ok(store.pending(10).await, "pending").is_empty());
}

/// A token redeems only with its address key, unused, not cancelled and
/// before it expires; a refused attempt leaves it usable.
pub async fn redemption_checks_address_use_cancellation_and_expiry(store: &dyn Store) {
    let expert = create(store, "hoa.nguyen@example.org").await;
    let issued = ok(
        store
            .issue_invitation(
                &expert,
                None,
                &new_invitation(&expert, "a", "2025-05-01T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    let key = "hoa.nguyen@example.org";
    let redeem = |hash: String, email: &'static str, when: &'static str| async move {
        ok(
            store.redeem_invitation(&hash, email, at(when)).await,
            "redeem_invitation",
        )
    };
    assert_eq!(
        redeem(hash_of("a"), "other@example.net", "2025-05-02T00:00:00Z").await,
        None
    );
    assert_eq!(
        redeem(hash_of("zz"), key, "2025-05-02T00:00:00Z").await,
        None
    );
    assert_eq!(
        redeem(hash_of("a"), key, "2025-05-15T00:00:00Z").await,
        None
    );
    assert_eq!(
        ok(store.invitations(expert.id).await, "invitations"),
        std::slice::from_ref(&issued.invitation),
        "refused redemptions change nothing"
    );
    assert_eq!(
        redeem(hash_of("a"), key, "2025-05-14T23:59:59.999999Z").await,
        Some(expert.id)
    );
    assert_eq!(
        redeem(hash_of("a"), key, "2025-05-14T23:59:59.999999Z").await,
        None
    );
    let listed = ok(store.invitations(expert.id).await, "invitations");
    assert_eq!(listed[0].used_at, Some(at("2025-05-14T23:59:59.999999Z")));

    // A cancelled token never redeems; a used one is not cancelled later.
    let second = ok(
        store
            .issue_invitation(
                &issued.expert,
                None,
                &new_invitation(&expert, "b", "2025-05-03T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    ok(
        store
            .issue_invitation(
                &second.expert,
                None,
                &new_invitation(&expert, "c", "2025-05-04T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    assert_eq!(
        redeem(hash_of("b"), key, "2025-05-05T00:00:00Z").await,
        None
    );
    assert_eq!(
        redeem(hash_of("c"), key, "2025-05-05T00:00:00Z").await,
        Some(expert.id)
    );
    let listed = ok(store.invitations(expert.id).await, "invitations");
    assert_eq!(listed[0].cancelled_at, None);
    assert_eq!(listed[1].cancelled_at, Some(at("2025-05-04T00:00:00Z")));
}

/// Of several redemptions of one token at once, exactly one succeeds.
pub async fn concurrent_redemptions_of_one_token_succeed_once(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    ok(
        store
            .issue_invitation(
                &expert,
                None,
                &new_invitation(&expert, "a", "2025-05-01T00:00:00Z"),
            )
            .await,
        "issue_invitation",
    );
    let hash = hash_of("a");
    let attempt = || store.redeem_invitation(&hash, "ana@example.org", at("2025-05-02T00:00:00Z"));
    let (a, b, c, d) = tokio::join!(attempt(), attempt(), attempt(), attempt());
    let won: Vec<ExpertId> = [a, b, c, d]
        .into_iter()
        .filter_map(|r| ok(r, "redeem_invitation"))
        .collect();
    assert_eq!(won, [expert.id]);
}

/// A reminder is queued once per expert and term; messages are listed
/// oldest first until marked sent, and marking twice is reported.
pub async fn reminders_are_queued_once_per_term_and_marked_sent(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let bo = create(store, "bo@example.org").await;
    let remind = |expert: ExpertId, last: &'static str, when: &'static str| async move {
        ok(
            store
                .enqueue_reminder(expert, day(last), "ana@example.org", at(when))
                .await,
            "enqueue_reminder",
        )
    };
    let first = remind(ana.id, "2026-02-28", "2026-01-29T00:00:00Z")
        .await
        .expect("a first reminder");
    assert_eq!(
        first,
        OutboxMessage {
            id: first.id,
            expert: ana.id,
            address: "ana@example.org".into(),
            notice: Notice::Reminder {
                term_last_day: day("2026-02-28"),
            },
            queued_at: at("2026-01-29T00:00:00Z"),
            sent_at: None,
        }
    );
    assert_eq!(
        remind(ana.id, "2026-02-28", "2026-01-30T00:00:00Z").await,
        None
    );
    let other_term = remind(ana.id, "2027-02-28", "2027-01-29T00:00:00Z")
        .await
        .expect("a reminder for the next term");
    let bo_first = remind(bo.id, "2026-02-28", "2026-01-29T00:00:01Z")
        .await
        .expect("a reminder for another expert");
    let unknown = store
        .enqueue_reminder(
            ExpertId(bo.id.0 + 1),
            day("2026-02-28"),
            "x@example.org",
            at("2026-01-29T00:00:00Z"),
        )
        .await;
    assert!(
        matches!(
            unknown,
            Err(StoreError::NotFound {
                entity: "expert",
                ..
            })
        ),
        "reminder for an unknown expert: {unknown:?}"
    );

    assert_eq!(
        ok(store.pending(10).await, "pending"),
        [first.clone(), other_term.clone(), bo_first.clone()]
    );
    assert_eq!(
        ok(store.pending(1).await, "pending"),
        std::slice::from_ref(&first)
    );
    assert!(ok(
        store.mark_sent(first.id, at("2026-01-29T01:00:00Z")).await,
        "mark_sent"
    ));
    assert!(!ok(
        store.mark_sent(first.id, at("2026-01-29T02:00:00Z")).await,
        "mark_sent"
    ));
    assert_eq!(
        ok(store.pending(10).await, "pending"),
        [other_term, bo_first.clone()]
    );
    let missing = store
        .mark_sent(bo_first.id + 100, at("2026-01-29T01:00:00Z"))
        .await;
    assert!(
        matches!(
            missing,
            Err(StoreError::NotFound {
                entity: "outbox message",
                ..
            })
        ),
        "marking an unknown message: {missing:?}"
    );
}

/// Revocation requests are kept with their decisions; accepting one
/// replaces the expert with its audit entry in the same transaction, and a
/// request is decided once.
pub async fn revocation_requests_and_decisions_are_kept(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let bo = create(store, "bo@example.org").await;
    let ask = |expert: ExpertId, by: &str, when: &str| NewRevocationRequest {
        expert,
        requested_by: by.into(),
        reason: "ไม่สามารถรับภารกิจได้อีก".into(),
        requested_at: at(when),
    };
    let first = ok(
        store
            .request_revocation(&ask(
                ana.id,
                &format!("expert:{}", ana.id),
                "2025-06-01T00:00:00Z",
            ))
            .await,
        "request_revocation",
    );
    let second = ok(
        store
            .request_revocation(&ask(bo.id, "participant:AUS", "2025-06-02T00:00:00Z"))
            .await,
        "request_revocation",
    );
    let third = ok(
        store
            .request_revocation(&ask(ana.id, "participant:AUS", "2025-06-03T00:00:00Z"))
            .await,
        "request_revocation",
    );
    assert!(first.id < second.id && second.id < third.id);
    assert_eq!(first.decision, None);
    assert_eq!(first.requested_by, "expert:E-0001");
    let unknown = store
        .request_revocation(&ask(
            ExpertId(bo.id.0 + 1),
            "rso:officer-1",
            "2025-06-01T00:00:00Z",
        ))
        .await;
    assert!(
        matches!(
            unknown,
            Err(StoreError::NotFound {
                entity: "expert",
                ..
            })
        ),
        "request for an unknown expert: {unknown:?}"
    );
    assert_eq!(
        ok(store.revocation_requests(None).await, "revocation_requests"),
        [first.clone(), second.clone(), third.clone()]
    );
    assert_eq!(
        ok(
            store.revocation_requests(Some(ana.id)).await,
            "revocation_requests"
        ),
        [first.clone(), third.clone()]
    );

    let refusal = RevocationDecision {
        decided_by: "rso:officer-1".into(),
        accepted: false,
        reason: "the request gives no reason the RSO can act on".into(),
        decided_at: at("2025-06-04T00:00:00Z"),
    };
    let refused = ok(
        store.decide_revocation(second.id, &refusal, None).await,
        "decide_revocation",
    );
    assert_eq!(refused.decision.as_ref(), Some(&refusal));

    let acceptance = RevocationDecision {
        accepted: true,
        reason: "asked by the expert".into(),
        ..refusal.clone()
    };
    let mut revoked = ana.clone();
    revoked.status = Status::Revoked;
    let audit = draft(
        "rso:officer-1",
        "2025-06-04T00:00:00Z",
        Some(Status::Nominated),
        Status::Revoked,
        "asked by the expert",
    );
    let accepted = ok(
        store
            .decide_revocation(first.id, &acceptance, Some((&revoked, audit.clone())))
            .await,
        "decide_revocation",
    );
    assert_eq!(accepted.decision, Some(acceptance.clone()));
    let stored = ok(store.expert(ana.id).await, "expert").expect("the expert");
    assert_eq!((stored.status, stored.version), (Status::Revoked, 2));
    let trail = ok(store.audit_trail(Some(ana.id)).await, "audit_trail");
    assert_eq!(trail.last().map(|e| &e.change), Some(&audit));

    let unknown_id = third.id + 100;
    let again = store.decide_revocation(first.id, &refusal, None).await;
    expect_duplicate(again, "revocation decision", "request", "deciding twice");
    let missing = store.decide_revocation(unknown_id, &refusal, None).await;
    assert!(
        matches!(
            missing,
            Err(StoreError::NotFound {
                entity: "revocation request",
                ..
            })
        ),
        "deciding an unknown request: {missing:?}"
    );
    assert_eq!(
        ok(
            store.revocation_request(first.id).await,
            "revocation_request"
        ),
        Some(accepted)
    );
    assert_eq!(
        ok(
            store.revocation_request(third.id).await,
            "revocation_request"
        ),
        Some(third)
    );
    assert_eq!(
        ok(
            store.revocation_request(unknown_id).await,
            "revocation_request"
        ),
        None
    );
}

/// A decision whose expert change is stale fails with `Conflict` and
/// records neither the decision nor the change.
pub async fn stale_revocation_decision_changes_nothing(store: &dyn Store) {
    let ana = create(store, "ana@example.org").await;
    let request = ok(
        store
            .request_revocation(&NewRevocationRequest {
                expert: ana.id,
                requested_by: "participant:AUS".into(),
                reason: "left public service".into(),
                requested_at: at("2025-06-01T00:00:00Z"),
            })
            .await,
        "request_revocation",
    );
    let mut moved = ana.clone();
    moved.status = Status::Invited;
    ok(store.update_expert(&moved, None).await, "update_expert");
    let before = snapshot(store).await;
    let mut revoked = ana.clone();
    revoked.status = Status::Revoked;
    let decision = RevocationDecision {
        decided_by: "rso:officer-1".into(),
        accepted: true,
        reason: "left public service".into(),
        decided_at: at("2025-06-02T00:00:00Z"),
    };
    let audit = draft(
        "rso:officer-1",
        "2025-06-02T00:00:00Z",
        Some(Status::Nominated),
        Status::Revoked,
        "left public service",
    );
    let stale = store
        .decide_revocation(request.id, &decision, Some((&revoked, audit)))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "stale decision: {stale:?}"
    );
    assert_eq!(snapshot(store).await, before);
    assert_eq!(
        ok(
            store.revocation_request(request.id).await,
            "revocation_request"
        ),
        Some(request)
    );
}

/// Every stored record and audit entry, to show that a refused change
/// changed nothing.
/// An engagement of an expert or on a request that was never stored fails
/// with `NotFound` naming the missing record, and stores nothing.
pub async fn engagement_needs_a_stored_expert_and_request(store: &dyn Store) {
    let expert = create(store, "bo@example.org").await;
    let stored = saved_request(store, "R-1", "2025-09-01", "2025-09-05").await;
    let unsaved = request("R-2", range("2025-10-01", "2025-10-05"));
    match store
        .create_engagement(&engage(&unsaved, expert.id, EngagementState::Proposed))
        .await
    {
        Err(StoreError::NotFound { entity, id }) => {
            assert_eq!((entity, id.as_str()), ("request", "KHM/R-2"));
        }
        other => panic!("engagement on a missing request: expected NotFound, got {other:?}"),
    }
    match store
        .create_engagement(&engage(&stored, ExpertId(999), EngagementState::Accepted))
        .await
    {
        Err(StoreError::NotFound { entity, id }) => {
            assert_eq!((entity, id), ("expert", ExpertId(999).to_string()));
        }
        other => panic!("engagement of a missing expert: expected NotFound, got {other:?}"),
    }
    assert!(ok(store.engagements(None).await, "engagements").is_empty());
}

/// A completed engagement stored without feedback, by creation or by
/// update, reads back with no feedback from every read.
pub async fn completed_engagement_without_feedback_reads_none(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let june = saved_request(store, "R-1", "2025-06-01", "2025-06-05").await;
    let july = saved_request(store, "R-2", "2025-07-01", "2025-07-10").await;
    ok(
        store
            .create_engagement(&engage(&june, expert.id, EngagementState::Completed))
            .await,
        "create_engagement",
    );
    let accepted = ok(
        store
            .create_engagement(&engage(&july, expert.id, EngagementState::Accepted))
            .await,
        "create_engagement",
    );
    let completed = ok(
        store
            .update_engagement(&Engagement {
                state: EngagementState::Completed,
                ..accepted
            })
            .await,
        "update_engagement",
    );
    assert_eq!(completed.feedback, None);
    for read in [
        ok(store.engagements(None).await, "engagements"),
        ok(store.engagements(Some(expert.id)).await, "engagements"),
    ] {
        let states: Vec<(EngagementState, Option<MissionFeedback>)> =
            read.into_iter().map(|e| (e.state, e.feedback)).collect();
        assert_eq!(
            states,
            [
                (EngagementState::Completed, None),
                (EngagementState::Completed, None)
            ]
        );
    }
}

/// Feedback comes back exactly as stored, rating, comment in any script,
/// who and when to the microsecond, whether it was stored with the
/// engagement or added by an update; feedback without a comment reads back
/// without one.
pub async fn feedback_round_trips_exactly(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let june = saved_request(store, "R-1", "2025-06-01", "2025-06-05").await;
    let july = saved_request(store, "R-2", "2025-07-01", "2025-07-10").await;
    let august = saved_request(store, "R-3", "2025-08-01", "2025-08-03").await;

    // Thai, Arabic, Han, Vietnamese with stacked diacritics (in NFC), an
    // emoji outside the Basic Multilingual Plane, quotes and a backslash.
    let scripts = feedback(
        5,
        Some("ผู้เชี่ยวชาญทำงานดีมาก · خبير ممتاز · 非常专业 · Nguyễn Thị Ánh 👍 \"O'Brien\" \\ 100%"),
        "rso:officer-7",
        "2025-07-11T09:30:15.123456Z",
    );
    let imported = Engagement {
        feedback: Some(feedback(1, None, "rso:import", "2025-06-06T00:00:00Z")),
        ..engage(&june, expert.id, EngagementState::Completed)
    };
    let created = ok(
        store.create_engagement(&imported).await,
        "create_engagement",
    );
    assert_eq!(created, imported);

    let accepted = ok(
        store
            .create_engagement(&engage(&july, expert.id, EngagementState::Accepted))
            .await,
        "create_engagement",
    );
    let completed = ok(
        store
            .update_engagement(&Engagement {
                state: EngagementState::Completed,
                feedback: Some(scripts.clone()),
                ..accepted
            })
            .await,
        "update_engagement",
    );
    assert_eq!(completed.feedback.as_ref(), Some(&scripts));
    assert_eq!(completed.version, 2);

    // Completed first, feedback added by a later update.
    let bare = ok(
        store
            .create_engagement(&engage(&august, expert.id, EngagementState::Completed))
            .await,
        "create_engagement",
    );
    let late = feedback(
        3,
        Some("Arrived late; the workshop went well."),
        "rso:officer-1",
        "2025-08-20T23:59:59.999999Z",
    );
    let with_late = ok(
        store
            .update_engagement(&Engagement {
                feedback: Some(late.clone()),
                ..bare
            })
            .await,
        "update_engagement",
    );
    assert_eq!(with_late.version, 2);

    let want = [created, completed, with_late];
    assert_eq!(ok(store.engagements(None).await, "engagements"), want);
    assert_eq!(
        ok(store.engagements(Some(expert.id)).await, "engagements"),
        want
    );
    let read = ok(store.engagements(None).await, "engagements");
    assert_eq!(read[1].feedback.as_ref(), Some(&scripts));
    assert_eq!(read[2].feedback.as_ref(), Some(&late));
}

/// Of two updates made against one version, the second fails with
/// `Conflict` and the feedback the first recorded stays as it was.
pub async fn stale_feedback_update_keeps_the_recorded_feedback(store: &dyn Store) {
    let expert = create(store, "ana@example.org").await;
    let req = saved_request(store, "R-1", "2025-07-01", "2025-07-10").await;
    let read = ok(
        store
            .create_engagement(&engage(&req, expert.id, EngagementState::Completed))
            .await,
        "create_engagement",
    );
    let first = feedback(
        4,
        Some("Clear advice"),
        "rso:officer-1",
        "2025-07-12T08:00:00Z",
    );
    let stored = ok(
        store
            .update_engagement(&Engagement {
                feedback: Some(first.clone()),
                ..read.clone()
            })
            .await,
        "update_engagement",
    );
    let second = Engagement {
        feedback: Some(feedback(
            2,
            Some("Unclear advice"),
            "rso:officer-2",
            "2025-07-12T08:00:01Z",
        )),
        ..read
    };
    match store.update_engagement(&second).await {
        Err(StoreError::Conflict {
            entity,
            expected,
            current,
            ..
        }) => assert_eq!((entity, expected, current), ("engagement", 1, 2)),
        other => panic!("stale feedback update: expected Conflict, got {other:?}"),
    }
    assert_eq!(ok(store.engagements(None).await, "engagements"), [stored]);
}

async fn snapshot(store: &dyn Store) -> (Vec<Expert>, Vec<AuditEntry>, Vec<Engagement>) {
    (
        ok(store.experts().await, "experts"),
        ok(store.audit_trail(None).await, "audit_trail"),
        ok(store.engagements(None).await, "engagements"),
    )
}

async fn assert_reads_back(store: &dyn Store, expert: &Expert) {
    assert_eq!(
        ok(store.expert(expert.id).await, "expert").as_ref(),
        Some(expert),
        "read by id"
    );
    assert_eq!(
        ok(
            store
                .expert_by_identity(&expert.profile.identity_key())
                .await,
            "expert_by_identity"
        )
        .as_ref(),
        Some(expert),
        "read by identity"
    );
    let listed = ok(store.experts().await, "experts");
    assert_eq!(
        listed.iter().find(|e| e.id == expert.id),
        Some(expert),
        "read in the list"
    );
    let with_status = ok(
        store.experts_with_status(expert.status).await,
        "experts_with_status",
    );
    assert_eq!(
        with_status.iter().find(|e| e.id == expert.id),
        Some(expert),
        "read by status"
    );
}

async fn create(store: &dyn Store, email: &str) -> Expert {
    ok(
        store
            .create_expert(nominated(profile(email)), created_as(Status::Nominated))
            .await,
        "create_expert",
    )
}

async fn saved_request(store: &dyn Store, id: &str, first: &str, last: &str) -> MissionRequest {
    let req = request(id, range(first, last));
    assert!(ok(store.save_request(&req).await, "save_request"));
    req
}

fn engage(request: &MissionRequest, expert: ExpertId, state: EngagementState) -> Engagement {
    Engagement {
        request_id: request.key(),
        expert,
        window: request.window,
        state,
        version: 1,
        feedback: None,
    }
}

fn feedback(rating: u8, comment: Option<&str>, by: &str, when: &str) -> MissionFeedback {
    MissionFeedback {
        rating,
        comment: comment.map(Into::into),
        recorded_by: by.into(),
        recorded_at: at(when),
    }
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a valid instant in the suite's data")
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a valid date in the suite's data")
}

fn range(first: &str, last: &str) -> DateRange {
    DateRange {
        first: day(first),
        last: day(last),
    }
}

fn draft(actor: &str, when: &str, from: Option<Status>, to: Status, reason: &str) -> AuditDraft {
    AuditDraft {
        actor: actor.into(),
        at: at(when),
        from,
        to,
        reason: reason.into(),
    }
}

fn created_as(status: Status) -> AuditDraft {
    draft(
        "participant:THA",
        "2025-03-01T02:03:04.5Z",
        None,
        status,
        "nominated",
    )
}

/// An invitation of `expert` with the token `token`, valid 14 days.
fn new_invitation(expert: &Expert, token: &str, issued: &str) -> NewInvitation {
    let issued_at = at(issued);
    NewInvitation {
        expert: expert.id,
        token_hash: hash_of(token),
        email_key: crate::contact::email_key(&expert.profile.email),
        address: expert.profile.email.clone(),
        issued_at,
        expires_at: issued_at + chrono::TimeDelta::days(14),
    }
}

fn hash_of(token: &str) -> String {
    crate::invitation::token_hash(token)
}

/// The trail these changes make, numbered from 1 and sealed.
fn chained(changes: Vec<(ExpertId, AuditDraft)>) -> Vec<AuditEntry> {
    let mut trail: Vec<AuditEntry> = Vec::new();
    for (expert, change) in changes {
        let prev = trail
            .last()
            .and_then(|e| e.seal.as_ref())
            .map_or(GENESIS.to_owned(), |s| s.hash.clone());
        trail.push(AuditEntry::sealed(
            trail.len() as i64 + 1,
            expert,
            change,
            &prev,
        ));
    }
    trail
}

fn nominated(profile: Profile) -> NewExpert {
    NewExpert {
        status: Status::Nominated,
        profile,
        nominations: vec![NominationRecord {
            call_year: 2025,
            nominator: "AUS".into(),
            received_at: at("2025-02-10T09:30:00Z"),
        }],
        term: None,
    }
}

fn person(
    full: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
    order: NameOrder,
    latin: Option<&str>,
) -> PersonName {
    PersonName {
        full: full.map(Into::into),
        given: given.map(Into::into),
        family: family.map(Into::into),
        order,
        latin: latin.map(Into::into),
    }
}

/// A small profile: the fields every expert has.
fn profile(email: &str) -> Profile {
    Profile {
        name: person(
            None,
            Some("Ana"),
            Some("Silva"),
            NameOrder::GivenFirst,
            None,
        ),
        email: email.into(),
        phone: None,
        date_of_birth: None,
        nationality: None,
        organisation: Organisation {
            name: "Ministry of Home Affairs".into(),
            sector: Sector::Government,
            state: Some("IDN".into()),
        },
        experience: vec![ExperiencePeriod {
            from: day("2015-01-01"),
            to: None,
            role: "Adviser".into(),
            themes: vec!["A".into()],
            competencies: vec!["advice".into()],
            countries: Vec::new(),
        }],
        referees: vec![Referee {
            name: person(Some("Budi"), None, None, NameOrder::NoFamilyName, None),
            position: "Director".into(),
            organisation: Organisation {
                name: "Ministry of Home Affairs".into(),
                sector: Sector::Government,
                state: Some("IDN".into()),
            },
            email: "budi@example.go.id".into(),
        }],
        languages: vec![LanguageSkill {
            tag: "en".into(),
            level: Level::C1,
        }],
        availability: Availability {
            available: true,
            authorised: true,
            unavailable: Vec::new(),
        },
    }
}

/// A profile with every optional field set and every list non-empty.
fn full_profile() -> Profile {
    Profile {
        name: person(
            Some("สมชาย ใจดี"),
            Some("สมชาย"),
            Some("ใจดี"),
            NameOrder::GivenFirst,
            Some("Somchai Jaidee"),
        ),
        email: "Somchai.J@Example.go.th".into(),
        phone: Some("+66 2 123 4567".into()),
        date_of_birth: Some(day("1975-02-28")),
        nationality: Some("THA".into()),
        organisation: Organisation {
            name: "กรมการกงสุล".into(),
            sector: Sector::Government,
            state: Some("THA".into()),
        },
        experience: vec![
            ExperiencePeriod {
                from: day("2008-03-01"),
                to: Some(day("2016-12-31")),
                role: "Protection officer".into(),
                themes: vec!["B.2.3".into(), "D".into()],
                competencies: vec!["advice".into(), "policy-development".into()],
                countries: vec!["THA".into(), "KHM".into()],
            },
            ExperiencePeriod {
                from: day("2017-01-01"),
                to: None,
                role: "ผู้อำนวยการ".into(),
                themes: vec!["F".into()],
                competencies: Vec::new(),
                countries: Vec::new(),
            },
        ],
        referees: vec![
            Referee {
                name: person(
                    None,
                    Some("សុភា"),
                    Some("ចាន់"),
                    NameOrder::FamilyFirst,
                    Some("CHAN Sophea"),
                ),
                position: "Programme manager".into(),
                organisation: Organisation {
                    name: "Legal Aid of Cambodia".into(),
                    sector: Sector::Ngo,
                    state: None,
                },
                email: "sophea@example.org.kh".into(),
            },
            Referee {
                name: person(
                    None,
                    Some("小明"),
                    Some("王"),
                    NameOrder::FamilyFirst,
                    Some("WANG Xiaoming"),
                ),
                position: "Chief of mission".into(),
                organisation: Organisation {
                    name: "International Organization for Migration".into(),
                    sector: Sector::InternationalOrganisation,
                    state: None,
                },
                email: "xwang@example.int".into(),
            },
        ],
        languages: vec![
            LanguageSkill {
                tag: "th".into(),
                level: Level::Native,
            },
            LanguageSkill {
                tag: "en".into(),
                level: Level::C1,
            },
            LanguageSkill {
                tag: "km".into(),
                level: Level::B1,
            },
            LanguageSkill {
                tag: "zh-Hant".into(),
                level: Level::A2,
            },
        ],
        availability: Availability {
            available: true,
            authorised: false,
            unavailable: vec![
                range("2025-12-20", "2026-01-05"),
                range("2026-04-13", "2026-04-15"),
            ],
        },
    }
}

/// A request with every field set.
fn request(id: &str, window: DateRange) -> MissionRequest {
    MissionRequest {
        id: id.into(),
        requester: "KHM".into(),
        title: "ការវាយតម្លៃប្រព័ន្ធគ្រប់គ្រងព្រំដែន".into(),
        themes: vec!["B.2".into(), "E".into()],
        competencies: vec!["advice".into()],
        required_languages: vec![LanguageSkill {
            tag: "en".into(),
            level: Level::B2,
        }],
        desired_languages: vec![LanguageSkill {
            tag: "km".into(),
            level: Level::B1,
        }],
        window,
        place: "KHM".into(),
        experts_wanted: 2,
        excluded: vec![ExpertId(42)],
    }
}
