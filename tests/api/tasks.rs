//! Background tasks do not die silently: a restartable task that panics is
//! restarted and goes on working; the group committer, which cannot be,
//! makes `/readyz` fail and the server stop with an error. The panics are
//! injected through the hidden test hook `AppState::faults`, so these tests
//! build the server themselves to hold its state. The supervision does not
//! depend on the backend; they run on SQLite.

use std::time::{Duration, Instant};

use bidroom::app::{AppState, ErrorKind};
use bidroom::config::ServeConfig;
use bidroom::launch::App;
use bidroom::seal::BidderKey;
use bidroom::store::{Bidder, NewBid};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::{ADMIN_TOKEN, draft_json, parse_time};

/// A server this test holds the state of.
struct Server {
    base: String,
    state: AppState,
    client: reqwest::Client,
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ServeConfig::for_data_dir(dir.path().to_path_buf());
        cfg.admin_token = Some(ADMIN_TOKEN.to_string());
        // The sweeper then passes every second, so its fault is reached soon.
        cfg.upload_ttl_secs = 1;
        let app = App::build(&cfg).await.expect("server builds");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.serve(listener, shutdown.clone()));
        Server { base, state, client: reqwest::Client::new(), shutdown, handle, _dir: dir }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("answer");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A published tender closing `secs` from the server's now.
    async fn tender(&self, secs: i64) -> String {
        let (_, now) = self.call(Method::GET, "/api/v1/time", None).await;
        let draft = draft_json(parse_time(&now["now"]), secs);
        let (s, v) = self.call(Method::POST, "/api/v1/tenders", Some(&draft)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        let (s, v) = self.call(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        id
    }
}

/// Polls `check` for up to `secs`.
async fn eventually(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < until, "not within {secs}s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_scheduler_is_restarted_and_still_closes_tenders() {
    let server = Server::start().await;
    server.state.faults.arm("scheduler");
    server.state.scheduler.notify_one();
    eventually(5, "the scheduler restarted", async || server.state.tasks.restarts("scheduler") == 1).await;
    let (s, v) = server.call(Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "a restarted task leaves the server ready: {v}");
    // The restarted scheduler does its work: the tender closes at its deadline.
    let id = server.tender(2).await;
    eventually(10, "the tender closed", async || {
        server.call(Method::GET, &format!("/api/v1/tenders/{id}"), None).await.1["state"] == "closed"
    })
    .await;
    assert_eq!(server.state.tasks.restarts("scheduler"), 1, "one panic, one restart");
    assert!(server.state.tasks.failed().is_none());
    server.shutdown.cancel();
    server.handle.await.expect("serve task").expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_opening_engine_and_sweeper_are_restarted() {
    let server = Server::start().await;
    for task in ["opening", "sweeper"] {
        server.state.faults.arm(task);
    }
    server.state.opening.wake.notify_one();
    eventually(20, "both restarted", async || {
        server.state.tasks.restarts("opening") == 1 && server.state.tasks.restarts("sweeper") >= 1
    })
    .await;
    let (s, _) = server.call(Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    server.shutdown.cancel();
    server.handle.await.expect("serve task").expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_committer_makes_the_server_unready_and_stop_with_an_error() {
    let server = Server::start().await;
    let tender = server.tender(3600).await;
    let key = BidderKey::generate().expect("key");
    let pk = key.public_key();
    let now = server.state.store.now().await.expect("now");
    let bidder = Bidder { id: pk.key_id(), name: "Acme".into(), public_key: pk.as_bytes().to_vec(), created_at: now };
    server.state.store.register_bidder(&bidder).await.expect("bidder");
    let blob = server.state.blobs.put(b"ciphertext").await.expect("blob");
    let bid = NewBid {
        id: uuid::Uuid::new_v4(),
        tender_id: tender.parse().expect("uuid"),
        bidder_id: pk.key_id(),
        lot: "1".into(),
        envelope_hash: [7; 32],
        signature: vec![7; 64],
        blobs: vec![hex::encode(blob.sha256)],
        total_bytes: 10,
        inline: Vec::new(),
    };
    let (s, v) = server.call(Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The committer's task panics while announcing the batch.
    server.state.faults.arm("committer");
    let err = match bidroom::app::bids::record(&server.state, Ok(bid), &[]).await {
        Err(bidroom::app::bids::SubmitError::Refused(e)) => e,
        Err(other) => panic!("a refusal, not {other:?}"),
        Ok(_) => panic!("a dead committer gives no receipt"),
    };
    assert_eq!((err.kind, err.code), (ErrorKind::Unavailable, "unavailable"), "{err}");
    assert!(server.state.tasks.failed().is_some_and(|f| f.starts_with("committer")));
    // What `/readyz` answers from now on (the server is already stopping).
    let ready = server.state.ready().await;
    assert!(ready.is_err_and(|e| e.code == "not_ready" && e.kind == ErrorKind::Unavailable));
    // The server stops by itself, with an error (the process exits non-zero).
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.handle).await.expect("the server stops");
    let result = stopped.expect("serve task");
    assert!(result.is_err_and(|e| e.to_string().contains("committer")), "serve ends with the failure");
}
