//! Payloads of the bids and their opening: received, withdrawn, released, opened,
//! rejected, unopened, and the published record.

// The wire vocabulary (Digest, serde, times, ids) is the parent's, shared by every part.
use super::*;

/// `bid.received`: a sealed bid's envelope hash, never its bidder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidReceived {
    /// SHA-256 of the envelope.
    pub envelope_hash: Digest,
    /// The lot bid for.
    pub lot: String,
    /// The envelope hash of the bid this one replaces (`null` if none).
    pub replaces: Option<Digest>,
    /// Standing bids of the tender after this one.
    pub bids_received: i64,
}

/// `bid.withdrawn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidWithdrawn {
    /// SHA-256 of the withdrawn bid's envelope.
    pub envelope_hash: Digest,
    /// Its lot.
    pub lot: String,
    /// Standing bids of the tender after the withdrawal.
    pub bids_received: i64,
}

/// `opening.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningStarted {
    /// The opening time of the terms.
    #[serde(with = "time::serde::rfc3339")]
    pub opening_at: OffsetDateTime,
    /// When it actually started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// End of the custodians' release window.
    #[serde(with = "time::serde::rfc3339")]
    pub release_until: OffsetDateTime,
    /// k.
    pub threshold: u8,
    /// Custodian ids, in share order.
    pub custodians: Vec<String>,
}

/// `custodian.released`: how many shares, never the shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodianReleased {
    /// The custodian's id.
    pub custodian: String,
    /// Its share index (x coordinate).
    pub index: u8,
    /// Shares released.
    pub shares: u64,
    /// Envelope hashes of the bids whose share did not match its commitment.
    pub bad_shares: Vec<Digest>,
    /// The challenge the custodian answered with its key for this release
    /// (absent for the server's own release, which needs none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Uuid>,
    /// The bids whose shares this release recorded (absent in events
    /// logged before the field existed: then only the count is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<Coverage>,
}

/// A bidder as the record names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidderRef {
    /// The bidder's key id.
    pub id: String,
    /// Its registered name, if any.
    pub name: Option<String>,
}

/// What every outcome (`bid.opened`, `bid.rejected`, `bid.unopened`) says
/// of its bid: one row of the opening record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidRow {
    /// The bid's id.
    pub bid_id: Uuid,
    /// SHA-256 of its envelope.
    pub envelope_hash: Digest,
    /// When the server received it.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Who bid.
    pub bidder: BidderRef,
    /// The lot.
    pub lot: String,
    /// Row number in the record, from 1, in opening order.
    pub position: i64,
}

/// Who is to blame for a bid that did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Blame {
    /// The bidder's envelope or form.
    #[serde(rename = "bidder")]
    Bidder,
    /// Custodians released shares that did not match.
    #[serde(rename = "custodians")]
    Custodians,
    /// Too few custodians released at all.
    #[serde(rename = "custodians (not released)")]
    CustodiansNotReleased,
}

/// `bid.opened`: the bidder, its record fields and the form key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BidOpened {
    /// The record row.
    #[serde(flatten)]
    pub row: BidRow,
    /// The opening-record values, as the form declared them.
    pub fields: Map<String, Value>,
    /// The form key, base64url, so anyone can decrypt the form again.
    pub form_key: String,
    /// Is the bid above its lot's ceiling price (最高投标限价)? Absent when
    /// the lot has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_ceiling: Option<bool>,
}

/// The `reason` of a `bid.rejected` whose released shares all match their
/// commitments while no k of them rebuild the committed key: the bidder
/// sealed them inconsistently. Such a bid's shares are published once the
/// record is final (`GET …/bids/{bid}/shares`), and `verify` checks them.
pub const REASON_INCONSISTENT_SHARES: &str =
    "the released shares match their commitments but do not rebuild the committed bid key";

/// `bid.rejected`: the bidder's fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidRejected {
    /// The record row.
    #[serde(flatten)]
    pub row: BidRow,
    /// Always [`Blame::Bidder`].
    pub blame: Blame,
    /// Why, for the record.
    pub reason: String,
    /// Set when the bidder's own share (a bidder-held custody policy) kept
    /// the bid closed: not released in the window, or not matching its
    /// commitment. Absent for faults of the envelope or form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bidder_share: Option<BidderShare>,
}

/// How a bidder's own share failed (the law treats the bid as withdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BidderShare {
    /// The bidder did not release its share before the window ended.
    #[serde(rename = "not_released")]
    NotReleased,
    /// The share the bidder released does not match its commitment.
    #[serde(rename = "bad")]
    Bad,
}

/// `bidder.released`: a bid's own bidder released its share, signed by its
/// bidder key (`"bidroom/v1/bidder-release"`, `docs/PROTOCOL.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidderReleased {
    /// The bid.
    pub bid_id: Uuid,
    /// Its envelope.
    pub envelope_hash: Digest,
    /// The bidder's share index (x coordinate).
    pub index: u8,
    /// Did the share match its commitment?
    pub good: bool,
    /// The time the bidder signed (Unix seconds in the statement).
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// The bidder key's signature over the release statement, base64url.
    pub signature: String,
    /// The share itself, base64url, only when it is bad: it opens nothing,
    /// and with the signature anyone can check that the bidder sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
}

/// `bid.unopened`: fewer than k good shares when the window ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidUnopened {
    /// The record row.
    #[serde(flatten)]
    pub row: BidRow,
    /// Why, for the record.
    pub reason: String,
    /// The custodians (or their absence) to blame.
    pub blame: Blame,
    /// Custodians that released no share of this bid.
    pub not_released_by: Vec<String>,
    /// Custodians whose share of this bid was bad.
    pub bad_shares_from: Vec<String>,
}

/// The counts the opening record ends with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// Rows of the record (every bid standing at the close).
    pub rows: u64,
    /// Bids opened.
    pub opened: u64,
    /// Bids rejected.
    pub rejected: u64,
    /// Bids left unopened.
    pub unopened: u64,
    /// A warning for the public (fewer than three opened), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `record.published`: the record is final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPublished {
    /// The counts.
    #[serde(flatten)]
    pub summary: RecordSummary,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}
