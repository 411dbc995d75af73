//! Raising the `roster` package's exceptions from Rust.

use std::any::Any;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use roster_core::error::{RosterError, ValidationError};

use crate::errors::{Class, Raised, classify, invalid};

/// Where the exception classes are defined.
const MODULE: &str = "roster._errors";

/// The Python exception for a roster error.
pub(crate) fn roster_error(py: Python<'_>, err: &RosterError) -> PyErr {
    raise(py, classify(err))
}

/// The Python exception for a validation error found by the bindings.
pub(crate) fn validation_error(py: Python<'_>, err: &ValidationError) -> PyErr {
    raise(py, invalid(err))
}

/// A `DatabaseError` that is not worth retrying, with a message the
/// bindings wrote (one that names no personal data).
pub(crate) fn database_error(py: Python<'_>, message: String) -> PyErr {
    raise(
        py,
        Raised {
            class: Class::Database { transient: false },
            message,
        },
    )
}

/// The Python exception for a panic caught at the boundary. Every panic is a
/// bug; it still reaches Python as an ordinary `RosterError`, which scripts
/// can catch, rather than as pyo3's `PanicException`, which they cannot
/// catch with `except Exception`.
pub(crate) fn internal_error(py: Python<'_>, payload: &(dyn Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    raise(
        py,
        Raised {
            class: Class::Base,
            message: format!("internal error in roster ({what}); please report it"),
        },
    )
}

fn raise(py: Python<'_>, raised: Raised) -> PyErr {
    let Raised { class, message } = raised;
    let ty = match class_type(py, &class) {
        Ok(ty) => ty,
        // The package is broken (its Python half is missing); say so.
        Err(import_error) => return import_error,
    };
    match class {
        Class::Validation { field, errors } => PyErr::from_type(ty, (message, field, errors)),
        Class::Conflict { current_version } => PyErr::from_type(ty, (message, current_version)),
        Class::Database { transient } => PyErr::from_type(ty, (message, transient)),
        Class::NotFound
        | Class::Forbidden
        | Class::Transition
        | Class::CallClosed
        | Class::Invitation
        | Class::Base => PyErr::from_type(ty, (message,)),
    }
}

fn class_type<'py>(py: Python<'py>, class: &Class) -> PyResult<Bound<'py, PyType>> {
    static VALIDATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CONFLICT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static DATABASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static FORBIDDEN: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static TRANSITION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CALL_CLOSED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static INVITATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static BASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cell = match class {
        Class::Validation { .. } => &VALIDATION,
        Class::NotFound => &NOT_FOUND,
        Class::Conflict { .. } => &CONFLICT,
        Class::Database { .. } => &DATABASE,
        Class::Forbidden => &FORBIDDEN,
        Class::Transition => &TRANSITION,
        Class::CallClosed => &CALL_CLOSED,
        Class::Invitation => &INVITATION,
        Class::Base => &BASE,
    };
    cell.import(py, MODULE, class.name()).cloned()
}
