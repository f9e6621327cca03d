//! Viewers that stop reading or read slowly, on a tender with a long
//! history: the replay is paced by the socket (nothing is lost or reordered
//! while a viewer stalls), and a slow reader that falls too far behind is
//! told where to resume with a 4000 close frame instead of a bare cut.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{TestApp, parse_time, published_tender, rfc3339};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any one frame of a reader that reads without pause.
const FRAME_WAIT: Duration = Duration::from_secs(10);

/// Adds `n` amendments (events 2..=n+1) whose reasons are `pad` bytes long.
async fn history(app: &TestApp, id: &str, n: i64, pad: usize) {
    let (_, t) = app.get(&format!("/api/v1/tenders/{id}")).await;
    let deadline = parse_time(&t["deadline"]);
    let long = "x".repeat(pad);
    for k in 1..=n {
        let body = json!({"deadline": rfc3339(deadline + time::Duration::seconds(k)), "reason": format!("{k} {long}")});
        let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

/// A viewer at `after=0` whose socket has a tiny receive buffer.
async fn small_window_viewer(app: &TestApp, id: &str) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(2048).expect("rcvbuf");
    let stream = sock.connect(app.addr).await.expect("connect");
    let url = format!("ws://{}/api/v1/tenders/{id}/live?after=0", app.addr);
    // A small client read buffer too, so the client library cannot drain
    // the socket far ahead of what the test reads.
    let cfg = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, MaybeTlsStream::Plain(stream), Some(cfg))
        .await
        .expect("websocket connects");
    ws
}

/// A server whose sockets have a small send buffer, so a stalled viewer
/// blocks the replay after a few frames.
fn small_buffers(cfg: &mut bidroom::config::ServeConfig) {
    cfg.live.socket_send_buffer = Some(4096);
}

/// Small buffers and a short write timeout: a slow reader is "too slow"
/// within a second, and has long enough to read its way to the close frame.
fn impatient(cfg: &mut bidroom::config::ServeConfig) {
    cfg.live.socket_send_buffer = Some(4096);
    cfg.live.write_timeout_ms = 500;
    cfg.live.close_timeout_ms = 30_000;
}

/// The seq of an event frame, None for other frames.
fn event_seq(text: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(text).expect("JSON frame");
    (v["type"] == "event").then(|| v["event"]["seq"].as_i64().expect("seq"))
}

async fn stalled_viewer_gets_everything_in_order_once_it_reads(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let n = 300;
    history(&app, &id, n, 400).await;
    let last = n + 1;
    let mut ws = small_window_viewer(&app, &id).await;
    // Stalled for a while (well within the write timeout): the server's
    // replay waits for the socket instead of reading the history ahead.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut seqs = Vec::new();
    let mut hello = false;
    while seqs.last() != Some(&last) {
        let m = tokio::time::timeout(FRAME_WAIT, ws.next()).await.expect("frame in time");
        match m.expect("socket open").expect("frame") {
            Message::Text(t) => {
                if t.contains(r#""type":"hello""#) {
                    hello = true;
                } else if let Some(seq) = event_seq(&t) {
                    assert!(hello, "an event before the hello");
                    seqs.push(seq);
                }
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?} after {} events", seqs.len()),
        }
    }
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "the replay is complete and in order");
    // And the live stream follows without a gap.
    history(&app, &id, 1, 10).await;
    loop {
        let m = tokio::time::timeout(FRAME_WAIT, ws.next()).await.expect("live frame in time");
        if let Message::Text(t) = m.expect("socket open").expect("frame")
            && let Some(seq) = event_seq(&t)
        {
            assert_eq!(seq, last + 1);
            break;
        }
    }
}

async fn slow_reader_gets_the_close_frame_with_its_resume_point(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    history(&app, &id, 120, 1900).await;
    let mut ws = small_window_viewer(&app, &id).await;
    let started = Instant::now();
    let mut seqs: Vec<i64> = Vec::new();
    let close = loop {
        // One frame a second: far slower than the replay wants to go.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(started.elapsed() < Duration::from_secs(60), "no close after {} events", seqs.len());
        let m = tokio::time::timeout(FRAME_WAIT, ws.next()).await.expect("frame in time");
        match m {
            Some(Ok(Message::Text(t))) => seqs.extend(event_seq(&t)),
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame with a code"),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => panic!("socket ended without a close frame after {} events ({m:?})", seqs.len()),
        }
    };
    assert_eq!(u16::from(close.code), 4000, "{close:?}");
    let resume: i64 = close
        .reason
        .as_str()
        .strip_prefix("too slow, resume from seq ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("reason {:?}", close.reason));
    assert!(!seqs.is_empty() && seqs.len() < 121, "the reader fell behind: {} events", seqs.len());
    assert_eq!(seqs, (1..=resume).collect::<Vec<_>>(), "everything up to the resume point, in order");
    // Resuming from there gives the rest.
    let url = format!("ws://{}/api/v1/tenders/{id}/live?after={resume}", app.addr);
    let (mut again, _) = tokio_tungstenite::connect_async(url).await.expect("reconnects");
    let mut next = resume + 1;
    while next <= 121 {
        let m = tokio::time::timeout(FRAME_WAIT, again.next()).await.expect("frame in time");
        if let Message::Text(t) = m.expect("socket open").expect("frame")
            && let Some(seq) = event_seq(&t)
        {
            assert_eq!(seq, next);
            next += 1;
        }
    }
}

crate::on_both_backends!(with small_buffers: stalled_viewer_gets_everything_in_order_once_it_reads);
crate::on_both_backends!(with impatient: slow_reader_gets_the_close_frame_with_its_resume_point);
