//! Bidder and custodian registration, admissions, and a tender's frozen
//! custody policy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::auth::StaffUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::tenders::visible_tender;
use crate::domain::tender::SealedCustody;
use crate::domain::{Role, Tender};
use crate::seal::{BidderPublicKey, Custodian, CustodianPublicKey, register_message, unb64};
use crate::store::{Bidder, CustodianRecord};

/// A bidder registering its identity key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBidder {
    /// Company or person bidding.
    pub name: String,
    /// SEC1 uncompressed P-256 public key, base64url.
    pub public_key: String,
    /// Signature (r‖s, base64url) over `"bidroom/v1/register" ‖ 0x00 ‖ public key`.
    pub proof: String,
}

/// Register a bidder identity key (open to anyone holding the key).
#[utoipa::path(post, path = "/api/v1/bidders", request_body = RegisterBidder, responses((status = 201, body = Bidder), (status = 200, body = Bidder)))]
pub async fn register_bidder(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterBidder>,
) -> ApiResult<(StatusCode, Json<Bidder>)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 300 {
        return Err(ApiError::invalid("name", "must be 1 to 300 characters"));
    }
    let bytes = unb64(&req.public_key).map_err(|_| ApiError::invalid("public_key", "must be base64url"))?;
    let key = BidderPublicKey::from_bytes(&bytes).map_err(|e| ApiError::invalid("public_key", e.to_string()))?;
    let proof = unb64(&req.proof).map_err(|_| ApiError::invalid("proof", "must be base64url"))?;
    key.verify(&register_message(key.as_bytes()), &proof).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_signature",
            "the proof is not a signature of the registration statement by this key",
        )
    })?;
    let bidder =
        Bidder { id: key.key_id(), name: name.to_string(), public_key: bytes, created_at: state.store.now().await? };
    let (stored, created) = state.store.register_bidder(&bidder).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(stored)))
}

/// A registered bidder's public record.
#[utoipa::path(get, path = "/api/v1/bidders/{id}", responses((status = 200, body = Bidder)))]
pub async fn get_bidder(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Bidder>> {
    state.store.get_bidder(&id).await?.map(Json).ok_or_else(|| ApiError::not_found("bidder"))
}

/// A custodian to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCustodian {
    /// Id used in custody policies.
    pub id: String,
    /// Name shown to viewers.
    pub name: String,
    /// HPKE P-256 public key, SEC1 uncompressed, base64url.
    pub public_key: String,
}

/// Register a custodian (admin or officer).
#[utoipa::path(post, path = "/api/v1/custodians", request_body = RegisterCustodian, responses((status = 201, body = CustodianRecord)), security(("staff" = [])))]
pub async fn register_custodian(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiJson(req): ApiJson<RegisterCustodian>,
) -> ApiResult<(StatusCode, Json<CustodianRecord>)> {
    if !me.role.manages_tenders() {
        return Err(ApiError::forbidden("only an officer or admin registers custodians"));
    }
    let id = req.id.trim();
    if id.is_empty()
        || id.len() > 64
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(ApiError::invalid("id", "must be 1-64 letters, digits, '-', '_' or '.'"));
    }
    if id == crate::domain::tender::SERVER_CUSTODIAN {
        return Err(ApiError::invalid("id", "'server' is the server's own custodian key"));
    }
    let bytes = unb64(&req.public_key).map_err(|_| ApiError::invalid("public_key", "must be base64url"))?;
    CustodianPublicKey::from_bytes(&bytes).map_err(|e| ApiError::invalid("public_key", e.to_string()))?;
    let rec = CustodianRecord {
        id: id.to_string(),
        name: req.name.trim().to_string(),
        public_key: bytes,
        created_at: state.store.now().await?,
    };
    Ok((StatusCode::CREATED, Json(state.store.upsert_custodian(&rec).await?)))
}

/// All custodians (public: their keys are what bids are sealed to).
#[utoipa::path(get, path = "/api/v1/custodians", responses((status = 200, body = Vec<CustodianRecord>)))]
pub async fn list_custodians(State(state): State<AppState>) -> ApiResult<Json<Vec<CustodianRecord>>> {
    Ok(Json(state.store.list_custodians().await?))
}

/// Resolves a tender's custody policy to the registered public keys.
pub(crate) async fn resolve_custody(state: &AppState, tender: &Tender) -> ApiResult<SealedCustody> {
    let all = state.store.list_custodians().await?;
    let mut custodians = Vec::with_capacity(tender.custody.custodians.len());
    for (i, id) in tender.custody.custodians.iter().enumerate() {
        let rec = all.iter().find(|c| &c.id == id).ok_or_else(|| {
            ApiError::invalid(format!("custody.custodians[{i}]"), format!("no custodian '{id}' is registered"))
        })?;
        let public_key = CustodianPublicKey::from_bytes(&rec.public_key).map_err(ApiError::internal)?;
        custodians.push(Custodian { index: (i + 1) as u8, id: id.clone(), public_key });
    }
    Ok(SealedCustody { threshold: tender.custody.threshold, custodians })
}

/// The custody policy bids must be sealed to, fixed at publish.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/custody", responses((status = 200, body = Object)))]
pub async fn custody(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<SealedCustody>> {
    let t = visible_tender(&state, id, None).await?;
    t.tender.custody_keys.map(Json).ok_or_else(|| ApiError::not_found("custody policy"))
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
    if !matches!(me.role, Role::Admin | Role::Officer) {
        return Err(ApiError::forbidden("only an officer or admin admits bidders"));
    }
    visible_tender(&state, id, Some(&me)).await?;
    if state.store.get_bidder(&req.bidder).await?.is_none() {
        return Err(ApiError::invalid("bidder", "no such registered bidder"));
    }
    state.store.admit_bidder(id, &req.bidder).await?;
    Ok(StatusCode::NO_CONTENT)
}
