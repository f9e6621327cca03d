//! `bidroom serve`.

use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;
use crate::launch::App;

/// Starts the server and runs it until SIGINT or SIGTERM.
pub async fn run(cfg: ServeConfig) -> anyhow::Result<()> {
    let app = App::build(&cfg).await?;
    if let Some(token) = &app.new_admin_token {
        // Printed once; only its hash is stored.
        println!("First start: the staff admin token is\n\n    {token}\n\nStore it now; it will not be shown again.");
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = app.state.store.backend(), data_dir = %cfg.data_dir.display(), "bidroom listening");
    let scheme = if app.tls.is_some() { "https" } else { "http" };
    println!("bidroom listening on {scheme}://{addr}");
    if let Some(m) = app.metrics.as_ref().and_then(|l| l.local_addr().ok()) {
        println!("metrics on http://{m}/metrics");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(signal(shutdown.clone()));
    app.serve(listener, shutdown).await
}

async fn signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
