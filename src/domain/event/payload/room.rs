//! Payloads of the room around the opening: staff acts, sign-in, tokens, the stream.

// The wire vocabulary (Digest, serde, times, ids) is the parent's, shared by every part.
use super::*;

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
