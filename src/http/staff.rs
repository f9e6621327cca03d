//! Staff accounts: admins create them; each gets a token shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::auth::StaffUser;
use super::error::ApiResult;
use super::extract::ApiJson;
use crate::app::AppState;
use crate::app::registry::{CreatedStaff, NewStaff, create_staff, staff};
use crate::store::Staff;

/// Create a staff account (admin).
#[utoipa::path(post, path = "/api/v1/staff", request_body = NewStaff, responses((status = 201, body = CreatedStaff)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiJson(req): ApiJson<NewStaff>,
) -> ApiResult<(StatusCode, Json<CreatedStaff>)> {
    Ok((StatusCode::CREATED, Json(create_staff(&state, &me, req).await?)))
}

/// List staff accounts (admin).
#[utoipa::path(get, path = "/api/v1/staff", responses((status = 200, body = Vec<Staff>)), security(("staff" = [])))]
pub async fn list(State(state): State<AppState>, StaffUser(me): StaffUser) -> ApiResult<Json<Vec<Staff>>> {
    Ok(Json(staff(&state, &me).await?))
}

/// Who am I (any staff).
#[utoipa::path(get, path = "/api/v1/staff/me", responses((status = 200, body = Staff)), security(("staff" = [])))]
pub async fn me(StaffUser(me): StaffUser) -> Json<Staff> {
    Json(me)
}
