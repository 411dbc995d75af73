//! Storage traits. The core defines them; adapters implement them (the
//! in-memory [`MemoryStore`](crate::memory::MemoryStore) here, SQLite and
//! PostgreSQL in `roster-sqlx`), and one conformance suite checks every
//! implementation.
//!
//! Every method that changes an expert also writes its audit entry in the
//! same transaction, and every change is made against the version that was
//! read: a stale version fails with [`StoreError::Conflict`] and changes
//! nothing.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::lifecycle::{AuditDraft, AuditEntry, Status, Term};
use crate::model::{Call, Engagement, Expert, ExpertId, MissionRequest, NominationRecord, Profile};

/// An expert before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExpert {
    /// Initial status, normally [`Status::Nominated`].
    pub status: Status,
    /// The nominated profile.
    pub profile: Profile,
    /// The first nomination or nominations.
    pub nominations: Vec<NominationRecord>,
    /// Term, for imported experts already on the roster.
    pub term: Option<Term>,
}

/// Calls for nominations.
#[async_trait]
pub trait CallStore: Send + Sync {
    /// Saves a call, replacing the call of the same year.
    async fn save_call(&self, call: &Call) -> Result<(), StoreError>;

    /// The call of `year`.
    async fn call(&self, year: i32) -> Result<Option<Call>, StoreError>;
}

/// Experts and their audit trail.
#[async_trait]
pub trait ExpertStore: Send + Sync {
    /// Stores a new expert at version 1 with its first audit entry. Fails
    /// with [`StoreError::Duplicate`] when an expert with the same identity
    /// key ([`Profile::identity_key`]) exists.
    async fn create_expert(&self, new: NewExpert, audit: AuditDraft) -> Result<Expert, StoreError>;

    /// The expert with this id.
    async fn expert(&self, id: ExpertId) -> Result<Option<Expert>, StoreError>;

    /// The expert with this identity key.
    async fn expert_by_identity(&self, key: &str) -> Result<Option<Expert>, StoreError>;

    /// Every expert, ordered by id.
    async fn experts(&self) -> Result<Vec<Expert>, StoreError>;

    /// Every expert with this status, ordered by id.
    async fn experts_with_status(&self, status: Status) -> Result<Vec<Expert>, StoreError>;

    /// Replaces the stored expert when its version equals `expert.version`,
    /// and writes `audit` (when given) in the same transaction. Returns the
    /// stored record, whose version is one more.
    async fn update_expert(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Expert, StoreError>;

    /// The audit trail, oldest first; of one expert or of all.
    async fn audit_trail(&self, expert: Option<ExpertId>) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Mission requests and engagements.
#[async_trait]
pub trait MissionStore: Send + Sync {
    /// Saves a request. Returns `false`, changing nothing, when a request
    /// with the same id exists.
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError>;

    /// The request with this id.
    async fn request(&self, id: &str) -> Result<Option<MissionRequest>, StoreError>;

    /// Records or updates the engagement of `expert` on `request_id`. Fails
    /// with [`StoreError::Duplicate`] when the engagement would hold days
    /// that another engagement of the same expert already holds.
    async fn save_engagement(&self, engagement: &Engagement) -> Result<(), StoreError>;

    /// Engagements, of one expert or of all, ordered by request id then
    /// expert.
    async fn engagements(&self, expert: Option<ExpertId>) -> Result<Vec<Engagement>, StoreError>;
}

/// Everything the [`Roster`](crate::Roster) needs from storage.
pub trait Store: CallStore + ExpertStore + MissionStore {}

impl<T: CallStore + ExpertStore + MissionStore> Store for T {}
