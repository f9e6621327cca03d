//! Custodian key pairs and HPKE (RFC 9180) base mode for the suite
//! DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM
//! (kem 0x0010, kdf 0x0001, aead 0x0002).

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::DhP256HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};

use super::SealError;
use super::encoding::{b64, unb64};
#[cfg(test)]
use super::rng::FixedIkm;
use super::rng::{random, system_rng};

type Kem = DhP256HkdfSha256;

/// HPKE KEM id of DHKEM(P-256, HKDF-SHA256).
pub const HPKE_KEM_ID: u16 = 0x0010;
/// HPKE KDF id of HKDF-SHA256.
pub const HPKE_KDF_ID: u16 = 0x0001;
/// HPKE AEAD id of AES-256-GCM.
pub const HPKE_AEAD_ID: u16 = 0x0002;
/// Length of an encapsulated key (uncompressed SEC1 point).
pub const ENC_LEN: usize = 65;

/// A custodian's public key: an uncompressed SEC1 P-256 point (65 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustodianPublicKey([u8; 65]);

impl std::fmt::Debug for CustodianPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustodianPublicKey({})", hex::encode(self.0))
    }
}

impl CustodianPublicKey {
    /// Parse and validate (the point must be on the curve).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map_err(|_| SealError::malformed("custodian public key is not a P-256 point"))?;
        let arr: [u8; 65] =
            bytes.try_into().map_err(|_| SealError::malformed("custodian public key must be 65 bytes"))?;
        Ok(CustodianPublicKey(arr))
    }

    /// The 65 SEC1 bytes.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    fn to_hpke(self) -> Result<<Kem as hpke::Kem>::PublicKey, SealError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0)
            .map_err(|_| SealError::malformed("custodian public key is not a P-256 point"))
    }
}

impl serde::Serialize for CustodianPublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for CustodianPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        let bytes = unb64(&text).map_err(serde::de::Error::custom)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// A custodian's private key (a P-256 scalar), with its public key.
#[derive(Clone)]
pub struct CustodianSecretKey {
    sk: <Kem as hpke::Kem>::PrivateKey,
    pk: CustodianPublicKey,
}

impl std::fmt::Debug for CustodianSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustodianSecretKey(public={:?})", self.pk)
    }
}

impl CustodianSecretKey {
    /// Fresh key pair from the operating system generator.
    pub fn generate() -> Result<Self, SealError> {
        let ikm = zeroize::Zeroizing::new(random::<32>()?);
        Ok(Self::derive_from_ikm(ikm.as_ref()))
    }

    /// RFC 9180 `DeriveKeyPair(ikm)`: deterministic, for test vectors.
    pub fn derive_from_ikm(ikm: &[u8]) -> Self {
        let (sk, pk) = Kem::derive_keypair(ikm);
        let mut bytes = [0u8; 65];
        bytes.copy_from_slice(&pk.to_bytes());
        CustodianSecretKey { sk, pk: CustodianPublicKey(bytes) }
    }

    /// Load a 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map_err(|_| SealError::malformed("custodian private key must be a 32-byte scalar"))?;
        let pk = Kem::sk_to_pk(&sk);
        let mut bytes = [0u8; 65];
        bytes.copy_from_slice(&pk.to_bytes());
        Ok(CustodianSecretKey { sk, pk: CustodianPublicKey(bytes) })
    }

    /// The 32-byte big-endian scalar; handle with care.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.sk.to_bytes());
        out
    }

    /// The matching public key.
    pub fn public_key(&self) -> CustodianPublicKey {
        self.pk
    }
}

/// HPKE base-mode single-shot seal to `pk`; returns `(enc, ct)`.
pub fn seal_to(
    pk: &CustodianPublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Result<([u8; ENC_LEN], Vec<u8>), SealError> {
    seal_with_rng(pk, info, aad, pt, &mut system_rng()?)
}

/// Like [`seal_to`] with the ephemeral key `DeriveKeyPair(ikm_e)`.
///
/// Only for test vectors: reusing `ikm_e` breaks confidentiality.
#[cfg(test)]
pub(crate) fn seal_to_with_ikm(
    pk: &CustodianPublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    ikm_e: [u8; 32],
) -> Result<([u8; ENC_LEN], Vec<u8>), SealError> {
    seal_with_rng(pk, info, aad, pt, &mut FixedIkm::new(ikm_e))
}

/// The seal itself, the ephemeral key drawn from `rng`.
fn seal_with_rng(
    pk: &CustodianPublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<([u8; ENC_LEN], Vec<u8>), SealError> {
    let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, Kem>(
        &OpModeS::Base,
        &pk.to_hpke()?,
        info,
        pt,
        aad,
        rng,
    )
    .map_err(|_| SealError::Crypto("HPKE seal failed"))?;
    let mut enc_bytes = [0u8; ENC_LEN];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok((enc_bytes, ct))
}

/// HPKE base-mode single-shot open; `None` on any failure (bad enc or tag).
pub fn open_with(sk: &CustodianSecretKey, enc: &[u8], info: &[u8], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).ok()?;
    // Note the argument order: ciphertext before aad.
    hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(&OpModeR::Base, &sk.sk, &enc, info, ct, aad).ok()
}

#[cfg(test)]
#[path = "hpke_tests.rs"]
mod tests;
