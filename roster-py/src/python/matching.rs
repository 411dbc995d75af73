//! Matching beyond ranking one request: the match policy a roster opens
//! with, batch assignment over several requests, and the options of the
//! coverage report.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyMappingMethods, PyString};
use roster_core::error::{Field, RosterError, ValidationError};
use roster_core::matching::assignment::{self, Assignment, BatchRequest};
use roster_core::matching::coverage::CoverageOptions;
use roster_core::matching::{LoadCap, MatchPolicy, Weights};
use roster_core::membership::Membership;
use roster_core::model::DateRange;
use roster_core::{ExpertId, Roster};
use serde::Deserialize;

use super::convert::{from_python_under, read_under, to_python};
use super::errors::{internal_error, roster_error};
use crate::checks::{self, CoverageRequest, MemberLanguages, WholeNumber};
use crate::clock::parse_day;

/// The match policy a roster opens with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatchSettings {
    /// Weights of the score parts; the roster's defaults unless given.
    weights: Option<Weights>,
    /// The load cap, when there is one.
    load_cap: Option<LoadCap>,
}

impl MatchSettings {
    /// Reads `weights=` and `load_cap=` as a script gives them, `None`
    /// meaning the default, and checks them together: every problem of
    /// either is added to `errors` (each key of each, not just the first),
    /// and the settings are returned only when there was none.
    pub(crate) fn read(
        weights: Option<&Bound<'_, PyAny>>,
        load_cap: Option<&Bound<'_, PyAny>>,
        errors: &mut Vec<ValidationError>,
    ) -> Option<MatchSettings> {
        let before = errors.len();
        let weights = given(weights)
            .and_then(|w| read_counts(w, "weights", WEIGHT_NAMES, errors))
            .map(
                |[thematic, years, competencies, languages, region, rotation]| Weights {
                    thematic,
                    years,
                    competencies,
                    languages,
                    region,
                    rotation,
                },
            );
        if let Some(w) = &weights {
            let policy = MatchPolicy {
                weights: *w,
                ..MatchPolicy::default()
            };
            errors.extend(policy.check());
        }
        let load_cap = given(load_cap)
            .and_then(|c| read_counts(c, "load_cap", ["max", "period_days"], errors))
            .map(|[max, period_days]| LoadCap { max, period_days });
        if let Some(c) = &load_cap {
            errors.extend(c.check());
        }
        (errors.len() == before).then_some(MatchSettings { weights, load_cap })
    }

    /// `roster` with this policy; the roster checks it again.
    pub(crate) fn apply(self, mut roster: Roster) -> Result<Roster, RosterError> {
        if let Some(weights) = self.weights {
            roster = roster.with_weights(weights)?;
        }
        if let Some(cap) = self.load_cap {
            roster = roster.with_load_cap(cap)?;
        }
        Ok(roster)
    }
}

/// Places experts on the requests of `batch`, each expert on at most one
/// of them, with the best total score (exact).
#[pyfunction]
pub(crate) fn assign<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    solve(py, batch, assignment::assign)
}

/// Places experts on the requests of `batch`, an expert on several when
/// their days do not overlap (local search, never below [`assign`]).
#[pyfunction]
pub(crate) fn assign_non_overlapping<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    solve(py, batch, assignment::assign_non_overlapping)
}

/// The options of a coverage report, as `Roster.coverage` takes them.
pub(crate) struct CoverageArguments<'a, 'py> {
    /// Fewer experts under a thematic node is a gap.
    pub(crate) node_threshold: WholeNumber,
    /// Languages of member states, by state code; `None` for none.
    pub(crate) member_languages: Option<&'a Bound<'py, PyAny>>,
    /// How far ahead terms ending are listed.
    pub(crate) ending_within_days: WholeNumber,
    /// The level at which a language counts.
    pub(crate) working_level: &'a str,
    /// The day of the report, as given; `None` for `roster_today`.
    pub(crate) today: Option<&'a str>,
    /// The roster's today.
    pub(crate) roster_today: NaiveDate,
}

impl CoverageArguments<'_, '_> {
    /// Checked options, or one `ValidationError` listing every problem
    /// with every option.
    pub(crate) fn read(self, py: Python<'_>, membership: &Membership) -> PyResult<CoverageOptions> {
        let member_languages = match given(self.member_languages) {
            Some(languages) => read_member_languages(languages),
            None => Ok(BTreeMap::new()),
        };
        let today = match self.today {
            Some(day) => parse_day(day, "today"),
            None => Ok(self.roster_today),
        };
        let request = CoverageRequest {
            node_threshold: self.node_threshold,
            member_languages,
            ending_within_days: self.ending_within_days,
            working_level: self.working_level.to_owned(),
            today,
        };
        checks::coverage_options(request, membership).map_err(|errors| invalid(py, errors))
    }
}

/// Reads `member_languages`, a dict of state codes to lists of tags, going
/// on past a state whose tags cannot be read so that each is reported.
fn read_member_languages(languages: &Bound<'_, PyAny>) -> Result<MemberLanguages, ValidationError> {
    let Ok(dict) = languages.cast::<PyDict>() else {
        // Another mapping, or no mapping at all: the usual reader takes it
        // whole, or says what it is instead.
        let whole: BTreeMap<String, Vec<String>> = read_under(languages, "member_languages")?;
        return Ok(whole
            .into_iter()
            .map(|(code, tags)| (code, Ok(tags)))
            .collect());
    };
    let mut out = BTreeMap::new();
    for (code, tags) in dict.iter() {
        let Ok(code) = code.cast::<PyString>().map(ToString::to_string) else {
            return Err(ValidationError::new(
                Field::new("member_languages"),
                "has a key that is not a string; its keys are member states' codes, as \"THA\"",
            ));
        };
        let field = Field::new("member_languages").key(&code);
        // A string is a sequence too, of characters: `{"THA": "th"}` would
        // be read as the tags `t` and `h`.
        let tags = if tags.is_instance_of::<PyString>() {
            Err(ValidationError::new(
                field,
                "is a string; give a list of language tags, as [\"th\"]",
            ))
        } else {
            read_under(&tags, field.as_str())
        };
        out.insert(code, tags);
    }
    Ok(out)
}

/// The six score weights, in the order of [`Weights`]'s fields.
const WEIGHT_NAMES: [&str; 6] = [
    "thematic",
    "years",
    "competencies",
    "languages",
    "region",
    "rotation",
];

/// Reads `value`, the argument `argument`, as a dict whose keys are exactly
/// `names`, each a `u32`: a misspelt key is an error rather than a silent
/// default. Unlike a derived reader, it goes on past the first problem:
/// each bad value and unknown key is added to `errors` in the dict's
/// order, then one problem naming every missing key, and the values are
/// returned only when there was none.
fn read_counts<const N: usize>(
    value: &Bound<'_, PyAny>,
    argument: &str,
    names: [&str; N],
    errors: &mut Vec<ValidationError>,
) -> Option<[u32; N]> {
    let items = match value.cast::<PyMapping>().map(PyMappingMethods::items) {
        Ok(Ok(items)) => items,
        _ => {
            // Not a dict: the usual reader says what it is instead.
            let err = read_under::<BTreeMap<String, u32>>(value, argument)
                .err()
                .unwrap_or_else(|| ValidationError::new(Field::new(argument), "is not a dict"));
            errors.push(err);
            return None;
        }
    };
    let before = errors.len();
    let mut given = [false; N];
    let mut found: [Option<u32>; N] = [None; N];
    for item in items.iter() {
        let Ok((key, item)) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>() else {
            continue;
        };
        let Ok(key) = key.cast::<PyString>().map(ToString::to_string) else {
            errors.push(ValidationError::new(
                Field::new(argument),
                format!(
                    "has a key that is not a string; its keys are {}",
                    quoted(&names)
                ),
            ));
            continue;
        };
        let field = Field::new(argument).key(&key);
        let Some(i) = names.iter().position(|n| *n == key) else {
            errors.push(ValidationError::new(
                field,
                format!("unknown field `{key}`, expected one of {}", quoted(&names)),
            ));
            continue;
        };
        given[i] = true;
        match read_under::<u32>(&item, field.as_str()) {
            Ok(n) => found[i] = Some(n),
            Err(err) => errors.push(err),
        }
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(given)
        .filter(|(_, given)| !given)
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "" } else { "s" };
        errors.push(ValidationError::new(
            Field::new(argument),
            format!("missing field{s} {}", quoted(&missing)),
        ));
    }
    if errors.len() > before {
        return None;
    }
    let mut out = [0; N];
    for (slot, value) in out.iter_mut().zip(found) {
        *slot = value?;
    }
    Some(out)
}

/// `names` as serde lists the fields it expects: `` `a`, `b` ``.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One request of a batch as a script writes it: candidates are
/// `{"expert": id, "score": points}` rather than pairs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchInput {
    key: String,
    window: DateRange,
    wanted: u16,
    candidates: Vec<CandidateInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateInput {
    expert: ExpertId,
    score: u32,
}

impl From<BatchInput> for BatchRequest {
    fn from(b: BatchInput) -> BatchRequest {
        BatchRequest {
            key: b.key,
            window: b.window,
            wanted: b.wanted,
            candidates: b
                .candidates
                .into_iter()
                .map(|c| (c.expert, c.score))
                .collect(),
        }
    }
}

/// Reads and checks `batch`, then runs `solver` with the interpreter
/// released: a large batch takes a while.
fn solve<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
    solver: fn(&[BatchRequest]) -> Assignment,
) -> PyResult<Bound<'py, PyAny>> {
    // A string is a sequence too, of characters; say what is wrong instead.
    if batch.is_instance_of::<PyString>() {
        let err = ValidationError::new(
            Field::new("batch"),
            "is a string; give a list of requests, each a dict",
        );
        return Err(invalid(py, vec![err]));
    }
    let batch: Vec<BatchInput> = from_python_under(batch, "batch")?;
    let batch: Vec<BatchRequest> = batch.into_iter().map(BatchRequest::from).collect();
    let errors = checks::check_batch(&batch);
    if !errors.is_empty() {
        return Err(invalid(py, errors));
    }
    let outcome = py.detach(|| panic::catch_unwind(AssertUnwindSafe(|| solver(&batch))));
    match outcome {
        Ok(assignment) => to_python(py, &assignment),
        Err(payload) => Err(internal_error(py, payload.as_ref())),
    }
}

/// An argument that is present and not `None`.
fn given<'a, 'py>(value: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

/// The `ValidationError` listing every problem found.
pub(crate) fn invalid(py: Python<'_>, errors: Vec<ValidationError>) -> PyErr {
    roster_error(py, &RosterError::from(errors))
}
