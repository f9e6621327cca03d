//! The tender's side of its draws: the commitment logged at publish, the
//! terms kept as published, the reveal deadline set by the record, and the
//! one transition that logs the results (revealed or fallback) exactly once.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{DrawTerms, OpenedBid, outcome, seed::commitment};
use crate::domain::event::{
    Digest, DrawCommitted, DrawFailed, DrawHost, DrawNonce, DrawResultLogged, DrawRevealed, EventPayload, StaffRef,
};
use crate::domain::{DomainError, EventDraft, Tender, TenderState};

/// Where a tender's draws are, kept in its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawState {
    /// When the host's reveal is due (the record's time + `reveal_minutes`).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: OffsetDateTime,
    /// When the results were logged (`None`: not yet).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub drawn_at: Option<OffsetDateTime>,
}

/// The earlier of two optional times.
pub fn earliest(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the application layer read for a run: the record's log head and
/// the opened bids in row order, and the host's reveal (`None`: fallback).
#[derive(Debug, Clone)]
pub struct DrawRun {
    /// Log size just after `record.published`.
    pub record_size: u64,
    /// The log's root at that size.
    pub record_head: [u8; 32],
    /// The opened bids, in the record's row order.
    pub opened: Vec<OpenedBid>,
    /// The host's secret and who revealed it.
    pub reveal: Option<([u8; 32], StaffRef)>,
}

impl Tender {
    /// The declared draws, if any.
    pub fn draw_terms(&self) -> Option<&DrawTerms> {
        self.session.as_ref()?.draws.as_ref()
    }

    /// `draw.committed`, logged with the publication of a tender with draws.
    pub(crate) fn draw_committed(&self) -> Option<EventDraft> {
        let d = self.draw_terms()?;
        let commitment = Digest::from_hex(&d.commitment).ok()?;
        Some(
            EventPayload::DrawCommitted(DrawCommitted {
                commitment,
                reveal_minutes: d.reveal_minutes,
                draws: d.draws.iter().map(|x| x.id.clone()).collect(),
                formulas: d.formulas.iter().map(|x| x.id.clone()).collect(),
            })
            .into(),
        )
    }

    /// Refuses an amendment that would change the draws fixed at publish.
    pub(crate) fn keep_draws(&self, terms: &crate::domain::tender::SessionTerms) -> Result<(), DomainError> {
        if terms.draws.as_ref() != self.draw_terms() {
            return Err(DomainError::invalid("session.draws", "the draws and formulas are fixed at publish"));
        }
        Ok(())
    }

    /// Sets the reveal deadline when the record is published.
    pub(crate) fn arm_draws(&mut self, now: OffsetDateTime) {
        if let Some(d) = self.draw_terms() {
            let due_at = now + Duration::minutes(i64::from(d.reveal_minutes));
            self.draw_state = Some(DrawState { due_at, drawn_at: None });
        }
    }

    /// When the scheduler must run the fallback, if the draws are pending.
    pub fn draws_due(&self) -> Option<OffsetDateTime> {
        match &self.draw_state {
            Some(s) if s.drawn_at.is_none() && self.state == TenderState::Opened => Some(s.due_at),
            _ => None,
        }
    }

    /// Are the draws waiting for the host's reveal?
    pub fn draws_pending(&self) -> bool {
        self.draw_state.as_ref().is_some_and(|s| s.drawn_at.is_none())
    }

    /// Logs the draws' results, once: with the host's reveal (checked
    /// against the commitment) or, from the due time on, the fallback
    /// after a `draw.failed`.
    pub fn run_draws(&mut self, run: DrawRun, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        let terms =
            self.draw_terms().cloned().ok_or(DomainError::Transition { action: "draw", state: "without draws" })?;
        let Some(state) = self.draw_state.clone().filter(|s| s.drawn_at.is_none()) else {
            return Err(DomainError::Transition { action: "draw", state: "already drawn or without a record" });
        };
        let mut events: Vec<EventDraft> = Vec::new();
        let secret = match run.reveal {
            Some((secret, by)) => {
                if hex::encode(commitment(&secret)) != terms.commitment {
                    return Err(DomainError::invalid("secret", "does not match the commitment logged at publish"));
                }
                events.push(EventPayload::DrawRevealed(DrawRevealed { secret: Digest(secret), by, at: now }).into());
                Some(secret)
            }
            None => {
                if now < state.due_at {
                    return Err(DomainError::Transition { action: "fall back on the draws of", state: "not due" });
                }
                let reason =
                    "the host did not reveal the draw secret in time; the stated fallback seed (no secret) is used";
                events.push(
                    EventPayload::DrawFailed(DrawFailed { reason: reason.into(), due_at: state.due_at, at: now })
                        .into(),
                );
                None
            }
        };
        let out = outcome(&terms, self.id, run.record_size, run.record_head, secret, &run.opened);
        events.push(
            EventPayload::DrawResult(DrawResultLogged {
                record_size: run.record_size,
                record_head: Digest(run.record_head),
                host: if secret.is_some() { DrawHost::Revealed } else { DrawHost::Fallback },
                nonces: out.nonces.iter().map(|(b, n)| DrawNonce { bid_id: *b, nonce: Digest(*n) }).collect(),
                seed: Digest(out.seed),
                draws: out.draws,
                prices: out.prices,
            })
            .into(),
        );
        self.draw_state = Some(DrawState { drawn_at: Some(now), ..state });
        Ok(events)
    }
}
