//! Liveness, readiness and the server clock.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;

use super::AppState;
use super::error::{ApiError, ApiResult};

/// Process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Database reachable and migrated.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state
        .store
        .ready()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", format!("database not ready: {e}")))?;
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
    Ok(Json(ServerTime { now, unix_ms: (now.unix_timestamp_nanos() / 1_000_000) as i64 }))
}
