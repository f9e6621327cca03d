//! Open data routes: a tender's OCDS release package, and every tender's
//! releases for harvesters.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppError;
use crate::app::AppState;
use crate::app::ocds as uc;

/// Query of the releases feed.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReleasesParams {
    /// Only releases dated after this time (RFC 3339).
    pub since: Option<String>,
    /// Tenders to skip, newest first (default 0).
    pub offset: Option<i64>,
    /// Page size, 1 to 100 (default 100).
    pub limit: Option<i64>,
}

/// The origin the client reached, for the package's `uri` (the `Host`
/// header; `X-Forwarded-Proto` when a proxy terminates TLS).
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The tender as an OCDS 1.1 release package (bids from the opening on).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/ocds", responses(
    (status = 200, description = "an OCDS 1.1 release package with the bids and bidOpening extensions", body = Object),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft")))]
pub async fn tender(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(uc::tender_package(&state, id, &origin(&headers)).await?))
}

/// Every public tender's release, newest tender first, for harvesters.
#[utoipa::path(get, path = "/api/v1/ocds/releases", params(ReleasesParams), responses(
    (status = 200, description = "an OCDS 1.1 release package; `links.next` names the next page when there may be one", body = Object),
    (status = 422, body = ErrorBody, description = "invalid_field: `since` is not RFC 3339, `limit` outside 1..100, or `offset` negative")))]
pub async fn releases(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ReleasesParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let since = match &q.since {
        Some(s) => Some(
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| AppError::invalid("since", "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"))?,
        ),
        None => None,
    };
    let base = origin(&headers);
    let page = uc::releases(&state, since, q.offset.unwrap_or(0), q.limit.unwrap_or(uc::MAX_PAGE), &base);
    Ok(Json(page.await?))
}
