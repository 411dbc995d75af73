//! Previews and the engagement lifecycle: proposed, then accepted or
//! declined, then completed with feedback.

use super::{Roster, forbidden, require_rso};
use crate::error::{Field, RosterError, StoreError, ValidationError};
use crate::lifecycle::Actor;
use crate::matching::{self, Filter, Shortlist};
use crate::model::{
    Engagement, EngagementState, ExpertId, Feedback, MissionFeedback, MissionRequest, request_key,
};
use crate::store::Caps;

impl Roster {
    /// Ranks the roster for a request without recording anything: the
    /// request is not stored and no engagement changes, so a preview never
    /// moves rotation or load. The requesting member or an RSO officer.
    pub async fn preview(
        &self,
        actor: &Actor,
        mut request: MissionRequest,
    ) -> Result<Shortlist, RosterError> {
        self.check_request(actor, &mut request)?;
        self.rank_now(&request).await
    }

    /// Proposes an expert for an issued request. The expert must pass every
    /// hard filter now (load cap included); the reason is the error
    /// otherwise. RSO only.
    pub async fn propose(
        &self,
        actor: &Actor,
        requester: &str,
        request_id: &str,
        expert: ExpertId,
    ) -> Result<Engagement, RosterError> {
        require_rso(actor, "propose experts")?;
        let request = self.issued(requester, request_id).await?;
        let shortlist = self.rank_now(&request).await?;
        if !shortlist.ranked.iter().any(|r| r.expert == expert) {
            return Err(
                ValidationError::new(Field::new("expert"), shortlist.why_not(expert)).into(),
            );
        }
        let proposal = Engagement {
            request_id: request.key(),
            expert,
            window: request.window,
            state: EngagementState::Proposed,
            version: 1,
            feedback: None,
        };
        let engagement = match self.find_engagement(&request, expert).await? {
            None => match self.store.create_engagement(&proposal).await {
                // Another call proposed the expert between the read and the
                // write: the same outcome, so the same answer.
                Err(lost @ StoreError::Duplicate { .. }) => {
                    return self
                        .settled(&request, expert, EngagementState::Proposed, lost)
                        .await;
                }
                other => other?,
            },
            Some(stored) => match stored.state {
                EngagementState::Proposed => return Ok(stored),
                // A declined expert may be proposed again.
                EngagementState::Declined => {
                    let again = Engagement {
                        version: stored.version,
                        ..proposal
                    };
                    self.write_or_settle(&request, &again).await?
                }
                other => return Err(wrong_state(&stored, other, "proposed")),
            },
        };
        tracing::info!(request = %engagement.request_id, expert = %expert, "expert proposed");
        Ok(engagement)
    }

    /// Confirms a proposed engagement; from now on it holds the expert's days
    /// and counts for rotation and the load cap. The filters are checked
    /// again, and the store checks the load cap and the request's demand
    /// once more in the step that records the acceptance, so accepting
    /// proposals one after another or at once, in any date order, never
    /// breaches the cap and never gives a request more experts than it
    /// wants. A refusal is an error on `expert`: for the cap it gives the
    /// cap and the full period; for a filled request, how many experts it
    /// wants (declining one of them frees the place). An RSO officer, the
    /// requesting member or the expert.
    pub async fn accept(
        &self,
        actor: &Actor,
        requester: &str,
        request_id: &str,
        expert: ExpertId,
    ) -> Result<Engagement, RosterError> {
        self.may_answer(actor, requester, expert, "accept this engagement")?;
        let request = self.issued(requester, request_id).await?;
        let mut engagement = self.engagement(&request, expert, "accepted").await?;
        match engagement.state {
            EngagementState::Accepted => return Ok(engagement),
            EngagementState::Proposed => {}
            other => return Err(wrong_state(&engagement, other, "accepted")),
        }
        let shortlist = self.rank_now(&request).await?;
        if !shortlist.ranked.iter().any(|r| r.expert == expert) {
            return Err(
                ValidationError::new(Field::new("expert"), shortlist.why_not(expert)).into(),
            );
        }
        engagement.state = EngagementState::Accepted;
        // The ranking above reads outside the store's transaction, so the
        // store checks the caps again as it writes: of two accepts for one
        // expert, or on one request, at once, the second sees the first.
        let caps = Caps {
            load: self.matching.load_cap,
            wanted: Some(request.experts_wanted),
        };
        let engagement = match self.store.update_engagement_capped(&engagement, caps).await {
            Err(StoreError::LoadCap { breach, .. }) => {
                return Err(ValidationError::new(
                    Field::new("expert"),
                    format!(
                        "{expert} was removed by the filter \"{}\": {breach}",
                        Filter::LoadCap
                    ),
                )
                .into());
            }
            // Another call changed the engagement since it was read: fine
            // if it was accepted, as asked; otherwise the error stands.
            Err(lost @ StoreError::Conflict { .. }) => {
                return self
                    .settled(&request, expert, EngagementState::Accepted, lost)
                    .await;
            }
            // Another acceptance of the expert, on overlapping days, was
            // recorded since the ranking: the ranking now says why.
            Err(err @ StoreError::Duplicate { .. }) => {
                let shortlist = self.rank_now(&request).await?;
                return Err(if shortlist.ranked.iter().any(|r| r.expert == expert) {
                    err.into()
                } else {
                    ValidationError::new(Field::new("expert"), shortlist.why_not(expert)).into()
                });
            }
            Err(StoreError::Filled { wanted, .. }) => {
                return Err(ValidationError::new(
                    Field::new("expert"),
                    format!(
                        "{} wants {wanted} {} and already has {}; decline one before \
                         accepting {expert}",
                        request.key(),
                        if wanted == 1 { "expert" } else { "experts" },
                        if wanted == 1 { "it" } else { "them" }
                    ),
                )
                .into());
            }
            other => other?,
        };
        tracing::info!(request = %engagement.request_id, expert = %expert, "engagement accepted");
        Ok(engagement)
    }

    /// Declines a proposed or accepted engagement, freeing the expert's
    /// days. An RSO officer, the requesting member or the expert.
    pub async fn decline_engagement(
        &self,
        actor: &Actor,
        requester: &str,
        request_id: &str,
        expert: ExpertId,
    ) -> Result<Engagement, RosterError> {
        self.may_answer(actor, requester, expert, "decline this engagement")?;
        let request = self.issued(requester, request_id).await?;
        let mut engagement = self.engagement(&request, expert, "declined").await?;
        match engagement.state {
            EngagementState::Declined => return Ok(engagement),
            EngagementState::Proposed | EngagementState::Accepted => {}
            other => return Err(wrong_state(&engagement, other, "declined")),
        }
        engagement.state = EngagementState::Declined;
        let engagement = self.write_or_settle(&request, &engagement).await?;
        tracing::info!(request = %engagement.request_id, expert = %expert, "engagement declined");
        Ok(engagement)
    }

    /// Records an accepted mission as carried out, with its post-mission
    /// feedback when that is at hand; feedback that arrives later goes
    /// through [`record_feedback`](Roster::record_feedback). A mission is
    /// completed from its first day on (one cut short may end before its
    /// last day); before that, completing it is an error on `state`. RSO
    /// only.
    ///
    /// Completing a completed engagement again is harmless: without
    /// feedback, or with the feedback already recorded, it returns the
    /// stored engagement unchanged; with feedback where none is recorded
    /// yet, it records it. Feedback that differs from the recorded feedback
    /// is refused with an error on `feedback`: recorded feedback is never
    /// replaced.
    pub async fn complete(
        &self,
        actor: &Actor,
        requester: &str,
        request_id: &str,
        expert: ExpertId,
        feedback: Option<Feedback>,
    ) -> Result<Engagement, RosterError> {
        require_rso(actor, "record completed missions")?;
        let feedback = feedback.map(checked_feedback).transpose()?;
        let request = self.issued(requester, request_id).await?;
        let mut engagement = self.engagement(&request, expert, "completed").await?;
        match engagement.state {
            EngagementState::Completed => {
                return match feedback {
                    Some(feedback) => self.add_feedback(actor, engagement, feedback).await,
                    None => Ok(engagement),
                };
            }
            EngagementState::Accepted => {}
            other => return Err(wrong_state(&engagement, other, "completed")),
        }
        let today = self.today();
        if today < engagement.window.first {
            return Err(ValidationError::new(
                Field::new("state"),
                format!(
                    "the mission of {expert} on {} starts on {}, and today is {today}; a \
                     mission is recorded as completed from its first day",
                    engagement.request_id, engagement.window.first
                ),
            )
            .into());
        }
        engagement.state = EngagementState::Completed;
        engagement.feedback = feedback.clone().map(|f| self.recorded(actor, f));
        let engagement = match self.store.update_engagement(&engagement).await {
            // Another call changed the engagement since it was read; if it
            // completed it, this call is answered as completing again is.
            Err(lost @ StoreError::Conflict { .. }) => {
                let stored = self
                    .settled(&request, expert, EngagementState::Completed, lost)
                    .await?;
                return match feedback {
                    Some(feedback) => self.add_feedback(actor, stored, feedback).await,
                    None => Ok(stored),
                };
            }
            other => other?,
        };
        tracing::info!(
            request = %engagement.request_id,
            expert = %expert,
            with_feedback = engagement.feedback.is_some(),
            "mission completed"
        );
        Ok(engagement)
    }

    /// Records the post-mission feedback of a completed engagement that has
    /// none yet. Recording the same rating and comment again returns the
    /// stored engagement unchanged; different feedback is refused with an
    /// error on `feedback`, since recorded feedback is never replaced. The
    /// change is made against the version read, so of two recordings at
    /// once one wins and the other fails with a conflict. RSO only.
    pub async fn record_feedback(
        &self,
        actor: &Actor,
        requester: &str,
        request_id: &str,
        expert: ExpertId,
        feedback: Feedback,
    ) -> Result<Engagement, RosterError> {
        require_rso(actor, "record post-mission feedback")?;
        let feedback = checked_feedback(feedback)?;
        let request = self.issued(requester, request_id).await?;
        let engagement = self.engagement(&request, expert, "given feedback").await?;
        if engagement.state != EngagementState::Completed {
            return Err(ValidationError::new(
                Field::new("state"),
                format!(
                    "the engagement of {} on {} is {}; feedback is recorded only once the \
                     mission is completed",
                    engagement.expert,
                    engagement.request_id,
                    state_name(engagement.state)
                ),
            )
            .into());
        }
        self.add_feedback(actor, engagement, feedback).await
    }

    /// Access and validation shared by issuing and previewing a request.
    pub(super) fn check_request(
        &self,
        actor: &Actor,
        request: &mut MissionRequest,
    ) -> Result<(), RosterError> {
        match actor {
            Actor::Rso(_) => {}
            Actor::Participant(code) if *code == request.requester => {}
            _ => return Err(forbidden(actor, "request experts for another member")),
        }
        let errors = request.validate(self.taxonomy, &self.membership);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.into())
        }
    }

    /// Ranks the stored roster for a valid request, with today's engagements.
    pub(super) async fn rank_now(
        &self,
        request: &MissionRequest,
    ) -> Result<Shortlist, RosterError> {
        let experts = self.store.experts().await?;
        let engagements = self.store.engagements(None).await?;
        let ctx = matching::Context {
            taxonomy: self.taxonomy,
            membership: &self.membership,
            policy: &self.matching,
            engagements: &engagements,
            today: self.today(),
        };
        Ok(matching::rank(request, &experts, &ctx))
    }

    async fn issued(
        &self,
        requester: &str,
        request_id: &str,
    ) -> Result<MissionRequest, RosterError> {
        let key = request_key(requester, request_id);
        self.store.request(&key).await?.ok_or_else(|| {
            StoreError::NotFound {
                entity: "request",
                id: key,
            }
            .into()
        })
    }

    /// The engagement of `expert` on `request`, as stored.
    async fn find_engagement(
        &self,
        request: &MissionRequest,
        expert: ExpertId,
    ) -> Result<Option<Engagement>, RosterError> {
        self.find_engagement_by_key(&request.key(), expert).await
    }

    async fn find_engagement_by_key(
        &self,
        key: &str,
        expert: ExpertId,
    ) -> Result<Option<Engagement>, RosterError> {
        Ok(self
            .store
            .engagements(Some(expert))
            .await?
            .into_iter()
            .find(|e| e.request_id == key))
    }

    /// After a write lost a race to another call on the same engagement,
    /// failing with `lost`: the stored engagement when the other call left
    /// it in `state`, the state asked for, so that retries and double
    /// submissions all get the answer the first one got; `lost` otherwise.
    async fn settled(
        &self,
        request: &MissionRequest,
        expert: ExpertId,
        state: EngagementState,
        lost: StoreError,
    ) -> Result<Engagement, RosterError> {
        match self.find_engagement(request, expert).await? {
            Some(stored) if stored.state == state => Ok(stored),
            _ => Err(lost.into()),
        }
    }

    /// Writes `engagement`; when another call changed it first, answers
    /// as [`settled`](Roster::settled) does for the state it was to have.
    async fn write_or_settle(
        &self,
        request: &MissionRequest,
        engagement: &Engagement,
    ) -> Result<Engagement, RosterError> {
        match self.store.update_engagement(engagement).await {
            Err(lost @ StoreError::Conflict { .. }) => {
                self.settled(request, engagement.expert, engagement.state, lost)
                    .await
            }
            other => Ok(other?),
        }
    }

    async fn engagement(
        &self,
        request: &MissionRequest,
        expert: ExpertId,
        to: &str,
    ) -> Result<Engagement, RosterError> {
        self.find_engagement(request, expert).await?.ok_or_else(|| {
            ValidationError::new(
                Field::new("expert"),
                format!(
                    "{expert} was never proposed for {}, so cannot be {to}",
                    request.key()
                ),
            )
            .into()
        })
    }

    /// Adds validated `feedback` to a completed engagement: unchanged when
    /// it already says the same, refused when it says something else.
    async fn add_feedback(
        &self,
        actor: &Actor,
        mut engagement: Engagement,
        feedback: Feedback,
    ) -> Result<Engagement, RosterError> {
        if let Some(answer) = feedback_on_record(&engagement, &feedback) {
            return answer;
        }
        engagement.feedback = Some(self.recorded(actor, feedback.clone()));
        let engagement = match self.store.update_engagement(&engagement).await {
            // Another call changed the engagement since it was read: when it
            // recorded feedback, answer as if this call came after it.
            Err(lost @ StoreError::Conflict { .. }) => {
                let stored = self
                    .find_engagement_by_key(&engagement.request_id, engagement.expert)
                    .await?;
                return match stored.and_then(|s| feedback_on_record(&s, &feedback)) {
                    Some(answer) => answer,
                    None => Err(lost.into()),
                };
            }
            other => other?,
        };
        tracing::info!(
            request = %engagement.request_id,
            expert = %engagement.expert,
            "mission feedback recorded"
        );
        Ok(engagement)
    }

    /// Validated feedback as recorded now by `actor`.
    fn recorded(&self, actor: &Actor, feedback: Feedback) -> MissionFeedback {
        MissionFeedback {
            rating: feedback.rating,
            comment: feedback.comment,
            recorded_by: actor.to_string(),
            recorded_at: self.now(),
        }
    }

    fn may_answer(
        &self,
        actor: &Actor,
        requester: &str,
        expert: ExpertId,
        action: &'static str,
    ) -> Result<(), RosterError> {
        match actor {
            Actor::Rso(_) => Ok(()),
            Actor::Participant(code) if code == requester => Ok(()),
            Actor::Expert(me) if *me == expert => Ok(()),
            _ => Err(forbidden(actor, action)),
        }
    }
}

fn wrong_state(engagement: &Engagement, state: EngagementState, to: &str) -> RosterError {
    let state = state_name(state);
    ValidationError::new(
        Field::new("state"),
        format!(
            "the engagement of {} on {} is {state} and cannot be {to}",
            engagement.expert, engagement.request_id
        ),
    )
    .into()
}

/// The state's name in snake case, as serialised.
fn state_name(state: EngagementState) -> &'static str {
    match state {
        EngagementState::Proposed => "proposed",
        EngagementState::Accepted => "accepted",
        EngagementState::Declined => "declined",
        EngagementState::Completed => "completed",
    }
}

/// Feedback with its comment normalised, or every problem found, each
/// named under `feedback`.
fn checked_feedback(mut feedback: Feedback) -> Result<Feedback, RosterError> {
    let errors = feedback.validate(&Field::new("feedback"));
    if errors.is_empty() {
        Ok(feedback)
    } else {
        Err(errors.into())
    }
}

/// The answer to adding `feedback` to `engagement` when it already has
/// some: the engagement unchanged when the recorded feedback says the
/// same, an error on `feedback` when it says something else (recorded
/// feedback is never replaced); `None` when none is recorded.
fn feedback_on_record(
    engagement: &Engagement,
    feedback: &Feedback,
) -> Option<Result<Engagement, RosterError>> {
    let stored = engagement.feedback.as_ref()?;
    Some(if stored.says(feedback) {
        Ok(engagement.clone())
    } else {
        Err(ValidationError::new(
            Field::new("feedback"),
            format!(
                "the engagement of {} on {} already has feedback, recorded at {}; recorded \
                 feedback is never replaced",
                engagement.expert,
                engagement.request_id,
                stored.recorded_at.to_rfc3339()
            ),
        )
        .into())
    })
}
