//! Staff authentication: bearer tokens, stored only as SHA-256 hashes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;

use super::AppState;
use super::error::ApiError;
use crate::store::Staff;

/// Hash under which a token is stored. Tokens are 256-bit random strings, so
/// a plain SHA-256 is enough: there is nothing to brute-force.
pub fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// A fresh random staff token.
pub fn new_token() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)?;
    Ok(format!("brs_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value =
        value.to_str().map_err(|_| ApiError::unauthenticated("the Authorization header is not readable text"))?;
    match value.strip_prefix("Bearer ") {
        Some(token) if !token.trim().is_empty() => Ok(Some(token.trim())),
        _ => Err(ApiError::unauthenticated("use 'Authorization: Bearer <staff token>'")),
    }
}

/// A signed-in staff member; rejects the request when there is none.
pub struct StaffUser(pub Staff);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match MaybeStaff::from_request_parts(parts, state).await? {
            MaybeStaff(Some(s)) => Ok(StaffUser(s)),
            MaybeStaff(None) => {
                Err(ApiError::unauthenticated("this needs a staff token: 'Authorization: Bearer <token>'"))
            }
        }
    }
}

/// Staff if a token was given (a wrong token is still an error), else anonymous.
pub struct MaybeStaff(pub Option<Staff>);

impl FromRequestParts<AppState> for MaybeStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts)? else {
            return Ok(MaybeStaff(None));
        };
        match state.store.staff_by_token_hash(&token_hash(token)).await? {
            Some(staff) => Ok(MaybeStaff(Some(staff))),
            None => Err(ApiError::unauthenticated("the staff token is not valid")),
        }
    }
}
