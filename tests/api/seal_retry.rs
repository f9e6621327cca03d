//! `bidroom seal` when the server goes away right after it answered: the
//! check of the fresh receipt is retried, and if it still cannot be made the
//! command says the bid IS received (and how to check it later) instead of
//! failing like a bid that never arrived.
//!
//! The server is reached through a proxy that answers `503` to the log key
//! request (the first thing the check needs) a chosen number of times.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bidroom::cli::bidder;
use bidroom::cli::common::{KeyArgs, ServerArgs};
use bidroom::cli::keygen::{self, KeygenArgs, KindArg};
use bidroom::cli::receipt::{self, VerifyArgs};
use bidroom::cli::seal::{self, CheckRetry, ReceivedUnchecked, SealArgs};
use bidroom::client::Client;
use serde_json::json;

use crate::common::{TestApp, published_tender};

/// A forwarding proxy that fails the log key request `fail` times.
struct Proxy {
    upstream: String,
    fail: AtomicUsize,
    key_requests: AtomicUsize,
    http: reqwest::Client,
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let path = req.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default();
    if req.uri().path().ends_with("/log/key") {
        p.key_requests.fetch_add(1, Ordering::Relaxed);
        let left = p.fail.load(Ordering::Relaxed);
        if left > 0 {
            p.fail.store(left.saturating_sub(1), Ordering::Relaxed);
            let body = json!({"code": "unavailable", "message": "restarting"}).to_string();
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body(Body::from(body))
                .expect("response");
        }
    }
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 << 20).await.expect("request body");
    let mut out = p.http.request(method, format!("{}{path}", p.upstream));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let answer = out.body(body).send().await.expect("upstream answers");
    let mut resp = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            resp = resp.header(name, value);
        }
    }
    resp.body(Body::from(answer.bytes().await.expect("upstream body"))).expect("response")
}

/// Starts a proxy to `app` that fails the log key `fail` times.
async fn proxy(app: &TestApp, fail: usize) -> (String, Arc<Proxy>) {
    let state = Arc::new(Proxy {
        upstream: app.base.clone(),
        fail: AtomicUsize::new(fail),
        key_requests: AtomicUsize::new(0),
        http: reqwest::Client::new(),
    });
    let router = axum::Router::new().fallback(forward).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), state)
}

/// A registered bidder key and a valid form in a scratch directory.
async fn bidder_setup(app: &TestApp, dir: &Path) -> (KeyArgs, PathBuf) {
    let passphrase = dir.join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").expect("write passphrase");
    let key = dir.join("bidder.key");
    keygen::run(KeygenArgs {
        kind: KindArg::Bidder,
        out: key.clone(),
        iterations: 1_000,
        passphrase_file: Some(passphrase.clone()),
    })
    .await
    .expect("keygen");
    let key = KeyArgs { key, passphrase_file: Some(passphrase) };
    let server = ServerArgs { server: app.base.clone() };
    bidder::register(bidder::RegisterArgs { server, key: key.clone(), name: "Acme".into() }).await.expect("register");
    let form = dir.join("form.json");
    std::fs::write(&form, json!({"price": "1234.50", "days": 90}).to_string()).expect("write form");
    (key, form)
}

fn seal_args(server: &str, tender: &str, key: KeyArgs, form: PathBuf, dir: &Path) -> SealArgs {
    SealArgs {
        server: ServerArgs { server: server.to_owned() },
        tender: tender.parse().expect("uuid"),
        lot: "1".into(),
        key,
        form,
        docs: Vec::new(),
        receipt_out: Some(dir.join("receipt.json")),
        envelope_out: Some(dir.join("envelope.json")),
        decryption_key: None,
    }
}

fn quick(total: Duration) -> CheckRetry {
    CheckRetry { first: Duration::from_millis(50), max: Duration::from_millis(200), total }
}

async fn receipt_check_is_retried(app: TestApp) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tender = published_tender(&app, 3600).await;
    let (key, form) = bidder_setup(&app, dir.path()).await;
    let (url, p) = proxy(&app, 3).await;
    let sealed = seal::run_with(seal_args(&url, &tender, key, form, dir.path()), &quick(Duration::from_secs(20)))
        .await
        .expect("seal succeeds once the log key is back");
    assert!(sealed.created);
    assert_eq!(p.key_requests.load(Ordering::Relaxed), 4, "three failures, then the check went through");
    assert!(sealed.receipt_path.exists());
}

async fn unchecked_receipt_says_the_bid_is_received(app: TestApp) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tender = published_tender(&app, 3600).await;
    let (key, form) = bidder_setup(&app, dir.path()).await;
    let (url, p) = proxy(&app, usize::MAX).await;
    let err = seal::run_with(seal_args(&url, &tender, key, form, dir.path()), &quick(Duration::from_millis(600)))
        .await
        .expect_err("the check cannot be made");
    assert!(p.key_requests.load(Ordering::Relaxed) >= 2, "the check was retried");
    let unchecked = err.downcast_ref::<ReceivedUnchecked>().unwrap_or_else(|| panic!("not 'received': {err:#}"));
    assert_eq!(unchecked.receipt_path, dir.path().join("receipt.json"));
    let message = err.to_string();
    for part in ["IS received", "receipt.json", "bidroom receipt verify", "Do not submit the bid again"] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert_eq!(seal::EXIT_RECEIVED_UNCHECKED, 3);
    // It is true: the bid stands, and the saved receipt verifies later.
    let list = Client::new(&app.base).expect("client").bids(tender.parse().expect("uuid")).await.expect("bids");
    assert_eq!(list.count, 1);
    let verify = VerifyArgs {
        file: unchecked.receipt_path.clone(),
        server: ServerArgs { server: app.base.clone() },
        log_key: None,
        envelope: Some(unchecked.envelope_path.clone()),
    };
    receipt::verify(verify).await.expect("the receipt verifies once the server is back");
}

crate::on_both_backends!(receipt_check_is_retried, unchecked_receipt_says_the_bid_is_received);
