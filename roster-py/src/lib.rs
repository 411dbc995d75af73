//! Python bindings of the roster.
