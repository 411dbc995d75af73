//! What the SQLite store promises beyond the storage traits: its settings,
//! its migrations, its text forms and how it reports failures.

use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::{AuditDraft, Status};
use roster_core::model::{
    Availability, Call, DateRange, Engagement, EngagementState, ExpertId, NameOrder, Organisation,
    PersonName, Profile, Sector,
};
use roster_core::store::{CallStore, ExpertStore, MissionStore, NewExpert};
use roster_sqlx::sqlite::SqliteStore;
use roster_sqlx::sqlx;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tempfile::TempDir;

async fn open() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("roster.db"))
        .await
        .unwrap();
    (store, dir)
}

fn profile(email: &str) -> Profile {
    Profile {
        name: PersonName {
            full: Some("สมชาย ใจดี".into()),
            given: None,
            family: None,
            order: NameOrder::GivenFirst,
            latin: None,
        },
        email: email.into(),
        phone: None,
        date_of_birth: None,
        nationality: None,
        organisation: Organisation {
            name: "Ministry".into(),
            sector: Sector::Government,
            state: None,
        },
        experience: Vec::new(),
        referees: Vec::new(),
        languages: Vec::new(),
        availability: Availability::default(),
    }
}

fn audit(at: &str) -> AuditDraft {
    AuditDraft {
        actor: "rso:1".into(),
        at: at.parse::<DateTime<Utc>>().unwrap(),
        from: None,
        to: Status::Nominated,
        reason: "nominated".into(),
    }
}

fn new_expert(email: &str) -> NewExpert {
    NewExpert {
        status: Status::Nominated,
        profile: profile(email),
        nominations: Vec::new(),
        term: None,
    }
}

#[tokio::test]
async fn connections_use_wal_foreign_keys_and_wait_on_locks() {
    let (store, _dir) = open().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(busy_timeout >= 5000, "busy_timeout {busy_timeout} ms");
}

/// Opening new files one after another on a runtime with several threads,
/// where the pool's first connections open side by side: every open
/// succeeds. Two connections turning a new file to WAL at once used to
/// find it locked now and then (a few opens in a thousand).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_files_open_without_a_lock_error() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1000 {
        let path = dir.path().join(format!("roster-{i}.db"));
        if let Err(e) = SqliteStore::open(&path).await {
            panic!("open {i} failed: {e:?}");
        }
    }
}

/// Several stores opening one new file at once, as several processes
/// starting together would: every open succeeds and each migration is
/// recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_opening_one_new_file_at_once_all_open() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..40 {
        let path = dir.path().join(format!("roster-{round}.db"));
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { SqliteStore::open(&path).await.map(drop) })
            })
            .collect();
        for (i, open) in opens.into_iter().enumerate() {
            if let Err(e) = open.await.unwrap() {
                panic!("round {round}, store {i}: {e:?}");
            }
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let (recorded, distinct): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT version) FROM roster_migrations WHERE success",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(recorded, distinct, "round {round}");
        assert_eq!(recorded, 6, "round {round}: migrations recorded");
    }
}

#[tokio::test]
async fn reopening_keeps_the_data_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let expert = store
        .create_expert(new_expert("a@example.org"), audit("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    store.pool().close().await;

    let url = format!("sqlite://{}", path.display());
    let again = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(again.expert(expert.id).await.unwrap(), Some(expert));
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roster_migrations")
        .fetch_one(again.pool())
        .await
        .unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(usize::try_from(applied).unwrap(), shipped);
    let default_table: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_optional(again.pool())
            .await
            .unwrap();
    assert_eq!(default_table, None);
}

#[tokio::test]
async fn an_in_memory_database_lasts_as_long_as_the_store() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let expert = store
        .create_expert(new_expert("a@example.org"), audit("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(store.experts().await.unwrap(), [expert]);
}

#[tokio::test]
async fn instants_and_dates_have_one_text_form() {
    let (store, _dir) = open().await;
    let expert = store
        .create_expert(
            new_expert("a@example.org"),
            audit("2025-03-01T09:03:04.5+07:00"),
        )
        .await
        .unwrap();
    store
        .create_call(&Call {
            year: 2025,
            window: DateRange {
                first: "2025-02-01".parse().unwrap(),
                last: "2025-03-31".parse().unwrap(),
            },
            version: 1,
        })
        .await
        .unwrap();
    let at: String = sqlx::query_scalar("SELECT at FROM audit WHERE expert_id = ?")
        .bind(expert.id.0)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(at, "2025-03-01T02:03:04.500000Z");
    let days: (String, String) =
        sqlx::query_as("SELECT first_day, last_day FROM calls WHERE year = 2025")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(days, ("2025-02-01".into(), "2025-03-31".into()));
}

#[tokio::test]
async fn an_undecodable_record_is_corrupt_and_the_message_names_no_one() {
    let (store, _dir) = open().await;
    let expert = store
        .create_expert(new_expert("a@example.org"), audit("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    sqlx::query("UPDATE experts SET record = json_set(record, '$.profile.email', 7)")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE experts SET record = json_set(record, '$.profile.name', 'Somchai')")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.expert(expert.id).await.unwrap_err();
    let StoreError::Corrupt {
        entity: "expert",
        ref id,
        ref message,
    } = err
    else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(id, "E-0001");
    let shown = err.to_string();
    assert!(
        !shown.contains("Somchai") && !shown.contains("example.org"),
        "{shown}"
    );
    assert!(message.contains("line 1 column"), "{message}");
}

#[tokio::test]
async fn a_locked_database_is_a_transient_error() {
    let (store, dir) = open().await;
    let impatient = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join("roster.db"))
                .busy_timeout(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    let impatient = SqliteStore::from_pool(impatient);

    let mut writer = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let call = Call {
        year: 2025,
        window: DateRange {
            first: "2025-02-01".parse().unwrap(),
            last: "2025-03-31".parse().unwrap(),
        },
        version: 1,
    };
    let err = impatient.create_call(&call).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Backend {
                transient: true,
                ..
            }
        ),
        "{err:?}"
    );
    sqlx::query("SELECT 1").execute(&mut *writer).await.unwrap();
    writer.rollback().await.unwrap();
    impatient.create_call(&call).await.unwrap();
}

#[tokio::test]
async fn the_audit_trail_is_append_only() {
    let (store, _dir) = open().await;
    store
        .create_expert(new_expert("a@example.org"), audit("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit SET reason = 'rewritten'")
        .execute(store.pool())
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit").execute(store.pool()).await;
    assert!(delete.is_err());
    assert_eq!(store.audit_trail(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_engagement_needs_a_stored_expert_and_request() {
    let (store, _dir) = open().await;
    let expert = store
        .create_expert(new_expert("a@example.org"), audit("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    let engagement = Engagement {
        request_id: "R-1".into(),
        expert: expert.id,
        window: DateRange {
            first: "2025-07-01".parse().unwrap(),
            last: "2025-07-10".parse().unwrap(),
        },
        state: EngagementState::Accepted,
        version: 1,
        feedback: None,
    };
    let err = store.create_engagement(&engagement).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { entity: "request", ref id } if id == "R-1"),
        "{err:?}"
    );
    let ghost = Engagement {
        expert: ExpertId(99),
        ..engagement
    };
    sqlx::query("INSERT INTO requests (id, requester, record) VALUES ('R-1', 'KHM', '{}')")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.create_engagement(&ghost).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: "expert",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(store.engagements(None).await.unwrap().is_empty());
}
