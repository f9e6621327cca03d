//! Liveness, readiness and the server clock.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;

use super::error::ApiResult;
use crate::app::AppState;

/// Process is alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "`ok`", content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Database reachable and migrated, and every background task running.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "`ready`", content_type = "text/plain"),
    (status = 503, body = super::error::ErrorBody, description = "not_ready: the database is unreachable or a background task failed")))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state.ready().await?;
    Ok("ready")
}

/// The server's time, the one clock every countdown and deadline uses.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerTime {
    /// Now, RFC 3339 with microseconds.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub now: OffsetDateTime,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: i64,
}

/// Server time.
#[utoipa::path(get, path = "/api/v1/time", responses((status = 200, body = ServerTime)))]
pub async fn time(State(state): State<AppState>) -> ApiResult<Json<ServerTime>> {
    let now = state.store.now().await?;
    Ok(Json(ServerTime { now, unix_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX) }))
}
