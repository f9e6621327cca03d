//! The simulated viewers: each opens a WebSocket from one of several
//! loopback source addresses, reads every frame, and notes when each
//! measured event arrived.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use crate::servers::unix_us;

/// The socket a viewer holds.
pub type Ws = WebSocketStream<TcpStream>;

/// Which server's frames to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The bidroom live room.
    Bidroom,
    /// The bare axum + broadcast baseline.
    Baseline,
}

/// The sequence numbers being measured: `first..=last` (last is set once
/// publishing ends; until then `i64::MAX`).
#[derive(Default)]
pub struct Window {
    pub first: AtomicI64,
    pub last: AtomicI64,
}

/// What one viewer saw.
#[derive(Default)]
pub struct Seen {
    /// Publish-to-receipt latency of each measured event, µs.
    pub latencies_us: Vec<u32>,
    /// Measured sequence numbers in arrival order.
    pub seqs: Vec<i64>,
    /// The server closed the socket before the end.
    pub dropped: bool,
}

/// Opens one viewer from `source` and waits for its first frame.
pub async fn connect(kind: Kind, server: SocketAddr, path: &str, source: Ipv4Addr) -> anyhow::Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::from((source, 0)))?;
    let stream = sock.connect(server).await?;
    let url = format!("ws://{server}{path}");
    // Small client buffers too: 50,000 of these share the machine.
    let cfg = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(cfg)).await?;
    if kind == Kind::Bidroom {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains(r#""type":"hello""#) => {}
            other => anyhow::bail!("expected a hello, got {other:?}"),
        }
    }
    Ok(ws)
}

/// Reads frames until `stop`, recording measured events.
pub async fn watch(mut ws: Ws, kind: Kind, window: Arc<Window>, stop: CancellationToken) -> Seen {
    let mut seen = Seen::default();
    loop {
        let msg = tokio::select! {
            () = stop.cancelled() => break,
            m = ws.next() => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                seen.dropped = true;
                break;
            }
            Some(Ok(_)) => continue,
        };
        let now = unix_us();
        let Some((seq, published_us)) = parse(kind, &text) else { continue };
        if seq >= window.first.load(Ordering::Relaxed) && seq <= window.last.load(Ordering::Relaxed) {
            seen.seqs.push(seq);
            seen.latencies_us.push((now - published_us).clamp(0, u32::MAX as i64) as u32);
        }
    }
    seen
}

/// Sequence number and publish time (µs) of an event frame.
fn parse(kind: Kind, text: &str) -> Option<(i64, i64)> {
    if !text.starts_with(r#"{"type":"event""#) {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    match kind {
        Kind::Baseline => Some((v["seq"].as_i64()?, v["sent_us"].as_i64()?)),
        Kind::Bidroom => {
            let e = &v["event"];
            let at =
                time::OffsetDateTime::parse(e["at"].as_str()?, &time::format_description::well_known::Rfc3339).ok()?;
            Some((e["seq"].as_i64()?, (at.unix_timestamp_nanos() / 1000) as i64))
        }
    }
}
