//! The [`Roster`] facade: every operation the portal, the examples and the
//! Python bindings use, with access checks, validation and the lifecycle.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::contact::email_key;
use crate::documents::{CvPolicy, DocumentId, DocumentStore, MemoryDocuments, StoredDocument};
use crate::eligibility::{self, Policy, Report};
use crate::error::{Field, RosterError, StoreError};
use crate::invitation::{InvitationToken, token_hash};
use crate::lifecycle::{
    Actor, AuditDraft, AuditEntry, ChainReport, LifecyclePolicy, Status, Term, verify_chain,
};
use crate::matching::{CustomPart, LoadCap, MatchPolicy, Shortlist, WeightedPart, Weights};
use crate::membership::{Membership, ParticipantKind};
use crate::model::Profile;
use crate::model::{
    Call, Checks, Expert, ExpertId, MissionRequest, Nomination, NominationRecord, Registration,
};
use crate::store::{
    NewExpert, NewInvitation, NewRevocationRequest, OutboxMessage, RevocationDecision,
    RevocationRequest, Store,
};
use crate::taxonomy::Taxonomy;

mod engagements;

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
    documents: Arc<dyn DocumentStore>,
    cv_policy: CvPolicy,
    taxonomy: &'static Taxonomy,
    membership: Arc<Membership>,
    policy: Policy,
    matching: MatchPolicy,
    clock: Arc<dyn Clock>,
    zone: Tz,
    lifecycle: LifecyclePolicy,
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
            documents: Arc::new(MemoryDocuments::new()),
            cv_policy: CvPolicy::default(),
            taxonomy: Taxonomy::current(),
            membership: Membership::bundled(),
            policy: Policy::default(),
            matching: MatchPolicy::default(),
            clock: Arc::new(SystemClock),
            zone: DEFAULT_ZONE,
            lifecycle: LifecyclePolicy::default(),
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

    /// Uses other score weights. Refused, naming `weights`, when the
    /// weights with those of the custom parts added so far would add up to
    /// 0 or to more than [`MAX_WEIGHT_SUM`](crate::matching::MAX_WEIGHT_SUM)
    /// (see [`MatchPolicy::check`](crate::matching::MatchPolicy::check));
    /// to rank on custom parts alone, add them before setting these
    /// weights to 0.
    pub fn with_weights(mut self, weights: Weights) -> Result<Roster, RosterError> {
        self.matching.weights = weights;
        self.with_checked_matching()
    }

    /// Caps how many missions an expert may carry in a rolling period; a
    /// hard filter. A cap of 0 missions or a period of 0 days is refused,
    /// naming `load_cap.max` or `load_cap.period_days`.
    pub fn with_load_cap(mut self, cap: LoadCap) -> Result<Roster, RosterError> {
        self.matching.load_cap = Some(cap);
        self.with_checked_matching()
    }

    /// Adds a deployment's own score part with a weight. Refused, naming
    /// `weights`, when all the weights would then add up to more than
    /// [`MAX_WEIGHT_SUM`](crate::matching::MAX_WEIGHT_SUM), or to 0.
    pub fn with_custom_part(
        mut self,
        part: Arc<dyn CustomPart>,
        weight: u32,
    ) -> Result<Roster, RosterError> {
        self.matching.custom.push(WeightedPart { part, weight });
        self.with_checked_matching()
    }

    fn with_checked_matching(self) -> Result<Roster, RosterError> {
        let errors = self.matching.check();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors.into())
        }
    }

    /// The matching policy in use.
    pub fn match_policy(&self) -> &MatchPolicy {
        &self.matching
    }

    /// Uses another time zone for "today" and for terms.
    pub fn with_zone(mut self, zone: Tz) -> Roster {
        self.zone = zone;
        self
    }

    /// Keeps CVs in another document store (by default, in memory).
    pub fn with_documents(mut self, documents: Arc<dyn DocumentStore>) -> Roster {
        self.documents = documents;
        self
    }

    /// Checks CVs against other limits.
    pub fn with_cv_policy(mut self, cv_policy: CvPolicy) -> Roster {
        self.cv_policy = cv_policy;
        self
    }

    /// Uses other invitation and reminder timings.
    pub fn with_lifecycle_policy(mut self, lifecycle: LifecyclePolicy) -> Roster {
        self.lifecycle = lifecycle;
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

    /// Opens the call for nominations of a year, stored at version 1. RSO
    /// only. Opening again with the same window returns the stored call
    /// unchanged, so a setup can be re-run; a different window is refused,
    /// since changing a call goes through [`update_call`](Roster::update_call).
    pub async fn open_call(&self, actor: &Actor, call: Call) -> Result<Call, RosterError> {
        require_rso(actor, "open a call for nominations")?;
        check_call_window(&call)?;
        if let Some(stored) = self.store.call(call.year).await? {
            return same_call(stored, &call);
        }
        match self.store.create_call(&call).await {
            Ok(stored) => {
                tracing::info!(year = stored.year, "call for nominations opened");
                Ok(stored)
            }
            // Opened by someone else since the read above.
            Err(StoreError::Duplicate { .. }) => match self.store.call(call.year).await? {
                Some(stored) => same_call(stored, &call),
                None => Err(StoreError::NotFound {
                    entity: "call",
                    id: call.year.to_string(),
                }
                .into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Changes the window of an opened call, against the version that was
    /// read: a stale version fails with [`StoreError::Conflict`] and
    /// changes nothing. Returns the stored call, one version on. RSO only.
    pub async fn update_call(&self, actor: &Actor, call: Call) -> Result<Call, RosterError> {
        require_rso(actor, "change a call for nominations")?;
        check_call_window(&call)?;
        let stored = self.store.update_call(&call).await?;
        tracing::info!(
            year = stored.year,
            version = stored.version,
            "call for nominations changed"
        );
        Ok(stored)
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

    /// Invites a nominated, eligible expert to register: issues a token,
    /// bound to the expert's address and valid for
    /// [`LifecyclePolicy::invitation_valid_for`], and queues the invitation
    /// in the outbox, in the transaction that records the change. The token
    /// is returned here once and stored only as a hash. RSO only.
    pub async fn invite(&self, actor: &Actor, id: ExpertId) -> Result<Invited, RosterError> {
        require_rso(actor, "invite experts")?;
        let mut expert = self.get(id).await?;
        self.check_transition(&expert, Status::Invited)?;
        let report = self.eligibility(&expert);
        if !report.eligible() {
            return Err(crate::ValidationError::new(
                Field::new("expert"),
                format!("{id} does not meet the selection criteria and cannot be invited"),
            )
            .into());
        }
        let audit = self.audit(actor, expert.status, Status::Invited, "invited to register");
        expert.status = Status::Invited;
        self.issue_invitation(expert, Some(audit)).await
    }

    /// Sends an invited expert a new invitation, cancelling any older token
    /// that is still pending. RSO only.
    pub async fn reinvite(&self, actor: &Actor, id: ExpertId) -> Result<Invited, RosterError> {
        require_rso(actor, "invite experts")?;
        let expert = self.get(id).await?;
        if expert.status != Status::Invited {
            return Err(RosterError::Transition {
                expert: id,
                from: expert.status,
                to: Status::Invited,
            });
        }
        self.issue_invitation(expert, None).await
    }

    /// Redeems an invitation token presented with an e-mail address, which
    /// must be the invited one (compared as [`email_key`] does: case and
    /// IDNA folded). Returns the invited expert, who may then register.
    ///
    /// Unknown, used, replaced, expired and wrongly addressed tokens all
    /// fail with [`RosterError::InvitationInvalid`]; a wrong address does
    /// not use the token up. Of two redemptions at once, one succeeds.
    pub async fn redeem_invitation(
        &self,
        token: &str,
        email: &str,
    ) -> Result<ExpertId, RosterError> {
        let redeemed = self
            .store
            .redeem_invitation(&token_hash(token), &email_key(email), self.now())
            .await?;
        let id = redeemed.ok_or(RosterError::InvitationInvalid)?;
        tracing::info!(expert = %id, "invitation redeemed");
        Ok(id)
    }

    /// Completes an invited expert's registration: the detailed profile and a
    /// CV. The expert, once it has redeemed an invitation, or an RSO
    /// officer.
    pub async fn register(
        &self,
        actor: &Actor,
        id: ExpertId,
        mut registration: Registration,
    ) -> Result<Expert, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {
                let invitations = self.store.invitations(id).await?;
                if !invitations.iter().any(|i| i.used_at.is_some()) {
                    return Err(forbidden(actor, "register before redeeming an invitation"));
                }
            }
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
        let mut errors = registration.profile.validate(
            &Field::new("profile"),
            &Checks {
                taxonomy: self.taxonomy,
                today: self.today(),
                phone_region: phone_region.as_deref(),
            },
        );
        // The CV must be one that passed the content checks of `upload_cv`.
        let uploaded = match registration.cv_document.parse::<DocumentId>() {
            Ok(doc) => self.documents.get(&doc).await?.is_some(),
            Err(_) => false,
        };
        if !uploaded {
            errors.push(crate::ValidationError::new(
                Field::new("cv_document"),
                "names no uploaded CV; upload the CV with upload_cv and give its id",
            ));
        }
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

    /// Checks and stores an expert's CV, for a registration to name by its
    /// id. The type comes from the content only; `client_name` is kept as
    /// display text and checked against the type, never used in a path. The
    /// expert or an RSO officer.
    pub async fn upload_cv(
        &self,
        actor: &Actor,
        expert: ExpertId,
        client_name: &str,
        body: impl std::io::Read + Send,
    ) -> Result<StoredDocument, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == expert => {}
            _ => return Err(forbidden(actor, "upload another expert's CV")),
        }
        self.get(expert).await?;
        // Reading and inflating run on the caller's task: at most
        // `max_bytes` read and `max_inflated_bytes` inflated, but blocking
        // while they run.
        let checked = self.cv_policy.check(body, client_name)?;
        let stored = self.documents.put(checked).await?;
        tracing::info!(%expert, document = %stored.id, kind = %stored.kind, size = stored.size, "CV stored");
        Ok(stored)
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
    /// current term, without a second registration (a later call's
    /// nomination of a known expert is recorded on that expert by
    /// [`nominate`](Roster::nominate)).
    ///
    /// An included expert keeps the current term and gains the next year
    /// after it, so the expert stays on the roster throughout: the stored
    /// term then runs from the current first day through the renewed last
    /// day. A term is renewed once: while it already reaches a year past
    /// today, renewing again is refused. An expert whose term lapsed before
    /// today starts a fresh term today. RSO only.
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
        if previous.last_day >= Term::starting(today).last_day {
            return Err(crate::ValidationError::new(
                Field::new("term"),
                format!(
                    "{id} is already on the roster through {}; renew within the last year of the term",
                    previous.last_day
                ),
            )
            .into());
        }
        let next = previous.renewed();
        let term = if next.first_day <= today {
            // Lapsed (or ending today): a fresh term, or the renewed one
            // when it starts today.
            Term::starting(today)
        } else {
            Term {
                first_day: previous.first_day,
                last_day: next.last_day,
            }
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

    /// The scheduled upkeep of terms, to run at least daily (running it more
    /// often is harmless): moves every included expert whose term ended
    /// before today to expired, and queues one reminder per expert and term
    /// [`LifecyclePolicy::reminder_days_before`] days before the term's
    /// last day, never twice for the same term.
    pub async fn sweep(&self) -> Result<SweepReport, RosterError> {
        let today = self.today();
        let mut report = SweepReport::default();
        for expert in self.store.experts_with_status(Status::Included).await? {
            let Some(term) = expert.term else { continue };
            let id = expert.id;
            if term.last_day < today {
                self.transition(
                    &Actor::System,
                    expert,
                    Status::Expired,
                    "term ended",
                    |_| {},
                )
                .await?;
                report.expired.push(id);
                continue;
            }
            let remind_from = term
                .last_day
                .checked_sub_days(chrono::Days::new(self.lifecycle.reminder_days_before))
                .unwrap_or(NaiveDate::MIN);
            if remind_from <= today {
                let queued = self
                    .store
                    .enqueue_reminder(id, term.last_day, &expert.profile.email, self.now())
                    .await?;
                if queued.is_some() {
                    report.reminded.push(id);
                }
            }
        }
        tracing::info!(
            expired = report.expired.len(),
            reminded = report.reminded.len(),
            "terms swept"
        );
        Ok(report)
    }

    /// Records that an invited expert declined. The expert or an RSO
    /// officer.
    pub async fn decline(
        &self,
        actor: &Actor,
        id: ExpertId,
        reason: &str,
    ) -> Result<Expert, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {}
            _ => return Err(forbidden(actor, "decline for another expert")),
        }
        let expert = self.get(id).await?;
        self.transition(actor, expert, Status::Declined, reason, |_| {})
            .await
    }

    /// Withdraws a nominated, invited or registered expert. An RSO officer,
    /// the expert, or a nominator for its own nomination: a nominator may
    /// withdraw only an expert that no other participant nominated.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        id: ExpertId,
        reason: &str,
    ) -> Result<Expert, RosterError> {
        let expert = self.get(id).await?;
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {}
            Actor::Participant(code) if expert.nominators().contains(code.as_str()) => {
                if expert.nominators().len() > 1 {
                    return Err(forbidden(
                        actor,
                        "withdraw an expert that another participant also nominated",
                    ));
                }
            }
            _ => return Err(forbidden(actor, "withdraw another's nomination")),
        }
        self.transition(actor, expert, Status::Withdrawn, reason, |_| {})
            .await
    }

    /// Revokes an inclusion directly. RSO only.
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

    /// Asks the RSO to revoke an included expert's inclusion. The expert,
    /// one of its nominators, or an RSO officer. The request is kept with
    /// who made it and why, for [`decide_revocation`](Roster::decide_revocation).
    pub async fn request_revocation(
        &self,
        actor: &Actor,
        id: ExpertId,
        reason: &str,
    ) -> Result<RevocationRequest, RosterError> {
        let expert = self.get(id).await?;
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {}
            Actor::Participant(code) if expert.nominators().contains(code.as_str()) => {}
            _ => return Err(forbidden(actor, "request the revocation of this expert")),
        }
        self.check_transition(&expert, Status::Revoked)?;
        require_reason(reason)?;
        let request = self
            .store
            .request_revocation(&NewRevocationRequest {
                expert: id,
                requested_by: actor.to_string(),
                reason: reason.to_owned(),
                requested_at: self.now(),
            })
            .await?;
        tracing::info!(expert = %id, request = request.id, "revocation requested");
        Ok(request)
    }

    /// Decides a revocation request. Accepting revokes the inclusion and
    /// writes its audit entry in the transaction that records the decision;
    /// refusing leaves the expert as it is. Both are kept. RSO only.
    pub async fn decide_revocation(
        &self,
        actor: &Actor,
        request_id: i64,
        accept: bool,
        reason: &str,
    ) -> Result<RevocationRequest, RosterError> {
        require_rso(actor, "decide revocation requests")?;
        require_reason(reason)?;
        let request = self
            .store
            .revocation_request(request_id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: "revocation request",
                id: request_id.to_string(),
            })?;
        if request.decision.is_some() {
            return Err(StoreError::Duplicate {
                entity: "revocation decision",
                key: "request",
            }
            .into());
        }
        let decision = RevocationDecision {
            decided_by: actor.to_string(),
            accepted: accept,
            reason: reason.to_owned(),
            decided_at: self.now(),
        };
        let decided = if accept {
            let mut expert = self.get(request.expert).await?;
            self.check_transition(&expert, Status::Revoked)?;
            let audit = self.audit(actor, expert.status, Status::Revoked, reason);
            expert.status = Status::Revoked;
            self.store
                .decide_revocation(request_id, &decision, Some((&expert, audit)))
                .await
        } else {
            self.store
                .decide_revocation(request_id, &decision, None)
                .await
        }
        .map_err(conflict(request.expert))?;
        tracing::info!(
            expert = %decided.expert,
            request = request_id,
            accepted = accept,
            "revocation decided"
        );
        Ok(decided)
    }

    /// Replaces an expert's profile, made against `expected_version`: when
    /// the expert changed since that version was read, fails with
    /// [`RosterError::Conflict`] and changes nothing. An RSO officer, or the
    /// expert for its own profile.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        id: ExpertId,
        expected_version: u64,
        mut profile: Profile,
    ) -> Result<Expert, RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Expert(me) if *me == id => {}
            _ => return Err(forbidden(actor, "edit another expert's profile")),
        }
        let mut expert = self.get(id).await?;
        if expert.version != expected_version {
            return Err(RosterError::Conflict {
                expert: id,
                expected: expected_version,
                current: expert.version,
            });
        }
        let phone_region = profile
            .nationality
            .iter()
            .chain(expert.nominations.first().map(|n| &n.nominator))
            .find_map(|code| self.membership.get(code)?.alpha2.clone());
        let errors = profile.validate(
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
        expert.profile = profile;
        let stored = self
            .store
            .update_expert(&expert, None)
            .await
            .map_err(conflict(id))?;
        tracing::info!(expert = %id, version = stored.version, "profile updated");
        Ok(stored)
    }

    /// Checks the hash chain of the whole audit trail and reports the first
    /// entry that was altered, removed or moved. RSO only.
    pub async fn verify_audit_trail(&self, actor: &Actor) -> Result<ChainReport, RosterError> {
        require_rso(actor, "verify the audit trail")?;
        let trail = self.store.audit_trail(None).await?;
        Ok(verify_chain(&trail))
    }

    /// Up to `limit` outbox messages not yet sent, oldest first, for the
    /// portal to send. An RSO officer or the system.
    pub async fn pending_messages(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, RosterError> {
        require_rso_or_system(actor, "read the outbox")?;
        Ok(self.store.pending(limit).await?)
    }

    /// Records that the portal sent an outbox message; `false` when it was
    /// already recorded. An RSO officer or the system.
    pub async fn mark_message_sent(&self, actor: &Actor, id: i64) -> Result<bool, RosterError> {
        require_rso_or_system(actor, "update the outbox")?;
        Ok(self.store.mark_sent(id, self.now()).await?)
    }

    /// One expert. RSO officers see everyone; an expert sees only itself; a
    /// nominator sees the experts it nominated; any other member state or
    /// observer sees an expert included on the roster, as
    /// [`included_experts`](Roster::included_experts) shows it (without its
    /// referees' contact addresses).
    pub async fn expert(&self, actor: &Actor, id: ExpertId) -> Result<Expert, RosterError> {
        let expert = self.get(id).await?;
        match actor {
            Actor::Rso(_) => Ok(expert),
            Actor::Expert(me) if *me == id => Ok(expert),
            Actor::Participant(code) => {
                member_view(code, expert).ok_or_else(|| forbidden(actor, "see this expert"))
            }
            _ => Err(forbidden(actor, "see this expert")),
        }
    }

    /// Every expert, ordered by id. RSO only.
    pub async fn experts(&self, actor: &Actor) -> Result<Vec<Expert>, RosterError> {
        require_rso(actor, "list every expert")?;
        Ok(self.store.experts().await?)
    }

    /// The experts included on the roster, ordered by id, for members to
    /// search. RSO officers see them whole; a member state or observer
    /// sees the experts it nominated whole and the others without their
    /// referees' contact addresses (left empty: a member asks the RSO to
    /// reach a referee). Anyone else is refused.
    pub async fn included_experts(&self, actor: &Actor) -> Result<Vec<Expert>, RosterError> {
        let member = match actor {
            Actor::Rso(_) => None,
            Actor::Participant(code) => Some(code.as_str()),
            _ => return Err(forbidden(actor, "search the included experts")),
        };
        let experts = self.store.experts().await?;
        Ok(experts
            .into_iter()
            .filter(|e| e.status == Status::Included)
            .filter_map(|e| match member {
                Some(code) => member_view(code, e),
                None => Some(e),
            })
            .collect())
    }

    /// What the included experts cover, and the gaps, for targeting the
    /// next call (see [`coverage`](crate::matching::coverage::coverage)).
    /// The RSO reads it whole. An analyst reads the aggregates: the terms
    /// ending soon, which name experts, are left out and only counted in
    /// `terms_ending_count`. Anyone else is refused.
    pub async fn coverage(
        &self,
        actor: &Actor,
        options: &crate::matching::coverage::CoverageOptions,
    ) -> Result<crate::matching::coverage::Coverage, RosterError> {
        let whole = match actor {
            Actor::Rso(_) => true,
            Actor::Analyst(_) => false,
            _ => return Err(forbidden(actor, "read the coverage report")),
        };
        let experts = self.store.experts().await?;
        let mut report = crate::matching::coverage::coverage(&experts, self.taxonomy, options);
        if !whole {
            report.terms_ending.clear();
        }
        Ok(report)
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
        self.check_request(actor, &mut request)?;
        if !self.store.save_request(&request).await? {
            // Exclusions stored by earlier versions may be in any order.
            let stored = self.store.request(&request.key()).await?.map(|mut s| {
                s.excluded.sort_unstable();
                s.excluded.dedup();
                s
            });
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
        let shortlist = self.rank_now(&request).await?;
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

    async fn issue_invitation(
        &self,
        expert: Expert,
        audit: Option<AuditDraft>,
    ) -> Result<Invited, RosterError> {
        let token = InvitationToken::generate().map_err(RosterError::Randomness)?;
        let issued_at = self.now();
        // A validity that is not positive would make a token that never
        // works, and one past the calendar one that never expires; both are
        // refused rather than saturated.
        let valid_for = self.lifecycle.invitation_valid_for;
        let expires_at = issued_at
            .checked_add_signed(valid_for)
            .filter(|_| valid_for > chrono::TimeDelta::zero())
            .ok_or_else(|| {
                crate::ValidationError::new(
                    Field::new("lifecycle.invitation_valid_for"),
                    format!("must be a positive period within the calendar, not {valid_for}"),
                )
            })?;
        let new = NewInvitation {
            expert: expert.id,
            token_hash: token.hash(),
            email_key: email_key(&expert.profile.email),
            address: expert.profile.email.clone(),
            issued_at,
            expires_at,
        };
        let issued = self
            .store
            .issue_invitation(&expert, audit, &new)
            .await
            .map_err(conflict(expert.id))?;
        tracing::info!(
            expert = %expert.id,
            invitation = issued.invitation.id,
            message = issued.message.id,
            "invitation issued"
        );
        Ok(Invited {
            expert: issued.expert,
            token,
            invitation: issued.invitation.id,
            expires_at,
            message: issued.message.id,
        })
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

fn require_rso_or_system(actor: &Actor, action: &'static str) -> Result<(), RosterError> {
    match actor {
        Actor::Rso(_) | Actor::System => Ok(()),
        _ => Err(forbidden(actor, action)),
    }
}

fn check_call_window(call: &Call) -> Result<(), RosterError> {
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
    Ok(())
}

/// The stored call when `asked` opens it again with the same window.
fn same_call(stored: Call, asked: &Call) -> Result<Call, RosterError> {
    if stored.window == asked.window {
        return Ok(stored);
    }
    Err(crate::ValidationError::new(
        Field::new("window"),
        format!(
            "the call of {} is open from {} to {}; change it with update_call against version {}",
            stored.year, stored.window.first, stored.window.last, stored.version
        ),
    )
    .into())
}

fn require_reason(reason: &str) -> Result<(), RosterError> {
    if reason.trim().is_empty() {
        return Err(crate::ValidationError::new(
            Field::new("reason"),
            "is empty; say why, for the record",
        )
        .into());
    }
    Ok(())
}

/// A stale version of `expert` becomes the facade's conflict error.
fn conflict(expert: ExpertId) -> impl FnOnce(StoreError) -> RosterError {
    move |err| match err {
        StoreError::Conflict {
            entity: "expert",
            expected,
            current,
            ..
        } => RosterError::Conflict {
            expert,
            expected,
            current,
        },
        other => other.into(),
    }
}

/// What member `code` may see of `expert`: all of an expert it nominated;
/// of another, only when included, and without its referees' contact
/// addresses; nothing otherwise.
fn member_view(code: &str, mut expert: Expert) -> Option<Expert> {
    if expert.nominators().contains(code) {
        return Some(expert);
    }
    if expert.status != Status::Included {
        return None;
    }
    for referee in &mut expert.profile.referees {
        referee.email.clear();
    }
    Some(expert)
}

fn forbidden(actor: &Actor, action: &'static str) -> RosterError {
    RosterError::Forbidden {
        actor: actor.to_string(),
        action,
    }
}

/// An issued invitation: the expert as stored, and the token to put in the
/// e-mail link. The token is handed out only here and is never serialised:
/// take it with [`InvitationToken::expose`].
#[derive(Debug, Clone, Serialize)]
pub struct Invited {
    /// The invited expert.
    #[serde(flatten)]
    pub expert: Expert,
    /// The secret for the link; the store keeps only its hash.
    #[serde(skip)]
    pub token: InvitationToken,
    /// The invitation's id.
    #[serde(skip)]
    pub invitation: i64,
    /// When the token stops working.
    #[serde(skip)]
    pub expires_at: DateTime<Utc>,
    /// The outbox message that carries the invitation.
    #[serde(skip)]
    pub message: i64,
}

/// What a [`Roster::sweep`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Experts whose term had ended, now expired.
    pub expired: Vec<ExpertId>,
    /// Experts sent a reminder that their term ends soon.
    pub reminded: Vec<ExpertId>,
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
