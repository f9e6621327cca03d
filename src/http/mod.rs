//! The HTTP adapter: one module per resource, the error type, extractors.
//! A handler extracts and authenticates, calls one use case of `crate::app`
//! and maps its result (an [`crate::app::AppError`] becomes an [`ApiError`]).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::routing::{get, patch, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use crate::app::AppState;

pub mod auth;
pub mod bidder_keys;
pub mod bids;
pub mod client_addr;
mod close;
pub mod downloads;
pub mod error;
pub mod evidence;
pub mod export;
pub mod extract;
pub mod fault_shares;
pub mod guard;
mod health;
pub mod live;
pub mod log;
pub mod metrics;
pub mod objections;
pub mod ocds;
mod openapi;
pub mod opening;
mod pages;
pub mod questions;
pub mod ratelimit;
pub mod registry;
pub mod session;
// --- draws ---
pub mod draws;
pub mod staff;
pub mod stream;
pub mod tenders;
pub mod uploads;

pub use error::{ApiError, ApiResult};

/// Largest JSON body accepted by the API (tenders with many lots fit easily).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// Builds the router with its middleware; `timeouts` bound how long request
/// bodies may take, `proxies` are believed about client addresses, and
/// `writes` limit the pace of writes.
pub fn router(
    state: AppState,
    timeouts: guard::BodyTimeouts,
    proxies: client_addr::TrustedProxies,
    writes: ratelimit::WriteLimits,
) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/time", get(health::time))
        .route("/openapi.json", get(openapi::serve))
        .route("/tenders", get(tenders::list).post(tenders::create))
        .route("/tenders/{id}", get(tenders::get).put(tenders::edit))
        .route("/tenders/{id}/publish", post(tenders::publish))
        .route("/tenders/{id}/amend", post(tenders::amend))
        .route("/tenders/{id}/cancel", post(tenders::cancel))
        .route("/tenders/{id}/events", get(tenders::events))
        .route("/tenders/{id}/custody", get(registry::custody))
        .route("/tenders/{id}/admissions", post(registry::admit))
        .route("/tenders/{id}/bids", get(bids::summary).post(bids::submit).layer(DefaultBodyLimit::disable()))
        .route("/tenders/{id}/bids/{bid}/withdraw", post(bids::withdraw))
        .route("/tenders/{id}/uploads", post(uploads::create))
        .route("/tenders/{id}/uploads/{upload}", get(uploads::status))
        .route("/tenders/{id}/uploads/{upload}/commit", post(uploads::commit))
        .route("/tenders/{id}/uploads/{upload}/parts/{part}", patch(uploads::append).head(uploads::part_offset))
        .route("/tenders/{id}/bids/{bid}/documents", get(opening::documents))
        .route("/tenders/{id}/bids/{bid}/documents/{index}", get(opening::document))
        .route("/tenders/{id}/bids/{bid}/documents/{index}/link", post(downloads::create))
        .route("/downloads/{token}", get(downloads::follow))
        .route("/tenders/{id}/envelopes", get(opening::envelopes))
        .route("/tenders/{id}/envelopes/page", get(opening::envelope_page))
        .route("/tenders/{id}/bids/{bid}/shares", get(fault_shares::shares))
        .route("/tenders/{id}/opening/release", post(opening::release))
        .route("/tenders/{id}/record", get(opening::record))
        .route("/tenders/{id}/record.csv", get(export::record_csv))
        .route("/tenders/{id}/stream", axum::routing::put(stream::set).delete(stream::remove))
        .route("/tenders/{id}/session", get(session::get).post(session::control))
        // --- session (issue 12) ---
        .route("/tenders/{id}/objections", post(objections::raise))
        .route("/tenders/{id}/objections/{objection}/answer", post(objections::answer))
        .route("/tenders/{id}/record/confirm", post(objections::confirm))
        .route("/tenders/{id}/record/final", get(objections::final_record))
        .route("/tenders/{id}/announcements", post(objections::announce))
        .route("/tenders/{id}/questions", get(questions::list).post(questions::ask))
        .route("/tenders/{id}/questions/mine", post(questions::mine))
        .route("/tenders/{id}/questions/{question}/answer", post(questions::answer))
        .route("/bidders", post(registry::register_bidder))
        .route("/bidders/{id}", get(registry::get_bidder))
        .route("/custodians", get(registry::list_custodians).post(registry::register_custodian))
        .route("/custodians/{id}/challenges", post(registry::challenge))
        .route("/custodians/{id}/token", post(registry::rotate_token))
        .route(
            "/bidders/{id}/decryption-key",
            get(bidder_keys::get_decryption_key).put(bidder_keys::put_decryption_key),
        )
        .route("/tenders/{id}/bids/{bid}/bidder-release", post(bidder_keys::release))
        .route("/log/checkpoint", get(log::checkpoint_json))
        .route("/log/inclusion", get(log::inclusion))
        .route("/log/consistency", get(log::consistency))
        .route("/log/entries/{index}", get(log::entry))
        .route("/tenders/{id}/live", get(live::live))
        .route("/staff", get(staff::list).post(staff::create))
        .route("/staff/me", get(staff::me))
        .route("/tenders/{id}/ocds", get(ocds::tender))
        .route("/ocds/releases", get(ocds::releases))
        .route("/tenders/{id}/evidence", get(evidence::bundle))
        // --- draws ---
        .route("/tenders/{id}/draws", get(draws::get))
        .route("/tenders/{id}/draws/reveal", post(draws::reveal))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint") });
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/key", get(log::key))
        .route("/log/tile/{*rest}", get(log::tile))
        .nest("/api/v1", api)
        .merge(pages::routes())
        // --- session (issue 12): the printable final record (a page) ---
        .merge(objections::page_routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(guard::json_errors))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .layer(axum::middleware::from_fn(close::close_if_unread))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            guard::body_timeout(timeouts, req, next)
        }))
        .layer(axum::middleware::from_fn(guard::bound_request))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            ratelimit::limit_writes(writes.clone(), req, next)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            let client = req.extensions().get::<client_addr::ClientAddr>().map(|c| c.0.to_string());
            let client = client.as_deref().unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id, client = %client)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            client_addr::resolve(proxies.clone(), req, next)
        }))
}

/// Refuses a JSON request whose declared length is over the limit before
/// reading any of it (the limit alone would read up to the limit first).
/// Bid uploads are exempt: their limits come from the tender (and, for
/// resumable parts, [`uploads::MAX_REQUEST`]).
async fn refuse_declared_oversize(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let path = req.uri().path();
    let upload = path.ends_with("/bids") || uploads::is_part_path(path);
    if !upload && declared.is_some_and(|n| n > JSON_BODY_LIMIT as u64) {
        return error::body_too_large().into_response();
    }
    next.run(req).await
}
