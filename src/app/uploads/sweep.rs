//! Deletes expired upload sessions and their staging files: once at start,
//! then on a timer.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::AppState;

/// Runs until `shutdown`; sweeps every minute (or every TTL, if shorter).
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let every = state.staging.ttl().clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        state.faults.check("sweeper");
        match state.store.now().await {
            Ok(now) => match state.staging.sweep(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "deleted expired upload sessions"),
                Err(e) => tracing::warn!(error = %e, "sweeping upload sessions failed"),
            },
            Err(e) => tracing::warn!(error = %e, "no clock for the upload sweep"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
