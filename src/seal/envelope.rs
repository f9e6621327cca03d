//! The envelope: the signed JSON document describing one sealed bid.
//!
//! The bidder signs the exact bytes; they are never re-serialized for
//! verification, so the JSON needs no canonical form.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::binding::{
    Binding, LABEL_FORM_KEY_COMMITMENT, LABEL_KEY_COMMITMENT, LABEL_SHARE_AAD, LABEL_SHARE_COMMITMENT,
    LABEL_SHARE_INFO, sha256,
};
use super::encoding::{b64_vec, hex32};
use super::hpke::{ENC_LEN, HPKE_AEAD_ID, HPKE_KDF_ID, HPKE_KEM_ID};
use super::keys::BidderPublicKey;
use super::shamir::SHARE_LEN;
use super::{BidKey, CustodianPublicKey, SealError, SymmetricKey};

/// `type` of an envelope.
pub const ENVELOPE_TYPE: &str = "bidroom.envelope.v1";

/// The reserved custodian id of "the bid's own bidder": its slot has no key
/// in a tender's published policy, and in each envelope the key that bidder
/// registered as its decryption key (`docs/PROTOCOL.md`, "Bidder-held shares").
pub const BIDDER_CUSTODIAN: &str = "bidder";

/// Algorithm identifiers; fixed for v1, checked for equality on parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// HPKE KEM id (0x0010, DHKEM(P-256, HKDF-SHA256)).
    pub hpke_kem: u16,
    /// HPKE KDF id (0x0001, HKDF-SHA256).
    pub hpke_kdf: u16,
    /// HPKE AEAD id (0x0002, AES-256-GCM).
    pub hpke_aead: u16,
    /// Key derivation from K: `"HKDF-SHA256"`.
    pub kdf: String,
    /// Form and manifest AEAD: `"AES-256-GCM"`.
    pub aead: String,
    /// Document stream: `"AES-256-GCM-STREAM-64KiB"`.
    pub stream: String,
    /// Secret sharing: `"SHAMIR-P256-SCALAR"`.
    pub sharing: String,
    /// Envelope signature: `"ECDSA-P256-SHA256"`.
    pub signature: String,
}

impl Suite {
    /// The only suite of version 1.
    pub fn v1() -> Self {
        Suite {
            hpke_kem: HPKE_KEM_ID,
            hpke_kdf: HPKE_KDF_ID,
            hpke_aead: HPKE_AEAD_ID,
            kdf: "HKDF-SHA256".into(),
            aead: "AES-256-GCM".into(),
            stream: "AES-256-GCM-STREAM-64KiB".into(),
            sharing: "SHAMIR-P256-SCALAR".into(),
            signature: "ECDSA-P256-SHA256".into(),
        }
    }
}

/// One custodian of a tender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custodian {
    /// 1-based index; also the Shamir x coordinate of its share.
    pub index: u8,
    /// Free-form identifier (e.g. `"server"`, a user id).
    pub id: String,
    /// HPKE public key. Absent only for the [`BIDDER_CUSTODIAN`] slot of a
    /// tender's published policy; every envelope names a key for every slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<CustodianPublicKey>,
}

impl Custodian {
    /// The slot's key, or an error naming the slot when it has none.
    pub fn key(&self) -> Result<&CustodianPublicKey, SealError> {
        self.public_key.as_ref().ok_or_else(|| {
            SealError::malformed(format!(
                "custodian {} ('{}') has no public key; the bidder's slot takes its registered decryption key",
                self.index, self.id
            ))
        })
    }
}

/// Who can open the tender's bids: any `threshold` of `custodians`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyPolicy {
    /// k.
    pub threshold: u8,
    /// The n custodians, indices 1..=n in order.
    pub custodians: Vec<Custodian>,
}

impl CustodyPolicy {
    /// Check 1 ≤ k ≤ n ≤ 255, indices 1..=n in order, distinct keys, at
    /// most one [`BIDDER_CUSTODIAN`] slot and it alone without a key (a
    /// published policy), and k = n when it has one (every share required).
    pub fn validate(&self) -> Result<(), SealError> {
        let n = self.custodians.len();
        if n == 0 || n > 255 || self.threshold == 0 || usize::from(self.threshold) > n {
            return Err(SealError::malformed("custody policy needs 1 <= k <= n <= 255"));
        }
        for (i, c) in self.custodians.iter().enumerate() {
            if usize::from(c.index) != i + 1 {
                return Err(SealError::malformed("custodian indices must be 1..=n in order"));
            }
            // One key holding two shares would silently lower the threshold.
            if c.public_key.is_some() && self.custodians[..i].iter().any(|o| o.public_key == c.public_key) {
                return Err(SealError::malformed("custodian public keys must be distinct"));
            }
            if c.public_key.is_none() && c.id != BIDDER_CUSTODIAN {
                return Err(SealError::malformed(format!("custodian '{}' has no public key", c.id)));
            }
        }
        if self.custodians.iter().filter(|c| c.id == BIDDER_CUSTODIAN).count() > 1 {
            return Err(SealError::malformed("the bidder holds one share at most"));
        }
        // With Shamir a share is required only when k = n (see PROTOCOL.md).
        if self.bidder_index().is_some() && usize::from(self.threshold) != n {
            return Err(SealError::malformed("a policy with the bidder's share needs k = n"));
        }
        Ok(())
    }

    /// [`validate`](Self::validate), and every slot has its key: the policy
    /// of an envelope.
    pub fn validate_sealed(&self) -> Result<(), SealError> {
        self.validate()?;
        for c in &self.custodians {
            c.key()?;
        }
        Ok(())
    }

    /// The share index of the bidder's own slot, if the policy has one.
    pub fn bidder_index(&self) -> Option<u8> {
        self.custodians.iter().find(|c| c.id == BIDDER_CUSTODIAN).map(|c| c.index)
    }

    /// The policy one bidder seals to: the bidder's slot (if any) takes
    /// `key`, the bidder's registered decryption key; other slots are kept.
    pub fn with_bidder_key(&self, key: &CustodianPublicKey) -> CustodyPolicy {
        let mut out = self.clone();
        for c in &mut out.custodians {
            if c.id == BIDDER_CUSTODIAN {
                c.public_key = Some(*key);
            }
        }
        out
    }

    /// n as a byte (valid policies only).
    pub(crate) fn n(&self) -> u8 {
        u8::try_from(self.custodians.len()).unwrap_or(u8::MAX)
    }
}

/// One share sealed to one custodian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareEntry {
    /// Custodian index.
    pub index: u8,
    /// HPKE encapsulated key (65 bytes), base64url.
    #[serde(with = "b64_vec")]
    pub enc: Vec<u8>,
    /// HPKE ciphertext of the 33-byte share (49 bytes), base64url.
    #[serde(with = "b64_vec")]
    pub ct: Vec<u8>,
    /// Share commitment, hex.
    #[serde(with = "hex32")]
    pub commitment: [u8; 32],
}

/// Hash and length of a ciphertext stored next to the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    /// SHA-256 of the ciphertext bytes, hex.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// Ciphertext length in bytes.
    pub length: u64,
}

/// A document ciphertext (a stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// 0-based document index (also the key derivation input).
    pub index: u32,
    /// SHA-256 of the stream bytes, hex.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// Stream length in bytes.
    pub length: u64,
}

/// The envelope JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Always `"bidroom.envelope.v1"`.
    #[serde(rename = "type")]
    pub envelope_type: String,
    /// Algorithms.
    pub suite: Suite,
    /// Tender id.
    pub tender_id: Uuid,
    /// Bid id.
    pub bid_id: Uuid,
    /// Lot id.
    pub lot: String,
    /// The signer.
    pub bidder_public_key: BidderPublicKey,
    /// When the bidder sealed (bidder's clock; receipt time is the server's).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The tender's custody policy, copied.
    pub custody: CustodyPolicy,
    /// Commitment to K, hex.
    #[serde(with = "hex32")]
    pub key_commitment: [u8; 32],
    /// Commitment to the form key, hex.
    #[serde(with = "hex32")]
    pub form_key_commitment: [u8; 32],
    /// One sealed share per custodian, in custodian order.
    pub shares: Vec<ShareEntry>,
    /// The form ciphertext.
    pub form: BlobRef,
    /// Sealed document manifest (names, media types), base64url.
    #[serde(with = "b64_vec")]
    pub manifest: Vec<u8>,
    /// The document streams, indices 0..m in order.
    pub documents: Vec<DocumentRef>,
}

/// Tender/bid-bound commitment `SHA-256(label ‖ 0x00 ‖ tender ‖ bid ‖ extra)`.
fn commit(binding: &Binding, label: &str, extra: &[&[u8]]) -> [u8; 32] {
    sha256(&binding.labeled(label, extra))
}

/// Commitment to K.
pub fn key_commitment(binding: &Binding, key: &BidKey) -> [u8; 32] {
    commit(binding, LABEL_KEY_COMMITMENT, &[key.as_bytes()])
}

/// Commitment to the form key.
pub fn form_key_commitment(binding: &Binding, form_key: &SymmetricKey) -> [u8; 32] {
    commit(binding, LABEL_FORM_KEY_COMMITMENT, &[form_key.as_bytes()])
}

/// Commitment to the 33-byte encoded share of custodian `index`.
pub fn share_commitment(binding: &Binding, index: u8, share: &[u8; SHARE_LEN]) -> [u8; 32] {
    commit(binding, LABEL_SHARE_COMMITMENT, &[&[index], share])
}

/// HPKE info for custodian `index`'s share.
pub fn share_info(binding: &Binding, index: u8) -> Vec<u8> {
    binding.labeled(LABEL_SHARE_INFO, &[&[index]])
}

/// HPKE aad for a share: binds the custodian's public key.
pub fn share_aad(pk: &CustodianPublicKey) -> Vec<u8> {
    super::binding::labeled(LABEL_SHARE_AAD, &[pk.as_bytes()])
}

impl Envelope {
    /// Parse and check internal consistency (no signature check).
    pub fn parse(bytes: &[u8]) -> Result<Self, SealError> {
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| SealError::malformed(e.to_string()))?;
        env.validate()?;
        Ok(env)
    }

    /// Verify the signature with the key named inside, then parse.
    pub fn parse_signed(bytes: &[u8], signature: &[u8]) -> Result<Self, SealError> {
        let env = Self::parse(bytes)?;
        env.bidder_public_key.verify(bytes, signature)?;
        Ok(env)
    }

    /// The tender/bid binding.
    pub fn binding(&self) -> Binding {
        Binding::new(self.tender_id, self.bid_id)
    }

    fn validate(&self) -> Result<(), SealError> {
        if self.envelope_type != ENVELOPE_TYPE {
            return Err(SealError::malformed("not a bidroom.envelope.v1"));
        }
        if self.suite != Suite::v1() {
            return Err(SealError::malformed("unsupported suite"));
        }
        self.custody.validate_sealed()?;
        if self.shares.len() != self.custody.custodians.len() {
            return Err(SealError::malformed("one share per custodian required"));
        }
        for (i, s) in self.shares.iter().enumerate() {
            if usize::from(s.index) != i + 1 {
                return Err(SealError::malformed("share indices must be 1..=n in order"));
            }
            if s.enc.len() != ENC_LEN || s.ct.len() != SHARE_LEN + 16 {
                return Err(SealError::malformed("share enc/ct has the wrong length"));
            }
        }
        for (i, d) in self.documents.iter().enumerate() {
            if usize::try_from(d.index).ok() != Some(i) {
                return Err(SealError::malformed("document indices must be 0..m in order"));
            }
        }
        if self.form.length < super::aead::OVERHEAD as u64 || self.manifest.len() < super::aead::OVERHEAD {
            return Err(SealError::malformed("form or manifest ciphertext too short"));
        }
        Ok(())
    }

    /// Server-side checks before accepting: bound to this tender and bid,
    /// sealed under this tender's custody policy, signed by `bidder`.
    pub fn check_submission(
        &self,
        expected: &Binding,
        policy: &CustodyPolicy,
        bidder: &BidderPublicKey,
    ) -> Result<(), SealError> {
        if self.tender_id != expected.tender_id {
            return Err(SealError::WrongTender { expected: expected.tender_id, found: self.tender_id });
        }
        if self.bid_id != expected.bid_id {
            return Err(SealError::WrongBid { expected: expected.bid_id, found: self.bid_id });
        }
        if &self.custody != policy {
            return Err(SealError::CustodyPolicyMismatch);
        }
        if &self.bidder_public_key != bidder {
            return Err(SealError::BadSignature);
        }
        Ok(())
    }
}

/// Verify `signature` (64-byte `r ‖ s`) over the exact envelope bytes.
pub fn verify_signature(envelope_bytes: &[u8], signature: &[u8], bidder: &BidderPublicKey) -> Result<(), SealError> {
    bidder.verify(envelope_bytes, signature)
}

/// Check stored ciphertext bytes against the envelope's record.
pub fn verify_blob(expected: &BlobRef, bytes: &[u8]) -> Result<(), SealError> {
    if bytes.len() as u64 != expected.length || sha256(bytes) != expected.sha256 {
        return Err(SealError::CiphertextHashMismatch);
    }
    Ok(())
}
