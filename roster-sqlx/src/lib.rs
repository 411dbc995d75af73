//! Storage for the roster of experts on sqlx: the
//! [`roster_core::store`] traits on SQLite and PostgreSQL.
//!
//! Each database sits behind a cargo feature of the same name, and neither
//! is on by default:
//!
//! - `sqlite`: `sqlite::SqliteStore`, a database file (or memory), with
//!   SQLite compiled in;
//! - `postgres`: `postgres::PgStore`, a PostgreSQL server.
//!
//! Both bring their schema up to date when they connect, with migrations
//! embedded in this crate and recorded in the table `roster_migrations`,
//! so the roster can live in a host application's database.
//!
//! Both behave alike under load: a write transaction the database gave up
//! on for contention (SQLite still busy, a PostgreSQL serialisation failure
//! or deadlock) is run again, at most three more times, and nothing else
//! is; instants compare as instants whatever form a row holds them in; the
//! database itself refuses two overlapping bookings of one expert; and each
//! store has a bulk import (`import_experts`) and a one-pass read of every
//! expert (`experts_stream`).
//!
//! Errors never carry personal data: unique-key clashes become
//! [`StoreError::Duplicate`](roster_core::StoreError::Duplicate) naming the
//! key, not its value, and undecodable records become
//! [`StoreError::Corrupt`](roster_core::StoreError::Corrupt) naming the
//! record's id and where decoding failed.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod retry;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The sqlx this crate is built on, so that a host application that hands
/// the store its own pool names the same version.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;
