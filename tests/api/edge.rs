//! The server's edge: client addresses behind trusted proxies (the live
//! room's per-address cap counts each viewer by its own address; a header
//! from an untrusted peer is ignored) and rate limits on writes (a flood
//! gets `429 rate_limited` with `Retry-After` while others go on).

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::{TestApp, published_tender};
use crate::support::bids;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the live room of `id` sending `X-Forwarded-For: forwarded`; the
/// status of a refusal otherwise.
async fn viewer(app: &TestApp, id: &str, forwarded: &str) -> Result<Ws, u16> {
    let mut req = format!("ws://{}/api/v1/tenders/{id}/live", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("live socket failed other than by a refusal: {e}"),
    }
}

/// The test peer (127.0.0.1) is a trusted proxy; two viewers per address.
fn behind_proxy(cfg: &mut bidroom::config::ServeConfig) {
    cfg.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    cfg.live.max_per_ip = 2;
}

/// No trusted proxy; two viewers per address.
fn direct(cfg: &mut bidroom::config::ServeConfig) {
    cfg.live.max_per_ip = 2;
}

async fn viewers_behind_a_trusted_proxy_count_by_their_own_address(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    // A client's own claim comes first; the proxy appends the address it saw.
    let a1 = viewer(&app, &id, "203.0.113.9, 198.51.100.1").await.expect("first viewer of A");
    let a2 = viewer(&app, &id, "198.51.100.1").await.expect("second viewer of A");
    assert_eq!(viewer(&app, &id, "198.51.100.1").await.err(), Some(429), "A's third viewer is over A's cap");
    // A lying left-most hop does not make A someone else.
    assert_eq!(viewer(&app, &id, "192.0.2.77, 198.51.100.1").await.err(), Some(429));
    let b = viewer(&app, &id, "198.51.100.2").await.expect("B is counted on its own");
    drop((a1, a2, b));
}

async fn a_spoofed_header_from_an_untrusted_peer_is_ignored(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let one = viewer(&app, &id, "198.51.100.1").await.expect("first");
    let two = viewer(&app, &id, "198.51.100.2").await.expect("second");
    // Every claimed address is the same peer, 127.0.0.1, whose cap is full.
    assert_eq!(viewer(&app, &id, "198.51.100.3").await.err(), Some(429));
    drop((one, two));
}

/// Per-address write limit: 5 at once, then one a second.
fn limited(cfg: &mut bidroom::config::ServeConfig) {
    cfg.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    cfg.rate.writes_per_minute = 60;
    cfg.rate.burst = 5;
}

/// Per bidder key: 2 submissions at once, then one a minute; no per-address limit.
fn bidder_limited(cfg: &mut bidroom::config::ServeConfig) {
    cfg.rate.bidder_writes_per_minute = 1;
    cfg.rate.burst = 2;
}

/// POSTs a (refused) registration as `from`.
async fn register_from(app: &TestApp, from: &str) -> (StatusCode, Option<String>, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/bidders"))
        .header("x-forwarded-for", from)
        .json(&json!({"name": "flood", "public_key": "AA", "proof": "AA"}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

async fn a_write_flood_is_refused_while_another_client_goes_on(app: TestApp) {
    let flooder = "198.51.100.10";
    let mut refused = None;
    for n in 0..20 {
        let (status, retry, body) = register_from(&app, flooder).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((n, retry, body));
            break;
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (n, retry, body) = refused.expect("the flood was never refused");
    assert_eq!(n, 5, "the burst of 5 passes, the sixth is refused");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    // Another client writes; the flooder still reads public data.
    let (status, _, body) = register_from(&app, "198.51.100.11").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another client is not limited: {body}");
    let r = app.client.get(app.url("/api/v1/tenders")).header("x-forwarded-for", flooder).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "reads are not limited");
}

async fn one_bidder_key_flooding_submissions_is_refused_while_another_bids(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let key = bids::register(&app, "Flood Ltd").await;
    let other = bids::register(&app, "Steady Ltd").await;
    for (n, price) in ["100", "101"].iter().enumerate() {
        let sealed = bids::seal(&app, &id, &key, price, &[]).await;
        let (s, v) = bids::submit(&app, &id, &sealed).await;
        assert!(s.is_success(), "submission {n}: {s} {v}");
    }
    let sealed = bids::seal(&app, &id, &key, "102", &[]).await;
    let (s, v) = bids::submit(&app, &id, &sealed).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["code"], "rate_limited");
    let sealed = bids::seal(&app, &id, &other, "99", &[]).await;
    let (s, v) = bids::submit(&app, &id, &sealed).await;
    assert!(s.is_success(), "another bidder goes on: {s} {v}");
}

crate::on_both_backends!(with behind_proxy: viewers_behind_a_trusted_proxy_count_by_their_own_address);
crate::on_both_backends!(with direct: a_spoofed_header_from_an_untrusted_peer_is_ignored);
crate::on_both_backends!(with limited: a_write_flood_is_refused_while_another_client_goes_on);
crate::on_both_backends!(with bidder_limited: one_bidder_key_flooding_submissions_is_refused_while_another_bids);
