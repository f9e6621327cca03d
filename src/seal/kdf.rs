//! Keys derived from the bid key K with HKDF-SHA256 (RFC 5869).
//!
//! Each derivation is one full HKDF (extract then expand, as WebCrypto's
//! `deriveBits({name: "HKDF"})` does it) with salt `tender (16) ‖ bid (16)`
//! and info `label ‖ 0x00 [‖ extra]`, 32 bytes out:
//!
//! - form key      = HKDF(K, salt, "bidroom/v1/form-key" ‖ 0x00)
//! - documents key = HKDF(K, salt, "bidroom/v1/documents-key" ‖ 0x00)
//! - document key i = HKDF(documents key, salt, "bidroom/v1/document-key" ‖ 0x00 ‖ u32be(i))
//! - manifest key  = HKDF(documents key, salt, "bidroom/v1/manifest-key" ‖ 0x00)
//!
//! The form key is published at the opening; the documents key never is, so
//! it is a separate branch.

use ring::hkdf;
use zeroize::Zeroizing;

use super::binding::{Binding, LABEL_DOCUMENT_KEY, LABEL_DOCUMENTS_KEY, LABEL_FORM_KEY, LABEL_MANIFEST_KEY, labeled};
use super::{BidKey, SealError};

/// A 32-byte symmetric key (AES-256-GCM or HKDF input).
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SymmetricKey(..)")
    }
}

impl SymmetricKey {
    /// Wrap 32 bytes (e.g. a form key published at the opening).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SealError::malformed("key must be 32 bytes"))?;
        Ok(SymmetricKey(Zeroizing::new(arr)))
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256(ikm, salt, info) → 32 bytes.
fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Result<SymmetricKey, SealError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk.expand(&info, Len32).map_err(|_| SealError::Crypto("HKDF expand failed"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    okm.fill(out.as_mut()).map_err(|_| SealError::Crypto("HKDF fill failed"))?;
    Ok(SymmetricKey(out))
}

/// The form key (published at the opening).
pub fn form_key(binding: &Binding, key: &BidKey) -> Result<SymmetricKey, SealError> {
    hkdf32(key.as_bytes(), &binding.salt(), &labeled(LABEL_FORM_KEY, &[]))
}

/// The documents key (never published).
pub fn documents_key(binding: &Binding, key: &BidKey) -> Result<SymmetricKey, SealError> {
    hkdf32(key.as_bytes(), &binding.salt(), &labeled(LABEL_DOCUMENTS_KEY, &[]))
}

/// The stream key of document `index` (0-based).
pub fn document_key(binding: &Binding, documents_key: &SymmetricKey, index: u32) -> Result<SymmetricKey, SealError> {
    hkdf32(documents_key.as_bytes(), &binding.salt(), &labeled(LABEL_DOCUMENT_KEY, &[&index.to_be_bytes()]))
}

/// The key of the sealed document manifest.
pub fn manifest_key(binding: &Binding, documents_key: &SymmetricKey) -> Result<SymmetricKey, SealError> {
    hkdf32(documents_key.as_bytes(), &binding.salt(), &labeled(LABEL_MANIFEST_KEY, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn keys_are_distinct_and_bound() {
        let k = BidKey::generate().unwrap();
        let b = Binding::new(Uuid::new_v4(), Uuid::new_v4());
        let other = Binding::new(b.tender_id, Uuid::new_v4());
        let f = form_key(&b, &k).unwrap();
        let d = documents_key(&b, &k).unwrap();
        assert_ne!(f, d);
        assert_ne!(f, form_key(&other, &k).unwrap());
        let d0 = document_key(&b, &d, 0).unwrap();
        let d1 = document_key(&b, &d, 1).unwrap();
        assert_ne!(d0, d1);
        assert_ne!(manifest_key(&b, &d).unwrap(), d0);
        assert_eq!(form_key(&b, &k).unwrap(), f);
    }

    #[test]
    fn rfc5869_case1_shape() {
        // RFC 5869 A.1 checks our extract/expand plumbing (first 32 bytes).
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let okm = hkdf32(&ikm, &salt, &info).unwrap();
        assert_eq!(hex::encode(okm.as_bytes()), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }
}
