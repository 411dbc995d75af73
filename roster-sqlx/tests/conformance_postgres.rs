//! The storage conformance suite on PostgreSQL, in a new schema for each
//! check. Runs when `ROSTER_TEST_DATABASE_URL` or `DATABASE_URL` names a
//! server, such as `postgres://postgres@127.0.0.1:5432/test`; otherwise
//! each check says so on stderr and passes without running.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::str::FromStr;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use roster_core::Store;
use roster_core::conformance::Fixture;
use roster_sqlx::postgres::PgStore;
use roster_sqlx::sqlx;
use sqlx::postgres::{PgConnectOptions, PgPool};

/// A store in a schema of its own, dropped when the check passes.
struct PgFixture {
    store: PgStore,
    admin: PgPool,
    schema: String,
}

impl Fixture for PgFixture {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    async fn finish(self) {
        self.store.pool().close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&self.admin)
        .await
        .expect("drop the check's schema");
        self.admin.close().await;
    }
}

fn database_url() -> Option<String> {
    ["ROSTER_TEST_DATABASE_URL", "DATABASE_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
}

/// Says once per run, past the test harness's capture of output, that the
/// suite did not run.
fn warn_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL conformance suite SKIPPED: set ROSTER_TEST_DATABASE_URL \
             or DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it ***\n"
        );
    });
}

/// A schema name no other check, run or process uses.
fn schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt = RandomState::new().hash_one((std::process::id(), n));
    format!("roster_check_{salt:016x}")
}

async fn store_in_new_schema() -> Option<PgFixture> {
    let Some(url) = database_url() else {
        warn_skipped();
        return None;
    };
    let admin = PgPool::connect(&url).await.expect("connect to PostgreSQL");
    let schema = schema_name();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create the check's schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("a PostgreSQL URL")
        .options([("search_path", schema.as_str())]);
    let store = PgStore::connect_with(options)
        .await
        .expect("a new PostgreSQL roster");
    Some(PgFixture {
        store,
        admin,
        schema,
    })
}

roster_core::conformance_tests!(store_in_new_schema);
