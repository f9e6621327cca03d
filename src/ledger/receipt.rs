//! Submission receipts: a signed checkpoint plus the inclusion proof of the
//! bid's log entry, verifiable offline forever.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::hash::{Hash, leaf_hash};
use super::note::{Checkpoint, NoteError, Verifier, open_checkpoint};
use super::tree::TreeError;
use super::verify::{verify_consistency, verify_inclusion};

/// Errors from receipt verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The checkpoint note does not verify or parse.
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// An inclusion or consistency proof does not verify.
    #[error("receipt proof: {0}")]
    Proof(#[from] TreeError),
    /// `tree_size` disagrees with the signed checkpoint.
    #[error("receipt tree size {receipt} differs from checkpoint size {checkpoint}")]
    SizeMismatch {
        /// Size stated in the receipt.
        receipt: u64,
        /// Size in the signed checkpoint.
        checkpoint: u64,
    },
    /// The newer checkpoint belongs to another log.
    #[error("checkpoint origin {0:?} is not this receipt's log")]
    OriginMismatch(String),
    /// The entry bytes are not a bid entry naming an envelope hash.
    #[error("receipt entry: {0}")]
    BadEntry(&'static str),
    /// The entry names another envelope than the receipt.
    #[error("entry names envelope {entry}, receipt names {receipt}")]
    EnvelopeMismatch {
        /// Hash named inside the logged entry.
        entry: String,
        /// Hash stated in the receipt.
        receipt: String,
    },
}

/// What a bidder gets back for a durable submission (serialised as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The signed checkpoint note whose tree includes the entry.
    pub checkpoint: String,
    /// Index of the bid's entry in the log.
    pub leaf_index: u64,
    /// Size of the checkpoint's tree (repeated for convenience; checked).
    pub tree_size: u64,
    /// RFC 9162 inclusion proof of the entry, base64 hashes.
    #[serde(with = "b64_hashes")]
    pub inclusion: Vec<Hash>,
    /// The exact logged entry bytes, base64.
    #[serde(with = "b64_bytes")]
    pub entry: Vec<u8>,
    /// The envelope hash the entry names, as it appears in the entry.
    pub envelope_hash: String,
    /// Server time of receipt (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

impl Receipt {
    /// Verifies the checkpoint signature, the entry's inclusion in the
    /// checkpoint's tree, and that the entry names `envelope_hash`.
    /// Returns the verified checkpoint for the caller to keep.
    pub fn verify(&self, verifier: &Verifier) -> Result<Checkpoint, ReceiptError> {
        let checkpoint = open_checkpoint(&self.checkpoint, verifier)?;
        if checkpoint.size != self.tree_size {
            return Err(ReceiptError::SizeMismatch { receipt: self.tree_size, checkpoint: checkpoint.size });
        }
        verify_inclusion(&leaf_hash(&self.entry), self.leaf_index, self.tree_size, &self.inclusion, &checkpoint.root)?;
        let named = entry_envelope_hash(&self.entry)?;
        if named != self.envelope_hash {
            return Err(ReceiptError::EnvelopeMismatch { entry: named, receipt: self.envelope_hash.clone() });
        }
        Ok(checkpoint)
    }

    /// Checks that `newer` (an already verified checkpoint of the same log)
    /// extends this receipt's tree, so the entry is still in the log.
    pub fn verify_consistent_with(
        &self,
        verifier: &Verifier,
        newer: &Checkpoint,
        proof: &[Hash],
    ) -> Result<(), ReceiptError> {
        let ours = self.verify(verifier)?;
        if newer.origin != ours.origin {
            return Err(ReceiptError::OriginMismatch(newer.origin.clone()));
        }
        verify_consistency(ours.size, newer.size, &ours.root, &newer.root, proof)?;
        Ok(())
    }
}

/// The `data.envelope_hash` string of a bid entry (entries are JSON).
pub fn entry_envelope_hash(entry: &[u8]) -> Result<String, ReceiptError> {
    let value: serde_json::Value = serde_json::from_slice(entry).map_err(|_| ReceiptError::BadEntry("not JSON"))?;
    value
        .get("data")
        .and_then(|d| d.get("envelope_hash"))
        .and_then(|h| h.as_str())
        .map(str::to_owned)
        .ok_or(ReceiptError::BadEntry("no data.envelope_hash string"))
}

mod b64_bytes {
    use super::{B64, Engine};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        // Owned: JSON may escape '/' so a borrowed &str is not always possible.
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(D::Error::custom)
    }
}

mod b64_hashes {
    use super::{B64, Engine, Hash};
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hashes.len()))?;
        for h in hashes {
            seq.serialize_element(&B64.encode(h))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let bytes = B64.decode(s).map_err(D::Error::custom)?;
                Hash::try_from(bytes.as_slice()).map_err(|_| D::Error::custom("hash is not 32 bytes"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::memory::MemoryTree;
    use crate::ledger::note::LogSigner;
    use time::macros::datetime;

    const ORIGIN: &str = "bids.example.org/bidroom/log";

    fn bid_entry(n: u64) -> Vec<u8> {
        format!(r#"{{"type":"bid_received","data":{{"envelope_hash":"{n:064x}"}}}}"#).into_bytes()
    }

    fn setup() -> (LogSigner, MemoryTree, Receipt) {
        let signer = LogSigner::from_pkcs8(ORIGIN, &LogSigner::generate_pkcs8().unwrap()).unwrap();
        let mut tree = MemoryTree::new();
        for i in 0..11 {
            tree.append(&bid_entry(i));
        }
        let cp = Checkpoint { origin: ORIGIN.into(), size: tree.size(), root: tree.root() };
        let receipt = Receipt {
            checkpoint: signer.sign_checkpoint(&cp).unwrap(),
            leaf_index: 6,
            tree_size: 11,
            inclusion: tree.inclusion_proof(6, 11).unwrap(),
            entry: bid_entry(6),
            envelope_hash: format!("{:064x}", 6),
            received_at: datetime!(2026-03-01 09:30:00.123 UTC),
        };
        (signer, tree, receipt)
    }

    #[test]
    fn receipt_verifies_and_round_trips_json() {
        let (signer, _, receipt) = setup();
        let cp = receipt.verify(&signer.verifier()).unwrap();
        assert_eq!(cp.size, 11);
        let json = serde_json::to_string(&receipt).unwrap();
        assert!(json.contains(r#""received_at":"2026-03-01T09:30:00.123Z""#));
        let back: Receipt = serde_json::from_str(&json).unwrap();
        assert_eq!(back, receipt);
        // JSON that escapes '/' must still decode.
        let escaped = json.replace('/', "\\/");
        assert_eq!(serde_json::from_str::<Receipt>(&escaped).unwrap(), receipt);
    }

    #[test]
    fn tampered_receipts_fail() {
        let (signer, _, receipt) = setup();
        let v = signer.verifier();
        let mut r = receipt.clone();
        r.leaf_index = 5;
        assert!(matches!(r.verify(&v), Err(ReceiptError::Proof(_))));
        let mut r = receipt.clone();
        r.entry = bid_entry(7);
        assert!(matches!(r.verify(&v), Err(ReceiptError::Proof(_))));
        let mut r = receipt.clone();
        r.envelope_hash = "00".into();
        assert!(matches!(r.verify(&v), Err(ReceiptError::EnvelopeMismatch { .. })));
        let mut r = receipt.clone();
        r.tree_size = 12;
        assert!(matches!(r.verify(&v), Err(ReceiptError::SizeMismatch { .. })));
        let mut r = receipt.clone();
        r.inclusion.pop();
        assert!(matches!(r.verify(&v), Err(ReceiptError::Proof(_))));
        let mut r = receipt.clone();
        r.checkpoint = r.checkpoint.replacen("11\n", "12\n", 1);
        assert!(matches!(r.verify(&v), Err(ReceiptError::Checkpoint(_))));
        let other = LogSigner::from_pkcs8(ORIGIN, &LogSigner::generate_pkcs8().unwrap()).unwrap();
        assert!(receipt.verify(&other.verifier()).is_err());
        let bad_json: Result<Receipt, _> =
            serde_json::from_str(&serde_json::to_string(&receipt).unwrap().replace("\"entry\":\"", "\"entry\":\"!"));
        assert!(bad_json.is_err());
    }

    #[test]
    fn consistency_with_newer_checkpoint() {
        let (signer, mut tree, receipt) = setup();
        let v = signer.verifier();
        for i in 11..40 {
            tree.append(&bid_entry(i));
        }
        let newer = Checkpoint { origin: ORIGIN.into(), size: 40, root: tree.root() };
        let proof = tree.consistency_proof(11, 40).unwrap();
        receipt.verify_consistent_with(&v, &newer, &proof).unwrap();
        // A rewritten history (different entry 3) is caught.
        let mut forked = MemoryTree::new();
        for i in 0..40 {
            forked.append(&bid_entry(if i == 3 { 99 } else { i }));
        }
        let forged = Checkpoint { root: forked.root(), ..newer.clone() };
        let proof = forked.consistency_proof(11, 40).unwrap();
        assert!(receipt.verify_consistent_with(&v, &forged, &proof).is_err());
        let elsewhere = Checkpoint { origin: "other/log".into(), ..newer };
        assert!(matches!(receipt.verify_consistent_with(&v, &elsewhere, &[]), Err(ReceiptError::OriginMismatch(_))));
    }

    #[test]
    fn envelope_hash_extraction() {
        assert_eq!(entry_envelope_hash(&bid_entry(1)).unwrap(), format!("{:064x}", 1));
        for bad in
            [&b"not json"[..], br#"{"data":{}}"#, br#"{"envelope_hash":"x"}"#, br#"{"data":{"envelope_hash":5}}"#]
        {
            assert!(entry_envelope_hash(bad).is_err());
        }
    }
}
