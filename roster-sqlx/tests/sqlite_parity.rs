//! The SQLite store under the same pressure as PostgreSQL: instants in
//! mixed forms (BL-09), many writers at once (BL-18), simultaneous
//! bookings, bulk paths and writes that fail half-way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use roster_core::StoreError;
use roster_core::lifecycle::{ChainReport, Status, verify_chain};
use roster_core::store::{ExpertStore, MissionStore};
use roster_sqlx::sqlite::SqliteStore;
use roster_sqlx::sqlx;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection as _, Row as _};
use tempfile::TempDir;

use common::{BL09, create, draft, instant, new_expert, request};

async fn open() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("roster.db"))
        .await
        .unwrap();
    (store, dir)
}

/// Every row of every table, as text, in a fixed order.
async fn dump(store: &SqliteStore) -> Vec<String> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        // Each row as its columns' SQL literals, which also covers blobs.
        let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let mut dumped: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {row} FROM \"{table}\""
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        dumped.sort();
        rows.extend(dumped.into_iter().map(|row| format!("{table}: {row}")));
    }
    rows
}

#[tokio::test]
async fn bl09_instants_in_mixed_forms_compare_and_read_as_instants() {
    let (store, _dir) = open().await;
    let expert = create(&store, 0).await.id;
    let written_before: Vec<String> = sqlx::query_scalar("SELECT at FROM audit")
        .fetch_all(store.pool())
        .await
        .unwrap();
    // Written by the library: the one canonical form only.
    assert_eq!(written_before, ["2025-03-01T09:00:00.123456Z"]);

    for (raw, _) in BL09 {
        sqlx::query(
            "INSERT INTO audit (expert_id, at, actor, to_status, reason)
             VALUES (?, ?, 'import', 'nominated', ?)",
        )
        .bind(expert.0)
        .bind(raw)
        .bind(raw)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let reasons = |entries: Vec<roster_core::lifecycle::AuditEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.change.reason).collect()
    };
    let before = store
        .audit_between(None, Some(instant("2025-03-01T06:00:00Z")))
        .await
        .unwrap();
    assert_eq!(reasons(before), [BL09[1].0]);
    let after = store
        .audit_between(Some(instant("2025-03-01T09:30:00Z")), None)
        .await
        .unwrap();
    assert_eq!(reasons(after), [BL09[0].0]);
    // A plain text comparison gets both wrong, as BL-09 says.
    let naive: Vec<String> = sqlx::query_scalar(
        "SELECT reason FROM audit WHERE actor = 'import' AND at < '2025-03-01T06:00:00Z'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(naive, [BL09[0].0]);

    let trail = store.audit_trail(Some(expert)).await.unwrap();
    for (raw, utc) in BL09 {
        let entry = trail.iter().find(|e| e.change.reason == raw).unwrap();
        assert_eq!(entry.change.at, instant(utc), "{raw}");
    }
    // Another library write adds only the canonical form again.
    let mut current = store.expert(expert).await.unwrap().unwrap();
    current.status = Status::Invited;
    store
        .update_expert(
            &current,
            Some(draft(Some(Status::Nominated), Status::Invited, "x".into())),
        )
        .await
        .unwrap();
    let library: Vec<String> = sqlx::query_scalar("SELECT at FROM audit WHERE actor <> 'import'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(
        library,
        ["2025-03-01T09:00:00.123456Z", "2025-03-01T09:00:00.123456Z"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_concurrent_lifecycle_changes_lose_nothing() {
    let (store, _dir) = open().await;
    common::lifecycle_changes_lose_nothing(Arc::new(store), 16, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_engagement_changes_lose_nothing() {
    let (store, _dir) = open().await;
    common::engagement_changes_lose_nothing(Arc::new(store), 16, 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bl18_sixteen_writers_on_a_pool_of_eight_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("roster.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStore::from_pool(pool);
    store.migrate().await.unwrap();
    common::simultaneous_writers_all_succeed(Arc::new(store), 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_simultaneous_overlapping_bookings_one_succeeds() {
    let (store, _dir) = open().await;
    common::one_of_many_overlapping_bookings_wins(Arc::new(store), 32).await;
}

#[tokio::test]
async fn the_database_itself_refuses_overlapping_bookings() {
    let (store, _dir) = open().await;
    let expert = create(&store, 0).await.id;
    for (id, first, last) in [
        ("A", "2025-09-01", "2025-09-10"),
        ("B", "2025-09-10", "2025-09-20"),
    ] {
        store.save_request(&request(id, first, last)).await.unwrap();
    }
    let insert = "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state)
                  VALUES (?, ?, ?, ?, ?)";
    sqlx::query(insert)
        .bind("THA/A")
        .bind(expert.0)
        .bind("2025-09-01")
        .bind("2025-09-10")
        .bind("accepted")
        .execute(store.pool())
        .await
        .unwrap();
    // Past the store's own check, straight into the table.
    let err = sqlx::query(insert)
        .bind("THA/B")
        .bind(expert.0)
        .bind("2025-09-10")
        .bind("2025-09-20")
        .bind("completed")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("engagements_never_overlap"),
        "{err}"
    );
    // A proposal may overlap; accepting it may not.
    sqlx::query(insert)
        .bind("THA/B")
        .bind(expert.0)
        .bind("2025-09-10")
        .bind("2025-09-20")
        .bind("proposed")
        .execute(store.pool())
        .await
        .unwrap();
    let err = sqlx::query("UPDATE engagements SET state = 'accepted' WHERE request_id = 'THA/B'")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("engagements_never_overlap"),
        "{err}"
    );
}

/// Rows as written before engagements had feedback read back without
/// any, and the database itself keeps feedback whole (rating, recorder and
/// instant together; a comment only with them) and rated from 1 to 5.
#[tokio::test]
async fn the_database_itself_keeps_feedback_whole_and_in_range() {
    let (store, _dir) = open().await;
    let expert = create(&store, 0).await.id;
    store
        .save_request(&request("A", "2025-09-01", "2025-09-10"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state)
         VALUES ('THA/A', ?, '2025-09-01', '2025-09-10', 'completed')",
    )
    .bind(expert.0)
    .execute(store.pool())
    .await
    .unwrap();
    let before = store.engagements(None).await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!((before[0].version, &before[0].feedback), (1, &None));

    let at = Some("2025-09-11T08:00:00.000000Z");
    let by = Some("rso:officer-1");
    let set = "UPDATE engagements
               SET feedback_rating = ?, feedback_comment = ?, feedback_by = ?, feedback_at = ?
               WHERE request_id = 'THA/A'";
    for (rating, comment, by, at) in [
        (Some(0_i64), None, by, at),
        (Some(6), Some("too good"), by, at),
        (Some(4), None, None, at),
        (Some(4), None, by, None),
        (None, None, by, at),
        (None, Some("a comment without a rating"), None, None),
    ] {
        let err = sqlx::query(set)
            .bind(rating)
            .bind(comment)
            .bind(by)
            .bind(at)
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("CHECK constraint failed"),
            "rating {rating:?}: {err}"
        );
    }
    assert_eq!(store.engagements(None).await.unwrap(), before);
}

#[tokio::test]
async fn a_write_that_fails_half_way_leaves_everything_as_it_was() {
    let (store, _dir) = open().await;
    let mut expert = create(&store, 0).await;
    let before = dump(&store).await;

    // The expert's row is updated first; the audit entry then fails.
    sqlx::query(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit
         BEGIN SELECT RAISE(ABORT, 'refused for the test'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let trigger_row = dump(&store).await;
    expert.status = Status::Invited;
    expert.profile.organisation.name = "changed".into();
    let err = store
        .update_expert(
            &expert,
            Some(draft(Some(Status::Nominated), Status::Invited, "x".into())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Backend {
                transient: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(dump(&store).await, trigger_row);
    sqlx::query("DROP TRIGGER refuse_audit")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(dump(&store).await, before);

    // A connection that goes away in the middle of a write transaction.
    let path = store.pool().connect_options().get_filename().to_path_buf();
    let mut conn =
        sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path))
            .await
            .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE experts SET version = version + 1, status = 'invited' WHERE id = ?")
        .bind(expert.id.0)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit (expert_id, at, actor, to_status, reason)
         VALUES (?, '2025-03-01T09:00:00.000000Z', 'rso:1', 'invited', 'x')",
    )
    .bind(expert.id.0)
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(dump(&store).await, before);
    // And the store writes again at once: the lock went with the connection.
    let current = store.expert(expert.id).await.unwrap().unwrap();
    assert_eq!(current.version, 1);
}

#[tokio::test]
async fn a_bulk_import_is_one_pass_and_all_or_nothing() {
    let (store, _dir) = open().await;
    let stored = store
        .import_experts((0..2_500).map(|n| {
            (
                new_expert(n),
                draft(None, Status::Nominated, format!("import {n}")),
            )
        }))
        .await
        .unwrap();
    assert_eq!(stored, 2_500);
    let streamed: Vec<_> = store.experts_stream().try_collect().await.unwrap();
    assert_eq!(streamed, store.experts().await.unwrap());
    assert_eq!(streamed.len(), 2_500);
    assert_eq!(streamed[7].profile.email, "expert7@example.org");
    assert_eq!(streamed[7].version, 1);
    let trail = store.audit_trail(None).await.unwrap();
    assert_eq!(verify_chain(&trail), ChainReport::Ok { entries: 2_500 });
    assert!(
        trail
            .iter()
            .all(|e| e.change.reason == format!("import {}", e.expert.0 - 1))
    );

    // One taken identity in the last chunk stores nothing at all.
    let before = dump(&store).await;
    let err = store
        .import_experts((2_500..4_000).chain([7]).map(|n| {
            (
                new_expert(n),
                draft(None, Status::Nominated, format!("import {n}")),
            )
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Duplicate {
                entity: "expert",
                key: "identity"
            }
        ),
        "{err:?}"
    );
    assert_eq!(dump(&store).await, before);
    let row = sqlx::query("SELECT COUNT(*) AS n FROM experts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>("n"), 2_500);
}

/// A store whose connections give up on a held lock after 50 ms.
async fn impatient(dir: &TempDir) -> SqliteStore {
    let pool = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join("roster.db"))
                .busy_timeout(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    SqliteStore::from_pool(pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_is_retried_and_nothing_else() {
    let (store, dir) = open().await;
    let expert = create(&store, 0).await;
    let impatient = impatient(&dir).await;

    // The lock is let go after 80 ms: the first try gives up after 50 ms,
    // a retry gets through.
    let writer = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(80)).await;
        writer.rollback().await.unwrap();
    });
    let mut changed = expert.clone();
    changed.status = Status::Invited;
    let audit = draft(Some(Status::Nominated), Status::Invited, "invited".into());
    impatient
        .update_expert(&changed, Some(audit.clone()))
        .await
        .unwrap();
    release.await.unwrap();

    // Held for longer than every retry waits: the busy error comes out,
    // and it is the one kind that counts as retryable.
    let mut writer = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    changed.version = 2;
    let err = impatient
        .update_expert(&changed, Some(audit.clone()))
        .await
        .unwrap_err();
    assert!(roster_sqlx::sqlite::is_retryable(&err), "{err:?}");
    sqlx::query("SELECT 1").execute(&mut *writer).await.unwrap();
    writer.rollback().await.unwrap();

    // A stale version and a taken identity fail at once.
    let stale = impatient
        .update_expert(&expert, Some(audit))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");
    assert!(!roster_sqlx::sqlite::is_retryable(&stale));
    let taken = impatient
        .create_expert(
            new_expert(0),
            draft(None, Status::Nominated, "again".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Duplicate { .. }), "{taken:?}");
    assert!(!roster_sqlx::sqlite::is_retryable(&taken));
}
