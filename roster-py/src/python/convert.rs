//! Plain Python values (dicts, lists, strings, numbers) to and from the
//! roster's records.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pythonize::{Depythonizer, pythonize};
use roster_core::ExpertId;
use roster_core::error::{Field, ValidationError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

use super::errors::validation_error;
use super::ranged::{Failed, Ranged};
use crate::checks::{Whole, WholeNumber};

/// Reads a record from a Python value. A value of the wrong shape is a
/// `ValidationError` whose field is the path inside the value
/// (`expert.languages[0].level`), or `argument` when the value as a whole
/// is wrong (a missing key, a list instead of a dict).
pub(crate) fn from_python<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    argument: &str,
) -> PyResult<T> {
    read_record(value, argument).map_err(|err| validation_error(value.py(), &err))
}

/// Reads a record as [`from_python`] does, but returns the problem rather
/// than raising it, to be listed with others.
pub(crate) fn read_record<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    argument: &str,
) -> Result<T, ValidationError> {
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
    read_under(value, argument).map_err(|err| validation_error(value.py(), &err))
}

/// Reads a value as [`from_python_under`] does, but returns the problem
/// rather than raising it, to be listed with others.
pub(crate) fn read_under<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    argument: &str,
) -> Result<T, ValidationError> {
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

/// Reads `value`; a problem names the field `field` makes of the path to
/// it. A whole number outside its field's type says so in words ("is -1;
/// must be zero or more", "is 70000; the maximum is 65535") rather than in
/// Python's `OverflowError` text.
fn read<T: DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    field: impl FnOnce(&str) -> String,
) -> Result<T, ValidationError> {
    let failed = Failed::default();
    let mut de = Depythonizer::from_object(value);
    serde_path_to_error::deserialize(Ranged::new(&mut de, &failed)).map_err(|err| {
        let field = Field::new(field(&err.path().to_string()));
        let out_of_range = failed.get().and_then(|range| {
            let number = whole_number(&value_at(value, err.path())?)?;
            number.within(field.clone(), range).err()
        });
        out_of_range.unwrap_or_else(|| ValidationError::new(field, err.inner().to_string()))
    })
}

/// The part of `root` at `path`, when it can be found again.
fn value_at<'py>(root: &Bound<'py, PyAny>, path: &Path) -> Option<Bound<'py, PyAny>> {
    let mut at = root.clone();
    for segment in path.iter() {
        at = match segment {
            Segment::Seq { index } => at.get_item(index).ok()?,
            // A dataclass is read by attribute, a mapping by key.
            Segment::Map { key } => at.get_item(key).or_else(|_| at.getattr(key)).ok()?,
            // An enum's content sits under its variant's name; a unit
            // variant is the name itself.
            Segment::Enum { variant } => match at.get_item(variant) {
                Ok(content) => content,
                Err(_) => at,
            },
            Segment::Unknown => return None,
        };
    }
    Some(at)
}

/// `value` as a whole number of any size, if it is one: an int, or any
/// object with `__index__` (a numpy integer, say).
pub(crate) fn whole_number(value: &Bound<'_, PyAny>) -> Option<WholeNumber> {
    match value.extract::<i128>() {
        Ok(n) => Some(WholeNumber::new(n)),
        Err(err) if err.is_instance_of::<PyOverflowError>(value.py()) => {
            let index = value.call_method0("__index__").ok()?;
            let negative = index.lt(0).ok()?;
            Some(WholeNumber::beyond(negative, index.str().ok()?.to_string()))
        }
        Err(_) => None,
    }
}

/// Reads a whole-number argument named `name` as a `T`: a number outside
/// `T` is a `ValidationError` naming the argument, as a field of a record
/// would be, rather than Python's `OverflowError`. Anything but a whole
/// number raises what Python's own conversion raises (`TypeError`).
pub(crate) fn whole_argument<T>(value: &Bound<'_, PyAny>, name: &str) -> PyResult<T>
where
    T: Whole + for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>,
{
    match whole_number(value) {
        Some(number) => number
            .to::<T>(Field::new(name))
            .map_err(|err| validation_error(value.py(), &err)),
        None => value.extract::<T>(),
    }
}

/// An `expert_id` argument: an int that must fit an expert id (an i64)
/// and be 1 or more, as every id the stores give is.
pub(crate) struct ExpertIdArgument(pub(crate) ExpertId);

impl<'a, 'py> FromPyObject<'a, 'py> for ExpertIdArgument {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<ExpertIdArgument> {
        let id = whole_argument::<i64>(&value, "expert_id")?;
        if id < 1 {
            let err = ValidationError::new(
                Field::new("expert_id"),
                format!("is {id}; expert ids start at 1"),
            );
            return Err(validation_error(value.py(), &err));
        }
        Ok(ExpertIdArgument(ExpertId(id)))
    }
}

/// A text argument named `name`: a Python `str` that UTF-8 cannot hold (a
/// lone surrogate, as `"\ud800"`) is a `ValidationError` naming it rather
/// than a bare `UnicodeEncodeError`; anything but a `str` raises what
/// Python's own conversion raises (`TypeError`).
pub(crate) fn text_argument(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    match value.cast::<pyo3::types::PyString>() {
        Ok(text) => text.to_str().map(str::to_owned).map_err(|_| {
            let err = ValidationError::new(
                Field::new(name),
                "holds a lone surrogate, which is not text; pass a string that encodes to UTF-8",
            );
            validation_error(value.py(), &err)
        }),
        Err(_) => value.extract::<String>(),
    }
}

/// The `requester` and `request_id` arguments that name an issued request,
/// read by [`text_argument`].
macro_rules! text_arguments {
    ($($(#[$doc:meta])* $ty:ident = $name:literal;)+) => {$(
        $(#[$doc])*
        pub(crate) struct $ty(pub(crate) String);

        impl<'a, 'py> FromPyObject<'a, 'py> for $ty {
            type Error = PyErr;

            fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<$ty> {
                text_argument(&value, $name).map($ty)
            }
        }
    )+};
}

text_arguments! {
    /// A `requester` argument: a member's code.
    RequesterArgument = "requester";
    /// A `request_id` argument: the requester's own id for a request.
    RequestIdArgument = "request_id";
}

/// A whole-number argument of any size, checked later with the other
/// arguments of its call.
pub(crate) struct WholeArgument(pub(crate) WholeNumber);

impl<'a, 'py> FromPyObject<'a, 'py> for WholeArgument {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<WholeArgument> {
        match whole_number(&value) {
            Some(number) => Ok(WholeArgument(number)),
            // Python's own conversion says what is wrong (`TypeError`).
            None => value
                .extract::<i64>()
                .map(|n| WholeArgument(WholeNumber::new(n.into()))),
        }
    }
}

/// Writes a record as plain Python values: structs become dicts, lists
/// lists, days `YYYY-MM-DD` strings and expert ids ints.
pub(crate) fn to_python<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize(py, value)?)
}
