//! The domain of a roster of experts on migration management, as the Bali
//! Process Regional Support Office keeps one.
//!
//! Members and observers nominate experts in an annual call; the roster
//! checks each nomination against the selection criteria of the information
//! sheet, invites the expert to register, keeps each inclusion for one year,
//! and matches included experts to member states' requests for short
//! technical missions, explaining every ranking.
//!
//! The [`Roster`] facade is the entry point. It works on any [`Store`]: the
//! in-memory [`MemoryStore`] here, or the SQLite and PostgreSQL adapters of
//! the `roster-sqlx` crate.
//!
//! ```
//! use std::sync::Arc;
//! use roster_core::{MemoryStore, Roster, taxonomy::Taxonomy};
//!
//! let roster = Roster::new(Arc::new(MemoryStore::new()));
//! assert_eq!(roster.taxonomy().themes().len(), 89);
//! assert_eq!(Taxonomy::current().competencies().len(), 18);
//! ```

pub mod clock;
pub mod contact;
pub mod documents;
pub mod eligibility;
pub mod error;
pub mod invitation;
pub mod language;
pub mod lifecycle;
pub mod matching;
pub mod membership;
pub mod memory;
pub mod model;
mod roster;
pub mod schema;
pub mod store;
pub mod taxonomy;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{Field, RosterError, StoreError, ValidationError};
pub use lifecycle::{Actor, Status, Term};
pub use memory::MemoryStore;
pub use model::{Call, Expert, ExpertId, MissionRequest, Nomination, Profile, Registration};
pub use roster::{
    DEFAULT_ZONE, DuplicateSignal, ImportReport, Invited, NominationOutcome, PossibleDuplicate,
    Roster, SweepReport,
};
pub use store::Store;

// Compiles the code in the README as doctests, so it cannot go stale.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
