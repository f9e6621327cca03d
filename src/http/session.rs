//! The opening session: its state on the server clock for everyone, and
//! the host's controls for officers and admins.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::auth::{MaybeStaff, StaffUser};
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::session::{self, Control, SessionView};

/// The session's stage, its time left on the server clock, and its holds.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/session", responses((status = 200, body = SessionView)))]
pub async fn get(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(session::view(&state, staff.as_ref(), id).await?))
}

/// The host pauses, resumes, extends, suspends or terminates the session
/// (officers and admins).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/session", request_body = Control, responses((status = 200, body = SessionView)), security(("staff" = [])))]
pub async fn control(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Control>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(session::control(&state, &staff, id, req).await?))
}
