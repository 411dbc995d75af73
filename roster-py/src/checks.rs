//! Checks of the input that scripts give and that its types alone do not
//! make: whole numbers in the range of their field, the requests of a
//! batch, the options of a coverage report and request keys. The match
//! policy a roster opens with is checked by the core
//! (`MatchPolicy::check`).
//!
//! Each check returns every problem it finds, each naming its field, so that
//! one exception lists them all.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use roster_core::error::{Field, ValidationError};
use roster_core::language::{Level, canonical_tag};
use roster_core::matching::assignment::BatchRequest;
use roster_core::matching::coverage::CoverageOptions;
use roster_core::membership::{Membership, ParticipantKind};

/// The longest period a coverage report looks ahead for terms ending. Terms
/// last one year, so ten years already lists every term; the bound also
/// keeps the horizon well inside the calendar.
pub(crate) const MAX_ENDING_WITHIN_DAYS: i64 = 3660;

/// The range of an integer type, or of a count a field allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntRange {
    /// The least value allowed.
    pub(crate) min: i128,
    /// The greatest value allowed.
    pub(crate) max: i128,
}

impl IntRange {
    /// The range of `T`.
    pub(crate) fn of<T: Whole>() -> IntRange {
        T::RANGE
    }
}

/// A Rust integer type that a script's whole number may be read into.
pub(crate) trait Whole: TryFrom<i128> {
    /// Its least and greatest values.
    const RANGE: IntRange;
}

macro_rules! whole {
    ($($ty:ty)*) => {$(
        impl Whole for $ty {
            // OK because every type here fits in an i128.
            const RANGE: IntRange = IntRange {
                min: <$ty>::MIN as i128,
                max: <$ty>::MAX as i128,
            };
        }
    )*};
}

whole!(u8 u16 u32 u64 usize i8 i16 i32 i64);

/// A whole number as a script gives it, of any size: Python's ints have no
/// bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WholeNumber {
    /// The value, held at the bounds of an i128 when beyond them.
    value: i128,
    /// The number in decimal, exactly as given.
    text: String,
}

impl WholeNumber {
    /// A number that fits in an i128.
    pub(crate) fn new(value: i128) -> WholeNumber {
        WholeNumber {
            value,
            text: value.to_string(),
        }
    }

    /// A number beyond an i128, below zero or above, with its decimal text.
    pub(crate) fn beyond(negative: bool, text: String) -> WholeNumber {
        WholeNumber {
            value: if negative { i128::MIN } else { i128::MAX },
            text,
        }
    }

    /// The number, when `range` holds it; else the problem, named `field`,
    /// which says the least value (zero or more, for counts) or the
    /// greatest.
    pub(crate) fn within(&self, field: Field, range: IntRange) -> Result<i128, ValidationError> {
        let text = &self.text;
        if self.value < range.min {
            let message = if range.min == 0 {
                format!("is {text}; must be zero or more")
            } else {
                format!("is {text}; must be at least {}", range.min)
            };
            Err(ValidationError::new(field, message))
        } else if self.value > range.max {
            Err(ValidationError::new(
                field,
                format!("is {text}; the maximum is {}", range.max),
            ))
        } else {
            Ok(self.value)
        }
    }

    /// The number as a `T`, or the problem, named `field`.
    pub(crate) fn to<T: Whole>(&self, field: Field) -> Result<T, ValidationError> {
        let value = self.within(field.clone(), T::RANGE)?;
        // OK because `within` checked the range of `T`.
        T::try_from(value).map_err(|_| ValidationError::new(field, "is out of range"))
    }
}

/// Problems with the requests of a batch, named `batch[i].…`: an empty key,
/// a key used twice (placements and unfilled slots are reported by key), a
/// candidate whose expert id is below 1, or a window that ends before it
/// starts.
pub(crate) fn check_batch(batch: &[BatchRequest]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, request) in batch.iter().enumerate() {
        let at = Field::new("batch").index(i);
        if request.key.trim().is_empty() {
            errors.push(ValidationError::new(
                at.key("key"),
                "is empty; name the request, as `THA/THA-2025-07`",
            ));
        } else if let Some(first) = seen.insert(&request.key, i) {
            // Keep the first index, so that a third use names it too.
            seen.insert(&request.key, first);
            errors.push(ValidationError::new(
                at.key("key"),
                format!(
                    "`{}` is also the key of batch[{first}]; each request of a batch needs \
                     its own key",
                    request.key
                ),
            ));
        }
        for (j, (expert, _)) in request.candidates.iter().enumerate() {
            if expert.0 < 1 {
                errors.push(ValidationError::new(
                    at.key("candidates").index(j).key("expert"),
                    format!("is {}; expert ids start at 1", expert.0),
                ));
            }
        }
        let window = request.window;
        if window.last < window.first {
            errors.push(ValidationError::new(
                at.key("window"),
                format!(
                    "ends on {}, before it starts on {}",
                    window.last, window.first
                ),
            ));
        }
    }
    errors
}

/// Member-state languages as a script gives them: per state code, its tags,
/// or the problem with reading them.
pub(crate) type MemberLanguages = BTreeMap<String, Result<Vec<String>, ValidationError>>;

/// The options of a coverage report as a script gives them, before checks.
/// An option that could not be read at all carries its problem, so that
/// the checks report it with every other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CoverageRequest {
    /// Fewer included experts than this under a thematic node is a gap.
    pub(crate) node_threshold: WholeNumber,
    /// Languages of member states, by state code.
    pub(crate) member_languages: Result<MemberLanguages, ValidationError>,
    /// Terms ending within this many days are listed.
    pub(crate) ending_within_days: WholeNumber,
    /// The level at which a language counts, as a script writes it.
    pub(crate) working_level: String,
    /// The day the report is for.
    pub(crate) today: Result<NaiveDate, ValidationError>,
}

/// Checked coverage options: counts in range, a known working level,
/// member-state codes of `membership`, and language tags made canonical
/// (each once per state). The problems come in the order of the options
/// (`node_threshold`, `member_languages`, `ending_within_days`,
/// `working_level`, `today`).
pub(crate) fn coverage_options(
    request: CoverageRequest,
    membership: &Membership,
) -> Result<CoverageOptions, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let node_threshold = request
        .node_threshold
        .to::<usize>(Field::new("node_threshold"))
        .unwrap_or_else(|err| {
            errors.push(err);
            0
        });
    let member_languages = match request.member_languages {
        Ok(languages) => member_languages(languages, membership, &mut errors),
        Err(err) => {
            errors.push(err);
            BTreeMap::new()
        }
    };
    let days = IntRange {
        min: 0,
        max: i128::from(MAX_ENDING_WITHIN_DAYS),
    };
    let ending_within_days = request
        .ending_within_days
        .within(Field::new("ending_within_days"), days)
        // OK because 0 to 3660 fits in a u32.
        .map(|days| u32::try_from(days).unwrap_or(0))
        .unwrap_or_else(|err| {
            errors.push(err);
            0
        });
    let working_level = request
        .working_level
        .parse::<Level>()
        .unwrap_or_else(|err| {
            errors.push(ValidationError::new(
                Field::new("working_level"),
                err.to_string(),
            ));
            Level::WORKING
        });
    let today = request.today.map_err(|err| errors.push(err));
    match today {
        Ok(today) if errors.is_empty() => Ok(CoverageOptions {
            today,
            node_threshold,
            working_level,
            member_languages,
            ending_within_days,
        }),
        _ => Err(errors),
    }
}

/// Member-state languages with their codes checked against `membership`
/// and their tags made canonical; problems go to `errors`, by state code.
fn member_languages(
    languages: MemberLanguages,
    membership: &Membership,
    errors: &mut Vec<ValidationError>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (code, tags) in languages {
        let field = Field::new("member_languages").key(&code);
        let is_state = membership.get(&code).is_some_and(|p| {
            matches!(
                p.kind,
                ParticipantKind::MemberState | ParticipantKind::MemberTerritory
            )
        });
        if !is_state {
            errors.push(ValidationError::new(
                field.clone(),
                format!("`{code}` is not a Bali Process member state"),
            ));
        }
        let tags = match tags {
            Ok(tags) => tags,
            Err(err) => {
                errors.push(err);
                continue;
            }
        };
        let mut canonical: Vec<String> = Vec::with_capacity(tags.len());
        for (i, tag) in tags.iter().enumerate() {
            match canonical_tag(tag) {
                Ok(tag) if !canonical.contains(&tag) => canonical.push(tag),
                Ok(_) => {}
                Err(message) => errors.push(ValidationError::new(field.index(i), message)),
            }
        }
        out.insert(code, canonical);
    }
    out
}

/// Splits a request key, `<requester>/<id>` as engagements name requests,
/// into the requester's code and the request's own id.
pub(crate) fn split_request_key(key: &str) -> Result<(&str, &str), ValidationError> {
    match key.split_once('/') {
        Some((requester, id)) if !requester.trim().is_empty() && !id.trim().is_empty() => {
            Ok((requester, id))
        }
        _ => Err(ValidationError::new(
            Field::new("request_id"),
            format!(
                "`{key}` is not a request key; write the requester's code, a slash and the \
                 request's id, as `THA/THA-2025-07`"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::ExpertId;
    use roster_core::model::DateRange;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn fields(errors: &[ValidationError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn request(key: &str, first: &str, last: &str) -> BatchRequest {
        BatchRequest {
            key: key.into(),
            window: DateRange {
                first: day(first),
                last: day(last),
            },
            wanted: 1,
            candidates: vec![(ExpertId(1), 500)],
        }
    }

    fn coverage_request() -> CoverageRequest {
        CoverageRequest {
            node_threshold: WholeNumber::new(2),
            member_languages: Ok(BTreeMap::from([
                ("KHM".into(), Ok(vec!["KM".into(), "km".into()])),
                ("IDN".into(), Ok(vec!["in".into()])),
            ])),
            ending_within_days: WholeNumber::new(60),
            working_level: "working".into(),
            today: Ok(day("2025-03-01")),
        }
    }

    fn messages(errors: &[ValidationError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn whole_numbers_out_of_range_say_the_bound() {
        let field = || Field::new("weights.years");
        assert_eq!(WholeNumber::new(7).to::<u32>(field()), Ok(7));
        assert_eq!(
            WholeNumber::new(i128::from(u32::MAX)).to::<u32>(field()),
            Ok(u32::MAX)
        );
        let negative = WholeNumber::new(-1).to::<u32>(field()).unwrap_err();
        assert_eq!(
            negative.to_string(),
            "weights.years: is -1; must be zero or more"
        );
        let large = WholeNumber::new(1 << 32).to::<u32>(field()).unwrap_err();
        assert_eq!(
            large.to_string(),
            "weights.years: is 4294967296; the maximum is 4294967295"
        );
        // Signed types give their least value rather than zero.
        let id = Field::new("expert_id");
        let below = WholeNumber::new(i128::from(i64::MIN) - 1).to::<i64>(id.clone());
        assert_eq!(
            below.unwrap_err().message,
            "is -9223372036854775809; must be at least -9223372036854775808"
        );
        // Beyond an i128 the number is still shown exactly.
        let text = format!("1{}", "0".repeat(60));
        let huge = WholeNumber::beyond(false, text.clone()).to::<i64>(id.clone());
        assert_eq!(
            huge.unwrap_err().message,
            format!("is {text}; the maximum is 9223372036854775807")
        );
        let tiny = WholeNumber::beyond(true, format!("-{text}")).to::<u64>(id);
        assert_eq!(
            tiny.unwrap_err().message,
            format!("is -{text}; must be zero or more")
        );
        let days = IntRange { min: 0, max: 3660 };
        assert_eq!(
            WholeNumber::new(3661)
                .within(Field::new("ending_within_days"), days)
                .unwrap_err()
                .message,
            "is 3661; the maximum is 3660"
        );
        assert_eq!(IntRange::of::<u16>(), IntRange { min: 0, max: 65535 });
    }

    #[test]
    fn batch_keys_are_unique_and_windows_run_forward() {
        let fine = [
            request("THA/A", "2025-07-01", "2025-07-10"),
            request("IDN/A", "2025-07-01", "2025-07-01"),
        ];
        assert_eq!(check_batch(&fine), Vec::new());
        let bad = [
            request("THA/A", "2025-07-01", "2025-07-10"),
            request(" ", "2025-07-10", "2025-07-01"),
            request("THA/A", "2025-08-01", "2025-08-10"),
            request("THA/A", "2025-09-01", "2025-09-10"),
        ];
        let errors = check_batch(&bad);
        assert_eq!(
            fields(&errors),
            [
                "batch[1].key",
                "batch[1].window",
                "batch[2].key",
                "batch[3].key"
            ]
        );
        assert_eq!(
            errors[1].message,
            "ends on 2025-07-01, before it starts on 2025-07-10"
        );
        // Every repeat names the first use.
        assert!(
            errors[3]
                .message
                .starts_with("`THA/A` is also the key of batch[0];")
        );
    }

    #[test]
    fn coverage_options_are_checked_and_made_canonical() {
        let options = coverage_options(coverage_request(), &Membership::bundled()).unwrap();
        assert_eq!(options.node_threshold, 2);
        assert_eq!(options.working_level, Level::B2);
        assert_eq!(options.ending_within_days, 60);
        // Tags are canonical (`in` is now `id`) and each appears once.
        assert_eq!(
            options.member_languages,
            BTreeMap::from([
                ("IDN".to_owned(), vec!["id".to_owned()]),
                ("KHM".to_owned(), vec!["km".to_owned()]),
            ])
        );
    }

    #[test]
    fn every_bad_coverage_option_is_named() {
        let bad = CoverageRequest {
            node_threshold: WholeNumber::new(-1),
            member_languages: Ok(BTreeMap::from([
                ("XXX".into(), Ok(vec!["en".into()])),
                ("THA".into(), Ok(vec!["th".into(), "english!".into()])),
                // An organisation, not a state.
                ("IOM".into(), Ok(Vec::new())),
                // Tags that could not be read, of a code that is fine.
                (
                    "VNM".into(),
                    Err(ValidationError::new(
                        Field::new("member_languages.VNM"),
                        "is a string",
                    )),
                ),
            ])),
            ending_within_days: WholeNumber::new(i128::from(MAX_ENDING_WITHIN_DAYS) + 1),
            working_level: "expert".into(),
            today: Err(ValidationError::new(Field::new("today"), "is not a day")),
        };
        let errors = coverage_options(bad, &Membership::bundled()).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "node_threshold",
                "member_languages.IOM",
                "member_languages.THA[1]",
                "member_languages.VNM",
                "member_languages.XXX",
                "ending_within_days",
                "working_level",
                "today",
            ]
        );
        let messages = messages(&errors);
        assert_eq!(messages[0], "node_threshold: is -1; must be zero or more");
        assert_eq!(
            messages[4],
            "member_languages.XXX: `XXX` is not a Bali Process member state"
        );
        assert_eq!(
            messages[5],
            "ending_within_days: is 3661; the maximum is 3660"
        );
    }

    #[test]
    fn options_that_could_not_be_read_are_reported_with_the_rest() {
        let request = CoverageRequest {
            member_languages: Err(ValidationError::new(
                Field::new("member_languages"),
                "is not a mapping",
            )),
            node_threshold: WholeNumber::beyond(false, format!("1{}", "0".repeat(40))),
            ..coverage_request()
        };
        let errors = coverage_options(request, &Membership::bundled()).unwrap_err();
        assert_eq!(fields(&errors), ["node_threshold", "member_languages"]);
        assert!(
            errors[0]
                .message
                .ends_with(&format!("; the maximum is {}", usize::MAX))
        );
    }

    #[test]
    fn request_keys_split_at_the_first_slash() {
        assert_eq!(
            split_request_key("THA/THA-2025-07"),
            Ok(("THA", "THA-2025-07"))
        );
        assert_eq!(split_request_key("THA/2025/07"), Ok(("THA", "2025/07")));
        for bad in ["THA-2025-07", "/THA-2025-07", "THA/", " / ", ""] {
            let err = split_request_key(bad).unwrap_err();
            assert_eq!(err.field.as_str(), "request_id", "{bad}");
        }
    }
}
