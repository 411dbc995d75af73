//! An in-memory store: for tests, for analysts' scratch rosters, and as the
//! reference the database adapters are compared with.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::lifecycle::{AuditDraft, AuditEntry, Status};
use crate::model::{Call, Engagement, Expert, ExpertId, MissionRequest};
use crate::store::{CallStore, ExpertStore, MissionStore, NewExpert};

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
    fn append_audit(&mut self, expert: ExpertId, change: AuditDraft) {
        let seq = self.audit.len() as i64 + 1;
        self.audit.push(AuditEntry {
            seq,
            expert,
            change,
        });
    }
}

#[async_trait]
impl CallStore for MemoryStore {
    async fn save_call(&self, call: &Call) -> Result<(), StoreError> {
        self.lock().calls.insert(call.year, call.clone());
        Ok(())
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
        let mut inner = self.lock();
        let current = inner
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
        if new_key != old_key && inner.identities.contains_key(&new_key) {
            return Err(StoreError::Duplicate {
                entity: "expert",
                key: "identity",
            });
        }
        let mut stored = expert.clone();
        stored.version += 1;
        inner.identities.remove(&old_key);
        inner.identities.insert(new_key, expert.id);
        inner.experts.insert(expert.id, stored.clone());
        if let Some(change) = audit {
            inner.append_audit(expert.id, change);
        }
        Ok(stored)
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
        if inner.requests.contains_key(&request.id) {
            return Ok(false);
        }
        inner.requests.insert(request.id.clone(), request.clone());
        Ok(true)
    }

    async fn request(&self, id: &str) -> Result<Option<MissionRequest>, StoreError> {
        Ok(self.lock().requests.get(id).cloned())
    }

    async fn save_engagement(&self, engagement: &Engagement) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if engagement.blocks() {
            let clash = inner.engagements.values().any(|other| {
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
        }
        inner.engagements.insert(
            (engagement.request_id.clone(), engagement.expert),
            engagement.clone(),
        );
        Ok(())
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
