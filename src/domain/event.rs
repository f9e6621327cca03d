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
    /// A bidder signed in to the live room (a pseudonym, never the identity).
    #[serde(rename = "room.signed_in")]
    RoomSignIn,
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
            EventKind::RoomSignIn => "room.signed_in",
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
