//! Custodian challenges: a random nonce HPKE-sealed to a custodian's
//! registered key, so that only the holder of the private key can answer.
//! Token rotation and every release need a fresh answer (`docs/PROTOCOL.md`,
//! "Custodian challenges").

use uuid::Uuid;

use super::SealError;
use super::hpke::{CustodianPublicKey, CustodianSecretKey, open_with, seal_to};

/// Label that starts a challenge's HPKE `info`.
pub const CHALLENGE_LABEL: &str = "bidroom/v1/custodian-challenge";

/// Length of a challenge nonce.
pub const NONCE_LEN: usize = 32;

/// What a challenge is for; part of its `info`, so an answer to one purpose
/// (or tender) is no answer to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengePurpose {
    /// Issuing a new release token (no tender).
    Rotate,
    /// Releasing shares of one tender.
    Release,
}

impl ChallengePurpose {
    /// The stable string in `info` and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Rotate => "rotate",
            ChallengePurpose::Release => "release",
        }
    }
}

/// `"bidroom/v1/custodian-challenge" ‖ 0x00 ‖ custodian id ‖ 0x00 ‖ purpose
/// ‖ 0x00 ‖ tender id (hyphenated lowercase UUID) or empty`.
pub fn challenge_info(custodian: &str, purpose: ChallengePurpose, tender: Option<Uuid>) -> Vec<u8> {
    let tender = tender.map(|t| t.hyphenated().to_string()).unwrap_or_default();
    let mut info = Vec::with_capacity(CHALLENGE_LABEL.len() + custodian.len() + tender.len() + 16);
    for (i, part) in [CHALLENGE_LABEL, custodian, purpose.as_str(), tender.as_str()].iter().enumerate() {
        if i > 0 {
            info.push(0);
        }
        info.extend_from_slice(part.as_bytes());
    }
    info
}

/// Seals `nonce` to the custodian's key; returns `(enc, ciphertext)`. The AAD is empty.
pub fn seal_challenge(
    pk: &CustodianPublicKey,
    info: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<([u8; 65], Vec<u8>), SealError> {
    seal_to(pk, info, b"", nonce)
}

/// Opens a challenge with the custodian's private key: the nonce, or `None`
/// when it was not sealed to this key for this `info`.
pub fn answer_challenge(
    sk: &CustodianSecretKey,
    info: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
) -> Option<[u8; NONCE_LEN]> {
    open_with(sk, enc, info, b"", ciphertext)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_byte_exact_and_only_the_key_holder_answers() {
        let t = Uuid::from_u128(1);
        assert_eq!(
            challenge_info("notary", ChallengePurpose::Release, Some(t)),
            b"bidroom/v1/custodian-challenge\x00notary\x00release\x0000000000-0000-0000-0000-000000000001".to_vec()
        );
        assert_eq!(challenge_info("n", ChallengePurpose::Rotate, None), b"bidroom/v1/custodian-challenge\0n\0rotate\0");
        let sk = CustodianSecretKey::generate().unwrap();
        let other = CustodianSecretKey::generate().unwrap();
        let info = challenge_info("n", ChallengePurpose::Rotate, None);
        let (enc, ct) = seal_challenge(&sk.public_key(), &info, &[9; 32]).unwrap();
        assert_eq!(answer_challenge(&sk, &info, &enc, &ct), Some([9; 32]));
        assert_eq!(answer_challenge(&other, &info, &enc, &ct), None);
        let release = challenge_info("n", ChallengePurpose::Release, Some(t));
        assert_eq!(answer_challenge(&sk, &release, &enc, &ct), None, "another purpose is another info");
    }
}
