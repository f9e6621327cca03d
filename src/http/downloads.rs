//! Short-lived download links for evaluators (`app::documents` signs and
//! checks them): one to ask for, one to follow without credentials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::ApiResult;
use super::extract::ApiPath;
use super::opening::download_response;
use crate::app::AppState;
use crate::app::documents::{DownloadLink, create_link, follow_link};

/// A link to one document, valid for a minute (evaluators, after the opening).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids/{bid}/documents/{index}/link", responses((status = 201, body = DownloadLink)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid, index)): ApiPath<(Uuid, Uuid, u32)>,
) -> ApiResult<(StatusCode, Json<DownloadLink>)> {
    Ok((StatusCode::CREATED, Json(create_link(&state, &me, id, bid, index).await?)))
}

/// Follows a download link: checks it, then serves the document as the
/// evaluator who asked for it would get it (and logs the download).
#[utoipa::path(get, path = "/api/v1/downloads/{token}", responses((status = 200, content_type = "application/octet-stream"), (status = 403), (status = 410)))]
pub async fn follow(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let (index, download) = follow_link(&state, &token).await?;
    let mut resp = download_response(index, download)?;
    // The token is in the URL: keep it out of other sites' logs.
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(resp)
}
