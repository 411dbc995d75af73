//! The `Roster` class: the roster facade for Python scripts.
//!
//! Every method converts its arguments while attached to the interpreter,
//! then detaches (releasing the GIL) for the whole storage and domain work,
//! and attaches again only to build the result. Other Python threads run
//! meanwhile, and a store that waits on a lock or the network never holds
//! the interpreter.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use roster_core::error::{RosterError, StoreError};
use roster_core::matching::Shortlist;
use roster_core::{Actor, DEFAULT_ZONE, Invited, MemoryStore, Store};
use tokio::runtime::Runtime;

use super::convert::{
    ExpertIdArgument, RequestIdArgument, RequesterArgument, WholeArgument, from_python,
    from_python_under, read_record, text_argument, to_python, whole_argument,
};
use super::errors::{database_error, internal_error, roster_error, validation_error};
use super::matching::{CoverageArguments, MatchSettings, invalid};
use crate::checks::{WholeNumber, split_request_key};
use crate::clock::{DayClock, parse_day};

/// The party the bindings act as unless told otherwise: an officer of the
/// Regional Support Office, the only party that may run every step.
const DEFAULT_OFFICER: &str = "python";

/// A roster of experts, in memory or in a SQLite file.
#[pyclass(module = "roster._roster", name = "Roster", frozen)]
pub(crate) struct PyRoster {
    shared: Arc<Shared>,
    actor: Actor,
}

/// What every view of one roster shares, whoever it acts as.
struct Shared {
    // Declared before the runtime so that the store is dropped first, while
    // the runtime that drives its connections still exists.
    roster: roster_core::Roster,
    /// The roster's store, read directly only to find an issued request by
    /// its key (the facade ranks it, with its access check).
    store: Arc<dyn Store>,
    clock: Arc<DayClock>,
    /// `memory` or `sqlite`, for `repr()`.
    kind: &'static str,
    runtime: Runtime,
}

#[pymethods]
impl PyRoster {
    /// A roster kept in memory, empty. `today` (YYYY-MM-DD) fixes the day;
    /// `weights` and `load_cap` set the match policy.
    #[staticmethod]
    #[pyo3(signature = (today = None, *, actor = None, weights = None, load_cap = None))]
    fn in_memory(
        py: Python<'_>,
        today: Option<&str>,
        actor: Option<&Bound<'_, PyAny>>,
        weights: Option<&Bound<'_, PyAny>>,
        load_cap: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyRoster> {
        let (actor, clock, settings) = prepare(py, today, actor, weights, load_cap)?;
        let runtime = runtime()?;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        PyRoster::new(py, store, "memory", clock, runtime, actor, settings)
    }

    /// A roster in a SQLite file, created with its tables when missing.
    ///
    /// Do not open the same file with Python's `sqlite3` module in this
    /// process meanwhile: two copies of SQLite in one process do not see
    /// each other's locks.
    #[staticmethod]
    #[pyo3(signature = (path, today = None, *, actor = None, weights = None, load_cap = None))]
    fn open_sqlite(
        py: Python<'_>,
        path: PathBuf,
        today: Option<&str>,
        actor: Option<&Bound<'_, PyAny>>,
        weights: Option<&Bound<'_, PyAny>>,
        load_cap: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyRoster> {
        // Every argument is checked before the file is touched.
        let (actor, clock, settings) = prepare(py, today, actor, weights, load_cap)?;
        // SQLite says only "unable to open database file" when the folder
        // is missing, and a DatabaseError shows no backend's words.
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
            && !folder.is_dir()
        {
            return Err(database_error(
                py,
                format!(
                    "cannot open {}: the folder {} does not exist; create it first",
                    path.display(),
                    folder.display()
                ),
            ));
        }
        let runtime = runtime()?;
        let store = detached(py, &runtime, async move {
            let store = roster_sqlx::sqlite::SqliteStore::open(&path).await?;
            Ok(Arc::new(store) as Arc<dyn Store>)
        })?;
        PyRoster::new(py, store, "sqlite", clock, runtime, actor, settings)
    }

    /// The same roster acting as another party, such as
    /// `{"kind": "participant", "id": "THA"}`.
    fn as_actor(&self, actor: &Bound<'_, PyAny>) -> PyResult<PyRoster> {
        Ok(PyRoster {
            shared: Arc::clone(&self.shared),
            actor: from_python(actor, "actor")?,
        })
    }

    /// The party this roster acts as.
    #[getter]
    fn actor<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.actor)
    }

    /// The match policy: the score weights and the load cap, if any.
    #[getter]
    fn match_policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let policy = self.roster().match_policy();
        let out = PyDict::new(py);
        out.set_item("weights", to_python(py, &policy.weights)?)?;
        out.set_item("load_cap", to_python(py, &policy.load_cap)?)?;
        Ok(out)
    }

    /// Today in the roster's time zone (Asia/Bangkok), as YYYY-MM-DD.
    #[getter]
    fn today(&self) -> String {
        self.shared.roster.today().to_string()
    }

    /// Fixes today (YYYY-MM-DD) for every view of this roster.
    fn set_today(&self, py: Python<'_>, today: &str) -> PyResult<()> {
        let day = parse_day(today, "today").map_err(|e| validation_error(py, &e))?;
        self.shared.clock.set_day(day, DEFAULT_ZONE);
        Ok(())
    }

    /// Opens the call for nominations of a year; the same window again
    /// returns the stored call.
    fn open_call<'py>(
        &self,
        py: Python<'py>,
        call: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = from_python(call, "call")?;
        let saved = self.run(py, self.roster().open_call(&self.actor, call))?;
        to_python(py, &saved)
    }

    /// Records a nomination; returns the outcome and the expert's id.
    fn nominate<'py>(
        &self,
        py: Python<'py>,
        nomination: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let nomination = from_python(nomination, "nomination")?;
        let outcome = self.run(py, self.roster().nominate(&self.actor, nomination))?;
        to_python(py, &outcome)
    }

    /// Checks a nominated expert against the selection criteria.
    fn screen<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let report = self.run(py, self.roster().screen(&self.actor, expert_id.0))?;
        to_python(py, &report)
    }

    /// Invites a nominated, eligible expert to register. The returned expert
    /// carries `invitation`: the token for the link (shown once; the store
    /// keeps only its hash) and when it expires.
    fn invite<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let invited = self.run(py, self.roster().invite(&self.actor, expert_id.0))?;
        with_invitation(py, &invited)
    }

    /// Sends an invited expert a new invitation; any older token that is
    /// still pending stops working. Returns what `invite` returns.
    fn reinvite<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let invited = self.run(py, self.roster().reinvite(&self.actor, expert_id.0))?;
        with_invitation(py, &invited)
    }

    /// Records that an invited expert declined the invitation.
    fn decline<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().decline(&self.actor, expert_id.0, reason))?;
        to_python(py, &expert)
    }

    /// Redeems an invitation token for the address it was sent to; returns
    /// the expert's id. Unknown, used, expired and misaddressed tokens all
    /// raise the same `InvitationError`.
    fn redeem_invitation(&self, py: Python<'_>, token: &str, email: &str) -> PyResult<i64> {
        let id = self.run(py, self.roster().redeem_invitation(token, email))?;
        Ok(id.0)
    }

    /// Checks an expert's CV by its content and stores it; returns the
    /// stored document, whose `id` a registration names as `cv_document`.
    fn upload_cv<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        file_name: &str,
        content: Vec<u8>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stored = self.run(
            py,
            self.roster().upload_cv(
                &self.actor,
                expert_id.0,
                file_name,
                std::io::Cursor::new(content),
            ),
        )?;
        to_python(py, &stored)
    }

    /// Renews an included or expired expert for the year after its term.
    fn renew<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().renew(&self.actor, expert_id.0))?;
        to_python(py, &expert)
    }

    /// Withdraws a nominated, invited or registered expert.
    fn withdraw<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().withdraw(&self.actor, expert_id.0, reason))?;
        to_python(py, &expert)
    }

    /// Replaces an expert's profile, made against the version that was read.
    fn update_profile<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        expected_version: &Bound<'py, PyAny>,
        profile: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expected_version: u64 = whole_argument(expected_version, "expected_version")?;
        let profile = from_python(profile, "profile")?;
        let expert = self.run(
            py,
            self.roster()
                .update_profile(&self.actor, expert_id.0, expected_version, profile),
        )?;
        to_python(py, &expert)
    }

    /// Ranks the roster for a request without recording anything.
    fn preview<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = from_python(request, "request")?;
        let shortlist = self.run(py, self.roster().preview(&self.actor, request))?;
        to_python(py, &shortlist)
    }

    /// Why an expert is not proposed for a request, or where it ranks: for
    /// an issued request named by its key (`THA/THA-2025-07`), ranked now;
    /// or for a shortlist that `match_request` or `preview` returned.
    fn why_not(
        &self,
        py: Python<'_>,
        request_id_or_shortlist: &Bound<'_, PyAny>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<String> {
        let expert = expert_id.0;
        if request_id_or_shortlist.cast::<PyString>().is_err() {
            let shortlist: Shortlist = from_python_under(request_id_or_shortlist, "shortlist")?;
            return Ok(shortlist.why_not(expert));
        }
        let key = text_argument(request_id_or_shortlist, "request_id")?;
        let (requester, _) = split_request_key(&key).map_err(|e| validation_error(py, &e))?;
        // The facade checks access when it ranks; checking first as well
        // keeps a member from learning which of another's request ids exist.
        match &self.actor {
            Actor::Rso(_) => {}
            Actor::Participant(code) if code == requester => {}
            other => {
                return Err(roster_error(
                    py,
                    &RosterError::Forbidden {
                        actor: other.to_string(),
                        action: "request experts for another member",
                    },
                ));
            }
        }
        let store = Arc::clone(&self.shared.store);
        let shortlist = self.run(py, async move {
            let request = store
                .request(&key)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    entity: "request",
                    id: key.clone(),
                })?;
            self.roster().preview(&self.actor, request).await
        })?;
        Ok(shortlist.why_not(expert))
    }

    /// The coverage of the included experts: counts per thematic node,
    /// competency, language and nominator, and the gaps. The RSO reads it
    /// whole; an analyst without the terms ending (only their count).
    // Terms ending are listed 30 days ahead unless told, the period before a
    // term's last day in which its reminder is queued. The counts are read
    // whole, of any size, so that one out of range is reported with the
    // other options; Python's signature is written out because pyo3 shows
    // only literal defaults.
    #[pyo3(
        signature = (
            *,
            node_threshold = WholeArgument(WholeNumber::new(1)),
            member_languages = None,
            ending_within_days = WholeArgument(WholeNumber::new(30)),
            working_level = "B2",
            today = None,
        ),
        text_signature = "($self, *, node_threshold=1, member_languages=None, \
                          ending_within_days=30, working_level=\"B2\", today=None)"
    )]
    fn coverage<'py>(
        &self,
        py: Python<'py>,
        node_threshold: WholeArgument,
        member_languages: Option<&Bound<'py, PyAny>>,
        ending_within_days: WholeArgument,
        working_level: &str,
        today: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = CoverageArguments {
            node_threshold: node_threshold.0,
            member_languages,
            ending_within_days: ending_within_days.0,
            working_level,
            today,
            roster_today: self.roster().today(),
        }
        .read(py, self.roster().membership())?;
        let roster = self.roster();
        let report = self.run(
            py,
            async move { roster.coverage(&self.actor, &options).await },
        )?;
        to_python(py, &report)
    }

    /// Expires lapsed terms and queues reminders of terms ending soon.
    fn sweep<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = self.run(py, self.roster().sweep())?;
        to_python(py, &report)
    }

    /// Checks the audit trail's hash chain and reports the first break.
    fn verify_audit_trail<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = self.run(py, self.roster().verify_audit_trail(&self.actor))?;
        to_python(py, &report)
    }

    /// Completes an invited expert's registration.
    fn register<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        registration: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let registration = from_python(registration, "registration")?;
        let expert = self.run(
            py,
            self.roster()
                .register(&self.actor, expert_id.0, registration),
        )?;
        to_python(py, &expert)
    }

    /// Includes a registered expert for one year from today, or renews one.
    fn include<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().include(&self.actor, expert_id.0))?;
        to_python(py, &expert)
    }

    /// Revokes an inclusion, keeping the reason in the audit trail.
    fn revoke<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().revoke(&self.actor, expert_id.0, reason))?;
        to_python(py, &expert)
    }

    /// One expert.
    fn expert<'py>(
        &self,
        py: Python<'py>,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expert = self.run(py, self.roster().expert(&self.actor, expert_id.0))?;
        to_python(py, &expert)
    }

    /// Every expert, ordered by id.
    fn experts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let experts = self.run(py, self.roster().experts(&self.actor))?;
        to_python(py, &experts)
    }

    /// The included experts, ordered by id, as the acting party may see
    /// them.
    fn included_experts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let experts = self.run(py, self.roster().included_experts(&self.actor))?;
        to_python(py, &experts)
    }

    /// The audit trail, oldest first: of one expert, or of all.
    #[pyo3(signature = (expert_id = None))]
    fn audit_trail<'py>(
        &self,
        py: Python<'py>,
        expert_id: Option<ExpertIdArgument>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let trail = self.run(
            py,
            self.roster()
                .audit_trail(&self.actor, expert_id.map(|id| id.0)),
        )?;
        to_python(py, &trail)
    }

    /// Ranks the roster's experts for a mission request.
    fn match_request<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = from_python(request, "request")?;
        let shortlist = self.run(py, self.roster().match_request(&self.actor, request))?;
        to_python(py, &shortlist)
    }

    /// Proposes an expert for an issued request.
    fn propose<'py>(
        &self,
        py: Python<'py>,
        requester: RequesterArgument,
        request_id: RequestIdArgument,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engagement = self.run(
            py,
            self.roster()
                .propose(&self.actor, &requester.0, &request_id.0, expert_id.0),
        )?;
        to_python(py, &engagement)
    }

    /// Confirms a proposed engagement.
    fn accept<'py>(
        &self,
        py: Python<'py>,
        requester: RequesterArgument,
        request_id: RequestIdArgument,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engagement = self.run(
            py,
            self.roster()
                .accept(&self.actor, &requester.0, &request_id.0, expert_id.0),
        )?;
        to_python(py, &engagement)
    }

    /// Records an accepted mission as carried out, with its feedback when
    /// given.
    #[pyo3(signature = (requester, request_id, expert_id, feedback = None))]
    fn complete<'py>(
        &self,
        py: Python<'py>,
        requester: RequesterArgument,
        request_id: RequestIdArgument,
        expert_id: ExpertIdArgument,
        feedback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let feedback = match feedback {
            Some(feedback) if !feedback.is_none() => Some(from_python_under(feedback, "feedback")?),
            _ => None,
        };
        let engagement = self.run(
            py,
            self.roster().complete(
                &self.actor,
                &requester.0,
                &request_id.0,
                expert_id.0,
                feedback,
            ),
        )?;
        to_python(py, &engagement)
    }

    /// Records the feedback of a completed mission that has none yet.
    fn record_feedback<'py>(
        &self,
        py: Python<'py>,
        requester: RequesterArgument,
        request_id: RequestIdArgument,
        expert_id: ExpertIdArgument,
        feedback: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let feedback = from_python_under(feedback, "feedback")?;
        let engagement = self.run(
            py,
            self.roster().record_feedback(
                &self.actor,
                &requester.0,
                &request_id.0,
                expert_id.0,
                feedback,
            ),
        )?;
        to_python(py, &engagement)
    }

    /// Declines a proposed or accepted engagement, freeing the expert's
    /// days.
    fn decline_engagement<'py>(
        &self,
        py: Python<'py>,
        requester: RequesterArgument,
        request_id: RequestIdArgument,
        expert_id: ExpertIdArgument,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engagement = self.run(
            py,
            self.roster()
                .decline_engagement(&self.actor, &requester.0, &request_id.0, expert_id.0),
        )?;
        to_python(py, &engagement)
    }

    fn __repr__(&self) -> String {
        let today = if self.shared.clock.is_fixed() {
            format!("'{}'", self.shared.roster.today())
        } else {
            "None".to_owned()
        };
        format!(
            "Roster(store='{}', today={today}, actor='{}')",
            self.shared.kind, self.actor
        )
    }
}

impl PyRoster {
    fn new(
        py: Python<'_>,
        store: Arc<dyn Store>,
        kind: &'static str,
        clock: Arc<DayClock>,
        runtime: Runtime,
        actor: Actor,
        settings: MatchSettings,
    ) -> PyResult<PyRoster> {
        let roster = settings
            .apply(roster_core::Roster::new(Arc::clone(&store)).with_clock(clock.clone()))
            .map_err(|e| roster_error(py, &e))?;
        Ok(PyRoster {
            shared: Arc::new(Shared {
                roster,
                store,
                clock,
                kind,
                runtime,
            }),
            actor,
        })
    }

    fn roster(&self) -> &roster_core::Roster {
        &self.shared.roster
    }

    /// Runs one facade call with the interpreter released.
    fn run<T, F>(&self, py: Python<'_>, work: F) -> PyResult<T>
    where
        T: Send,
        F: Future<Output = Result<T, RosterError>> + Send,
    {
        detached(py, &self.shared.runtime, work)
    }
}

/// Blocks on `work` with the thread detached from the interpreter (the GIL
/// released), and turns its error, or a panic, into a Python exception once
/// attached again.
fn detached<T, F>(py: Python<'_>, runtime: &Runtime, work: F) -> PyResult<T>
where
    T: Send,
    F: Future<Output = Result<T, RosterError>> + Send,
{
    let outcome = py.detach(|| panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(work))));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(roster_error(py, &err)),
        Err(payload) => Err(internal_error(py, payload.as_ref())),
    }
}

/// An invited expert as `invite` returns it, with `invitation`: the token
/// for the link and when it expires.
fn with_invitation<'py>(py: Python<'py>, invited: &Invited) -> PyResult<Bound<'py, PyAny>> {
    let out = to_python(py, invited)?;
    let invitation = PyDict::new(py);
    invitation.set_item("token", invited.token.expose())?;
    invitation.set_item("expires_at", invited.expires_at.to_rfc3339())?;
    out.set_item("invitation", invitation)?;
    Ok(out)
}

/// Reads the arguments every constructor shares; a `ValidationError` lists
/// the problems of all of them, not just of the first at fault.
fn prepare(
    py: Python<'_>,
    today: Option<&str>,
    actor: Option<&Bound<'_, PyAny>>,
    weights: Option<&Bound<'_, PyAny>>,
    load_cap: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Actor, Arc<DayClock>, MatchSettings)> {
    let mut errors = Vec::new();
    let day = today.and_then(|today| {
        parse_day(today, "today")
            .map_err(|err| errors.push(err))
            .ok()
    });
    let actor = match actor {
        Some(actor) if !actor.is_none() => read_record(actor, "actor")
            .map_err(|err| errors.push(err))
            .ok(),
        _ => Some(Actor::Rso(DEFAULT_OFFICER.to_owned())),
    };
    let settings = MatchSettings::read(weights, load_cap, &mut errors);
    match (actor, settings) {
        (Some(actor), Some(settings)) if errors.is_empty() => {
            let clock = Arc::new(DayClock::default());
            if let Some(day) = day {
                clock.set_day(day, DEFAULT_ZONE);
            }
            Ok((actor, clock, settings))
        }
        _ => Err(invalid(py, errors)),
    }
}

/// A runtime of its own for each roster: one worker thread is plenty, since
/// every call blocks its caller until done.
fn runtime() -> PyResult<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("roster-py")
        .enable_all()
        .build()?)
}
