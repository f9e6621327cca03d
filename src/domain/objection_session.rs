//! The tender's transitions for objections, confirmations, announcements
//! and the end of the session. The use case checks signatures, the record
//! and the bidder before; each transition re-checks the stage under the
//! tender's row lock, so a race ends in a refusal, never in a record that
//! disagrees with the log.

use time::OffsetDateTime;
use uuid::Uuid;

use super::event::{EventPayload, StaffRef};
use super::objection::{
    AnnouncementPosted, MAX_ANNOUNCEMENT_CHARS, MAX_ANSWER_CHARS, ObjectionAnswered, ObjectionRaised, QuotedQuestion,
    RecordConfirmed, SessionEnded, check_objection_text,
};
use super::session::Stage;
use super::text::{Lines, Text};
use super::{DomainError, EventDraft, Tender};

fn refused(action: &'static str, state: &'static str) -> DomainError {
    DomainError::Transition { action, state }
}

impl Tender {
    /// The stage objections may be raised in (唱标 or 确认), or why not.
    pub fn objection_stage(&self) -> Result<Stage, DomainError> {
        let s = &self.session_state;
        if s.terminated.is_some() {
            return Err(refused("raise an objection in", "terminated"));
        }
        match s.stage {
            Some(stage @ (Stage::Announcement | Stage::Confirmation)) => Ok(stage),
            _ => Err(refused("raise an objection in", "outside the announcement and confirmation stages")),
        }
    }

    /// Records a signed objection (checked by the caller).
    pub fn raise_objection(&mut self, raised: ObjectionRaised) -> Result<Vec<EventDraft>, DomainError> {
        let stage = self.objection_stage()?;
        check_objection_text(&raised.text)?;
        if raised.on_record {
            self.respond(&raised.bidder.id)?;
        }
        let s = &mut self.session_state;
        s.open_objections.push(raised.objection);
        s.acts += 1;
        Ok(vec![EventPayload::ObjectionRaised(ObjectionRaised { stage, ..raised }).into()])
    }

    /// The host answers an open objection.
    pub fn answer_objection(
        &mut self,
        objection: Uuid,
        answer: String,
        by: StaffRef,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        Text::required("answer", &answer, MAX_ANSWER_CHARS, Lines::Multi)?;
        let s = &mut self.session_state;
        let pos = s
            .open_objections
            .iter()
            .position(|o| *o == objection)
            .ok_or(refused("answer", "an objection that is not waiting for an answer"))?;
        s.open_objections.remove(pos);
        s.acts += 1;
        Ok(vec![EventPayload::ObjectionAnswered(ObjectionAnswered { objection, answer, at: now, by }).into()])
    }

    fn respond(&mut self, bidder: &str) -> Result<(), DomainError> {
        let s = &mut self.session_state;
        if s.stage != Some(Stage::Confirmation) || s.terminated.is_some() {
            return Err(refused("answer the record of", "not in the confirmation stage"));
        }
        if s.responded.iter().any(|b| b == bidder) {
            return Err(refused("answer the record of", "already answered by this bidder"));
        }
        s.responded.push(bidder.to_string());
        Ok(())
    }

    /// Records a bidder's signed confirmation (checked by the caller).
    pub fn confirm_record(&mut self, confirmed: RecordConfirmed) -> Result<Vec<EventDraft>, DomainError> {
        self.respond(&confirmed.bidder.id)?;
        self.session_state.acts += 1;
        Ok(vec![EventPayload::RecordConfirmed(confirmed).into()])
    }

    /// The host posts an announcement to the room, during the session;
    /// `reply_to` quotes the bidder's question it answers.
    pub fn post_announcement(
        &mut self,
        announcement: Uuid,
        text: String,
        by: StaffRef,
        reply_to: Option<QuotedQuestion>,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        Text::required("text", &text, MAX_ANNOUNCEMENT_CHARS, Lines::Multi)?;
        let s = &mut self.session_state;
        if s.stage.is_none() || s.stage == Some(Stage::Closed) || s.terminated.is_some() {
            return Err(refused("post an announcement in", "not in session"));
        }
        s.acts += 1;
        Ok(vec![
            EventPayload::AnnouncementPosted(AnnouncementPosted { announcement, text, at: now, by, reply_to }).into(),
        ])
    }

    /// Ends the confirmation stage and seals the final record: by the host
    /// (`ended.by`) at any time, or at the stage's end. Refused while an
    /// objection waits, and when anything was said since the record was
    /// built (`acts`), so the sealed bytes are the log's.
    pub fn end_session(
        &mut self,
        mut ended: SessionEnded,
        acts: u64,
        now: OffsetDateTime,
    ) -> Result<Vec<EventDraft>, DomainError> {
        let s = &self.session_state;
        let ends = match (s.stage, s.ends_at) {
            (Some(Stage::Confirmation), Some(ends)) if !s.held() && s.terminated.is_none() => ends,
            _ => return Err(refused("end the session of", "not in the confirmation stage")),
        };
        if !s.open_objections.is_empty() {
            return Err(refused("end the session of", "waiting for answers to objections"));
        }
        if s.acts != acts {
            return Err(refused("end the session of", "changed while its record was sealed"));
        }
        let at = if ended.by.is_some() {
            now
        } else if now < ends {
            return Err(refused("end the session of", "before its end"));
        } else {
            ends
        };
        // The event says when it was sealed; the closed stage begins by the terms.
        ended.at = if ended.by.is_some() { at } else { now };
        let mut events = vec![EventPayload::SessionEnded(ended).into()];
        events.push(self.stage_event(Stage::Closed, at, None, now));
        Ok(events)
    }
}
