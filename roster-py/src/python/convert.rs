//! Plain Python values (dicts, lists, strings, numbers) to and from the
//! roster's records.

use pyo3::prelude::*;
use pythonize::{Depythonizer, pythonize};
use roster_core::error::{Field, ValidationError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::errors::validation_error;

/// Reads a record from a Python value. A value of the wrong shape is a
/// `ValidationError` whose field is the path inside the value
/// (`expert.languages[0].level`), or `argument` when the value as a whole
/// is wrong (a missing key, a list instead of a dict).
pub(crate) fn from_python<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    argument: &str,
) -> PyResult<T> {
    read(value, |path| {
        if path == "." {
            argument.to_owned()
        } else {
            path.to_owned()
        }
    })
}

/// Reads a record from a Python value as [`from_python`] does, but names a
/// field at fault under `argument` (`feedback.rating`, `batch[0].wanted`),
/// as the roster names the fields of an argument that it checks itself.
pub(crate) fn from_python_under<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    argument: &str,
) -> PyResult<T> {
    read(value, |path| {
        if path == "." {
            argument.to_owned()
        } else if path.starts_with('[') {
            format!("{argument}{path}")
        } else {
            format!("{argument}.{path}")
        }
    })
}

fn read<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    field: impl FnOnce(&str) -> String,
) -> PyResult<T> {
    let mut de = Depythonizer::from_object(value);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let field = field(&err.path().to_string());
        validation_error(
            value.py(),
            &ValidationError::new(Field::new(field), err.inner().to_string()),
        )
    })
}

/// Writes a record as plain Python values: structs become dicts, lists
/// lists, days `YYYY-MM-DD` strings and expert ids ints.
pub(crate) fn to_python<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize(py, value)?)
}
