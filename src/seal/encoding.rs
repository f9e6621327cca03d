//! Text encodings of binary fields in JSON: base64url without padding for
//! keys and ciphertexts, lowercase hex for hashes and commitments.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serializer};

use super::SealError;

/// base64url, no padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding (strict: padding is rejected).
pub fn unb64(text: &str) -> Result<Vec<u8>, SealError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| SealError::malformed("invalid base64url"))
}

/// serde adapter: `Vec<u8>` as base64url.
pub(crate) mod b64_vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        unb64(&text).map_err(serde::de::Error::custom)
    }
}

/// serde adapter: `[u8; 32]` as 64 lowercase hex digits.
pub(crate) mod hex32 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        // Only lowercase, so that each value has exactly one encoding.
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom("expected 64 lowercase hex digits"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
