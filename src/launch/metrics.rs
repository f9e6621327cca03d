//! Prometheus metrics on their own listener (`--metrics-listen`, off by
//! default): `GET /metrics` in the text format. The figures are recorded
//! where things happen (`metrics::counter!` and friends: requests in
//! `http::metrics`, events as they are committed, committer batches); the
//! ones that are states (viewers, tasks, log size, openings under way) are read
//! when scraped.

use std::sync::OnceLock;

use axum::extract::State;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;

/// The process's recorder: installed once (tests run many servers in one
/// process; their figures add up).
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS);
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::error!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Installs the recorder, so figures are kept from the start.
pub fn install() {
    let _ = handle();
}

/// Serves `/metrics` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) {
    let router = axum::Router::new().route("/metrics", get(render)).with_state(state);
    let stop = shutdown.clone();
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await {
        tracing::error!(error = %e, "metrics listener failed");
    }
}

async fn render(State(state): State<AppState>) -> String {
    let Some(handle) = handle() else {
        return String::new();
    };
    metrics::gauge!("bidroom_live_viewers").set(state.live.viewers() as f64);
    let failed = state.tasks.failed().is_some();
    metrics::gauge!("bidroom_background_tasks_failed").set(if failed { 1.0 } else { 0.0 });
    for task in ["scheduler", "opening", "sweeper", "live"] {
        metrics::gauge!("bidroom_background_task_restarts", "task" => task).set(state.tasks.restarts(task) as f64);
    }
    if let Ok(Some(cp)) = state.store.latest_checkpoint().await {
        metrics::gauge!("bidroom_log_size").set(cp.size as f64);
        // On the store's clock, like the checkpoint's own time, so node
        // clock skew does not show as age.
        if let Ok(now) = state.store.now().await {
            let age = (now - cp.at).as_seconds_f64().max(0.0);
            metrics::gauge!("bidroom_log_checkpoint_age_seconds").set(age);
        }
    }
    if let Ok(open) = state.store.openings_under_way().await {
        metrics::gauge!("bidroom_openings_in_progress").set(open.len() as f64);
    }
    handle.render()
}
