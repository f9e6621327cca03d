//! Staff authentication: bearer tokens resolved to staff accounts (the
//! tokens themselves are `app::tokens`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::AppState;
use crate::app::tokens::staff_by_token;
use crate::store::Staff;

pub use crate::app::tokens::{new_token, token_hash};

/// The bearer token of a request, if it names one; a malformed one is an error.
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
        Ok(MaybeStaff(Some(staff_by_token(state, token).await?)))
    }
}
