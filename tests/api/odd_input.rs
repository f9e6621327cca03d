//! Odd input: NUL and control characters in text that reaches the store,
//! over-long queries, odd but valid Unicode round-tripping unchanged, the
//! errors produced before a handler runs, slow sockets, and an over-long
//! live-room message. Every refusal is a 4xx with the JSON `{code, message}`.

use std::time::{Duration, Instant};

use bidroom::config::ServeConfig;
use bidroom::seal::{BidderKey, CustodianSecretKey, b64, register_message};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Draft, TestApp, draft_json, published_tender, server_now};
use crate::support::bids::{register, seal};

/// A header timeout small enough to test. Alone in its server: it also ends
/// idle keep-alive connections, which a pooling client could race.
fn slow_headers(cfg: &mut ServeConfig) {
    cfg.timeouts.header_ms = 400;
}

/// A body timeout small enough to test, and a generous pause between the
/// chunks of an upload.
fn slow_bodies(cfg: &mut ServeConfig) {
    cfg.timeouts.body_ms = 400;
    cfg.timeouts.upload_idle_ms = 3_000;
}

/// A bound on every wait for the server, far above the timeouts.
const WAIT: Duration = Duration::from_secs(10);

/// Asserts a 4xx JSON error with `code` (and `field`, when given).
fn assert_refused(what: &str, s: StatusCode, v: &Value, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{what}: {v}");
    assert!(v["message"].is_string(), "{what}: {v}");
    if let Some(f) = field {
        assert_eq!(v["field"].as_str(), Some(f), "{what}: {v}");
    }
}

/// A bidder registration body for a fresh key and `name`.
fn bidder_body(name: &str) -> (BidderKey, Value) {
    let key = BidderKey::generate().expect("bidder key");
    let pk = key.public_key();
    let proof = key.sign(&register_message(pk.as_bytes())).expect("sign");
    let body = json!({"name": name, "public_key": b64(pk.as_bytes()), "proof": b64(&proof)});
    (key, body)
}

fn custodian_body(id: &str, name: &str) -> Value {
    let key = CustodianSecretKey::generate().expect("custodian key");
    json!({"id": id, "name": name, "public_key": b64(key.public_key().as_bytes())})
}

async fn nul_and_control_characters_are_refused_where_text_is_stored(app: TestApp) {
    let now = server_now(&app).await;
    let tender = Draft::on(&app, 3600).await.create(&app).await;
    let published = published_tender(&app, 3600).await;

    // Path ids and queries.
    for (path, status, code, field) in [
        ("/api/v1/tenders?q=%00", StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("q")),
        ("/api/v1/tenders?q=a%07b", StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("q")),
        ("/api/v1/bidders/%00", StatusCode::NOT_FOUND, "not_found", None),
        ("/api/v1/bidders/0123456789abcde%00", StatusCode::NOT_FOUND, "not_found", None),
        ("/api/v1/bidders/%F0%9F%98%80", StatusCode::NOT_FOUND, "not_found", None),
    ] {
        let (s, v) = app.admin(Method::GET, path, None).await;
        assert_refused(path, s, &v, status, code, field);
    }
    let long = format!("/api/v1/tenders?q={}", "a".repeat(201));
    let (s, v) = app.get(&long).await;
    assert_refused("201-character query", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("q"));
    let (s, v) = app.get(&format!("/api/v1/tenders?q={}", "字".repeat(200))).await;
    assert_eq!(s, StatusCode::OK, "a 200-character query is fine: {v}");
    // Longer than any request target a handler sees.
    let (s, v) = app.get(&format!("/api/v1/tenders?q={}", "a".repeat(50_000))).await;
    assert_refused("50,000-character query", s, &v, StatusCode::URI_TOO_LONG, "uri_too_long", None);

    // Names.
    let (_, body) = bidder_body("Acme\u{0}Ltd");
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
    assert_refused("bidder name", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("name"));
    let (s, v) =
        app.admin(Method::POST, "/api/v1/staff", Some(&json!({"name": "Officer\u{0}", "role": "officer"}))).await;
    assert_refused("staff name", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("name"));
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&custodian_body("notary", "No\u{0}tary"))).await;
    assert_refused("custodian name", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("name"));

    // A tender's text, on create and on edit.
    for (field, bad) in [
        ("title", json!("Roads\u{0}")),
        ("reference", json!("ZB-\u{0}")),
        ("buyer", json!("City\u{1b}[31m")),
        ("description", json!("line one\nline two\u{0}")),
    ] {
        let mut draft = draft_json(now, 3600);
        draft[field] = bad;
        let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
        assert_refused(field, s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some(field));
        let (s, v) = app.admin(Method::PUT, &format!("/api/v1/tenders/{tender}"), Some(&draft)).await;
        assert_refused(field, s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some(field));
    }
    let mut draft = draft_json(now, 3600);
    draft["lots"][0]["title"] = json!("North\u{0}");
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_refused("lot title", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("lots[0].title"));
    let mut draft = draft_json(now, 3600);
    draft["lots"][0]["fields"][0]["label"]["en"] = json!("Price\u{0}");
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    let label = "lots[0].fields[0].label.en";
    assert_refused("field label", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some(label));

    // Reasons and admissions.
    let (s, v) = app
        .admin(Method::POST, &format!("/api/v1/tenders/{published}/cancel"), Some(&json!({"reason": "no\u{0}"})))
        .await;
    assert_refused("cancel reason", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("reason"));
    let amend = json!({"reason": "later\u{0}", "deadline": crate::common::rfc3339(now + time::Duration::hours(2))});
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{published}/amend"), Some(&amend)).await;
    assert_refused("amend reason", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("reason"));
    let (s, v) = app
        .admin(Method::POST, &format!("/api/v1/tenders/{published}/admissions"), Some(&json!({"bidder": "\u{0}"})))
        .await;
    assert_refused("admission", s, &v, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("bidder"));

    // Nothing of it was stored: the server still answers and lists as before.
    let (s, v) = app.admin(Method::GET, "/api/v1/tenders?limit=200", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2), "{v}");
}

/// Combining marks, right-to-left text, emoji with joiners and skin tones,
/// full-width forms, a zero-width joiner.
const ODD: &str =
    "Cafe\u{301} \u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{1F3D7}\u{FE0F}\u{1F477}\u{1F3FD}\u{200D}\u{2640}\u{FE0F} ＡＢＣ１２３";

async fn odd_valid_unicode_is_stored_and_returned_unchanged(app: TestApp) {
    let now = server_now(&app).await;
    let mut draft = draft_json(now, 3600);
    for field in ["title", "buyer", "description"] {
        draft[field] = json!(format!("{field} {ODD}"));
    }
    let tag = uuid::Uuid::new_v4().simple().to_string();
    draft["reference"] = json!(format!("ＺＢ-{tag}"));
    draft["lots"][0]["title"] = json!(ODD);
    let (s, created) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (s, got) = app.admin(Method::GET, &format!("/api/v1/tenders/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    for field in ["title", "reference", "buyer", "description"] {
        assert_eq!(got[field], draft[field], "{field} unchanged");
    }
    assert_eq!(got["lots"][0]["title"], ODD);

    // An odd query is a valid query; the list returns the text unchanged.
    let (s, found) = app.admin(Method::GET, &format!("/api/v1/tenders?q={}", urlencode(ODD)), None).await;
    assert_eq!(s, StatusCode::OK, "{found}");
    let (s, found) = app.admin(Method::GET, &format!("/api/v1/tenders?q={tag}"), None).await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["id"].as_str(), Some(id), "found by its reference: {found}");
    assert_eq!(found["items"][0]["title"], draft["title"], "{found}");

    let (_, body) = bidder_body(ODD);
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, got) = app.get(&format!("/api/v1/bidders/{}", v["id"].as_str().unwrap())).await;
    assert_eq!((s, got["name"].as_str()), (StatusCode::OK, Some(ODD)), "{got}");
    let (s, v) = app.admin(Method::POST, "/api/v1/staff", Some(&json!({"name": ODD, "role": "officer"}))).await;
    assert_eq!((s, v["staff"]["name"].as_str()), (StatusCode::CREATED, Some(ODD)), "{v}");
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&custodian_body("odd", ODD))).await;
    assert_eq!((s, v["custodian"]["name"].as_str()), (StatusCode::CREATED, Some(ODD)), "{v}");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Sends `request` on a fresh connection; the answer's status line and body.
async fn raw_http(app: &TestApp, request: &[u8]) -> (String, Value) {
    let mut sock = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    sock.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, sock.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn errors_before_the_handlers_are_json(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let url = app.url(&format!("/api/v1/tenders/{tender}/bids"));

    let resp = app.client.post(&url).header("content-type", "application/json").body("{}").send().await.unwrap();
    let s = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_refused("non-multipart bid", s, &v, StatusCode::BAD_REQUEST, "invalid_multipart", None);

    let resp = app.client.delete(app.url("/api/v1/tenders")).send().await.unwrap();
    let (s, allow) = (resp.status(), resp.headers().get("allow").cloned());
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_refused("wrong method", s, &v, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
    assert!(allow.is_some_and(|a| a.to_str().unwrap().contains("GET")), "Allow kept");
    let resp = app.client.post(app.url("/healthz")).send().await.unwrap();
    let s = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_refused("wrong method outside the API", s, &v, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);

    // Invalid UTF-8 in path segments, raw on the wire.
    for path in ["/api/v1/bidders/%FF%FE", "/api/v1/tenders/%C3%28/events"] {
        let (status, v) =
            raw_http(&app, format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).await;
        assert!(status.contains(" 400 "), "{path}: {status}");
        assert_eq!(v["code"], "invalid_path", "{path}: {v}");
    }

    // A live-room request that is not a websocket upgrade.
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/live")).await;
    assert!(s.is_client_error(), "{s}");
    assert!(v["code"].is_string(), "not an upgrade: {v}");

    let long = format!("/api/v1/tenders/{tender}?pad={}", "x".repeat(10 * 1024));
    let (s, v) = app.get(&long).await;
    assert_refused("long URI", s, &v, StatusCode::URI_TOO_LONG, "uri_too_long", None);
    let resp = app.client.get(app.url("/healthz")).header("x-pad", "y".repeat(70 * 1024)).send().await.unwrap();
    let s = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_refused("large header block", s, &v, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", None);
}

async fn a_slow_header_socket_is_closed_after_the_timeout(app: TestApp) {
    let mut sock = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let start = Instant::now();
    sock.write_all(b"GET /healthz HT").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(WAIT, sock.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the half-sent request within {WAIT:?}");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(300), "not before the timeout: {waited:?}");

    // A request sent in time is served as before.
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, StatusCode::OK);
}

async fn a_stalled_json_body_gets_408(app: TestApp) {
    let mut sock = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/tenders HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"title\":",
        app.admin_token
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(WAIT, sock.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "answered and closed within {WAIT:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
}

async fn a_slow_but_progressing_upload_is_not_cut(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Slow Link Ltd").await;
    let document = vec![5u8; 64 * 1024];
    let sealed = seal(&app, &tender, &key, "100.00", &[&document]).await;
    // The document in 10 pieces, 100 ms apart: the whole body takes about
    // a second, over twice the body timeout, with short pauses.
    let pieces: Vec<Vec<u8>> =
        sealed.documents[0].chunks(sealed.documents[0].len() / 10 + 1).map(<[u8]>::to_vec).collect();
    let slow = futures_util::stream::iter(pieces).then(|p| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(p)
    });
    let form = reqwest::multipart::Form::new()
        .part("envelope", reqwest::multipart::Part::bytes(sealed.envelope.clone()))
        .part("signature", reqwest::multipart::Part::bytes(sealed.signature.clone()))
        .part("form", reqwest::multipart::Part::bytes(sealed.form.clone()))
        .part("document", reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(slow)));
    let start = Instant::now();
    let resp =
        app.client.post(app.url(&format!("/api/v1/tenders/{tender}/bids"))).multipart(form).send().await.unwrap();
    let took = start.elapsed();
    let s = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(took > Duration::from_millis(400), "the upload outlasted the body timeout: {took:?}");
}

async fn an_oversized_live_message_closes_with_1008(app: TestApp) {
    use tokio_tungstenite::tungstenite::Message;
    let tender = published_tender(&app, 3600).await;
    let url = format!("ws://{}/api/v1/tenders/{tender}/live", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    ws.send(Message::Text("x".repeat(3 * 1024).into())).await.unwrap();
    let close = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => break frame.expect("close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1008, "policy violation: {close:?}");
    assert!(close.reason.contains("too large"), "{close:?}");
}

crate::on_both_backends!(
    nul_and_control_characters_are_refused_where_text_is_stored,
    odd_valid_unicode_is_stored_and_returned_unchanged,
    errors_before_the_handlers_are_json,
    an_oversized_live_message_closes_with_1008,
);
crate::on_both_backends!(with slow_headers: a_slow_header_socket_is_closed_after_the_timeout);
crate::on_both_backends!(with slow_bodies: a_stalled_json_body_gets_408, a_slow_but_progressing_upload_is_not_cut);
