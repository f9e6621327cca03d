//! The JSON shapes of the resumable upload endpoints.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{PartState, UploadSession};

/// Body of `POST /api/v1/tenders/{id}/uploads`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// The exact signed envelope bytes, base64url.
    pub envelope: String,
    /// ECDSA P-256 `r ‖ s` over them, base64url.
    pub signature: String,
}

/// An upload session: what the envelope declares and what the server holds.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadView {
    /// The session id (keep it private: it names the session).
    #[schema(value_type = String, format = Uuid)]
    pub upload_id: Uuid,
    /// The tender.
    #[schema(value_type = String, format = Uuid)]
    pub tender_id: Uuid,
    /// The bid the envelope names.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// Hex SHA-256 of the envelope.
    pub envelope_hash: String,
    /// `open` (parts missing), `complete` (ready to commit) or `committed`.
    pub state: &'static str,
    /// Server time after which the session and its bytes are deleted.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Most bytes one PATCH request may carry.
    pub max_request_bytes: u64,
    /// Bytes held over all parts.
    pub received: u64,
    /// Bytes declared over all parts.
    pub total: u64,
    /// Part 0 is the form ciphertext, part i + 1 document i.
    pub parts: Vec<PartView>,
}

/// One ciphertext of a session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PartView {
    /// Its number in the URL (`…/parts/{part}`).
    pub part: usize,
    /// `form` or `document`.
    pub kind: &'static str,
    /// Declared length in bytes.
    pub length: u64,
    /// Declared SHA-256, hex.
    pub sha256: String,
    /// Bytes held: the offset the next PATCH must name.
    pub received: u64,
    /// All bytes held and the hash matched.
    pub complete: bool,
}

impl PartView {
    /// Part `n` of `s` in state `st`.
    pub fn new(s: &UploadSession, n: usize, st: PartState) -> Self {
        let spec = &s.parts[n];
        let (received, complete) = match st {
            PartState::Complete => (spec.length, true),
            PartState::Receiving(held) => (held, false),
        };
        PartView {
            part: n,
            kind: if n == 0 { "form" } else { "document" },
            length: spec.length,
            sha256: spec.sha256.clone(),
            received,
            complete,
        }
    }
}

impl UploadView {
    /// The view of `s` with its parts' states.
    pub fn new(s: &UploadSession, parts: Vec<PartView>, committed: bool, max_request_bytes: u64) -> Self {
        let state = if committed {
            "committed"
        } else if parts.iter().all(|p| p.complete) {
            "complete"
        } else {
            "open"
        };
        UploadView {
            upload_id: s.id,
            tender_id: s.tender_id,
            bid_id: s.bid_id,
            envelope_hash: s.envelope_hash.clone(),
            state,
            expires_at: s.expires_at,
            max_request_bytes,
            // Declared by the bidder: summed without overflowing.
            received: parts.iter().fold(0u64, |a, p| a.saturating_add(p.received)),
            total: parts.iter().fold(0u64, |a, p| a.saturating_add(p.length)),
            parts,
        }
    }
}
