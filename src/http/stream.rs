//! The room's video stream: officers set, change or remove it until the
//! record is published; each change of a public tender is a logged event.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::tenders::{TenderView, transition};
use crate::domain::tender::{Stream, StreamKind};

/// A stream for the room.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamRequest {
    /// An `https://` URL without credentials.
    pub url: String,
    /// `video` (HLS or MP4 in a video element) or `embed` (a player page in a sandboxed iframe).
    pub kind: StreamKind,
}

/// Set or change the room's video stream (officers).
#[utoipa::path(put, path = "/api/v1/tenders/{id}/stream", request_body = StreamRequest, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn set(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<StreamRequest>,
) -> ApiResult<Json<TenderView>> {
    // Parsed inside the transition, so that the role is checked first.
    let set = move |t: &mut crate::domain::Tender, _: &crate::store::TransitionContext| {
        t.set_stream(Some(Stream::parse(&req.url, req.kind)?))
    };
    Ok(Json(transition(&state, &staff, id, "stream", Box::new(set)).await?))
}

/// Remove the room's video stream (officers).
#[utoipa::path(delete, path = "/api/v1/tenders/{id}/stream", responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TenderView>> {
    Ok(Json(transition(&state, &staff, id, "stream", Box::new(move |t, _| t.set_stream(None))).await?))
}
