//! The matching index against the reference ranking, on random rosters and
//! requests, and the ranking's invariants.

use chrono::{Days, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use roster_core::language::{self, Level};
use roster_core::matching::index::MatchIndex;
use roster_core::matching::{self, Context, Filter, LoadCap, MatchPolicy, Weights};
use roster_core::membership::Membership;
use roster_core::model::{
    Availability, DateRange, Engagement, EngagementState, ExperiencePeriod, LanguageSkill,
    NameOrder, NominationRecord, Organisation, PersonName, Sector,
};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId, MissionRequest, Profile, Status, Term};

const THEMES: [&str; 9] = ["A", "B", "B.2", "B.2.3", "D", "D.2", "D.2.1", "H.4", "J"];
const COMPETENCIES: [&str; 4] = ["training", "advice", "research", "facilitation"];
const COUNTRIES: [&str; 6] = ["THA", "IDN", "FJI", "AUS", "MMR", "NZL"];
const TAGS: [&str; 6] = ["en", "th", "id", "zh-Hant", "zh-TW", "fr"];
/// States, and an organisation, whose region part reads the mission's place.
const REQUESTERS: [&str; 5] = ["THA", "IDN", "FJI", "AUS", "IOM"];

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

fn on(offset: u16) -> NaiveDate {
    base() + Days::new(u64::from(offset))
}

fn range(first: u16, len: u16) -> DateRange {
    DateRange {
        first: on(first),
        last: on(first + len),
    }
}

fn pick(pool: &[&str], mask: u16) -> Vec<String> {
    pool.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| (*s).to_owned())
        .collect()
}

fn level() -> impl Strategy<Value = Level> {
    prop::sample::select(Level::ALL.to_vec())
}

fn period() -> impl Strategy<Value = ExperiencePeriod> {
    (
        0u16..1200,
        prop::option::of(0u16..1200),
        1u16..512,
        0u16..16,
        0u16..64,
    )
        .prop_map(|(from, len, themes, comps, countries)| ExperiencePeriod {
            from: on(0) - Days::new(3000) + Days::new(u64::from(from) * 2),
            to: len
                .map(|l| on(0) - Days::new(3000) + Days::new(u64::from(from) * 2 + u64::from(l))),
            role: "Adviser".into(),
            themes: pick(&THEMES, themes),
            competencies: pick(&COMPETENCIES, comps),
            countries: pick(&COUNTRIES, countries),
        })
}

prop_compose! {
    fn expert(id: i64)(
        status in prop::sample::select(vec![Status::Included, Status::Included, Status::Included, Status::Revoked]),
        term in prop::option::of((0u16..400, 100u16..500)),
        available in prop::bool::weighted(0.9),
        absences in prop::collection::vec((0u16..700, 0u16..20), 0..2),
        periods in prop::collection::vec(period(), 0..4),
        languages in prop::collection::vec((prop::sample::select(TAGS.to_vec()), level()), 0..3),
        government in prop::option::of(prop::sample::select(COUNTRIES.to_vec())),
        nominator in prop::sample::select(REQUESTERS.to_vec()),
    ) -> Expert {
        Expert {
            id: ExpertId(id),
            version: 1,
            status,
            profile: Profile {
                name: PersonName {
                    full: Some(format!("Expert {id}")),
                    order: NameOrder::NoFamilyName,
                    ..PersonName::default()
                },
                email: format!("e{id}@example.org"),
                phone: None,
                date_of_birth: None,
                nationality: None,
                organisation: Organisation {
                    name: "Somewhere".into(),
                    sector: if government.is_some() { Sector::Government } else { Sector::Ngo },
                    state: government.map(Into::into),
                },
                experience: periods,
                referees: vec![],
                languages: languages
                    .into_iter()
                    .map(|(tag, level)| LanguageSkill { tag: tag.into(), level })
                    .collect(),
                availability: Availability {
                    available,
                    authorised: true,
                    unavailable: absences.into_iter().map(|(f, l)| range(f, l)).collect(),
                },
            },
            nominations: vec![NominationRecord {
                call_year: 2024,
                nominator: nominator.into(),
                received_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            }],
            cv_document: None,
            term: term.map(|(f, l)| Term { first_day: on(f), last_day: on(f + l) }),
        }
    }
}

fn roster() -> impl Strategy<Value = Vec<Expert>> {
    // Past 64 experts the index's bitmaps take more than one word.
    (0usize..160).prop_flat_map(|n| (0..n as i64).map(|i| expert(i * 7 + 1)).collect::<Vec<_>>())
}

prop_compose! {
    fn request()(
        id in 0u8..3,
        requester in prop::sample::select(REQUESTERS.to_vec()),
        place in prop::sample::select(COUNTRIES.to_vec()),
        themes in 1u16..512,
        comps in 0u16..16,
        required in prop::option::of((prop::sample::select(TAGS.to_vec()), level())),
        desired in prop::collection::vec((prop::sample::select(TAGS.to_vec()), level()), 0..3),
        first in 200u16..600,
        len in 0u16..30,
        excluded in prop::collection::vec(0i64..160, 0..3),
        wanted in 1u16..4,
    ) -> MissionRequest {
        MissionRequest {
            id: format!("R-{id}"),
            requester: requester.into(),
            title: "Mission".into(),
            themes: pick(&THEMES, themes),
            competencies: pick(&COMPETENCIES, comps),
            required_languages: required
                .into_iter()
                .map(|(tag, level)| LanguageSkill { tag: tag.into(), level })
                .collect(),
            desired_languages: desired
                .into_iter()
                .map(|(tag, level)| LanguageSkill { tag: tag.into(), level })
                .collect(),
            window: range(first, len),
            place: place.into(),
            experts_wanted: wanted,
            excluded: excluded.into_iter().map(|i| ExpertId(i * 7 + 1)).collect(),
        }
    }
}

fn engagements(n: usize) -> impl Strategy<Value = Vec<Engagement>> {
    prop::collection::vec(
        (
            0..n.max(1) as i64,
            0u8..4,
            prop::sample::select(REQUESTERS.to_vec()),
            0u16..700,
            0u16..15,
            prop::sample::select(vec![
                EngagementState::Proposed,
                EngagementState::Accepted,
                EngagementState::Declined,
                EngagementState::Completed,
            ]),
        ),
        0..=(n * 2),
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(expert, id, requester, first, len, state)| Engagement {
                request_id: format!("{requester}/R-{id}"),
                expert: ExpertId(expert * 7 + 1),
                window: range(first, len),
                state,
                version: 1,
                feedback: None,
            })
            .collect()
    })
}

fn policy() -> impl Strategy<Value = MatchPolicy> {
    (
        prop::collection::vec(0u32..60, 6),
        prop::option::of((0u32..4, 30u32..400)),
    )
        .prop_map(|(w, cap)| MatchPolicy {
            weights: Weights {
                thematic: w[0],
                years: w[1],
                competencies: w[2],
                languages: w[3],
                region: w[4],
                rotation: w[5],
            },
            load_cap: cap.map(|(max, period_days)| LoadCap { max, period_days }),
            custom: vec![],
        })
}

fn case() -> impl Strategy<
    Value = (
        Vec<Expert>,
        Vec<Engagement>,
        MissionRequest,
        MatchPolicy,
        usize,
    ),
> {
    roster().prop_flat_map(|experts| {
        let n = experts.len();
        (
            Just(experts),
            engagements(n),
            request(),
            policy(),
            1usize..25,
        )
    })
}

fn today() -> NaiveDate {
    on(300)
}

fn reference(
    request: &MissionRequest,
    experts: &[Expert],
    engagements: &[Engagement],
    policy: &MatchPolicy,
) -> matching::Shortlist {
    let membership = Membership::bundled();
    let ctx = Context {
        taxonomy: Taxonomy::current(),
        membership: &membership,
        policy,
        engagements,
        today: today(),
    };
    matching::rank(request, experts, &ctx)
}

/// Every hard filter `expert` fails for `request`, in filter order, worked
/// out from the records alone: day by day, without `matching::filters` or
/// the date helpers it uses. Custom parts are not covered, as these
/// policies have none.
fn hard_filters_failed(
    request: &MissionRequest,
    expert: &Expert,
    engagements: &[Engagement],
    policy: &MatchPolicy,
) -> Vec<Filter> {
    let window = request.window;
    let days: Vec<NaiveDate> = window
        .first
        .iter_days()
        .take_while(|day| *day <= window.last)
        .collect();
    let shares_a_day = |r: &DateRange| days.iter().any(|d| r.first <= *d && *d <= r.last);
    let key = format!("{}/{}", request.requester, request.id);
    // Accepted or completed engagements of this expert on other requests.
    let booked: Vec<&Engagement> = engagements
        .iter()
        .filter(|e| {
            e.expert == expert.id
                && e.request_id != key
                && matches!(
                    e.state,
                    EngagementState::Accepted | EngagementState::Completed
                )
        })
        .collect();

    let mut failed = Vec::new();
    if expert.status != Status::Included {
        failed.push(Filter::NotIncluded);
    } else {
        let covered = expert
            .term
            .is_some_and(|t| days.iter().all(|d| t.first_day <= *d && *d <= t.last_day));
        if !covered {
            failed.push(Filter::TermEnds);
        }
    }
    let a = &expert.profile.availability;
    if !a.available || !a.authorised || a.unavailable.iter().any(shares_a_day) {
        failed.push(Filter::Unavailable);
    }
    if booked.iter().any(|e| shares_a_day(&e.window)) {
        failed.push(Filter::Engaged);
    }
    if let Some(cap) = policy.load_cap {
        // With the mission added, no period running back `period_days`
        // from a mission's first day through its last day that holds the
        // new mission may hold more than `max` missions.
        let mut all: Vec<DateRange> = booked.iter().map(|e| e.window).collect();
        all.push(window);
        let over = all.iter().any(|anchor| {
            let since = anchor.first - Days::new(u64::from(cap.period_days));
            let within = |w: &DateRange| w.last >= since && w.first <= anchor.last;
            within(&window) && all.iter().filter(|w| within(w)).count() > cap.max as usize
        });
        if over {
            failed.push(Filter::LoadCap);
        }
    }
    let speaks = |need: &LanguageSkill| {
        expert
            .profile
            .languages
            .iter()
            .any(|s| language::satisfies(&s.tag, &need.tag) && s.level >= need.level)
    };
    if !request.required_languages.iter().all(speaks) {
        failed.push(Filter::Language);
    }
    if request.excluded.contains(&expert.id) {
        failed.push(Filter::Excluded);
    }
    let org = &expert.profile.organisation;
    if org.sector == Sector::Government && org.state.as_deref() == Some(&request.requester) {
        failed.push(Filter::Conflict);
    }
    failed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ranked_experts_pass_every_hard_filter_checked_from_the_records(
        (experts, engagements, request, policy, top) in case(),
    ) {
        let want = reference(&request, &experts, &engagements, &policy);
        let failed = |id: ExpertId| {
            let e = experts.iter().find(|e| e.id == id).unwrap();
            hard_filters_failed(&request, e, &engagements, &policy)
        };
        for r in &want.ranked {
            prop_assert_eq!(failed(r.expert), vec![], "{} ranked", r.expert);
        }
        for x in &want.excluded {
            let first = failed(x.expert).first().copied();
            prop_assert_eq!(first, Some(x.filter), "{} excluded", x.expert);
        }
        let membership = Membership::bundled();
        let index = MatchIndex::build(&experts, &engagements, Taxonomy::current(), &membership, today());
        let got = index.rank(&request, &policy, &membership, top).unwrap();
        for h in &got.hits {
            prop_assert_eq!(failed(h.expert), vec![], "{} ranked by the index", h.expert);
        }
    }

    #[test]
    fn the_index_ranks_as_the_reference((experts, engagements, request, policy, top) in case()) {
        let membership = Membership::bundled();
        let want = reference(&request, &experts, &engagements, &policy);
        let index = MatchIndex::build(&experts, &engagements, Taxonomy::current(), &membership, today());
        let got = index.rank(&request, &policy, &membership, top).unwrap();
        let want_hits: Vec<(ExpertId, u32, u32)> = want
            .ranked
            .iter()
            .take(top)
            .map(|r| (r.expert, r.total, r.recent_missions))
            .collect();
        let got_hits: Vec<(ExpertId, u32, u32)> = got
            .hits
            .iter()
            .map(|h| (h.expert, h.total, h.recent_missions))
            .collect();
        prop_assert_eq!(got_hits, want_hits);
        prop_assert_eq!(&got.empty_because, &want.empty_because);
        let counts = index.filter_counts(&request, &policy, &membership);
        prop_assert_eq!(counts.passed, want.ranked.len());
        prop_assert_eq!(&counts.removed_by, &want.removed_by());

        let ctx = Context {
            taxonomy: Taxonomy::current(),
            membership: &membership,
            policy: &policy,
            engagements: &engagements,
            today: today(),
        };
        let explained = got.explain(&request, &experts, &ctx);
        prop_assert_eq!(&explained.ranked[..], &want.ranked[..want.ranked.len().min(top)]);
        for r in &explained.ranked {
            let e = experts.iter().find(|e| e.id == r.expert).unwrap();
            prop_assert!(matching::filters(&request, e, &ctx).is_empty());
        }
    }

    #[test]
    fn an_unrelated_expert_never_reorders_the_others(
        (experts, engagements, request, policy, _) in case(),
        extra in expert(1000),
    ) {
        let before: Vec<ExpertId> = reference(&request, &experts, &engagements, &policy)
            .ranked
            .iter()
            .map(|r| r.expert)
            .collect();
        let mut more = experts.clone();
        more.push(extra);
        let after: Vec<ExpertId> = reference(&request, &more, &engagements, &policy)
            .ranked
            .iter()
            .map(|r| r.expert)
            .filter(|id| *id != ExpertId(1000))
            .collect();
        prop_assert_eq!(after, before);
    }
}

/// A crowded roster: everyone included, available and speaking every tag,
/// so that most experts pass the filters and the index's thresholds, not
/// its filters, decide whom it scores.
fn crowded() -> impl Strategy<Value = Vec<Expert>> {
    (60usize..200).prop_flat_map(|n| {
        (0..n as i64)
            .map(|i| {
                expert(i * 7 + 1).prop_map(|mut e| {
                    e.status = Status::Included;
                    e.term = Some(Term {
                        first_day: on(0),
                        last_day: on(800),
                    });
                    e.profile.availability = Availability {
                        available: true,
                        authorised: true,
                        unavailable: vec![],
                    };
                    e.profile.organisation.state = None;
                    e.profile.languages.push(LanguageSkill {
                        tag: "en".into(),
                        level: Level::C2,
                    });
                    e
                })
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_index_prunes_only_experts_who_cannot_make_the_list(
        experts in crowded(),
        mut request in request(),
        mut policy in policy(),
        top in 1usize..6,
        tight in any::<bool>(),
    ) {
        request.excluded.clear();
        if tight {
            // Years and rotation seldom reach their best here; without them
            // the best totals meet the index's ceilings, where a wrong
            // ceiling would show.
            policy.weights.years = 0;
            policy.weights.rotation = 0;
        }
        let want = reference(&request, &experts, &[], &policy);
        let membership = Membership::bundled();
        let index = MatchIndex::build(&experts, &[], Taxonomy::current(), &membership, today());
        let got = index.rank(&request, &policy, &membership, top).unwrap();
        let got: Vec<(ExpertId, u32)> = got.hits.iter().map(|h| (h.expert, h.total)).collect();
        let want: Vec<(ExpertId, u32)> = want
            .ranked
            .iter()
            .take(top)
            .map(|r| (r.expert, r.total))
            .collect();
        prop_assert_eq!(got, want);
    }
}
