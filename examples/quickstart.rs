//! The quickstart: runs the sample annual call for nominations on a SQLite
//! file and prints the call's summary and a shortlist for each sample
//! request.
//!
//! ```text
//! cargo run --example quickstart [DATABASE]
//! ```
//!
//! The database is the path given, else `$ROSTER_DATABASE`, else
//! `roster-quickstart.db` in the current directory; it is created when
//! missing. Running again on the same file changes nothing and prints the same
//! report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use roster_examples::{SampleData, SampleRoster, Timeline, render, run};
use roster_sqlx::sqlite::SqliteStore;

#[tokio::main]
async fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("ROSTER_DATABASE"))
        .map_or_else(|| PathBuf::from("roster-quickstart.db"), PathBuf::from);
    eprintln!("database: {}", path.display());
    match quickstart(&path).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("quickstart failed: {error}");
            let mut source = std::error::Error::source(&*error);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn quickstart(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let data = SampleData::bundled();
    let store = Arc::new(SqliteStore::open(path).await?);
    let roster = SampleRoster::new(store, Timeline::after(&data.call));
    let report = run(&roster, &data).await?;
    Ok(render(&report))
}
