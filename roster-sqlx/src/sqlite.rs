//! The roster in a SQLite database.
//!
//! [`SqliteStore::open`] opens (or creates) a database file in WAL mode with
//! foreign keys enforced, and brings its schema up to date. Every write that
//! changes an expert writes its audit entry in the same transaction, and
//! every write transaction takes SQLite's write lock when it begins
//! (`BEGIN IMMEDIATE`), so two writers queue rather than fail half-way
//! through on a lock upgrade. Connections wait up to five seconds for the
//! lock; a write that still finds the database busy is run again, at most
//! three more times after a short random wait. Nothing else is retried.
//!
//! Instants are stored as UTC text to the microsecond
//! (`2025-07-01T08:30:00.000000Z`) and days as `YYYY-MM-DD`, so text order
//! is time order. Instants written in another form (imported or legacy rows,
//! `CURRENT_TIMESTAMP`, an offset) still read back and compare as the
//! instants they name.
//!
//! ```no_run
//! # async fn run() -> Result<(), roster_core::StoreError> {
//! use std::sync::Arc;
//! use roster_core::Roster;
//! use roster_sqlx::sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("roster.db").await?;
//! let roster = Roster::new(Arc::new(store));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_core::Stream;
use futures_util::StreamExt as _;
use roster_core::StoreError;
use roster_core::lifecycle::{AuditDraft, AuditEntry, GENESIS, Status, chain_hash};
use roster_core::model::{Call, Engagement, Expert, ExpertId, MissionRequest};
use roster_core::store::{CallStore, Caps, ExpertStore, MissionStore, NewExpert, check_caps};
use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::codec;
use crate::retry::{retrying, sqlx_source};

mod lifecycle;

/// How long a connection waits for another connection's write lock before
/// giving up with a transient error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The table that records applied migrations, named so that the roster's
/// tables can share a database with a host application's.
const MIGRATIONS_TABLE: &str = "roster_migrations";

/// A roster store in a SQLite database.
///
/// Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing, and
    /// applies any pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        SqliteStore::connect_with(options).await
    }

    /// Opens the database named by a `sqlite:` URL, such as
    /// `sqlite://data/roster.db` or `sqlite::memory:`, creating the file if
    /// missing, and applies any pending migrations.
    ///
    /// An in-memory database lives as long as the store's pool, which keeps
    /// one connection open.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true);
        SqliteStore::connect_with(options).await
    }

    /// Opens a database with these options, turning on WAL mode, foreign
    /// keys and a busy timeout of five seconds, and applies any pending
    /// migrations.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = retrying!(is_retryable, {
            // Turning a new file to WAL takes a lock that SQLite does not
            // wait for, and the pool opens its first connections side by
            // side, so one of them could find the file locked. One
            // connection makes the change first; WAL is kept in the file,
            // so the pool's connections then have nothing to change.
            use sqlx::Connection as _;
            SqliteConnection::connect_with(&options)
                .await
                .map_err(backend)?
                .close()
                .await
                .map_err(backend)?;
            // A local file gains nothing from recycling connections, and an
            // in-memory database would be lost with its last connection.
            SqlitePoolOptions::new()
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.clone())
                .await
                .map_err(backend)
        })?;
        tracing::debug!("connected to the SQLite roster database");
        let store = SqliteStore::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the caller configured. Its connections should
    /// enforce foreign keys (sqlx's default) and wait on locks (a busy
    /// timeout); call [`migrate`](SqliteStore::migrate) before use.
    pub fn from_pool(pool: SqlitePool) -> SqliteStore {
        SqliteStore { pool }
    }

    /// Applies the migrations embedded in this crate that the database has
    /// not seen. They are recorded in the table `roster_migrations`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("migrations/sqlite");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        // sqlx's migrator takes no lock on SQLite: two stores opening one
        // new file at once (two processes, say) may both start a migration,
        // and the one that commits second fails ("table already exists").
        // Each migration and its record commit together, so running again
        // finds it recorded and goes on; a migration that is broken fails
        // again and its error stands.
        retrying!(
            |err: &StoreError| is_retryable(err) || failed_migration(err),
            { migrator.run(&self.pool).await.map_err(migrate_error) }
        )?;
        tracing::info!(
            latest = migrator.iter().map(|m| m.version).max(),
            "roster schema up to date on SQLite"
        );
        Ok(())
    }

    /// The connection pool, for a host application that keeps its own
    /// tables beside the roster's.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a transaction that holds the write lock from its first
    /// statement.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    /// Audit entries made at or after `from` and before `to` (either bound
    /// may be left open), oldest first. Compares instants, not text: an
    /// entry stored in another form than the store writes (such as
    /// `2025-03-01 10:00:00` or `2025-03-01T12:00:00+07:00`) is compared
    /// as the instant it names, to the millisecond.
    pub async fn audit_between(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT seq, expert_id, at, actor, from_status, to_status, reason, prev_hash, hash
             FROM audit
             WHERE (?1 IS NULL OR {AT_UTC} >= ?1) AND (?2 IS NULL OR {AT_UTC} < ?2)
             ORDER BY seq"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from.map(codec::instant_text))
            .bind(to.map(codec::instant_text))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(audit_from_row)
            .collect()
    }

    /// Stores many new experts, each at version 1 with its audit entry, in
    /// one transaction: the input is read once, in chunks of
    /// [`IMPORT_CHUNK`], and each chunk is one multi-row insert of experts
    /// and one of audit entries, sealed onto the audit chain. Returns how
    /// many were stored. When an identity key is taken, in the store or
    /// twice in the input, fails with [`StoreError::Duplicate`] and stores
    /// nothing. Not retried: the input is consumed as it is written.
    pub async fn import_experts<I>(&self, experts: I) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = (NewExpert, AuditDraft)>,
    {
        let mut tx = self.begin_write().await?;
        let result = import_chunks(&mut tx, experts.into_iter()).await;
        finish(tx, result).await
    }

    /// Every expert, ordered by id, read in one pass as the rows arrive
    /// rather than collected first: for building a matching index over a
    /// large roster.
    pub fn experts_stream(&self) -> impl Stream<Item = Result<Expert, StoreError>> + Send + '_ {
        sqlx::query("SELECT id, status, version, record FROM experts ORDER BY id")
            .fetch(&self.pool)
            .map(|row| row.map_err(backend).and_then(|row| expert_from_row(&row)))
    }
}

/// The audit instant as the store's text form, for comparing: a value
/// already in that form as it is, and any other form SQLite's date
/// functions read (a space for `T`, an offset, no fraction) converted to
/// UTC, to the millisecond SQLite keeps. A text comparison alone gets mixed
/// forms wrong: `' '` sorts before `'T'`, and offsets are not applied.
const AT_UTC: &str = "(CASE WHEN at GLOB \
     '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z' \
     THEN at ELSE strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z' END)";

/// How many experts [`SqliteStore::import_experts`] writes per statement:
/// at most nine parameters each, well below SQLite's limit of 32,766 per
/// statement.
pub const IMPORT_CHUNK: usize = 1_000;

async fn import_chunks(
    conn: &mut SqliteConnection,
    mut experts: impl Iterator<Item = (NewExpert, AuditDraft)>,
) -> Result<u64, StoreError> {
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    let mut end = match last {
        Some((seq, hash)) => (seq, hash.unwrap_or_else(|| GENESIS.to_owned())),
        None => (0, GENESIS.to_owned()),
    };
    let mut stored = 0;
    loop {
        let chunk: Vec<(NewExpert, AuditDraft)> = experts.by_ref().take(IMPORT_CHUNK).collect();
        if chunk.is_empty() {
            return Ok(stored);
        }
        stored += import_chunk(conn, &chunk, &mut end).await?;
    }
}

/// One multi-row insert of experts and one of their audit entries. Entries
/// are numbered and sealed in input order after `end` (the last entry's
/// number and hash), which moves on to the last of them.
async fn import_chunk(
    conn: &mut SqliteConnection,
    chunk: &[(NewExpert, AuditDraft)],
    end: &mut (i64, String),
) -> Result<u64, StoreError> {
    let mut rows = Vec::with_capacity(chunk.len());
    for (new, _) in chunk {
        let record = codec::expert_json(&new.profile, &new.nominations, None, new.term.as_ref())?;
        rows.push((new.profile.identity_key(), new, record));
    }
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO experts (identity_key, status, version, term_first, term_last, record) ",
    );
    insert.push_values(&rows, |mut row, (key, new, record)| {
        row.push_bind(key.as_str())
            .push_bind(new.status.as_str())
            .push_bind(1_i64)
            .push_bind(new.term.map(|t| codec::date_text(t.first_day)))
            .push_bind(new.term.map(|t| codec::date_text(t.last_day)))
            .push_bind(record.as_str());
    });
    insert.push(" RETURNING id, identity_key");
    // RETURNING does not promise the input's order, so ids go by key.
    let ids: HashMap<String, i64> = insert
        .build_query_as::<(i64, String)>()
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| unique_or_backend(e, "expert", "identity"))?
        .into_iter()
        .map(|(id, key)| (key, id))
        .collect();
    let mut entries = Vec::with_capacity(chunk.len());
    for ((key, _, _), (_, draft)) in rows.iter().zip(chunk) {
        let id = ids.get(key).copied().ok_or_else(|| {
            codec::corrupt("expert", key.clone(), "imported row not returned".into())
        })?;
        let seq = end.0 + 1;
        let hash = chain_hash(seq, ExpertId(id), draft, &end.1);
        let prev = std::mem::replace(&mut end.1, hash.clone());
        end.0 = seq;
        entries.push((seq, id, draft, prev, hash));
    }
    let mut audit = QueryBuilder::<Sqlite>::new(
        "INSERT INTO audit
             (seq, expert_id, at, actor, from_status, to_status, reason, prev_hash, hash) ",
    );
    audit.push_values(&entries, |mut row, (seq, id, draft, prev, hash)| {
        row.push_bind(*seq)
            .push_bind(*id)
            .push_bind(codec::instant_text(draft.at))
            .push_bind(draft.actor.as_str())
            .push_bind(draft.from.map(Status::as_str))
            .push_bind(draft.to.as_str())
            .push_bind(draft.reason.as_str())
            .push_bind(prev.as_str())
            .push_bind(hash.as_str());
    });
    audit.build().execute(&mut *conn).await.map_err(backend)?;
    Ok(u64::try_from(entries.len()).unwrap_or(u64::MAX))
}

#[async_trait]
impl CallStore for SqliteStore {
    async fn create_call(&self, call: &Call) -> Result<Call, StoreError> {
        sqlx::query("INSERT INTO calls (year, first_day, last_day, version) VALUES (?, ?, ?, 1)")
            .bind(call.year)
            .bind(codec::date_text(call.window.first))
            .bind(codec::date_text(call.window.last))
            .execute(&self.pool)
            .await
            .map_err(|e| unique_or_backend(e, "call", "year"))?;
        Ok(Call {
            version: 1,
            ..call.clone()
        })
    }

    async fn update_call(&self, call: &Call) -> Result<Call, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = update_call(&mut tx, call).await;
            finish(tx, result).await
        })
    }

    async fn call(&self, year: i32) -> Result<Option<Call>, StoreError> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT first_day, last_day, version FROM calls WHERE year = ?")
                .bind(year)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(|(first, last, version)| {
            let id = year.to_string();
            let window = codec::parse_range(&first, &last)
                .map_err(|m| codec::corrupt("call", id.clone(), m))?;
            let version = codec::parse_version("call", &id, version)?;
            Ok(Call {
                year,
                window,
                version,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl ExpertStore for SqliteStore {
    async fn create_expert(&self, new: NewExpert, audit: AuditDraft) -> Result<Expert, StoreError> {
        let id = retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = insert_expert(&mut tx, &new, &audit).await;
            finish(tx, result).await
        })?;
        Ok(Expert {
            id,
            version: 1,
            status: new.status,
            profile: new.profile,
            nominations: new.nominations,
            cv_document: None,
            term: new.term,
        })
    }

    async fn expert(&self, id: ExpertId) -> Result<Option<Expert>, StoreError> {
        sqlx::query("SELECT id, status, version, record FROM experts WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|row| expert_from_row(&row))
            .transpose()
    }

    async fn expert_by_identity(&self, key: &str) -> Result<Option<Expert>, StoreError> {
        sqlx::query("SELECT id, status, version, record FROM experts WHERE identity_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|row| expert_from_row(&row))
            .transpose()
    }

    async fn experts(&self) -> Result<Vec<Expert>, StoreError> {
        sqlx::query("SELECT id, status, version, record FROM experts ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(expert_from_row)
            .collect()
    }

    async fn experts_with_status(&self, status: Status) -> Result<Vec<Expert>, StoreError> {
        sqlx::query("SELECT id, status, version, record FROM experts WHERE status = ? ORDER BY id")
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(expert_from_row)
            .collect()
    }

    async fn update_expert(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Expert, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = replace_expert(&mut tx, expert, audit.as_ref()).await;
            finish(tx, result).await
        })?;
        Ok(Expert {
            version: expert.version + 1,
            ..expert.clone()
        })
    }

    async fn audit_trail(&self, expert: Option<ExpertId>) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match expert {
            Some(id) => {
                sqlx::query(
                    "SELECT seq, expert_id, at, actor, from_status, to_status, reason,
                            prev_hash, hash
                     FROM audit WHERE expert_id = ? ORDER BY seq",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT seq, expert_id, at, actor, from_status, to_status, reason,
                            prev_hash, hash
                     FROM audit ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }
}

#[async_trait]
impl MissionStore for SqliteStore {
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError> {
        let record = codec::request_json(request)?;
        let done = sqlx::query(
            "INSERT INTO requests (id, requester, record) VALUES (?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(request.key())
        .bind(&request.requester)
        .bind(record)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn request(&self, id: &str) -> Result<Option<MissionRequest>, StoreError> {
        let record: Option<String> = sqlx::query_scalar("SELECT record FROM requests WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        record
            .map(|json| codec::request_from_json(id, &json))
            .transpose()
    }

    async fn create_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = insert_engagement(&mut tx, engagement).await;
            finish(tx, result).await
        })
    }

    async fn update_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = update_engagement(&mut tx, engagement, Caps::default()).await;
            finish(tx, result).await
        })
    }

    async fn update_engagement_capped(
        &self,
        engagement: &Engagement,
        caps: Caps,
    ) -> Result<Engagement, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = update_engagement(&mut tx, engagement, caps).await;
            finish(tx, result).await
        })
    }

    async fn engagements(&self, expert: Option<ExpertId>) -> Result<Vec<Engagement>, StoreError> {
        let rows = match expert {
            Some(id) => {
                sqlx::query(
                    "SELECT request_id, expert_id, first_day, last_day, state, version,
                            feedback_rating, feedback_comment, feedback_by, feedback_at
                     FROM engagements WHERE expert_id = ? ORDER BY request_id, expert_id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT request_id, expert_id, first_day, last_day, state, version,
                            feedback_rating, feedback_comment, feedback_by, feedback_at
                     FROM engagements ORDER BY request_id, expert_id",
                )
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(engagement_from_row).collect()
    }
}

/// Commits when `result` is a success and rolls back otherwise.
async fn finish<T>(
    tx: Transaction<'static, Sqlite>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(backend)?;
            Ok(value)
        }
        Err(err) => {
            // The refusal is the error to report; a failed rollback still
            // ends the transaction when the connection goes back to the pool.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback after a refused write failed");
            }
            Err(err)
        }
    }
}

async fn insert_expert(
    conn: &mut SqliteConnection,
    new: &NewExpert,
    audit: &AuditDraft,
) -> Result<ExpertId, StoreError> {
    let record = codec::expert_json(&new.profile, &new.nominations, None, new.term.as_ref())?;
    let done = sqlx::query(
        "INSERT INTO experts (identity_key, status, version, term_first, term_last, record)
         VALUES (?, ?, 1, ?, ?, ?)",
    )
    .bind(new.profile.identity_key())
    .bind(new.status.as_str())
    .bind(new.term.map(|t| codec::date_text(t.first_day)))
    .bind(new.term.map(|t| codec::date_text(t.last_day)))
    .bind(record)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_or_backend(e, "expert", "identity"))?;
    let id = ExpertId(done.last_insert_rowid());
    insert_audit(conn, id, audit).await?;
    Ok(id)
}

async fn replace_expert(
    conn: &mut SqliteConnection,
    expert: &Expert,
    audit: Option<&AuditDraft>,
) -> Result<(), StoreError> {
    let record = codec::expert_json(
        &expert.profile,
        &expert.nominations,
        expert.cv_document.as_deref(),
        expert.term.as_ref(),
    )?;
    // A version beyond i64 was never stored, so -1 (which no row has)
    // stands in for it and the update finds nothing.
    let expected = i64::try_from(expert.version).unwrap_or(-1);
    let done = sqlx::query(
        "UPDATE experts
         SET identity_key = ?, status = ?, version = version + 1,
             term_first = ?, term_last = ?, record = ?
         WHERE id = ? AND version = ?",
    )
    .bind(expert.profile.identity_key())
    .bind(expert.status.as_str())
    .bind(expert.term.map(|t| codec::date_text(t.first_day)))
    .bind(expert.term.map(|t| codec::date_text(t.last_day)))
    .bind(record)
    .bind(expert.id.0)
    .bind(expected)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_or_backend(e, "expert", "identity"))?;
    if done.rows_affected() == 0 {
        return Err(stale_or_missing(conn, expert).await);
    }
    if let Some(audit) = audit {
        insert_audit(conn, expert.id, audit).await?;
    }
    Ok(())
}

/// Why an update matched no row: the expert moved on to another version,
/// or does not exist.
async fn stale_or_missing(conn: &mut SqliteConnection, expert: &Expert) -> StoreError {
    let current: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT version FROM experts WHERE id = ?")
            .bind(expert.id.0)
            .fetch_optional(&mut *conn)
            .await;
    match current {
        Ok(Some(current)) => match u64::try_from(current) {
            Ok(current) => StoreError::Conflict {
                entity: "expert",
                id: expert.id.to_string(),
                expected: expert.version,
                current,
            },
            Err(_) => codec::corrupt(
                "expert",
                expert.id.to_string(),
                format!("version {current} is negative"),
            ),
        },
        Ok(None) => StoreError::NotFound {
            entity: "expert",
            id: expert.id.to_string(),
        },
        Err(e) => backend(e),
    }
}

/// Appends an audit entry, numbered and sealed onto the last entry; the
/// caller's transaction holds the write lock, so no entry can slip in
/// between reading the last one and writing this one.
async fn insert_audit(
    conn: &mut SqliteConnection,
    expert: ExpertId,
    audit: &AuditDraft,
) -> Result<(), StoreError> {
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash.unwrap_or_else(|| GENESIS.to_owned())),
        None => (1, GENESIS.to_owned()),
    };
    let hash = chain_hash(seq, expert, audit, &prev);
    sqlx::query(
        "INSERT INTO audit
             (seq, expert_id, at, actor, from_status, to_status, reason, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(expert.0)
    .bind(codec::instant_text(audit.at))
    .bind(&audit.actor)
    .bind(audit.from.map(Status::as_str))
    .bind(audit.to.as_str())
    .bind(&audit.reason)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Changes a call's window against its version, inside the caller's write
/// transaction.
async fn update_call(conn: &mut SqliteConnection, call: &Call) -> Result<Call, StoreError> {
    let id = call.year.to_string();
    let stored: Option<i64> = sqlx::query_scalar("SELECT version FROM calls WHERE year = ?")
        .bind(call.year)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let Some(stored) = stored else {
        return Err(StoreError::NotFound { entity: "call", id });
    };
    let current = codec::check_version("call", &id, call.version, stored)?;
    sqlx::query(
        "UPDATE calls SET first_day = ?, last_day = ?, version = version + 1 WHERE year = ?",
    )
    .bind(codec::date_text(call.window.first))
    .bind(codec::date_text(call.window.last))
    .bind(call.year)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(Call {
        version: current + 1,
        ..call.clone()
    })
}

/// Refuses a blocking engagement that would share a day with another
/// blocking engagement of the expert. Checked inside the write transaction,
/// so no other booking can slip in between the check and the write.
async fn check_overlap(
    conn: &mut SqliteConnection,
    engagement: &Engagement,
) -> Result<(), StoreError> {
    if !engagement.blocks() {
        return Ok(());
    }
    let others = sqlx::query(
        "SELECT request_id, expert_id, first_day, last_day, state, version,
                feedback_rating, feedback_comment, feedback_by, feedback_at
         FROM engagements WHERE expert_id = ? AND request_id <> ?",
    )
    .bind(engagement.expert.0)
    .bind(&engagement.request_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    for row in &others {
        let other = engagement_from_row(row)?;
        if other.blocks() && other.window.overlaps(&engagement.window) {
            return Err(StoreError::Duplicate {
                entity: "engagement",
                key: "expert and overlapping days",
            });
        }
    }
    Ok(())
}

/// The stored engagements of an engagement's expert and of its request,
/// which [`check_caps`] reads. Read inside the write transaction, so no
/// other booking can slip in between the read and the write.
async fn capped_engagements(
    conn: &mut SqliteConnection,
    engagement: &Engagement,
) -> Result<Vec<Engagement>, StoreError> {
    sqlx::query(
        "SELECT request_id, expert_id, first_day, last_day, state, version,
                feedback_rating, feedback_comment, feedback_by, feedback_at
         FROM engagements WHERE expert_id = ? OR request_id = ?",
    )
    .bind(engagement.expert.0)
    .bind(&engagement.request_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?
    .iter()
    .map(engagement_from_row)
    .collect()
}

async fn insert_engagement(
    conn: &mut SqliteConnection,
    engagement: &Engagement,
) -> Result<Engagement, StoreError> {
    check_overlap(conn, engagement).await?;
    let feedback = codec::FeedbackColumns::of(engagement);
    let written = sqlx::query(
        "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state, version,
                                  feedback_rating, feedback_comment, feedback_by, feedback_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
    )
    .bind(&engagement.request_id)
    .bind(engagement.expert.0)
    .bind(codec::date_text(engagement.window.first))
    .bind(codec::date_text(engagement.window.last))
    .bind(codec::state_name(engagement.state))
    .bind(feedback.rating)
    .bind(feedback.comment)
    .bind(feedback.by)
    .bind(feedback.at.map(codec::instant_text))
    .execute(&mut *conn)
    .await;
    match written {
        Ok(_) => Ok(Engagement {
            version: 1,
            ..engagement.clone()
        }),
        Err(e) if is_kind(&e, ErrorKind::ForeignKeyViolation) => {
            Err(missing_parent(conn, engagement).await)
        }
        Err(e) => Err(unique_or_backend(e, "engagement", "request and expert")),
    }
}

async fn update_engagement(
    conn: &mut SqliteConnection,
    engagement: &Engagement,
    caps: Caps,
) -> Result<Engagement, StoreError> {
    let id = engagement.id();
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM engagements WHERE request_id = ? AND expert_id = ?",
    )
    .bind(&engagement.request_id)
    .bind(engagement.expert.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    let Some(stored) = stored else {
        return Err(StoreError::NotFound {
            entity: "engagement",
            id,
        });
    };
    let current = codec::check_version("engagement", &id, engagement.version, stored)?;
    check_overlap(conn, engagement).await?;
    if caps != Caps::default() && engagement.blocks() {
        let stored = capped_engagements(conn, engagement).await?;
        check_caps(engagement, caps, &stored)?;
    }
    let feedback = codec::FeedbackColumns::of(engagement);
    sqlx::query(
        "UPDATE engagements SET first_day = ?, last_day = ?, state = ?, version = version + 1,
                feedback_rating = ?, feedback_comment = ?, feedback_by = ?, feedback_at = ?
         WHERE request_id = ? AND expert_id = ?",
    )
    .bind(codec::date_text(engagement.window.first))
    .bind(codec::date_text(engagement.window.last))
    .bind(codec::state_name(engagement.state))
    .bind(feedback.rating)
    .bind(feedback.comment)
    .bind(feedback.by)
    .bind(feedback.at.map(codec::instant_text))
    .bind(&engagement.request_id)
    .bind(engagement.expert.0)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(Engagement {
        version: current + 1,
        ..engagement.clone()
    })
}

/// Which of an engagement's request and expert is not stored.
async fn missing_parent(conn: &mut SqliteConnection, engagement: &Engagement) -> StoreError {
    let request: Result<Option<i64>, _> = sqlx::query_scalar("SELECT 1 FROM requests WHERE id = ?")
        .bind(&engagement.request_id)
        .fetch_optional(&mut *conn)
        .await;
    match request {
        Ok(Some(_)) => StoreError::NotFound {
            entity: "expert",
            id: engagement.expert.to_string(),
        },
        Ok(None) => StoreError::NotFound {
            entity: "request",
            id: engagement.request_id.clone(),
        },
        Err(e) => backend(e),
    }
}

fn expert_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Expert, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    let status: &str = row.try_get("status").map_err(backend)?;
    let version: i64 = row.try_get("version").map_err(backend)?;
    let record: &str = row.try_get("record").map_err(backend)?;
    codec::expert_from_columns(id, status, version, record)
}

fn audit_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<AuditEntry, StoreError> {
    let seq: i64 = row.try_get("seq").map_err(backend)?;
    let corrupt = |message: String| codec::corrupt("audit entry", seq.to_string(), message);
    let at: &str = row.try_get("at").map_err(backend)?;
    let from: Option<&str> = row.try_get("from_status").map_err(backend)?;
    let to: &str = row.try_get("to_status").map_err(backend)?;
    Ok(AuditEntry {
        seq,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        change: AuditDraft {
            actor: row.try_get("actor").map_err(backend)?,
            at: codec::parse_instant(at).map_err(corrupt)?,
            from: from.map(codec::parse_status).transpose().map_err(corrupt)?,
            to: codec::parse_status(to).map_err(corrupt)?,
            reason: row.try_get("reason").map_err(backend)?,
        },
        seal: codec::seal(
            row.try_get("prev_hash").map_err(backend)?,
            row.try_get("hash").map_err(backend)?,
        ),
    })
}

fn engagement_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Engagement, StoreError> {
    let request_id: String = row.try_get("request_id").map_err(backend)?;
    let expert = ExpertId(row.try_get("expert_id").map_err(backend)?);
    let first: &str = row.try_get("first_day").map_err(backend)?;
    let last: &str = row.try_get("last_day").map_err(backend)?;
    let state: &str = row.try_get("state").map_err(backend)?;
    let id = format!("{request_id}/{expert}");
    let window =
        codec::parse_range(first, last).map_err(|m| codec::corrupt("engagement", id.clone(), m))?;
    let state =
        codec::parse_state(state).map_err(|m| codec::corrupt("engagement", id.clone(), m))?;
    let version =
        codec::parse_version("engagement", &id, row.try_get("version").map_err(backend)?)?;
    let at: Option<&str> = row.try_get("feedback_at").map_err(backend)?;
    let at = at
        .map(codec::parse_instant)
        .transpose()
        .map_err(|m| codec::corrupt("engagement", id.clone(), m))?;
    let feedback = codec::FeedbackColumns {
        rating: row.try_get("feedback_rating").map_err(backend)?,
        comment: row.try_get("feedback_comment").map_err(backend)?,
        by: row.try_get("feedback_by").map_err(backend)?,
        at,
    }
    .into_feedback(&id)?;
    Ok(Engagement {
        request_id,
        expert,
        window,
        state,
        version,
        feedback,
    })
}

fn is_kind(err: &sqlx::Error, kind: ErrorKind) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == kind)
}

fn unique_or_backend(err: sqlx::Error, entity: &'static str, key: &'static str) -> StoreError {
    if is_kind(&err, ErrorKind::UniqueViolation) {
        StoreError::Duplicate { entity, key }
    } else {
        backend(err)
    }
}

/// SQLite's primary result codes for a lock held elsewhere and for a
/// failed read or write of the file (<https://sqlite.org/rescode.html>).
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_IOERR: i32 = 10;

/// Whether the store runs a write again after this error: the database
/// stayed busy (`SQLITE_BUSY`) past the busy timeout. Constraint
/// violations, conflicts and everything else fail at once.
pub fn is_retryable(err: &StoreError) -> bool {
    matches!(
        sqlx_source(err),
        Some(sqlx::Error::Database(db))
            if db.code().and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| code & 0xff == SQLITE_BUSY)
    )
}

fn backend(err: sqlx::Error) -> StoreError {
    StoreError::Backend {
        transient: is_transient(&err),
        source: Box::new(err),
    }
}

/// Whether waiting and retrying may succeed: lock contention, I/O and lost
/// connections.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            // Extended codes carry the primary code in their low byte.
            .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR)),
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Whether a migration, or recording it, failed as it ran, which a store
/// migrating the same file at the same time can cause.
fn failed_migration(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Backend { source, .. }
            if matches!(
                source.downcast_ref::<sqlx::migrate::MigrateError>(),
                Some(
                    sqlx::migrate::MigrateError::ExecuteMigration(..)
                        | sqlx::migrate::MigrateError::Execute(..)
                )
            )
    )
}

fn migrate_error(err: sqlx::migrate::MigrateError) -> StoreError {
    let transient = match &err {
        sqlx::migrate::MigrateError::Execute(e)
        | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => is_transient(e),
        _ => false,
    };
    StoreError::Backend {
        transient,
        source: Box::new(err),
    }
}
