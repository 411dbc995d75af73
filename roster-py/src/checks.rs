//! Checks of the matching input that scripts give and that its types alone
//! do not make: the match policy a roster opens with, the requests of a
//! batch, the options of a coverage report and request keys.
//!
//! Each check returns every problem it finds, each naming its field, so that
//! one exception lists them all.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use roster_core::error::{Field, ValidationError};
use roster_core::language::{Level, canonical_tag};
use roster_core::matching::assignment::BatchRequest;
use roster_core::matching::coverage::CoverageOptions;
use roster_core::matching::{LoadCap, Weights};
use roster_core::membership::{Membership, ParticipantKind};

/// The largest sum of weights for which no total saturates: each part earns
/// at most 1000 points per unit of weight, and totals are `u32`.
pub(crate) const MAX_WEIGHT_SUM: u64 = u32::MAX as u64 / 1000;

/// The longest period a coverage report looks ahead for terms ending. Terms
/// last one year, so ten years already lists every term; the bound also
/// keeps the horizon well inside the calendar.
pub(crate) const MAX_ENDING_WITHIN_DAYS: i64 = 3660;

/// Problems with score weights: all zero (every expert would score 0), or
/// so large that totals would saturate and tie.
pub(crate) fn check_weights(weights: &Weights) -> Vec<ValidationError> {
    let Weights {
        thematic,
        years,
        competencies,
        languages,
        region,
        rotation,
    } = *weights;
    let sum: u64 = [thematic, years, competencies, languages, region, rotation]
        .into_iter()
        .map(u64::from)
        .sum();
    let field = Field::new("weights");
    if sum == 0 {
        vec![ValidationError::new(
            field,
            "every weight is 0, so every expert would score 0; give at least one part a weight",
        )]
    } else if sum > MAX_WEIGHT_SUM {
        vec![ValidationError::new(
            field,
            format!(
                "add up to {sum}; at most {MAX_WEIGHT_SUM} keeps every total exact \
                 (each part earns up to 1000 points per unit of weight)"
            ),
        )]
    } else {
        Vec::new()
    }
}

/// Problems with a load cap: a cap of 0 missions, which would remove every
/// expert, or a period of 0 days.
pub(crate) fn check_load_cap(cap: &LoadCap) -> Vec<ValidationError> {
    let field = Field::new("load_cap");
    let mut errors = Vec::new();
    if cap.max == 0 {
        errors.push(ValidationError::new(
            field.key("max"),
            "is 0, which would remove every expert; allow at least 1 mission in the period",
        ));
    }
    if cap.period_days == 0 {
        errors.push(ValidationError::new(
            field.key("period_days"),
            "is 0; the rolling period is at least 1 day",
        ));
    }
    errors
}

/// Problems with the requests of a batch, named `batch[i].…`: an empty key,
/// a key used twice (placements and unfilled slots are reported by key), or
/// a window that ends before it starts.
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

/// The options of a coverage report as a script gives them, before checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CoverageRequest {
    /// The day the report is for.
    pub(crate) today: NaiveDate,
    /// Fewer included experts than this under a thematic node is a gap.
    pub(crate) node_threshold: i64,
    /// The level at which a language counts, as a script writes it.
    pub(crate) working_level: String,
    /// Languages of member states, by state code.
    pub(crate) member_languages: BTreeMap<String, Vec<String>>,
    /// Terms ending within this many days are listed.
    pub(crate) ending_within_days: i64,
}

/// Checked coverage options: counts in range, a known working level,
/// member-state codes of `membership`, and language tags made canonical
/// (each once per state).
pub(crate) fn coverage_options(
    request: CoverageRequest,
    membership: &Membership,
) -> Result<CoverageOptions, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let node_threshold = usize::try_from(request.node_threshold).unwrap_or_else(|_| {
        errors.push(ValidationError::new(
            Field::new("node_threshold"),
            format!(
                "is {}; a number of experts is 0 or more",
                request.node_threshold
            ),
        ));
        0
    });
    let ending_within_days = match u32::try_from(request.ending_within_days) {
        Ok(days) if i64::from(days) <= MAX_ENDING_WITHIN_DAYS => days,
        _ => {
            errors.push(ValidationError::new(
                Field::new("ending_within_days"),
                format!(
                    "is {}; give a number of days from 0 to {MAX_ENDING_WITHIN_DAYS}",
                    request.ending_within_days
                ),
            ));
            0
        }
    };
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
    let mut member_languages = BTreeMap::new();
    for (code, tags) in request.member_languages {
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
        let mut canonical: Vec<String> = Vec::with_capacity(tags.len());
        for (i, tag) in tags.iter().enumerate() {
            match canonical_tag(tag) {
                Ok(tag) if !canonical.contains(&tag) => canonical.push(tag),
                Ok(_) => {}
                Err(message) => errors.push(ValidationError::new(field.index(i), message)),
            }
        }
        member_languages.insert(code, canonical);
    }
    if errors.is_empty() {
        Ok(CoverageOptions {
            today: request.today,
            node_threshold,
            working_level,
            member_languages,
            ending_within_days,
        })
    } else {
        Err(errors)
    }
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
            today: day("2025-03-01"),
            node_threshold: 2,
            working_level: "working".into(),
            member_languages: BTreeMap::from([
                ("KHM".into(), vec!["KM".into(), "km".into()]),
                ("IDN".into(), vec!["in".into()]),
            ]),
            ending_within_days: 60,
        }
    }

    #[test]
    fn the_default_weights_pass_and_extremes_are_named() {
        assert_eq!(check_weights(&Weights::default()), Vec::new());
        let zero = Weights {
            thematic: 0,
            years: 0,
            competencies: 0,
            languages: 0,
            region: 0,
            rotation: 0,
        };
        let errors = check_weights(&zero);
        assert_eq!(fields(&errors), ["weights"]);
        assert!(errors[0].message.starts_with("every weight is 0"));
        // At the bound every total is exact; one more could saturate.
        let at_bound = Weights {
            thematic: 4_294_967,
            ..zero
        };
        assert_eq!(check_weights(&at_bound), Vec::new());
        let over = Weights {
            rotation: 1,
            ..at_bound
        };
        assert_eq!(
            check_weights(&over)[0].message,
            "add up to 4294968; at most 4294967 keeps every total exact \
             (each part earns up to 1000 points per unit of weight)"
        );
        let max = Weights {
            thematic: u32::MAX,
            years: u32::MAX,
            competencies: u32::MAX,
            languages: u32::MAX,
            region: u32::MAX,
            rotation: u32::MAX,
        };
        assert!(
            check_weights(&max)[0]
                .message
                .starts_with("add up to 25769803770;")
        );
    }

    #[test]
    fn a_load_cap_needs_a_mission_and_a_day() {
        let fine = LoadCap {
            max: 2,
            period_days: 365,
        };
        assert_eq!(check_load_cap(&fine), Vec::new());
        let empty = LoadCap {
            max: 0,
            period_days: 0,
        };
        assert_eq!(
            fields(&check_load_cap(&empty)),
            ["load_cap.max", "load_cap.period_days"]
        );
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
            node_threshold: -1,
            working_level: "expert".into(),
            member_languages: BTreeMap::from([
                ("XXX".into(), vec!["en".into()]),
                ("THA".into(), vec!["th".into(), "english!".into()]),
                // An organisation, not a state.
                ("IOM".into(), Vec::new()),
            ]),
            ending_within_days: MAX_ENDING_WITHIN_DAYS + 1,
            ..coverage_request()
        };
        let errors = coverage_options(bad, &Membership::bundled()).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "node_threshold",
                "ending_within_days",
                "working_level",
                "member_languages.IOM",
                "member_languages.THA[1]",
                "member_languages.XXX",
            ]
        );
        assert_eq!(
            errors[1].message,
            "is 3661; give a number of days from 0 to 3660"
        );
        assert_eq!(
            errors[5].message,
            "`XXX` is not a Bali Process member state"
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
