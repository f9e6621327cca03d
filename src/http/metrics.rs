//! Request metrics: one count per route, method and status, and a latency
//! histogram per route. The route is the router's pattern
//! (`/api/v1/tenders/{id}`), never the raw path, so the number of series
//! stays bounded whatever clients send.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware: counts and times every request.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().as_str().to_string();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("bidroom_http_request_duration_seconds", "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("bidroom_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}
