//! Passphrase-protected key files, readable and writable by the browser
//! (PBKDF2-HMAC-SHA256 and AES-256-GCM are both in WebCrypto).
//!
//! ```json
//! {"type":"bidroom.key.v1","kind":"bidder","public":"<b64url>",
//!  "kdf":{"alg":"PBKDF2-HMAC-SHA256","iterations":600000,"salt":"<b64url>"},
//!  "sealed":"<b64url(nonce ‖ ct ‖ tag)>"}
//! ```
//!
//! The wrapping key is PBKDF2-HMAC-SHA256(passphrase UTF-8, salt, iterations,
//! 32 bytes); the AAD is `"bidroom/v1/key-file" ‖ 0x00 ‖ kind ‖ 0x00 ‖
//! public`, so the public key and kind cannot be swapped. The plaintext is
//! the PKCS#8 document (bidder) or the 32-byte scalar (custodian).

use std::num::NonZeroU32;

use ring::pbkdf2;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::binding::{LABEL_KEY_FILE_AAD, labeled};
use super::encoding::b64_vec;
use super::keys::{BidderKey, BidderPublicKey};
use super::rng::random;
use super::{CustodianPublicKey, CustodianSecretKey, SealError, aead};

/// `type` of a key file.
pub const KEY_FILE_TYPE: &str = "bidroom.key.v1";
/// The only KDF name accepted.
pub const KDF_ALG: &str = "PBKDF2-HMAC-SHA256";
/// Default PBKDF2 iteration count (OWASP 2023 for PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Upper bound, so a hostile file cannot pin a CPU for hours.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Whose key a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// ECDSA P-256 identity key of a bidder.
    Bidder,
    /// HPKE P-256 key of a custodian.
    Custodian,
    /// HPKE P-256 decryption key of a bidder (its share of a bidder-held
    /// policy is sealed to it); same plaintext as a custodian's.
    Decryption,
}

impl KeyKind {
    fn label(self) -> &'static str {
        match self {
            KeyKind::Bidder => "bidder",
            KeyKind::Custodian => "custodian",
            KeyKind::Decryption => "decryption",
        }
    }
}

/// PBKDF2 parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `"PBKDF2-HMAC-SHA256"`.
    pub alg: String,
    /// Iteration count.
    pub iterations: u32,
    /// Salt (16 random bytes when we create it), base64url.
    #[serde(with = "b64_vec")]
    pub salt: Vec<u8>,
}

/// A key file as stored on disk (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Always `"bidroom.key.v1"`.
    #[serde(rename = "type")]
    pub file_type: String,
    /// Bidder or custodian.
    pub kind: KeyKind,
    /// Public key, 65-byte SEC1 uncompressed, base64url.
    #[serde(with = "b64_vec")]
    pub public: Vec<u8>,
    /// Passphrase KDF.
    pub kdf: KdfParams,
    /// `nonce (12) ‖ ciphertext ‖ tag (16)`, base64url.
    #[serde(with = "b64_vec")]
    pub sealed: Vec<u8>,
}

fn wrapping_key(passphrase: &str, kdf: &KdfParams) -> Result<Zeroizing<[u8; 32]>, SealError> {
    if kdf.alg != KDF_ALG {
        return Err(SealError::malformed("unsupported key file KDF"));
    }
    let iterations = NonZeroU32::new(kdf.iterations)
        .filter(|n| n.get() <= MAX_ITERATIONS)
        .ok_or_else(|| SealError::malformed("key file iteration count out of range"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, &kdf.salt, passphrase.as_bytes(), out.as_mut());
    Ok(out)
}

fn aad(kind: KeyKind, public: &[u8]) -> Vec<u8> {
    labeled(LABEL_KEY_FILE_AAD, &[kind.label().as_bytes(), &[0], public])
}

impl KeyFile {
    fn seal(kind: KeyKind, public: &[u8], secret: &[u8], passphrase: &str, iterations: u32) -> Result<Self, SealError> {
        let kdf = KdfParams { alg: KDF_ALG.to_owned(), iterations, salt: random::<16>()?.to_vec() };
        let wrap = wrapping_key(passphrase, &kdf)?;
        let sealed = aead::seal(&wrap, &aad(kind, public), secret)?;
        Ok(KeyFile { file_type: KEY_FILE_TYPE.to_owned(), kind, public: public.to_vec(), kdf, sealed })
    }

    /// Protect a bidder key with a passphrase.
    pub fn seal_bidder(key: &BidderKey, passphrase: &str, iterations: u32) -> Result<Self, SealError> {
        let public = key.public_key();
        Self::seal(KeyKind::Bidder, public.as_bytes(), key.pkcs8(), passphrase, iterations)
    }

    /// Protect a custodian key with a passphrase.
    pub fn seal_custodian(key: &CustodianSecretKey, passphrase: &str, iterations: u32) -> Result<Self, SealError> {
        let public = key.public_key();
        Self::seal(KeyKind::Custodian, public.as_bytes(), key.to_bytes().as_ref(), passphrase, iterations)
    }

    /// Protect a bidder's decryption key with a passphrase.
    pub fn seal_decryption(key: &CustodianSecretKey, passphrase: &str, iterations: u32) -> Result<Self, SealError> {
        let public = key.public_key();
        Self::seal(KeyKind::Decryption, public.as_bytes(), key.to_bytes().as_ref(), passphrase, iterations)
    }

    /// Parse a key file (strict: unknown fields are refused).
    pub fn parse(json: &[u8]) -> Result<Self, SealError> {
        let file: KeyFile = serde_json::from_slice(json).map_err(|e| SealError::malformed(e.to_string()))?;
        if file.file_type != KEY_FILE_TYPE {
            return Err(SealError::malformed("not a bidroom.key.v1 file"));
        }
        Ok(file)
    }

    /// Serialize to JSON bytes.
    pub fn to_json(&self) -> Result<Vec<u8>, SealError> {
        serde_json::to_vec_pretty(self).map_err(|e| SealError::malformed(e.to_string()))
    }

    /// Key id of the public key (hex of SHA-256(public)[..8]).
    pub fn key_id(&self) -> String {
        super::keys::key_id(&self.public)
    }

    fn unlock(&self, kind: KeyKind, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if self.kind != kind {
            return Err(SealError::malformed("key file holds another kind of key"));
        }
        let wrap = wrapping_key(passphrase, &self.kdf)?;
        aead::open(&wrap, &aad(kind, &self.public), &self.sealed).map(Zeroizing::new).ok_or(SealError::WrongPassphrase)
    }

    /// Unlock a bidder key; checks it matches the file's public key.
    pub fn unlock_bidder(&self, passphrase: &str) -> Result<BidderKey, SealError> {
        let secret = self.unlock(KeyKind::Bidder, passphrase)?;
        let key = BidderKey::from_pkcs8(&secret)?;
        if key.public_key() != BidderPublicKey::from_bytes(&self.public)? {
            return Err(SealError::malformed("key file public key does not match"));
        }
        Ok(key)
    }

    /// Unlock a custodian key; checks it matches the file's public key.
    pub fn unlock_custodian(&self, passphrase: &str) -> Result<CustodianSecretKey, SealError> {
        self.unlock_hpke(KeyKind::Custodian, passphrase)
    }

    /// Unlock a bidder's decryption key; checks it matches the file's public key.
    pub fn unlock_decryption(&self, passphrase: &str) -> Result<CustodianSecretKey, SealError> {
        self.unlock_hpke(KeyKind::Decryption, passphrase)
    }

    fn unlock_hpke(&self, kind: KeyKind, passphrase: &str) -> Result<CustodianSecretKey, SealError> {
        let secret = self.unlock(kind, passphrase)?;
        let key = CustodianSecretKey::from_bytes(&secret)?;
        if key.public_key() != CustodianPublicKey::from_bytes(&self.public)? {
            return Err(SealError::malformed("key file public key does not match"));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidder_round_trip_and_wrong_passphrase() {
        let key = BidderKey::generate().unwrap();
        let file = KeyFile::seal_bidder(&key, "correct horse", 1000).unwrap();
        let json = file.to_json().unwrap();
        let parsed = KeyFile::parse(&json).unwrap();
        assert_eq!(parsed.key_id(), key.public_key().key_id());
        let back = parsed.unlock_bidder("correct horse").unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(parsed.unlock_bidder("wrong").unwrap_err(), SealError::WrongPassphrase);
        assert!(parsed.unlock_custodian("correct horse").is_err());
    }

    #[test]
    fn custodian_round_trip_and_swapped_public_key() {
        let key = CustodianSecretKey::generate().unwrap();
        let file = KeyFile::seal_custodian(&key, "pw", 1000).unwrap();
        let back = KeyFile::parse(&file.to_json().unwrap()).unwrap();
        assert_eq!(back.unlock_custodian("pw").unwrap().public_key(), key.public_key());
        assert_eq!(back.unlock_custodian("pW").unwrap_err(), SealError::WrongPassphrase);
        let mut swapped = back.clone();
        swapped.public = CustodianSecretKey::generate().unwrap().public_key().as_bytes().to_vec();
        assert_eq!(swapped.unlock_custodian("pw").unwrap_err(), SealError::WrongPassphrase);
    }

    #[test]
    fn decryption_key_round_trip_is_not_a_custodian_file() {
        let key = CustodianSecretKey::generate().unwrap();
        let file = KeyFile::seal_decryption(&key, "pw", 1000).unwrap();
        let again = KeyFile::parse(&file.to_json().unwrap()).unwrap();
        assert_eq!(again.unlock_decryption("pw").unwrap().public_key(), key.public_key());
        assert!(again.unlock_custodian("pw").is_err(), "the kind is bound into the AAD and checked");
    }

    #[test]
    fn strict_parsing() {
        let key = CustodianSecretKey::generate().unwrap();
        let file = KeyFile::seal_custodian(&key, "pw", 1).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&file.to_json().unwrap()).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(KeyFile::parse(v.to_string().as_bytes()).is_err());
        let mut v: serde_json::Value = serde_json::from_slice(&file.to_json().unwrap()).unwrap();
        v["kdf"]["iterations"] = serde_json::json!(0);
        let f = KeyFile::parse(v.to_string().as_bytes()).unwrap();
        assert!(matches!(f.unlock_custodian("pw"), Err(SealError::Malformed(_))));
    }
}
