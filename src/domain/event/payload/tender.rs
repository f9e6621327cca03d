//! Payloads of the tender's own life: published, amended, closed, cancelled.

// The wire vocabulary (Digest, serde, times, ids) is the parent's, shared by every part.
use super::*;

/// A change of a time: from what, to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeChange {
    /// The time before.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// The time after.
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
}

/// `tender.published`: the full terms, custody keys included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenderPublished {
    /// The tender as published.
    pub tender: Tender,
}

/// `tender.amended`: the deadline and opening time, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderAmended {
    /// Why; published with the change.
    pub reason: String,
    /// The deadline's change (equal ends when it did not move).
    pub deadline: TimeChange,
    /// The opening time's change.
    pub opening_at: TimeChange,
    /// The session's terms after the change, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTerms>,
}

/// `tender.closed`: the set of standing bids fixed in public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderClosed {
    /// The deadline: when submission closed.
    #[serde(with = "time::serde::rfc3339")]
    pub closed_at: OffsetDateTime,
    /// When the server processed the close (at or after the deadline).
    #[serde(with = "time::serde::rfc3339")]
    pub processed_at: OffsetDateTime,
    /// Number of standing bids.
    pub bids: u64,
    /// RFC 6962 root over their envelope hashes, in order of receipt.
    pub envelope_root: Digest,
}

/// `tender.cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderCancelled {
    /// Why, in public.
    pub reason: String,
    /// The state it was cancelled from.
    pub previous_state: TenderState,
}
