//! Any bytes handed to the request form, ranked on a generated roster:
//! parsing and validation return values or errors, never panic; a request
//! that validates is ranked by the reference and by the index alike, and
//! every expert, ranked or not, gets a reason from `why_not`.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use roster_core::matching::index::MatchIndex;
use roster_core::matching::{self, Context, LoadCap, MatchPolicy};
use roster_core::membership::Membership;
use roster_core::model::Engagement;
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId, MissionRequest};

// The benchmarks' generator, so the roster looks like a real one.
#[allow(dead_code)]
#[path = "../../roster-core/benches/roster_gen/mod.rs"]
mod roster_gen;

struct Fixture {
    experts: Vec<Expert>,
    engagements: Vec<Engagement>,
    index: MatchIndex,
    membership: Arc<Membership>,
    policy: MatchPolicy,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut g = roster_gen::Generator::new(7);
        let experts: Vec<Expert> = (1..=300).map(|id| g.expert(id)).collect();
        let engagements: Vec<Engagement> =
            (1..=300).flat_map(|id| g.engagements(id)).collect();
        let membership = Membership::bundled();
        let index = MatchIndex::build(
            &experts,
            &engagements,
            Taxonomy::current(),
            &membership,
            roster_gen::today(),
        );
        let policy = MatchPolicy {
            load_cap: Some(LoadCap {
                max: 2,
                period_days: 365,
            }),
            ..MatchPolicy::default()
        };
        Fixture {
            experts,
            engagements,
            index,
            membership,
            policy,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut request) = serde_json::from_slice::<MissionRequest>(data) else {
        return;
    };
    let f = fixture();
    let errors = request.validate(Taxonomy::current(), &f.membership);
    if !errors.is_empty() {
        assert!(errors.iter().all(|e| !e.message.is_empty()));
        return;
    }
    let ctx = Context {
        taxonomy: Taxonomy::current(),
        membership: &f.membership,
        policy: &f.policy,
        engagements: &f.engagements,
        today: roster_gen::today(),
    };
    let reference = matching::rank(&request, &f.experts, &ctx);
    let fast = f
        .index
        .rank(&request, &f.policy, &f.membership, 20)
        .expect("no custom parts");
    let want: Vec<(ExpertId, u32)> = reference
        .ranked
        .iter()
        .take(20)
        .map(|r| (r.expert, r.total))
        .collect();
    let got: Vec<(ExpertId, u32)> = fast.hits.iter().map(|h| (h.expert, h.total)).collect();
    assert_eq!(got, want);
    assert_eq!(fast.empty_because, reference.empty_because);
    for expert in f.experts.iter().take(50) {
        assert!(!reference.why_not(expert.id).is_empty());
    }
    assert!(!reference.why_not(ExpertId(i64::MIN)).is_empty());
});
