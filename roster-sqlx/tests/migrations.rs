//! Shipped migrations never change: every migration file's SHA-256 must
//! match its line in `migrations/checksums.txt`, and every file must have
//! a line. A database that applied a migration refuses to start once the
//! file changes, so an edit has to be a new migration instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const LIST: &str = "migrations/checksums.txt";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.sql` file under `migrations/`, by its path relative to that
/// folder (always with `/`), with its SHA-256 in lower-case hex.
fn migration_digests() -> BTreeMap<String, String> {
    let root = crate_dir().join("migrations");
    let mut found = BTreeMap::new();
    for database in ["sqlite", "postgres"] {
        let dir = root.join(database);
        for entry in std::fs::read_dir(&dir).expect("read a migrations folder") {
            let path = entry.expect("a folder entry").path();
            if path.extension().is_some_and(|ext| ext == "sql") {
                let name = path.file_name().expect("a file name").to_string_lossy();
                found.insert(format!("{database}/{name}"), sha256_hex(&path));
            }
        }
    }
    found
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read a migration");
    Sha256::digest(&bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The committed list: `path digest` per line; blank lines and lines
/// starting with `#` are ignored.
fn committed() -> BTreeMap<String, String> {
    // A missing list reports every file as unlisted, with its line.
    let text = std::fs::read_to_string(crate_dir().join(LIST)).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (path, digest) = line
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("`{line}` in {LIST} is not `path digest`"));
            (path.to_owned(), digest.trim().to_owned())
        })
        .collect()
}

#[test]
fn every_migration_matches_its_committed_checksum() {
    let found = migration_digests();
    let listed = committed();
    let mut problems = Vec::new();
    for (path, digest) in &found {
        match listed.get(path) {
            Some(expected) if expected == digest => {}
            Some(expected) => problems.push(format!(
                "{path} changed (listed {expected}, now {digest}). Shipped migrations are \
                 never edited: restore the file and put the change in a new migration."
            )),
            None => problems.push(format!(
                "{path} has no line in roster-sqlx/{LIST}. If it is a new migration, add \
                 this line to that file:\n    {path} {digest}"
            )),
        }
    }
    for path in listed.keys().filter(|path| !found.contains_key(*path)) {
        problems.push(format!(
            "{path} is listed in roster-sqlx/{LIST} but missing: shipped migrations are \
             never deleted."
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn both_databases_have_the_same_migration_numbers() {
    let found = migration_digests();
    let numbers = |database: &str| -> Vec<String> {
        found
            .keys()
            .filter_map(|path| path.strip_prefix(database)?.strip_prefix('/'))
            .map(|name| name.split('_').next().unwrap_or(name).to_owned())
            .collect()
    };
    assert_eq!(numbers("sqlite"), numbers("postgres"));
    assert!(!numbers("sqlite").is_empty());
}
