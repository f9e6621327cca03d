//! The typed payload of every event kind: what each event publishes, field
//! by field. One variant per [`EventKind`]; the kind's wire name selects
//! the variant, the variant's struct is the entry's `data`.
//!
//! # Wire format and versioning
//!
//! A payload's wire form is its `data` object. Entries already in a
//! deployed log never change, so a payload is only ever extended:
//!
//! - a new kind of fact is a **new variant** (and a new [`EventKind`]);
//! - a new detail of an existing kind is an **optional field**
//!   (`#[serde(default, skip_serializing_if = "Option::is_none")]`), so old
//!   entries, which lack it, parse and re-encode to the same bytes;
//! - a field is never renamed, retyped or removed, and a variant's meaning
//!   never changes; if it must, that is a new variant with a new wire name.
//!
//! Readers ignore fields they do not know, so an older reader still reads
//! an entry written by a newer server (the verifier, which must account for
//! every byte, additionally checks that an entry re-encodes to itself).
//!
//! Object keys are written in alphabetical order whatever the order of the
//! struct fields (the codec writes `data` through a `serde_json::Value`, as
//! every entry so far was written). Times are RFC 3339 as
//! [`time::format_description::well_known::Rfc3339`] formats them,
//! hashes lower-case hex ([`Digest`]), keys and shares base64url.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::EventKind;
use crate::domain::draw::{DrawResult, PriceResult};
use crate::domain::objection;
use crate::domain::session::{HoldKind, Stage};
use crate::domain::tender::{PriceLimit, SessionTerms, Stream, Tender, TenderState};

/// A SHA-256 hash or Merkle root, on the wire as 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses 64 lower-case hex digits (the only form ever written, so the
    /// only one read: an entry has one encoding).
    pub fn from_hex(text: &str) -> Result<Digest, PayloadError> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| PayloadError::Invalid(format!("{text:?} is not a hex SHA-256 hash")))?;
        if hex::encode(bytes) != text {
            return Err(PayloadError::Invalid(format!("{text:?} is not lower-case hex")));
        }
        Ok(Digest(bytes))
    }

    /// The hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; 32]> for Digest {
    fn from(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a payload could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The event kind's wire name is not one this version knows.
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    /// The data does not have the shape of its kind.
    #[error("{kind} data: {message}")]
    Shape {
        /// The kind whose shape it failed.
        kind: &'static str,
        /// What serde said.
        message: String,
    },
    /// A value is malformed.
    #[error("{0}")]
    Invalid(String),
}

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
    pub covers: Option<super::Coverage>,
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

/// The staff member an access is logged against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRef {
    /// Account id.
    pub staff: Uuid,
    /// Display name.
    pub name: String,
}

/// `documents.accessed`: who read which document of which bid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentsAccessed {
    /// SHA-256 of the bid's envelope.
    pub envelope_hash: Digest,
    /// Index of the document in the bid.
    pub document: u32,
    /// The evaluator.
    pub by: StaffRef,
}

/// `room.signed_in`: a pseudonym and a count, never the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSignIn {
    /// The bidder's pseudonym in this tender's room.
    pub bidder: String,
    /// Bidders signed in so far.
    pub signed_in: u64,
}

/// `custodian.token_rotated`: logged in every tender that names the
/// custodian and is not yet opened, so the room sees who holds a new token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodianTokenRotated {
    /// The custodian's id.
    pub custodian: String,
    /// The challenge it answered with its registered key.
    pub proof: Uuid,
}

/// `tender.stream_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamChanged {
    /// The stream now (`null`: removed).
    pub stream: Option<Stream>,
    /// The stream before (`null`: none).
    pub previous: Option<Stream>,
}

/// `session.stage`: the session entered a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStageEntered {
    /// The stage entered.
    pub stage: Stage,
    /// When it began by the terms (the opening time, the sign-in lead
    /// before it, the end of the stage before), even if processed late.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Its planned end (`null`: none, as for `closed`).
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// When the server wrote it.
    #[serde(with = "time::serde::rfc3339")]
    pub processed_at: OffsetDateTime,
    /// The ceiling and reference prices, announced at the start of the 唱标.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<PriceLimit>,
}

/// `session.paused` and `session.suspended`: the countdown froze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHeld {
    /// The stage held.
    pub stage: Stage,
    /// Server time of the hold.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The stage's time left, frozen (`null`: the stage has no end).
    pub time_left_ms: Option<i64>,
    /// The public notice (a suspension's; a pause's is optional).
    pub notice: Option<String>,
    /// Who held it.
    pub by: StaffRef,
}

/// `session.resumed`: the countdown runs again with the time that was left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResumed {
    /// The stage resumed.
    pub stage: Stage,
    /// Server time of the resumption.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What was held: a pause or a suspension.
    pub from: HoldKind,
    /// How long it was held, in milliseconds; every end ahead moved by it.
    pub held_ms: i64,
    /// The stage's new end.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Who resumed it.
    pub by: StaffRef,
}

/// `session.extended`: the current stage got more time, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionExtended {
    /// The stage extended.
    pub stage: Stage,
    /// By how many minutes.
    pub minutes: u32,
    /// Why, in public.
    pub reason: String,
    /// The stage's new end.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Who extended it.
    pub by: StaffRef,
}

/// `session.terminated`: the host ended the session (终止); nothing more opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTerminated {
    /// The stage it was in (`null`: before sign-in).
    pub stage: Option<Stage>,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why, in public.
    pub reason: String,
    /// The tender's state before.
    pub previous_state: TenderState,
    /// Who terminated it.
    pub by: StaffRef,
}

/// A lot's count of bidders against the minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotCount {
    /// The lot's id.
    pub lot: String,
    /// Distinct bidders with a standing bid at the close.
    pub bidders: u64,
}

/// `tender.failed` (流标): too few bidders; nothing is decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderFailed {
    /// The lots that failed, each with its count. When every lot of the
    /// tender is here the whole tender failed; otherwise the others open.
    pub lots: Vec<LotCount>,
    /// The terms' minimum of distinct bidders per lot.
    pub min_bids: u32,
    /// Did every lot fail (the tender moves to `failed`)?
    pub whole: bool,
    /// The rule, in words, for the record.
    pub rule: String,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

// --- draws ---

/// `draw.committed`: the host's commitment, logged with the publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawCommitted {
    /// SHA-256(L("bidroom/v1/draw-commitment") ‖ secret).
    pub commitment: Digest,
    /// Minutes after the record the host has to reveal.
    pub reveal_minutes: u32,
    /// The declared draws' ids, in order.
    pub draws: Vec<String>,
    /// The formulas' ids.
    pub formulas: Vec<String>,
}

/// `draw.revealed`: the host's secret, after the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRevealed {
    /// The 32-byte secret, hex.
    pub secret: Digest,
    /// Who revealed it.
    pub by: StaffRef,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Whose secret went into the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawHost {
    /// The host's revealed secret.
    Revealed,
    /// The stated fallback: no secret (flag 0x00).
    Fallback,
}

/// An opened bid's draw nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawNonce {
    /// The bid.
    pub bid_id: Uuid,
    /// HKDF(form key, L("bidroom/v1/draw-nonce")).
    pub nonce: Digest,
}

/// `draw.result`: the inputs by reference, the seed, every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawResultLogged {
    /// Log size just after `record.published`.
    pub record_size: u64,
    /// The log's root at that size.
    pub record_head: Digest,
    /// Revealed secret or fallback.
    pub host: DrawHost,
    /// One nonce per opened bid, in row order.
    pub nonces: Vec<DrawNonce>,
    /// The seed.
    pub seed: Digest,
    /// One result per declared draw.
    pub draws: Vec<DrawResult>,
    /// One result per formula.
    pub prices: Vec<PriceResult>,
}

/// `draw.failed`: the host did not reveal in time; the fallback follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawFailed {
    /// Why, for the record.
    pub reason: String,
    /// When the reveal was due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Every event's payload, tagged by its kind's wire name (`event`) with the
/// variant's struct as its `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
#[allow(clippy::large_enum_variant)] // Events are built one at a time; boxing buys nothing.
pub enum EventPayload {
    /// See [`EventKind::TenderPublished`].
    #[serde(rename = "tender.published")]
    TenderPublished(TenderPublished),
    /// See [`EventKind::TenderAmended`].
    #[serde(rename = "tender.amended")]
    TenderAmended(TenderAmended),
    /// See [`EventKind::TenderClosed`].
    #[serde(rename = "tender.closed")]
    TenderClosed(TenderClosed),
    /// See [`EventKind::TenderCancelled`].
    #[serde(rename = "tender.cancelled")]
    TenderCancelled(TenderCancelled),
    /// See [`EventKind::BidReceived`].
    #[serde(rename = "bid.received")]
    BidReceived(BidReceived),
    /// See [`EventKind::BidWithdrawn`].
    #[serde(rename = "bid.withdrawn")]
    BidWithdrawn(BidWithdrawn),
    /// See [`EventKind::OpeningStarted`].
    #[serde(rename = "opening.started")]
    OpeningStarted(OpeningStarted),
    /// See [`EventKind::CustodianReleased`].
    #[serde(rename = "custodian.released")]
    CustodianReleased(CustodianReleased),
    /// See [`EventKind::BidOpened`].
    #[serde(rename = "bid.opened")]
    BidOpened(BidOpened),
    /// See [`EventKind::BidRejected`].
    #[serde(rename = "bid.rejected")]
    BidRejected(BidRejected),
    /// See [`EventKind::BidUnopened`].
    #[serde(rename = "bid.unopened")]
    BidUnopened(BidUnopened),
    /// See [`EventKind::RecordPublished`].
    #[serde(rename = "record.published")]
    RecordPublished(RecordPublished),
    /// See [`EventKind::DocumentsAccessed`].
    #[serde(rename = "documents.accessed")]
    DocumentsAccessed(DocumentsAccessed),
    /// See [`EventKind::RoomSignIn`].
    #[serde(rename = "room.signed_in")]
    RoomSignIn(RoomSignIn),
    /// See [`EventKind::StreamChanged`].
    #[serde(rename = "tender.stream_changed")]
    StreamChanged(StreamChanged),
    /// See [`EventKind::CustodianTokenRotated`].
    #[serde(rename = "custodian.token_rotated")]
    CustodianTokenRotated(CustodianTokenRotated),
    /// See [`EventKind::BidderReleased`].
    #[serde(rename = "bidder.released")]
    BidderReleased(BidderReleased),
    /// See [`EventKind::SessionStage`].
    #[serde(rename = "session.stage")]
    SessionStage(SessionStageEntered),
    /// See [`EventKind::SessionPaused`].
    #[serde(rename = "session.paused")]
    SessionPaused(SessionHeld),
    /// See [`EventKind::SessionResumed`].
    #[serde(rename = "session.resumed")]
    SessionResumed(SessionResumed),
    /// See [`EventKind::SessionExtended`].
    #[serde(rename = "session.extended")]
    SessionExtended(SessionExtended),
    /// See [`EventKind::SessionSuspended`].
    #[serde(rename = "session.suspended")]
    SessionSuspended(SessionHeld),
    /// See [`EventKind::SessionTerminated`].
    #[serde(rename = "session.terminated")]
    SessionTerminated(SessionTerminated),
    /// See [`EventKind::TenderFailed`].
    #[serde(rename = "tender.failed")]
    TenderFailed(TenderFailed),
    /// See [`EventKind::ObjectionRaised`].
    #[serde(rename = "objection.raised")]
    ObjectionRaised(objection::ObjectionRaised),
    /// See [`EventKind::ObjectionAnswered`].
    #[serde(rename = "objection.answered")]
    ObjectionAnswered(objection::ObjectionAnswered),
    /// See [`EventKind::RecordConfirmed`].
    #[serde(rename = "record.confirmed")]
    RecordConfirmed(objection::RecordConfirmed),
    /// See [`EventKind::AnnouncementPosted`].
    #[serde(rename = "announcement.posted")]
    AnnouncementPosted(objection::AnnouncementPosted),
    /// See [`EventKind::SessionEnded`].
    #[serde(rename = "session.ended")]
    SessionEnded(objection::SessionEnded),
    /// See [`EventKind::DrawCommitted`].
    #[serde(rename = "draw.committed")]
    DrawCommitted(DrawCommitted),
    /// See [`EventKind::DrawRevealed`].
    #[serde(rename = "draw.revealed")]
    DrawRevealed(DrawRevealed),
    /// See [`EventKind::DrawResult`].
    #[serde(rename = "draw.result")]
    DrawResult(DrawResultLogged),
    /// See [`EventKind::DrawFailed`].
    #[serde(rename = "draw.failed")]
    DrawFailed(DrawFailed),
}

impl EventPayload {
    /// The kind of event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::TenderPublished(_) => EventKind::TenderPublished,
            EventPayload::TenderAmended(_) => EventKind::TenderAmended,
            EventPayload::TenderClosed(_) => EventKind::TenderClosed,
            EventPayload::TenderCancelled(_) => EventKind::TenderCancelled,
            EventPayload::BidReceived(_) => EventKind::BidReceived,
            EventPayload::BidWithdrawn(_) => EventKind::BidWithdrawn,
            EventPayload::OpeningStarted(_) => EventKind::OpeningStarted,
            EventPayload::CustodianReleased(_) => EventKind::CustodianReleased,
            EventPayload::BidOpened(_) => EventKind::BidOpened,
            EventPayload::BidRejected(_) => EventKind::BidRejected,
            EventPayload::BidUnopened(_) => EventKind::BidUnopened,
            EventPayload::RecordPublished(_) => EventKind::RecordPublished,
            EventPayload::DocumentsAccessed(_) => EventKind::DocumentsAccessed,
            EventPayload::RoomSignIn(_) => EventKind::RoomSignIn,
            EventPayload::StreamChanged(_) => EventKind::StreamChanged,
            EventPayload::CustodianTokenRotated(_) => EventKind::CustodianTokenRotated,
            EventPayload::BidderReleased(_) => EventKind::BidderReleased,
            EventPayload::SessionStage(_) => EventKind::SessionStage,
            EventPayload::SessionPaused(_) => EventKind::SessionPaused,
            EventPayload::SessionResumed(_) => EventKind::SessionResumed,
            EventPayload::SessionExtended(_) => EventKind::SessionExtended,
            EventPayload::SessionSuspended(_) => EventKind::SessionSuspended,
            EventPayload::SessionTerminated(_) => EventKind::SessionTerminated,
            EventPayload::TenderFailed(_) => EventKind::TenderFailed,
            EventPayload::ObjectionRaised(_) => EventKind::ObjectionRaised,
            EventPayload::ObjectionAnswered(_) => EventKind::ObjectionAnswered,
            EventPayload::RecordConfirmed(_) => EventKind::RecordConfirmed,
            EventPayload::AnnouncementPosted(_) => EventKind::AnnouncementPosted,
            EventPayload::SessionEnded(_) => EventKind::SessionEnded,
            EventPayload::DrawCommitted(_) => EventKind::DrawCommitted,
            EventPayload::DrawRevealed(_) => EventKind::DrawRevealed,
            EventPayload::DrawResult(_) => EventKind::DrawResult,
            EventPayload::DrawFailed(_) => EventKind::DrawFailed,
        }
    }

    /// Reads the `data` of an event of kind `kind` (its wire name).
    pub fn from_data(kind: &str, data: Value) -> Result<EventPayload, PayloadError> {
        let known = EventKind::parse(kind).ok_or_else(|| PayloadError::UnknownKind(kind.to_string()))?;
        let mut tagged = Map::new();
        tagged.insert("event".into(), Value::String(kind.to_string()));
        tagged.insert("data".into(), data);
        serde_json::from_value(Value::Object(tagged))
            .map_err(|e| PayloadError::Shape { kind: known.as_str(), message: e.to_string() })
    }

    /// The `data` of this event as published: a JSON object with its keys
    /// in alphabetical order at every level.
    pub fn to_data(&self) -> Result<Value, PayloadError> {
        let kind = self.kind().as_str();
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => {
                tagged.remove("data").ok_or_else(|| PayloadError::Shape { kind, message: "no data".into() })
            }
            Ok(_) => Err(PayloadError::Shape { kind, message: "not an object".into() }),
            // Only a time outside RFC 3339's years gets here.
            Err(e) => Err(PayloadError::Shape { kind, message: e.to_string() }),
        }
    }

    /// The record row of an outcome event, `None` for other kinds.
    pub fn bid_row(&self) -> Option<&BidRow> {
        match self {
            EventPayload::BidOpened(o) => Some(&o.row),
            EventPayload::BidRejected(o) => Some(&o.row),
            EventPayload::BidUnopened(o) => Some(&o.row),
            _ => None,
        }
    }
}

/// One row of the opening record as `GET …/record` serves it: an outcome
/// event's data with its `status` (`opened`, `rejected` or `unopened`)
/// and the `log_index` of its entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// The row's bid.
    pub row: BidRow,
    /// The outcome event.
    pub outcome: EventPayload,
    /// Index of the outcome's log entry.
    pub log_index: i64,
}

impl RecordRow {
    /// The row of an outcome event (`None` for events of other kinds).
    pub fn from_outcome(outcome: EventPayload, log_index: i64) -> Option<RecordRow> {
        let row = outcome.bid_row()?.clone();
        Some(RecordRow { row, outcome, log_index })
    }

    /// The row as `GET …/record` serves it: the outcome's data with its
    /// `status` and `log_index` added.
    pub fn to_value(&self) -> Result<Value, PayloadError> {
        let mut data = self.outcome.to_data()?;
        if let Value::Object(map) = &mut data {
            map.insert("status".into(), Value::String(self.status().to_string()));
            map.insert("log_index".into(), Value::from(self.log_index));
        }
        Ok(data)
    }

    /// Reads a served row.
    pub fn from_value(value: &Value) -> Result<RecordRow, PayloadError> {
        let invalid = |m: &str| PayloadError::Invalid(format!("record row: {m}"));
        let mut data = value.as_object().cloned().ok_or_else(|| invalid("not an object"))?;
        let status =
            data.remove("status").and_then(|s| s.as_str().map(str::to_owned)).ok_or_else(|| invalid("no status"))?;
        let log_index = data.remove("log_index").and_then(|i| i.as_i64()).ok_or_else(|| invalid("no log index"))?;
        let outcome = EventPayload::from_data(&format!("bid.{status}"), Value::Object(data))?;
        let row = outcome.bid_row().cloned().ok_or_else(|| invalid("not an outcome"))?;
        Ok(RecordRow { row, outcome, log_index })
    }

    /// `opened`, `rejected` or `unopened`.
    pub fn status(&self) -> &'static str {
        self.outcome.kind().as_str().trim_start_matches("bid.")
    }

    /// Why the bid did not open, if it did not.
    pub fn reason(&self) -> Option<&str> {
        match &self.outcome {
            EventPayload::BidRejected(r) => Some(&r.reason),
            EventPayload::BidUnopened(u) => Some(&u.reason),
            _ => None,
        }
    }

    /// The opened bid's record values.
    pub fn fields(&self) -> Option<&Map<String, Value>> {
        match &self.outcome {
            EventPayload::BidOpened(o) => Some(&o.fields),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_variant() {
        for kind in super::super::ALL_KINDS {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let err = EventPayload::from_data(kind.as_str(), Value::Null).unwrap_err();
            assert!(matches!(err, PayloadError::Shape { kind: k, .. } if k == kind.as_str()), "{err}");
        }
        assert_eq!(EventKind::parse("tender.teleported"), None);
    }

    #[test]
    fn optional_fields_are_absent_when_none() {
        let summary = RecordSummary { rows: 1, opened: 1, rejected: 0, unopened: 0, warning: None };
        let p = EventPayload::RecordPublished(RecordPublished {
            summary,
            published_at: time::macros::datetime!(2026-12-01 09:00 UTC),
        });
        let data = p.to_data().unwrap();
        assert_eq!(
            data.to_string(),
            r#"{"opened":1,"published_at":"2026-12-01T09:00:00Z","rejected":0,"rows":1,"unopened":0}"#
        );
        assert_eq!(EventPayload::from_data("record.published", data).unwrap(), p);
    }
}
