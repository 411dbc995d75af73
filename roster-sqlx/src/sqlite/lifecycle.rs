//! Invitations, the outbox and revocation requests in SQLite.
//!
//! Instants are the UTC text of [`codec::instant_text`], whose text order
//! is time order, so expiry is compared in SQL.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::AuditDraft;
use roster_core::model::{Expert, ExpertId};
use roster_core::store::{
    Invitation, InvitationStore, IssuedInvitation, NewInvitation, NewRevocationRequest, Notice,
    Outbox, OutboxMessage, RevocationDecision, RevocationRequest, RevocationStore,
};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, error::ErrorKind};

use super::{SqliteStore, backend, finish, is_kind, is_retryable, replace_expert};
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
impl InvitationStore for SqliteStore {
    async fn issue_invitation(
        &self,
        expert: &Expert,
        audit: Option<AuditDraft>,
        invitation: &NewInvitation,
    ) -> Result<IssuedInvitation, StoreError> {
        let (invitation, message) = retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
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
        let at = codec::instant_text(at);
        // One statement checks and marks, so two redemptions cannot both
        // find the token unused.
        let expert: Option<i64> = sqlx::query_scalar(
            "UPDATE invitations SET used_at = ?
             WHERE token_hash = ? AND email_key = ? AND used_at IS NULL
               AND cancelled_at IS NULL AND ? < expires_at
             RETURNING expert_id",
        )
        .bind(&at)
        .bind(token_hash)
        .bind(email_key)
        .bind(&at)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(expert.map(ExpertId))
    }

    async fn invitations(&self, expert: ExpertId) -> Result<Vec<Invitation>, StoreError> {
        sqlx::query(
            "SELECT id, expert_id, token_hash, email_key, issued_at, expires_at, used_at,
                    cancelled_at
             FROM invitations WHERE expert_id = ? ORDER BY id",
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
impl Outbox for SqliteStore {
    async fn enqueue_reminder(
        &self,
        expert: ExpertId,
        term_last_day: NaiveDate,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = remind(&mut tx, expert, term_last_day, address, at).await;
            finish(tx, result).await
        })
    }

    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        sqlx::query(
            "SELECT id, expert_id, address, notice, queued_at, sent_at
             FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
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
        retrying!(is_retryable, {
            let mut tx = self.begin_write().await?;
            let result = mark(&mut tx, id, at).await;
            finish(tx, result).await
        })
    }
}

#[async_trait]
impl RevocationStore for SqliteStore {
    async fn request_revocation(
        &self,
        request: &NewRevocationRequest,
    ) -> Result<RevocationRequest, StoreError> {
        let done = sqlx::query(
            "INSERT INTO revocation_requests (expert_id, requested_by, reason, requested_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(request.expert.0)
        .bind(&request.requested_by)
        .bind(&request.reason)
        .bind(codec::instant_text(request.requested_at))
        .execute(&self.pool)
        .await
        .map_err(|e| missing_expert_or_backend(e, request.expert))?;
        Ok(RevocationRequest {
            id: done.last_insert_rowid(),
            expert: request.expert,
            requested_by: request.requested_by.clone(),
            reason: request.reason.clone(),
            requested_at: request.requested_at,
            decision: None,
        })
    }

    async fn revocation_request(&self, id: i64) -> Result<Option<RevocationRequest>, StoreError> {
        sqlx::query(select_revocations!("WHERE id = ?"))
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
            "WHERE ? IS NULL OR expert_id = ? ORDER BY id"
        ))
        .bind(expert.map(|e| e.0))
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
            let mut tx = self.begin_write().await?;
            let result = decide(&mut tx, id, decision, change.clone()).await;
            finish(tx, result).await
        })
    }
}

async fn issue(
    conn: &mut SqliteConnection,
    expert: &Expert,
    audit: Option<&AuditDraft>,
    new: &NewInvitation,
) -> Result<(Invitation, OutboxMessage), StoreError> {
    replace_expert(conn, expert, audit).await?;
    let issued_at = codec::instant_text(new.issued_at);
    sqlx::query(
        "UPDATE invitations SET cancelled_at = ?
         WHERE expert_id = ? AND used_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(&issued_at)
    .bind(new.expert.0)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let done = sqlx::query(
        "INSERT INTO invitations (expert_id, token_hash, email_key, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(new.expert.0)
    .bind(&new.token_hash)
    .bind(&new.email_key)
    .bind(&issued_at)
    .bind(codec::instant_text(new.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_kind(&e, ErrorKind::UniqueViolation) {
            StoreError::Duplicate {
                entity: "invitation",
                key: "token hash",
            }
        } else {
            backend(e)
        }
    })?;
    let invitation = Invitation {
        id: done.last_insert_rowid(),
        expert: new.expert,
        token_hash: new.token_hash.clone(),
        email_key: new.email_key.clone(),
        issued_at: new.issued_at,
        expires_at: new.expires_at,
        used_at: None,
        cancelled_at: None,
    };
    let notice = Notice::Invitation {
        invitation: invitation.id,
        expires_at: new.expires_at,
    };
    let message = queue(conn, new.expert, &new.address, notice, new.issued_at).await?;
    Ok((invitation, message))
}

async fn queue(
    conn: &mut SqliteConnection,
    expert: ExpertId,
    address: &str,
    notice: Notice,
    at: DateTime<Utc>,
) -> Result<OutboxMessage, StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (expert_id, address, notice, queued_at) VALUES (?, ?, ?, ?)",
    )
    .bind(expert.0)
    .bind(address)
    .bind(codec::notice_json(&notice)?)
    .bind(codec::instant_text(at))
    .execute(&mut *conn)
    .await
    .map_err(|e| missing_expert_or_backend(e, expert))?;
    Ok(OutboxMessage {
        id: done.last_insert_rowid(),
        expert,
        address: address.to_owned(),
        notice,
        queued_at: at,
        sent_at: None,
    })
}

async fn remind(
    conn: &mut SqliteConnection,
    expert: ExpertId,
    term_last_day: NaiveDate,
    address: &str,
    at: DateTime<Utc>,
) -> Result<Option<OutboxMessage>, StoreError> {
    let known: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM reminders WHERE expert_id = ? AND term_last = ?")
            .bind(expert.0)
            .bind(codec::date_text(term_last_day))
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
    sqlx::query("INSERT INTO reminders (expert_id, term_last, message_id) VALUES (?, ?, ?)")
        .bind(expert.0)
        .bind(codec::date_text(term_last_day))
        .bind(message.id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(Some(message))
}

async fn mark(conn: &mut SqliteConnection, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let sent: Option<Option<String>> =
        sqlx::query_scalar("SELECT sent_at FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    match sent {
        None => Err(StoreError::NotFound {
            entity: "outbox message",
            id: id.to_string(),
        }),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            sqlx::query("UPDATE outbox SET sent_at = ? WHERE id = ?")
                .bind(codec::instant_text(at))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(true)
        }
    }
}

async fn decide(
    conn: &mut SqliteConnection,
    id: i64,
    decision: &RevocationDecision,
    change: Option<(&Expert, AuditDraft)>,
) -> Result<RevocationRequest, StoreError> {
    let done = sqlx::query(
        "UPDATE revocation_requests
         SET decided_by = ?, accepted = ?, decision_reason = ?, decided_at = ?
         WHERE id = ? AND decided_at IS NULL",
    )
    .bind(&decision.decided_by)
    .bind(decision.accepted)
    .bind(&decision.reason)
    .bind(codec::instant_text(decision.decided_at))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let row = sqlx::query(select_revocations!("WHERE id = ?"))
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
    if is_kind(&err, ErrorKind::ForeignKeyViolation) {
        StoreError::NotFound {
            entity: "expert",
            id: expert.to_string(),
        }
    } else {
        backend(err)
    }
}

fn instant(
    row: &SqliteRow,
    column: &str,
    entity: &'static str,
    id: i64,
) -> Result<DateTime<Utc>, StoreError> {
    let text: &str = row.try_get(column).map_err(backend)?;
    codec::parse_instant(text).map_err(|m| codec::corrupt(entity, id.to_string(), m))
}

fn optional_instant(
    row: &SqliteRow,
    column: &str,
    entity: &'static str,
    id: i64,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<&str> = row.try_get(column).map_err(backend)?;
    text.map(codec::parse_instant)
        .transpose()
        .map_err(|m| codec::corrupt(entity, id.to_string(), m))
}

fn invitation_from_row(row: &SqliteRow) -> Result<Invitation, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    Ok(Invitation {
        id,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        token_hash: row.try_get("token_hash").map_err(backend)?,
        email_key: row.try_get("email_key").map_err(backend)?,
        issued_at: instant(row, "issued_at", "invitation", id)?,
        expires_at: instant(row, "expires_at", "invitation", id)?,
        used_at: optional_instant(row, "used_at", "invitation", id)?,
        cancelled_at: optional_instant(row, "cancelled_at", "invitation", id)?,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    let notice: &str = row.try_get("notice").map_err(backend)?;
    Ok(OutboxMessage {
        id,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        address: row.try_get("address").map_err(backend)?,
        notice: codec::notice_from_json(id, notice)?,
        queued_at: instant(row, "queued_at", "outbox message", id)?,
        sent_at: optional_instant(row, "sent_at", "outbox message", id)?,
    })
}

fn revocation_from_row(row: &SqliteRow) -> Result<RevocationRequest, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend)?;
    let accepted: Option<bool> = row.try_get("accepted").map_err(backend)?;
    let decision = match accepted {
        None => None,
        Some(accepted) => Some(RevocationDecision {
            decided_by: row.try_get("decided_by").map_err(backend)?,
            accepted,
            reason: row.try_get("decision_reason").map_err(backend)?,
            decided_at: instant(row, "decided_at", "revocation request", id)?,
        }),
    };
    Ok(RevocationRequest {
        id,
        expert: ExpertId(row.try_get("expert_id").map_err(backend)?),
        requested_by: row.try_get("requested_by").map_err(backend)?,
        reason: row.try_get("reason").map_err(backend)?,
        requested_at: instant(row, "requested_at", "revocation request", id)?,
        decision,
    })
}
