//! Which Python exception a roster error becomes, and what it carries.
//!
//! The classes themselves are defined in `roster/_errors.py`; this module
//! decides the class and its attributes without touching Python, so that
//! Rust tests pin the mapping.

use roster_core::error::{RosterError, StoreError, ValidationError};

/// A Python exception class of the `roster` package, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    /// `ValidationError(RosterError, ValueError)`.
    Validation {
        /// The path of the first field at fault, such as `expert.email`.
        field: String,
        /// Every field at fault with what is wrong with it, in input order.
        errors: Vec<(String, String)>,
    },
    /// `NotFoundError(RosterError, LookupError)`.
    NotFound,
    /// `ConflictError(RosterError)`.
    Conflict {
        /// The version now stored, when the conflict is about a version.
        current_version: Option<u64>,
    },
    /// `DatabaseError(RosterError)`.
    Database {
        /// Whether trying again later may succeed.
        transient: bool,
    },
    /// `ForbiddenError(RosterError, PermissionError)`.
    Forbidden,
    /// `TransitionError(RosterError)`.
    Transition,
    /// `CallClosedError(RosterError)`.
    CallClosed,
    /// `InvitationError(RosterError, PermissionError)`: one class for every
    /// way a token can fail, so callers learn nothing about other tokens.
    Invitation,
    /// `RosterError` itself, for errors no subclass describes.
    Base,
}

impl Class {
    /// The class's name in `roster._errors`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Class::Validation { .. } => "ValidationError",
            Class::NotFound => "NotFoundError",
            Class::Conflict { .. } => "ConflictError",
            Class::Database { .. } => "DatabaseError",
            Class::Forbidden => "ForbiddenError",
            Class::Transition => "TransitionError",
            Class::CallClosed => "CallClosedError",
            Class::Invitation => "InvitationError",
            Class::Base => "RosterError",
        }
    }
}

/// An exception to raise: its class and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raised {
    /// The class and its attributes.
    pub(crate) class: Class,
    /// The message, which names fields, codes and ids but no personal data.
    pub(crate) message: String,
}

/// Maps a roster error onto its Python exception.
pub(crate) fn classify(err: &RosterError) -> Raised {
    let class = match err {
        RosterError::Validation(e) => validation(std::slice::from_ref(e)),
        RosterError::Invalid(errors) => validation(errors),
        RosterError::Transition { .. } => Class::Transition,
        RosterError::CallClosed(_) => Class::CallClosed,
        RosterError::Forbidden { .. } => Class::Forbidden,
        RosterError::Store(e) => store(e),
        RosterError::Conflict { current, .. } => Class::Conflict {
            current_version: Some(*current),
        },
        RosterError::InvitationInvalid => Class::Invitation,
        RosterError::Document(e) => Class::Validation {
            field: "cv".to_owned(),
            errors: vec![("cv".to_owned(), e.to_string())],
        },
        _ => Class::Base,
    };
    let message = match err {
        // The core's summary of several errors names only the first; the
        // Python message lists them all, as the `errors` attribute does.
        RosterError::Invalid(errors) if !errors.is_empty() => {
            let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("{} invalid fields: {}", errors.len(), all.join("; "))
        }
        RosterError::Invalid(_) => "invalid input".to_owned(),
        other => other.to_string(),
    };
    Raised { class, message }
}

/// A validation error found by the bindings themselves.
pub(crate) fn invalid(err: &ValidationError) -> Raised {
    Raised {
        class: validation(std::slice::from_ref(err)),
        message: err.to_string(),
    }
}

fn validation(errors: &[ValidationError]) -> Class {
    let errors: Vec<(String, String)> = errors
        .iter()
        .map(|e| (e.field.to_string(), e.message.clone()))
        .collect();
    Class::Validation {
        field: errors.first().map(|(f, _)| f.clone()).unwrap_or_default(),
        errors,
    }
}

fn store(err: &StoreError) -> Class {
    match err {
        StoreError::Conflict { current, .. } => Class::Conflict {
            current_version: Some(*current),
        },
        StoreError::Duplicate { .. } => Class::Conflict {
            current_version: None,
        },
        StoreError::NotFound { .. } => Class::NotFound,
        StoreError::Backend { transient, .. } => Class::Database {
            transient: *transient,
        },
        StoreError::Corrupt { .. } => Class::Database { transient: false },
        _ => Class::Database { transient: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::error::Field;
    use roster_core::lifecycle::Status;
    use roster_core::model::ExpertId;

    fn field_error(field: &str, message: &str) -> ValidationError {
        ValidationError::new(Field::new(field), message)
    }

    #[test]
    fn validation_errors_carry_every_field() {
        let one = classify(&field_error("expert.email", "is not an e-mail address").into());
        assert_eq!(
            one,
            Raised {
                class: Class::Validation {
                    field: "expert.email".into(),
                    errors: vec![("expert.email".into(), "is not an e-mail address".into())],
                },
                message: "expert.email: is not an e-mail address".into(),
            }
        );
        let two = classify(&RosterError::from(vec![
            field_error("expert.name.full", "contains U+202E"),
            field_error("expert.languages[0].tag", "is not a tag"),
        ]));
        assert_eq!(two.class.name(), "ValidationError");
        assert_eq!(
            two.message,
            "2 invalid fields: expert.name.full: contains U+202E; \
             expert.languages[0].tag: is not a tag"
        );
        let Class::Validation { field, errors } = two.class else {
            panic!("not a validation error");
        };
        assert_eq!(field, "expert.name.full");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn the_bindings_own_validation_errors_map_alike() {
        let raised = invalid(&field_error("today", "is not a day"));
        assert_eq!(raised.message, "today: is not a day");
        assert_eq!(
            raised.class,
            Class::Validation {
                field: "today".into(),
                errors: vec![("today".into(), "is not a day".into())],
            }
        );
    }

    #[test]
    fn an_empty_list_of_errors_still_maps() {
        // The core never builds one, but nothing here may panic on it.
        let raised = classify(&RosterError::Invalid(Vec::new()));
        assert_eq!(raised.message, "invalid input");
        assert_eq!(
            raised.class,
            Class::Validation {
                field: String::new(),
                errors: Vec::new()
            }
        );
    }

    #[test]
    fn store_errors_map_by_kind() {
        let conflict = classify(
            &StoreError::Conflict {
                entity: "expert",
                id: "E-0001".into(),
                expected: 3,
                current: 4,
            }
            .into(),
        );
        assert_eq!(
            conflict.class,
            Class::Conflict {
                current_version: Some(4)
            }
        );
        let missing = classify(
            &StoreError::NotFound {
                entity: "expert",
                id: "E-0042".into(),
            }
            .into(),
        );
        assert_eq!(missing.class, Class::NotFound);
        assert_eq!(missing.message, "expert E-0042 not found");
        let locked = classify(
            &StoreError::Backend {
                transient: true,
                source: "database is locked".into(),
            }
            .into(),
        );
        assert_eq!(locked.class, Class::Database { transient: true });
        let corrupt = classify(
            &StoreError::Corrupt {
                entity: "expert",
                id: "E-0001".into(),
                message: "bad JSON".into(),
            }
            .into(),
        );
        assert_eq!(corrupt.class, Class::Database { transient: false });
    }

    #[test]
    fn lifecycle_and_access_errors_map_by_kind() {
        let transition = classify(&RosterError::Transition {
            expert: ExpertId(7),
            from: Status::Nominated,
            to: Status::Included,
        });
        assert_eq!(transition.class, Class::Transition);
        assert_eq!(
            transition.message,
            "expert E-0007 cannot go from nominated to included"
        );
        let forbidden = classify(&RosterError::Forbidden {
            actor: "participant:THA".into(),
            action: "list every expert",
        });
        assert_eq!(forbidden.class.name(), "ForbiddenError");
        let closed = classify(&RosterError::CallClosed("no 2031 call".into()));
        assert_eq!(closed.class.name(), "CallClosedError");
    }
}
