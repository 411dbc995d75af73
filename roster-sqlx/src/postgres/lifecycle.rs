//! Invitations, the outbox and revocation requests in PostgreSQL.
//!
//! Each check-and-change is one UPDATE whose WHERE clause holds the check:
//! at READ COMMITTED a second writer waits for the first one's row lock and
//! then evaluates the clause again against the committed row, so of two
//! redemptions or decisions at once, one wins.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::AuditDraft;
use roster_core::model::{Expert, ExpertId};
use roster_core::store::{
    Invitation, InvitationStore, IssuedInvitation, NewInvitation, NewRevocationRequest, Notice,
    Outbox, OutboxMessage, RevocationDecision, RevocationRequest, RevocationStore,
};
use sqlx::Row;
use sqlx::error::ErrorKind;
use sqlx::postgres::{PgConnection, PgRow};

use super::{PgStore, backend, finish, is_retryable, replace_expert, unique_or_backend};
use crate::codec;
use crate::retry::retrying;

/// The query of revocation requests, with the rest of the statement.
macro_rules! select_revocations {
    ($rest:literal) => {
        concat!(
            "SELECT id, expert_id, requested_by, reason, requested_at,
                    decided_by, accepted, decision_reason, decided_at
             FROM revocation_requests ",
            $rest
        )
    };
}

#[async_trait]
impl InvitationStore for PgStore {
    async fn issue_invitation(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
        invitation: &NewInvitation,
    ) -> Result<IssuedInvitation, StoreError> {
        let (invitation, message) = retrying!(is_retryable, {
            let mut tx = self.begin().await?;
            let result = issue(&mut tx, expert, audit.as_ref(), invitation).await;
            finish(tx, result).await
        })?;
        Ok(IssuedInvitation {
            expert: Expert {
                version: expert.version + 1,
                ..expert.clone()
            },
            invitation,
            message,
        })
    }

    async fn redeem_invitation(
        &self,
        token_hash: &str,
        email_key: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExpertId>, StoreError> {
        let expert: Option<i64> = sqlx::query_scalar(
            "UPDATE invitations SET used_at = $1
             WHERE token_hash = $2 AND email_key = $3 AND used_at IS NULL
               AND cancelled_at IS NULL AND $1 < expires_at
             RETURNING expert_id",
        )
        .bind(at)
        .bind(token_hash)
        .bind(email_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(expert.map(ExpertId))
    }

    async fn invitations(&self, expert: ExpertId) -> Result<Vec<Invitation>, StoreError> {
        sqlx::query(
            "SELECT id, expert_id, token_hash, email_key, issued_at, expires_at, used_at,
                    cancelled_at
             FROM invitations WHERE expert_id = $1 ORDER BY id",
        )
        .bind(expert.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(invitation_from_row)
        .collect()
    }
}

#[async_trait]
impl Outbox for PgStore {
    async fn enqueue_reminder(
        &self,
        expert: ExpertId,
        term_last_day: NaiveDate,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin().await?;
            let result = remind(&mut tx, expert, term_last_day, address, at).await;
            finish(tx, result).await
        })
    }

    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        sqlx::query(
            "SELECT id, expert_id, address, notice, queued_at, sent_at
             FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match known {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound {
                entity: "outbox message",
                id: id.to_string(),
            }),
        }
    }
}

#[async_trait]
impl RevocationStore for PgStore {
    async fn request_revocation(
        &self,
        request: &NewRevocationRequest,
    ) -> Result<RevocationRequest, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO revocation_requests (expert_id, requested_by, reason, requested_at)
             VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(request.expert.0)
        .bind(&request.requested_by)
        .bind(&request.reason)
        .bind(request.requested_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| missing_expert_or_backend(e, request.expert))?;
        Ok(RevocationRequest {
            id,
            expert: request.expert,
            requested_by: request.requested_by.clone(),
            reason: request.reason.clone(),
            requested_at: request.requested_at,
            decision: None,
        })
    }

    async fn revocation_request(&self, id: i64) -> Result<Option<RevocationRequest>, StoreError> {
        sqlx::query(select_revocations!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|row| revocation_from_row(&row))
            .transpose()
    }

    async fn revocation_requests(
        &self,
        expert: Option<ExpertId>,
    ) -> Result<Vec<RevocationRequest>, StoreError> {
        sqlx::query(select_revocations!(
            "WHERE $1::bigint IS NULL OR expert_id = $1 ORDER BY id"
        ))
        .bind(expert.map(|e| e.0))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(revocation_from_row)
        .collect()
    }

    async fn decide_revocation(
        &self,
        id: i64,
        decision: &RevocationDecision,
        change: Option<(&Expert, AuditDraft)>,
    ) -> Result<RevocationRequest, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin().await?;
            let result = decide(&mut tx, id, decision, change.clone()).await;
            finish(tx, result).await
        })
    }
}

async fn issue(
    conn: &mut PgConnection,
    expert: &Expert,
    audit: Option<&AuditDraft>,
    new: &NewInvitation,
) -> Result<(Invitation, OutboxMessage), StoreError> {
    // Also serialises issuing for one expert: the row stays locked by the
    // update until commit.
    replace_expert(conn, expert, audit).await?;
    sqlx::query(
        "UPDATE invitations SET cancelled_at = $1
         WHERE expert_id = $2 AND used_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(new.issued_at)
    .bind(new.expert.0)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invitations (expert_id, token_hash, email_key, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(new.expert.0)
    .bind(&new.token_hash)
    .bind(&new.email_key)
    .bind(new.issued_at)
    .bind(new.expires_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_or_backend(e, "invitation", "token hash"))?;
    let invitation = Invitation {
        id,
        expert: new.expert,
        token_hash: new.token_hash.clone(),
        email_key: new.email_key.clone(),
        issued_at: new.issued_at,
        expires_at: new.expires_at,
        used_at: None,
        cancelled_at: None,
    };
    let notice = Notice::Invitation {
        invitation: id,
        expires_at: new.expires_at,
    };
    let message = queue(conn, new.expert, &new.address, notice, new.issued_at).await?;
    Ok((invitation, message))
}

async fn queue(
    conn: &mut PgConnection,
    expert: ExpertId,
    address: &str,
    notice: Notice,
    at: DateTime<Utc>,
) -> Result<OutboxMessage, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (expert_id, address, notice, queued_at) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(expert.0)
    .bind(address)
    .bind(codec::notice_json(&notice)?)
    .bind(at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| missing_expert_or_backend(e, expert))?;
    Ok(OutboxMessage {
        id,
        expert,
        address: address.to_owned(),
        notice,
        queued_at: at,
        sent_at: None,
    })
}

async fn remind(
    conn: &mut PgConnection,
    expert: ExpertId,
    term_last_day: NaiveDate,
    address: &str,
    at: DateTime<Utc>,
) -> Result<Option<OutboxMessage>, StoreError> {
    // Locking the expert's row makes two sweeps queue here, so the second
    // sees the first one's reminder.
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM experts WHERE id = $1 FOR UPDATE")
        .bind(expert.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    if found.is_none() {
        return Err(StoreError::NotFound {
            entity: "expert",
            id: expert.to_string(),
        });
    }
    let known: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM reminders WHERE expert_id = $1 AND term_last = $2")
            .bind(expert.0)
            .bind(term_last_day)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    if known.is_some() {
        return Ok(None);
    }
    let message = queue(
        conn,
        expert,
        address,
        Notice::Reminder { term_last_day },
        at,
    )
    .await?;
    sqlx::query("INSERT INTO reminders (expert_id, term_last, message_id) VALUES ($1, $2, $3)")
        .bind(expert.0)
        .bind(term_last_day)
        .bind(message.id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(Some(message))
}

async fn decide(
    conn: &mut PgConnection,
    id: i64,
    decision: &RevocationDecision,
    change: Option<(&Expert, AuditDraft)>,
) -> Result<RevocationRequest, StoreError> {
    let done = sqlx::query(
        "UPDATE revocation_requests
         SET decided_by = $1, accepted = $2, decision_reason = $3, decided_at = $4
         WHERE id = $5 AND decided_at IS NULL",
    )
    .bind(&decision.decided_by)
    .bind(decision.accepted)
    .bind(&decision.reason)
    .bind(decision.decided_at)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let row = sqlx::query(select_revocations!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let Some(row) = row else {
        return Err(StoreError::NotFound {
            entity: "revocation request",
            id: id.to_string(),
        });
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::Duplicate {
            entity: "revocation decision",
            key: "request",
        });
    }
    if let Some((expert, audit)) = change {
        replace_expert(conn, expert, Some(&audit)).await?;
    }
    revocation_from_row(&row)
}

fn missing_expert_or_backend(err: sqlx::Error, expert: ExpertId) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation => {
            StoreError::NotFound {
                entity: "expert",
                id: expert.to_string(),
            }
        }
        _ => backend(err),
    }
}

fn invitation_from_row(row: &PgRow) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: row.try_get("id").map_err(backend)?,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        token_hash: row.try_get("token_hash").map_err(backend)?,
        email_key: row.try_get("email_key").map_err(backend)?,
        issued_at: row.try_get("issued_at").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        used_at: row.try_get("used_at").map_err(backend)?,
        cancelled_at: row.try_get("cancelled_at").map_err(backend)?,
    })
}

fn message_from_row(row: &PgRow) -> Result<OutboxMessage, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    let notice: &str = row.try_get("notice").map_err(backend)?;
    Ok(OutboxMessage {
        id,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        address: row.try_get("address").map_err(backend)?,
        notice: codec::notice_from_json(id, notice)?,
        queued_at: row.try_get("queued_at").map_err(backend)?,
        sent_at: row.try_get("sent_at").map_err(backend)?,
    })
}

fn revocation_from_row(row: &PgRow) -> Result<RevocationRequest, StoreError> {
    let accepted: Option<bool> = row.try_get("accepted").map_err(backend)?;
    let decision = match accepted {
        None => None,
        Some(accepted) => Some(RevocationDecision {
            decided_by: row.try_get("decided_by").map_err(backend)?,
            accepted,
            reason: row.try_get("decision_reason").map_err(backend)?,
            decided_at: row.try_get("decided_at").map_err(backend)?,
        }),
    };
    Ok(RevocationRequest {
        id: row.try_get("id").map_err(backend)?,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        requested_by: row.try_get("requested_by").map_err(backend)?,
        reason: row.try_get("reason").map_err(backend)?,
        requested_at: row.try_get("requested_at").map_err(backend)?,
        decision,
    })
}
