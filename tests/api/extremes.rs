//! Extreme numbers in paths, queries and headers: the largest and
//! one-past-largest integers, negatives, zero, junk. Every answer must be a
//! 4xx JSON error (or a success), never a 5xx or a dropped connection: there
//! is no catch-panic layer, so an overflow would kill the request.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{register, seal};
use crate::common::{TestApp, published_tender};

const U64_MAX: &str = "18446744073709551615";
const U64_OVER: &str = "18446744073709551616";
const I64_MAX: &str = "9223372036854775807";
const I64_OVER: &str = "9223372036854775808";
const I64_MIN: &str = "-9223372036854775808";

/// Sends a request and asserts a 4xx JSON error with a code, returning it.
async fn refused(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.client.request(method.clone(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: no answer ({e})"));
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_client_error(), "{method} {path}: {status} {text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
    assert!(v["code"].is_string() && v["message"].is_string(), "{method} {path}: {v}");
    (status, v)
}

/// GETs a path and asserts it did not fail on the server's side.
async fn not_a_server_error(app: &TestApp, path: &str) -> StatusCode {
    let resp = app.client.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: no answer ({e})"));
    let status = resp.status();
    assert!(!status.is_server_error(), "GET {path}: {status} {}", resp.text().await.unwrap_or_default());
    status
}

async fn log_entries(app: TestApp) {
    // An empty log, then one with entries: the extremes are past its end either way.
    for round in 0..2 {
        if round == 1 {
            published_tender(&app, 3600).await;
        }
        for index in [U64_MAX, "18446744073709551614", "9223372036854775808", I64_MAX, "1000000"] {
            let (s, v) = refused(&app, Method::GET, &format!("/api/v1/log/entries/{index}"), None).await;
            assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{index}: {v}");
        }
        for index in [U64_OVER, "-1", I64_MIN, "1e3", "0x10", ""] {
            let path = format!("/api/v1/log/entries/{index}");
            let (s, _) = refused(&app, Method::GET, &path, None).await;
            assert!(matches!(s, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND), "{path}: {s}");
        }
    }
    let (s, v) = app.get("/api/v1/log/entries/0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn log_proofs(app: TestApp) {
    published_tender(&app, 3600).await;
    let cases = [
        format!("index={U64_MAX}&size={U64_MAX}"),
        format!("index=0&size={U64_MAX}"),
        format!("index={U64_MAX}&size=1"),
        format!("index={U64_MAX}&size=0"),
        "index=0&size=0".to_string(),
        "index=1&size=1".to_string(),
        format!("index={U64_OVER}&size=1"),
        "index=-1&size=1".to_string(),
        "index=0".to_string(),
    ];
    for q in cases {
        refused(&app, Method::GET, &format!("/api/v1/log/inclusion?{q}"), None).await;
    }
    let cases = [
        format!("old={U64_MAX}&new={U64_MAX}"),
        format!("old={U64_MAX}&new=1"),
        format!("old=0&new={U64_MAX}"),
        "old=2&new=1".to_string(),
        format!("old={U64_OVER}&new=1"),
        "old=-1&new=1".to_string(),
    ];
    for q in cases {
        refused(&app, Method::GET, &format!("/api/v1/log/consistency?{q}"), None).await;
    }
    let (s, v) = app.get("/api/v1/log/inclusion?index=0&size=1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn log_tiles(app: TestApp) {
    published_tender(&app, 3600).await;
    let paths = [
        "tile/0/x999/x999/x999/x999/x999/x999/615".to_string(),
        "tile/0/x018/x446/x744/x073/x709/x551/615".to_string(),
        "tile/0/x018/x446/x744/x073/x709/x551/616".to_string(),
        "tile/255/000".to_string(),
        "tile/8/000".to_string(),
        "tile/0/000.p/256".to_string(),
        "tile/0/000.p/0".to_string(),
        "tile/0/000.p/65536".to_string(),
        "tile/entries/x018/x446/x744/x073/x709/x551/615".to_string(),
        "tile/entries/x999/x999/x999/x999/x999/x999/999.p/255".to_string(),
        format!("tile/{U64_MAX}/000"),
        "tile/0/-01".to_string(),
    ];
    for p in paths {
        let (s, _) = refused(&app, Method::GET, &format!("/log/{p}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "/log/{p}");
    }
}

async fn tender_lists_and_events(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    for q in [
        format!("limit={I64_MAX}"),
        format!("limit={I64_OVER}"),
        format!("limit={I64_MIN}"),
        "limit=0".to_string(),
        format!("offset={I64_OVER}"),
        "offset=-1".to_string(),
        format!("offset={I64_MIN}"),
    ] {
        refused(&app, Method::GET, &format!("/api/v1/tenders?{q}"), None).await;
    }
    let s = not_a_server_error(&app, &format!("/api/v1/tenders?limit=200&offset={I64_MAX}")).await;
    assert_eq!(s, StatusCode::OK);
    for q in [
        format!("after={I64_OVER}"),
        format!("after={I64_MIN}"),
        "after=-1".to_string(),
        format!("limit={I64_MAX}"),
        "limit=0".to_string(),
        format!("limit={U64_OVER}"),
    ] {
        refused(&app, Method::GET, &format!("/api/v1/tenders/{id}/events?{q}"), None).await;
    }
    let (s, v) = app.get(&format!("/api/v1/tenders/{id}/events?after={I64_MAX}&limit=1000")).await;
    assert_eq!((s, v["events"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{v}");
    for q in [format!("after={I64_MAX}"), format!("after={I64_OVER}"), "after=-1".to_string()] {
        refused(&app, Method::GET, &format!("/api/v1/tenders/{id}/live?{q}"), None).await;
    }
}

async fn uploads_parts_and_offsets(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let sealed = seal(&app, &tender, &key, "100.00", &[b"doc"]).await;
    let body =
        json!({"envelope": bidroom::seal::b64(&sealed.envelope), "signature": bidroom::seal::b64(&sealed.signature)});
    let (s, v) = app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads"), None, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload = v["upload_id"].as_str().expect("upload id").to_string();
    let base = format!("/api/v1/tenders/{tender}/uploads/{upload}/parts");
    for part in [U64_MAX, U64_OVER, "-1", "2", "1000000"] {
        let resp = app.client.head(app.url(&format!("{base}/{part}"))).send().await.expect("answer");
        assert!(resp.status().is_client_error(), "HEAD part {part}: {}", resp.status());
        let resp = app
            .client
            .patch(app.url(&format!("{base}/{part}")))
            .header("upload-offset", "0")
            .body(vec![0u8; 4])
            .send()
            .await
            .expect("answer");
        assert!(resp.status().is_client_error(), "PATCH part {part}: {}", resp.status());
    }
    for offset in [U64_MAX, U64_OVER, "18446744073709551612", "-1", "1"] {
        let resp = app
            .client
            .patch(app.url(&format!("{base}/0")))
            .header("upload-offset", offset)
            .body(vec![0u8; 4])
            .send()
            .await
            .expect("answer");
        let status = resp.status();
        let v: Value = resp.json().await.expect("JSON error");
        assert!(status.is_client_error() && v["code"].is_string(), "offset {offset}: {status} {v}");
    }
    // A declared length beyond any limit is refused before reading.
    let resp = app
        .client
        .patch(app.url(&format!("{base}/0")))
        .header("upload-offset", "0")
        .header("content-length", U64_MAX)
        .send()
        .await;
    if let Ok(resp) = resp {
        assert!(resp.status().is_client_error(), "content-length u64::MAX: {}", resp.status());
    }
    for id in [U64_MAX, "-1"] {
        refused(&app, Method::GET, &format!("/api/v1/tenders/{tender}/uploads/{id}"), None).await;
    }
}

async fn documents_and_links(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let token = app.staff("evaluator").await;
    let bid = uuid::Uuid::new_v4();
    for index in ["4294967295", "4294967296", U64_MAX, "-1", "0"] {
        let doc = format!("/api/v1/tenders/{tender}/bids/{bid}/documents/{index}");
        refused(&app, Method::GET, &doc, Some(&token)).await;
        refused(&app, Method::POST, &format!("{doc}/link"), Some(&token)).await;
    }
    refused(&app, Method::GET, &format!("/api/v1/downloads/{}", "A".repeat(10_000)), None).await;
    refused(&app, Method::GET, "/api/v1/downloads/x.y", None).await;
}

/// A bidder's release signed at the extremes of `signed_at` (a valid
/// signature each time): refused as stale, never an overflow.
async fn bidder_release_times(app: TestApp) {
    use crate::bidder_held::{holder, own_share, release, release_body, seal_to, tender};
    let t =
        tender(&app, json!({"threshold": 2, "custodians": ["server", "bidder"], "release_window_minutes": 5})).await;
    let h = holder(&app, "Extreme Co").await;
    let sealed = seal_to(&app, &t, &h.key, &h.decryption, "1.00").await;
    assert_eq!(crate::support::bids::submit(&app, &t, &sealed).await.0, StatusCode::CREATED);
    crate::common::wait_for_state(&app, &t, "opening", 20).await;
    let share = own_share(&app, &t, sealed.bid_id, &h).await;
    for at in [i64::MAX, i64::MIN, 0, -1, 253_402_300_800] {
        let (s, v) = release(&app, &t, sealed.bid_id, &release_body(&t, sealed.bid_id, &share, &h.key, at)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("stale_release")), "{at}: {v}");
    }
    let body =
        json!({"share": bidroom::seal::b64(&share), "signed_at": I64_OVER.parse::<f64>().unwrap(), "signature": "AA"});
    let (s, v) = release(&app, &t, sealed.bid_id, &body).await;
    assert!(s.is_client_error(), "{s} {v}");
}

async fn ocds_release_pages(app: TestApp) {
    published_tender(&app, 3600).await;
    for q in [format!("offset={I64_MAX}"), format!("offset={I64_MAX}&limit=100"), "offset=0&limit=1".into()] {
        let (s, v) = app.get(&format!("/api/v1/ocds/releases?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
    }
    for q in ["limit=0", "limit=-1", "limit=101", I64_MAX, I64_MIN, "offset=-1"]
        .map(|q| if q.contains('=') { q.to_string() } else { format!("limit={q}") })
    {
        let (s, v) = refused(&app, Method::GET, &format!("/api/v1/ocds/releases?{q}"), None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{q}: {v}");
    }
    for q in [format!("offset={I64_OVER}"), format!("limit={U64_OVER}"), "offset=1e3".into(), "since=%00".into()] {
        refused(&app, Method::GET, &format!("/api/v1/ocds/releases?{q}"), None).await;
    }
}

crate::on_both_backends!(
    ocds_release_pages,
    log_entries,
    log_proofs,
    log_tiles,
    tender_lists_and_events,
    uploads_parts_and_offsets,
    documents_and_links,
    bidder_release_times,
);
