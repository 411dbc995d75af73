//! Python bindings of the roster: the `roster` package for analysts.
//!
//! The extension module is built only with the `python` feature, which
//! maturin turns on (see `pyproject.toml` beside this crate); without it the
//! crate is empty, so a plain workspace build needs no Python. The pieces
//! that do not touch Python (how errors map onto exception classes, the
//! settable clock, the checks of matching input) are kept apart from the
//! pyo3 glue so that Rust tests cover them without an interpreter.
//!
//! The Python package (`python/roster/`, with its type stubs) and its pytest
//! suite (`tests/`) sit beside this crate.

#[cfg(any(feature = "python", test))]
mod checks;
#[cfg(any(feature = "python", test))]
mod clock;
#[cfg(any(feature = "python", test))]
mod errors;
#[cfg(feature = "python")]
mod python;
