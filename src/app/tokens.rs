//! Bearer tokens of staff and custodians: random, stored only as hashes.

use base64::Engine;

use super::error::{AppError, AppResult};
use super::state::AppState;
use crate::store::{CustodianRecord, Staff};

/// Hash under which a token is stored. Tokens are 256-bit random strings, so
/// a plain SHA-256 is enough: there is nothing to brute-force.
pub fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// A fresh random token.
pub fn new_token() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)?;
    Ok(format!("brs_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// The staff member holding `token`.
pub async fn staff_by_token(state: &AppState, token: &str) -> AppResult<Staff> {
    state
        .store
        .staff_by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(|| AppError::unauthenticated("the staff token is not valid"))
}

/// The custodian holding release token `token`.
pub async fn custodian_by_token(state: &AppState, token: &str) -> AppResult<CustodianRecord> {
    state
        .store
        .custodian_by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(|| AppError::unauthenticated("the release token is not valid"))
}
