//! The PostgreSQL store under the same pressure as SQLite: instants in
//! mixed forms (BL-09), many writers at once and the errors worth retrying
//! (BL-18), simultaneous bookings, bulk paths and writes that fail
//! half-way. Runs when `ROSTER_TEST_DATABASE_URL` or `DATABASE_URL` names a
//! server; otherwise each test says so on stderr and passes without running.

mod common;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use roster_core::StoreError;
use roster_core::lifecycle::{AuditEntry, ChainReport, Status, verify_chain};
use roster_core::store::{ExpertStore, MissionStore};
use roster_sqlx::postgres::{NaiveTimestampColumn, PgStore, is_retryable};
use roster_sqlx::sqlx;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection};

use common::{BL09, create, draft, instant, new_expert, request};

/// A store in a new schema of its own.
struct Fixture {
    store: PgStore,
    admin: PgPool,
    schema: String,
    options: PgConnectOptions,
}

impl Fixture {
    async fn close(self) {
        self.store.pool().close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }

    /// A connection of its own, outside the store's pool, in the schema.
    async fn connection(&self) -> PgConnection {
        PgConnection::connect_with(&self.options).await.unwrap()
    }
}

async fn open(test: &str) -> Option<Fixture> {
    open_with_pool(test, None).await
}

async fn open_with_pool(test: &str, max_connections: Option<u32>) -> Option<Fixture> {
    let Some(url) = ["ROSTER_TEST_DATABASE_URL", "DATABASE_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
    else {
        // Written to stderr directly: the test harness hides what eprintln!
        // prints in a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL test {test} SKIPPED: set ROSTER_TEST_DATABASE_URL or \
             DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it ***\n"
        );
        return None;
    };
    let admin = PgPool::connect(&url).await.unwrap();
    let salt = RandomState::new().hash_one((std::process::id(), test));
    let schema = format!("roster_check_{salt:016x}");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    // Commits need not wait for the disk here: the tests check what
    // concurrent transactions see, not what survives a power cut.
    let options = PgConnectOptions::from_str(&url).unwrap().options([
        ("search_path", schema.as_str()),
        ("synchronous_commit", "off"),
    ]);
    let store = match max_connections {
        None => PgStore::connect_with(options.clone()).await.unwrap(),
        Some(max) => {
            let pool = PgPoolOptions::new()
                .max_connections(max)
                .connect_with(options.clone())
                .await
                .unwrap();
            let store = PgStore::from_pool(pool);
            store.migrate().await.unwrap();
            store
        }
    };
    Some(Fixture {
        store,
        admin,
        schema,
        options,
    })
}

/// Every row of every table in the schema, as text, in a fixed order.
async fn dump(store: &PgStore) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
         ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let mut dumped: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM \"{table}\" AS t"
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        dumped.sort();
        rows.extend(dumped.into_iter().map(|row| format!("{table}: {row}")));
    }
    rows
}

fn reasons(entries: Vec<AuditEntry>) -> Vec<String> {
    entries.into_iter().map(|e| e.change.reason).collect()
}

#[tokio::test]
async fn bl09_instants_in_mixed_forms_compare_and_read_as_instants() {
    let Some(fx) = open("bl09").await else {
        return;
    };
    let store = &fx.store;
    let expert = create(store, 0).await.id;
    for (raw, _) in BL09 {
        sqlx::query(
            "INSERT INTO audit (seq, expert_id, at, actor, to_status, reason)
             SELECT MAX(seq) + 1, $1, $2::timestamptz, 'import', 'nominated', $2 FROM audit",
        )
        .bind(expert.0)
        .bind(raw)
        .execute(store.pool())
        .await
        .unwrap();
    }
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
    let between = store
        .audit_between(
            Some(instant("2025-03-01T05:00:00Z")),
            Some(instant("2025-03-01T09:00:00.123456Z")),
        )
        .await
        .unwrap();
    assert_eq!(reasons(between), [BL09[1].0, BL09[2].0]);

    let trail = store.audit_trail(Some(expert)).await.unwrap();
    for (raw, utc) in BL09 {
        let entry = trail.iter().find(|e| e.change.reason == raw).unwrap();
        assert_eq!(entry.change.at, instant(utc), "{raw}");
    }
    // Every instant column of the roster is timestamptz.
    let naive: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND data_type = 'timestamp without time zone'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(naive, 0);
    fx.close().await;
}

#[tokio::test]
async fn a_timestamp_without_time_zone_stops_the_store_from_starting() {
    let Some(fx) = open("naive_timestamp").await else {
        return;
    };
    // A host application's own table may use the type; it is not the roster's.
    sqlx::query("CREATE TABLE host_log (at timestamp NOT NULL)")
        .execute(fx.store.pool())
        .await
        .unwrap();
    fx.store.migrate().await.unwrap();

    sqlx::query("ALTER TABLE audit ADD COLUMN legacy_at timestamp")
        .execute(fx.store.pool())
        .await
        .unwrap();
    let err = fx.store.migrate().await.unwrap_err();
    let StoreError::Backend {
        transient: false,
        source,
    } = &err
    else {
        panic!("{err:?}");
    };
    let naive = source.downcast_ref::<NaiveTimestampColumn>().unwrap();
    assert_eq!(
        (naive.table.as_str(), naive.column.as_str()),
        ("audit", "legacy_at")
    );
    assert!(
        source
            .to_string()
            .starts_with("column audit.legacy_at is `timestamp without time zone`")
    );
    let err = PgStore::connect_with(fx.options.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_concurrent_lifecycle_changes_lose_nothing() {
    let Some(fx) = open("lifecycle_changes").await else {
        return;
    };
    common::lifecycle_changes_lose_nothing(Arc::new(fx.store.clone()), 16, 2_000).await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_engagement_changes_lose_nothing() {
    let Some(fx) = open("engagement_changes").await else {
        return;
    };
    common::engagement_changes_lose_nothing(Arc::new(fx.store.clone()), 16, 400).await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bl18_sixteen_writers_on_a_pool_of_eight_all_succeed() {
    let Some(fx) = open_with_pool("bl18", Some(8)).await else {
        return;
    };
    common::simultaneous_writers_all_succeed(Arc::new(fx.store.clone()), 16).await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_simultaneous_overlapping_bookings_one_succeeds() {
    let Some(fx) = open("overlapping_bookings").await else {
        return;
    };
    common::one_of_many_overlapping_bookings_wins(Arc::new(fx.store.clone()), 32).await;
    fx.close().await;
}

fn as_store_error(err: sqlx::Error) -> StoreError {
    StoreError::Backend {
        transient: true,
        source: Box::new(err),
    }
}

fn sqlstate(err: &sqlx::Error) -> String {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
        .unwrap_or_default()
}

/// Rows as written before engagements had feedback read back without
/// any, and the database itself keeps feedback whole (rating, recorder and
/// instant together; a comment only with them) and rated from 1 to 5.
#[tokio::test]
async fn the_database_itself_keeps_feedback_whole_and_in_range() {
    let Some(fx) = open("feedback").await else {
        return;
    };
    let store = &fx.store;
    let expert = create(store, 0).await.id;
    store
        .save_request(&request("A", "2025-09-01", "2025-09-10"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state)
         VALUES ('THA/A', $1, '2025-09-01', '2025-09-10', 'completed')",
    )
    .bind(expert.0)
    .execute(store.pool())
    .await
    .unwrap();
    let before = store.engagements(None).await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!((before[0].version, &before[0].feedback), (1, &None));

    let at = Some("2025-09-11T08:00:00Z");
    let by = Some("rso:officer-1");
    let set = "UPDATE engagements
               SET feedback_rating = $1, feedback_comment = $2, feedback_by = $3,
                   feedback_at = $4::timestamptz
               WHERE request_id = 'THA/A'";
    for (rating, comment, by, at) in [
        (Some(0_i16), None, by, at),
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
        // check_violation
        assert_eq!(sqlstate(&err), "23514", "rating {rating:?}: {err}");
    }
    assert_eq!(store.engagements(None).await.unwrap(), before);
    fx.close().await;
}

#[tokio::test]
async fn the_database_itself_refuses_overlapping_bookings() {
    let Some(fx) = open("exclusion").await else {
        return;
    };
    let store = &fx.store;
    let expert = create(store, 0).await.id;
    for (id, first, last) in [
        ("A", "2025-09-01", "2025-09-10"),
        ("B", "2025-09-10", "2025-09-20"),
    ] {
        store.save_request(&request(id, first, last)).await.unwrap();
    }
    let insert = "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state)
                  VALUES ($1, $2, $3::date, $4::date, $5)";
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
    assert_eq!(sqlstate(&err), "23P01", "{err}");
    // A constraint violation is never retried.
    assert!(!is_retryable(&as_store_error(err)));
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
    assert_eq!(sqlstate(&err), "23P01", "{err}");
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocks_and_serialisation_failures_are_retried_and_nothing_else() {
    let Some(fx) = open("retry_classifier").await else {
        return;
    };
    let store = &fx.store;
    let first = create(store, 0).await.id;
    let second = create(store, 1).await.id;

    // 40P01: two transactions update two rows in opposite order.
    let mut a = fx.connection().await;
    let mut b = fx.connection().await;
    let bump = "UPDATE experts SET status = status WHERE id = $1";
    sqlx::query("BEGIN").execute(&mut a).await.unwrap();
    sqlx::query("BEGIN").execute(&mut b).await.unwrap();
    sqlx::query(bump)
        .bind(first.0)
        .execute(&mut a)
        .await
        .unwrap();
    sqlx::query(bump)
        .bind(second.0)
        .execute(&mut b)
        .await
        .unwrap();
    let (left, right) = tokio::join!(sqlx::query(bump).bind(second.0).execute(&mut a), async {
        // Let the first wait on the lock before the second closes the cycle.
        tokio::time::sleep(Duration::from_millis(100)).await;
        sqlx::query(bump).bind(first.0).execute(&mut b).await
    });
    let deadlock = match (left, right) {
        (Err(err), Ok(_)) | (Ok(_), Err(err)) => err,
        other => panic!("expected one deadlock, got {other:?}"),
    };
    assert_eq!(sqlstate(&deadlock), "40P01", "{deadlock}");
    assert!(is_retryable(&as_store_error(deadlock)));
    sqlx::query("ROLLBACK").execute(&mut a).await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut b).await.unwrap();

    // 40001: at SERIALIZABLE, both read the count, then both write.
    let count = "SELECT COUNT(*) FROM engagements WHERE expert_id = $1";
    for conn in [&mut a, &mut b] {
        sqlx::query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .execute(&mut *conn)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar(count)
            .bind(first.0)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
    sqlx::query(bump)
        .bind(first.0)
        .execute(&mut a)
        .await
        .unwrap();
    sqlx::query("COMMIT").execute(&mut a).await.unwrap();
    let err = sqlx::query(bump)
        .bind(first.0)
        .execute(&mut b)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{err}");
    assert!(is_retryable(&as_store_error(err)));
    sqlx::query("ROLLBACK").execute(&mut b).await.unwrap();

    // 23505 and 23514 are refusals, never retried.
    let err = sqlx::query("UPDATE experts SET identity_key = (SELECT identity_key FROM experts WHERE id = $1) WHERE id = $2")
        .bind(first.0)
        .bind(second.0)
        .execute(&mut a)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23505", "{err}");
    assert!(!is_retryable(&as_store_error(err)));
    let err = sqlx::query("UPDATE experts SET version = 0 WHERE id = $1")
        .bind(first.0)
        .execute(&mut a)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23514", "{err}");
    assert!(!is_retryable(&as_store_error(err)));
    // And so are the store's own refusals.
    let taken = store
        .create_expert(
            new_expert(0),
            draft(None, Status::Nominated, "again".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Duplicate { .. }), "{taken:?}");
    assert!(!is_retryable(&taken));
    a.close().await.unwrap();
    b.close().await.unwrap();
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_half_way_leaves_everything_as_it_was() {
    let Some(fx) = open("half_way").await else {
        return;
    };
    let store = &fx.store;
    let mut expert = create(store, 0).await;
    let before = dump(store).await;
    expert.status = Status::Invited;
    expert.profile.organisation.name = "changed".into();
    let audit = draft(Some(Status::Nominated), Status::Invited, "invited".into());

    // The expert's row is updated first; the audit entry then fails.
    sqlx::query(
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused for the test'; END; $$",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit
         FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let err = store
        .update_expert(&expert, Some(audit.clone()))
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
    assert_eq!(dump(store).await, before);
    sqlx::query("DROP TRIGGER refuse_audit ON audit")
        .execute(store.pool())
        .await
        .unwrap();

    // The connection is killed while the transaction waits in the middle.
    sqlx::query(
        "CREATE FUNCTION stall_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(30); RETURN NEW; END; $$",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER stall_audit BEFORE INSERT ON audit
         FOR EACH ROW EXECUTE FUNCTION stall_audit()",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let writer = {
        let store = store.clone();
        let expert = expert.clone();
        tokio::spawn(async move { store.update_expert(&expert, Some(audit)).await })
    };
    let mut killed = false;
    for _ in 0..100 {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'active'
               AND query LIKE 'INSERT INTO audit%' AND wait_event = 'PgSleep'",
        )
        .fetch_all(&fx.admin)
        .await
        .unwrap();
        if let [pid] = pids[..] {
            let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&fx.admin)
                .await
                .unwrap();
            killed = done;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(killed, "the stalled write never showed up");
    let err = writer.await.unwrap().unwrap_err();
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
    assert!(!is_retryable(&err));
    sqlx::query("DROP TRIGGER stall_audit ON audit")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(dump(store).await, before);
    assert_eq!(store.expert(expert.id).await.unwrap().unwrap().version, 1);
    fx.close().await;
}

#[tokio::test]
async fn a_bulk_import_is_one_pass_and_all_or_nothing() {
    let Some(fx) = open("bulk").await else {
        return;
    };
    let store = &fx.store;
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
    let trail = store.audit_trail(None).await.unwrap();
    assert_eq!(verify_chain(&trail), ChainReport::Ok { entries: 2_500 });
    let seqs: Vec<i64> = trail.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=2_500).collect::<Vec<i64>>());
    assert!(
        trail
            .iter()
            .all(|e| e.change.reason == format!("import {}", e.expert.0 - 1))
    );

    // One taken identity in the last chunk stores nothing at all.
    let before = dump(store).await;
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
    assert_eq!(dump(store).await, before);
    fx.close().await;
}
