//! The servers under test, each run as a child process of the load tool so
//! its memory can be read on its own: the real bidroom server, and a bare
//! axum + tokio broadcast fan-out as the baseline.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::routing::{get, post};
use bidroom::config::ServeConfig;
use bidroom::launch::App;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The admin token the load tool gives the bidroom server it starts.
pub const ADMIN_TOKEN: &str = "load-admin-token-0123456789abcdef";

/// Microseconds since the Unix epoch (the same clock in every process here).
pub fn unix_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Runs the real server until stdin closes: SQLite in a fresh directory,
/// or the PostgreSQL schema `database` names (shared by several nodes).
pub async fn bidroom(send_buffer: Option<usize>, database: Option<(String, String)>) -> anyhow::Result<()> {
    // Nodes of one database share one data directory, as a deployment's
    // nodes share the server's custodian key and the blob store.
    let name = database.as_ref().map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), |(_, s)| s.clone());
    let dir = std::env::temp_dir().join(format!("bidroom-load-{name}"));
    let mut cfg = ServeConfig::for_data_dir(dir.clone());
    if let Some((url, schema)) = database {
        cfg.database_url = Some(url);
        cfg.database_schema = Some(schema);
    }
    cfg.admin_token = Some(ADMIN_TOKEN.to_string());
    cfg.live.max_per_ip = usize::MAX;
    cfg.live.socket_send_buffer = send_buffer;
    let app = App::build(&cfg).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_stdin_close(shutdown.clone()));
    let result = app.serve(listener, shutdown).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs the baseline: `GET /live` forwards every broadcast message to the
/// socket one by one with axum's default settings; `POST /publish` sends
/// `{"seq":n,"sent_us":t}` to all. No store, no replay, no limits.
pub async fn baseline() -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel::<Utf8Bytes>(1024);
    let seq = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let app = Router::new()
        .route("/live", get(baseline_live))
        .route("/publish", post(baseline_publish))
        .with_state((tx, seq));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_stdin_close(shutdown.clone()));
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}

type BaselineState = (broadcast::Sender<Utf8Bytes>, std::sync::Arc<std::sync::atomic::AtomicI64>);

async fn baseline_live(State((tx, _)): State<BaselineState>, ws: WebSocketUpgrade) -> axum::response::Response {
    let rx = tx.subscribe();
    ws.on_upgrade(move |socket| baseline_viewer(socket, rx))
}

async fn baseline_viewer(mut socket: WebSocket, mut rx: broadcast::Receiver<Utf8Bytes>) {
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(text) => if socket.send(Message::Text(text)).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            m = socket.recv() => if m.is_none() { return },
        }
    }
}

async fn baseline_publish(State((tx, seq)): State<BaselineState>) -> String {
    let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let text = format!(r#"{{"type":"event","seq":{n},"sent_us":{}}}"#, unix_us());
    let _ = tx.send(text.into());
    n.to_string()
}

/// Tells the parent where we listen (first line of stdout).
fn announce(addr: SocketAddr) {
    println!("LISTENING {addr}");
}

/// The parent holds our stdin; when it goes away, so do we.
async fn stop_on_stdin_close(shutdown: CancellationToken) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    let mut stdin = tokio::io::stdin();
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
    shutdown.cancel();
}
