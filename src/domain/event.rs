//! Events: the ordered, public record of everything that happens to a tender.
//! Each event is also an entry in the transparency log.

use serde::{Deserialize, Serialize};

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
        }
    }
}

/// An event the domain decided on, before the store gives it a sequence
/// number, a time and a log position.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    /// What happened.
    pub kind: EventKind,
    /// The details, as published.
    pub data: serde_json::Value,
}

impl EventDraft {
    /// Builds an event from any serialisable payload.
    pub fn new(kind: EventKind, data: serde_json::Value) -> Self {
        EventDraft { kind, data }
    }
}
