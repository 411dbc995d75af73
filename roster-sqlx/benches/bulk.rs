//! The bulk paths on both databases: importing nominations
//! (`import_experts`, multi-row inserts in chunks inside one transaction)
//! and reading every expert in one pass for the matching index
//! (`experts_stream`).
//!
//! ```text
//! cargo bench -p roster-sqlx --all-features --bench bulk
//! ```
//!
//! PostgreSQL runs too when `DATABASE_URL` names a server (each run in a
//! schema of its own, dropped afterwards). `ROSTER_BENCH_IMPORT` (default
//! 100000) and `ROSTER_BENCH_STREAM` (default 1000000) set the sizes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use futures_util::TryStreamExt as _;
use roster_core::lifecycle::{AuditDraft, Status};
use roster_core::model::{
    Availability, LanguageSkill, NameOrder, Organisation, PersonName, Profile, Sector,
};
use roster_core::store::NewExpert;
use roster_sqlx::sqlite::SqliteStore;
use tokio::runtime::Runtime;

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// `count` invented nominations, numbered from `first`.
fn nominations(first: usize, count: usize) -> impl Iterator<Item = (NewExpert, AuditDraft)> {
    let at = "2026-02-01T08:00:00Z".parse().expect("an instant");
    (first..first + count).map(move |n| {
        let expert = NewExpert {
            status: Status::Nominated,
            profile: Profile {
                name: PersonName {
                    full: None,
                    given: Some(format!("Given{n}")),
                    family: Some(format!("Family{n}")),
                    order: NameOrder::GivenFirst,
                    latin: None,
                },
                email: format!("expert{n}@example.org"),
                phone: Some(format!("+6681{n:07}")),
                date_of_birth: None,
                nationality: Some("THA".into()),
                organisation: Organisation {
                    name: "Ministry of the Interior".into(),
                    sector: Sector::Government,
                    state: Some("THA".into()),
                },
                experience: Vec::new(),
                referees: Vec::new(),
                languages: vec![LanguageSkill {
                    tag: "en".into(),
                    level: roster_core::language::Level::C1,
                }],
                availability: Availability::default(),
            },
            nominations: Vec::new(),
            term: None,
        };
        let audit = AuditDraft {
            actor: "import".into(),
            at,
            from: None,
            to: Status::Nominated,
            reason: "imported nomination".into(),
        };
        (expert, audit)
    })
}

async fn sqlite_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("roster.db"))
        .await
        .expect("a SQLite roster")
}

fn sqlite(c: &mut Criterion, rt: &Runtime, import: usize, stream: usize) {
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("import_experts/{import}"), |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let store = sqlite_store(&dir).await;
                let start = Instant::now();
                let stored = store
                    .import_experts(nominations(0, import))
                    .await
                    .expect("import");
                spent += start.elapsed();
                assert_eq!(stored, import as u64);
            }
            spent
        });
    });

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = rt.block_on(async {
        let store = sqlite_store(&dir).await;
        store
            .import_experts(nominations(0, stream))
            .await
            .expect("load the experts to stream");
        store
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
fn postgres(c: &mut Criterion, rt: &Runtime, import: usize, stream: usize) {
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("PostgreSQL benchmarks skipped: DATABASE_URL is not set");
        return;
    };
    let url = url.as_str();
    let mut group = c.benchmark_group("postgres");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("import_experts/{import}"), |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let (store, admin) = pg::store(url, "roster_bench_import").await;
                let start = Instant::now();
                let stored = store
                    .import_experts(nominations(0, import))
                    .await
                    .expect("import");
                spent += start.elapsed();
                assert_eq!(stored, import as u64);
                pg::drop_store(store, admin, "roster_bench_import").await;
            }
            spent
        });
    });

    let (store, admin) = rt.block_on(async {
        let (store, admin) = pg::store(url, "roster_bench_stream").await;
        store
            .import_experts(nominations(0, stream))
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

fn bulk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let import = size("ROSTER_BENCH_IMPORT", 100_000);
    let stream = size("ROSTER_BENCH_STREAM", 1_000_000);
    sqlite(c, &rt, import, stream);
    #[cfg(feature = "postgres")]
    postgres(c, &rt, import, stream);
}

criterion_group!(benches, bulk);
criterion_main!(benches);
