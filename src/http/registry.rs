//! Bidder and custodian registration, admissions, and a tender's frozen
//! custody policy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::registry::{
    self as uc, Challenge, ChallengeAnswer, ChallengeRequest, RegisterBidder, RegisterCustodian, RegisteredCustodian,
    RotatedToken,
};
use crate::domain::tender::SealedCustody;
use crate::store::{Bidder, CustodianRecord};

/// Register a bidder identity key (open to anyone holding the key).
#[utoipa::path(post, path = "/api/v1/bidders", request_body = RegisterBidder, responses((status = 201, body = Bidder), (status = 200, body = Bidder)))]
pub async fn register_bidder(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterBidder>,
) -> ApiResult<(StatusCode, Json<Bidder>)> {
    let (stored, created) = uc::register_bidder(&state, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(stored)))
}

/// A registered bidder's public record.
#[utoipa::path(get, path = "/api/v1/bidders/{id}", responses((status = 200, body = Bidder)))]
pub async fn get_bidder(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Bidder>> {
    Ok(Json(uc::bidder(&state, &id).await?))
}

/// Register a new custodian (admin or officer). An id or key already
/// registered is refused with 409 `custodian_exists` and nothing changes.
#[utoipa::path(post, path = "/api/v1/custodians", request_body = RegisterCustodian, responses((status = 201, body = RegisteredCustodian), (status = 409, description = "custodian_exists: the id or key is registered")), security(("staff" = [])))]
pub async fn register_custodian(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiJson(req): ApiJson<RegisterCustodian>,
) -> ApiResult<(StatusCode, Json<RegisteredCustodian>)> {
    Ok((StatusCode::CREATED, Json(uc::register_custodian(&state, &me, req).await?)))
}

/// A challenge sealed to the custodian's registered key (public; at most 8
/// open and 20 a minute per custodian, else 429 `too_many_challenges`).
#[utoipa::path(post, path = "/api/v1/custodians/{id}/challenges", request_body = ChallengeRequest, responses((status = 201, body = Challenge), (status = 404), (status = 429)))]
pub async fn challenge(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> ApiResult<(StatusCode, Json<Challenge>)> {
    Ok((StatusCode::CREATED, Json(uc::challenge(&state, &id, req).await?)))
}

/// The custodian rotates its own release token by answering a `rotate`
/// challenge (403 `bad_proof` otherwise); the old token stops working.
#[utoipa::path(post, path = "/api/v1/custodians/{id}/token", request_body = ChallengeAnswer, responses((status = 200, body = RotatedToken), (status = 403, description = "bad_proof")))]
pub async fn rotate_token(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> ApiResult<Json<RotatedToken>> {
    Ok(Json(uc::rotate_token(&state, &id, answer).await?))
}

/// All custodians (public: their keys are what bids are sealed to).
#[utoipa::path(get, path = "/api/v1/custodians", responses((status = 200, body = Vec<CustodianRecord>)))]
pub async fn list_custodians(State(state): State<AppState>) -> ApiResult<Json<Vec<CustodianRecord>>> {
    Ok(Json(uc::custodians(&state).await?))
}

/// The custody policy bids must be sealed to, fixed at publish.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/custody", responses((status = 200, body = Object)))]
pub async fn custody(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<SealedCustody>> {
    Ok(Json(uc::custody(&state, id).await?))
}

/// A bidder to admit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    /// Bidder key id.
    pub bidder: String,
}

/// Admit a bidder to a tender with approved registration (officer, admin).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/admissions", request_body = Admission, responses((status = 204)), security(("staff" = [])))]
pub async fn admit(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Admission>,
) -> ApiResult<StatusCode> {
    uc::admit(&state, &me, id, &req.bidder).await?;
    Ok(StatusCode::NO_CONTENT)
}
