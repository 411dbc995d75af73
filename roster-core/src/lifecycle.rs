//! The inclusion lifecycle: statuses, the transitions between them, terms on
//! the roster, and audit entries.
//!
//! ```text
//! nominated ─► invited ─► registered ─► included ─► expired
//!    │            │           │            │  ▲         │
//!    ▼            ▼           ▼            ▼  └─renew───┘
//! ineligible   declined   withdrawn     revoked
//! ```
//!
//! `nominated`, `invited` and `registered` may also end in `withdrawn`. A
//! later call renews an included or expired expert without a second
//! registration, and may nominate again an expert found ineligible.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{DateRange, ExpertId};

/// Where an expert is in the lifecycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nominated in a call; not yet screened or invited.
    Nominated,
    /// Invited to register.
    Invited,
    /// Registered with a complete profile and a CV.
    Registered,
    /// On the roster for a term.
    Included,
    /// The term ended.
    Expired,
    /// Removed from the roster by the RSO.
    Revoked,
    /// Does not meet the selection criteria.
    Ineligible,
    /// Declined the invitation.
    Declined,
    /// Withdrawn by the expert or the nominator before inclusion.
    Withdrawn,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 9] = [
        Status::Nominated,
        Status::Invited,
        Status::Registered,
        Status::Included,
        Status::Expired,
        Status::Revoked,
        Status::Ineligible,
        Status::Declined,
        Status::Withdrawn,
    ];

    /// The status's name in snake case, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Nominated => "nominated",
            Status::Invited => "invited",
            Status::Registered => "registered",
            Status::Included => "included",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
            Status::Ineligible => "ineligible",
            Status::Declined => "declined",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the lifecycle allows going from `self` to `to`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Nominated, Invited | Ineligible | Withdrawn)
                | (Invited, Registered | Declined | Withdrawn)
                | (Registered, Included | Withdrawn)
                | (Included, Expired | Revoked | Included)
                | (Expired, Included)
                | (Ineligible, Nominated)
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A term on the roster: from its first day through its last, in the
/// roster's time zone.
///
/// An expert included on day D is on the roster through the day before D's
/// anniversary. The anniversary of 29 February is 1 March, so a term starting
/// 2024-02-29 ends 2025-02-28, and one starting 2024-02-28 ends 2025-02-27.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Term {
    /// First day on the roster.
    pub first_day: NaiveDate,
    /// Last day on the roster.
    pub last_day: NaiveDate,
}

impl Term {
    /// The one-year term that starts on `first_day`.
    pub fn starting(first_day: NaiveDate) -> Term {
        Term {
            first_day,
            // At the far end of the calendar there is no anniversary; the
            // term then runs to the last representable day.
            last_day: anniversary(first_day)
                .and_then(|a| a.pred_opt())
                .unwrap_or(NaiveDate::MAX),
        }
    }

    /// The term that follows this one without gap or overlap.
    pub fn renewed(&self) -> Term {
        Term::starting(self.last_day.succ_opt().unwrap_or(self.last_day))
    }

    /// Whether the expert is on the roster on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.first_day <= day && day <= self.last_day
    }

    /// Whether the expert is on the roster on every day of `range`.
    pub fn covers_range(&self, range: &DateRange) -> bool {
        self.first_day <= range.first && range.last <= self.last_day
    }
}

/// The same day one year later; 29 February's anniversary is 1 March.
/// `None` only past the end of the calendar.
fn anniversary(day: NaiveDate) -> Option<NaiveDate> {
    // 29 February has no same day next year: its anniversary is 1 March.
    day.with_year(day.year() + 1)
        .or_else(|| NaiveDate::from_ymd_opt(day.year() + 1, 3, 1))
}

/// The lifecycle's timings: how long an invitation stays valid and how long
/// before a term ends the expert is reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// From issue to expiry of an invitation; 14 days by default.
    pub invitation_valid_for: chrono::TimeDelta,
    /// Days before the last day of a term on which the reminder is queued;
    /// 30 by default.
    pub reminder_days_before: u64,
}

impl Default for LifecyclePolicy {
    fn default() -> LifecyclePolicy {
        LifecyclePolicy {
            invitation_valid_for: chrono::TimeDelta::days(14),
            reminder_days_before: 30,
        }
    }
}

/// Adds whole days, saturating at the end of the calendar.
pub fn add_days(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

/// Who acted: an id, never a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// An officer of the Regional Support Office, by staff id.
    Rso(String),
    /// A member or observer, by participant code.
    Participant(String),
    /// The expert themself.
    Expert(ExpertId),
    /// An analyst reading aggregates.
    Analyst(String),
    /// The library acting on a schedule (expiry sweeps).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Rso(id) => write!(f, "rso:{id}"),
            Actor::Participant(code) => write!(f, "participant:{code}"),
            Actor::Expert(id) => write!(f, "expert:{id}"),
            Actor::Analyst(id) => write!(f, "analyst:{id}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// An audit entry before the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// Who made the change.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Status before; `None` when the expert was created.
    pub from: Option<Status>,
    /// Status after.
    pub to: Status,
    /// Why, in words.
    pub reason: String,
}

/// One entry of the append-only audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the trail, from 1, without gaps.
    pub seq: i64,
    /// The expert changed.
    pub expert: ExpertId,
    /// What happened.
    #[serde(flatten)]
    pub change: AuditDraft,
    /// The entry's place in the hash chain. `None` only for entries written
    /// before the chain existed, which can only precede every sealed entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Seal>,
}

impl AuditEntry {
    /// The entry numbered `seq` for `expert`, sealed onto the entry whose
    /// hash is `prev_hash` ([`GENESIS`] for the first).
    pub fn sealed(seq: i64, expert: ExpertId, change: AuditDraft, prev_hash: &str) -> AuditEntry {
        let hash = chain_hash(seq, expert, &change, prev_hash);
        AuditEntry {
            seq,
            expert,
            change,
            seal: Some(Seal {
                prev_hash: prev_hash.to_owned(),
                hash,
            }),
        }
    }
}

/// Where an audit entry sits in the hash chain: the previous entry's hash
/// and its own, both lower-case hexadecimal SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The hash of the entry before, or [`GENESIS`].
    pub prev_hash: String,
    /// SHA-256 of this entry's canonical encoding, previous hash included.
    pub hash: String,
}

/// The previous hash of the first sealed entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an audit entry: SHA-256 over a canonical encoding of the
/// sequence number, expert, actor, instant (whole microseconds since the
/// Unix epoch, the stores' resolution), statuses, reason and previous hash.
///
/// Each field is written as its byte length (8 bytes, big-endian) then its
/// bytes, so no two different entries encode alike.
pub fn chain_hash(seq: i64, expert: ExpertId, change: &AuditDraft, prev_hash: &str) -> String {
    use sha2::{Digest, Sha256};

    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(b"roster-audit-v1");
    field(&seq.to_be_bytes());
    field(&expert.0.to_be_bytes());
    field(change.actor.as_bytes());
    field(&change.at.timestamp_micros().to_be_bytes());
    field(change.from.map_or("", Status::as_str).as_bytes());
    field(change.to.as_str().as_bytes());
    field(change.reason.as_bytes());
    field(prev_hash.as_bytes());
    hex(&hasher.finalize())
}

/// What checking the audit trail's hash chain found: the first break, or
/// that the whole trail holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChainReport {
    /// Every entry is in place and unaltered.
    Ok {
        /// How many entries were checked.
        entries: usize,
    },
    /// The entry numbered `seq` does not match its hash or its link to the
    /// entry before.
    Altered {
        /// The entry.
        seq: i64,
    },
    /// The entry numbered `expected_seq` is not in the trail.
    Missing {
        /// The number that should have come next.
        expected_seq: i64,
    },
    /// The entry numbered `seq` is out of place: an earlier number follows
    /// it.
    Reordered {
        /// The misplaced entry.
        seq: i64,
    },
}

/// Checks a whole audit trail, oldest first as the store lists it, and
/// reports the first entry that was altered, removed or moved.
///
/// Entries written before the chain existed (no seal) are accepted only
/// at the start of the trail; the chain then starts from [`GENESIS`].
pub fn verify_chain(entries: &[AuditEntry]) -> ChainReport {
    let mut prev: Option<&str> = None;
    for (expected_seq, (i, entry)) in (1..).zip(entries.iter().enumerate()) {
        if entry.seq != expected_seq {
            let later = entries[i + 1..].iter().any(|e| e.seq == expected_seq);
            return if entry.seq < expected_seq || later {
                ChainReport::Reordered { seq: entry.seq }
            } else {
                ChainReport::Missing { expected_seq }
            };
        }
        match &entry.seal {
            // An unsealed entry after a sealed one was rewritten.
            None if prev.is_some() => return ChainReport::Altered { seq: entry.seq },
            None => {}
            Some(seal) => {
                let linked = seal.prev_hash == prev.unwrap_or(GENESIS);
                let hash = chain_hash(entry.seq, entry.expert, &entry.change, &seal.prev_hash);
                if !linked || hash != seal.hash {
                    return ChainReport::Altered { seq: entry.seq };
                }
                prev = Some(&seal.hash);
            }
        }
    }
    ChainReport::Ok {
        entries: entries.len(),
    }
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn one_year_terms() {
        assert_eq!(Term::starting(d("2024-02-29")).last_day, d("2025-02-28"));
        assert_eq!(Term::starting(d("2023-02-28")).last_day, d("2024-02-27"));
        assert_eq!(Term::starting(d("2024-02-28")).last_day, d("2025-02-27"));
        assert_eq!(Term::starting(d("2024-07-01")).last_day, d("2025-06-30"));
        let renewed = Term::starting(d("2024-02-29")).renewed();
        assert_eq!(
            renewed,
            Term {
                first_day: d("2025-03-01"),
                last_day: d("2026-02-28")
            }
        );
    }

    fn trail(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .and_then(|e| e.seal.as_ref())
                .map_or(GENESIS.to_owned(), |s| s.hash.clone());
            let change = AuditDraft {
                actor: "rso:officer-1".into(),
                at: "2025-05-01T00:00:00.123456789Z".parse().unwrap(),
                from: Some(Status::Nominated),
                to: Status::Invited,
                reason: format!("step {seq}"),
            };
            out.push(AuditEntry::sealed(
                seq,
                ExpertId(seq % 3 + 1),
                change,
                &prev,
            ));
        }
        out
    }

    #[test]
    fn the_chain_finds_the_first_break() {
        let good = trail(5);
        assert_eq!(verify_chain(&good), ChainReport::Ok { entries: 5 });
        assert_eq!(verify_chain(&[]), ChainReport::Ok { entries: 0 });

        let mut altered = good.clone();
        altered[2].change.reason = "edited".into();
        assert_eq!(verify_chain(&altered), ChainReport::Altered { seq: 3 });
        // Resealing the altered entry breaks the link of the next one.
        let prev = altered[1].seal.clone().unwrap().hash;
        altered[2] = AuditEntry::sealed(3, altered[2].expert, altered[2].change.clone(), &prev);
        assert_eq!(verify_chain(&altered), ChainReport::Altered { seq: 4 });

        let mut removed = good.clone();
        removed.remove(3);
        assert_eq!(
            verify_chain(&removed),
            ChainReport::Missing { expected_seq: 4 }
        );
        let mut last_removed = good.clone();
        last_removed.remove(0);
        assert_eq!(
            verify_chain(&last_removed),
            ChainReport::Missing { expected_seq: 1 }
        );

        let mut swapped = good.clone();
        swapped.swap(1, 2);
        assert_eq!(verify_chain(&swapped), ChainReport::Reordered { seq: 3 });

        // Only the instant's microseconds count, as the stores keep them.
        let mut truncated = good.clone();
        truncated[0].change.at = "2025-05-01T00:00:00.123456Z".parse().unwrap();
        assert_eq!(verify_chain(&truncated), ChainReport::Ok { entries: 5 });

        // Entries from before the chain may lead, never follow.
        let mut legacy = good.clone();
        legacy[0].seal = None;
        legacy[1] = AuditEntry::sealed(2, legacy[1].expert, legacy[1].change.clone(), GENESIS);
        let prev = legacy[1].seal.clone().unwrap().hash;
        legacy[2] = AuditEntry::sealed(3, legacy[2].expert, legacy[2].change.clone(), &prev);
        let prev = legacy[2].seal.clone().unwrap().hash;
        legacy[3] = AuditEntry::sealed(4, legacy[3].expert, legacy[3].change.clone(), &prev);
        let prev = legacy[3].seal.clone().unwrap().hash;
        legacy[4] = AuditEntry::sealed(5, legacy[4].expert, legacy[4].change.clone(), &prev);
        assert_eq!(verify_chain(&legacy), ChainReport::Ok { entries: 5 });
        let mut unsealed = good;
        unsealed[3].seal = None;
        assert_eq!(verify_chain(&unsealed), ChainReport::Altered { seq: 4 });
    }

    #[test]
    fn transitions() {
        use Status::*;
        assert!(Nominated.can_become(Invited));
        assert!(Included.can_become(Revoked));
        assert!(Expired.can_become(Included));
        assert!(!Nominated.can_become(Included));
        assert!(!Revoked.can_become(Included));
        assert!(!Withdrawn.can_become(Nominated));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
