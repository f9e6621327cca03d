//! The tender's draws (`docs/DRAWS.md`): the public view, and the host's
//! reveal of the committed secret (officers and admins).

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::auth::{MaybeStaff, StaffUser};
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::draws::{self, DrawsView, Reveal};

/// The declared draws and formulas, the reveal deadline, who could have
/// predicted them, and the draw events logged so far.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/draws", responses((status = 200, body = DrawsView)))]
pub async fn get(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DrawsView>> {
    Ok(Json(draws::view(&state, staff.as_ref(), id).await?))
}

/// The host reveals the secret committed at publish, after the record; the
/// draws and reference prices are logged with it (`draw.revealed`,
/// `draw.result`).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/draws/reveal", request_body = Reveal, responses((status = 200, body = DrawsView)), security(("staff" = [])))]
pub async fn reveal(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Reveal>,
) -> ApiResult<Json<DrawsView>> {
    Ok(Json(draws::reveal(&state, &staff, id, req).await?))
}
