//! What the server answers, as far as the client needs it. Unknown fields
//! are ignored so that a newer server does not break an older client.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::tender::{CustodyPolicy as TenderCustody, Lot};
use crate::ledger::{Hash, Receipt};

/// The error body of every failed API call.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `deadline_passed`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The offending field, when there is one.
    #[serde(default)]
    pub field: Option<String>,
}

/// The body of `409 bid_withdrawn` / `bid_replaced`: an envelope sent again
/// whose bid was received but no longer stands.
#[derive(Debug, Clone, Deserialize)]
pub struct BidEnded {
    /// `bid_withdrawn` or `bid_replaced`.
    pub code: String,
    /// What happened, for a person.
    pub message: String,
    /// The envelope's bid.
    pub bid_id: Uuid,
    /// The withdrawal's answer (this bid, the receipt of its withdrawal
    /// entry), or the replacing bid's (its id, the receipt of its entry).
    pub ended_by: BidReceipt,
}

impl BidEnded {
    /// Was the bid replaced (rather than withdrawn)?
    pub fn replaced(&self) -> bool {
        self.code == "bid_replaced"
    }
}

/// Body of `POST /api/v1/bidders`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterRequest {
    /// Display name of the bidder.
    pub name: String,
    /// 65-byte SEC1 public key, base64url.
    pub public_key: String,
    /// Signature over [`crate::seal::register_message`], base64url.
    pub proof: String,
}

/// A registered bidder identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bidder {
    /// Key id (hex of SHA-256(public key)[..8]).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Public key, base64url.
    pub public_key: String,
    /// When it was first registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A public tender: the parts a bidder's client needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Tender {
    /// Tender id.
    pub id: Uuid,
    /// `published`, `closed`, …
    pub state: String,
    /// Title.
    pub title: String,
    /// The buyer's reference number.
    pub reference: String,
    /// The lots and their opening-record fields.
    pub lots: Vec<Lot>,
    /// Submission deadline (server time).
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// Custodian ids and threshold (the keys are at `/custody`).
    pub custody: TenderCustody,
}

impl Tender {
    /// The lot with this id.
    pub fn lot(&self, id: &str) -> Option<&Lot> {
        self.lots.iter().find(|l| l.id == id)
    }
}

/// Answer to a submission or a withdrawal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BidReceipt {
    /// The bid the receipt is for.
    pub bid_id: Uuid,
    /// The signed receipt.
    pub receipt: Receipt,
}

/// `GET /api/v1/tenders/{id}/bids`: what anyone may know before opening.
#[derive(Debug, Clone, Deserialize)]
pub struct BidList {
    /// Number of bids currently standing.
    pub count: u64,
    /// Their envelope hashes, hex.
    pub envelope_hashes: Vec<String>,
}

/// A proof from `/api/v1/log/…`, hashes as hex.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ProofBody {
    pub proof: Vec<String>,
}

impl ProofBody {
    /// Decodes the hex hashes; `None` if one is not 32 bytes of hex.
    pub(super) fn hashes(&self) -> Option<Vec<Hash>> {
        self.proof
            .iter()
            .map(|h| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).ok().map(|()| out)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_decode_only_32_byte_hex() {
        let good = ProofBody { proof: vec!["ab".repeat(32), "00".repeat(32)] };
        assert_eq!(good.hashes(), Some(vec![[0xab; 32], [0; 32]]));
        assert_eq!(ProofBody { proof: vec![] }.hashes(), Some(vec![]));
        assert_eq!(ProofBody { proof: vec!["ab".repeat(31)] }.hashes(), None);
        assert_eq!(ProofBody { proof: vec!["zz".repeat(32)] }.hashes(), None);
    }
}
