//! The roster in a PostgreSQL database.
//!
//! [`PgStore::connect`] connects to a server and brings the roster's schema
//! up to date. Instants are `timestamptz` (kept to the microsecond) and days
//! are `date`.
//!
//! Transactions run at PostgreSQL's default isolation, READ COMMITTED, and
//! take their locks up front: a write that adds audit entries first locks
//! the audit table, so entries are numbered without gaps in commit order,
//! and a booking first locks its expert's row, so two overlapping bookings
//! cannot both pass the overlap check, nor two acceptances the load cap.
//! The database enforces the overlap rule itself too, with an exclusion
//! constraint on the booked days (extension `btree_gist`, installed in
//! schema `public`). A write transaction that fails with a serialisation
//! failure (40001) or deadlock (40P01) is run again, at most three more
//! times after a short random wait; nothing else is retried.
//!
//! Connections use the time zone UTC, so that a timestamp without an offset
//! means UTC, and [`PgStore::migrate`] refuses a schema in which a roster
//! table has a `timestamp without time zone` column.
//!
//! ```no_run
//! # async fn run() -> Result<(), roster_core::StoreError> {
//! use std::sync::Arc;
//! use roster_core::Roster;
//! use roster_sqlx::postgres::PgStore;
//!
//! let store = PgStore::connect("postgres://roster@localhost/roster").await?;
//! let roster = Roster::new(Arc::new(store));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_core::Stream;
use futures_util::StreamExt as _;
use roster_core::StoreError;
use roster_core::lifecycle::{AuditDraft, AuditEntry, GENESIS, Status, chain_hash};
use roster_core::model::{Call, DateRange, Engagement, Expert, ExpertId, MissionRequest};
use roster_core::store::{CallStore, Caps, ExpertStore, MissionStore, NewExpert, check_caps};
use sqlx::error::ErrorKind;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::codec;

mod lifecycle;
use crate::retry::{retrying, sqlx_source};

/// The table that records applied migrations, named so that the roster's
/// tables can share a database with a host application's.
const MIGRATIONS_TABLE: &str = "roster_migrations";

/// A roster store in a PostgreSQL database.
///
/// Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database named by a `postgres:` URL, such as
    /// `postgres://roster@db.example.org/roster`, and applies any pending
    /// migrations.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        PgStore::connect_with(options).await
    }

    /// Connects with these options and applies any pending migrations. To
    /// keep the roster's tables in a schema of their own, create the schema
    /// and set `search_path` in the options.
    pub async fn connect_with(options: PgConnectOptions) -> Result<PgStore, StoreError> {
        let options = options.options([("TimeZone", "UTC")]);
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .map_err(backend)?;
        tracing::debug!("connected to the PostgreSQL roster database");
        let store = PgStore::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the caller configured; call
    /// [`migrate`](PgStore::migrate) before use. Instants are bound and
    /// read as `timestamptz` whatever the pool's time zone, but raw SQL
    /// with a timestamp that has no offset means UTC only where the
    /// connections set `TimeZone` to `UTC`, as
    /// [`connect_with`](PgStore::connect_with) does.
    pub fn from_pool(pool: PgPool) -> PgStore {
        PgStore { pool }
    }

    /// Applies the migrations embedded in this crate that the database has
    /// not seen. They are recorded in the table `roster_migrations`, in the
    /// first schema of the connection's `search_path`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&self.pool).await.map_err(migrate_error)?;
        check_instant_columns(&self.pool, &migrator).await?;
        tracing::info!(
            latest = migrator.iter().map(|m| m.version).max(),
            "roster schema up to date on PostgreSQL"
        );
        Ok(())
    }

    /// The connection pool, for a host application that keeps its own
    /// tables beside the roster's.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(backend)
    }

    /// Audit entries made at or after `from` and before `to` (either bound
    /// may be left open), oldest first. Compares instants, not text.
    pub async fn audit_between(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        sqlx::query(
            "SELECT seq, expert_id, at, actor, from_status, to_status, reason, prev_hash, hash
             FROM audit
             WHERE ($1::timestamptz IS NULL OR at >= $1)
               AND ($2::timestamptz IS NULL OR at < $2)
             ORDER BY seq",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(audit_from_row)
        .collect()
    }

    /// Stores many new experts, each at version 1 with its audit entry, in
    /// one transaction: the input is read once, in chunks of
    /// [`IMPORT_CHUNK`], and each chunk is one insert of experts and one
    /// of audit entries, sealed onto the audit chain. Returns how many
    /// were stored. When an identity key is taken, in the store or twice in
    /// the input, fails with [`StoreError::Duplicate`] and stores nothing.
    /// Not retried: the input is consumed as it is written.
    pub async fn import_experts<I>(&self, experts: I) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = (NewExpert, AuditDraft)>,
    {
        let mut tx = self.begin().await?;
        let result = import_chunks(&mut tx, experts.into_iter()).await;
        finish(tx, result).await
    }

    /// Every expert, ordered by id, read in one pass as the rows arrive
    /// rather than collected first: for building a matching index over a
    /// large roster.
    pub fn experts_stream(&self) -> impl Stream<Item = Result<Expert, StoreError>> + Send + '_ {
        sqlx::query("SELECT id, status, version, record::text AS record FROM experts ORDER BY id")
            .fetch(&self.pool)
            .map(|row| row.map_err(backend).and_then(|row| expert_from_row(&row)))
    }
}

/// How many experts [`PgStore::import_experts`] writes per statement.
pub const IMPORT_CHUNK: usize = 2_000;

async fn import_chunks(
    conn: &mut PgConnection,
    mut experts: impl Iterator<Item = (NewExpert, AuditDraft)>,
) -> Result<u64, StoreError> {
    lock_audit(conn).await?;
    let mut end = chain_end(conn).await?;
    let mut stored = 0;
    loop {
        let chunk: Vec<(NewExpert, AuditDraft)> = experts.by_ref().take(IMPORT_CHUNK).collect();
        if chunk.is_empty() {
            return Ok(stored);
        }
        stored += import_chunk(conn, &chunk, &mut end).await?;
    }
}

/// The number and hash of the last audit entry, which the next entry is
/// sealed onto; the caller holds the audit lock.
async fn chain_end(conn: &mut PgConnection) -> Result<(i64, String), StoreError> {
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    Ok(match last {
        Some((seq, hash)) => (seq, hash.unwrap_or_else(|| GENESIS.to_owned())),
        None => (0, GENESIS.to_owned()),
    })
}

/// One multi-row insert of experts and one of their audit entries, with
/// the columns bound as arrays. Entries are numbered and sealed in input
/// order after `end`, which moves on to the last of them.
async fn import_chunk(
    conn: &mut PgConnection,
    chunk: &[(NewExpert, AuditDraft)],
    end: &mut (i64, String),
) -> Result<u64, StoreError> {
    let mut keys = Vec::with_capacity(chunk.len());
    let mut statuses = Vec::with_capacity(chunk.len());
    let mut term_first = Vec::with_capacity(chunk.len());
    let mut term_last = Vec::with_capacity(chunk.len());
    let mut records = Vec::with_capacity(chunk.len());
    for (new, _) in chunk {
        keys.push(new.profile.identity_key());
        statuses.push(new.status.as_str());
        term_first.push(new.term.map(|t| t.first_day));
        term_last.push(new.term.map(|t| t.last_day));
        records.push(codec::expert_json(
            &new.profile,
            &new.nominations,
            None,
            new.term.as_ref(),
        )?);
    }
    // A key twice in the input fails here too, as a unique violation.
    let ids: HashMap<String, i64> = sqlx::query_as::<_, (i64, String)>(
        "INSERT INTO experts (identity_key, status, version, term_first, term_last, record)
         SELECT k, s, 1, f, l, r::jsonb
         FROM UNNEST($1::text[], $2::text[], $3::date[], $4::date[], $5::text[])
              WITH ORDINALITY AS e(k, s, f, l, r, n)
         ORDER BY n
         RETURNING id, identity_key",
    )
    .bind(&keys)
    .bind(&statuses)
    .bind(&term_first)
    .bind(&term_last)
    .bind(&records)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| unique_or_backend(e, "expert", "identity"))?
    .into_iter()
    .map(|(id, key)| (key, id))
    .collect();

    let mut seqs = Vec::with_capacity(chunk.len());
    let mut experts = Vec::with_capacity(chunk.len());
    let mut prev_hashes = Vec::with_capacity(chunk.len());
    let mut hashes = Vec::with_capacity(chunk.len());
    for (key, (_, audit)) in keys.iter().zip(chunk) {
        // RETURNING does not promise the input's order, so ids go by key.
        let id = ids.get(key).copied().ok_or_else(|| {
            codec::corrupt("expert", key.clone(), "imported row not returned".into())
        })?;
        let seq = end.0 + 1;
        let hash = chain_hash(seq, ExpertId(id), audit, &end.1);
        seqs.push(seq);
        experts.push(id);
        prev_hashes.push(std::mem::replace(&mut end.1, hash.clone()));
        hashes.push(hash);
        end.0 = seq;
    }
    let done = sqlx::query(
        "INSERT INTO audit
             (seq, expert_id, at, actor, from_status, to_status, reason, prev_hash, hash)
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::timestamptz[], $4::text[],
                              $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])",
    )
    .bind(&seqs)
    .bind(&experts)
    .bind(column(chunk, |a| a.at))
    .bind(column(chunk, |a| a.actor.as_str()))
    .bind(column(chunk, |a| a.from.map(Status::as_str)))
    .bind(column(chunk, |a| a.to.as_str()))
    .bind(column(chunk, |a| a.reason.as_str()))
    .bind(&prev_hashes)
    .bind(&hashes)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected())
}

/// One field of every audit draft in a chunk, to bind as an array.
fn column<'a, T>(
    chunk: &'a [(NewExpert, AuditDraft)],
    field: impl Fn(&'a AuditDraft) -> T,
) -> Vec<T> {
    chunk.iter().map(|(_, audit)| field(audit)).collect()
}

/// A roster column that keeps instants without a time zone.
#[derive(Debug, thiserror::Error)]
#[error(
    "column {table}.{column} is `timestamp without time zone`; the roster keeps instants as \
     `timestamptz`, and a column without a zone reads back shifted by the session's zone"
)]
pub struct NaiveTimestampColumn {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
}

/// Refuses a schema in which a table the migrations create has a
/// `timestamp without time zone` column.
async fn check_instant_columns(
    pool: &PgPool,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let tables: Vec<String> = migrator
        .iter()
        .flat_map(|m| created_tables(m.sql.as_str()))
        .collect();
    let naive: Option<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ANY($1)
           AND data_type = 'timestamp without time zone'
         ORDER BY table_name, column_name
         LIMIT 1",
    )
    .bind(&tables)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    match naive {
        Some((table, column)) => Err(StoreError::Backend {
            transient: false,
            source: Box::new(NaiveTimestampColumn { table, column }),
        }),
        None => Ok(()),
    }
}

/// The names of the tables a migration creates (`CREATE TABLE name`),
/// lower-cased as PostgreSQL folds unquoted names.
fn created_tables(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0] == "create" && pair[1] == "table")
        .filter_map(|(i, _)| {
            words[i + 2..]
                .iter()
                .find(|w| !matches!(w.as_str(), "if" | "not" | "exists"))
        })
        .map(|name| name.trim_matches('"').to_owned())
        .collect()
}

/// Whether the store runs a write again after this error: a serialisation
/// failure (SQLSTATE 40001) or a deadlock (40P01). Constraint violations,
/// conflicts and everything else fail at once.
pub fn is_retryable(err: &StoreError) -> bool {
    matches!(
        sqlx_source(err),
        Some(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("40001" | "40P01"))
    )
}

#[async_trait]
impl CallStore for PgStore {
    async fn create_call(&self, call: &Call) -> Result<Call, StoreError> {
        sqlx::query(
            "INSERT INTO calls (year, first_day, last_day, version) VALUES ($1, $2, $3, 1)",
        )
        .bind(call.year)
        .bind(call.window.first)
        .bind(call.window.last)
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
            let mut tx = self.begin().await?;
            let result = update_call(&mut tx, call).await;
            finish(tx, result).await
        })
    }

    async fn call(&self, year: i32) -> Result<Option<Call>, StoreError> {
        let row: Option<(NaiveDate, NaiveDate, i64)> =
            sqlx::query_as("SELECT first_day, last_day, version FROM calls WHERE year = $1")
                .bind(year)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(|(first, last, version)| {
            Ok(Call {
                year,
                window: DateRange { first, last },
                version: codec::parse_version("call", &year.to_string(), version)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl ExpertStore for PgStore {
    async fn create_expert(&self, new: NewExpert, audit: AuditDraft) -> Result<Expert, StoreError> {
        let id = retrying!(is_retryable, {
            let mut tx = self.begin().await?;
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
        sqlx::query("SELECT id, status, version, record::text AS record FROM experts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|row| expert_from_row(&row))
            .transpose()
    }

    async fn expert_by_identity(&self, key: &str) -> Result<Option<Expert>, StoreError> {
        sqlx::query(
            "SELECT id, status, version, record::text AS record
             FROM experts WHERE identity_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| expert_from_row(&row))
        .transpose()
    }

    async fn experts(&self) -> Result<Vec<Expert>, StoreError> {
        sqlx::query("SELECT id, status, version, record::text AS record FROM experts ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(expert_from_row)
            .collect()
    }

    async fn experts_with_status(&self, status: Status) -> Result<Vec<Expert>, StoreError> {
        sqlx::query(
            "SELECT id, status, version, record::text AS record
             FROM experts WHERE status = $1 ORDER BY id",
        )
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
            let mut tx = self.begin().await?;
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
                     FROM audit WHERE expert_id = $1 ORDER BY seq",
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
impl MissionStore for PgStore {
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError> {
        let record = codec::request_json(request)?;
        let done = sqlx::query(
            "INSERT INTO requests (id, requester, record) VALUES ($1, $2, $3::jsonb)
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
        let record: Option<String> =
            sqlx::query_scalar("SELECT record::text FROM requests WHERE id = $1")
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
            let mut tx = self.begin().await?;
            let result = insert_engagement(&mut tx, engagement).await;
            finish(tx, result).await
        })
    }

    async fn update_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin().await?;
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
            let mut tx = self.begin().await?;
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
                     FROM engagements WHERE expert_id = $1 ORDER BY request_id, expert_id",
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
    tx: Transaction<'static, Postgres>,
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

/// Locks the audit trail until the transaction ends. The mode conflicts
/// with itself, so audit writers queue, and not with plain reads.
async fn lock_audit(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn insert_expert(
    conn: &mut PgConnection,
    new: &NewExpert,
    audit: &AuditDraft,
) -> Result<ExpertId, StoreError> {
    lock_audit(conn).await?;
    let record = codec::expert_json(&new.profile, &new.nominations, None, new.term.as_ref())?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO experts (identity_key, status, version, term_first, term_last, record)
         VALUES ($1, $2, 1, $3, $4, $5::jsonb)
         RETURNING id",
    )
    .bind(new.profile.identity_key())
    .bind(new.status.as_str())
    .bind(new.term.map(|t| t.first_day))
    .bind(new.term.map(|t| t.last_day))
    .bind(record)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_or_backend(e, "expert", "identity"))?;
    let id = ExpertId(id);
    insert_audit(conn, id, audit).await?;
    Ok(id)
}

async fn replace_expert(
    conn: &mut PgConnection,
    expert: &Expert,
    audit: Option<&AuditDraft>,
) -> Result<(), StoreError> {
    if audit.is_some() {
        lock_audit(conn).await?;
    }
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
         SET identity_key = $1, status = $2, version = version + 1,
             term_first = $3, term_last = $4, record = $5::jsonb
         WHERE id = $6 AND version = $7",
    )
    .bind(expert.profile.identity_key())
    .bind(expert.status.as_str())
    .bind(expert.term.map(|t| t.first_day))
    .bind(expert.term.map(|t| t.last_day))
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
async fn stale_or_missing(conn: &mut PgConnection, expert: &Expert) -> StoreError {
    let current: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT version FROM experts WHERE id = $1")
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
/// caller holds the audit lock, so no entry can slip in between reading
/// the last one and writing this one.
async fn insert_audit(
    conn: &mut PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(expert.0)
    .bind(audit.at)
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

/// Changes a call's window against its version; the row lock makes
/// concurrent changes of one call queue.
async fn update_call(conn: &mut PgConnection, call: &Call) -> Result<Call, StoreError> {
    let id = call.year.to_string();
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT version FROM calls WHERE year = $1 FOR UPDATE")
            .bind(call.year)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    let Some(stored) = stored else {
        return Err(StoreError::NotFound { entity: "call", id });
    };
    let current = codec::check_version("call", &id, call.version, stored)?;
    sqlx::query(
        "UPDATE calls SET first_day = $1, last_day = $2, version = version + 1 WHERE year = $3",
    )
    .bind(call.window.first)
    .bind(call.window.last)
    .bind(call.year)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(Call {
        version: current + 1,
        ..call.clone()
    })
}

/// Locks the expert's row, so that bookings of one expert queue and the
/// overlap and load cap checks after it see every booking committed
/// before this one.
async fn lock_expert(conn: &mut PgConnection, expert: ExpertId) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM experts WHERE id = $1 FOR UPDATE")
        .bind(expert.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound {
            entity: "expert",
            id: expert.to_string(),
        }),
    }
}

/// Locks the request's row, so that accepts on one request queue and the
/// demand check after it sees every acceptance committed before this one.
/// Taken after [`lock_expert`], as every booking takes its locks in that
/// order.
async fn lock_request(conn: &mut PgConnection, request: &str) -> Result<(), StoreError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM requests WHERE id = $1 FOR UPDATE")
            .bind(request)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound {
            entity: "request",
            id: request.to_owned(),
        }),
    }
}

/// Refuses a blocking engagement that would share a day with another
/// blocking engagement of the expert; run after [`lock_expert`].
async fn check_overlap(conn: &mut PgConnection, engagement: &Engagement) -> Result<(), StoreError> {
    if !engagement.blocks() {
        return Ok(());
    }
    let others = sqlx::query(
        "SELECT request_id, expert_id, first_day, last_day, state, version,
                feedback_rating, feedback_comment, feedback_by, feedback_at
         FROM engagements WHERE expert_id = $1 AND request_id <> $2",
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
/// which [`check_caps`] reads. Run after [`lock_expert`] (and, for the
/// demand, [`lock_request`]), so every booking committed before this one
/// is seen and none can slip in before the write.
async fn capped_engagements(
    conn: &mut PgConnection,
    engagement: &Engagement,
) -> Result<Vec<Engagement>, StoreError> {
    sqlx::query(
        "SELECT request_id, expert_id, first_day, last_day, state, version,
                feedback_rating, feedback_comment, feedback_by, feedback_at
         FROM engagements WHERE expert_id = $1 OR request_id = $2",
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
    conn: &mut PgConnection,
    engagement: &Engagement,
) -> Result<Engagement, StoreError> {
    lock_expert(conn, engagement.expert).await?;
    let request: Option<i32> = sqlx::query_scalar("SELECT 1 FROM requests WHERE id = $1")
        .bind(&engagement.request_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    if request.is_none() {
        return Err(StoreError::NotFound {
            entity: "request",
            id: engagement.request_id.clone(),
        });
    }
    check_overlap(conn, engagement).await?;
    let feedback = codec::FeedbackColumns::of(engagement);
    sqlx::query(
        "INSERT INTO engagements (request_id, expert_id, first_day, last_day, state, version,
                                  feedback_rating, feedback_comment, feedback_by, feedback_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)",
    )
    .bind(&engagement.request_id)
    .bind(engagement.expert.0)
    .bind(engagement.window.first)
    .bind(engagement.window.last)
    .bind(codec::state_name(engagement.state))
    .bind(feedback.rating)
    .bind(feedback.comment)
    .bind(feedback.by)
    .bind(feedback.at)
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Duplicate {
                entity: "engagement",
                key: "request and expert",
            }
        }
        _ => overlap_or_backend(e),
    })?;
    Ok(Engagement {
        version: 1,
        ..engagement.clone()
    })
}

async fn update_engagement(
    conn: &mut PgConnection,
    engagement: &Engagement,
    caps: Caps,
) -> Result<Engagement, StoreError> {
    let id = engagement.id();
    lock_expert(conn, engagement.expert)
        .await
        .map_err(|e| match e {
            // No expert, so no engagement of it either.
            StoreError::NotFound { .. } => StoreError::NotFound {
                entity: "engagement",
                id: id.clone(),
            },
            other => other,
        })?;
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM engagements WHERE request_id = $1 AND expert_id = $2",
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
        if caps.wanted.is_some() {
            lock_request(conn, &engagement.request_id).await?;
        }
        let stored = capped_engagements(conn, engagement).await?;
        check_caps(engagement, caps, &stored)?;
    }
    let feedback = codec::FeedbackColumns::of(engagement);
    sqlx::query(
        "UPDATE engagements SET first_day = $1, last_day = $2, state = $3, version = version + 1,
                feedback_rating = $4, feedback_comment = $5, feedback_by = $6, feedback_at = $7
         WHERE request_id = $8 AND expert_id = $9",
    )
    .bind(engagement.window.first)
    .bind(engagement.window.last)
    .bind(codec::state_name(engagement.state))
    .bind(feedback.rating)
    .bind(feedback.comment)
    .bind(feedback.by)
    .bind(feedback.at)
    .bind(&engagement.request_id)
    .bind(engagement.expert.0)
    .execute(&mut *conn)
    .await
    .map_err(overlap_or_backend)?;
    Ok(Engagement {
        version: current + 1,
        ..engagement.clone()
    })
}

/// The exclusion constraint on booked days, should a booking ever get past
/// the check above, reports the same refusal.
fn overlap_or_backend(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::ExclusionViolation => {
            StoreError::Duplicate {
                entity: "engagement",
                key: "expert and overlapping days",
            }
        }
        _ => backend(err),
    }
}

fn expert_from_row(row: &PgRow) -> Result<Expert, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    let status: &str = row.try_get("status").map_err(backend)?;
    let version: i64 = row.try_get("version").map_err(backend)?;
    let record: &str = row.try_get("record").map_err(backend)?;
    codec::expert_from_columns(id, status, version, record)
}

fn audit_from_row(row: &PgRow) -> Result<AuditEntry, StoreError> {
    let seq: i64 = row.try_get("seq").map_err(backend)?;
    let corrupt = |message: String| codec::corrupt("audit entry", seq.to_string(), message);
    let at: DateTime<Utc> = row.try_get("at").map_err(backend)?;
    let from: Option<&str> = row.try_get("from_status").map_err(backend)?;
    let to: &str = row.try_get("to_status").map_err(backend)?;
    Ok(AuditEntry {
        seq,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        change: AuditDraft {
            actor: row.try_get("actor").map_err(backend)?,
            at,
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

fn engagement_from_row(row: &PgRow) -> Result<Engagement, StoreError> {
    let request_id: String = row.try_get("request_id").map_err(backend)?;
    let expert = ExpertId(row.try_get("expert_id").map_err(backend)?);
    let state: &str = row.try_get("state").map_err(backend)?;
    let state = codec::parse_state(state)
        .map_err(|m| codec::corrupt("engagement", format!("{request_id}/{expert}"), m))?;
    let version = codec::parse_version(
        "engagement",
        &format!("{request_id}/{expert}"),
        row.try_get("version").map_err(backend)?,
    )?;
    let feedback = codec::FeedbackColumns {
        rating: row.try_get("feedback_rating").map_err(backend)?,
        comment: row.try_get("feedback_comment").map_err(backend)?,
        by: row.try_get("feedback_by").map_err(backend)?,
        at: row.try_get("feedback_at").map_err(backend)?,
    }
    .into_feedback(&format!("{request_id}/{expert}"))?;
    Ok(Engagement {
        window: DateRange {
            first: row.try_get("first_day").map_err(backend)?,
            last: row.try_get("last_day").map_err(backend)?,
        },
        request_id,
        expert,
        state,
        version,
        feedback,
    })
}

fn unique_or_backend(err: sqlx::Error, entity: &'static str, key: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Duplicate { entity, key }
        }
        _ => backend(err),
    }
}

fn backend(err: sqlx::Error) -> StoreError {
    StoreError::Backend {
        transient: is_transient(&err),
        source: Box::new(err),
    }
}

/// Whether waiting and retrying may succeed, by SQLSTATE class
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>):
/// connection exceptions (08), serialization failures and deadlocks (40),
/// insufficient resources (53), locks not available (55P03) and operator
/// intervention such as a shutdown (57); and any I/O or pool failure.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(code.get(..2), Some("08" | "40" | "53" | "57")) || code == "55P03"
        }),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
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
