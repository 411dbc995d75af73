//! SQLite and PostgreSQL storage for the roster.
