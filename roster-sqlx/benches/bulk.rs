//! The bulk paths on both databases: importing experts (`import_experts`,
//! multi-row inserts in chunks inside one transaction), reading every
//! expert in one pass (`experts_stream`), and building the in-memory
//! matching index from a SQLite file (`index_from_store`). The experts and
//! engagements come from the seeded generator the matching benchmark uses,
//! with its seed, so both measure the same roster.
//!
//! ```text
//! cargo bench -p roster-sqlx --all-features --bench bulk
//! cargo bench -p roster-sqlx --all-features --bench bulk -- index_from_store
//! ```
//!
//! PostgreSQL runs too when `DATABASE_URL` names a server (each run in a
//! schema of its own, dropped afterwards). `ROSTER_BENCH_IMPORT` (default
//! 100000), `ROSTER_BENCH_STREAM` (default 1000000) and
//! `ROSTER_BENCH_INDEX` (default 1000000) set the sizes. Loading the
//! roster that the stream and the index read is set-up, not measured; its
//! duration is printed. When the stream and index sizes agree, one roster
//! serves both.

#[path = "../../roster-core/benches/roster_gen/mod.rs"]
#[expect(
    dead_code,
    reason = "the requests it generates serve the matching benchmark"
)]
mod roster_gen;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use futures_util::TryStreamExt as _;
use roster_core::lifecycle::AuditDraft;
use roster_core::matching::index::MatchIndex;
use roster_core::membership::Membership;
use roster_core::model::Engagement;
use roster_core::store::{ExpertStore as _, MissionStore as _, NewExpert};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId, MissionRequest};
use roster_gen::{Generator, today};
use roster_sqlx::sqlite::SqliteStore;
use roster_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use tokio::runtime::Runtime;

/// The matching benchmark's seed.
const SEED: u64 = 20_260_601;

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Generated experts 1 to `count` as `import_experts` takes them; the
/// engagements generated with them go into `engagements`. An empty store
/// gives them ids 1 to `count`, the ids their engagements name.
fn roster(
    count: usize,
    engagements: &mut Vec<Engagement>,
) -> impl Iterator<Item = (NewExpert, AuditDraft)> + '_ {
    let mut generator = Generator::new(SEED);
    (1..=count as i64).map(move |id| {
        // Expert then engagements, in the matching benchmark's order, so
        // the generator's draws match.
        let expert = generator.expert(id);
        engagements.extend(generator.engagements(id));
        imported(expert)
    })
}

/// A generated expert as a new one, with the audit entry of its import.
fn imported(expert: Expert) -> (NewExpert, AuditDraft) {
    let audit = AuditDraft {
        actor: "import".into(),
        at: "2026-02-01T08:00:00Z".parse().expect("an instant"),
        from: None,
        to: expert.status,
        reason: "imported roster".into(),
    };
    let new = NewExpert {
        status: expert.status,
        profile: expert.profile,
        nominations: expert.nominations,
        term: expert.term,
    };
    (new, audit)
}

async fn sqlite_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("roster.db"))
        .await
        .expect("a SQLite roster")
}

/// A SQLite file holding `count` generated experts and their engagements,
/// each engagement saved with the request it names, one at a time. WAL
/// with `synchronous = NORMAL`: commits skip the disk flush, so saving a
/// few hundred thousand engagements one by one takes minutes rather than
/// many; reads are the same as under `open`.
fn loaded_sqlite(rt: &Runtime, count: usize) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let start = Instant::now();
    let store = rt.block_on(async {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("roster.db"))
            .create_if_missing(true)
            .synchronous(SqliteSynchronous::Normal);
        let store = SqliteStore::connect_with(options)
            .await
            .expect("a SQLite roster");
        let mut engagements = Vec::new();
        let stored = store
            .import_experts(roster(count, &mut engagements))
            .await
            .expect("load the experts");
        assert_eq!(stored, count as u64);
        let experts = start.elapsed();
        check_ids(&store, count).await;
        for engagement in &engagements {
            let saved = store
                .save_request(&request_of(engagement))
                .await
                .expect("save a request");
            assert!(saved, "request {} saved twice", engagement.request_id);
            store
                .create_engagement(engagement)
                .await
                .expect("save an engagement");
        }
        eprintln!(
            "SQLite set-up: {count} experts in {:.1} s, then {} engagements with their \
             requests in {:.1} s",
            experts.as_secs_f64(),
            engagements.len(),
            (start.elapsed() - experts).as_secs_f64(),
        );
        store
    });
    (dir, store)
}

/// Fails unless the first and the last expert got the generator's ids.
async fn check_ids(store: &SqliteStore, count: usize) {
    for id in [1, count as i64].into_iter().filter(|&id| id >= 1) {
        let expert = store
            .expert(ExpertId(id))
            .await
            .expect("read an expert")
            .expect("an expert under the generator's id");
        assert_eq!(expert.profile.email, format!("expert{id}@example.org"));
    }
}

/// A request for the days of `engagement`, under the key it names.
fn request_of(engagement: &Engagement) -> MissionRequest {
    let (requester, id) = engagement
        .request_id
        .split_once('/')
        .expect("a request key: requester, slash, id");
    MissionRequest {
        id: id.into(),
        requester: requester.into(),
        title: "Past mission".into(),
        themes: Vec::new(),
        competencies: Vec::new(),
        required_languages: Vec::new(),
        desired_languages: Vec::new(),
        window: engagement.window,
        place: requester.into(),
        experts_wanted: 1,
        excluded: Vec::new(),
    }
}

/// Every blocking engagement, then every expert as the rows arrive, pushed
/// into a new index with its own engagements.
async fn index_from(store: &SqliteStore, membership: &Membership) -> MatchIndex {
    let mut booked: HashMap<ExpertId, Vec<Engagement>> = HashMap::new();
    let engagements = store.engagements(None).await.expect("read engagements");
    for engagement in engagements.into_iter().filter(Engagement::blocks) {
        booked
            .entry(engagement.expert)
            .or_default()
            .push(engagement);
    }
    let index = MatchIndex::new(Taxonomy::current(), today());
    store
        .experts_stream()
        .try_fold(index, |mut index, expert| {
            let own = booked.get(&expert.id).map_or(&[][..], Vec::as_slice);
            index.push(&expert, own, membership);
            std::future::ready(Ok(index))
        })
        .await
        .expect("stream the experts")
}

fn sqlite(c: &mut Criterion, rt: &Runtime, sizes: Sizes) {
    let Sizes {
        import,
        stream,
        index,
    } = sizes;
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    let rows: Vec<_> = roster(import, &mut Vec::new()).collect();
    group.bench_function(format!("import_experts/{import}"), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let rows = &rows;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = sqlite_store(&dir).await;
                    let rows = rows.clone();
                    let start = Instant::now();
                    let stored = store.import_experts(rows).await.expect("import");
                    spent += start.elapsed();
                    assert_eq!(stored, import as u64);
                }
                spent
            }
        });
    });
    drop(rows);

    let (dir, store) = loaded_sqlite(rt, stream);
    group.bench_function(format!("experts_stream/{stream}"), |b| {
        b.to_async(rt).iter(|| async {
            let read = store
                .experts_stream()
                .try_fold(0_usize, |n, expert| {
                    black_box(expert);
                    std::future::ready(Ok(n + 1))
                })
                .await
                .expect("stream");
            assert_eq!(read, stream);
        });
    });

    let (_dir, store) = if index == stream {
        (dir, store)
    } else {
        drop((dir, store));
        loaded_sqlite(rt, index)
    };
    let membership = Membership::bundled();
    group.bench_function(format!("index_from_store/{index}"), |b| {
        b.to_async(rt).iter(|| async {
            let built = index_from(&store, &membership).await;
            assert_eq!(built.len(), index);
            built
        });
    });
    group.finish();
}

#[cfg(feature = "postgres")]
mod pg {
    use std::str::FromStr;

    use roster_sqlx::postgres::PgStore;
    use roster_sqlx::sqlx;
    use sqlx::postgres::{PgConnectOptions, PgPool};

    /// A store in a new schema; the schema is dropped by [`drop_store`].
    pub async fn store(url: &str, schema: &str) -> (PgStore, PgPool) {
        let admin = PgPool::connect(url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await
        .expect("drop an old schema");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create the schema");
        let options = PgConnectOptions::from_str(url)
            .expect("a PostgreSQL URL")
            .options([("search_path", schema)]);
        let store = PgStore::connect_with(options)
            .await
            .expect("a PostgreSQL roster");
        (store, admin)
    }

    pub async fn drop_store(store: PgStore, admin: PgPool, schema: &str) {
        store.pool().close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await
            .expect("drop the schema");
    }
}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion, rt: &Runtime, sizes: Sizes) {
    let Sizes { import, stream, .. } = sizes;
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("PostgreSQL benchmarks skipped: DATABASE_URL is not set");
        return;
    };
    let url = url.as_str();
    let rows: Vec<_> = roster(import, &mut Vec::new()).collect();
    let mut group = c.benchmark_group("postgres");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("import_experts/{import}"), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let rows = &rows;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let (store, admin) = pg::store(url, "roster_bench_import").await;
                    let rows = rows.clone();
                    let start = Instant::now();
                    let stored = store.import_experts(rows).await.expect("import");
                    spent += start.elapsed();
                    assert_eq!(stored, import as u64);
                    pg::drop_store(store, admin, "roster_bench_import").await;
                }
                spent
            }
        });
    });

    let (store, admin) = rt.block_on(async {
        let (store, admin) = pg::store(url, "roster_bench_stream").await;
        store
            .import_experts(roster(stream, &mut Vec::new()))
            .await
            .expect("load the experts to stream");
        (store, admin)
    });
    group.bench_function(format!("experts_stream/{stream}"), |b| {
        b.to_async(rt).iter(|| async {
            let read = store
                .experts_stream()
                .try_fold(0_usize, |n, expert| {
                    black_box(expert);
                    std::future::ready(Ok(n + 1))
                })
                .await
                .expect("stream");
            assert_eq!(read, stream);
        });
    });
    group.finish();
    rt.block_on(pg::drop_store(store, admin, "roster_bench_stream"));
}

/// How many experts each case handles.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Imported per measured run.
    import: usize,
    /// Streamed back per measured run.
    stream: usize,
    /// Read from SQLite into the matching index per measured run.
    index: usize,
}

fn bulk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sizes = Sizes {
        import: size("ROSTER_BENCH_IMPORT", 100_000),
        stream: size("ROSTER_BENCH_STREAM", 1_000_000),
        index: size("ROSTER_BENCH_INDEX", 1_000_000),
    };
    sqlite(c, &rt, sizes);
    #[cfg(feature = "postgres")]
    postgres(c, &rt, sizes);
}

criterion_group!(benches, bulk);
criterion_main!(benches);
