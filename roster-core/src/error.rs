//! Errors returned by the roster.
//!
//! Every error names what failed. Validation errors carry the path of the
//! field (`experience[2].from`) and say what the value should have been.
//! Messages never contain personal data: they name fields, codes and ids.

use std::fmt;

use crate::documents::DocumentError;
use crate::lifecycle::Status;
use crate::matching::CapBreach;
use crate::model::ExpertId;
use crate::taxonomy::UnknownCode;

/// The path of an input field, such as `expert.languages[1].tag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field(String);

impl Field {
    /// A top-level field.
    pub fn new(name: impl Into<String>) -> Field {
        Field(name.into())
    }

    /// A member of this field.
    pub fn key(&self, name: &str) -> Field {
        if self.0.is_empty() {
            Field(name.to_owned())
        } else {
            Field(format!("{}.{name}", self.0))
        }
    }

    /// An element of this list field.
    pub fn index(&self, i: usize) -> Field {
        Field(format!("{}[{i}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An input value that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Which field failed.
    pub field: Field,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: Field, message: impl Into<String>) -> ValidationError {
        ValidationError {
            field,
            message: message.into(),
        }
    }

    /// An unknown taxonomy code at `field`.
    pub fn unknown_code(field: Field, err: &UnknownCode) -> ValidationError {
        ValidationError::new(field, err.to_string())
    }
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record changed since it was read.
    #[error(
        "{entity} {id} changed since it was read: expected version {expected}, found {current}"
    )]
    Conflict {
        /// The kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
        /// The version the change was made against.
        expected: u64,
        /// The version now stored.
        current: u64,
    },
    /// A record with the same unique key exists.
    #[error("{entity} with the same {key} already exists")]
    Duplicate {
        /// The kind of record.
        entity: &'static str,
        /// Which key collided (never its value).
        key: &'static str,
    },
    /// Accepting the engagement would take its expert over the load cap:
    /// the expert's other accepted or completed missions already fill a
    /// period the engagement falls in. The message gives the cap, the
    /// period and its load.
    #[error("engagement {id} would take its expert over the load cap: {breach}")]
    LoadCap {
        /// The engagement's id, `requester/request/expert`.
        id: String,
        /// The cap and the full period.
        breach: CapBreach,
    },
    /// Accepting the engagement would give its request more experts than
    /// it wants: `wanted` other experts already hold days on it.
    #[error(
        "request {request} is filled: it wants {wanted} {}, and as many hold its days",
        if *.wanted == 1 { "expert" } else { "experts" }
    )]
    Filled {
        /// The request's id, `requester/request`.
        request: String,
        /// How many experts it wants.
        wanted: u16,
    },
    /// No record with this id.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The backend failed.
    #[error("storage backend failed{}", if *.transient { " (transient; retry later)" } else { "" })]
    Backend {
        /// Whether retrying later may succeed (lost connection, lock
        /// contention).
        transient: bool,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data could not be decoded.
    #[error("stored {entity} {id} could not be decoded: {message}")]
    Corrupt {
        /// The kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
        /// What was wrong.
        message: String,
    },
}

/// An error from a [`Roster`](crate::Roster) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// An input value is not acceptable.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Several input values are not acceptable; every one is listed.
    #[error("{} invalid fields{}", .0.len(), .0.first().map(|e| format!(", first {e}")).unwrap_or_default())]
    Invalid(Vec<ValidationError>),
    /// The lifecycle does not allow this change.
    #[error("expert {expert} cannot go from {from} to {to}")]
    Transition {
        /// The expert.
        expert: ExpertId,
        /// The current status.
        from: Status,
        /// The refused target status.
        to: Status,
    },
    /// No call for nominations is open on the day the nomination arrived.
    #[error("{0}")]
    CallClosed(String),
    /// The acting party may not do this.
    #[error("{actor} may not {action}")]
    Forbidden {
        /// Who tried.
        actor: String,
        /// What they tried.
        action: &'static str,
    },
    /// An invitation token did not redeem. Unknown, used, replaced,
    /// expired and wrongly addressed tokens all give this one error, so a
    /// caller learns nothing about which tokens exist.
    #[error(
        "the invitation link is not valid for this address: it may be mistyped, used, replaced or expired; ask the Regional Support Office for a new invitation"
    )]
    InvitationInvalid,
    /// The expert changed since the version the change was made against;
    /// nothing was changed.
    #[error(
        "expert {expert} changed since it was read: expected version {expected}, found {current}; reload it and make the change again"
    )]
    Conflict {
        /// The expert.
        expert: ExpertId,
        /// The version the change was made against.
        expected: u64,
        /// The version now stored.
        current: u64,
    },
    /// The operating system's random source failed.
    #[error("the operating system's random source failed; try again")]
    Randomness(#[source] getrandom::Error),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A CV upload was refused.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl From<Vec<ValidationError>> for RosterError {
    fn from(mut errors: Vec<ValidationError>) -> RosterError {
        if errors.len() == 1 {
            RosterError::Validation(errors.remove(0))
        } else {
            RosterError::Invalid(errors)
        }
    }
}
