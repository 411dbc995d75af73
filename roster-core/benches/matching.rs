//! Matching and assignment speed. Run with
//! `cargo bench -p roster-core --bench matching`; never part of the tests.

mod roster_gen;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roster_core::matching::MatchPolicy;
use roster_core::matching::assignment::{BatchRequest, assign, assign_non_overlapping};
use roster_core::matching::index::{DEFAULT_TOP, MatchIndex};
use roster_core::membership::Membership;
use roster_core::taxonomy::Taxonomy;
use roster_gen::{Generator, today};

const SEED: u64 = 20_260_601;

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

fn ranking(c: &mut Criterion) {
    let membership = Membership::bundled();
    let policy = MatchPolicy::default();
    let mut group = c.benchmark_group("rank_top20");
    for n in [1_000usize, 100_000, 1_000_000] {
        // Built on first use, so that a filtered run builds only what it
        // measures.
        let index = std::cell::OnceCell::new();
        let requests: Vec<_> = {
            let mut g = Generator::new(SEED + 1);
            (0..16).map(|i| g.request(i)).collect()
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            let index = index.get_or_init(|| index_of(n));
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % requests.len();
                black_box(index.rank(&requests[i], &policy, &membership, DEFAULT_TOP))
            });
        });
    }
    group.finish();
}

/// The machine's memory bandwidth: summing 256 MiB of u64, far beyond the
/// caches, as the floor for a pass over a million experts.
fn bandwidth(c: &mut Criterion) {
    let words: Vec<u64> = (0..32 * 1024 * 1024).collect();
    let mut group = c.benchmark_group("bandwidth");
    group.throughput(Throughput::Bytes((words.len() * 8) as u64));
    group.bench_function("sum_256MiB", |b| {
        b.iter(|| {
            black_box(&words)
                .iter()
                .fold(0u64, |a, w| a.wrapping_add(*w))
        })
    });
    group.finish();
}

/// `requests` requests over `experts` experts, each with its best 100
/// candidates from the index.
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

fn assignment(c: &mut Criterion) {
    let mut group = c.benchmark_group("assign");
    group.sample_size(20);
    for (experts, requests) in [(20_000usize, 200usize), (100_000, 1_000)] {
        let batch = batch(experts, requests);
        let label = format!("{experts}x{requests}");
        group.bench_function(BenchmarkId::new("exact", &label), |b| {
            b.iter(|| black_box(assign(black_box(&batch))))
        });
        group.bench_function(BenchmarkId::new("non_overlapping", &label), |b| {
            b.iter(|| black_box(assign_non_overlapping(black_box(&batch))))
        });
    }
    group.finish();
}

criterion_group!(benches, bandwidth, ranking, assignment);
criterion_main!(benches);
