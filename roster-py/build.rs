//! With the `python` feature, Rust test binaries embed Python and load
//! libpython when they start. Recording where it lives lets them find the
//! interpreter's own library (a pyenv or virtualenv Python's, say) rather
//! than whichever one the system's loader finds first. pyo3 adds nothing
//! when maturin builds the extension module itself.

fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::add_libpython_rpath_link_args();
}
