//! What the PostgreSQL store promises beyond the storage traits. Runs when
//! `ROSTER_TEST_DATABASE_URL` or `DATABASE_URL` names a server; otherwise
//! each test says so on stderr and passes without running.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::{AuditDraft, Status};
use roster_core::model::{
    Availability, DateRange, Engagement, EngagementState, ExpertId, NameOrder, Organisation,
    PersonName, Profile, Sector,
};
use roster_core::store::{ExpertStore, MissionStore, NewExpert};
use roster_sqlx::postgres::PgStore;
use roster_sqlx::sqlx;
use sqlx::postgres::{PgConnectOptions, PgPool};

/// A store in a new schema, and a pool to drop the schema with.
async fn open(test: &str) -> Option<(PgStore, PgPool, String)> {
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
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = PgStore::connect_with(options).await.unwrap();
    Some((store, admin, schema))
}

async fn close(store: PgStore, admin: PgPool, schema: String) {
    store.pool().close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

fn new_expert(email: &str) -> NewExpert {
    NewExpert {
        status: Status::Nominated,
        profile: Profile {
            name: PersonName {
                full: Some("Somchai".into()),
                given: None,
                family: None,
                order: NameOrder::NoFamilyName,
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
        },
        nominations: Vec::new(),
        term: None,
    }
}

fn audit() -> AuditDraft {
    AuditDraft {
        actor: "rso:1".into(),
        at: "2025-01-01T00:00:00.123456Z"
            .parse::<DateTime<Utc>>()
            .unwrap(),
        from: None,
        to: Status::Nominated,
        reason: "nominated".into(),
    }
}

#[tokio::test]
async fn migrations_are_recorded_under_the_roster_name() {
    let Some((store, admin, schema)) = open("migrations").await else {
        return;
    };
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roster_migrations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(usize::try_from(applied).unwrap(), shipped);
    store.migrate().await.unwrap();
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = $1 AND column_name IN ('at', 'first_day', 'record')
         AND table_name IN ('audit', 'engagements', 'experts') ORDER BY 1",
    )
    .bind(&schema)
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        types,
        [
            ("at".into(), "timestamp with time zone".into()),
            ("first_day".into(), "date".into()),
            ("record".into(), "jsonb".into()),
        ]
    );
    close(store, admin, schema).await;
}

#[tokio::test]
async fn the_audit_trail_is_append_only() {
    let Some((store, admin, schema)) = open("append_only").await else {
        return;
    };
    store
        .create_expert(new_expert("a@example.org"), audit())
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit SET reason = 'rewritten'")
        .execute(store.pool())
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit").execute(store.pool()).await;
    assert!(delete.is_err());
    assert_eq!(store.audit_trail(None).await.unwrap().len(), 1);
    close(store, admin, schema).await;
}

#[tokio::test]
async fn an_undecodable_record_is_corrupt_and_the_message_names_no_one() {
    let Some((store, admin, schema)) = open("corrupt").await else {
        return;
    };
    let expert = store
        .create_expert(new_expert("a@example.org"), audit())
        .await
        .unwrap();
    sqlx::query("UPDATE experts SET record = jsonb_set(record, '{profile,name}', '\"Somchai\"')")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.expert(expert.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                entity: "expert",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(!shown.contains("Somchai"), "{shown}");
    close(store, admin, schema).await;
}

#[tokio::test]
async fn an_engagement_needs_a_stored_expert_and_request() {
    let Some((store, admin, schema)) = open("engagement_parents").await else {
        return;
    };
    let expert = store
        .create_expert(new_expert("a@example.org"), audit())
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
    close(store, admin, schema).await;
}
