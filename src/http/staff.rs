//! Staff accounts: admins create them; each gets a token shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::{StaffUser, new_token, token_hash};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::domain::Role;
use crate::store::Staff;

/// A new staff account.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// The created account and its token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedStaff {
    /// The account.
    pub staff: Staff,
    /// Bearer token; only its hash is kept.
    pub token: String,
}

fn require_admin(staff: &Staff) -> ApiResult<()> {
    if staff.role.manages_staff() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin can manage staff accounts"))
    }
}

/// Create a staff account (admin).
#[utoipa::path(post, path = "/api/v1/staff", request_body = NewStaff, responses((status = 201, body = CreatedStaff)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiJson(req): ApiJson<NewStaff>,
) -> ApiResult<(StatusCode, Json<CreatedStaff>)> {
    require_admin(&me)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    let token = new_token().map_err(|_| ApiError::internal("random generator failed"))?;
    let staff =
        Staff { id: Uuid::now_v7(), name: name.to_string(), role: req.role, created_at: state.store.now().await? };
    state.store.insert_staff(&staff, &token_hash(&token)).await?;
    Ok((StatusCode::CREATED, Json(CreatedStaff { staff, token })))
}

/// List staff accounts (admin).
#[utoipa::path(get, path = "/api/v1/staff", responses((status = 200, body = Vec<Staff>)), security(("staff" = [])))]
pub async fn list(State(state): State<AppState>, StaffUser(me): StaffUser) -> ApiResult<Json<Vec<Staff>>> {
    require_admin(&me)?;
    Ok(Json(state.store.list_staff().await?))
}

/// Who am I (any staff).
#[utoipa::path(get, path = "/api/v1/staff/me", responses((status = 200, body = Staff)), security(("staff" = [])))]
pub async fn me(StaffUser(me): StaffUser) -> Json<Staff> {
    Json(me)
}
