//! Writes the two assignment batches of the `matching` benchmark to JSON,
//! with the answers of `assign_non_overlapping` and `assign`, so that an
//! outside solver can measure the heuristic's gap to the exact optimum
//! (see `milp_gap.py` beside this file) and time `assign` against other
//! assignment solvers (see `assign_compare.py`). Run with
//!
//! ```sh
//! cargo bench -p roster-core --bench assignment_batches
//! ```
//!
//! The files go to `target/tmp/assignment-gap/`, or to the folder named by
//! `ROSTER_GAP_DIR`. Under `cargo test --benches` it writes nothing.
//!
//! Per batch `<experts>x<requests>` there are two files:
//!
//! - `<label>.instance.json`: the requests, each with its key, its window
//!   as day numbers (days since 1970-01-01, both ends inclusive), how many
//!   experts it wants and its candidates as `[expert id, score]` pairs;
//! - `<label>.heuristic.json`: the placements and total of
//!   `assign_non_overlapping`, its best time over a few runs, and the
//!   answer of the exact one-mission-per-expert `assign`: its total, its
//!   best time over as many runs, and its experts per request key.

#[path = "../roster_gen/mod.rs"]
mod roster_gen;

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use roster_core::matching::MatchPolicy;
use roster_core::matching::assignment::{BatchRequest, assign, assign_non_overlapping};
use roster_core::matching::index::MatchIndex;
use roster_core::membership::Membership;
use roster_core::taxonomy::Taxonomy;
use roster_gen::{Generator, today};
use serde::Serialize;

/// The seed of `benches/matching.rs`; the batches must be the same.
const SEED: u64 = 20_260_601;

/// The batch sizes of `benches/matching.rs`, experts by requests.
const SIZES: [(usize, usize); 2] = [(20_000, 200), (100_000, 1_000)];

/// Runs of each solver whose best time is reported.
const RUNS: usize = 20;

fn main() -> Result<(), Box<dyn Error>> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // this target has nothing to test.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let dir = std::env::var_os("ROSTER_GAP_DIR").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("assignment-gap"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;
    for (experts, requests) in SIZES {
        let label = format!("{experts}x{requests}");
        let batch = batch(experts, requests);
        let instance = Instance::new(&label, experts, requests, &batch)?;
        write(&dir.join(format!("{label}.instance.json")), &instance)?;

        let (heuristic, best) = best_of(RUNS, || assign_non_overlapping(&batch));
        let (exact, exact_best) = best_of(RUNS, || assign(&batch));
        let mut exact_experts: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for p in &exact.placements {
            exact_experts
                .entry(p.request.clone())
                .or_default()
                .push(p.expert.0);
        }
        let position: HashMap<&str, usize> = instance
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.as_str(), i))
            .collect();
        let placements = heuristic
            .placements
            .iter()
            .map(|p| {
                let request = *position
                    .get(p.request.as_str())
                    .ok_or_else(|| format!("placement on unknown request {}", p.request))?;
                Ok(PlacementOut {
                    request,
                    expert: p.expert.0,
                    score: p.score,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let result = HeuristicOut {
            instance: label.clone(),
            heuristic: "assign_non_overlapping",
            total: heuristic.total,
            proven_optimal: heuristic.optimal,
            best_seconds: best.as_secs_f64(),
            runs: RUNS,
            placements,
            one_mission_exact_total: exact.total,
            one_mission_exact_placements: exact.placements.len(),
            one_mission_exact_best_seconds: exact_best.as_secs_f64(),
            one_mission_exact_experts: exact_experts,
        };
        write(&dir.join(format!("{label}.heuristic.json")), &result)?;
        println!(
            "{label}: {} requests, {} candidate pairs; non-overlapping heuristic {} \
             ({} placements, {:.2} ms best of {RUNS}); one-mission exact {} \
             ({} placements, {:.2} ms best of {RUNS})",
            instance.requests.len(),
            instance
                .requests
                .iter()
                .map(|r| r.candidates.len())
                .sum::<usize>(),
            result.total,
            result.placements.len(),
            best.as_secs_f64() * 1e3,
            exact.total,
            exact.placements.len(),
            exact_best.as_secs_f64() * 1e3,
        );
    }
    println!("written to {}", dir.display());
    Ok(())
}

/// `requests` requests over `experts` experts, each with its best 100
/// candidates from the index: the `batch` of `benches/matching.rs`.
fn batch(experts: usize, requests: usize) -> Vec<BatchRequest> {
    let membership = Membership::bundled();
    let index = index_of(experts);
    let mut g = Generator::new(SEED + 2);
    (0..requests)
        .filter_map(|i| {
            let mut request = g.request(i);
            request.experts_wanted = 1 + (i % 3) as u16;
            let ranked = index
                .rank(&request, &MatchPolicy::default(), &membership, 100)
                .ok()?;
            Some(BatchRequest {
                key: request.key(),
                window: request.window,
                wanted: request.experts_wanted,
                candidates: ranked.hits.iter().map(|h| (h.expert, h.total)).collect(),
            })
        })
        .collect()
}

/// The index of `benches/matching.rs` over `n` experts.
fn index_of(n: usize) -> MatchIndex {
    let membership = Membership::bundled();
    let mut generator = Generator::new(SEED);
    let mut index = MatchIndex::new(Taxonomy::current(), today());
    for id in 1..=n as i64 {
        let expert = generator.expert(id);
        let engagements = generator.engagements(id);
        index.push(&expert, &engagements, &membership);
    }
    index
}

/// The result of the best of `runs` calls of `f`, and that best time.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let start = Instant::now();
    let mut out = f();
    let mut best = start.elapsed();
    for _ in 1..runs {
        let start = Instant::now();
        out = std::hint::black_box(f());
        best = best.min(start.elapsed());
    }
    (out, best)
}

fn write(path: &Path, value: &impl Serialize) -> Result<(), Box<dyn Error>> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(file, value)?;
    Ok(())
}

/// A batch as written to `<label>.instance.json`.
#[derive(Serialize)]
struct Instance {
    instance: String,
    experts: usize,
    /// Requests generated; those with no ranked candidate are left out, as
    /// in `benches/matching.rs`.
    requests_generated: usize,
    seed: u64,
    /// The day numbered 0.
    day_zero: NaiveDate,
    requests: Vec<RequestOut>,
}

#[derive(Serialize)]
struct RequestOut {
    key: String,
    first: i64,
    last: i64,
    wanted: u16,
    candidates: Vec<(i64, u32)>,
}

impl Instance {
    fn new(
        label: &str,
        experts: usize,
        requests_generated: usize,
        batch: &[BatchRequest],
    ) -> Result<Instance, Box<dyn Error>> {
        let day_zero = chrono::DateTime::UNIX_EPOCH.date_naive();
        let requests: Vec<RequestOut> = batch
            .iter()
            .map(|r| RequestOut {
                key: r.key.clone(),
                first: (r.window.first - day_zero).num_days(),
                last: (r.window.last - day_zero).num_days(),
                wanted: r.wanted,
                candidates: r.candidates.iter().map(|&(e, s)| (e.0, s)).collect(),
            })
            .collect();
        // Placements name their request by key, so keys must be unique.
        let mut keys: Vec<&str> = requests.iter().map(|r| r.key.as_str()).collect();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("request key {} appears twice in the batch", w[0]).into());
        }
        Ok(Instance {
            instance: label.to_owned(),
            experts,
            requests_generated,
            seed: SEED,
            day_zero,
            requests,
        })
    }
}

/// The answers written to `<label>.heuristic.json`.
#[derive(Serialize)]
struct HeuristicOut {
    instance: String,
    heuristic: &'static str,
    total: u64,
    /// Whether the heuristic itself proved its total optimal (by reaching
    /// the bound of every request taking its best candidates).
    proven_optimal: bool,
    best_seconds: f64,
    runs: usize,
    placements: Vec<PlacementOut>,
    /// `assign`, where an expert takes at most one mission of the batch: a
    /// lower bound on the non-overlapping optimum, for reference.
    one_mission_exact_total: u64,
    one_mission_exact_placements: usize,
    /// Best time of `assign` over `runs` calls.
    one_mission_exact_best_seconds: f64,
    /// `assign`'s experts per request key; requests it left empty are
    /// absent.
    one_mission_exact_experts: BTreeMap<String, Vec<i64>>,
}

#[derive(Serialize)]
struct PlacementOut {
    /// Position of the request in the instance's `requests`.
    request: usize,
    expert: i64,
    score: u32,
}
