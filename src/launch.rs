//! The launch seam and composition root: builds the server from a
//! configuration and runs it on a listener the caller bound (tests bind port
//! 0), until shut down. The one module that names the adapters and tasks it
//! starts (`http`, `opening`, `schedule`) besides the application layer;
//! see the layer table in `docs/ARCHITECTURE.md`.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::documents::DownloadKey;
use crate::app::tasks::{Faults, TaskHealth, supervise};
use crate::app::tokens::{new_token, token_hash};
use crate::app::{AppState, OpeningConfig};
use crate::config::{HttpTimeouts, RateConfig, ServeConfig};
use crate::domain::tender::SERVER_CUSTODIAN;
use crate::ledger::LogSigner;
use crate::seal::CustodianSecretKey;
use crate::store::{self, BlobStore, CustodianRecord, DynStore, LogContext, Staging};

pub mod metrics;
pub mod tls;

/// A built server, ready to serve.
pub struct App {
    /// Shared handler state.
    pub state: AppState,
    /// The admin token generated on this first start, to print once.
    pub new_admin_token: Option<String>,
    /// The log's verifier key (`/log/key`).
    pub verifier_key: String,
    /// Read timeouts of the HTTP server.
    pub timeouts: HttpTimeouts,
    /// Reverse proxies believed about client addresses.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Rate limits on writes.
    pub rate: RateConfig,
    /// HTTPS, when a certificate and key were given.
    pub tls: Option<Arc<tls::Tls>>,
    /// The metrics listener, bound (`--metrics-listen`).
    pub metrics: Option<TcpListener>,
}

/// File in the data directory holding the log's Ed25519 key (PKCS#8).
const LOG_KEY_FILE: &str = "log-key.pk8";
/// File in the data directory holding the server's HPKE custodian key.
const CUSTODIAN_KEY_FILE: &str = "custodian-key.bin";

/// File in the data directory keying live-room pseudonyms of bidders.
const LIVE_SECRET_FILE: &str = "live-pseudonym.key";
/// Secret behind evaluators' download links, in the data directory.
const DOWNLOAD_SECRET_FILE: &str = "download-link.key";

/// 32 random bytes for a server secret.
fn random_secret() -> anyhow::Result<Vec<u8>> {
    let mut b = vec![0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| anyhow::anyhow!("random generator failed"))?;
    Ok(b)
}

/// Reads a secret file, or creates it with `make` (mode 0600) on first start.
/// Several nodes may start at once on one shared data directory: the file is
/// linked into place only if absent, so the first node's secret wins and the
/// others read it rather than each keeping its own.
pub fn load_or_create_secret(path: &Path, make: impl FnOnce() -> anyhow::Result<Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make()?;
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            write_private(&tmp, &bytes)?;
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {
                    if let Some(dir) = path.parent() {
                        std::fs::File::open(dir).and_then(|d| d.sync_all()).ok();
                    }
                    Ok(bytes)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
                }
                Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes a file readable by its owner only, durably.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

impl App {
    /// Opens the data directory and database, loads keys, sets up the admin.
    pub async fn build(cfg: &ServeConfig) -> anyhow::Result<App> {
        // Read first: a bad certificate stops the start before anything else.
        let tls = match (&cfg.tls.cert, &cfg.tls.key) {
            (Some(cert), Some(key)) => Some(tls::Tls::load(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let metrics = match cfg.metrics_listen {
            Some(addr) => {
                metrics::install();
                let l =
                    TcpListener::bind(addr).await.with_context(|| format!("binding the metrics listener {addr}"))?;
                Some(l)
            }
            None => None,
        };
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
        let pkcs8 = load_or_create_secret(&cfg.data_dir.join(LOG_KEY_FILE), || Ok(LogSigner::generate_pkcs8()?))?;
        let signer = LogSigner::from_pkcs8(&cfg.log_origin, &pkcs8).context("loading the log key")?;
        let verifier_key = signer.verifier_key();
        let log = LogContext { signer: Arc::new(signer), origin: cfg.log_origin.clone() };
        let log_ctx = log.clone();
        let custodian_secret = load_or_create_secret(&cfg.data_dir.join(CUSTODIAN_KEY_FILE), || {
            Ok(CustodianSecretKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?.to_bytes().to_vec())
        })?;
        let custodian = Arc::new(
            CustodianSecretKey::from_bytes(&custodian_secret).map_err(|e| anyhow::anyhow!("custodian key: {e}"))?,
        );
        let blobs = BlobStore::open(&cfg.data_dir).context("opening the blob directory")?;
        let ttl = std::time::Duration::from_secs(cfg.upload_ttl_secs.max(1));
        let staging = Staging::open(&cfg.data_dir, ttl).context("opening the staging directory")?;
        let mut pg_pool = None;
        let store: DynStore = match &cfg.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pg = store::PgStore::connect(url, cfg.database_schema.as_deref(), log)
                    .await
                    .context("connecting to PostgreSQL")?;
                pg_pool = Some(pg.pool().clone());
                Arc::new(pg)
            }
            Some(url) => Arc::new(store::SqliteStore::connect(url, log).await.context("opening SQLite")?),
            None => {
                let path = cfg.data_dir.join("bidroom.db");
                Arc::new(store::SqliteStore::open_file(&path, log).await.context("opening SQLite")?)
            }
        };
        let new_admin_token = match &cfg.admin_token {
            Some(token) => {
                store.set_bootstrap_admin(&token_hash(token)).await?;
                None
            }
            None if !store.has_bootstrap_admin().await? => {
                let token = new_token().map_err(|_| anyhow::anyhow!("random generator failed"))?;
                store.set_bootstrap_admin(&token_hash(&token)).await?;
                Some(token)
            }
            None => None,
        };
        // The server is a custodian too; its key lives in the data directory.
        let now = store.now().await?;
        let record = CustodianRecord {
            id: SERVER_CUSTODIAN.to_string(),
            name: "bidroom server (automatic release)".to_string(),
            public_key: custodian.public_key().as_bytes().to_vec(),
            created_at: now,
        };
        store.upsert_custodian(&record).await.context("registering the server custodian key")?;
        let opening = OpeningConfig {
            server_key: custodian,
            pace: std::time::Duration::from_millis(cfg.opening_pace_ms),
            wake: Arc::new(Notify::new()),
        };
        let live_secret = load_or_create_secret(&cfg.data_dir.join(LIVE_SECRET_FILE), random_secret)?;
        let live = crate::live::Hub::new(store.clone(), cfg.live.clone(), &live_secret, pg_pool);
        let scheduler = Arc::new(Notify::new());
        let faults = Faults::default();
        let committer = {
            let (scheduler, wake, live) = (scheduler.clone(), opening.wake.clone(), live.clone());
            let faults = faults.clone();
            let on_commit: store::OnCommit = Arc::new(move |events| {
                // Runs inside the committer's task: a fault here kills it.
                faults.check("committer");
                crate::app::announce(&scheduler, &wake, &live, events)
            });
            let max_batch = if cfg.group_commit { store::MAX_BATCH } else { 1 };
            store::Committer::spawn_with(store.clone(), blobs.clone(), on_commit, max_batch)
        };
        let download_secret = load_or_create_secret(&cfg.data_dir.join(DOWNLOAD_SECRET_FILE), random_secret)?;
        let downloads = DownloadKey::derive(&download_secret);
        let tasks = TaskHealth::default();
        let state = AppState {
            store,
            committer,
            scheduler,
            blobs,
            staging,
            log: log_ctx,
            opening,
            live,
            downloads,
            tasks,
            ocds: crate::app::ocds::OcdsSettings::new(&cfg.ocds.prefix, &cfg.ocds.publisher)?,
            faults,
        };
        Ok(App {
            state,
            new_admin_token,
            verifier_key,
            timeouts: cfg.timeouts.clone(),
            trusted_proxies: cfg.trusted_proxies.clone(),
            rate: cfg.rate.clone(),
            tls,
            metrics,
        })
    }

    /// Serves on `listener` with the background tasks running, until
    /// `shutdown` is cancelled; then drains in-flight requests. Returns an
    /// error (the process exits non-zero) if a task failed for good.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = self.state;
        let health = state.tasks.clone();
        let mut tasks = Vec::new();
        tasks.push(spawn_supervised(&state, &shutdown, "scheduler", crate::schedule::run));
        tasks.push(spawn_supervised(&state, &shutdown, "opening", crate::opening::run));
        tasks.push(spawn_supervised(&state, &shutdown, "sweeper", crate::app::uploads::sweeper));
        let hub = state.live.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(supervise("live", health.clone(), shutdown.clone(), move || {
            crate::live::run(hub.clone(), stop.clone())
        })));
        for (name, task) in state.live.side_tasks(&shutdown) {
            tasks.push(tokio::spawn(supervise(name, health.clone(), shutdown.clone(), task)));
        }
        let listener = axum::serve::ListenerExt::tap_io(listener, state.live.config().socket_tuner());
        let t = &self.timeouts;
        let body = crate::http::guard::BodyTimeouts {
            total: Duration::from_millis(t.body_ms.max(1)),
            idle: Duration::from_millis(t.upload_idle_ms.max(1)),
        };
        let proxies = crate::http::client_addr::TrustedProxies::new(self.trusted_proxies.clone());
        let r = &self.rate;
        let writes = crate::http::ratelimit::WriteLimits::new(r.writes_per_minute, r.bidder_writes_per_minute, r.burst);
        let state_for_metrics = state.clone();
        let router = crate::http::router(state, body, proxies, writes);
        if let Some(listener) = self.metrics {
            tasks.push(tokio::spawn(metrics::serve(listener, state_for_metrics, shutdown.clone())));
        }
        if let Some(tls) = &self.tls {
            tasks.push(tokio::spawn(reload_on_hangup(tls.clone(), shutdown.clone())));
        }
        let stop = shutdown.clone();
        let fatal = health.fatal().clone();
        let signal = async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = fatal.cancelled() => {}
            }
            // Everything stops, the live room's sockets too, so the
            // graceful drain does not wait for them.
            stop.cancel();
        };
        serve_http(listener, router, Duration::from_millis(t.header_ms.max(1)), self.tls, signal).await;
        shutdown.cancel();
        for task in tasks {
            let _ = task.await;
        }
        state_closed(&health)
    }
}

/// Accepts connections and serves `router` on each until `signal`, then
/// stops accepting and waits for the open connections to finish their
/// requests. This is `axum::serve` plus what it cannot set: hyper's
/// header-read timeout (with the timer it needs), so that a client sending
/// its headers slowly, or never, is disconnected; and TLS when `tls` is
/// set (the handshake under the same timeout).
async fn serve_http<L>(
    mut listener: L,
    router: axum::Router,
    header_timeout: Duration,
    tls: Option<Arc<tls::Tls>>,
    signal: impl Future<Output = ()>,
) where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    // HTTP/2 websockets need the CONNECT protocol, as under `axum::serve`.
    builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
    let builder = Arc::new(builder);
    // Dropped when the signal comes: each connection then shuts down
    // gracefully. Each connection holds a `done` receiver until it ends.
    let (stop_tx, _) = tokio::sync::watch::channel(());
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    tokio::pin!(signal);
    loop {
        let (io, remote) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut signal => break,
        };
        let service = router.clone().map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
            req.map(axum::body::Body::new)
        });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let (builder, mut stop_rx, done) = (builder.clone(), stop_tx.subscribe(), done_rx.clone());
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(async move {
            use tokio_util::either::Either;
            let io = match acceptor {
                None => Either::Right(io),
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(io)).await {
                    Ok(Ok(stream)) => Either::Left(stream),
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, %remote, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                },
            };
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop_rx.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
}

/// Reads the certificate and key again on each SIGHUP until shutdown; a
/// file that does not load leaves the previous certificate in use.
async fn reload_on_hangup(tls: Arc<tls::Tls>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: the TLS certificate will not be reloaded");
                return;
            }
        };
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = hangup.recv() => match tls.reload() {
                    Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "SIGHUP: TLS certificate not reloaded; the previous one stays"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tls;
        shutdown.cancelled().await;
    }
}

/// Starts `run(state, shutdown)` under [`supervise`].
fn spawn_supervised<Fut>(
    state: &AppState,
    shutdown: &CancellationToken,
    name: &'static str,
    run: fn(AppState, CancellationToken) -> Fut,
) -> tokio::task::JoinHandle<()>
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (st, stop) = (state.clone(), shutdown.clone());
    tokio::spawn(supervise(name, state.tasks.clone(), shutdown.clone(), move || run(st.clone(), stop.clone())))
}

/// Ok, unless a background task failed for good.
fn state_closed(health: &TaskHealth) -> anyhow::Result<()> {
    match health.failed() {
        Some(why) => Err(anyhow::anyhow!("a background task failed: {why}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nodes_starting_together_share_one_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let got: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || super::load_or_create_secret(path, || Ok(vec![i; 32])).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(got.iter().all(|g| *g == got[0]), "every node got the same secret");
        assert_eq!(std::fs::read(&path).unwrap(), got[0]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
    }
}
