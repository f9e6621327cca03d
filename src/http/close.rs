//! Answers to requests whose body was not read to the end (an early
//! refusal, a retried submission answered from its stored receipt) carry
//! `Connection: close`. The server drops such a connection right after the
//! answer, and a client that pooled it would otherwise send its next request
//! into a closed socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// How much of a request body the handler consumed.
#[derive(Default)]
struct Progress {
    read: AtomicU64,
    ended: AtomicBool,
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Middleware: marks the answer `Connection: close` when the request had a
/// body the handler left unread.
pub async fn close_if_unread(req: Request, next: Next) -> Response {
    let declared = declared_length(req.headers());
    let chunked = req.headers().contains_key(TRANSFER_ENCODING);
    if !chunked && declared.unwrap_or(0) == 0 {
        return next.run(req).await;
    }
    let progress = Arc::new(Progress::default());
    let (parts, body) = req.into_parts();
    let counting = progress.clone();
    let ending = progress.clone();
    let stream = body
        .into_data_stream()
        .inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                counting.read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
        })
        .chain(futures_util::stream::poll_fn(move |_| {
            ending.ended.store(true, Ordering::Relaxed);
            Poll::Ready(None)
        }));
    let mut response = next.run(Request::from_parts(parts, Body::from_stream(stream))).await;
    let read_all =
        progress.ended.load(Ordering::Relaxed) || declared.is_some_and(|n| progress.read.load(Ordering::Relaxed) >= n);
    if !read_all {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
