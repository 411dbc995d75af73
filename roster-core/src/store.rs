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
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::lifecycle::{AuditDraft, AuditEntry, Status, Term};
use crate::matching::{LoadCap, load_cap_breach};
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
    /// Stores a new call at version 1 (whatever `call.version` says) and
    /// returns it. Fails with [`StoreError::Duplicate`] when the year has a
    /// call.
    async fn create_call(&self, call: &Call) -> Result<Call, StoreError>;

    /// Replaces the window of the call of `call.year` when its version
    /// equals `call.version`; returns the stored record, whose version is
    /// one more. Fails with [`StoreError::Conflict`] on a stale version and
    /// [`StoreError::NotFound`] when the year has no call, changing nothing.
    async fn update_call(&self, call: &Call) -> Result<Call, StoreError>;

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
    /// Saves a request under its [key](MissionRequest::key). Returns
    /// `false`, changing nothing, when a request with the same key exists.
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError>;

    /// The request with this [key](MissionRequest::key) (requester and id).
    async fn request(&self, key: &str) -> Result<Option<MissionRequest>, StoreError>;

    /// Stores a new engagement of `expert` on the request whose key is
    /// `request_id`, at version 1 (whatever `engagement.version` says), and
    /// returns it. Fails with [`StoreError::Duplicate`] when that expert
    /// already has an engagement on that request, or when the engagement
    /// would hold days that another engagement of the same expert already
    /// holds; with [`StoreError::NotFound`] for an unknown request or expert.
    async fn create_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError>;

    /// Replaces the state, window and feedback of the stored engagement with
    /// the same request and expert when its version equals `engagement.version`;
    /// returns the stored record, whose version is one more. Fails with
    /// [`StoreError::Conflict`] on a stale version, [`StoreError::NotFound`]
    /// when there is no such engagement and [`StoreError::Duplicate`] when
    /// it would hold days another engagement of the expert holds; a failed
    /// update changes nothing.
    async fn update_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError>;

    /// As [`update_engagement`](MissionStore::update_engagement), and, in
    /// the same transaction, refuses an engagement that holds days
    /// (accepted or completed) beyond `caps`: with [`StoreError::LoadCap`]
    /// when the expert's other engagements already fill `caps.load` by the
    /// rule of [`load_cap_breach`], and with [`StoreError::Filled`] when
    /// `caps.wanted` other experts already hold days on the same request.
    /// The checks and the write are one atomic step: of two such updates
    /// at once, for one expert or on one request, the second sees the
    /// first. A refused update changes nothing.
    async fn update_engagement_capped(
        &self,
        engagement: &Engagement,
        caps: Caps,
    ) -> Result<Engagement, StoreError>;

    /// Engagements, of one expert or of all, ordered by request id then
    /// expert.
    async fn engagements(&self, expert: Option<ExpertId>) -> Result<Vec<Engagement>, StoreError>;
}

/// The limits an accepted engagement must keep, checked by
/// [`update_engagement_capped`](MissionStore::update_engagement_capped) in
/// the step that records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// The most missions an expert takes per rolling period.
    pub load: Option<LoadCap>,
    /// The most experts holding days on one request: its
    /// [`experts_wanted`](crate::model::MissionRequest::experts_wanted).
    pub wanted: Option<u16>,
}

impl Caps {
    /// Only the load cap.
    pub fn load(cap: LoadCap) -> Caps {
        Caps {
            load: Some(cap),
            wanted: None,
        }
    }

    /// Only the request's demand.
    pub fn wanted(experts: u16) -> Caps {
        Caps {
            load: None,
            wanted: Some(experts),
        }
    }
}

/// The checks of
/// [`update_engagement_capped`](MissionStore::update_engagement_capped),
/// for adapters to run inside their transaction. `stored` holds at least
/// the stored engagements of the engagement's expert and of its request;
/// others are ignored, and so is the engagement's own stored version. An
/// engagement that holds no days always passes. The load cap is checked
/// first, by the rule of [`load_cap_breach`]; then the demand: the request
/// is filled when `caps.wanted` other experts hold days on it.
pub fn check_caps<'a>(
    engagement: &Engagement,
    caps: Caps,
    stored: impl IntoIterator<Item = &'a Engagement> + Clone,
) -> Result<(), StoreError> {
    if !engagement.blocks() {
        return Ok(());
    }
    if let Some(cap) = caps.load
        && let Some(breach) = load_cap_breach(
            cap,
            engagement.expert,
            &engagement.request_id,
            &engagement.window,
            stored.clone(),
        )
    {
        return Err(StoreError::LoadCap {
            id: engagement.id(),
            breach,
        });
    }
    if let Some(wanted) = caps.wanted {
        let holding = stored
            .into_iter()
            .filter(|e| {
                e.request_id == engagement.request_id && e.expert != engagement.expert && e.blocks()
            })
            .count();
        if holding >= usize::from(wanted) {
            return Err(StoreError::Filled {
                request: engagement.request_id.clone(),
                wanted,
            });
        }
    }
    Ok(())
}

/// An invitation to issue: only the token's hash is given to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// The invited expert.
    pub expert: ExpertId,
    /// SHA-256 of the token, hexadecimal ([`token_hash`](crate::invitation::token_hash)).
    pub token_hash: String,
    /// The comparison key of the invited address ([`email_key`](crate::contact::email_key)).
    pub email_key: String,
    /// The address to send to, as first entered.
    pub address: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The first instant at which it no longer redeems.
    pub expires_at: DateTime<Utc>,
}

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Store-assigned id.
    pub id: i64,
    /// The invited expert.
    pub expert: ExpertId,
    /// SHA-256 of the token, hexadecimal.
    pub token_hash: String,
    /// The comparison key of the invited address.
    pub email_key: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The first instant at which it no longer redeems.
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed.
    pub used_at: Option<DateTime<Utc>>,
    /// When a newer invitation replaced it.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What [`InvitationStore::issue_invitation`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvitation {
    /// The expert as stored, one version on.
    pub expert: Expert,
    /// The new invitation.
    pub invitation: Invitation,
    /// The message that carries it, queued in the outbox.
    pub message: OutboxMessage,
}

/// What an outbox message tells the expert, with the parameters the portal
/// needs to write it. Never the token itself: the portal holds that from
/// the call that issued the invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// An invitation to register.
    Invitation {
        /// The invitation's id.
        invitation: i64,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
    },
    /// A reminder that the term on the roster ends soon.
    Reminder {
        /// The last day of the term.
        term_last_day: NaiveDate,
    },
}

/// A message for the portal to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Store-assigned id, ascending in queueing order.
    pub id: i64,
    /// The expert it is for.
    pub expert: ExpertId,
    /// The address to send to.
    pub address: String,
    /// What it says.
    pub notice: Notice,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When the portal reported it sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A request to revoke an inclusion, before the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevocationRequest {
    /// The expert concerned.
    pub expert: ExpertId,
    /// Who asked ([`Actor`](crate::Actor) in text form).
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// The RSO's decision on a revocation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationDecision {
    /// The deciding officer ([`Actor`](crate::Actor) in text form).
    pub decided_by: String,
    /// Whether the inclusion was revoked.
    pub accepted: bool,
    /// Why.
    pub reason: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// A stored revocation request and, once made, its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRequest {
    /// Store-assigned id.
    pub id: i64,
    /// The expert concerned.
    pub expert: ExpertId,
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// The decision, once made.
    pub decision: Option<RevocationDecision>,
}

/// Invitations to register.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// In one transaction: replaces `expert` as
    /// [`update_expert`](ExpertStore::update_expert) does (failing with
    /// [`StoreError::Conflict`] on a stale version), cancels the expert's
    /// pending invitations, stores `invitation` and queues its
    /// [`Notice::Invitation`] message.
    async fn issue_invitation(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
        invitation: &NewInvitation,
    ) -> Result<IssuedInvitation, StoreError>;

    /// Marks the invitation with this token hash used at `at`, in one
    /// atomic step, when it is bound to `email_key`, unused, not cancelled
    /// and `at` is before it expires; returns its expert. Returns `None`,
    /// changing nothing, otherwise: of two redemptions at once, one wins.
    async fn redeem_invitation(
        &self,
        token_hash: &str,
        email_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExpertId>, StoreError>;

    /// Every invitation of an expert, oldest first.
    async fn invitations(&self, expert: ExpertId) -> Result<Vec<Invitation>, StoreError>;
}

/// Messages for the portal to send.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Queues the reminder that the term ending `term_last_day` ends soon,
    /// once per expert and term: returns `None`, changing nothing, when that
    /// reminder was queued before. Fails with [`StoreError::NotFound`] for an
    /// unknown expert.
    async fn enqueue_reminder(
        &self,
        expert: ExpertId,
        term_last_day: NaiveDate,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OutboxMessage>, StoreError>;

    /// Up to `limit` unsent messages, oldest first.
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Records that a message was sent. Returns `false`, changing nothing,
    /// when it was already marked; fails with [`StoreError::NotFound`] for
    /// an unknown id.
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// Requests to revoke inclusions, and the RSO's decisions.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Stores a request. Fails with [`StoreError::NotFound`] for an unknown
    /// expert.
    async fn request_revocation(
        &self,
        request: &NewRevocationRequest,
    ) -> Result<RevocationRequest, StoreError>;

    /// The request with this id.
    async fn revocation_request(&self, id: i64) -> Result<Option<RevocationRequest>, StoreError>;

    /// Requests, of one expert or of all, oldest first.
    async fn revocation_requests(
        &self,
        expert: Option<ExpertId>,
    ) -> Result<Vec<RevocationRequest>, StoreError>;

    /// Records the decision on request `id` and, in the same transaction,
    /// replaces the expert with `change` (as
    /// [`update_expert`](ExpertStore::update_expert) does) when given.
    /// Fails with [`StoreError::NotFound`] for an unknown request and with
    /// [`StoreError::Duplicate`] when it was already decided.
    async fn decide_revocation(
        &self,
        id: i64,
        decision: &RevocationDecision,
        change: Option<(&Expert, AuditDraft)>,
    ) -> Result<RevocationRequest, StoreError>;
}

/// Everything the [`Roster`](crate::Roster) needs from storage.
pub trait Store:
    CallStore + ExpertStore + MissionStore + InvitationStore + Outbox + RevocationStore
{
}

impl<T> Store for T where
    T: CallStore + ExpertStore + MissionStore + InvitationStore + Outbox + RevocationStore
{
}
