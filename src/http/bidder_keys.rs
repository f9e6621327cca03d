//! Bidder-held custody over HTTP: a bidder's decryption key, and its
//! release of its own share during the decryption window.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::bidder_release::{self, BidderRelease, BidderReleaseResult};
use crate::app::decryption_keys::{self as uc, RegisterDecryptionKey};
use crate::store::DecryptionKeyRecord;

/// Register or replace the bidder's decryption key (signed by its bidder key).
#[utoipa::path(put, path = "/api/v1/bidders/{id}/decryption-key", request_body = RegisterDecryptionKey, responses((status = 201, body = DecryptionKeyRecord), (status = 200, body = DecryptionKeyRecord), (status = 403, description = "bad_signature"), (status = 409, description = "stale_decryption_key or decryption_key_taken")))]
pub async fn put_decryption_key(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RegisterDecryptionKey>,
) -> ApiResult<(StatusCode, Json<DecryptionKeyRecord>)> {
    let (record, changed) = uc::register_decryption_key(&state, &id, req).await?;
    Ok((if changed { StatusCode::CREATED } else { StatusCode::OK }, Json(record)))
}

/// A bidder's registered decryption key.
#[utoipa::path(get, path = "/api/v1/bidders/{id}/decryption-key", responses((status = 200, body = DecryptionKeyRecord), (status = 404)))]
pub async fn get_decryption_key(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DecryptionKeyRecord>> {
    Ok(Json(uc::decryption_key(&state, &id).await?))
}

/// The bid's own bidder releases its share (signed; once; in the window).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids/{bid}/bidder-release", request_body = BidderRelease, responses((status = 201, body = BidderReleaseResult), (status = 403, description = "bad_signature"), (status = 409, description = "not_opening, window_over, already_released, not_bidder_held"), (status = 422, description = "stale_release")))]
pub async fn release(
    State(state): State<AppState>,
    ApiPath((id, bid)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<BidderRelease>,
) -> ApiResult<(StatusCode, Json<BidderReleaseResult>)> {
    Ok((StatusCode::CREATED, Json(bidder_release::release(&state, id, bid, req).await?)))
}
