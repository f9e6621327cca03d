//! Tenders and their lifecycle, as a pure state machine.
//!
//! ```text
//! draft ──publish──▶ published ──deadline──▶ closed
//!   │                   │  ▲ amend              │
//!   └──────cancel───────┴──┴────cancel──────────┴──▶ cancelled
//! ```

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event::{
    Digest, EventPayload, OpeningStarted, RecordPublished, RecordSummary, StreamChanged, TenderAmended,
    TenderCancelled, TenderClosed, TenderPublished, TimeChange,
};
use super::text::{Lines, Text};
use super::{DomainError, EventDraft};

mod fields;
mod policy;
mod session;
mod stream;
mod terms;

pub use fields::{FieldDef, FieldKind, Label, Lot};
pub use policy::{BIDDER_CUSTODIAN, BidLimits, CustodyPolicy, Registration, SERVER_CUSTODIAN};
pub use stream::{MAX_STREAM_URL, Stream, StreamKind};
pub use terms::{MAX_MIN_BIDS, MAX_STAGE_MINUTES, PriceKind, PriceLimit, SessionTerms, cents};

use super::session::SessionState;

/// The custody policy resolved to public keys, as bids are sealed to it.
pub type SealedCustody = crate::seal::CustodyPolicy;

/// Where a tender is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenderState {
    /// Being prepared by staff; not public.
    Draft,
    /// Public and accepting bids until the deadline.
    Published,
    /// The deadline has passed; no more bids.
    Closed,
    /// Withdrawn by the buyer.
    Cancelled,
    /// The opening is under way: custodians release, bids open one by one.
    Opening,
    /// The opening record has been published.
    Opened,
    /// 流标: every lot had fewer bidders than the minimum; nothing was decrypted.
    Failed,
    /// The host terminated the opening session (终止).
    Terminated,
}

impl TenderState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenderState::Draft => "draft",
            TenderState::Published => "published",
            TenderState::Closed => "closed",
            TenderState::Cancelled => "cancelled",
            TenderState::Opening => "opening",
            TenderState::Opened => "opened",
            TenderState::Failed => "failed",
            TenderState::Terminated => "terminated",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(TenderState::Draft),
            "published" => Some(TenderState::Published),
            "closed" => Some(TenderState::Closed),
            "cancelled" => Some(TenderState::Cancelled),
            "opening" => Some(TenderState::Opening),
            "opened" => Some(TenderState::Opened),
            "failed" => Some(TenderState::Failed),
            "terminated" => Some(TenderState::Terminated),
            _ => None,
        }
    }
}

/// What staff submit to create or edit a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenderDraft {
    /// Title shown to the public.
    pub title: String,
    /// The buyer's reference number, e.g. `ZB-2026-0042`.
    pub reference: String,
    /// Free text description.
    #[serde(default)]
    pub description: String,
    /// The contracting authority.
    pub buyer: String,
    /// ISO 4217 currency code of money fields.
    pub currency: String,
    /// One or more lots, each with the fields its bids must fill.
    pub lots: Vec<Lot>,
    /// Submission deadline.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub deadline: OffsetDateTime,
    /// Opening time; defaults to the deadline.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub opening_at: Option<OffsetDateTime>,
    /// Who holds the keys that open the bids.
    #[serde(default)]
    pub custody: CustodyPolicy,
    /// How bidders get admitted.
    #[serde(default)]
    pub registration: Registration,
    /// Limits on each bid.
    #[serde(default)]
    pub limits: BidLimits,
    /// The opening session's terms.
    #[serde(default)]
    pub session: SessionTerms,
}

/// A tender as stored and published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tender {
    /// Stable identifier.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// Current state.
    pub state: TenderState,
    /// Title shown to the public.
    pub title: String,
    /// The buyer's reference number.
    pub reference: String,
    /// Free text description.
    pub description: String,
    /// The contracting authority.
    pub buyer: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// The lots.
    pub lots: Vec<Lot>,
    /// Submission deadline.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub deadline: OffsetDateTime,
    /// Opening time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub opening_at: OffsetDateTime,
    /// Custody policy; fixed at publish.
    pub custody: CustodyPolicy,
    /// Bidder admission.
    pub registration: Registration,
    /// Limits on each bid.
    pub limits: BidLimits,
    /// The custody policy with each custodian's public key, fixed at publish:
    /// bids are sealed to exactly this.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custody_keys: Option<SealedCustody>,
    /// When the draft was created.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When it was published.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<OffsetDateTime>,
    /// When submission closed (the deadline itself, even if processed late).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    /// Why it was cancelled.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// The video stream shown in the room, set by staff until the opening ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    /// The opening session's terms (absent in tenders published before
    /// sessions existed, which follow [`SessionTerms::legacy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTerms>,
    /// Where the session is (empty until it begins).
    #[serde(default, skip_serializing_if = "SessionState::is_empty")]
    pub session_state: SessionState,
    /// Lots that failed for too few bidders (流标): their bids stay sealed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_lots: Vec<String>,
    /// Where the tender's draws are (set when the record is published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw_state: Option<crate::domain::draw::DrawState>,
}

/// A change of times after publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amendment {
    /// New deadline, if it changes.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
    /// New opening time, if it changes.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub opening_at: Option<OffsetDateTime>,
    /// New session terms, if they change.
    #[serde(default)]
    pub session: Option<SessionTerms>,
    /// Why; published with the change.
    pub reason: String,
}

/// RFC 6962 root over envelope hashes (each 32-byte hash is one leaf), in
/// order of receipt: what the close fixes and verifiers recompute.
pub fn envelope_root(envelopes: &[[u8; 32]]) -> [u8; 32] {
    let mut tree = crate::ledger::MemoryTree::new();
    for e in envelopes {
        tree.append(e);
    }
    tree.root()
}

/// Storage resolution: the database keeps microseconds, so the domain does too.
pub fn truncate_micros(t: OffsetDateTime) -> OffsetDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// One line of required text; the rule lives in [`Text`].
fn non_empty(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    Text::required(field, value, max, Lines::Single)
}

/// Required free text (reasons): line breaks allowed.
fn non_empty_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    Text::required(field, value, max, Lines::Multi)
}

impl TenderDraft {
    /// Checks everything that does not depend on the clock.
    pub fn validate(&self) -> Result<(), DomainError> {
        non_empty("title", &self.title, 300)?;
        non_empty("reference", &self.reference, 100)?;
        non_empty("buyer", &self.buyer, 300)?;
        // The published tender is one log entry (at most 64 KiB).
        Text::check("description", &self.description, 8_000, Lines::Multi)?;
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DomainError::invalid(
                "currency",
                "must be an ISO 4217 code of three capital letters, e.g. CNY or EUR",
            ));
        }
        fields::validate_lots(&self.lots)?;
        self.custody.validate()?;
        self.limits.validate()?;
        self.session.validate(&self.lots)?;
        if let Some(opening) = self.opening_at
            && opening < self.deadline
        {
            return Err(DomainError::OpeningBeforeDeadline);
        }
        Ok(())
    }

    fn check_future(&self, now: OffsetDateTime) -> Result<(), DomainError> {
        if self.deadline <= now {
            return Err(DomainError::TimeInPast { field: "deadline", now: rfc3339(now) });
        }
        Ok(())
    }
}

impl Tender {
    /// Creates a draft from validated input.
    pub fn create(id: Uuid, draft: TenderDraft, now: OffsetDateTime) -> Result<Tender, DomainError> {
        draft.validate()?;
        draft.check_future(now)?;
        let deadline = truncate_micros(draft.deadline);
        Ok(Tender {
            id,
            state: TenderState::Draft,
            title: draft.title,
            reference: draft.reference,
            description: draft.description,
            buyer: draft.buyer,
            currency: draft.currency,
            lots: draft.lots,
            deadline,
            opening_at: truncate_micros(draft.opening_at.unwrap_or(deadline)),
            custody: draft.custody,
            registration: draft.registration,
            limits: draft.limits,
            session: Some(draft.session),
            session_state: SessionState::default(),
            failed_lots: Vec::new(),
            draw_state: None,
            custody_keys: None,
            created_at: now,
            published_at: None,
            closed_at: None,
            cancel_reason: None,
            stream: None,
        })
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        DomainError::Transition { action, state: self.state.as_str() }
    }

    /// Replaces the terms of a draft.
    pub fn edit(&mut self, draft: TenderDraft, now: OffsetDateTime) -> Result<(), DomainError> {
        if self.state != TenderState::Draft {
            return Err(self.refuse("edit"));
        }
        let fresh = Tender::create(self.id, draft, now)?;
        // The stream is set on its own route; editing the terms keeps it.
        *self = Tender { created_at: self.created_at, stream: self.stream.take(), ..fresh };
        Ok(())
    }

    /// Publishes a draft: its terms and custody policy become public and fixed.
    /// `keys` is the custody policy resolved to the custodians' public keys;
    /// it must name the same custodians, in order, with the same threshold.
    pub fn publish(&mut self, now: OffsetDateTime, keys: SealedCustody) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Draft {
            return Err(self.refuse("publish"));
        }
        if self.deadline <= now {
            return Err(DomainError::TimeInPast { field: "deadline", now: rfc3339(now) });
        }
        let ids: Vec<&str> = keys.custodians.iter().map(|c| c.id.as_str()).collect();
        if keys.threshold != self.custody.threshold
            || ids != self.custody.custodians.iter().map(String::as_str).collect::<Vec<_>>()
        {
            return Err(DomainError::invalid("custody", "the resolved custodian keys do not match the custody policy"));
        }
        keys.validate().map_err(|e| DomainError::invalid("custody", e.to_string()))?;
        self.custody_keys = Some(keys);
        self.state = TenderState::Published;
        self.published_at = Some(now);
        let mut events = vec![EventPayload::TenderPublished(TenderPublished { tender: self.clone() }).into()];
        events.extend(self.draw_committed());
        Ok(events)
    }

    /// Moves the deadline or opening time, before the deadline only.
    pub fn amend(&mut self, amendment: Amendment, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Published {
            return Err(self.refuse("amend"));
        }
        if self.deadline <= now {
            return Err(DomainError::Transition { action: "amend", state: "past its deadline" });
        }
        non_empty_text("reason", &amendment.reason, 2_000)?;
        if amendment.deadline.is_none() && amendment.opening_at.is_none() && amendment.session.is_none() {
            return Err(DomainError::invalid(
                "deadline",
                "give a new deadline, a new opening time or new session terms",
            ));
        }
        if let Some(terms) = &amendment.session {
            terms.validate(&self.lots)?;
            self.keep_draws(terms)?;
        }
        let old_deadline = self.deadline;
        let old_opening = self.opening_at;
        let deadline = truncate_micros(amendment.deadline.unwrap_or(self.deadline));
        // An opening that used to follow the deadline keeps following it.
        let opening = match amendment.opening_at {
            Some(t) => truncate_micros(t),
            None if old_opening == old_deadline => deadline,
            None => old_opening,
        };
        if deadline <= now {
            return Err(DomainError::TimeInPast { field: "deadline", now: rfc3339(now) });
        }
        if opening < deadline {
            return Err(DomainError::OpeningBeforeDeadline);
        }
        self.deadline = deadline;
        self.opening_at = opening;
        if let Some(terms) = &amendment.session {
            self.session = Some(terms.clone());
        }
        Ok(vec![
            EventPayload::TenderAmended(TenderAmended {
                reason: amendment.reason,
                deadline: TimeChange { from: old_deadline, to: deadline },
                opening_at: TimeChange { from: old_opening, to: opening },
                session: amendment.session,
            })
            .into(),
        ])
    }

    /// Closes submission. Called by the scheduler at or after the deadline; the
    /// close is recorded at the deadline itself, even when processed late.
    /// `envelopes` are the standing bids' envelope hashes in order of receipt:
    /// their count and RFC 6962 root fix the set of bids in public.
    pub fn close(&mut self, now: OffsetDateTime, envelopes: &[[u8; 32]]) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Published {
            return Err(self.refuse("close"));
        }
        if now < self.deadline {
            return Err(DomainError::Transition { action: "close", state: "before its deadline" });
        }
        self.state = TenderState::Closed;
        self.closed_at = Some(self.deadline);
        Ok(vec![
            EventPayload::TenderClosed(TenderClosed {
                closed_at: self.deadline,
                processed_at: now,
                bids: envelopes.len() as u64,
                envelope_root: Digest(envelope_root(envelopes)),
            })
            .into(),
        ])
    }

    /// Cancels the tender with a public reason. A draft was never public, so
    /// cancelling it publishes nothing.
    pub fn cancel(&mut self, reason: String, _now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        non_empty_text("reason", &reason, 2_000)?;
        let was = self.state;
        match was {
            // A failed or terminated tender is cancelled (or re-tendered) by staff.
            TenderState::Draft
            | TenderState::Published
            | TenderState::Closed
            | TenderState::Failed
            | TenderState::Terminated => {}
            TenderState::Cancelled | TenderState::Opening | TenderState::Opened => return Err(self.refuse("cancel")),
        }
        self.state = TenderState::Cancelled;
        self.cancel_reason = Some(reason.clone());
        if was == TenderState::Draft {
            return Ok(vec![]);
        }
        Ok(vec![EventPayload::TenderCancelled(TenderCancelled { reason, previous_state: was }).into()])
    }

    /// Sets, changes or removes (`None`) the room's video stream, at any
    /// time until the record is published. Public tenders log the change so
    /// viewers get it live; a draft's is not public yet.
    pub fn set_stream(&mut self, stream: Option<Stream>) -> Result<Vec<EventDraft>, DomainError> {
        match self.state {
            TenderState::Draft | TenderState::Published | TenderState::Closed | TenderState::Opening => {}
            TenderState::Cancelled | TenderState::Opened | TenderState::Failed | TenderState::Terminated => {
                return Err(self.refuse("change the stream of"));
            }
        }
        if stream == self.stream {
            return Err(DomainError::invalid("url", "is the room's stream already"));
        }
        let previous = std::mem::replace(&mut self.stream, stream);
        if self.state == TenderState::Draft {
            return Ok(vec![]);
        }
        Ok(vec![EventPayload::StreamChanged(StreamChanged { stream: self.stream.clone(), previous }).into()])
    }

    /// Starts the opening at or after the opening time.
    pub fn start_opening(&mut self, now: OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Closed {
            return Err(self.refuse("open"));
        }
        if now < self.opening_at {
            return Err(DomainError::Transition { action: "open", state: "before its opening time" });
        }
        self.state = TenderState::Opening;
        Ok(vec![
            EventPayload::OpeningStarted(OpeningStarted {
                opening_at: self.opening_at,
                started_at: now,
                release_until: self.release_until(),
                threshold: self.custody.threshold,
                custodians: self.custody.custodians.clone(),
            })
            .into(),
        ])
    }

    /// End of the custodians' release window.
    pub fn release_until(&self) -> OffsetDateTime {
        self.opening_at + time::Duration::minutes(i64::from(self.custody.release_window_minutes))
    }

    /// Publishes the opening record once every bid has its outcome.
    pub fn publish_record(
        &mut self,
        now: OffsetDateTime,
        summary: RecordSummary,
    ) -> Result<Vec<EventDraft>, DomainError> {
        if self.state != TenderState::Opening {
            return Err(self.refuse("publish the record of"));
        }
        if self.session_state.held() {
            return Err(DomainError::Transition { action: "publish the record of", state: "held" });
        }
        self.state = TenderState::Opened;
        self.arm_draws(now);
        let mut events = vec![EventPayload::RecordPublished(RecordPublished { summary, published_at: now }).into()];
        events.extend(self.enter_confirmation(now));
        Ok(events)
    }

    /// Is this tender visible to the public?
    pub fn is_public(&self) -> bool {
        self.published_at.is_some()
    }
}

#[cfg(test)]
mod tests;
