//! Matching beyond ranking one request: the match policy a roster opens
//! with, batch assignment over several requests, and the options of the
//! coverage report.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use roster_core::error::{Field, RosterError, ValidationError};
use roster_core::matching::assignment::{self, Assignment, BatchRequest};
use roster_core::matching::coverage::CoverageOptions;
use roster_core::matching::{LoadCap, Weights};
use roster_core::membership::Membership;
use roster_core::model::DateRange;
use roster_core::{ExpertId, Roster};
use serde::Deserialize;

use super::convert::{from_python_under, to_python};
use super::errors::{internal_error, roster_error};
use crate::checks::{self, CoverageRequest};

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
    /// meaning the default, and checks them together.
    pub(crate) fn read(
        py: Python<'_>,
        weights: Option<&Bound<'_, PyAny>>,
        load_cap: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<MatchSettings> {
        let weights = given(weights)
            .map(|w| from_python_under::<WeightsInput>(w, "weights"))
            .transpose()?
            .map(Weights::from);
        let load_cap = given(load_cap)
            .map(|c| from_python_under::<LoadCapInput>(c, "load_cap"))
            .transpose()?
            .map(LoadCap::from);
        let mut errors = weights
            .map(|w| checks::check_weights(&w))
            .unwrap_or_default();
        errors.extend(
            load_cap
                .map(|c| checks::check_load_cap(&c))
                .unwrap_or_default(),
        );
        if errors.is_empty() {
            Ok(MatchSettings { weights, load_cap })
        } else {
            Err(invalid(py, errors))
        }
    }

    /// `roster` with this policy.
    pub(crate) fn apply(self, mut roster: Roster) -> Roster {
        if let Some(weights) = self.weights {
            roster = roster.with_weights(weights);
        }
        if let Some(cap) = self.load_cap {
            roster = roster.with_load_cap(cap);
        }
        roster
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
/// their days do not overlap (a greedy pass and local improvement).
#[pyfunction]
pub(crate) fn assign_non_overlapping<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    solve(py, batch, assignment::assign_non_overlapping)
}

/// The options of a coverage report, as `Roster.coverage` takes them.
pub(crate) struct CoverageArguments<'a, 'py> {
    /// The day of the report.
    pub(crate) today: chrono::NaiveDate,
    /// Fewer experts under a thematic node is a gap.
    pub(crate) node_threshold: i64,
    /// Languages of member states, by state code; `None` for none.
    pub(crate) member_languages: Option<&'a Bound<'py, PyAny>>,
    /// How far ahead terms ending are listed.
    pub(crate) ending_within_days: i64,
    /// The level at which a language counts.
    pub(crate) working_level: &'a str,
}

impl CoverageArguments<'_, '_> {
    /// Checked options, or every problem found.
    pub(crate) fn read(self, py: Python<'_>, membership: &Membership) -> PyResult<CoverageOptions> {
        let member_languages: BTreeMap<String, Vec<String>> = match given(self.member_languages) {
            Some(languages) => {
                refuse_text_for_lists(py, languages)?;
                from_python_under(languages, "member_languages")?
            }
            None => BTreeMap::new(),
        };
        let request = CoverageRequest {
            today: self.today,
            node_threshold: self.node_threshold,
            working_level: self.working_level.to_owned(),
            member_languages,
            ending_within_days: self.ending_within_days,
        };
        checks::coverage_options(request, membership).map_err(|errors| invalid(py, errors))
    }
}

/// Score weights as a script writes them: all six, and nothing else, so a
/// misspelt part is an error rather than a silent default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsInput {
    thematic: u32,
    years: u32,
    competencies: u32,
    languages: u32,
    region: u32,
    rotation: u32,
}

impl From<WeightsInput> for Weights {
    fn from(w: WeightsInput) -> Weights {
        Weights {
            thematic: w.thematic,
            years: w.years,
            competencies: w.competencies,
            languages: w.languages,
            region: w.region,
            rotation: w.rotation,
        }
    }
}

/// A load cap as a script writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadCapInput {
    max: u32,
    period_days: u32,
}

impl From<LoadCapInput> for LoadCap {
    fn from(c: LoadCapInput) -> LoadCap {
        LoadCap {
            max: c.max,
            period_days: c.period_days,
        }
    }
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

/// Refuses `{"THA": "th"}`: a string is a sequence too, of characters, and
/// would be read as the tags `t` and `h`.
fn refuse_text_for_lists(py: Python<'_>, languages: &Bound<'_, PyAny>) -> PyResult<()> {
    let Ok(languages) = languages.cast::<PyDict>() else {
        return Ok(());
    };
    let mut errors = Vec::new();
    for (code, tags) in languages.iter() {
        if tags.is_instance_of::<PyString>() {
            let code = code.str()?.to_string();
            errors.push(ValidationError::new(
                Field::new("member_languages").key(&code),
                "is a string; give a list of language tags, as [\"th\"]",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(py, errors))
    }
}

/// An argument that is present and not `None`.
fn given<'a, 'py>(value: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

/// The `ValidationError` listing every problem found.
fn invalid(py: Python<'_>, errors: Vec<ValidationError>) -> PyErr {
    roster_error(py, &RosterError::from(errors))
}
