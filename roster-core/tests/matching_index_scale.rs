//! The matching index against the reference ranking on the benchmark
//! roster: thousands of experts, requests of one to three needs, deep and
//! shallow shortlists. Small random rosters seldom reach the index's
//! later stages (weighing pairs of features, starting a pass over at a
//! higher threshold); these do.

#[path = "../benches/roster_gen/mod.rs"]
#[allow(dead_code)]
mod roster_gen;

use roster_core::matching::index::MatchIndex;
use roster_core::matching::{self, Context, MatchPolicy, Weights};
use roster_core::membership::Membership;
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId};
use roster_gen::{Generator, today};

const EXPERTS: i64 = 3_000;

fn roster() -> (Vec<Expert>, Vec<roster_core::model::Engagement>) {
    let mut generator = Generator::new(20_260_601);
    let mut experts = Vec::new();
    let mut engagements = Vec::new();
    for id in 1..=EXPERTS {
        experts.push(generator.expert(id));
        engagements.extend(generator.engagements(id));
    }
    (experts, engagements)
}

#[test]
fn the_index_ranks_the_benchmark_roster_as_the_reference() {
    let (experts, engagements) = roster();
    let membership = Membership::bundled();
    let taxonomy = Taxonomy::current();
    let index = MatchIndex::build(&experts, &engagements, taxonomy, &membership, today());
    let mut requests = Generator::new(20_260_602);
    let policies = [
        MatchPolicy::default(),
        MatchPolicy {
            weights: Weights {
                thematic: 60,
                years: 0,
                competencies: 10,
                languages: 20,
                region: 10,
                rotation: 0,
            },
            ..MatchPolicy::default()
        },
    ];
    let mut compared = 0;
    for n in 0..24 {
        let request = requests.request(n);
        for policy in &policies {
            let ctx = Context {
                taxonomy,
                membership: &membership,
                policy,
                engagements: &engagements,
                today: today(),
            };
            let want = matching::rank(&request, &experts, &ctx);
            for top in [1, 5, 20, 60] {
                let got = index.rank(&request, policy, &membership, top).unwrap();
                let got: Vec<(ExpertId, u32)> =
                    got.hits.iter().map(|h| (h.expert, h.total)).collect();
                let want: Vec<(ExpertId, u32)> = want
                    .ranked
                    .iter()
                    .take(top)
                    .map(|r| (r.expert, r.total))
                    .collect();
                assert_eq!(got, want, "{} with top {top}", request.id);
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 24 * 2 * 4);
}

#[test]
fn why_not_over_the_index_says_what_the_reference_says() {
    let (experts, engagements) = roster();
    let membership = Membership::bundled();
    let taxonomy = Taxonomy::current();
    let index = MatchIndex::build(&experts, &engagements, taxonomy, &membership, today());
    let policy = MatchPolicy::default();
    let ctx = Context {
        taxonomy,
        membership: &membership,
        policy: &policy,
        engagements: &engagements,
        today: today(),
    };
    let mut requests = Generator::new(20_260_602);
    let (mut removed, mut placed) = (0, 0);
    for n in 0..4 {
        let request = requests.request(n);
        let want = matching::rank(&request, &experts, &ctx);
        // The ranked, a sample of the rest, and someone not on the roster.
        let ids = want
            .ranked
            .iter()
            .take(5)
            .map(|r| r.expert)
            .chain((1..=EXPERTS).step_by(97).map(ExpertId))
            .chain([ExpertId(EXPERTS + 1)]);
        for id in ids {
            let got = index.why_not(&request, &policy, &membership, id).unwrap();
            let expected = want.why_not(id);
            if got.contains("removed by the filter") {
                // The reference adds the reasons after a colon.
                assert!(
                    expected.starts_with(&format!("{got}: ")),
                    "{got:?} / {expected:?}"
                );
                removed += 1;
            } else {
                assert_eq!(got, expected);
                placed += usize::from(got.contains("ranked"));
            }
        }
    }
    assert!(
        removed > 10 && placed > 10,
        "{removed} removed, {placed} placed"
    );
}
