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
