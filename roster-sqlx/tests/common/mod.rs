//! Checks that both databases run the same way under load: they take a
//! store behind `Arc<dyn Store>` and panic when a promise breaks.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::{AuditDraft, ChainReport, Status, verify_chain};
use roster_core::model::{
    Availability, DateRange, Engagement, EngagementState, Expert, MissionRequest, NameOrder,
    Organisation, PersonName, Profile, Sector,
};
use roster_core::store::{NewExpert, Store};

/// The three `included_at` values of BL-09, as legacy or imported rows
/// hold them, and the instants they name.
pub const BL09: [(&str, &str); 3] = [
    ("2025-03-01 10:00:00", "2025-03-01T10:00:00Z"),
    ("2025-03-01T12:00:00+07:00", "2025-03-01T05:00:00Z"),
    ("2025-03-01T09:00:00Z", "2025-03-01T09:00:00Z"),
];

pub fn instant(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

/// A nominated expert whose organisation name doubles as a counter.
pub fn new_expert(n: usize) -> NewExpert {
    NewExpert {
        status: Status::Nominated,
        profile: Profile {
            name: PersonName {
                full: Some(format!("Expert {n}")),
                given: None,
                family: None,
                order: NameOrder::NoFamilyName,
                latin: None,
            },
            email: format!("expert{n}@example.org"),
            phone: None,
            date_of_birth: None,
            nationality: None,
            organisation: Organisation {
                name: "0".into(),
                sector: Sector::Government,
                state: None,
            },
            experience: Vec::new(),
            referees: Vec::new(),
            languages: Vec::new(),
            availability: Availability::default(),
        },
        nominations: Vec::new(),
        term: None,
    }
}

pub fn draft(from: Option<Status>, to: Status, reason: String) -> AuditDraft {
    AuditDraft {
        actor: "rso:1".into(),
        at: instant("2025-03-01T09:00:00.123456Z"),
        from,
        to,
        reason,
    }
}

pub async fn create(store: &dyn Store, n: usize) -> Expert {
    store
        .create_expert(
            new_expert(n),
            draft(None, Status::Nominated, "nominated".into()),
        )
        .await
        .expect("create an expert")
}

pub fn request(id: &str, first: &str, last: &str) -> MissionRequest {
    MissionRequest {
        id: id.into(),
        requester: "THA".into(),
        title: "Border management review".into(),
        themes: vec!["B.2".into()],
        competencies: Vec::new(),
        required_languages: Vec::new(),
        desired_languages: Vec::new(),
        window: DateRange {
            first: first.parse().expect("a date"),
            last: last.parse().expect("a date"),
        },
        place: "THA".into(),
        experts_wanted: 1,
        excluded: Vec::new(),
    }
}

/// `tasks` tasks make `updates` lifecycle changes between them on four
/// experts, each reading the expert, counting one up in its organisation
/// name, flipping its status and writing it back with the version it read,
/// and reading again after a conflict. Afterwards every expert's counter
/// and version account for every change that succeeded, each success has
/// exactly one audit entry, and every failure was a conflict.
pub async fn lifecycle_changes_lose_nothing(store: Arc<dyn Store>, tasks: usize, updates: usize) {
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(create(store.as_ref(), n).await.id);
    }
    let per_task = updates / tasks;
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let store = Arc::clone(&store);
            let ids = ids.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                let mut conflicts = 0_usize;
                for change in 0..per_task {
                    let id = ids[(task + change) % ids.len()];
                    let reason = format!("task {task} change {change}");
                    loop {
                        let mut expert = store.expert(id).await.expect("read").expect("stored");
                        let count: u64 = expert.profile.organisation.name.parse().expect("count");
                        expert.profile.organisation.name = (count + 1).to_string();
                        let from = expert.status;
                        expert.status = match from {
                            Status::Nominated => Status::Invited,
                            _ => Status::Nominated,
                        };
                        let audit = draft(Some(from), expert.status, reason.clone());
                        match store.update_expert(&expert, Some(audit)).await {
                            Ok(_) => break,
                            Err(StoreError::Conflict { .. }) => conflicts += 1,
                            Err(other) => panic!("task {task}: not a clean conflict: {other:?}"),
                        }
                    }
                    done.push((id, reason));
                }
                (done, conflicts)
            })
        })
        .collect();
    let mut done = Vec::new();
    let mut conflicts = 0;
    for worker in workers {
        let (mine, clashes) = worker.await.expect("a task finished");
        done.extend(mine);
        conflicts += clashes;
    }
    assert_eq!(done.len(), per_task * tasks);
    // With several tasks per expert some reads go stale; the test would
    // prove little if none did.
    assert!(conflicts > 0, "no conflict arose");

    for id in ids {
        let changes: Vec<&String> = done
            .iter()
            .filter(|(expert, _)| *expert == id)
            .map(|(_, reason)| reason)
            .collect();
        let expert = store.expert(id).await.expect("read").expect("stored");
        let count = u64::try_from(changes.len()).expect("a count");
        assert_eq!(expert.version, 1 + count, "version of {id}");
        assert_eq!(expert.profile.organisation.name, count.to_string());

        let trail = store.audit_trail(Some(id)).await.expect("audit trail");
        assert_eq!(trail.len(), 1 + changes.len(), "audit entries of {id}");
        let mut per_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in &trail[1..] {
            *per_reason.entry(entry.change.reason.as_str()).or_default() += 1;
        }
        assert!(per_reason.values().all(|n| *n == 1), "{per_reason:?}");
        assert!(changes.iter().all(|r| per_reason.contains_key(r.as_str())));
    }
    let all = store.audit_trail(None).await.expect("audit trail");
    assert_eq!(all.len(), 4 + per_task * tasks);
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    let want: Vec<i64> = (1..=i64::try_from(all.len()).expect("a count")).collect();
    assert_eq!(seqs, want, "audit numbers have gaps or repeats");
    assert_eq!(verify_chain(&all), ChainReport::Ok { entries: all.len() });
}

/// `n` bookings of one expert on `n` requests whose days overlap, all at
/// once: exactly one is stored, and every other is refused as overlapping.
pub async fn one_of_many_overlapping_bookings_wins(store: Arc<dyn Store>, n: usize) {
    let expert = create(store.as_ref(), 0).await.id;
    let mut requests = Vec::new();
    for i in 0..n {
        // Windows shift by a day, so every pair overlaps but none is equal.
        let first = format!("2025-09-{:02}", 1 + i % 10);
        let last = format!("2025-09-{:02}", 15 + i % 10);
        let request = request(&format!("THA-2025-{i:03}"), &first, &last);
        assert!(store.save_request(&request).await.expect("save request"));
        requests.push(request);
    }
    let bookings: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let engagement = Engagement {
                    request_id: request.key(),
                    expert,
                    window: request.window,
                    state: EngagementState::Accepted,
                    version: 1,
                    feedback: None,
                };
                store.create_engagement(&engagement).await
            })
        })
        .collect();
    let mut stored = 0;
    for booking in bookings {
        match booking.await.expect("a task finished") {
            Ok(_) => stored += 1,
            Err(StoreError::Duplicate {
                entity: "engagement",
                ..
            }) => {}
            Err(other) => panic!("not a clean refusal: {other:?}"),
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(
        store
            .engagements(Some(expert))
            .await
            .expect("engagements")
            .len(),
        1
    );
}

/// BL-18: `n` tasks at once each run one write transaction that reads the
/// expert's bookings, checks them and adds one (days that do not overlap).
/// Every one succeeds and all `n` are stored.
pub async fn simultaneous_writers_all_succeed(store: Arc<dyn Store>, n: usize) {
    let expert = create(store.as_ref(), 0).await.id;
    let mut requests = Vec::new();
    for i in 0..n {
        let day = format!("2026-01-{:02}", 1 + i);
        let request = request(&format!("THA-2026-{i:03}"), &day, &day);
        assert!(store.save_request(&request).await.expect("save request"));
        requests.push(request);
    }
    let writers: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_engagement(&Engagement {
                        request_id: request.key(),
                        expert,
                        window: request.window,
                        state: EngagementState::Accepted,
                        version: 1,
                        feedback: None,
                    })
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer
            .await
            .expect("a task finished")
            .expect("every writer succeeds");
    }
    assert_eq!(
        store
            .engagements(Some(expert))
            .await
            .expect("engagements")
            .len(),
        n
    );
}

/// `tasks` tasks make `attempts` state changes between them on one
/// engagement, each reading it and writing the other non-blocking state
/// against the version it read. Every success stores the next version, so
/// the versions returned are exactly 2 up to the final one, and every
/// failure is a conflict.
pub async fn engagement_changes_lose_nothing(store: Arc<dyn Store>, tasks: usize, attempts: usize) {
    let expert = create(store.as_ref(), 0).await.id;
    let request = request("THA-2025-900", "2025-10-01", "2025-10-05");
    assert!(store.save_request(&request).await.expect("save request"));
    let first = Engagement {
        request_id: request.key(),
        expert,
        window: request.window,
        state: EngagementState::Proposed,
        version: 1,
        feedback: None,
    };
    store.create_engagement(&first).await.expect("create");
    let per_task = attempts / tasks;
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut versions = Vec::new();
                let mut conflicts = 0_usize;
                for _ in 0..per_task {
                    let engagements = store.engagements(Some(expert)).await.expect("read");
                    let [mut read] = <[Engagement; 1]>::try_from(engagements).expect("one");
                    let expected = read.version;
                    read.state = match read.state {
                        EngagementState::Proposed => EngagementState::Declined,
                        _ => EngagementState::Proposed,
                    };
                    match store.update_engagement(&read).await {
                        Ok(stored) => {
                            assert_eq!(stored.version, expected + 1, "task {task}");
                            versions.push(stored.version);
                        }
                        Err(StoreError::Conflict {
                            entity: "engagement",
                            expected: stale,
                            current,
                            ..
                        }) => {
                            assert_eq!(stale, expected);
                            assert!(current > stale, "task {task}: {current} <= {stale}");
                            conflicts += 1;
                        }
                        Err(other) => panic!("task {task}: not a clean conflict: {other:?}"),
                    }
                }
                (versions, conflicts)
            })
        })
        .collect();
    let mut versions = Vec::new();
    let mut conflicts = 0;
    for worker in workers {
        let (mine, clashes) = worker.await.expect("a task finished");
        versions.extend(mine);
        conflicts += clashes;
    }
    assert_eq!(versions.len() + conflicts, per_task * tasks);
    assert!(conflicts > 0, "no conflict arose");
    versions.sort_unstable();
    let successes = u64::try_from(versions.len()).expect("a count");
    let want: Vec<u64> = (2..=1 + successes).collect();
    assert_eq!(versions, want, "a version was stored twice or skipped");
    let stored = store.engagements(Some(expert)).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].version, 1 + successes);
    let declined = successes % 2 == 1;
    assert_eq!(stored[0].state == EngagementState::Declined, declined);
}
