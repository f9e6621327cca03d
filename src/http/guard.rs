//! Middleware for what goes wrong before a handler runs: every error answer
//! carries the API's JSON shape (axum's own rejections and 405s are plain
//! text or empty), the request line and header block are bounded below
//! hyper's own limits so that the client gets a JSON 414/431 rather than
//! hyper's empty one, and request bodies are read under a timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::error::ApiError;
use super::uploads;

/// Longest request target (path and query) answered by a handler; longer
/// ones get a JSON 414. hyper's own limit (64 KiB) stays above it, so only
/// targets past that get hyper's empty 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest header block (names, values and their separators) answered by a
/// handler; larger ones get a JSON 431. hyper refuses with an empty 431 only
/// past its read buffer (about 400 KiB) or 100 headers.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest plain-text error body turned into a JSON message.
const MAX_TEXT_ERROR: usize = 4 * 1024;

/// How long request bodies may take, from [`crate::config`]'s flags.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// A whole non-upload body (JSON) must arrive within this.
    pub total: Duration,
    /// Upload bodies (multipart bids, resumable parts) may take as long as
    /// they keep going: at most this between two chunks.
    pub idle: Duration,
}

/// Middleware: refuses an over-long request target or header block with
/// the JSON error shape.
pub async fn bound_request(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {target} bytes; at most {MAX_URI_BYTES} are accepted"),
        )
        .into_response();
    }
    // `name: value\r\n` per header.
    let headers: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if headers > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request headers are {headers} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Middleware: an error answer that is empty or plain text (axum's
/// rejections — a multipart body without a boundary, a path that is not
/// UTF-8, a websocket upgrade that is not one — and its 405s) becomes the
/// JSON `{code, message}`, keeping its status and headers (`Allow`).
/// Answers that are already JSON, and HTML pages, pass through.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let multipart = req.uri().path().ends_with("/bids");
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = match response.headers().get(CONTENT_TYPE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|v| v.starts_with("text/plain")),
    };
    if !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_TEXT_ERROR).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message =
        if text.is_empty() { status.canonical_reason().unwrap_or("request refused").to_string() } else { text };
    let code = match status {
        StatusCode::BAD_REQUEST if multipart => "invalid_multipart",
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let fresh = ApiError::new(status, code, message).into_response();
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in &fresh_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Middleware: a request body must arrive within [`BodyTimeouts::total`],
/// or — for uploads, which may be large and slow — with no pause longer
/// than [`BodyTimeouts::idle`] between chunks. A body that stalls fails the
/// handler's read; the answer is then a JSON 408 that closes the connection.
pub async fn body_timeout(timeouts: BodyTimeouts, req: Request, next: Next) -> Response {
    let has_body = req.headers().contains_key(TRANSFER_ENCODING)
        || req.headers().get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let upload = path.ends_with("/bids") || uploads::is_part_path(path);
    let expired = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let deadline = Instant::now() + timeouts.total;
    let start = (body.into_data_stream(), expired.clone(), false);
    let stream = futures_util::stream::unfold(start, move |(mut chunks, flag, done)| async move {
        if done {
            return None;
        }
        let by = if upload { Instant::now() + timeouts.idle } else { deadline };
        match tokio::time::timeout_at(by, chunks.next()).await {
            Ok(Some(item)) => Some((item, (chunks, flag, false))),
            Ok(None) => None,
            Err(_) => {
                flag.store(true, Ordering::Relaxed);
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body did not arrive in time");
                Some((Err(axum::Error::new(e)), (chunks, flag, true)))
            }
        }
    });
    let response = next.run(Request::from_parts(parts, Body::from_stream(stream))).await;
    if !expired.load(Ordering::Relaxed) {
        return response;
    }
    let what = if upload { "the upload paused for too long" } else { "the request body did not arrive in time" };
    let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", what).into_response();
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
