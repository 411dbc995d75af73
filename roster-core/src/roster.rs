//! The [`Roster`] facade: every operation the portal, the examples and the
//! Python bindings use, with access checks, validation and the lifecycle.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::eligibility::{self, Policy, Report};
use crate::error::{Field, RosterError, StoreError};
use crate::lifecycle::{Actor, AuditDraft, AuditEntry, Status, Term};
use crate::matching::{self, Shortlist, Weights};
use crate::membership::{Membership, ParticipantKind};
use crate::model::{
    Call, Checks, Expert, ExpertId, MissionRequest, Nomination, NominationRecord, Registration,
};
use crate::store::{NewExpert, Store};
use crate::taxonomy::Taxonomy;

/// The roster's default time zone: the Regional Support Office's, in Bangkok.
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Bangkok;

/// What became of a nomination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "expert", rename_all = "snake_case")]
pub enum NominationOutcome {
    /// A new expert was created.
    Created(ExpertId),
    /// The person was already known; the nominator was added to the expert.
    AddedNominator(ExpertId),
    /// The same nominator had already nominated the person in this call;
    /// nothing changed.
    AlreadyRecorded(ExpertId),
}

impl NominationOutcome {
    /// The expert the nomination is recorded on.
    pub fn expert(self) -> ExpertId {
        match self {
            Self::Created(id) | Self::AddedNominator(id) | Self::AlreadyRecorded(id) => id,
        }
    }
}

/// The roster: storage, reference data, policy and a clock.
#[derive(Clone)]
pub struct Roster {
    store: Arc<dyn Store>,
    taxonomy: &'static Taxonomy,
    membership: Arc<Membership>,
    policy: Policy,
    weights: Weights,
    clock: Arc<dyn Clock>,
    zone: Tz,
}

impl std::fmt::Debug for Roster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roster")
            .field("taxonomy", &self.taxonomy.version())
            .field("zone", &self.zone)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Roster {
    /// A roster on `store`, with the bundled taxonomy and membership, the
    /// sheet's policy, default weights, the system clock and Asia/Bangkok.
    pub fn new(store: Arc<dyn Store>) -> Roster {
        Roster {
            store,
            taxonomy: Taxonomy::current(),
            membership: Membership::bundled(),
            policy: Policy::default(),
            weights: Weights::default(),
            clock: Arc::new(SystemClock),
            zone: DEFAULT_ZONE,
        }
    }

    /// Uses another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Roster {
        self.clock = clock;
        self
    }

    /// Uses another membership table.
    pub fn with_membership(mut self, membership: Arc<Membership>) -> Roster {
        self.membership = membership;
        self
    }

    /// Uses other eligibility thresholds.
    pub fn with_policy(mut self, policy: Policy) -> Roster {
        self.policy = policy;
        self
    }

    /// Uses other score weights.
    pub fn with_weights(mut self, weights: Weights) -> Roster {
        self.weights = weights;
        self
    }

    /// Uses another time zone for "today" and for terms.
    pub fn with_zone(mut self, zone: Tz) -> Roster {
        self.zone = zone;
        self
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &'static Taxonomy {
        self.taxonomy
    }

    /// The membership table in use.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in the roster's time zone, whatever the machine's zone.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.zone).date_naive()
    }

    /// Opens (or replaces) the call for nominations of a year. RSO only.
    pub async fn open_call(&self, actor: &Actor, call: Call) -> Result<Call, RosterError> {
        require_rso(actor, "open a call for nominations")?;
        if call.window.last < call.window.first {
            return Err(crate::ValidationError::new(
                Field::new("window"),
                format!(
                    "ends on {}, before it starts on {}",
                    call.window.last, call.window.first
                ),
            )
            .into());
        }
        self.store.save_call(&call).await?;
        tracing::info!(year = call.year, "call for nominations saved");
        Ok(call)
    }

    /// Records a nomination. The nominator (or an RSO officer entering it on
    /// the nominator's behalf) must be a member or observer, the call must be
    /// open today, and the profile valid. The same person nominated again
    /// becomes one expert with several nominators.
    pub async fn nominate(
        &self,
        actor: &Actor,
        mut nomination: Nomination,
    ) -> Result<NominationOutcome, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Participant(code) if *code == nomination.nominator => {}
            _ => {
                return Err(forbidden(
                    actor,
                    "nominate on behalf of another participant",
                ));
            }
        }
        self.membership
            .nominator(&nomination.nominator, Field::new("nominator"))?;
        let today = self.today();
        // A nomination already recorded is answered as such, even after the
        // call has closed, so replaying a batch is harmless.
        let key = nomination.expert.identity_key();
        if let Some(known) = self.store.expert_by_identity(&key).await?
            && known
                .nominations
                .iter()
                .any(|n| n.call_year == nomination.call_year && n.nominator == nomination.nominator)
        {
            return Ok(NominationOutcome::AlreadyRecorded(known.id));
        }
        let call = self.store.call(nomination.call_year).await?;
        match call {
            Some(call) if call.window.first <= today && today <= call.window.last => {}
            Some(call) => {
                return Err(RosterError::CallClosed(format!(
                    "the {} call accepts nominations from {} through {}; today is {today}",
                    call.year, call.window.first, call.window.last
                )));
            }
            None => {
                return Err(RosterError::CallClosed(format!(
                    "there is no {} call for nominations",
                    nomination.call_year
                )));
            }
        }
        // Numbers in national form read as the expert's nationality's, else
        // as the nominating state's.
        let phone_region = nomination
            .expert
            .nationality
            .iter()
            .chain([&nomination.nominator])
            .find_map(|code| self.membership.get(code)?.alpha2.clone());
        let errors = nomination.expert.validate(
            &Field::new("expert"),
            &Checks {
                taxonomy: self.taxonomy,
                today,
                phone_region: phone_region.as_deref(),
            },
        );
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let record = NominationRecord {
            call_year: nomination.call_year,
            nominator: nomination.nominator.clone(),
            received_at: self.now(),
        };
        let key = nomination.expert.identity_key();
        if let Some(mut expert) = self.store.expert_by_identity(&key).await? {
            let known = expert
                .nominations
                .iter()
                .any(|n| n.call_year == record.call_year && n.nominator == record.nominator);
            if known {
                return Ok(NominationOutcome::AlreadyRecorded(expert.id));
            }
            let renominated = expert.status == Status::Ineligible;
            expert.nominations.push(record);
            let audit = renominated.then(|| {
                self.audit(
                    actor,
                    Status::Ineligible,
                    Status::Nominated,
                    "nominated again in a later call",
                )
            });
            if renominated {
                expert.status = Status::Nominated;
                expert.profile = nomination.expert;
            }
            let expert = self.store.update_expert(&expert, audit).await?;
            tracing::info!(expert = %expert.id, "nomination added to a known expert");
            return Ok(NominationOutcome::AddedNominator(expert.id));
        }
        let retry = nomination.clone();
        let new = NewExpert {
            status: Status::Nominated,
            profile: nomination.expert,
            nominations: vec![record],
            term: None,
        };
        let audit = AuditDraft {
            from: None,
            ..self.audit(actor, Status::Nominated, Status::Nominated, "nominated")
        };
        match self.store.create_expert(new, audit).await {
            Ok(expert) => {
                tracing::info!(expert = %expert.id, "expert nominated");
                Ok(NominationOutcome::Created(expert.id))
            }
            Err(StoreError::Duplicate { .. }) => {
                // Another nomination of the same person won the race; record
                // this one on that expert.
                Box::pin(self.nominate(actor, retry)).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a nominated expert against the selection criteria. An expert who
    /// fails a required criterion becomes ineligible. RSO only.
    pub async fn screen(&self, actor: &Actor, id: ExpertId) -> Result<Report, RosterError> {
        require_rso(actor, "screen nominations")?;
        let expert = self.get(id).await?;
        let report = self.eligibility(&expert);
        if expert.status == Status::Nominated && !report.eligible() {
            let unmet: Vec<String> = report.unmet().map(|f| f.reason.clone()).collect();
            self.transition(actor, expert, Status::Ineligible, &unmet.join("; "), |_| {})
                .await?;
        }
        Ok(report)
    }

    /// The eligibility report of an expert's current profile, as of today.
    pub fn eligibility(&self, expert: &Expert) -> Report {
        eligibility::check(&expert.profile, self.today(), &self.policy, |code| {
            self.membership.get(code).is_some_and(|p| {
                matches!(
                    p.kind,
                    ParticipantKind::MemberState | ParticipantKind::MemberTerritory
                )
            })
        })
    }

    /// Invites a nominated, eligible expert to register. RSO only.
    pub async fn invite(&self, actor: &Actor, id: ExpertId) -> Result<Expert, RosterError> {
        require_rso(actor, "invite experts")?;
        let expert = self.get(id).await?;
        self.check_transition(&expert, Status::Invited)?;
        let report = self.eligibility(&expert);
        if !report.eligible() {
            return Err(crate::ValidationError::new(
                Field::new("expert"),
                format!("{id} does not meet the selection criteria and cannot be invited"),
            )
            .into());
        }
        self.transition(
            actor,
            expert,
            Status::Invited,
            "invited to register",
            |_| {},
        )
        .await
    }

    /// Completes an invited expert's registration: the detailed profile and a
    /// CV. The expert or an RSO officer.
    pub async fn register(
        &self,
        actor: &Actor,
        id: ExpertId,
        mut registration: Registration,
    ) -> Result<Expert, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {}
            _ => return Err(forbidden(actor, "register another expert")),
        }
        let expert = self.get(id).await?;
        // As for nominations: nationality first, then the first nominator.
        let phone_region = registration
            .profile
            .nationality
            .iter()
            .chain(expert.nominations.first().map(|n| &n.nominator))
            .find_map(|code| self.membership.get(code)?.alpha2.clone());
        let errors = registration.profile.validate(
            &Field::new("profile"),
            &Checks {
                taxonomy: self.taxonomy,
                today: self.today(),
                phone_region: phone_region.as_deref(),
            },
        );
        if !errors.is_empty() {
            return Err(errors.into());
        }
        self.transition(
            actor,
            expert,
            Status::Registered,
            "registration completed",
            |e| {
                e.profile = registration.profile;
                e.cv_document = Some(registration.cv_document);
            },
        )
        .await
    }

    /// Includes a registered expert on the roster for one year from today.
    /// RSO only.
    pub async fn include(&self, actor: &Actor, id: ExpertId) -> Result<Expert, RosterError> {
        require_rso(actor, "include experts")?;
        let expert = self.get(id).await?;
        if expert.status != Status::Registered {
            // Renewal has its own call, so including twice never extends a
            // term by accident.
            return Err(RosterError::Transition {
                expert: id,
                from: expert.status,
                to: Status::Included,
            });
        }
        let term = Term::starting(self.today());
        self.transition(
            actor,
            expert,
            Status::Included,
            "included for one year",
            |e| e.term = Some(term),
        )
        .await
    }

    /// Renews an included or expired expert for the year that follows the
    /// current term, without a second registration. A term is renewed once:
    /// renewing again before the renewed term has started is refused. An
    /// expert whose term lapsed before today starts a fresh term today. RSO
    /// only.
    pub async fn renew(&self, actor: &Actor, id: ExpertId) -> Result<Expert, RosterError> {
        require_rso(actor, "renew inclusions")?;
        let expert = self.get(id).await?;
        let today = self.today();
        let Some(previous) = expert
            .term
            .filter(|_| matches!(expert.status, Status::Included | Status::Expired))
        else {
            return Err(RosterError::Transition {
                expert: id,
                from: expert.status,
                to: Status::Included,
            });
        };
        if previous.first_day > today {
            return Err(crate::ValidationError::new(
                Field::new("term"),
                format!(
                    "{id} is already renewed through {}; the renewed term starts {}",
                    previous.last_day, previous.first_day
                ),
            )
            .into());
        }
        let next = previous.renewed();
        let term = if next.first_day < today {
            Term::starting(today)
        } else {
            next
        };
        self.transition(
            actor,
            expert,
            Status::Included,
            "renewed for a further year",
            |e| e.term = Some(term),
        )
        .await
    }

    /// Moves every included expert whose term has ended to expired, and
    /// returns their ids.
    pub async fn expire_lapsed(&self) -> Result<Vec<ExpertId>, RosterError> {
        let today = self.today();
        let mut expired = Vec::new();
        for expert in self.store.experts_with_status(Status::Included).await? {
            if expert.term.is_some_and(|t| t.last_day < today) {
                let id = expert.id;
                self.transition(
                    &Actor::System,
                    expert,
                    Status::Expired,
                    "term ended",
                    |_| {},
                )
                .await?;
                expired.push(id);
            }
        }
        Ok(expired)
    }

    /// Revokes an inclusion. RSO only.
    pub async fn revoke(
        &self,
        actor: &Actor,
        id: ExpertId,
        reason: &str,
    ) -> Result<Expert, RosterError> {
        require_rso(actor, "revoke inclusions")?;
        let expert = self.get(id).await?;
        self.transition(actor, expert, Status::Revoked, reason, |_| {})
            .await
    }

    /// One expert. RSO officers see everyone; an expert sees only itself; a
    /// nominator sees the experts it nominated.
    pub async fn expert(&self, actor: &Actor, id: ExpertId) -> Result<Expert, RosterError> {
        let expert = self.get(id).await?;
        match actor {
            Actor::Rso(_) => Ok(expert),
            Actor::Expert(me) if *me == id => Ok(expert),
            Actor::Participant(code) if expert.nominators().contains(code.as_str()) => Ok(expert),
            _ => Err(forbidden(actor, "see this expert")),
        }
    }

    /// Every expert, ordered by id. RSO only.
    pub async fn experts(&self, actor: &Actor) -> Result<Vec<Expert>, RosterError> {
        require_rso(actor, "list every expert")?;
        Ok(self.store.experts().await?)
    }

    /// The audit trail of one expert, or of all. RSO only.
    pub async fn audit_trail(
        &self,
        actor: &Actor,
        expert: Option<ExpertId>,
    ) -> Result<Vec<AuditEntry>, RosterError> {
        require_rso(actor, "read the audit trail")?;
        Ok(self.store.audit_trail(expert).await?)
    }

    /// Ranks the roster's experts for a member state's request and records
    /// the request (issuing the same request id again changes nothing). The
    /// requesting member or an RSO officer.
    pub async fn match_request(
        &self,
        actor: &Actor,
        mut request: MissionRequest,
    ) -> Result<Shortlist, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Participant(code) if *code == request.requester => {}
            _ => return Err(forbidden(actor, "request experts for another member")),
        }
        self.membership
            .requester(&request.requester, Field::new("requester"))?;
        let errors = request.validate(self.taxonomy);
        if !errors.is_empty() {
            return Err(errors.into());
        }
        if !self.store.save_request(&request).await? {
            let stored = self.store.request(&request.id).await?;
            if stored.as_ref() != Some(&request) {
                return Err(crate::ValidationError::new(
                    Field::new("id"),
                    format!(
                        "request `{}` was already issued with different content; issue the change under a new id",
                        request.id
                    ),
                )
                .into());
            }
        }
        let experts = self.store.experts().await?;
        let engagements = self.store.engagements(None).await?;
        let ctx = matching::Context {
            taxonomy: self.taxonomy,
            membership: &self.membership,
            weights: self.weights,
            engagements: &engagements,
            today: self.today(),
        };
        let shortlist = matching::rank(&request, &experts, &ctx);
        tracing::info!(
            request = %request.id,
            ranked = shortlist.ranked.len(),
            excluded = shortlist.excluded.len(),
            "request matched"
        );
        Ok(shortlist)
    }

    async fn get(&self, id: ExpertId) -> Result<Expert, RosterError> {
        self.store.expert(id).await?.ok_or_else(|| {
            StoreError::NotFound {
                entity: "expert",
                id: id.to_string(),
            }
            .into()
        })
    }

    fn check_transition(&self, expert: &Expert, to: Status) -> Result<(), RosterError> {
        if expert.status.can_become(to) {
            Ok(())
        } else {
            Err(RosterError::Transition {
                expert: expert.id,
                from: expert.status,
                to,
            })
        }
    }

    async fn transition(
        &self,
        actor: &Actor,
        mut expert: Expert,
        to: Status,
        reason: &str,
        change: impl FnOnce(&mut Expert),
    ) -> Result<Expert, RosterError> {
        self.check_transition(&expert, to)?;
        let audit = self.audit(actor, expert.status, to, reason);
        expert.status = to;
        change(&mut expert);
        let stored = self.store.update_expert(&expert, Some(audit)).await?;
        tracing::info!(expert = %stored.id, version = stored.version, to = %to, "status changed");
        Ok(stored)
    }

    fn audit(&self, actor: &Actor, from: Status, to: Status, reason: &str) -> AuditDraft {
        AuditDraft {
            actor: actor.to_string(),
            at: self.now(),
            from: Some(from),
            to,
            reason: reason.to_owned(),
        }
    }
}

fn require_rso(actor: &Actor, action: &'static str) -> Result<(), RosterError> {
    match actor {
        Actor::Rso(_) => Ok(()),
        _ => Err(forbidden(actor, action)),
    }
}

fn forbidden(actor: &Actor, action: &'static str) -> RosterError {
    RosterError::Forbidden {
        actor: actor.to_string(),
        action,
    }
}

/// A signal that two experts may be one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateSignal {
    /// The names meet under [`PersonName::match_key`](crate::model::PersonName::match_key).
    SameName,
    /// The same date of birth.
    SameDateOfBirth,
    /// The same phone number.
    SamePhone,
    /// E-mail addresses that differ only by a sub-address or dots.
    EmailAlias,
}

/// Two experts that a person should compare; never merged automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PossibleDuplicate {
    /// The two experts, lower id first.
    pub experts: (ExpertId, ExpertId),
    /// What they share.
    pub signals: Vec<DuplicateSignal>,
}

/// The outcome of a batch import: every good row stored, every bad row
/// reported with its errors.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows stored, by position in the batch (from 0).
    pub stored: Vec<(usize, NominationOutcome)>,
    /// Rows refused, by position, with the error.
    pub rejected: Vec<(usize, RosterError)>,
}

impl Roster {
    /// Pairs of experts that share a weaker signal than the e-mail identity
    /// (a name, a phone number, an e-mail alias), for review. A shared name
    /// alone is reported only with another signal or with no date of birth
    /// to tell the two apart. RSO only.
    pub async fn possible_duplicates(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PossibleDuplicate>, RosterError> {
        require_rso(actor, "review possible duplicates")?;
        let experts = self.store.experts().await?;
        let keys: Vec<(String, Option<&str>, String)> = experts
            .iter()
            .map(|e| {
                (
                    e.profile.name.match_key(),
                    e.profile.phone.as_deref(),
                    crate::contact::alias_key(&e.profile.email),
                )
            })
            .collect();
        let mut out = Vec::new();
        // Quadratic, but run on demand by a reviewer over one roster (a few
        // thousand experts), not on a hot path.
        for i in 0..experts.len() {
            for j in i + 1..experts.len() {
                let (a, b) = (&experts[i].profile, &experts[j].profile);
                let mut signals = Vec::new();
                if keys[i].0 == keys[j].0 {
                    signals.push(DuplicateSignal::SameName);
                }
                if a.date_of_birth.is_some() && a.date_of_birth == b.date_of_birth {
                    signals.push(DuplicateSignal::SameDateOfBirth);
                }
                if keys[i].1.is_some() && keys[i].1 == keys[j].1 {
                    signals.push(DuplicateSignal::SamePhone);
                }
                if keys[i].2 == keys[j].2 {
                    signals.push(DuplicateSignal::EmailAlias);
                }
                let name_only = signals == [DuplicateSignal::SameName];
                let told_apart = a.date_of_birth.is_some()
                    && b.date_of_birth.is_some()
                    && a.date_of_birth != b.date_of_birth;
                if !(signals.is_empty() || name_only && told_apart) {
                    out.push(PossibleDuplicate {
                        experts: (experts[i].id, experts[j].id),
                        signals,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records a batch of nominations. Each row is handled on its own: good
    /// rows are stored even when others fail, and every bad row is reported.
    pub async fn import_nominations(&self, actor: &Actor, rows: Vec<Nomination>) -> ImportReport {
        let mut report = ImportReport::default();
        for (i, row) in rows.into_iter().enumerate() {
            match self.nominate(actor, row).await {
                Ok(outcome) => report.stored.push((i, outcome)),
                Err(e) => report.rejected.push((i, e)),
            }
        }
        tracing::info!(
            stored = report.stored.len(),
            rejected = report.rejected.len(),
            "nominations imported"
        );
        report
    }

    /// Records a batch of nominations from a JSON array. A row that is not a
    /// valid nomination document (an unknown field, a wrong type) is
    /// rejected with an error naming the row and the field; the other rows
    /// are still recorded.
    pub async fn import_nominations_json(
        &self,
        actor: &Actor,
        json: &str,
    ) -> Result<ImportReport, RosterError> {
        let values: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            crate::ValidationError::new(
                Field::new("nominations"),
                format!("is not a JSON array ({e})"),
            )
        })?;
        let mut parsed = Vec::new();
        let mut rejected = Vec::new();
        for (i, value) in values.into_iter().enumerate() {
            match serde_path_to_error::deserialize::<_, Nomination>(value) {
                Ok(n) => parsed.push((i, n)),
                Err(e) => {
                    let mut field = Field::new("nominations").index(i);
                    let path = e.path().to_string();
                    if path != "." {
                        field = field.key(&path);
                    }
                    rejected.push((
                        i,
                        crate::ValidationError::new(field, e.into_inner().to_string()).into(),
                    ));
                }
            }
        }
        let mut report = ImportReport::default();
        for (i, n) in parsed {
            match self.nominate(actor, n).await {
                Ok(outcome) => report.stored.push((i, outcome)),
                Err(e) => rejected.push((i, e)),
            }
        }
        rejected.sort_by_key(|(i, _)| *i);
        report.rejected = rejected;
        Ok(report)
    }
}
