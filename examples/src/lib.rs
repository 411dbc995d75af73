//! Sample data and the quickstart path.
