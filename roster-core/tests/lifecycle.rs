//! Registration tokens, the inclusion lifecycle and the audit chain through
//! the facade: BL-06 (one-year terms from 29 February) and BL-16
//! (invitation tokens), renewals, reminders, revocation requests and
//! optimistic concurrency.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use common::{d, profile, request, rso};
use roster_core::clock::FixedClock;
use roster_core::lifecycle::ChainReport;
use roster_core::matching::Filter;
use roster_core::model::DateRange;
use roster_core::store::{InvitationStore, Notice, Outbox};
use roster_core::{
    Actor, Call, ExpertId, MemoryStore, Nomination, Profile, Registration, Roster, RosterError,
    Status, StoreError,
};

struct World {
    roster: Roster,
    store: Arc<MemoryStore>,
    clock: Arc<FixedClock>,
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

impl World {
    /// A roster on memory with a call of `year` open from 1 January of the
    /// year before through the end of the year after, so any test date may
    /// nominate.
    async fn new(year: i32) -> World {
        let clock = Arc::new(FixedClock::new(at("2025-01-10T03:00:00Z")));
        let store = Arc::new(MemoryStore::new());
        let roster = Roster::new(store.clone()).with_clock(clock.clone());
        roster
            .open_call(
                &rso(),
                Call {
                    year,
                    window: DateRange {
                        first: d(&format!("{}-01-01", year - 2)),
                        last: d(&format!("{}-12-31", year + 1)),
                    },
                    version: 1,
                },
            )
            .await
            .unwrap();
        World {
            roster,
            store,
            clock,
        }
    }

    fn set(&self, instant: &str) {
        self.clock.set(at(instant));
    }

    /// 03:00 UTC is 10:00 in Bangkok: the same calendar day.
    fn set_day(&self, day: &str) {
        self.set(&format!("{day}T03:00:00Z"));
    }

    async fn nominate(&self, year: i32, by: &str, expert: Profile) -> ExpertId {
        self.roster
            .nominate(
                &Actor::Participant(by.into()),
                Nomination {
                    call_year: year,
                    nominator: by.into(),
                    expert,
                },
            )
            .await
            .unwrap()
            .expert()
    }

    /// Screens, invites, redeems, registers: the expert ends registered.
    async fn register(&self, id: ExpertId) {
        assert!(self.roster.screen(&rso(), id).await.unwrap().eligible());
        let invited = self.roster.invite(&rso(), id).await.unwrap();
        let email = invited.expert.profile.email.clone();
        self.roster
            .redeem_invitation(invited.token.expose(), &email)
            .await
            .unwrap();
        let cv_document = self
            .roster
            .upload_cv(&rso(), id, "cv.pdf", PDF)
            .await
            .unwrap()
            .id
            .to_string();
        self.roster
            .register(
                &Actor::Expert(id),
                id,
                Registration {
                    profile: invited.expert.profile,
                    cv_document,
                },
            )
            .await
            .unwrap();
    }

    async fn include_on(&self, id: ExpertId, day: &str) {
        self.set_day(day);
        self.register(id).await;
        self.roster.include(&rso(), id).await.unwrap();
    }

    async fn status(&self, id: ExpertId) -> Status {
        self.roster.expert(&rso(), id).await.unwrap().status
    }

    async fn chain_holds(&self) {
        let trail = self.roster.audit_trail(&rso(), None).await.unwrap();
        assert_eq!(
            self.roster.verify_audit_trail(&rso()).await.unwrap(),
            ChainReport::Ok {
                entries: trail.len()
            }
        );
    }
}

fn person(name: &str, email: &str) -> Profile {
    profile(name, email, &["B.2.3"], "2015-01-01")
}

const INVALID: &str = "the invitation link is not valid for this address: it may be mistyped, used, replaced or expired; ask the Regional Support Office for a new invitation";

/// A minimal PDF, enough for the content check.
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

#[tokio::test]
async fn bl16_i1_redeems_once_with_the_address_in_any_case() {
    let w = World::new(2025).await;
    let id = w
        .nominate(
            2025,
            "VNM",
            person("Nguyễn Thị Hoa", "hoa.nguyen@example.org"),
        )
        .await;
    w.roster.screen(&rso(), id).await.unwrap();
    w.set("2025-05-01T00:00:00Z");
    let invited = w.roster.invite(&rso(), id).await.unwrap();
    assert_eq!(invited.expires_at, at("2025-05-15T00:00:00Z"));
    assert_eq!(invited.expert.status, Status::Invited);
    let token = invited.token.expose();
    assert!(token.len() >= 32, "at least 128 bits in hexadecimal");

    w.set("2025-05-02T08:00:00Z");
    let redeemed = w
        .roster
        .redeem_invitation(token, "Hoa.Nguyen@Example.org")
        .await
        .unwrap();
    assert_eq!(redeemed, id);
    let again = w
        .roster
        .redeem_invitation(token, "hoa.nguyen@example.org")
        .await
        .unwrap_err();
    assert!(matches!(again, RosterError::InvitationInvalid));
    assert_eq!(again.to_string(), INVALID);
    w.chain_holds().await;
}

#[tokio::test]
async fn bl16_i2_a_wrong_address_fails_and_leaves_the_token_usable() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "THA", person("สมชาย ใจดี", "somchai@example.org"))
        .await;
    w.roster.screen(&rso(), id).await.unwrap();
    w.set("2025-05-01T00:00:00Z");
    let invited = w.roster.invite(&rso(), id).await.unwrap();
    let err = w
        .roster
        .redeem_invitation(invited.token.expose(), "other@example.net")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), INVALID);
    let stored = w.store.invitations(id).await.unwrap();
    assert_eq!(stored[0].used_at, None);
    assert_eq!(
        w.roster
            .redeem_invitation(invited.token.expose(), "somchai@example.org")
            .await
            .unwrap(),
        id
    );
}

#[tokio::test]
async fn bl16_i3_expires_after_fourteen_days_to_the_second() {
    let w = World::new(2025).await;
    let a = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    let b = w
        .nominate(2025, "IDN", person("Wahyuni", "wahyuni@example.org"))
        .await;
    w.roster.screen(&rso(), a).await.unwrap();
    w.roster.screen(&rso(), b).await.unwrap();
    w.set("2025-05-01T00:00:00Z");
    let late = w.roster.invite(&rso(), a).await.unwrap();
    let on_time = w.roster.invite(&rso(), b).await.unwrap();

    w.set("2025-05-15T00:00:01Z");
    let err = w
        .roster
        .redeem_invitation(late.token.expose(), "sukarni@example.org")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), INVALID);
    w.set("2025-05-14T23:59:59Z");
    assert_eq!(
        w.roster
            .redeem_invitation(on_time.token.expose(), "wahyuni@example.org")
            .await
            .unwrap(),
        b
    );
}

#[tokio::test]
async fn unknown_used_expired_and_misaddressed_tokens_share_one_error() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    w.roster.screen(&rso(), id).await.unwrap();
    w.set("2025-05-01T00:00:00Z");
    let invited = w.roster.invite(&rso(), id).await.unwrap();
    let token = invited.token.expose().to_owned();
    let mut messages = Vec::new();
    for (token, email) in [
        ("not-a-token", "sukarni@example.org"),
        (token.as_str(), "someone@example.org"),
        ("", ""),
    ] {
        let err = w.roster.redeem_invitation(token, email).await.unwrap_err();
        messages.push(err.to_string());
    }
    w.roster
        .redeem_invitation(&token, "sukarni@example.org")
        .await
        .unwrap();
    let used = w
        .roster
        .redeem_invitation(&token, "sukarni@example.org")
        .await
        .unwrap_err();
    messages.push(used.to_string());
    assert_eq!(messages, vec![INVALID; 4]);
}

#[tokio::test]
async fn resending_cancels_the_older_token_and_queues_a_new_message() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "Sukarni@Example.org"))
        .await;
    w.roster.screen(&rso(), id).await.unwrap();
    w.set("2025-05-01T00:00:00Z");
    let first = w.roster.invite(&rso(), id).await.unwrap();
    w.set("2025-05-03T00:00:00Z");
    let second = w.roster.reinvite(&rso(), id).await.unwrap();
    assert_ne!(first.token, second.token);
    assert_eq!(second.expert.status, Status::Invited);
    assert_eq!(second.expires_at, at("2025-05-17T00:00:00Z"));

    let err = w
        .roster
        .redeem_invitation(first.token.expose(), "sukarni@example.org")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), INVALID);
    assert_eq!(
        w.roster
            .redeem_invitation(second.token.expose(), "sukarni@example.org")
            .await
            .unwrap(),
        id
    );

    // Two messages for the portal, each naming its invitation, neither
    // carrying a token; the address is the form first entered.
    let pending = w.roster.pending_messages(&Actor::System, 10).await.unwrap();
    let notices: Vec<(&str, &Notice)> = pending
        .iter()
        .map(|m| (m.address.as_str(), &m.notice))
        .collect();
    assert_eq!(
        notices,
        [
            (
                "Sukarni@Example.org",
                &Notice::Invitation {
                    invitation: first.invitation,
                    expires_at: at("2025-05-15T00:00:00Z"),
                }
            ),
            (
                "Sukarni@Example.org",
                &Notice::Invitation {
                    invitation: second.invitation,
                    expires_at: at("2025-05-17T00:00:00Z"),
                }
            ),
        ]
    );
    let json = serde_json::to_string(&pending).unwrap();
    for token in [first.token.expose(), second.token.expose()] {
        assert!(!json.contains(token));
    }
    // The serialised invitation is the expert; the token never is.
    let invited_json = serde_json::to_string(&second).unwrap();
    assert!(!invited_json.contains(second.token.expose()));
    assert!(invited_json.contains("\"status\":\"invited\""));
    assert!(
        w.roster
            .mark_message_sent(&Actor::System, pending[0].id)
            .await
            .unwrap()
    );
    assert_eq!(
        w.roster
            .pending_messages(&Actor::System, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Only an invited expert is sent a new invitation.
    let registered = w
        .nominate(2025, "IDN", person("Wahyuni", "wahyuni@example.org"))
        .await;
    let err = w.roster.reinvite(&rso(), registered).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0002 cannot go from nominated to invited"
    );
}

#[tokio::test]
async fn an_expert_registers_only_after_redeeming() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    w.roster.screen(&rso(), id).await.unwrap();
    let invited = w.roster.invite(&rso(), id).await.unwrap();
    let cv_document = w
        .roster
        .upload_cv(&rso(), id, "cv.pdf", PDF)
        .await
        .unwrap()
        .id
        .to_string();
    let registration = Registration {
        profile: invited.expert.profile.clone(),
        cv_document,
    };
    let err = w
        .roster
        .register(&Actor::Expert(id), id, registration.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert:E-0001 may not register before redeeming an invitation"
    );
    // The office may register on the expert's behalf.
    let done = w.roster.register(&rso(), id, registration).await.unwrap();
    assert_eq!(done.status, Status::Registered);
}

#[tokio::test]
async fn bl06_terms_from_29_february_and_the_day_boundary_in_bangkok() {
    let w = World::new(2024).await;
    let leap = w
        .nominate(2024, "IDN", person("Leap", "leap@example.org"))
        .await;
    let a = w
        .nominate(2024, "IDN", person("Ana", "ana@example.org"))
        .await;
    let b = w
        .nominate(2024, "IDN", person("Bo", "bo@example.org"))
        .await;
    let c = w
        .nominate(2024, "IDN", person("Cy", "cy@example.org"))
        .await;
    w.include_on(a, "2023-02-28").await;
    w.include_on(leap, "2024-02-29").await;
    w.include_on(b, "2024-02-28").await;
    w.include_on(c, "2024-07-01").await;
    let mut last_days = Vec::new();
    for id in [leap, a, b, c] {
        let term = w.roster.expert(&rso(), id).await.unwrap().term.unwrap();
        last_days.push((term.first_day.to_string(), term.last_day.to_string()));
    }
    assert_eq!(
        last_days,
        [
            ("2024-02-29".into(), "2025-02-28".into()),
            ("2023-02-28".into(), "2024-02-27".into()),
            ("2024-02-28".into(), "2025-02-27".into()),
            ("2024-07-01".into(), "2025-06-30".into()),
        ] as [(String, String); 4]
    );

    // 16:59:59Z is 23:59:59 on 28 February in Bangkok: still on.
    w.set("2025-02-28T16:59:59Z");
    assert_eq!(w.roster.today(), d("2025-02-28"));
    let swept = w.roster.sweep().await.unwrap();
    assert_eq!(swept.expired, [a, b]);
    assert_eq!(w.status(leap).await, Status::Included);
    // One second later it is 1 March there: off.
    w.set("2025-02-28T17:00:00Z");
    let swept = w.roster.sweep().await.unwrap();
    assert_eq!(swept.expired, [leap]);

    let renewed = w.roster.renew(&rso(), leap).await.unwrap();
    let term = renewed.term.unwrap();
    assert_eq!(
        (term.first_day, term.last_day),
        (d("2025-03-01"), d("2026-02-28")),
        "no gap, no day counted twice"
    );
    assert_eq!(renewed.status, Status::Included);
    w.chain_holds().await;
}

#[tokio::test]
async fn a_later_call_renews_without_a_second_registration() {
    let w = World::new(2025).await;
    w.roster
        .open_call(
            &rso(),
            Call {
                year: 2026,
                window: DateRange {
                    first: d("2026-01-01"),
                    last: d("2026-12-31"),
                },
                version: 1,
            },
        )
        .await
        .unwrap();
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    w.include_on(id, "2025-04-01").await;
    let registered = w.roster.expert(&rso(), id).await.unwrap();

    // Nominated again in the next call, still on the roster.
    w.set_day("2026-02-15");
    let again = w
        .roster
        .nominate(
            &Actor::Participant("AUS".into()),
            Nomination {
                call_year: 2026,
                nominator: "AUS".into(),
                expert: person("Sukarni", "SUKARNI@example.org"),
            },
        )
        .await
        .unwrap();
    assert_eq!(again.expert(), id);
    let renewed = w.roster.renew(&rso(), id).await.unwrap();
    assert_eq!(renewed.nominations.len(), 2);
    assert_eq!(renewed.cv_document, registered.cv_document);
    let term = renewed.term.unwrap();
    // Renewed before the first term ended: on the roster throughout, the
    // renewed year following the first without gap or overlap.
    assert_eq!(
        (term.first_day, term.last_day),
        (d("2025-04-01"), d("2027-03-31"))
    );
    let trail = w.roster.audit_trail(&rso(), Some(id)).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(
        (
            last.change.from,
            last.change.to,
            last.change.reason.as_str()
        ),
        (
            Some(Status::Included),
            Status::Included,
            "renewed for a further year"
        )
    );
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.change.to == Status::Registered)
            .count(),
        1
    );

    // Lapsed long ago: a fresh term from the day of renewal.
    w.set_day("2028-06-10");
    assert_eq!(w.roster.sweep().await.unwrap().expired, [id]);
    let fresh = w.roster.renew(&rso(), id).await.unwrap().term.unwrap();
    assert_eq!(
        (fresh.first_day, fresh.last_day),
        (d("2028-06-10"), d("2029-06-09"))
    );
    w.chain_holds().await;
}

#[tokio::test]
async fn one_reminder_per_term_before_it_ends() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    w.include_on(id, "2025-04-01").await;
    // The term ends 2026-03-31; the reminder is due 30 days before.
    w.set_day("2026-02-28");
    assert!(w.roster.sweep().await.unwrap().reminded.is_empty());
    w.set_day("2026-03-01");
    assert_eq!(w.roster.sweep().await.unwrap().reminded, [id]);
    w.set_day("2026-03-02");
    assert!(w.roster.sweep().await.unwrap().reminded.is_empty());
    let reminders: Vec<Notice> = w
        .store
        .pending(100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.notice)
        .filter(|n| matches!(n, Notice::Reminder { .. }))
        .collect();
    assert_eq!(
        reminders,
        [Notice::Reminder {
            term_last_day: d("2026-03-31")
        }]
    );
    // The renewed term gets its own reminder near its own end.
    w.roster.renew(&rso(), id).await.unwrap();
    w.set_day("2027-03-01");
    assert_eq!(w.roster.sweep().await.unwrap().reminded, [id]);
}

#[tokio::test]
async fn decline_and_withdraw_are_checked_transitions() {
    let w = World::new(2025).await;
    let a = w
        .nominate(2025, "IDN", person("Ana", "ana@example.org"))
        .await;
    let b = w
        .nominate(2025, "IDN", person("Bo", "bo@example.org"))
        .await;
    let c = w
        .nominate(2025, "IDN", person("Cy", "cy@example.org"))
        .await;
    w.nominate(2025, "AUS", person("Cy", "cy@example.org"))
        .await;
    let e = w
        .nominate(2025, "IDN", person("Ed", "ed@example.org"))
        .await;

    w.roster.screen(&rso(), a).await.unwrap();
    w.roster.invite(&rso(), a).await.unwrap();
    let declined = w
        .roster
        .decline(&Actor::Expert(a), a, "no longer available")
        .await
        .unwrap();
    assert_eq!(declined.status, Status::Declined);
    let err = w
        .roster
        .decline(&Actor::Expert(b), b, "not invited yet")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0002 cannot go from nominated to declined"
    );

    let idn = Actor::Participant("IDN".into());
    let withdrawn = w
        .roster
        .withdraw(&idn, b, "nominated in error")
        .await
        .unwrap();
    assert_eq!(withdrawn.status, Status::Withdrawn);
    let err = w
        .roster
        .withdraw(&idn, c, "changed our mind")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant:IDN may not withdraw an expert that another participant also nominated"
    );
    let err = w
        .roster
        .withdraw(&Actor::Participant("FJI".into()), c, "not ours")
        .await
        .unwrap_err();
    assert!(matches!(err, RosterError::Forbidden { .. }));
    w.roster.withdraw(&rso(), c, "asked by both").await.unwrap();

    w.include_on(e, "2025-04-01").await;
    let err = w.roster.withdraw(&rso(), e, "too late").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0004 cannot go from included to withdrawn"
    );
    let trail = w.roster.audit_trail(&rso(), Some(b)).await.unwrap();
    let last = &trail.last().unwrap().change;
    assert_eq!(
        (last.actor.as_str(), last.to, last.reason.as_str()),
        ("participant:IDN", Status::Withdrawn, "nominated in error")
    );
    w.chain_holds().await;
}

#[tokio::test]
async fn revocation_requests_are_kept_and_a_revoked_expert_is_never_matched() {
    let w = World::new(2026).await;
    let id = w
        .nominate(2026, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    w.include_on(id, "2026-04-01").await;
    let mission = request("THA-2026-031", &["B.2.3"]);
    w.set_day("2026-05-01");
    let before = w
        .roster
        .match_request(&rso(), mission.clone())
        .await
        .unwrap();
    assert_eq!(before.ranked.len(), 1);

    let err = w
        .roster
        .request_revocation(&Actor::Participant("FJI".into()), id, "hearsay")
        .await
        .unwrap_err();
    assert!(matches!(err, RosterError::Forbidden { .. }));
    let first = w
        .roster
        .request_revocation(&Actor::Participant("IDN".into()), id, "left the ministry")
        .await
        .unwrap();
    let refused = w
        .roster
        .decide_revocation(&rso(), first.id, false, "still qualified")
        .await
        .unwrap();
    assert!(!refused.decision.unwrap().accepted);
    assert_eq!(w.status(id).await, Status::Included);

    let second = w
        .roster
        .request_revocation(&Actor::Expert(id), id, "taking a post abroad")
        .await
        .unwrap();
    let accepted = w
        .roster
        .decide_revocation(&rso(), second.id, true, "asked by the expert")
        .await
        .unwrap();
    assert_eq!(accepted.requested_by, "expert:E-0001");
    assert!(accepted.decision.unwrap().accepted);
    assert_eq!(w.status(id).await, Status::Revoked);
    let err = w
        .roster
        .decide_revocation(&rso(), second.id, true, "again")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RosterError::Store(StoreError::Duplicate {
            entity: "revocation decision",
            ..
        })
    ));
    let err = w
        .roster
        .request_revocation(&Actor::Expert(id), id, "once more")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert E-0001 cannot go from revoked to revoked"
    );

    let after = w.roster.match_request(&rso(), mission).await.unwrap();
    assert!(after.ranked.is_empty());
    assert_eq!(after.excluded[0].expert, id);
    assert_eq!(after.excluded[0].filter, Filter::NotIncluded);
    let trail = w.roster.audit_trail(&rso(), Some(id)).await.unwrap();
    let last = &trail.last().unwrap().change;
    assert_eq!(
        (last.from, last.to, last.reason.as_str()),
        (
            Some(Status::Included),
            Status::Revoked,
            "asked by the expert"
        )
    );
    w.chain_holds().await;
}

#[tokio::test]
async fn two_officers_editing_one_profile_one_wins() {
    let w = World::new(2025).await;
    let id = w
        .nominate(2025, "IDN", person("Sukarni", "sukarni@example.org"))
        .await;
    let read = w.roster.expert(&rso(), id).await.unwrap();
    let mut first = read.profile.clone();
    first.organisation.name = "Ministry of Law and Human Rights".into();
    let mut second = read.profile.clone();
    second.organisation.name = "Directorate General of Immigration".into();

    let stored = w
        .roster
        .update_profile(&rso(), id, read.version, first)
        .await
        .unwrap();
    assert_eq!(stored.version, read.version + 1);
    let err = w
        .roster
        .update_profile(&Actor::Rso("officer-2".into()), id, read.version, second)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RosterError::Conflict { expert, expected: 1, current: 2 } if expert == id)
    );
    assert_eq!(
        err.to_string(),
        "expert E-0001 changed since it was read: expected version 1, found 2; reload it and make the change again"
    );
    let now = w.roster.expert(&rso(), id).await.unwrap();
    assert_eq!(now, stored, "the refused edit changed nothing");
    let err = w
        .roster
        .update_profile(&Actor::Participant("IDN".into()), id, 2, now.profile)
        .await
        .unwrap_err();
    assert!(matches!(err, RosterError::Forbidden { .. }));
}

/// `Roster::today` must depend only on the clock and the roster's zone.
/// The process zone cannot be changed safely inside a multi-threaded test
/// binary (setting `TZ` races with every thread reading it), so the check
/// runs this same test again in a child process started with
/// `TZ=America/Los_Angeles`, where the machine's local date differs from
/// Bangkok's at these instants, and the child asserts the Bangkok days.
#[test]
fn the_day_does_not_depend_on_the_process_time_zone() {
    const CHILD: &str = "ROSTER_TEST_ZONE_CHILD";
    let clock = Arc::new(FixedClock::new(at("2025-02-28T16:59:59Z")));
    let roster = Roster::new(Arc::new(MemoryStore::new())).with_clock(clock.clone());
    assert_eq!(roster.today(), d("2025-02-28"));
    clock.set(Utc.with_ymd_and_hms(2025, 2, 28, 17, 0, 0).unwrap());
    assert_eq!(roster.today(), d("2025-03-01"));
    if std::env::var_os(CHILD).is_some() {
        // In Los Angeles it is still the morning of 28 February.
        let local = chrono::Local::now().offset().local_minus_utc();
        assert!(local < 0, "the child runs west of UTC, offset {local}");
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_day_does_not_depend_on_the_process_time_zone",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("TZ", "America/Los_Angeles")
        .status()
        .unwrap();
    assert!(status.success(), "the child in America/Los_Angeles failed");
}

#[tokio::test]
async fn opening_a_call_again_returns_it_and_a_new_window_needs_update_call() {
    let w = World::new(2025).await;
    let window = DateRange {
        first: d("2027-02-01"),
        last: d("2027-03-31"),
    };
    let call = Call {
        year: 2027,
        window,
        version: 1,
    };
    let opened = w.roster.open_call(&rso(), call.clone()).await.unwrap();
    assert_eq!(opened, call);
    // The setup may run again: the same window returns the stored call.
    let again = w.roster.open_call(&rso(), call.clone()).await.unwrap();
    assert_eq!(again, opened);

    let longer = Call {
        window: DateRange {
            first: d("2027-02-01"),
            last: d("2027-04-30"),
        },
        ..call
    };
    let err = w
        .roster
        .open_call(&rso(), longer.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "window: the call of 2027 is open from 2027-02-01 to 2027-03-31; change it with update_call against version 1"
    );
    let updated = w.roster.update_call(&rso(), longer.clone()).await.unwrap();
    assert_eq!(
        updated,
        Call {
            version: 2,
            ..longer.clone()
        }
    );

    // The change was made against version 1, which is stale now.
    let err = w.roster.update_call(&rso(), longer).await.unwrap_err();
    assert!(
        matches!(
            err,
            RosterError::Store(StoreError::Conflict {
                entity: "call",
                expected: 1,
                current: 2,
                ..
            })
        ),
        "{err:?}"
    );
    let err = w
        .roster
        .update_call(&Actor::Participant("THA".into()), updated)
        .await
        .unwrap_err();
    assert!(matches!(err, RosterError::Forbidden { .. }), "{err:?}");
}
