//! `GET …/bids/{bid}/shares`: the released shares that prove a bidder's
//! fault, public once the record is final.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::error::{ApiResult, ErrorBody};
use super::extract::ApiPath;
use crate::app::AppState;
use crate::app::fault_shares::{self as uc, FaultShares};

/// The released shares of a bid rejected because no k of them rebuild its
/// committed key (the bidder sealed them inconsistently).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids/{bid}/shares", responses(
    (status = 200, body = FaultShares, description = "every good share released for the bid; anyone can check each against its commitment and that no k of them rebuild the committed key"),
    (status = 404, body = ErrorBody, description = "not_found: no such tender or bid"),
    (status = 409, body = ErrorBody, description = "record_not_final: before the record is final; shares_not_public: the bid opened, had fewer than k good shares, or stays sealed with a failed lot")))]
pub async fn shares(
    State(state): State<AppState>,
    ApiPath((id, bid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<FaultShares>> {
    Ok(Json(uc::fault_shares(&state, id, bid).await?))
}
