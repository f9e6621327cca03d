//! The bidder side: draw K, seal shares, form, manifest and documents,
//! then sign the envelope.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::binding::{Binding, LABEL_MANIFEST_AAD, sha256};
use super::envelope::{
    BlobRef, CustodyPolicy, DocumentRef, ENVELOPE_TYPE, Envelope, ShareEntry, Suite, form_key_commitment,
    key_commitment, share_aad, share_commitment, share_info,
};
use super::keys::{BidderKey, SIGNATURE_LEN};
use super::{BidKey, SealError, StreamEncryptor, StreamSummary, SymmetricKey, aead, encrypt_stream, hpke, kdf, shamir};

/// One entry of the sealed manifest (plaintext JSON
/// `{"documents":[{"index":0,"name":"…","media_type":"…","length":123}]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Document index.
    pub index: u32,
    /// File name as the bidder gave it.
    pub name: String,
    /// Media type, e.g. `application/pdf`.
    pub media_type: String,
    /// Plaintext length in bytes.
    pub length: u64,
}

/// The manifest plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Documents in index order.
    pub documents: Vec<ManifestEntry>,
}

/// What the bidder submits: the envelope bytes, the signature over them and
/// the form ciphertext (document streams were written as they were sealed).
#[derive(Debug, Clone)]
pub struct SealedBid {
    /// The exact signed envelope bytes.
    pub envelope: Vec<u8>,
    /// ECDSA P-256 SHA-256 `r ‖ s` over `envelope`.
    pub signature: [u8; SIGNATURE_LEN],
    /// The form ciphertext (`nonce ‖ ct ‖ tag`).
    pub form_ciphertext: Vec<u8>,
}

/// Builds one sealed bid. Documents are sealed first (their hashes go into
/// the envelope), then [`seal`](Self::seal) signs everything.
#[derive(Debug)]
pub struct BidSealer {
    binding: Binding,
    lot: String,
    custody: CustodyPolicy,
    key: BidKey,
    documents_key: SymmetricKey,
    started: u32,
    documents: Vec<DocumentRef>,
    manifest: Vec<ManifestEntry>,
}

impl BidSealer {
    /// Start a bid: validates the policy and draws a fresh K.
    pub fn new(binding: Binding, lot: &str, custody: &CustodyPolicy) -> Result<Self, SealError> {
        Self::with_key(binding, lot, custody, BidKey::generate()?)
    }

    pub(crate) fn with_key(
        binding: Binding,
        lot: &str,
        custody: &CustodyPolicy,
        key: BidKey,
    ) -> Result<Self, SealError> {
        // A bidder's slot left without its key cannot be sealed to.
        custody.validate_sealed()?;
        Ok(BidSealer {
            binding,
            lot: lot.to_owned(),
            custody: custody.clone(),
            documents_key: kdf::documents_key(&binding, &key)?,
            key,
            started: 0,
            documents: Vec::new(),
            manifest: Vec::new(),
        })
    }

    /// Begin the next document: its index and an incremental encryptor.
    /// Report the result with [`finish_document`](Self::finish_document).
    pub fn begin_document(&mut self) -> Result<(u32, StreamEncryptor), SealError> {
        let index = self.started;
        self.started = index.checked_add(1).ok_or_else(|| SealError::malformed("too many documents"))?;
        let key = kdf::document_key(&self.binding, &self.documents_key, index)?;
        Ok((index, StreamEncryptor::new(&key)?))
    }

    /// Record a finished document; indices must be finished in order.
    pub fn finish_document(
        &mut self,
        index: u32,
        name: &str,
        media_type: &str,
        summary: &StreamSummary,
    ) -> Result<(), SealError> {
        if usize::try_from(index).ok() != Some(self.documents.len()) || index >= self.started {
            return Err(SealError::malformed("documents must be finished in index order"));
        }
        self.documents.push(DocumentRef { index, sha256: summary.ciphertext_sha256, length: summary.ciphertext_len });
        self.manifest.push(ManifestEntry {
            index,
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            length: summary.plaintext_len,
        });
        Ok(())
    }

    /// Seal one whole document from `reader` to `writer` (blocking I/O).
    pub fn seal_document<R: Read, W: Write>(
        &mut self,
        name: &str,
        media_type: &str,
        reader: R,
        writer: W,
    ) -> Result<StreamSummary, SealError> {
        let (index, _) = self.begin_document()?;
        let key = kdf::document_key(&self.binding, &self.documents_key, index)?;
        let summary = encrypt_stream(&key, reader, writer)?;
        self.finish_document(index, name, media_type, &summary)?;
        Ok(summary)
    }

    /// Seal the form and the shares, build and sign the envelope.
    pub fn seal(
        self,
        form_json: &[u8],
        signer: &BidderKey,
        created_at: OffsetDateTime,
    ) -> Result<SealedBid, SealError> {
        if self.documents.len() != self.started as usize {
            return Err(SealError::malformed("a begun document was not finished"));
        }
        let b = self.binding;
        let form_key = kdf::form_key(&b, &self.key)?;
        let form_ciphertext = super::seal_form(&b, &form_key, form_json)?;
        let manifest_json = serde_json::to_vec(&Manifest { documents: self.manifest })
            .map_err(|e| SealError::malformed(e.to_string()))?;
        let manifest_key = kdf::manifest_key(&b, &self.documents_key)?;
        let manifest = aead::seal(manifest_key.as_bytes(), &b.labeled(LABEL_MANIFEST_AAD, &[]), &manifest_json)?;
        let shares = shamir::split(&self.key, self.custody.threshold, self.custody.n())?;
        let mut entries = Vec::with_capacity(shares.len());
        for (share, custodian) in shares.iter().zip(&self.custody.custodians) {
            let bytes = share.to_bytes();
            let pk = custodian.key()?;
            let (enc, ct) = hpke::seal_to(pk, &share_info(&b, custodian.index), &share_aad(pk), bytes.as_ref())?;
            entries.push(ShareEntry {
                index: custodian.index,
                enc: enc.to_vec(),
                ct,
                commitment: share_commitment(&b, custodian.index, &bytes),
            });
        }
        let envelope = Envelope {
            envelope_type: ENVELOPE_TYPE.to_owned(),
            suite: Suite::v1(),
            tender_id: b.tender_id,
            bid_id: b.bid_id,
            lot: self.lot,
            bidder_public_key: signer.public_key(),
            created_at,
            custody: self.custody,
            key_commitment: key_commitment(&b, &self.key),
            form_key_commitment: form_key_commitment(&b, &form_key),
            shares: entries,
            form: BlobRef { sha256: sha256(&form_ciphertext), length: form_ciphertext.len() as u64 },
            manifest,
            documents: self.documents,
        };
        let bytes = serde_json::to_vec(&envelope).map_err(|e| SealError::malformed(e.to_string()))?;
        let signature = signer.sign(&bytes)?;
        Ok(SealedBid { envelope: bytes, signature, form_ciphertext })
    }
}

/// Seal a bid without documents in one call.
pub fn seal_bid(
    binding: Binding,
    lot: &str,
    form_json: &[u8],
    custody: &CustodyPolicy,
    signer: &BidderKey,
    created_at: OffsetDateTime,
) -> Result<SealedBid, SealError> {
    BidSealer::new(binding, lot, custody)?.seal(form_json, signer, created_at)
}
