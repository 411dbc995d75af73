//! An in-memory store: for tests, for analysts' scratch rosters, and as the
//! reference the database adapters are compared with.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::StoreError;
use crate::lifecycle::{AuditDraft, AuditEntry, GENESIS, Status};
use crate::model::{Call, Engagement, Expert, ExpertId, MissionRequest};
use crate::store::{
    CallStore, Caps, ExpertStore, Invitation, InvitationStore, IssuedInvitation, MissionStore,
    NewExpert, NewInvitation, NewRevocationRequest, Notice, Outbox, OutboxMessage,
    RevocationDecision, RevocationRequest, RevocationStore, check_caps,
};

/// A store that keeps everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    calls: BTreeMap<i32, Call>,
    experts: BTreeMap<ExpertId, Expert>,
    identities: BTreeMap<String, ExpertId>,
    audit: Vec<AuditEntry>,
    requests: BTreeMap<String, MissionRequest>,
    engagements: BTreeMap<(String, ExpertId), Engagement>,
    invitations: Vec<Invitation>,
    outbox: Vec<OutboxMessage>,
    reminders: BTreeMap<(ExpertId, NaiveDate), i64>,
    revocations: Vec<RevocationRequest>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-made change:
        // every method checks first and writes last.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// The checks and the write of `update_engagement`, with the caps
    /// when given, on the locked store.
    fn replace_engagement(
        &mut self,
        engagement: &Engagement,
        caps: Caps,
    ) -> Result<Engagement, StoreError> {
        let key = (engagement.request_id.clone(), engagement.expert);
        let current = match self.engagements.get(&key) {
            Some(stored) => stored.version,
            None => {
                return Err(StoreError::NotFound {
                    entity: "engagement",
                    id: engagement.id(),
                });
            }
        };
        if current != engagement.version {
            return Err(StoreError::Conflict {
                entity: "engagement",
                id: engagement.id(),
                expected: engagement.version,
                current,
            });
        }
        check_overlap(&self.engagements, engagement)?;
        check_caps(engagement, caps, self.engagements.values())?;
        let stored = Engagement {
            version: current + 1,
            ..engagement.clone()
        };
        self.engagements.insert(key, stored.clone());
        Ok(stored)
    }

    fn append_audit(&mut self, expert: ExpertId, change: AuditDraft) {
        let seq = self.audit.len() as i64 + 1;
        let prev = self
            .audit
            .last()
            .and_then(|e| e.seal.as_ref())
            .map_or(GENESIS, |s| s.hash.as_str());
        let entry = AuditEntry::sealed(seq, expert, change, prev);
        self.audit.push(entry);
    }

    /// The checks and the write of `update_expert`, on the locked store.
    fn replace_expert(
        &mut self,
        expert: &Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Expert, StoreError> {
        let current = self
            .experts
            .get(&expert.id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "expert",
                id: expert.id.to_string(),
            })?;
        if current.version != expert.version {
            return Err(StoreError::Conflict {
                entity: "expert",
                id: expert.id.to_string(),
                expected: expert.version,
                current: current.version,
            });
        }
        let old_key = current.profile.identity_key();
        let new_key = expert.profile.identity_key();
        if new_key != old_key && self.identities.contains_key(&new_key) {
            return Err(StoreError::Duplicate {
                entity: "expert",
                key: "identity",
            });
        }
        let mut stored = expert.clone();
        stored.version += 1;
        self.identities.remove(&old_key);
        self.identities.insert(new_key, expert.id);
        self.experts.insert(expert.id, stored.clone());
        if let Some(change) = audit {
            self.append_audit(expert.id, change);
        }
        Ok(stored)
    }

    fn require_expert(&self, id: ExpertId) -> Result<(), StoreError> {
        if self.experts.contains_key(&id) {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                entity: "expert",
                id: id.to_string(),
            })
        }
    }

    fn queue(
        &mut self,
        expert: ExpertId,
        address: &str,
        notice: Notice,
        at: DateTime<Utc>,
    ) -> OutboxMessage {
        let message = OutboxMessage {
            id: self.outbox.len() as i64 + 1,
            expert,
            address: address.to_owned(),
            notice,
            queued_at: at,
            sent_at: None,
        };
        self.outbox.push(message.clone());
        message
    }
}

#[async_trait]
impl CallStore for MemoryStore {
    async fn create_call(&self, call: &Call) -> Result<Call, StoreError> {
        let mut inner = self.lock();
        if inner.calls.contains_key(&call.year) {
            return Err(StoreError::Duplicate {
                entity: "call",
                key: "year",
            });
        }
        let stored = Call {
            version: 1,
            ..call.clone()
        };
        inner.calls.insert(call.year, stored.clone());
        Ok(stored)
    }

    async fn update_call(&self, call: &Call) -> Result<Call, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.calls.get_mut(&call.year) else {
            return Err(StoreError::NotFound {
                entity: "call",
                id: call.year.to_string(),
            });
        };
        if stored.version != call.version {
            return Err(StoreError::Conflict {
                entity: "call",
                id: call.year.to_string(),
                expected: call.version,
                current: stored.version,
            });
        }
        *stored = Call {
            version: call.version + 1,
            ..call.clone()
        };
        Ok(stored.clone())
    }

    async fn call(&self, year: i32) -> Result<Option<Call>, StoreError> {
        Ok(self.lock().calls.get(&year).cloned())
    }
}

#[async_trait]
impl ExpertStore for MemoryStore {
    async fn create_expert(&self, new: NewExpert, audit: AuditDraft) -> Result<Expert, StoreError> {
        let mut inner = self.lock();
        let key = new.profile.identity_key();
        if inner.identities.contains_key(&key) {
            return Err(StoreError::Duplicate {
                entity: "expert",
                key: "identity",
            });
        }
        let id = ExpertId(inner.experts.keys().next_back().map_or(1, |id| id.0 + 1));
        let expert = Expert {
            id,
            version: 1,
            status: new.status,
            profile: new.profile,
            nominations: new.nominations,
            cv_document: None,
            term: new.term,
        };
        inner.identities.insert(key, id);
        inner.experts.insert(id, expert.clone());
        inner.append_audit(id, audit);
        Ok(expert)
    }

    async fn expert(&self, id: ExpertId) -> Result<Option<Expert>, StoreError> {
        Ok(self.lock().experts.get(&id).cloned())
    }

    async fn expert_by_identity(&self, key: &str) -> Result<Option<Expert>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .identities
            .get(key)
            .and_then(|id| inner.experts.get(id))
            .cloned())
    }

    async fn experts(&self) -> Result<Vec<Expert>, StoreError> {
        Ok(self.lock().experts.values().cloned().collect())
    }

    async fn experts_with_status(&self, status: Status) -> Result<Vec<Expert>, StoreError> {
        Ok(self
            .lock()
            .experts
            .values()
            .filter(|e| e.status == status)
            .cloned()
            .collect())
    }

    async fn update_expert(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Expert, StoreError> {
        self.lock().replace_expert(expert, audit)
    }

    async fn audit_trail(&self, expert: Option<ExpertId>) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|e| expert.is_none_or(|id| e.expert == id))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl MissionStore for MemoryStore {
    async fn save_request(&self, request: &MissionRequest) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = request.key();
        if inner.requests.contains_key(&key) {
            return Ok(false);
        }
        inner.requests.insert(key, request.clone());
        Ok(true)
    }

    async fn request(&self, key: &str) -> Result<Option<MissionRequest>, StoreError> {
        Ok(self.lock().requests.get(key).cloned())
    }

    async fn create_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        let mut inner = self.lock();
        // As the databases' foreign keys do.
        if !inner.experts.contains_key(&engagement.expert) {
            return Err(StoreError::NotFound {
                entity: "expert",
                id: engagement.expert.to_string(),
            });
        }
        if !inner.requests.contains_key(&engagement.request_id) {
            return Err(StoreError::NotFound {
                entity: "request",
                id: engagement.request_id.clone(),
            });
        }
        let key = (engagement.request_id.clone(), engagement.expert);
        if inner.engagements.contains_key(&key) {
            return Err(StoreError::Duplicate {
                entity: "engagement",
                key: "request and expert",
            });
        }
        check_overlap(&inner.engagements, engagement)?;
        let stored = Engagement {
            version: 1,
            ..engagement.clone()
        };
        inner.engagements.insert(key, stored.clone());
        Ok(stored)
    }

    async fn update_engagement(&self, engagement: &Engagement) -> Result<Engagement, StoreError> {
        self.lock().replace_engagement(engagement, Caps::default())
    }

    async fn update_engagement_capped(
        &self,
        engagement: &Engagement,
        caps: Caps,
    ) -> Result<Engagement, StoreError> {
        self.lock().replace_engagement(engagement, caps)
    }

    async fn engagements(&self, expert: Option<ExpertId>) -> Result<Vec<Engagement>, StoreError> {
        Ok(self
            .lock()
            .engagements
            .values()
            .filter(|e| expert.is_none_or(|id| e.expert == id))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl InvitationStore for MemoryStore {
    async fn issue_invitation(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
        invitation: &NewInvitation,
    ) -> Result<IssuedInvitation, StoreError> {
        let mut inner = self.lock();
        if inner
            .invitations
            .iter()
            .any(|i| i.token_hash == invitation.token_hash)
        {
            return Err(StoreError::Duplicate {
                entity: "invitation",
                key: "token hash",
            });
        }
        let stored = inner.replace_expert(expert, audit)?;
        for old in inner.invitations.iter_mut().filter(|i| {
            i.expert == invitation.expert && i.used_at.is_none() && i.cancelled_at.is_none()
        }) {
            old.cancelled_at = Some(invitation.issued_at);
        }
        let issued = Invitation {
            id: inner.invitations.len() as i64 + 1,
            expert: invitation.expert,
            token_hash: invitation.token_hash.clone(),
            email_key: invitation.email_key.clone(),
            issued_at: invitation.issued_at,
            expires_at: invitation.expires_at,
            used_at: None,
            cancelled_at: None,
        };
        inner.invitations.push(issued.clone());
        let notice = Notice::Invitation {
            invitation: issued.id,
            expires_at: issued.expires_at,
        };
        let message = inner.queue(
            invitation.expert,
            &invitation.address,
            notice,
            invitation.issued_at,
        );
        Ok(IssuedInvitation {
            expert: stored,
            invitation: issued,
            message,
        })
    }

    async fn redeem_invitation(
        &self,
        token_hash: &str,
        email_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExpertId>, StoreError> {
        // Check and mark under one lock, as the databases do in one UPDATE.
        let mut inner = self.lock();
        let found = inner.invitations.iter_mut().find(|i| {
            i.token_hash == token_hash
                && i.email_key == email_key
                && i.used_at.is_none()
                && i.cancelled_at.is_none()
                && at < i.expires_at
        });
        Ok(found.map(|i| {
            i.used_at = Some(at);
            i.expert
        }))
    }

    async fn invitations(&self, expert: ExpertId) -> Result<Vec<Invitation>, StoreError> {
        Ok(self
            .lock()
            .invitations
            .iter()
            .filter(|i| i.expert == expert)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn enqueue_reminder(
        &self,
        expert: ExpertId,
        term_last_day: NaiveDate,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let mut inner = self.lock();
        inner.require_expert(expert)?;
        if inner.reminders.contains_key(&(expert, term_last_day)) {
            return Ok(None);
        }
        let message = inner.queue(expert, address, Notice::Reminder { term_last_day }, at);
        inner.reminders.insert((expert, term_last_day), message.id);
        Ok(Some(message))
    }

    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .filter(|m| m.sent_at.is_none())
            .take(limit)
            .cloned()
            .collect())
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let message = inner
            .outbox
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "outbox message",
                id: id.to_string(),
            })?;
        if message.sent_at.is_some() {
            return Ok(false);
        }
        message.sent_at = Some(at);
        Ok(true)
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn request_revocation(
        &self,
        request: &NewRevocationRequest,
    ) -> Result<RevocationRequest, StoreError> {
        let mut inner = self.lock();
        inner.require_expert(request.expert)?;
        let stored = RevocationRequest {
            id: inner.revocations.len() as i64 + 1,
            expert: request.expert,
            requested_by: request.requested_by.clone(),
            reason: request.reason.clone(),
            requested_at: request.requested_at,
            decision: None,
        };
        inner.revocations.push(stored.clone());
        Ok(stored)
    }

    async fn revocation_request(&self, id: i64) -> Result<Option<RevocationRequest>, StoreError> {
        Ok(self.lock().revocations.iter().find(|r| r.id == id).cloned())
    }

    async fn revocation_requests(
        &self,
        expert: Option<ExpertId>,
    ) -> Result<Vec<RevocationRequest>, StoreError> {
        Ok(self
            .lock()
            .revocations
            .iter()
            .filter(|r| expert.is_none_or(|id| r.expert == id))
            .cloned()
            .collect())
    }

    async fn decide_revocation(
        &self,
        id: i64,
        decision: &RevocationDecision,
        change: Option<(&Expert, AuditDraft)>,
    ) -> Result<RevocationRequest, StoreError> {
        let mut inner = self.lock();
        let request = inner
            .revocations
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "revocation request",
                id: id.to_string(),
            })?;
        if request.decision.is_some() {
            return Err(StoreError::Duplicate {
                entity: "revocation decision",
                key: "request",
            });
        }
        if let Some((expert, audit)) = change {
            inner.replace_expert(expert, Some(audit))?;
        }
        let request = inner
            .revocations
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "revocation request",
                id: id.to_string(),
            })?;
        request.decision = Some(decision.clone());
        Ok(request.clone())
    }
}

/// Refuses a blocking engagement that would share a day with another
/// blocking engagement of the same expert.
fn check_overlap(
    engagements: &BTreeMap<(String, ExpertId), Engagement>,
    engagement: &Engagement,
) -> Result<(), StoreError> {
    let clash = engagement.blocks()
        && engagements.values().any(|other| {
            other.expert == engagement.expert
                && other.request_id != engagement.request_id
                && other.blocks()
                && other.window.overlaps(&engagement.window)
        });
    if clash {
        return Err(StoreError::Duplicate {
            entity: "engagement",
            key: "expert and overlapping days",
        });
    }
    Ok(())
}
