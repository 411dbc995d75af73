//! The storage conformance suite on the in-memory store.

use std::sync::Arc;

use roster_core::MemoryStore;

roster_core::conformance_tests!(async || Arc::new(MemoryStore::new()));
