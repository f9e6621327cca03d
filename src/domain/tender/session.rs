//! The tender's side of the opening session: stage changes, the host's
//! controls and the minimum of bidders, each a transition that takes the
//! store's time and returns its events (the stage machine itself is
//! `domain::session`).

use time::{Duration, OffsetDateTime};

use super::{SessionTerms, Tender, TenderState, non_empty_text};
use crate::domain::event::{
    EventPayload, LotCount, SessionExtended, SessionHeld, SessionResumed, SessionStageEntered, SessionTerminated,
    StaffRef, TenderFailed,
};
use crate::domain::session::{HoldKind, Stage, millis};
use crate::domain::{DomainError, EventDraft};

fn minutes(m: u32) -> Duration {
    Duration::minutes(i64::from(m))
}

impl Tender {
    /// The session's terms (a tender from before sessions follows
    /// [`SessionTerms::legacy`]).
    pub fn terms(&self) -> SessionTerms {
        self.session.clone().unwrap_or_else(SessionTerms::legacy)
    }

    /// When sign-in opens, if the tender has a sign-in stage.
    pub fn sign_in_at(&self) -> Option<OffsetDateTime> {
        let lead = self.session.as_ref()?.sign_in_minutes;
        (lead > 0).then(|| self.opening_at - minutes(lead))
    }

    /// When the scheduler must next move the session on its own (sign-in
    /// opening, confirmation ending), if ever: stored beside the tender so
    /// the scheduler finds it with one query.
    pub fn session_due(&self) -> Option<OffsetDateTime> {
        let s = &self.session_state;
        let due = match (self.state, s.stage) {
            (TenderState::Published | TenderState::Closed, None) => self.sign_in_at(),
            // An unanswered objection holds the stage open; the answer
            // that clears the last one makes it due again.
            (TenderState::Opened, Some(Stage::Confirmation)) if !s.held() && s.open_objections.is_empty() => s.ends_at,
            _ => None,
        };
        // The draws' fallback is due on the same column (docs/DRAWS.md).
        crate::domain::draw::earliest(due, self.draws_due())
    }

    /// Has the release window ended (shifted by holds and an extension)?
    pub fn window_over(&self, now: OffsetDateTime) -> bool {
        self.session_state.window_over(now, self.release_until())
    }

    /// May the engine open (or record) bids now? Not while held, not before
    /// the 唱标 of a tender with a session.
    pub fn may_announce(&self) -> bool {
        let s = &self.session_state;
        self.state == TenderState::Opening
            && !s.held()
            && s.terminated.is_none()
            && (self.session.is_none() || s.stage == Some(Stage::Announcement))
    }

    pub(crate) fn stage_event(
        &mut self,
        stage: Stage,
        at: OffsetDateTime,
        ends_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> EventDraft {
        self.session_state.enter(stage, at, ends_at);
        let prices = if stage == Stage::Announcement { self.terms().prices } else { Vec::new() };
        EventPayload::SessionStage(SessionStageEntered { stage, at, ends_at, processed_at: now, prices }).into()
    }

    /// Opens sign-in (签到), at the lead time before the opening; recorded
    /// at that time even when processed late, like the close.
    pub fn open_sign_in(&mut self, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        let at = self
            .sign_in_at()
            .ok_or(DomainError::Transition { action: "open sign-in for", state: "without a sign-in stage" })?;
        if !matches!(self.state, TenderState::Published | TenderState::Closed) || self.session_state.stage.is_some() {
            return Err(self.refuse("open sign-in for"));
        }
        if now < at {
            return Err(DomainError::Transition { action: "open sign-in for", state: "before its sign-in time" });
        }
        Ok(vec![self.stage_event(Stage::SignIn, at, Some(self.opening_at), now)])
    }

    /// Starts the opening session at the opening time. `bidders` counts,
    /// per lot, the distinct bidders with a standing bid. Lots below the
    /// minimum fail (流标) and stay sealed; when every lot fails the tender
    /// does, and nothing opens at all.
    pub fn start_session(&mut self, now: OffsetDateTime, bidders: &[LotCount]) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Closed {
            return Err(self.refuse("open"));
        }
        if now < self.opening_at {
            return Err(DomainError::Transition { action: "open", state: "before its opening time" });
        }
        let terms = self.terms();
        let count = |lot: &str| bidders.iter().find(|c| c.lot == lot).map_or(0, |c| c.bidders);
        let failed: Vec<LotCount> = self
            .lots
            .iter()
            .map(|l| LotCount { lot: l.id.clone(), bidders: count(&l.id) })
            .filter(|c| c.bidders < u64::from(terms.min_bids))
            .collect();
        let whole = failed.len() == self.lots.len();
        let mut events = Vec::new();
        if !failed.is_empty() {
            let rule = format!(
                "a lot is opened only with at least {} distinct bidder(s) holding a standing bid at the close",
                terms.min_bids
            );
            self.failed_lots = failed.iter().map(|c| c.lot.clone()).collect();
            events.push(
                EventPayload::TenderFailed(TenderFailed {
                    lots: failed,
                    min_bids: terms.min_bids,
                    whole,
                    rule,
                    at: now,
                })
                .into(),
            );
        }
        if whole {
            self.state = TenderState::Failed;
            events.push(self.stage_event(Stage::Closed, now, None, now));
            return Ok(events);
        }
        events.extend(self.start_opening(now)?);
        if self.session.is_some() {
            let until = self.release_until().max(now);
            events.push(self.stage_event(Stage::Decryption, self.opening_at, Some(until), now));
        }
        Ok(events)
    }

    /// The decryption stage is over (every bid has its shares, or the
    /// window ended): the 唱标 begins.
    pub fn start_announcement(&mut self, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Opening || self.session_state.stage != Some(Stage::Decryption) {
            return Err(self.refuse("start the announcement of"));
        }
        if self.session_state.held() || self.session_state.terminated.is_some() {
            return Err(DomainError::Transition { action: "start the announcement of", state: "held" });
        }
        let ends = now + minutes(self.terms().announcement_minutes);
        Ok(vec![self.stage_event(Stage::Announcement, now, Some(ends), now)])
    }

    /// After the record: confirmation (确认) for its minutes, or straight to
    /// closed. Nothing for a tender without a session.
    pub(super) fn enter_confirmation(&mut self, now: OffsetDateTime) -> Vec<EventDraft> {
        let Some(terms) = self.session.clone() else { return vec![] };
        if terms.confirmation_minutes == 0 {
            return vec![self.stage_event(Stage::Closed, now, None, now)];
        }
        let ends = now + minutes(terms.confirmation_minutes);
        vec![self.stage_event(Stage::Confirmation, now, Some(ends), now)]
    }

    /// Ends the confirmation stage at its time (recorded at that time).
    pub fn close_session(&mut self, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        let s = &self.session_state;
        let ends = match (s.stage, s.ends_at) {
            (Some(Stage::Confirmation), Some(ends)) if !s.held() => ends,
            _ => return Err(self.refuse("close the session of")),
        };
        if now < ends {
            return Err(DomainError::Transition { action: "close the session of", state: "before its end" });
        }
        if !s.open_objections.is_empty() {
            return Err(DomainError::Transition { action: "close the session of", state: "waiting for answers" });
        }
        Ok(vec![self.stage_event(Stage::Closed, ends, None, now)])
    }

    /// The host pauses (`Paused`) or suspends (`Suspended`, with a public
    /// notice) the session.
    pub fn hold_session(
        &mut self,
        kind: HoldKind,
        notice: Option<String>,
        by: StaffRef,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        self.in_session("hold")?;
        match (&notice, kind) {
            (Some(n), _) => non_empty_text("notice", n, 2_000)?,
            (None, HoldKind::Suspended) => {
                return Err(DomainError::invalid("notice", "a suspension needs a public notice"));
            }
            (None, HoldKind::Paused) => {}
        }
        let (stage, time_left_ms) = self.session_state.hold(kind, notice.clone(), now)?;
        let held = SessionHeld { stage, at: now, time_left_ms, notice, by };
        Ok(vec![
            match kind {
                HoldKind::Paused => EventPayload::SessionPaused(held),
                HoldKind::Suspended => EventPayload::SessionSuspended(held),
            }
            .into(),
        ])
    }

    /// The host resumes a paused or suspended session.
    pub fn resume_session(&mut self, by: StaffRef, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        self.in_session("resume")?;
        let (hold, held) = self.session_state.resume(now)?;
        let s = &self.session_state;
        let stage = s.stage.unwrap_or(Stage::Decryption);
        let resumed = SessionResumed { stage, at: now, from: hold.kind, held_ms: millis(held), ends_at: s.ends_at, by };
        Ok(vec![EventPayload::SessionResumed(resumed).into()])
    }

    /// The host extends the current stage once.
    pub fn extend_session(
        &mut self,
        minutes: u32,
        reason: String,
        by: StaffRef,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        self.in_session("extend")?;
        non_empty_text("reason", &reason, 2_000)?;
        let (stage, ends_at) = self.session_state.extend(minutes, now)?;
        Ok(vec![EventPayload::SessionExtended(SessionExtended { stage, minutes, reason, ends_at, by }).into()])
    }

    /// The host terminates the session (终止): nothing more opens.
    pub fn terminate_session(
        &mut self,
        reason: String,
        by: StaffRef,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        non_empty_text("reason", &reason, 2_000)?;
        let previous_state = self.state;
        let signing_in = self.session_state.stage == Some(Stage::SignIn);
        match previous_state {
            TenderState::Closed | TenderState::Opening => {}
            // Before the deadline the tender is cancelled, not its session.
            TenderState::Published if signing_in => {}
            _ => return Err(self.refuse("terminate the session of")),
        }
        if self.session.is_none() {
            return Err(DomainError::Transition { action: "terminate the session of", state: "without a session" });
        }
        let stage = self.session_state.terminate(reason.clone())?;
        self.state = TenderState::Terminated;
        let ended = SessionTerminated { stage, at: now, reason, previous_state, by };
        Ok(vec![EventPayload::SessionTerminated(ended).into(), self.stage_event(Stage::Closed, now, None, now)])
    }

    fn in_session(&self, action: &'static str) -> Result<(), DomainError> {
        if self.session.is_none() {
            return Err(DomainError::Transition { action, state: "without a session" });
        }
        if self.state != TenderState::Opening {
            return Err(self.refuse(action));
        }
        Ok(())
    }
}
