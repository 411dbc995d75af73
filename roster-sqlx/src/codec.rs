//! How records become columns and back, for every database.

use chrono::{DateTime, NaiveDate, Utc};
use roster_core::StoreError;
use roster_core::lifecycle::{Seal, Status, Term};
use roster_core::model::{
    DateRange, Engagement, EngagementState, Expert, ExpertId, HIGHEST_RATING, LOWEST_RATING,
    MissionFeedback, MissionRequest, NominationRecord, Profile,
};
use roster_core::store::Notice;
use serde::{Deserialize, Serialize};

/// The part of an expert kept as JSON: everything but the id, status and
/// version, which have columns of their own.
#[derive(Serialize)]
pub(crate) struct ExpertRecordRef<'a> {
    profile: &'a Profile,
    nominations: &'a [NominationRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    cv_document: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    term: Option<&'a Term>,
}

#[derive(Deserialize)]
struct ExpertRecord {
    profile: Profile,
    nominations: Vec<NominationRecord>,
    #[serde(default)]
    cv_document: Option<String>,
    #[serde(default)]
    term: Option<Term>,
}

/// The JSON of an expert's record.
pub(crate) fn expert_json(
    profile: &Profile,
    nominations: &[NominationRecord],
    cv_document: Option<&str>,
    term: Option<&Term>,
) -> Result<String, StoreError> {
    let record = ExpertRecordRef {
        profile,
        nominations,
        cv_document,
        term,
    };
    serde_json::to_string(&record).map_err(encode_error)
}

/// An expert from its columns.
pub(crate) fn expert_from_columns(
    id: i64,
    status: &str,
    version: i64,
    record: &str,
) -> Result<Expert, StoreError> {
    let expert_id = ExpertId(id);
    let corrupt = |message: String| corrupt("expert", expert_id.to_string(), message);
    let status = parse_status(status).map_err(corrupt)?;
    let version =
        u64::try_from(version).map_err(|_| corrupt(format!("version {version} is negative")))?;
    let record: ExpertRecord =
        serde_json::from_str(record).map_err(|e| corrupt(describe_json_error(&e)))?;
    Ok(Expert {
        id: expert_id,
        version,
        status,
        profile: record.profile,
        nominations: record.nominations,
        cv_document: record.cv_document,
        term: record.term,
    })
}

/// A stored version column, read back.
pub(crate) fn parse_version(
    entity: &'static str,
    id: &str,
    stored: i64,
) -> Result<u64, StoreError> {
    u64::try_from(stored).map_err(|_| {
        corrupt(
            entity,
            id.to_owned(),
            format!("version {stored} is negative"),
        )
    })
}

/// The stored version `stored` of the record `id`, when it is the version
/// `expected` that a change was made against; [`StoreError::Conflict`]
/// otherwise.
pub(crate) fn check_version(
    entity: &'static str,
    id: &str,
    expected: u64,
    stored: i64,
) -> Result<u64, StoreError> {
    let current = parse_version(entity, id, stored)?;
    if current == expected {
        Ok(current)
    } else {
        Err(StoreError::Conflict {
            entity,
            id: id.to_owned(),
            expected,
            current,
        })
    }
}

/// The JSON of a mission request.
pub(crate) fn request_json(request: &MissionRequest) -> Result<String, StoreError> {
    serde_json::to_string(request).map_err(encode_error)
}

/// A mission request from its JSON.
pub(crate) fn request_from_json(id: &str, record: &str) -> Result<MissionRequest, StoreError> {
    serde_json::from_str(record)
        .map_err(|e| corrupt("request", id.to_owned(), describe_json_error(&e)))
}

/// A status from its stored name.
pub(crate) fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| format!("unknown status `{text}`"))
}

/// The stored name of an engagement state.
pub(crate) fn state_name(state: EngagementState) -> &'static str {
    match state {
        EngagementState::Proposed => "proposed",
        EngagementState::Accepted => "accepted",
        EngagementState::Declined => "declined",
        EngagementState::Completed => "completed",
    }
}

/// An engagement state from its stored name.
pub(crate) fn parse_state(text: &str) -> Result<EngagementState, String> {
    [
        EngagementState::Proposed,
        EngagementState::Accepted,
        EngagementState::Declined,
        EngagementState::Completed,
    ]
    .into_iter()
    .find(|s| state_name(*s) == text)
    .ok_or_else(|| format!("unknown engagement state `{text}`"))
}

/// An engagement's feedback as its four nullable columns: all set, or
/// none.
pub(crate) struct FeedbackColumns {
    pub(crate) rating: Option<i16>,
    pub(crate) comment: Option<String>,
    pub(crate) by: Option<String>,
    pub(crate) at: Option<DateTime<Utc>>,
}

impl FeedbackColumns {
    /// The columns of an engagement's feedback.
    pub(crate) fn of(engagement: &Engagement) -> FeedbackColumns {
        match &engagement.feedback {
            Some(f) => FeedbackColumns {
                rating: Some(i16::from(f.rating)),
                comment: f.comment.clone(),
                by: Some(f.recorded_by.clone()),
                at: Some(f.recorded_at),
            },
            None => FeedbackColumns {
                rating: None,
                comment: None,
                by: None,
                at: None,
            },
        }
    }

    /// The feedback of the engagement `id` (request key and expert), read
    /// back. Never quotes the comment: it may hold personal data.
    pub(crate) fn into_feedback(self, id: &str) -> Result<Option<MissionFeedback>, StoreError> {
        let corrupt = |message: &str| corrupt("engagement", id.to_owned(), message.to_owned());
        match (self.rating, self.by, self.at) {
            (None, None, None) if self.comment.is_none() => Ok(None),
            (Some(rating), Some(recorded_by), Some(recorded_at)) => {
                let rating = u8::try_from(rating)
                    .ok()
                    .filter(|r| (LOWEST_RATING..=HIGHEST_RATING).contains(r))
                    .ok_or_else(|| {
                        corrupt(&format!(
                            "feedback rating {rating} is outside {LOWEST_RATING} to {HIGHEST_RATING}"
                        ))
                    })?;
                Ok(Some(MissionFeedback {
                    rating,
                    comment: self.comment,
                    recorded_by,
                    recorded_at,
                }))
            }
            _ => Err(corrupt(
                "feedback is incomplete: rating, recorder and instant must all be set or all be empty",
            )),
        }
    }
}

/// The one text form of instants: UTC, microseconds, fixed width, so that
/// text order is time order.
pub(crate) fn instant_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// An instant from its text form; also from an RFC 3339 instant with any
/// offset, and from SQLite's `CURRENT_TIMESTAMP` form without an offset
/// (`2025-07-01 08:30:00`, which is UTC), as imported or legacy rows hold.
pub(crate) fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .map(|at| at.and_utc())
        })
        .map_err(|_| format!("`{text}` is not an instant of the form 2025-07-01T08:30:00.000000Z"))
}

/// The text form of dates: `YYYY-MM-DD`.
pub(crate) fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A date from its text form.
pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date of the form 2025-07-01"))
}

/// A date range from its two text columns.
pub(crate) fn parse_range(first: &str, last: &str) -> Result<DateRange, String> {
    Ok(DateRange {
        first: parse_date(first)?,
        last: parse_date(last)?,
    })
}

/// Stored data that could not be decoded.
pub(crate) fn corrupt(entity: &'static str, id: String, message: String) -> StoreError {
    StoreError::Corrupt {
        entity,
        id,
        message,
    }
}

/// Where and how JSON failed to decode, without the offending text: a
/// serde message may quote the value, and the value may be a name.
fn describe_json_error(err: &serde_json::Error) -> String {
    let kind = match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "malformed",
        serde_json::error::Category::Data => "unexpected",
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{kind} JSON at line {} column {}", err.line(), err.column())
}

/// Records are plain data; serialising them fails only if serde_json
/// itself does, which no retry fixes.
fn encode_error(err: serde_json::Error) -> StoreError {
    StoreError::Backend {
        transient: false,
        source: Box::new(err),
    }
}

/// An audit entry's seal from its two hash columns; entries written before
/// the chain existed have neither.
pub(crate) fn seal(prev_hash: Option<String>, hash: Option<String>) -> Option<Seal> {
    Some(Seal {
        prev_hash: prev_hash?,
        hash: hash?,
    })
}

/// The JSON of an outbox message's notice.
pub(crate) fn notice_json(notice: &Notice) -> Result<String, StoreError> {
    serde_json::to_string(notice).map_err(encode_error)
}

/// An outbox message's notice from its JSON.
pub(crate) fn notice_from_json(id: i64, json: &str) -> Result<Notice, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| corrupt("outbox message", id.to_string(), describe_json_error(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_any_stored_form_read_as_the_same_instant() {
        let r1 = parse_instant("2025-03-01 10:00:00").unwrap();
        let r2 = parse_instant("2025-03-01T12:00:00+07:00").unwrap();
        let r3 = parse_instant("2025-03-01T09:00:00Z").unwrap();
        assert_eq!(instant_text(r1), "2025-03-01T10:00:00.000000Z");
        assert_eq!(instant_text(r2), "2025-03-01T05:00:00.000000Z");
        assert_eq!(instant_text(r3), "2025-03-01T09:00:00.000000Z");
        assert_eq!(parse_instant(&instant_text(r2)), Ok(r2));
        assert!(parse_instant("2025-03-01").is_err());
        assert!(parse_instant("yesterday").is_err());
    }

    fn columns(rating: Option<i16>, by: Option<&str>, at: Option<&str>) -> FeedbackColumns {
        FeedbackColumns {
            rating,
            comment: Some("Maria Santos was late".into()),
            by: by.map(Into::into),
            at: at.map(|at| parse_instant(at).unwrap()),
        }
    }

    #[test]
    fn feedback_columns_read_back_whole_or_as_corrupt_without_the_comment() {
        let at = Some("2025-09-11T08:00:00.000001Z");
        let read = columns(Some(5), Some("rso:officer-1"), at)
            .into_feedback("THA/A/E-0001")
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                read.rating,
                read.recorded_by.as_str(),
                instant_text(read.recorded_at)
            ),
            (5, "rso:officer-1", "2025-09-11T08:00:00.000001Z".to_owned())
        );
        let none = FeedbackColumns {
            rating: None,
            comment: None,
            by: None,
            at: None,
        };
        assert_eq!(none.into_feedback("THA/A/E-0001").unwrap(), None);

        for (bad, message) in [
            (
                columns(Some(0), Some("rso:a"), at),
                "feedback rating 0 is outside 1 to 5",
            ),
            (
                columns(Some(-3), Some("rso:a"), at),
                "feedback rating -3 is outside 1 to 5",
            ),
            (
                columns(Some(4), None, at),
                "feedback is incomplete: rating, recorder and instant must all be set or all be empty",
            ),
            (
                columns(None, None, None),
                "feedback is incomplete: rating, recorder and instant must all be set or all be empty",
            ),
        ] {
            let err = bad.into_feedback("THA/A/E-0001").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("stored engagement THA/A/E-0001 could not be decoded: {message}")
            );
            assert!(!err.to_string().contains("Maria"));
        }
    }
}
