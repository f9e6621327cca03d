//! The live room over real WebSockets: replay then live, resume, late join,
//! slow viewers, presence, refused writes, the hello's clock.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{Draft, TestApp, parse_time, published_tender, rfc3339, wait_for_state};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for any one frame.
const FRAME_WAIT: Duration = Duration::from_secs(10);

fn live_url(app: &TestApp, id: &str, after: Option<i64>) -> String {
    let q = after.map(|a| format!("?after={a}")).unwrap_or_default();
    format!("ws://{}/api/v1/tenders/{id}/live{q}", app.addr)
}

async fn connect(app: &TestApp, id: &str, after: Option<i64>) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(live_url(app, id, after)).await.expect("websocket connects");
    ws
}

/// The next JSON frame, skipping control frames; panics on close or timeout.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(FRAME_WAIT, ws.next()).await.expect("frame in time");
        match msg.expect("socket open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(&t).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next frame of `kind`, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

/// The next `n` events' sequence numbers, checking each is complete.
async fn next_seqs(ws: &mut Ws, n: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let v = next_of(ws, "event").await;
        let e = &v["event"];
        assert!(e["type"].is_string() && e["at"].is_string() && e["log_index"].is_i64(), "{e}");
        assert_eq!(e["leaf_hash"].as_str().expect("leaf hash").len(), 64, "{e}");
        seqs.push(e["seq"].as_i64().expect("seq"));
    }
    seqs
}

/// The HTTP status a refused WebSocket handshake got.
fn refused_with(err: &tokio_tungstenite::tungstenite::Error) -> u16 {
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("not an HTTP refusal: {other}"),
    }
}

async fn amend(app: &TestApp, id: &str, n: i64) {
    let (_, t) = app.get(&format!("/api/v1/tenders/{id}")).await;
    let deadline = parse_time(&t["deadline"]) + time::Duration::seconds(1);
    let body = json!({"deadline": rfc3339(deadline), "reason": format!("Clarification No. {n}")});
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn replay_then_live_without_gap(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    amend(&app, &id, 1).await;
    amend(&app, &id, 2).await;
    let mut ws = connect(&app, &id, None).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["tender"]["id"], id.as_str());
    assert_eq!(hello["tender"]["state"], "published");
    assert_eq!(hello["tender"]["last_seq"], 3);
    assert!(hello["checkpoint"]["note"].as_str().expect("checkpoint").contains("bidroom.local/log"), "{hello}");
    assert!(hello["nonce"].as_str().expect("nonce").len() >= 16);
    assert_eq!(next_seqs(&mut ws, 3).await, [1, 2, 3]);
    for n in 3..6 {
        amend(&app, &id, n).await;
    }
    // Events 4..6 in order, and a checkpoint covering the last of them (it
    // may arrive before that event when commits race its publication).
    let (mut seqs, mut need, mut covered) = (Vec::new(), i64::MAX, 0);
    while seqs.len() < 3 || covered < need {
        let v = next_json(&mut ws).await;
        match v["type"].as_str() {
            Some("event") => {
                seqs.push(v["event"]["seq"].as_i64().unwrap());
                need = v["event"]["log_index"].as_i64().unwrap() + 1;
            }
            Some("checkpoint") => {
                assert!(v["note"].is_string(), "{v}");
                covered = covered.max(v["size"].as_i64().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(seqs, [4, 5, 6]);
}

async fn resumes_after_a_dropped_connection(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    amend(&app, &id, 1).await;
    let mut ws = connect(&app, &id, None).await;
    next_of(&mut ws, "hello").await;
    assert_eq!(next_seqs(&mut ws, 2).await, [1, 2]);
    drop(ws);
    amend(&app, &id, 2).await;
    amend(&app, &id, 3).await;
    let mut ws = connect(&app, &id, Some(2)).await;
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["after"], 2);
    assert_eq!(next_seqs(&mut ws, 2).await, [3, 4], "only what was missed");
    amend(&app, &id, 4).await;
    assert_eq!(next_seqs(&mut ws, 1).await, [5]);
}

async fn late_joiner_sees_the_whole_session(app: TestApp) {
    let id = published_tender(&app, 2).await;
    wait_for_state(&app, &id, "closed", 10).await;
    let mut ws = connect(&app, &id, None).await;
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["tender"]["state"], "closed");
    let a = next_of(&mut ws, "event").await;
    let b = next_of(&mut ws, "event").await;
    assert_eq!([&a["event"]["type"], &b["event"]["type"]], ["tender.published", "tender.closed"]);
    let (_, v) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    assert_eq!(v["events"][1], b["event"], "the live frame is the stored event");
}

async fn counts_viewers_as_they_come_and_go(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let mut a = connect(&app, &id, None).await;
    assert_eq!(wait_presence(&mut a, 1).await["bidders"], 0);
    let b = connect(&app, &id, None).await;
    wait_presence(&mut a, 2).await;
    drop(b);
    wait_presence(&mut a, 1).await;
}

/// Reads presence frames until one shows `viewers`.
async fn wait_presence(ws: &mut Ws, viewers: u64) -> Value {
    loop {
        let p = next_of(ws, "presence").await;
        if p["viewers"] == viewers {
            return p;
        }
    }
}

async fn refuses_viewer_writes(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    for msg in [Message::text("hello"), Message::binary(vec![1u8, 2, 3])] {
        let mut ws = connect(&app, &id, None).await;
        next_of(&mut ws, "hello").await;
        ws.send(msg).await.expect("send");
        let close = loop {
            match tokio::time::timeout(FRAME_WAIT, ws.next()).await.expect("closed in time") {
                Some(Ok(Message::Close(frame))) => break frame.expect("close frame"),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(u16::from(close.code), 1008, "policy violation");
    }
}

async fn hello_carries_the_server_clock(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let (_, t) = app.get("/api/v1/time").await;
    let mut ws = connect(&app, &id, None).await;
    let hello = next_of(&mut ws, "hello").await;
    let ms = hello["server_unix_ms"].as_i64().expect("unix ms");
    let diff = ms - t["unix_ms"].as_i64().expect("unix ms");
    assert!((0..2000).contains(&diff), "hello time {diff} ms after /time");
    let time = parse_time(&hello["server_time"]);
    assert_eq!((time.unix_timestamp_nanos() / 1_000_000) as i64, ms);
    assert!(hello["server_time"].as_str().unwrap().contains('.'), "sub-second precision");
}

async fn refuses_drafts_bad_cursors_and_plain_requests(app: TestApp) {
    let draft = Draft::on(&app, 3600).await.create(&app).await;
    let err = tokio_tungstenite::connect_async(live_url(&app, &draft, None)).await.expect_err("draft refused");
    assert_eq!(refused_with(&err), 404, "{err}");
    let id = published_tender(&app, 3600).await;
    let err = tokio_tungstenite::connect_async(live_url(&app, &id, Some(5))).await.expect_err("future cursor");
    assert_eq!(refused_with(&err), 422, "{err}");
    let (s, v) = app.get(&format!("/api/v1/tenders/{id}/live")).await;
    assert_eq!(s, StatusCode::UPGRADE_REQUIRED, "{v}");
    assert_eq!(v["code"], "websocket_required");
}

async fn bidder_signs_in_under_a_pseudonym(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let key = crate::bids::register(&app, "Acme Roads Ltd").await;
    let mut ws = connect(&app, &id, None).await;
    let hello = next_of(&mut ws, "hello").await;
    let nonce: [u8; 32] = bidroom::seal::unb64(hello["nonce"].as_str().unwrap()).unwrap().try_into().unwrap();
    let tender = uuid::Uuid::parse_str(&id).unwrap();
    // A signature over someone else's nonce is refused, the socket stays.
    let wrong = key.sign(&bidroom::seal::room_sign_in_message(tender, &[0; 32])).unwrap();
    let req = json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": bidroom::seal::b64(&wrong)});
    ws.send(Message::text(req.to_string())).await.unwrap();
    assert_eq!(next_of(&mut ws, "error").await["code"], "sign_in_refused");
    let sig = key.sign(&bidroom::seal::room_sign_in_message(tender, &nonce)).unwrap();
    let req = json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": bidroom::seal::b64(&sig)});
    ws.send(Message::text(req.to_string())).await.unwrap();
    let ok = next_of(&mut ws, "signed_in").await;
    let pseudonym = ok["bidder"].as_str().unwrap().to_string();
    assert_eq!(pseudonym.len(), 16);
    let event = next_of(&mut ws, "event").await;
    let event = if event["event"]["type"] == "room.signed_in" { event } else { next_of(&mut ws, "event").await };
    assert_eq!(event["event"]["type"], "room.signed_in", "{event}");
    assert_eq!(event["event"]["data"], json!({"bidder": pseudonym, "signed_in": 1}));
    let text = event.to_string();
    assert!(!text.contains(&key.public_key().key_id()) && !text.contains("Acme"), "identity leaked: {text}");
    loop {
        let p = next_of(&mut ws, "presence").await;
        if p["bidders"] == 1 {
            break;
        }
    }
}

/// A second server node on the same PostgreSQL schema as `app`; cancel the
/// token and await the handle to stop it.
struct Node {
    addr: std::net::SocketAddr,
    stop: tokio_util::sync::CancellationToken,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn second_node(app: &TestApp) -> Node {
    let crate::common::Backend::Postgres { url, schema } = app.backend.clone() else {
        panic!("a second node needs the PostgreSQL backend");
    };
    // Nodes share one data directory (ciphertext files and the keys: log,
    // custodian, pseudonyms), as in a deployment on a shared volume.
    let mut cfg = bidroom::config::ServeConfig::for_data_dir(app.data_dir.path().to_path_buf());
    cfg.database_url = Some(url);
    cfg.database_schema = Some(schema);
    cfg.admin_token = Some(crate::common::ADMIN_TOKEN.to_string());
    let node = bidroom::launch::App::build(&cfg).await.expect("second node builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(node.serve(listener, stop.clone()));
    Node { addr, stop, serving }
}

impl Node {
    async fn stop(self) {
        self.stop.cancel();
        self.serving.await.unwrap().unwrap();
    }
}

/// Events committed through the first node reach the second node's viewers.
async fn other_nodes_events_reach_this_nodes_viewers(app: TestApp) {
    let node_b = second_node(&app).await;
    let id = published_tender(&app, 3600).await;
    let url = format!("ws://{}/api/v1/tenders/{id}/live", node_b.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connects to node B");
    next_of(&mut ws, "hello").await;
    assert_eq!(next_seqs(&mut ws, 1).await, [1]);
    for n in 1..4 {
        amend(&app, &id, n).await;
    }
    assert_eq!(next_seqs(&mut ws, 3).await, [2, 3, 4], "node A's events, live on node B");
    node_b.stop().await;
}

/// The next presence frame with these figures; panics if it never comes.
async fn presence_reaches(ws: &mut Ws, viewers: usize, bidders: usize) {
    loop {
        let p = next_of(ws, "presence").await;
        if p["viewers"] == viewers && p["bidders"] == bidders {
            return;
        }
    }
}

/// Viewers and signed-in bidders are counted over every node, a bidder
/// signed in on two nodes once, and a node's viewers leave the count when
/// they go.
async fn presence_adds_up_across_nodes(app: TestApp) {
    let node_b = second_node(&app).await;
    let id = published_tender(&app, 3600).await;
    let tender = uuid::Uuid::parse_str(&id).unwrap();
    let key = crate::bids::register(&app, "Acme Roads Ltd").await;
    let url_b = format!("ws://{}/api/v1/tenders/{id}/live", node_b.addr);
    let mut on_a = connect(&app, &id, None).await;
    let hello_a = next_of(&mut on_a, "hello").await;
    presence_reaches(&mut on_a, 1, 0).await;
    let (mut on_b, _) = tokio_tungstenite::connect_async(&url_b).await.expect("connects to node B");
    let hello_b = next_of(&mut on_b, "hello").await;
    presence_reaches(&mut on_a, 2, 0).await;
    presence_reaches(&mut on_b, 2, 0).await;
    // The same bidder signs in on both nodes: one bidder.
    for (ws, hello) in [(&mut on_a, &hello_a), (&mut on_b, &hello_b)] {
        let nonce: [u8; 32] = bidroom::seal::unb64(hello["nonce"].as_str().unwrap()).unwrap().try_into().unwrap();
        let sig = key.sign(&bidroom::seal::room_sign_in_message(tender, &nonce)).unwrap();
        let req =
            json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": bidroom::seal::b64(&sig)});
        ws.send(Message::text(req.to_string())).await.unwrap();
        next_of(ws, "signed_in").await;
    }
    presence_reaches(&mut on_a, 2, 1).await;
    presence_reaches(&mut on_b, 2, 1).await;
    drop(on_b);
    presence_reaches(&mut on_a, 1, 1).await;
    let (_third, _) = tokio_tungstenite::connect_async(&url_b).await.expect("connects to node B");
    presence_reaches(&mut on_a, 2, 1).await;
    // A node that stops takes its viewers out of the count.
    node_b.stop().await;
    presence_reaches(&mut on_a, 1, 1).await;
}

/// A server with tight live-room limits, to see them bite quickly.
fn tight(cfg: &mut bidroom::config::ServeConfig) {
    cfg.live.write_timeout_ms = 300;
    cfg.live.max_per_ip = 3;
    cfg.live.socket_send_buffer = Some(8192);
}

async fn limits_connections_per_address(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&app, &id, None).await);
    }
    let err = tokio_tungstenite::connect_async(live_url(&app, &id, None)).await.expect_err("fourth refused");
    assert_eq!(refused_with(&err), 429, "{err}");
    drop(open.pop());
    // The slot comes back once the server notices the close.
    let until = Instant::now() + FRAME_WAIT;
    while tokio_tungstenite::connect_async(live_url(&app, &id, None)).await.is_err() {
        assert!(Instant::now() < until, "slot not given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stalled_viewer_is_closed_without_delaying_others(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    // A viewer with a tiny receive window that never reads.
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(2048).expect("rcvbuf");
    let stream = sock.connect(app.addr).await.expect("connect");
    let (stalled, _) =
        tokio_tungstenite::client_async(live_url(&app, &id, None), MaybeTlsStream::Plain(stream)).await.expect("ws");
    let mut healthy = connect(&app, &id, None).await;
    next_of(&mut healthy, "hello").await;
    assert_eq!(next_seqs(&mut healthy, 1).await, [1]);
    wait_presence(&mut healthy, 2).await;
    let long = "x".repeat(1900);
    let mut worst = Duration::ZERO;
    for n in 0..40 {
        let (_, t) = app.get(&format!("/api/v1/tenders/{id}")).await;
        let deadline = parse_time(&t["deadline"]) + time::Duration::seconds(1);
        let body = json!({"deadline": rfc3339(deadline), "reason": format!("{n} {long}")});
        let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let sent = Instant::now();
        assert_eq!(next_seqs(&mut healthy, 1).await, [n + 2]);
        worst = worst.max(sent.elapsed());
    }
    assert!(worst < Duration::from_millis(500), "healthy viewer delayed by {worst:?}");
    // The stalled viewer is dropped: a newcomer counts itself and the
    // healthy viewer only.
    let mut newcomer = connect(&app, &id, None).await;
    wait_presence(&mut newcomer, 2).await;
    // What it gets when it finally reads: a prefix of the stream, then the end.
    let mut stalled = stalled;
    let mut seen = 0;
    loop {
        match tokio::time::timeout(FRAME_WAIT, stalled.next()).await.expect("ends in time") {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "event" {
                    seen = v["event"]["seq"].as_i64().unwrap();
                }
            }
            Some(Ok(Message::Close(f))) => {
                assert_eq!(u16::from(f.expect("reason").code), 4000);
                break;
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert!(seen < 41, "the stalled viewer got everything ({seen}); the test did not stall it");
}

crate::on_both_backends!(
    replay_then_live_without_gap,
    resumes_after_a_dropped_connection,
    late_joiner_sees_the_whole_session,
    counts_viewers_as_they_come_and_go,
    refuses_viewer_writes,
    hello_carries_the_server_clock,
    refuses_drafts_bad_cursors_and_plain_requests,
    bidder_signs_in_under_a_pseudonym,
);

crate::on_both_backends!(with tight: limits_connections_per_address, stalled_viewer_is_closed_without_delaying_others);

crate::on_postgres!(other_nodes_events_reach_this_nodes_viewers, presence_adds_up_across_nodes);
