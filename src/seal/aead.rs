//! AES-256-GCM with a random 12-byte nonce prepended: `nonce ‖ ct ‖ tag`.
//!
//! Used for the form, the document manifest and key files; the same layout
//! is what WebCrypto's `encrypt({name: "AES-GCM", iv, additionalData})`
//! produces after prepending `iv`.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::SealError;
use super::rng::random;

/// Nonce length (12) plus tag length (16).
pub const OVERHEAD: usize = NONCE_LEN + 16;

pub(crate) fn key(bytes: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Crypto("AES-256-GCM key setup failed"))
}

/// Encrypt `pt` under `key` with associated data `aad`.
pub(crate) fn seal(key_bytes: &[u8; 32], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, SealError> {
    let nonce = random::<NONCE_LEN>()?;
    seal_with_nonce(key_bytes, nonce, aad, pt)
}

/// Encrypt with a caller-chosen nonce (worked example only).
pub(crate) fn seal_with_nonce(
    key_bytes: &[u8; 32],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    pt: &[u8],
) -> Result<Vec<u8>, SealError> {
    let k = key(key_bytes)?;
    let mut out = Vec::with_capacity(pt.len() + OVERHEAD);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(pt);
    let tag = k
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out[NONCE_LEN..])
        .map_err(|_| SealError::Crypto("AES-256-GCM seal failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypt `nonce ‖ ct ‖ tag`; `None` if it does not authenticate.
pub(crate) fn open(key_bytes: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < OVERHEAD {
        return None;
    }
    let k = key(key_bytes).ok()?;
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ct.to_vec();
    let pt_len = k.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?.len();
    buf.truncate(pt_len);
    Some(buf)
}
