//! The storage conformance suite on a SQLite database file, a new file in a
//! new temporary directory for each check.

use std::sync::Arc;

use roster_sqlx::sqlite::SqliteStore;
use tempfile::TempDir;

async fn store_in_temp_dir() -> (Arc<SqliteStore>, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("roster.db"))
        .await
        .expect("a new SQLite roster");
    (Arc::new(store), dir)
}

roster_core::conformance_tests!(store_in_temp_dir);
