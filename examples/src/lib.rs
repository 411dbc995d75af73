//! Sample data and the quickstart path.
//!
//! The sample is one annual call for nominations as the Regional Support
//! Office runs it: members and observers nominate experts while the call is
//! open, the office screens every nominee against the information sheet's
//! minimum criteria, invites the eligible ones to register, includes those who
//! registered, and later answers member states' requests for experts.
//!
//! Everything runs on a [`FixedClock`] that the path moves through the
//! [`Timeline`] of the call, so the output never depends on the day it runs.
//! The path is idempotent: run again on the same store, it changes nothing
//! and [`render`] prints the same text, because every summary is read back
//! from the store rather than counted as it goes.
//!
//! ```
//! use std::sync::Arc;
//! use roster_core::MemoryStore;
//! use roster_examples::{SampleData, SampleRoster, Timeline};
//!
//! let data = SampleData::bundled();
//! let roster = SampleRoster::new(Arc::new(MemoryStore::new()), Timeline::after(&data.call));
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let report = roster_examples::run(&roster, &data).await?;
//! assert_eq!(report.call.nominations, 45);
//! print!("{}", roster_examples::render(&report));
//! # Ok::<(), roster_core::RosterError>(())
//! # }).unwrap();
//! ```
//!
//! # Sample data
//!
//! The files in `data/` are this crate's own: 45 nominations of 44 people by
//! 24 members and observers, the registrations of the invited experts, and
//! three requests (Thailand, Indonesia, Fiji). They are chosen to show what
//! the roster has to handle:
//!
//! - names as people write them: mononyms, Myanmar names without a family
//!   name, Thai, Khmer, Bengali and Tamil script with combining marks, Han
//!   and Hangul with a Latin form, Arabic-script names, an ʻokina;
//! - one person nominated by New Zealand and by Fiji, the second time with
//!   the address in other letter case, kept as one expert;
//! - nominees who miss a criterion: too little experience, one referee, a
//!   referee who is the expert, English at B1, no authorisation for
//!   missions;
//! - officials of the requesting states, removed as conflicts of interest,
//!   and experts those states nominated, flagged for the requester;
//! - an expert who declares at registration the days he cannot travel, and
//!   one who never registers.
//!
//! `registrations.json` names each registering expert by the e-mail address
//! they were nominated with; see [`SampleRegistration`].
//!
//! Every person, address and number in the sample data is invented.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use roster_core::clock::FixedClock;
use roster_core::contact::email_key;
use roster_core::eligibility::Finding;
use roster_core::matching::{self, Excluded, Flag, Ranked, Shortlist};
use roster_core::membership::Membership;
use roster_core::model::DateRange;
use roster_core::taxonomy::Taxonomy;
use roster_core::{
    Actor, Call, DEFAULT_ZONE, Expert, ExpertId, MissionRequest, Nomination, NominationOutcome,
    Profile, Registration, Roster, RosterError, Status, Store, Term,
};
use serde::{Deserialize, Serialize};

/// The call for nominations of the sample (`data/call-2026.json`).
pub const CALL_JSON: &str = include_str!("../data/call-2026.json");
/// The sample's nominations (`data/nominations.json`).
pub const NOMINATIONS_JSON: &str = include_str!("../data/nominations.json");
/// The sample's registrations (`data/registrations.json`).
pub const REGISTRATIONS_JSON: &str = include_str!("../data/registrations.json");
/// The sample's mission requests (`data/requests.json`).
pub const REQUESTS_JSON: &str = include_str!("../data/requests.json");

/// The staff id of the office's officer who acts in the sample.
pub const OFFICER: &str = "rso-officer-01";

/// Widest line [`render`] aims for, in characters.
pub const WIDTH: usize = 88;

/// The sample's input documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleData {
    /// The call for nominations.
    pub call: Call,
    /// Nominations, in the order they arrive.
    pub nominations: Vec<Nomination>,
    /// Registrations, in the order experts complete them. An invited expert
    /// without one has not registered.
    pub registrations: Vec<SampleRegistration>,
    /// Member states' requests for experts.
    pub requests: Vec<MissionRequest>,
}

/// One expert's registration in the sample: which nominee registers, the CV
/// they upload, and the profile they complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRegistration {
    /// The e-mail address the expert was nominated with (letter case aside).
    pub email: String,
    /// Name of the CV file the expert uploads (without `.pdf`).
    pub cv_document: String,
    /// The completed profile; when absent the expert confirms the nominated
    /// profile as it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

/// A sample file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("sample file {file} is not valid: {source}")]
pub struct SampleError {
    /// Which file.
    pub file: &'static str,
    /// What the JSON parser found.
    #[source]
    pub source: serde_json::Error,
}

impl SampleData {
    /// The sample data shipped in `data/`.
    pub fn bundled() -> SampleData {
        // OK because the bundled files are parsed by this crate's tests.
        SampleData::from_json(
            CALL_JSON,
            NOMINATIONS_JSON,
            REGISTRATIONS_JSON,
            REQUESTS_JSON,
        )
        .expect("bundled sample data is valid")
    }

    /// Reads the four sample documents.
    pub fn from_json(
        call: &str,
        nominations: &str,
        registrations: &str,
        requests: &str,
    ) -> Result<SampleData, SampleError> {
        fn parse<T: serde::de::DeserializeOwned>(
            file: &'static str,
            text: &str,
        ) -> Result<T, SampleError> {
            serde_json::from_str(text).map_err(|source| SampleError { file, source })
        }
        Ok(SampleData {
            call: parse("call-2026.json", call)?,
            nominations: parse("nominations.json", nominations)?,
            registrations: parse("registrations.json", registrations)?,
            requests: parse("requests.json", requests)?,
        })
    }
}

/// The days on which the sample acts, all derived from the call's window so
/// that another call's data gets a timeline of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// Nominations arrive from the window's first day through its last.
    pub nominations: DateRange,
    /// Screening and invitations: the first Monday after the window closes.
    pub screening: NaiveDate,
    /// Experts register on days spread over these.
    pub registration: DateRange,
    /// Registered experts are included on the roster: four weeks after
    /// screening.
    pub inclusion: NaiveDate,
    /// Requests are matched: four weeks after inclusion.
    pub matching: NaiveDate,
}

impl Timeline {
    /// The timeline that follows `call`.
    pub fn after(call: &Call) -> Timeline {
        let mut screening = call.window.last.succ_opt().unwrap_or(call.window.last);
        while screening.weekday() != Weekday::Mon {
            screening = screening.succ_opt().unwrap_or(screening);
        }
        let inclusion = after_days(screening, 28);
        Timeline {
            nominations: call.window,
            screening,
            registration: DateRange {
                first: after_days(screening, 1),
                last: after_days(screening, 24),
            },
            inclusion,
            matching: after_days(inclusion, 28),
        }
    }

    /// The day the `i`-th of `n` events spread over `range` happens: evenly
    /// spaced, the first on the range's first day.
    pub fn spread(range: DateRange, i: usize, n: usize) -> NaiveDate {
        let span = (range.days() - 1).max(0) as u64;
        after_days(range.first, span * i as u64 / n.max(1) as u64)
    }

    /// The term of an expert included on the inclusion day.
    pub fn term(&self) -> Term {
        Term::starting(self.inclusion)
    }
}

/// A [`Roster`] on a [`FixedClock`] that the sample moves along its
/// [`Timeline`].
#[derive(Debug, Clone)]
pub struct SampleRoster {
    roster: Roster,
    clock: Arc<FixedClock>,
    timeline: Timeline,
}

impl SampleRoster {
    /// A roster on `store`, its clock stopped on the first day of the
    /// timeline.
    pub fn new(store: Arc<dyn Store>, timeline: Timeline) -> SampleRoster {
        let clock = Arc::new(FixedClock::new(office_hours(timeline.nominations.first, 0)));
        let roster = Roster::new(store).with_clock(clock.clone());
        SampleRoster {
            roster,
            clock,
            timeline,
        }
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Sets the clock to `minute` minutes past 10:00 on `day` in the roster's
    /// time zone.
    pub fn set_day(&self, day: NaiveDate, minute: u32) {
        self.clock.set(office_hours(day, minute));
    }
}

/// Someone on the roster, as the report names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The expert's id.
    pub id: ExpertId,
    /// The name as displayed.
    pub name: String,
    /// The name in Latin script, when the name is written in another.
    pub latin: Option<String>,
    /// Current employer.
    pub organisation: String,
    /// Codes of the nominators, in order of code.
    pub nominators: Vec<String>,
    /// Status in the lifecycle.
    pub status: Status,
}

impl Person {
    /// The person as the store holds them.
    pub fn of(expert: &Expert) -> Person {
        let name = expert.profile.name.display();
        let latin = expert
            .profile
            .name
            .latin
            .clone()
            .filter(|latin| *latin != name);
        Person {
            id: expert.id,
            name,
            latin,
            organisation: expert.profile.organisation.name.clone(),
            nominators: expert.nominators().into_iter().map(str::to_owned).collect(),
            status: expert.status,
        }
    }

    /// The name, with the Latin form after it in brackets when there is one.
    pub fn full_name(&self) -> String {
        match &self.latin {
            Some(latin) => format!("{} ({latin})", self.name),
            None => self.name.clone(),
        }
    }
}

/// A nominee who does not meet the minimum criteria.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ineligible {
    /// Who.
    pub person: Person,
    /// Every required criterion not met, with the reason.
    pub unmet: Vec<Finding>,
}

/// Where the call stands, read from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    /// The call.
    pub call: Call,
    /// The days the sample acted on.
    pub timeline: Timeline,
    /// Nominations recorded in this call.
    pub nominations: usize,
    /// Codes of the members and observers who nominated, in order of code.
    pub nominators: Vec<String>,
    /// Experts nominated in this call, after merging nominations of one
    /// person.
    pub experts: usize,
    /// How many of those experts are in each status.
    pub statuses: BTreeMap<Status, usize>,
    /// Experts nominated more than once in this call.
    pub nominated_more_than_once: Vec<Person>,
    /// Nominees found ineligible, with every unmet criterion.
    pub ineligible: Vec<Ineligible>,
}

/// A request and its shortlist, with the people it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The request as the member sent it.
    pub request: MissionRequest,
    /// The ranking, the experts left out and why.
    pub shortlist: Shortlist,
    /// Everyone the shortlist names, by id.
    pub people: BTreeMap<ExpertId, Person>,
}

impl Answer {
    /// The person behind an id of the shortlist.
    pub fn person(&self, id: ExpertId) -> Option<&Person> {
        self.people.get(&id)
    }
}

/// The whole quickstart: the call and the answer to every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickstartReport {
    /// The call's summary.
    pub call: CallSummary,
    /// One answer per request, in the order of the sample.
    pub answers: Vec<Answer>,
}

/// Runs the annual call, then answers every request of the sample.
pub async fn run(
    roster: &SampleRoster,
    data: &SampleData,
) -> Result<QuickstartReport, RosterError> {
    let call = run_annual_call(roster, data).await?;
    let mut answers = Vec::with_capacity(data.requests.len());
    for request in &data.requests {
        answers.push(answer_request(roster, request).await?);
    }
    Ok(QuickstartReport { call, answers })
}

/// Drives the sample's call through nomination, screening, invitation,
/// registration and inclusion, skipping every expert already past a step, and
/// summarises where the call stands.
pub async fn run_annual_call(
    roster: &SampleRoster,
    data: &SampleData,
) -> Result<CallSummary, RosterError> {
    let officer = Actor::Rso(OFFICER.to_owned());
    let timeline = roster.timeline;
    let r = &roster.roster;

    roster.set_day(timeline.nominations.first, 0);
    r.open_call(&officer, data.call.clone()).await?;

    // Nominations arrive through the window. A nomination already recorded
    // comes back as such and changes nothing.
    let mut ids: BTreeMap<String, ExpertId> = BTreeMap::new();
    let n = data.nominations.len();
    for (i, nomination) in data.nominations.iter().enumerate() {
        roster.set_day(Timeline::spread(timeline.nominations, i, n), i as u32);
        let nominator = Actor::Participant(nomination.nominator.clone());
        let outcome: NominationOutcome = r.nominate(&nominator, nomination.clone()).await?;
        ids.insert(email_key(&nomination.expert.email), outcome.expert());
    }
    let in_call: BTreeSet<ExpertId> = ids.values().copied().collect();

    // Screening, and an invitation for every eligible nominee.
    roster.set_day(timeline.screening, 0);
    let mut ineligible = Vec::new();
    for &id in &in_call {
        let expert = r.expert(&officer, id).await?;
        match expert.status {
            Status::Nominated => {
                let report = r.screen(&officer, id).await?;
                if report.eligible() {
                    let invited = r.invite(&officer, id).await?;
                    // The expert follows the e-mailed link the day it
                    // arrives, and registers on a later day.
                    r.redeem_invitation(invited.token.expose(), &expert.profile.email)
                        .await?;
                } else {
                    ineligible.push((id, report.unmet().cloned().collect()));
                }
            }
            Status::Ineligible => {
                let report = r.eligibility(&expert);
                ineligible.push((id, report.unmet().cloned().collect()));
            }
            _ => {}
        }
    }

    // Invited experts register on their own behalf.
    let n = data.registrations.len();
    for (i, entry) in data.registrations.iter().enumerate() {
        let Some(&id) = ids.get(&email_key(&entry.email)) else {
            continue;
        };
        let me = Actor::Expert(id);
        let expert = r.expert(&me, id).await?;
        if expert.status != Status::Invited {
            continue;
        }
        roster.set_day(Timeline::spread(timeline.registration, i, n), i as u32);
        let cv = r
            .upload_cv(
                &me,
                id,
                &format!("{}.pdf", entry.cv_document),
                sample_cv(&entry.cv_document).as_slice(),
            )
            .await?;
        let registration = Registration {
            profile: entry.profile.clone().unwrap_or(expert.profile),
            cv_document: cv.id.to_string(),
        };
        r.register(&me, id, registration).await?;
    }

    // Inclusion for one year.
    roster.set_day(timeline.inclusion, 0);
    for &id in &in_call {
        if r.expert(&officer, id).await?.status == Status::Registered {
            r.include(&officer, id).await?;
        }
    }

    summarise(r, &officer, data, timeline, &in_call, ineligible).await
}

/// Matches one request on the timeline's matching day, as the requesting
/// member does through the portal.
pub async fn answer_request(
    roster: &SampleRoster,
    request: &MissionRequest,
) -> Result<Answer, RosterError> {
    roster.set_day(roster.timeline.matching, 0);
    let requester = Actor::Participant(request.requester.clone());
    let shortlist = roster
        .roster
        .match_request(&requester, request.clone())
        .await?;
    let officer = Actor::Rso(OFFICER.to_owned());
    let people = roster
        .roster
        .experts(&officer)
        .await?
        .iter()
        .map(|e| (e.id, Person::of(e)))
        .collect();
    Ok(Answer {
        request: request.clone(),
        shortlist,
        people,
    })
}

/// The printed report: the call's summary, then each request's shortlist.
pub fn render(report: &QuickstartReport) -> String {
    let mut out = String::new();
    heading(
        &mut out,
        '=',
        "Roster of experts on migration management: quickstart",
    );
    out.push('\n');
    out.push_str(&render_call(&report.call));
    for answer in &report.answers {
        out.push('\n');
        out.push_str(&render_answer(answer));
    }
    out
}

/// The call's summary as text.
pub fn render_call(summary: &CallSummary) -> String {
    let mut out = String::new();
    let call = &summary.call;
    let t = &summary.timeline;
    heading(
        &mut out,
        '-',
        &format!(
            "Call for nominations {} (open {} to {})",
            call.year, call.window.first, call.window.last
        ),
    );
    let merged = summary.nominations.saturating_sub(summary.experts);
    let rows = [
        (
            "Nominations received",
            format!(
                "{}, from {} members and observers",
                summary.nominations,
                summary.nominators.len()
            ),
        ),
        (
            "Experts",
            format!(
                "{} after merging {merged} repeated nomination{}",
                summary.experts,
                plural(merged)
            ),
        ),
        ("Screened and invited", t.screening.to_string()),
        (
            "Registration",
            format!("{} to {}", t.registration.first, t.registration.last),
        ),
        (
            "Included",
            format!(
                "{}, on the roster through {}",
                t.inclusion,
                t.term().last_day
            ),
        ),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<22}{value}");
    }
    let nominators = summary.nominators.join(", ");
    for (i, line) in wrap(&nominators, WIDTH - 22).iter().enumerate() {
        let label = if i == 0 { "Nominated by" } else { "" };
        let _ = writeln!(out, "{label:<22}{line}");
    }

    out.push_str("\nWhere the nominees stand\n");
    for (status, count) in &summary.statuses {
        let _ = writeln!(out, "  {:<20}{count:>3}", status.as_str());
    }

    if !summary.nominated_more_than_once.is_empty() {
        out.push_str("\nNominated more than once, kept as one expert\n");
        for p in &summary.nominated_more_than_once {
            let _ = writeln!(out, "  {}  {}", p.id, p.full_name());
            let _ = writeln!(out, "          nominated by {}", p.nominators.join(", "));
        }
    }

    let _ = writeln!(
        out,
        "\nFound ineligible ({}), with every criterion not met",
        summary.ineligible.len()
    );
    for i in &summary.ineligible {
        let _ = writeln!(out, "  {}  {}", i.person.id, i.person.full_name());
        let _ = writeln!(
            out,
            "          nominated by {}",
            i.person.nominators.join(", ")
        );
        for finding in &i.unmet {
            let label = format!("- {}:", finding.criterion);
            push_wrapped(&mut out, 10, &label, 16, &finding.reason);
        }
    }
    out
}

/// One request's shortlist as text: the request, the proposed experts with
/// every part of their scores, the runners-up, and everyone left out with the
/// filter and the reason.
pub fn render_answer(answer: &Answer) -> String {
    let mut out = String::new();
    let request = &answer.request;
    let shortlist = &answer.shortlist;
    let taxonomy = Taxonomy::current();
    let membership = Membership::bundled();

    let requester = membership
        .get(&request.requester)
        .map_or(request.requester.clone(), |p| p.name.clone());
    heading(
        &mut out,
        '-',
        &format!("Request {} from {requester}", request.id),
    );
    push_wrapped(&mut out, 0, "Mission", LABEL, &request.title);
    let _ = writeln!(
        out,
        "{:<LABEL$}{} to {} ({} days) in {}",
        "",
        request.window.first,
        request.window.last,
        request.window.days(),
        request.place
    );
    for (i, code) in request.themes.iter().enumerate() {
        let lines = wrap(&theme_label(taxonomy, code), WIDTH - LABEL - 7);
        for (j, line) in lines.iter().enumerate() {
            let label = if i == 0 && j == 0 { "Fields" } else { "" };
            let code = if j == 0 { code.as_str() } else { "" };
            let _ = writeln!(out, "{label:<LABEL$}{code:<7}{line}");
        }
    }
    let competencies: Vec<&str> = request
        .competencies
        .iter()
        .map(|c| taxonomy.competency(c).map_or(c.as_str(), |c| c.label))
        .collect();
    push_wrapped(&mut out, 0, "Competencies", LABEL, &competencies.join(", "));
    let languages = |list: &[roster_core::model::LanguageSkill]| {
        list.iter()
            .map(|s| format!("{} {}", s.tag, s.level))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "{:<LABEL$}required {}; desired {}",
        "Languages",
        or_none(&languages(&request.required_languages)),
        or_none(&languages(&request.desired_languages)),
    );
    let _ = writeln!(
        out,
        "{:<LABEL$}{} expert{}; {} passed the filters, {} left out",
        "Wanted",
        shortlist.wanted,
        plural(shortlist.wanted as usize),
        shortlist.ranked.len(),
        shortlist.excluded.len()
    );

    let proposed = shortlist.proposed();
    let _ = writeln!(out, "\nProposed ({})", proposed.len());
    if proposed.is_empty() {
        out.push_str("  No expert passed every filter.\n");
    }
    for ranked in proposed {
        render_ranked(&mut out, answer, ranked);
    }

    let rest = &shortlist.ranked[proposed.len()..];
    if !rest.is_empty() {
        let shown = rest.len().min(RUNNERS_UP);
        let _ = writeln!(out, "\nRunners-up (next {shown} of {})", rest.len());
        for ranked in &rest[..shown] {
            let _ = writeln!(
                out,
                "  #{:<3}{}  {:>7}  {}",
                ranked.rank,
                ranked.expert,
                matching::format_points(ranked.total),
                name_of(answer, ranked.expert)
            );
            for flag in &ranked.flags {
                let _ = writeln!(
                    out,
                    "{:23}flag: {}",
                    "",
                    flag_label(*flag, &request.requester)
                );
            }
        }
    }

    let _ = writeln!(out, "\nLeft out ({})", shortlist.excluded.len());
    for excluded in &shortlist.excluded {
        render_excluded(&mut out, answer, excluded);
    }
    out
}

/// How many runners-up [`render_answer`] lists after the proposed experts.
pub const RUNNERS_UP: usize = 5;

// Width of the labels in front of the request's details.
const LABEL: usize = 14;

// Indent of an expert's details under the rank line.
const DETAIL: usize = 6;

fn render_ranked(out: &mut String, answer: &Answer, ranked: &Ranked) {
    let _ = writeln!(
        out,
        "  #{:<3}{}  {}",
        ranked.rank,
        ranked.expert,
        name_of(answer, ranked.expert)
    );
    if let Some(p) = answer.person(ranked.expert) {
        let line = format!(
            "{}; nominated by {}",
            p.organisation,
            p.nominators.join(", ")
        );
        push_wrapped(out, DETAIL, "", 0, &line);
    }
    for flag in &ranked.flags {
        let _ = writeln!(
            out,
            "{:DETAIL$}flag: {}",
            "",
            flag_label(*flag, &answer.request.requester)
        );
    }
    let _ = writeln!(
        out,
        "{:DETAIL$}{:<13}{:>6} {:>6} {:>7}  why",
        "", "part", "earned", "weight", "points"
    );
    for part in &ranked.parts {
        let earned = format!("{}.{}%", part.fraction / 10, part.fraction % 10);
        let label = format!(
            "{:<13}{earned:>6} {:>6} {:>7}",
            part.name,
            format!("x {}", part.weight),
            matching::format_points(part.points)
        );
        push_wrapped(out, DETAIL, &label, label.len() + 2, &part.explanation);
    }
    let _ = writeln!(
        out,
        "{:DETAIL$}{:<27}{:>7}  of 100",
        "",
        "score",
        matching::format_points(ranked.total)
    );
}

fn render_excluded(out: &mut String, answer: &Answer, excluded: &Excluded) {
    let _ = writeln!(
        out,
        "  {}  {:<21} {}",
        excluded.expert,
        excluded.filter.to_string(),
        name_of(answer, excluded.expert)
    );
    for (filter, reason) in &excluded.reasons {
        push_wrapped(out, 10, "-", 2, &format!("{filter}: {reason}"));
    }
}

async fn summarise(
    r: &Roster,
    officer: &Actor,
    data: &SampleData,
    timeline: Timeline,
    in_call: &BTreeSet<ExpertId>,
    ineligible: Vec<(ExpertId, Vec<Finding>)>,
) -> Result<CallSummary, RosterError> {
    let year = data.call.year;
    let experts: Vec<Expert> = r
        .experts(officer)
        .await?
        .into_iter()
        .filter(|e| in_call.contains(&e.id))
        .collect();
    let this_call = |e: &Expert| {
        e.nominations
            .iter()
            .filter(|n| n.call_year == year)
            .map(|n| n.nominator.clone())
            .collect::<Vec<_>>()
    };
    let mut statuses = BTreeMap::new();
    let mut nominators = BTreeSet::new();
    let mut nominations = 0;
    let mut repeated = Vec::new();
    for expert in &experts {
        *statuses.entry(expert.status).or_insert(0) += 1;
        let codes = this_call(expert);
        nominations += codes.len();
        if codes.len() > 1 {
            repeated.push(Person::of(expert));
        }
        nominators.extend(codes);
    }
    let people: BTreeMap<ExpertId, &Expert> = experts.iter().map(|e| (e.id, e)).collect();
    let ineligible = ineligible
        .into_iter()
        .filter_map(|(id, unmet)| {
            people.get(&id).map(|e| Ineligible {
                person: Person::of(e),
                unmet,
            })
        })
        .collect();
    Ok(CallSummary {
        call: data.call.clone(),
        timeline,
        nominations,
        nominators: nominators.into_iter().collect(),
        experts: experts.len(),
        statuses,
        nominated_more_than_once: repeated,
        ineligible,
    })
}

/// 10:00 plus `minute` minutes on `day` in the roster's time zone: office
/// hours in Bangkok, whatever the machine's zone.
fn office_hours(day: NaiveDate, minute: u32) -> DateTime<Utc> {
    let local =
        day.and_hms_opt(10, 0, 0).unwrap_or_default() + chrono::Duration::minutes(minute.into());
    DEFAULT_ZONE
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

fn after_days(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn heading(out: &mut String, rule: char, title: &str) {
    let _ = writeln!(out, "{title}");
    let width = title.chars().count().min(WIDTH);
    let _ = writeln!(out, "{}", rule.to_string().repeat(width));
}

/// Writes `label` at `indent`, then `text` wrapped so that every line fits
/// [`WIDTH`]. The text starts `column` characters after the indent, or one
/// space after the label when that is further, and continues there.
fn push_wrapped(out: &mut String, indent: usize, label: &str, column: usize, text: &str) {
    let label_width = label.chars().count();
    let column = if label.is_empty() {
        column
    } else {
        column.max(label_width + 1)
    };
    let lines = wrap(text, WIDTH.saturating_sub(indent + column).max(20));
    for (i, line) in lines.iter().enumerate() {
        let (head, head_width) = if i == 0 {
            (label, label_width)
        } else {
            ("", 0)
        };
        let pad = column - head_width;
        let _ = writeln!(out, "{:indent$}{head}{:pad$}{line}", "", "");
    }
}

/// Splits text into lines of at most `width` characters at spaces; a word
/// longer than the width gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn name_of(answer: &Answer, id: ExpertId) -> String {
    answer
        .person(id)
        .map_or_else(|| "(not on the roster)".to_owned(), Person::full_name)
}

fn theme_label(taxonomy: &Taxonomy, code: &str) -> String {
    let Ok(node) = taxonomy.theme(code) else {
        return "(unknown field)".to_owned();
    };
    match node.parent.and_then(|p| taxonomy.theme(p).ok()) {
        Some(parent) if node.depth > 2 => format!("{}: {}", parent.label, node.label),
        _ => node.label.to_owned(),
    }
}

fn flag_label(flag: Flag, requester: &str) -> String {
    format!("{flag}, {requester}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

/// A small PDF standing in for an expert's CV: the roster checks a CV by
/// its content, so the sample uploads a real (if tiny) PDF.
fn sample_cv(title: &str) -> Vec<u8> {
    let escaped: String = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ' ')
        .collect();
    format!("%PDF-1.7\n1 0 obj << /Title ({escaped}) >> endobj\ntrailer << /Info 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn the_timeline_follows_the_call() {
        let data = SampleData::bundled();
        let t = Timeline::after(&data.call);
        assert_eq!(t.screening, d("2026-04-06"), "first Monday after 31 March");
        assert_eq!(t.registration.first, d("2026-04-07"));
        assert_eq!(t.registration.last, d("2026-04-30"));
        assert_eq!(t.inclusion, d("2026-05-04"));
        assert_eq!(t.term().last_day, d("2027-05-03"));
        assert_eq!(t.matching, d("2026-06-01"));
        let window = data.call.window;
        assert_eq!(Timeline::spread(window, 0, 45), window.first);
        assert!(Timeline::spread(window, 44, 45) <= window.last);
    }

    #[test]
    fn office_hours_are_in_bangkok() {
        assert_eq!(
            office_hours(d("2026-02-02"), 5).to_rfc3339(),
            "2026-02-02T03:05:00+00:00"
        );
    }

    #[test]
    fn wrapping_keeps_words_whole_and_lines_short() {
        let text = "of 2 requested fields: 2 matched exactly, 0 through a sub-field";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("", 20), [""]);
        assert_eq!(wrap("unbreakable-word-longer-than-width", 10).len(), 1);
    }

    #[test]
    fn registrations_name_nominees() {
        let data = SampleData::bundled();
        let nominated: BTreeSet<String> = data
            .nominations
            .iter()
            .map(|n| email_key(&n.expert.email))
            .collect();
        for entry in &data.registrations {
            assert!(
                nominated.contains(&email_key(&entry.email)),
                "{}",
                entry.cv_document
            );
        }
    }
}
