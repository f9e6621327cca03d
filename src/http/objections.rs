//! Objections, confirmations of the record, announcements and the final
//! record over HTTP: extract, call `app::objections` / `app::record_final`,
//! map the answer.

use axum::Json;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::objections::{self, ConfirmRecord, Logged, RaiseError, RaiseObjection};
use crate::app::record_final::{self, FinalRecord};

/// The host's answer to an objection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The answer, 1 to 2,000 characters, shown next to the objection.
    pub answer: String,
}

/// An announcement to the room.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// The text, 1 to 500 characters.
    pub text: String,
}

/// A signed-in bidder raises an objection (异议), from the 唱标 to the end
/// of confirmation; at most five a minute per bidder.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/objections", request_body = RaiseObjection,
    responses((status = 201, body = Logged), (status = 429, description = "too many objections; see Retry-After")))]
pub async fn raise(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<RaiseObjection>,
) -> Response {
    match objections::raise(&state, id, req).await {
        Ok(logged) => (StatusCode::CREATED, Json(logged)).into_response(),
        Err(RaiseError::App(e)) => ApiError::from(e).into_response(),
        Err(RaiseError::Limited(wait)) => limited(wait, "objections", objections::OBJECTIONS_PER_MINUTE),
    }
}

/// 429 with `Retry-After`: at most `per_minute` of `what` a minute per bidder.
pub(crate) fn limited(wait: std::time::Duration, what: &str, per_minute: u32) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut r = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("at most {per_minute} {what} a minute per bidder; try again in {secs} s"),
    )
    .into_response();
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// The host answers an objection (officers and admins).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/objections/{objection}/answer", request_body = Answer,
    responses((status = 201, body = Logged)), security(("staff" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath((id, objection)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<Answer>,
) -> ApiResult<(StatusCode, Json<Logged>)> {
    Ok((StatusCode::CREATED, Json(objections::answer(&state, &staff, id, objection, req.answer).await?)))
}

/// A bidder whose bid was read confirms the record (无异议), signing its hash.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/record/confirm", request_body = ConfirmRecord,
    responses((status = 201, body = Logged)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ConfirmRecord>,
) -> ApiResult<(StatusCode, Json<Logged>)> {
    Ok((StatusCode::CREATED, Json(objections::confirm(&state, id, req).await?)))
}

/// The host posts an announcement to the room (officers and admins).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/announcements", request_body = Announcement,
    responses((status = 201, body = Logged)), security(("staff" = [])))]
pub async fn announce(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Announcement>,
) -> ApiResult<(StatusCode, Json<Logged>)> {
    Ok((StatusCode::CREATED, Json(objections::announce(&state, &staff, id, req.text).await?)))
}

/// The final opening record (开标记录表), sealed when the session ended.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/record/final", responses((status = 200, body = FinalRecord)))]
pub async fn final_record(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<FinalRecord>> {
    Ok(Json(record_final::load(&state, id).await?.1))
}

/// The page routes: the printable final record.
pub fn page_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tenders/{id}/record/print", axum::routing::get(print_page))
        .route("/tenders/{id}/record/qr.svg", axum::routing::get(record_qr))
}

/// The QR code printed on the record (`/tenders/{id}/record/qr.svg`): the
/// absolute link to the log entry that seals it, so a paper copy can be
/// checked by a phone.
pub async fn record_qr(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let (_, fin) = record_final::load(&state, id).await?;
    let svg = record_final::qr_svg(&record_final::entry_link(&super::ocds::origin(&headers), &fin))?;
    let mut r = svg.into_response();
    r.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(r)
}

/// Content-Security-Policy of the printable record: own origin only.
const PRINT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The printable final record (`/tenders/{id}/record/print`): A4, zh and
/// en; the script renders `GET …/record/final` with its log index and link.
pub async fn print_page() -> Response {
    let html = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>bidroom</title>\n\
        <link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/assets/print_record.css\">\n\
        <script type=\"module\" src=\"/assets/js/print_record.js\"></script>\n</head>\n\
        <body>\n<main id=\"main\"><p>Loading…</p></main>\n</body>\n</html>\n";
    let mut r = axum::response::Html(html).into_response();
    r.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PRINT_CSP));
    r
}
