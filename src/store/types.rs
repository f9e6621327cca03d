//! Records the store hands out.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Role, Tender, TenderState};

/// A staff account (never with its token).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Staff {
    /// Account id.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A tender with its position in its event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTender {
    /// The tender.
    pub tender: Tender,
    /// Sequence number of its last event (0: none yet).
    pub last_seq: i64,
}

/// Filter and page for listing tenders.
#[derive(Debug, Clone, Default)]
pub struct TenderQuery {
    /// Only this state.
    pub state: Option<TenderState>,
    /// Include drafts (staff only).
    pub include_drafts: bool,
    /// Case-insensitive substring of title or reference.
    pub search: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A stored event, as published.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Tender it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tender_id: Uuid,
    /// Position in the tender's stream, from 1, without gaps.
    pub seq: i64,
    /// Event type, e.g. `tender.published`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Server time of the event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Index of its entry in the transparency log.
    pub log_index: i64,
    /// RFC 6962 leaf hash of that entry, hex.
    pub leaf_hash: String,
}

/// A signed checkpoint of the log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: i64,
    /// Root hash, hex.
    pub root: String,
    /// The signed note text (C2SP tlog-checkpoint).
    pub note: String,
    /// When it was signed (store time); not part of the signed note.
    #[serde(skip)]
    pub at: OffsetDateTime,
}

/// A registered bidder identity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bidder {
    /// Key id: hex of the first 8 bytes of SHA-256(public key).
    pub id: String,
    /// Name of the bidding company or person.
    pub name: String,
    /// SEC1 uncompressed P-256 public key, base64url.
    #[serde(serialize_with = "crate::store::types::b64")]
    #[schema(value_type = String)]
    pub public_key: Vec<u8>,
    /// Registered at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A registered custodian (HPKE public key).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustodianRecord {
    /// Custodian id used in custody policies (`server` is the server).
    pub id: String,
    /// Name, e.g. "Notary Office No. 2".
    pub name: String,
    /// SEC1 uncompressed P-256 HPKE public key, base64url.
    #[serde(serialize_with = "crate::store::types::b64")]
    #[schema(value_type = String)]
    pub public_key: Vec<u8>,
    /// Registered at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A bid to record, after its files are durable.
#[derive(Debug, Clone)]
pub struct NewBid {
    /// Bid id from the envelope.
    pub id: Uuid,
    /// Tender id.
    pub tender_id: Uuid,
    /// Signer's key id.
    pub bidder_id: String,
    /// Lot id.
    pub lot: String,
    /// SHA-256 of the exact envelope bytes.
    pub envelope_hash: [u8; 32],
    /// The bidder's signature over the envelope.
    pub signature: Vec<u8>,
    /// Blob hashes (hex): envelope, form, then documents in order.
    pub blobs: Vec<String>,
    /// Ciphertext bytes uploaded.
    pub total_bytes: i64,
    /// The ciphertexts of `blobs` kept in the database (at most
    /// [`super::INLINE_MAX`] bytes each): hex hash and bytes, recorded with
    /// the bid. The others are files, durable before the bid is recorded.
    pub inline: Vec<(String, Vec<u8>)>,
}

impl NewBid {
    /// Is this ciphertext of the bid kept in the database?
    pub fn is_inline(&self, hash: &str) -> bool {
        self.inline.iter().any(|(h, _)| h == hash)
    }
}

/// A stored bid.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBid {
    /// Bid id.
    pub id: Uuid,
    /// Tender id.
    pub tender_id: Uuid,
    /// Signer's key id.
    pub bidder_id: String,
    /// Lot id.
    pub lot: String,
    /// SHA-256 of the envelope, hex.
    pub envelope_hash: String,
    /// Blob hashes (hex): envelope, form, documents.
    pub blobs: Vec<String>,
    /// Status.
    pub status: crate::domain::bid::BidStatus,
    /// Server receipt time.
    pub received_at: OffsetDateTime,
    /// Log index of its `bid.received` event.
    pub log_index: i64,
    /// Tree size of the checkpoint its receipt uses.
    pub receipt_size: i64,
    /// Log index and checkpoint size of its withdrawal, if withdrawn.
    pub withdrawal: Option<(i64, i64)>,
    /// When it stopped standing (withdrawn or replaced); the withdrawal's
    /// receipt names this time.
    pub ended_at: Option<OffsetDateTime>,
}

pub(crate) fn b64<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::seal::b64(bytes))
}
