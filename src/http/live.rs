//! `GET /api/v1/tenders/{id}/live`: checks, limits, the hello, the upgrade;
//! the connection itself is `crate::live`'s.

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::live::frames::{self, Hello, TenderHead};
use crate::live::{Session, serve_connection};

/// Socket sizing for many small messages: viewers send almost nothing (a
/// sign-in is a few hundred bytes), and frames are small, so buffers stay
/// small — per-viewer memory is the budget.
const READ_BUFFER: usize = 1024;
/// Frames are gathered up to this size before a write (coalescing).
const WRITE_BUFFER: usize = 4 * 1024;
/// Past this much unwritten output the socket is treated as stalled.
const MAX_WRITE_BUFFER: usize = 256 * 1024;
/// Largest inbound message or frame the socket library reads. Above the
/// live room's own limit (`live::conn`'s, 2 KiB: a sign-in), so that a
/// message over that is read whole and refused with the documented 1008
/// rather than failing inside the library.
const MAX_INBOUND: usize = 64 * 1024;

/// Query of the live socket.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiveParams {
    /// Replay only events with a greater sequence number (default 0: all).
    pub after: Option<i64>,
}

/// The live room of a public tender, as a WebSocket (protocol: docs/LIVE.md).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/live", params(LiveParams),
    responses((status = 101, description = "WebSocket"), (status = 404, body = super::error::ErrorBody),
              (status = 429, body = super::error::ErrorBody)))]
pub async fn live(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<LiveParams>,
    Extension(client): Extension<super::client_addr::ClientAddr>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let hub = state.live.clone();
    let store = hub.store().clone();
    let tender = match store.get_tender(id).await? {
        Some(t) if t.tender.is_public() => t,
        _ => return Err(ApiError::not_found("tender")),
    };
    let after = p.after.unwrap_or(0);
    if after < 0 || after > tender.last_seq {
        return Err(ApiError::invalid("after", "must be between 0 and the tender's last sequence number"));
    }
    let upgrade =
        upgrade.map_err(|e| ApiError::new(StatusCode::UPGRADE_REQUIRED, "websocket_required", e.to_string()))?;
    let slot = hub.admit(client.0).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "too many live connections from this address",
        )
    })?;
    let mut nonce = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| ApiError::internal("random generator failed"))?;
    let now = store.now().await?;
    let checkpoint = store.latest_checkpoint().await?.map(Into::into);
    let hello = frames::hello(&Hello {
        server_time: now,
        server_unix_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        tender: TenderHead { id, state: tender.tender.state.as_str(), last_seq: tender.last_seq },
        checkpoint,
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        after,
    });
    let session = Session { hub: hub.clone(), tender: id, last_seq: tender.last_seq, after, nonce, slot };
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
        .on_upgrade(move |ws| serve_connection(ws, session, hello)))
}
