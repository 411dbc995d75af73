//! The `roster._roster` extension module.

mod convert;
mod errors;
mod matching;
mod ranged;
mod roster;

use pyo3::prelude::*;

/// The native part of the `roster` package; import `roster` instead.
#[pymodule(name = "_roster")]
mod native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::matching::{assign, assign_non_overlapping};
    #[pymodule_export]
    use super::roster::PyRoster;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
