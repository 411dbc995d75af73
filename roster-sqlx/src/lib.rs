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
//! Errors never carry personal data: unique-key clashes become
//! [`StoreError::Duplicate`](roster_core::StoreError::Duplicate) naming the
//! key, not its value, and undecodable records become
//! [`StoreError::Corrupt`](roster_core::StoreError::Corrupt) naming the
//! record's id and where decoding failed.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The sqlx this crate is built on, so that a host application that hands
/// the store its own pool names the same version.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;
