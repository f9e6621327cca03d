//! Bidder identity keys: ECDSA P-256 with SHA-256, signatures in the fixed
//! 64-byte `r ‖ s` form that WebCrypto produces.

use ring::rand::SystemRandom;
use ring::signature::{self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use zeroize::Zeroizing;

use super::SealError;
use super::binding::sha256;
use super::encoding::{b64, unb64};

/// Signature length (`r ‖ s`).
pub const SIGNATURE_LEN: usize = 64;

/// A bidder's public key: uncompressed SEC1 P-256 point (65 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BidderPublicKey([u8; 65]);

impl std::fmt::Debug for BidderPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BidderPublicKey({})", self.key_id())
    }
}

impl BidderPublicKey {
    /// Parse and check that the bytes are a point on P-256.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        // Same curve and encoding as custodian keys: reuse that validation.
        super::CustodianPublicKey::from_bytes(bytes)
            .map(|k| BidderPublicKey(*k.as_bytes()))
            .map_err(|_| SealError::malformed("bidder public key is not a P-256 point"))
    }

    /// The 65 SEC1 bytes.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// Key id: hex of the first 8 bytes of SHA-256(public key bytes).
    pub fn key_id(&self) -> String {
        key_id(&self.0)
    }

    /// Verify a 64-byte `r ‖ s` signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), SealError> {
        signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(msg, sig)
            .map_err(|_| SealError::BadSignature)
    }
}

impl serde::Serialize for BidderPublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for BidderPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        let bytes = unb64(&text).map_err(serde::de::Error::custom)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Key id of any public key bytes: hex of SHA-256(bytes)[..8].
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(&sha256(public_key)[..8])
}

/// A bidder's signing key (PKCS#8 v1 document, as ring and WebCrypto use).
pub struct BidderKey {
    pair: EcdsaKeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    public: BidderPublicKey,
}

impl std::fmt::Debug for BidderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BidderKey({})", self.public.key_id())
    }
}

impl BidderKey {
    /// Fresh key from the operating system generator.
    pub fn generate() -> Result<Self, SealError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| SealError::Crypto("ECDSA key generation failed"))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Load a PKCS#8 document (with the public key included, as WebCrypto
    /// exports it).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, SealError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
            .map_err(|_| SealError::malformed("not a P-256 PKCS#8 private key"))?;
        let public = BidderPublicKey::from_bytes(pair.public_key().as_ref())?;
        Ok(BidderKey { pair, pkcs8: Zeroizing::new(pkcs8.to_vec()), public })
    }

    /// The PKCS#8 document; handle with care.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key.
    pub fn public_key(&self) -> BidderPublicKey {
        self.public
    }

    /// Sign `msg`: ECDSA P-256 SHA-256, 64-byte `r ‖ s`.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; SIGNATURE_LEN], SealError> {
        let sig = self.pair.sign(&SystemRandom::new(), msg).map_err(|_| SealError::Crypto("ECDSA signing failed"))?;
        sig.as_ref().try_into().map_err(|_| SealError::Crypto("unexpected signature length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reload() {
        let k = BidderKey::generate().unwrap();
        let sig = k.sign(b"envelope").unwrap();
        k.public_key().verify(b"envelope", &sig).unwrap();
        assert_eq!(k.public_key().verify(b"envelopf", &sig), Err(SealError::BadSignature));
        let again = BidderKey::from_pkcs8(k.pkcs8()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        assert_eq!(k.public_key().key_id().len(), 16);
        assert!(BidderKey::from_pkcs8(b"nope").is_err());
    }
}
