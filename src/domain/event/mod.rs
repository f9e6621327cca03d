//! Events: the ordered, public record of everything that happens to a tender.
//! Each event is also an entry in the transparency log.
//!
//! [`EventPayload`] (in `payload`) types what each kind publishes; the
//! codec of log entries is in `entry`. Events are built only as typed
//! payloads and read only by parsing into them.

use serde::{Deserialize, Serialize};

mod coverage;
mod entry;
mod payload;

pub use coverage::{Coverage, CoverageError, MAX_COVERAGE_SPAN};
pub use entry::{EVENT_ENTRY_TYPE, EntryError, LogEntry, decode_entry, encode_entry, is_canonical};
pub use payload::REASON_INCONSISTENT_SHARES;
pub use payload::{
    BidOpened, BidReceived, BidRejected, BidRow, BidUnopened, BidWithdrawn, BidderRef, BidderReleased, BidderShare,
    Blame, CustodianReleased, CustodianTokenRotated, Digest, DocumentsAccessed, EventPayload, OpeningStarted,
    PayloadError, RecordPublished, RecordRow, RecordSummary, RoomSignIn, StaffRef, StreamChanged, TenderAmended,
    TenderCancelled, TenderClosed, TenderPublished, TimeChange,
};
pub use payload::{DrawCommitted, DrawFailed, DrawHost, DrawNonce, DrawResultLogged, DrawRevealed};
pub use payload::{
    LotCount, SessionExtended, SessionHeld, SessionResumed, SessionStageEntered, SessionTerminated, TenderFailed,
};

/// The kinds of event. The wire names are part of the stable surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    /// The tender was published with its full terms and custody policy.
    #[serde(rename = "tender.published")]
    TenderPublished,
    /// The deadline or opening time changed before the deadline.
    #[serde(rename = "tender.amended")]
    TenderAmended,
    /// Submission closed at the deadline.
    #[serde(rename = "tender.closed")]
    TenderClosed,
    /// The tender was cancelled.
    #[serde(rename = "tender.cancelled")]
    TenderCancelled,
    /// A sealed bid was received (its envelope hash, never its bidder).
    #[serde(rename = "bid.received")]
    BidReceived,
    /// A bid was withdrawn by its bidder before the deadline.
    #[serde(rename = "bid.withdrawn")]
    BidWithdrawn,
    /// The opening started; custodians may release.
    #[serde(rename = "opening.started")]
    OpeningStarted,
    /// A custodian released its shares (never the shares themselves).
    #[serde(rename = "custodian.released")]
    CustodianReleased,
    /// A bid was opened: bidder, fields and form key become public.
    #[serde(rename = "bid.opened")]
    BidOpened,
    /// A bid could not be opened by the bidder's fault.
    #[serde(rename = "bid.rejected")]
    BidRejected,
    /// A bid stays unopened: fewer than k custodians released in time.
    #[serde(rename = "bid.unopened")]
    BidUnopened,
    /// The opening record (开标记录表) is final.
    #[serde(rename = "record.published")]
    RecordPublished,
    /// An evaluator read a bid's documents.
    #[serde(rename = "documents.accessed")]
    DocumentsAccessed,
    /// A bidder signed in to the live room (a pseudonym, never the identity).
    #[serde(rename = "room.signed_in")]
    RoomSignIn,
    /// Staff set, changed or removed the room's video stream.
    #[serde(rename = "tender.stream_changed")]
    StreamChanged,
    /// A custodian of this tender rotated its release token, proving
    /// possession of its registered key (staff cannot do this).
    #[serde(rename = "custodian.token_rotated")]
    CustodianTokenRotated,
    /// A bid's own bidder released its share (bidder-held custody).
    #[serde(rename = "bidder.released")]
    BidderReleased,
    /// The opening session entered a stage (签到, 解密, 唱标, 确认, 结束).
    #[serde(rename = "session.stage")]
    SessionStage,
    /// The host paused the session; its countdown froze.
    #[serde(rename = "session.paused")]
    SessionPaused,
    /// The host resumed the session with the time that was left.
    #[serde(rename = "session.resumed")]
    SessionResumed,
    /// The host extended the current stage once, with a reason.
    #[serde(rename = "session.extended")]
    SessionExtended,
    /// The session was suspended for a system failure, with a public notice.
    #[serde(rename = "session.suspended")]
    SessionSuspended,
    /// The host terminated the session with a reason.
    #[serde(rename = "session.terminated")]
    SessionTerminated,
    /// Too few bidders (流标): the failed lots stay sealed.
    #[serde(rename = "tender.failed")]
    TenderFailed,
    // --- session (issue 12) ---
    /// A signed-in bidder raised an objection (异议), signed.
    #[serde(rename = "objection.raised")]
    ObjectionRaised,
    /// The host answered an objection.
    #[serde(rename = "objection.answered")]
    ObjectionAnswered,
    /// A bidder confirmed the record (无异议), signing its hash.
    #[serde(rename = "record.confirmed")]
    RecordConfirmed,
    /// The host posted an announcement to the room.
    #[serde(rename = "announcement.posted")]
    AnnouncementPosted,
    /// The session ended; the final record is sealed by its hash.
    #[serde(rename = "session.ended")]
    SessionEnded,
    /// The host's commitment to its draw secret, at publish.
    #[serde(rename = "draw.committed")]
    DrawCommitted,
    /// The host revealed its draw secret after the record.
    #[serde(rename = "draw.revealed")]
    DrawRevealed,
    /// The draws and reference prices, with their seed and inputs.
    #[serde(rename = "draw.result")]
    DrawResult,
    /// The host did not reveal in time; the stated fallback follows.
    #[serde(rename = "draw.failed")]
    DrawFailed,
}

impl EventKind {
    /// The wire name, e.g. `tender.published`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TenderPublished => "tender.published",
            EventKind::TenderAmended => "tender.amended",
            EventKind::TenderClosed => "tender.closed",
            EventKind::TenderCancelled => "tender.cancelled",
            EventKind::BidReceived => "bid.received",
            EventKind::BidWithdrawn => "bid.withdrawn",
            EventKind::OpeningStarted => "opening.started",
            EventKind::CustodianReleased => "custodian.released",
            EventKind::BidOpened => "bid.opened",
            EventKind::BidRejected => "bid.rejected",
            EventKind::BidUnopened => "bid.unopened",
            EventKind::RecordPublished => "record.published",
            EventKind::DocumentsAccessed => "documents.accessed",
            EventKind::RoomSignIn => "room.signed_in",
            EventKind::StreamChanged => "tender.stream_changed",
            EventKind::CustodianTokenRotated => "custodian.token_rotated",
            EventKind::BidderReleased => "bidder.released",
            EventKind::SessionStage => "session.stage",
            EventKind::SessionPaused => "session.paused",
            EventKind::SessionResumed => "session.resumed",
            EventKind::SessionExtended => "session.extended",
            EventKind::SessionSuspended => "session.suspended",
            EventKind::SessionTerminated => "session.terminated",
            EventKind::TenderFailed => "tender.failed",
            EventKind::ObjectionRaised => "objection.raised",
            EventKind::ObjectionAnswered => "objection.answered",
            EventKind::RecordConfirmed => "record.confirmed",
            EventKind::AnnouncementPosted => "announcement.posted",
            EventKind::SessionEnded => "session.ended",
            EventKind::DrawCommitted => "draw.committed",
            EventKind::DrawRevealed => "draw.revealed",
            EventKind::DrawResult => "draw.result",
            EventKind::DrawFailed => "draw.failed",
        }
    }
}

/// Every kind, in the order of [`EventKind`].
pub const ALL_KINDS: [EventKind; 33] = [
    EventKind::TenderPublished,
    EventKind::TenderAmended,
    EventKind::TenderClosed,
    EventKind::TenderCancelled,
    EventKind::BidReceived,
    EventKind::BidWithdrawn,
    EventKind::OpeningStarted,
    EventKind::CustodianReleased,
    EventKind::BidOpened,
    EventKind::BidRejected,
    EventKind::BidUnopened,
    EventKind::RecordPublished,
    EventKind::DocumentsAccessed,
    EventKind::RoomSignIn,
    EventKind::StreamChanged,
    EventKind::CustodianTokenRotated,
    EventKind::BidderReleased,
    EventKind::SessionStage,
    EventKind::SessionPaused,
    EventKind::SessionResumed,
    EventKind::SessionExtended,
    EventKind::SessionSuspended,
    EventKind::SessionTerminated,
    EventKind::TenderFailed,
    EventKind::ObjectionRaised,
    EventKind::ObjectionAnswered,
    EventKind::RecordConfirmed,
    EventKind::AnnouncementPosted,
    EventKind::SessionEnded,
    EventKind::DrawCommitted,
    EventKind::DrawRevealed,
    EventKind::DrawResult,
    EventKind::DrawFailed,
];

impl EventKind {
    /// Parses the wire name.
    pub fn parse(name: &str) -> Option<EventKind> {
        ALL_KINDS.into_iter().find(|k| k.as_str() == name)
    }
}

/// An event the domain decided on, before the store gives it a sequence
/// number, a time and a log position.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    /// What happened.
    payload: EventPayload,
}

impl From<EventPayload> for EventDraft {
    fn from(payload: EventPayload) -> Self {
        EventDraft { payload }
    }
}

impl EventDraft {
    /// An event of this payload.
    pub fn of(payload: EventPayload) -> Self {
        payload.into()
    }

    /// What happened.
    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }

    /// The payload.
    pub fn payload(&self) -> &EventPayload {
        &self.payload
    }

    /// The payload, taken.
    pub fn into_payload(self) -> EventPayload {
        self.payload
    }

    /// `bid.received`: the store's constructor.
    pub fn bid_received(envelope_hash: [u8; 32], lot: &str, replaces: Option<[u8; 32]>, bids_received: i64) -> Self {
        EventPayload::BidReceived(BidReceived {
            envelope_hash: Digest(envelope_hash),
            lot: lot.to_string(),
            replaces: replaces.map(Digest),
            bids_received,
        })
        .into()
    }

    /// `bid.withdrawn`: the store's constructor; `envelope_hash` is the
    /// stored hex form.
    pub fn bid_withdrawn(envelope_hash: &str, lot: &str, bids_received: i64) -> Result<Self, PayloadError> {
        Ok(EventPayload::BidWithdrawn(BidWithdrawn {
            envelope_hash: Digest::from_hex(envelope_hash)?,
            lot: lot.to_string(),
            bids_received,
        })
        .into())
    }
}
