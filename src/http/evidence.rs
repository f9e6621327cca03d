//! The evidence bundle download (docs/EVIDENCE.md).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::error::{ApiResult, ErrorBody};
use super::extract::ApiPath;
use crate::app::AppState;
use crate::app::evidence as uc;

/// Every public artifact of the tender in one tar file, verifiable offline
/// with `bidroom verify --bundle FILE`.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/evidence", responses(
    (status = 200, description = "a tar archive: manifest.json and the members it lists (docs/EVIDENCE.md)", content_type = "application/x-tar"),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft")))]
pub async fn bundle(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let bytes = uc::bundle(&state, id).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"evidence-{id}.tar\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
