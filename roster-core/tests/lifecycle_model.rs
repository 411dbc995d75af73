//! A state-machine test of the lifecycle: random operations and clock
//! jumps drive the facade on memory, and a small model (status, term,
//! tokens and reminders per expert) predicts each outcome. After every step
//! the roster and the model must agree, and the audit chain must verify.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{d, profile, rso};
use proptest::prelude::*;
use roster_core::clock::FixedClock;
use roster_core::lifecycle::{ChainReport, Term};
use roster_core::model::DateRange;
use roster_core::{
    Actor, Call, ExpertId, MemoryStore, Nomination, Registration, Roster, RosterError, Status,
};

const SLOTS: usize = 3;
const NOMINATORS: [&str; 2] = ["IDN", "AUS"];
const YEARS: [i32; 2] = [2025, 2026];

#[derive(Debug, Clone)]
enum Op {
    Nominate {
        slot: usize,
        by: usize,
        year: usize,
    },
    Screen(usize),
    Invite(usize),
    Reinvite(usize),
    Redeem {
        slot: usize,
        right_address: bool,
        stale: bool,
    },
    Register(usize),
    Include(usize),
    Renew(usize),
    RequestRevocation(usize),
    Decide {
        slot: usize,
        accept: bool,
    },
    Withdraw(usize),
    Decline(usize),
    Sweep,
    /// Forward by minutes: crosses Bangkok's midnight (17:00 UTC) often.
    Minutes(i64),
    /// Forward by days, to reach term ends and expiries.
    Days(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        3 => (slot.clone(), 0..NOMINATORS.len(), 0..YEARS.len())
            .prop_map(|(slot, by, year)| Op::Nominate { slot, by, year }),
        1 => slot.clone().prop_map(Op::Screen),
        2 => slot.clone().prop_map(Op::Invite),
        1 => slot.clone().prop_map(Op::Reinvite),
        3 => (slot.clone(), prop::bool::weighted(0.8), prop::bool::weighted(0.2))
            .prop_map(|(slot, right_address, stale)| Op::Redeem { slot, right_address, stale }),
        2 => slot.clone().prop_map(Op::Register),
        2 => slot.clone().prop_map(Op::Include),
        2 => slot.clone().prop_map(Op::Renew),
        1 => slot.clone().prop_map(Op::RequestRevocation),
        1 => (slot.clone(), any::<bool>()).prop_map(|(slot, accept)| Op::Decide { slot, accept }),
        1 => slot.clone().prop_map(Op::Withdraw),
        1 => slot.clone().prop_map(Op::Decline),
        2 => Just(Op::Sweep),
        2 => (1i64..=600).prop_map(Op::Minutes),
        2 => (1i64..=200).prop_map(Op::Days),
    ]
}

/// A minimal PDF, enough for the content check.
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// What the model knows of one expert.
#[derive(Debug, Clone, Default)]
struct Expected {
    id: Option<ExpertId>,
    status: Option<Status>,
    term: Option<Term>,
    nominations: BTreeSet<(i32, &'static str)>,
    /// The pending token and when it expires.
    live: Option<(String, DateTime<Utc>)>,
    /// Tokens that must never redeem again: used or replaced.
    dead: Vec<String>,
    redeemed: bool,
    revocation_requests: Vec<i64>,
    reminded: BTreeSet<NaiveDate>,
}

fn email(slot: usize) -> String {
    format!("expert{slot}@example.org")
}

/// Bangkok keeps UTC+7 all year, so the model's day needs no zone data.
fn bangkok_day(now: DateTime<Utc>) -> NaiveDate {
    (now + Duration::hours(7)).date_naive()
}

struct Harness {
    roster: Roster,
    clock: Arc<FixedClock>,
    now: DateTime<Utc>,
    model: Vec<Expected>,
}

impl Harness {
    async fn new() -> Harness {
        // 16:30 UTC is 23:30 in Bangkok: small jumps cross its midnight.
        let now: DateTime<Utc> = "2025-01-06T16:30:00Z".parse().unwrap();
        let clock = Arc::new(FixedClock::new(now));
        let roster = Roster::new(Arc::new(MemoryStore::new())).with_clock(clock.clone());
        for year in YEARS {
            let window = DateRange {
                first: d("2024-01-01"),
                last: d("2099-12-31"),
            };
            roster
                .open_call(
                    &rso(),
                    Call {
                        year,
                        window,
                        version: 1,
                    },
                )
                .await
                .unwrap();
        }
        Harness {
            roster,
            clock,
            now,
            model: vec![Expected::default(); SLOTS],
        }
    }

    /// Runs one operation and checks its outcome against the model's
    /// prediction, then updates the model.
    async fn step(&mut self, op: &Op) {
        let today = bangkok_day(self.now);
        match *op {
            Op::Minutes(m) => self.advance(Duration::minutes(m)),
            Op::Days(n) => self.advance(Duration::days(n)),
            Op::Nominate { slot, by, year } => {
                let (by, year) = (NOMINATORS[by], YEARS[year]);
                let outcome = self
                    .roster
                    .nominate(
                        &Actor::Participant(by.into()),
                        Nomination {
                            call_year: year,
                            nominator: by.into(),
                            expert: profile("Expert", &email(slot), &["B.2.3"], "2010-01-01"),
                        },
                    )
                    .await
                    .unwrap();
                let m = &mut self.model[slot];
                match m.id {
                    None => {
                        m.id = Some(outcome.expert());
                        m.status = Some(Status::Nominated);
                    }
                    Some(id) => assert_eq!(outcome.expert(), id),
                }
                m.nominations.insert((year, by));
            }
            Op::Screen(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let report = self.roster.screen(&rso(), id).await.unwrap();
                assert!(report.eligible());
            }
            Op::Invite(slot) | Op::Reinvite(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let first = matches!(op, Op::Invite(_));
                let result = if first {
                    self.roster.invite(&rso(), id).await
                } else {
                    self.roster.reinvite(&rso(), id).await
                };
                let m = &mut self.model[slot];
                let allowed = if first {
                    m.status == Some(Status::Nominated)
                } else {
                    m.status == Some(Status::Invited)
                };
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if let Ok(invited) = result {
                    assert_eq!(invited.expires_at, self.now + Duration::days(14));
                    if let Some((old, _)) = m.live.take() {
                        m.dead.push(old);
                    }
                    m.live = Some((invited.token.expose().to_owned(), invited.expires_at));
                    m.status = Some(Status::Invited);
                }
            }
            Op::Redeem {
                slot,
                right_address,
                stale,
            } => {
                let m = &mut self.model[slot];
                let token = match (stale, m.dead.first(), &m.live) {
                    (true, Some(dead), _) => dead.clone(),
                    (_, _, Some((live, _))) => live.clone(),
                    _ => return,
                };
                let address = if right_address {
                    email(slot).to_uppercase()
                } else {
                    "someone.else@example.net".to_owned()
                };
                let result = self.roster.redeem_invitation(&token, &address).await;
                let redeemable = right_address
                    && m.live
                        .as_ref()
                        .is_some_and(|(live, expires)| *live == token && self.now < *expires);
                match result {
                    Ok(id) => {
                        assert!(redeemable, "{op:?} redeemed");
                        assert_eq!(Some(id), m.id);
                        m.dead.push(token);
                        m.live = None;
                        m.redeemed = true;
                    }
                    Err(RosterError::InvitationInvalid) => assert!(!redeemable, "{op:?} refused"),
                    Err(e) => panic!("{op:?}: {e}"),
                }
            }
            Op::Register(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let current = self.roster.expert(&rso(), id).await.unwrap().profile;
                let cv_document = self
                    .roster
                    .upload_cv(&Actor::Expert(id), id, "cv.pdf", PDF)
                    .await
                    .map(|doc| doc.id.to_string())
                    .unwrap_or_default();
                let result = self
                    .roster
                    .register(
                        &Actor::Expert(id),
                        id,
                        Registration {
                            profile: current,
                            cv_document,
                        },
                    )
                    .await;
                let m = &mut self.model[slot];
                let allowed = m.redeemed && m.status == Some(Status::Invited);
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if allowed {
                    m.status = Some(Status::Registered);
                }
            }
            Op::Include(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let result = self.roster.include(&rso(), id).await;
                let m = &mut self.model[slot];
                let allowed = m.status == Some(Status::Registered);
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if allowed {
                    m.status = Some(Status::Included);
                    m.term = Some(Term::starting(today));
                }
            }
            Op::Renew(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let result = self.roster.renew(&rso(), id).await;
                let m = &mut self.model[slot];
                let expected = match (m.status, m.term) {
                    (Some(Status::Included | Status::Expired), Some(term))
                        if term.last_day < Term::starting(today).last_day =>
                    {
                        let next = term.renewed();
                        Some(if next.first_day <= today {
                            Term::starting(today)
                        } else {
                            Term {
                                first_day: term.first_day,
                                last_day: next.last_day,
                            }
                        })
                    }
                    _ => None,
                };
                assert_eq!(result.is_ok(), expected.is_some(), "{op:?}: {result:?}");
                if expected.is_some() {
                    m.status = Some(Status::Included);
                    m.term = expected;
                }
            }
            Op::RequestRevocation(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let result = self
                    .roster
                    .request_revocation(&Actor::Expert(id), id, "no longer available")
                    .await;
                let m = &mut self.model[slot];
                let allowed = m.status == Some(Status::Included);
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if let Ok(request) = result {
                    m.revocation_requests.push(request.id);
                }
            }
            Op::Decide { slot, accept } => {
                let Some(&request) = self.model[slot].revocation_requests.first() else {
                    return;
                };
                let result = self
                    .roster
                    .decide_revocation(&rso(), request, accept, "decided")
                    .await;
                let m = &mut self.model[slot];
                let allowed = !accept || m.status == Some(Status::Included);
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if allowed {
                    m.revocation_requests.remove(0);
                    if accept {
                        m.status = Some(Status::Revoked);
                    }
                }
            }
            Op::Withdraw(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let result = self.roster.withdraw(&rso(), id, "withdrawn").await;
                let m = &mut self.model[slot];
                let allowed = matches!(
                    m.status,
                    Some(Status::Nominated | Status::Invited | Status::Registered)
                );
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if allowed {
                    m.status = Some(Status::Withdrawn);
                }
            }
            Op::Decline(slot) => {
                let Some(id) = self.model[slot].id else {
                    return;
                };
                let result = self
                    .roster
                    .decline(&Actor::Expert(id), id, "declined")
                    .await;
                let m = &mut self.model[slot];
                let allowed = m.status == Some(Status::Invited);
                assert_eq!(
                    result.is_ok(),
                    allowed,
                    "{op:?} from {:?}: {result:?}",
                    m.status
                );
                if allowed {
                    m.status = Some(Status::Declined);
                }
            }
            Op::Sweep => {
                let report = self.roster.sweep().await.unwrap();
                let mut expired = Vec::new();
                let mut reminded = Vec::new();
                for m in &mut self.model {
                    let (Some(id), Some(Status::Included), Some(term)) = (m.id, m.status, m.term)
                    else {
                        continue;
                    };
                    if term.last_day < today {
                        m.status = Some(Status::Expired);
                        expired.push(id);
                    } else if term.last_day - Duration::days(30) <= today
                        && m.reminded.insert(term.last_day)
                    {
                        reminded.push(id);
                    }
                }
                expired.sort();
                reminded.sort();
                assert_eq!((report.expired, report.reminded), (expired, reminded));
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.clock.set(self.now);
    }

    /// The roster and the model agree on every expert, and the chain holds.
    async fn check(&self) {
        assert_eq!(self.roster.today(), bangkok_day(self.now));
        for m in &self.model {
            let Some(id) = m.id else { continue };
            let expert = self.roster.expert(&rso(), id).await.unwrap();
            assert_eq!(Some(expert.status), m.status, "status of {id}");
            assert_eq!(expert.term, m.term, "term of {id}");
            let nominations: BTreeSet<(i32, String)> = expert
                .nominations
                .iter()
                .map(|n| (n.call_year, n.nominator.clone()))
                .collect();
            let expected: BTreeSet<(i32, String)> = m
                .nominations
                .iter()
                .map(|&(year, by)| (year, by.to_owned()))
                .collect();
            assert_eq!(nominations, expected, "nominations of {id}");
        }
        let trail = self.roster.audit_trail(&rso(), None).await.unwrap();
        assert_eq!(
            self.roster.verify_audit_trail(&rso()).await.unwrap(),
            ChainReport::Ok {
                entries: trail.len()
            }
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_roster_follows_the_lifecycle_model(ops in prop::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut harness = Harness::new().await;
            for op in &ops {
                harness.step(op).await;
                harness.check().await;
            }
        });
    }
}
