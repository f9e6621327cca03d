//! Log entries of every event kind, as the server writes them.
//!
//! `capture_event_entries` (ignored; run it by name) drives the real code
//! paths over HTTP and saves the exact bytes of one entry of each kind and
//! shape under `tests/data/event-entries/` (or `event-entries.new/` next to
//! it once that exists). Those files are the golden
//! data: entries already in a deployed log never change, so every later
//! version of the code must read them and write them again byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::bids::{register, seal, submit};
use crate::common::{TestApp, draft_json, parse_time, rfc3339, run_sqlite, server_now, wait_for_state};

/// Where the golden entries live.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/event-entries")
}

/// Every entry of the log, in order.
async fn log_entries(app: &TestApp) -> Vec<Vec<u8>> {
    let (_, cp) = app.get("/api/v1/log/checkpoint").await;
    let size = cp["size"].as_u64().expect("checkpoint size");
    let mut out = Vec::new();
    for i in 0..size {
        let (s, v) = app.get(&format!("/api/v1/log/entries/{i}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let b64 = v["entry"].as_str().expect("entry");
        out.push(base64::engine::general_purpose::STANDARD.decode(b64).expect("base64 entry"));
    }
    out
}

/// A published tender with custody `custody`, closing in `deadline_secs`
/// and opening `opening_secs` from now.
async fn tender(app: &TestApp, deadline_secs: i64, opening_secs: i64, custody: Value) -> String {
    let now = server_now(app).await;
    let mut draft = draft_json(now, deadline_secs);
    draft["opening_at"] = json!(rfc3339(now + time::Duration::seconds(opening_secs)));
    draft["custody"] = custody;
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

/// A tender in Chinese with a +08:00 deadline, amended, given a stream
/// twice, visited by a signed-in bidder, then cancelled.
async fn lifecycle(app: &TestApp) {
    let now = server_now(app).await;
    let offset = time::UtcOffset::from_hms(8, 0, 0).expect("offset");
    let mut draft = draft_json(now, 3600);
    draft["title"] = json!("市政道路养护 2027 \"北区\"");
    draft["description"] = json!("第一行\n第二行 <b>&</b> \u{1F6A7} tab\there");
    draft["deadline"] = json!(rfc3339((now + time::Duration::hours(1)).to_offset(offset)));
    draft["opening_at"] = json!(rfc3339((now + time::Duration::hours(2)).to_offset(offset)));
    draft["custody"] = json!({"threshold": 2, "custodians": ["server", "lifecycle-a", "lifecycle-b"]});
    let mut keys = Vec::new();
    for c in ["lifecycle-a", "lifecycle-b"] {
        let key = bidroom::seal::CustodianSecretKey::generate().expect("key");
        let body = json!({"id": c, "name": c, "public_key": bidroom::seal::b64(key.public_key().as_bytes())});
        let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        keys.push(key);
    }
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    // A draft's stream is published with the terms.
    let path = format!("/api/v1/tenders/{id}/stream");
    let embed = json!({"url": "https://player.example.com/embed/42", "kind": "embed"});
    let (s, v) = app.admin(Method::PUT, &path, Some(&embed)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let deadline = parse_time(&v["deadline"]) + time::Duration::minutes(30);
    let body = json!({"deadline": rfc3339(deadline), "reason": "澄清第1号 / Clarification No. 1"});
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let client = bidroom::client::Client::new(&app.base).expect("client");
    client.rotate_release_token("lifecycle-a", &keys[0]).await.expect("rotate");
    let video = json!({"url": "https://video.example.org/live/room.m3u8", "kind": "video"});
    let (s, v) = app.admin(Method::PUT, &path, Some(&video)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.admin(Method::PUT, &path, Some(&embed)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sign_in(app, &id).await;
    let (s, v) = app.admin(Method::DELETE, &path, None).await;
    assert!(s.is_success(), "{s} {v}");
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{id}/cancel"), Some(&json!({"reason": "预算撤回"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame of `kind`.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("frame in time");
        if let Message::Text(t) = msg.expect("open").expect("frame") {
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["type"] == kind {
                return v;
            }
        }
    }
}

/// A bidder signs in to the live room of `id`; returns once it is logged.
async fn sign_in(app: &TestApp, id: &str) {
    let key = register(app, "Acme Roads Ltd").await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/tenders/{id}/live", app.addr)).await.expect("ws");
    let hello = next_of(&mut ws, "hello").await;
    let nonce: [u8; 32] =
        bidroom::seal::unb64(hello["nonce"].as_str().expect("nonce")).expect("b64").try_into().expect("32 bytes");
    let tender = uuid::Uuid::parse_str(id).expect("uuid");
    let sig = key.sign(&bidroom::seal::room_sign_in_message(tender, &nonce)).expect("sign");
    let req = json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": bidroom::seal::b64(&sig)});
    ws.send(Message::text(req.to_string())).await.expect("send");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, v) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
        if v["events"].as_array().expect("events").iter().any(|e| e["type"] == "room.signed_in") {
            return;
        }
        assert!(std::time::Instant::now() < until, "sign-in not logged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// One bid opens (with a document an evaluator then reads), one is
/// rejected (its price is not money); fewer than three opened.
async fn rejected_and_read(app: &TestApp) {
    let id = tender(app, 3, 4, json!({"threshold": 1, "custodians": ["server"]})).await;
    let video = json!({"url": "https://video.example.org/live/room.m3u8", "kind": "video"});
    let (s, v) = app.admin(Method::PUT, &format!("/api/v1/tenders/{id}/stream"), Some(&video)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let good = register(app, "Good Ltd").await;
    let bad = register(app, "Bad Ltd").await;
    let sealed = seal(app, &id, &good, "1234.50", &[b"doc"]).await;
    assert_eq!(submit(app, &id, &sealed).await.0, StatusCode::CREATED);
    let sealed = seal(app, &id, &bad, "cheap", &[]).await;
    assert_eq!(submit(app, &id, &sealed).await.0, StatusCode::CREATED);
    wait_for_state(app, &id, "opened", 30).await;
    let (_, record) = app.get(&format!("/api/v1/tenders/{id}/record")).await;
    let rows = record["rows"].as_array().expect("rows");
    let opened = rows.iter().find(|r| r["status"] == "opened").expect("an opened row");
    let evaluator = app.staff("evaluator").await;
    let path = format!("/api/v1/tenders/{id}/bids/{}/documents/0", opened["bid_id"].as_str().expect("bid id"));
    let resp = app.client.get(app.url(&path)).bearer_auth(&evaluator).send().await.expect("download");
    assert_eq!(resp.status(), StatusCode::OK);
}

/// k = 2 of the server and a notary whose only share is forged: the bid
/// stays unopened when the one-minute window ends (so this takes a minute).
async fn unopened(app: &TestApp) {
    let notary = bidroom::seal::CustodianSecretKey::generate().expect("key");
    let body =
        json!({"id": "notary", "name": "Notary", "public_key": bidroom::seal::b64(notary.public_key().as_bytes())});
    let (s, reg) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let id = tender(app, 2, 3, custody).await;
    let key = register(app, "Solo").await;
    let sealed = seal(app, &id, &key, "1.00", &[]).await;
    assert_eq!(submit(app, &id, &sealed).await.0, StatusCode::CREATED);
    wait_for_state(app, &id, "opening", 15).await;
    let env = loop {
        let (s, v) = app.get(&format!("/api/v1/tenders/{id}/envelopes")).await;
        if s == StatusCode::OK {
            break v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut forged = vec![2u8];
    forged.extend_from_slice(&[7u8; 32]);
    let proof =
        crate::custody_takeover::answer(app, "notary", &notary, bidroom::seal::ChallengePurpose::Release, Some(&id))
            .await;
    let release =
        json!({"shares": [{"bid_id": env[0]["bid_id"], "share": bidroom::seal::b64(&forged)}], "proof": proof});
    let token = reg["release_token"].as_str().expect("token");
    let path = format!("/api/v1/tenders/{id}/opening/release");
    let (s, v) = app.call(Method::POST, &path, Some(token), Some(&release)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_for_state(app, &id, "opened", 120).await;
}

/// Drives every kind of event; `slow` adds the minute-long unopened case.
pub async fn every_kind(app: &TestApp, slow: bool) -> Vec<Vec<u8>> {
    crate::opening::honest_opening(app).await;
    rejected_and_read(app).await;
    lifecycle(app).await;
    if slow {
        unopened(app).await;
    }
    log_entries(app).await
}

/// The shape of a value: object keys with the shapes of their values,
/// arrays by their elements' shapes, scalars by type.
fn shape(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(a) => {
            let mut s: Vec<String> = a.iter().map(shape).collect();
            s.sort();
            s.dedup();
            format!("[{}]", s.join("|"))
        }
        Value::Object(o) => {
            let fields: Vec<String> = o.iter().map(|(k, v)| format!("{k}:{}", shape(v))).collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

/// Saves one entry of each kind and data shape, named `<kind>.<n>.json`.
async fn capture(app: TestApp) {
    let entries = every_kind(&app, true).await;
    // The golden files are never rewritten: a later capture goes next to
    // them, for a person to pick the new kinds or shapes from.
    let mut dir = golden_dir();
    if dir.exists() {
        dir.set_extension("new");
    }
    std::fs::create_dir_all(&dir).expect("create dir");
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in entries {
        let v: Value = serde_json::from_slice(&entry).expect("entry is JSON");
        let kind = v["event"].as_str().expect("event kind").to_string();
        let shapes = seen.entry(kind.clone()).or_default();
        // Every tender's terms: they differ in custody, times and text.
        let s = if kind == "tender.published" { v["tender"].to_string() } else { shape(&v["data"]) };
        if shapes.contains(&s) {
            continue;
        }
        shapes.push(s);
        std::fs::write(dir.join(format!("{kind}.{}.json", shapes.len())), &entry).expect("write entry");
    }
    assert_eq!(seen.len(), 17, "every kind of event: {:?}", seen.keys().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the golden entries; run by name when adding a kind or shape"]
async fn capture_event_entries() {
    run_sqlite(capture).await
}

/// The golden entries: (file name, bytes), sorted by name.
fn golden() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(golden_dir())
        .expect("tests/data/event-entries")
        .map(|e| e.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .map(|path| {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read entry"))
        })
        .collect();
    out.sort();
    out
}

/// Every golden entry parses into its typed payload and re-encodes to the
/// very same bytes; every kind has at least one.
#[test]
fn golden_entries_parse_and_re_encode_byte_for_byte() {
    use bidroom::domain::event::{ALL_KINDS, decode_entry, encode_entry, is_canonical};
    let entries = golden();
    let mut kinds = std::collections::BTreeSet::new();
    for (name, bytes) in &entries {
        let entry = decode_entry(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = entry.payload.kind().as_str();
        assert!(name.starts_with(&format!("{kind}.")), "{name} holds a {kind} event");
        let again = encode_entry(entry.tender, entry.seq, entry.at, &entry.payload).expect("encode");
        assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(bytes), "{name}");
        assert_eq!(&again, bytes, "{name}");
        assert!(is_canonical(bytes, &entry), "{name}");
        kinds.insert(kind);
    }
    let all: std::collections::BTreeSet<&str> = ALL_KINDS.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds, all, "a golden entry of every kind");
}

/// Every entry of a session with every kind (but the minute-long unopened
/// case) round-trips through the codec on this backend.
async fn every_entry_the_server_writes_round_trips(app: TestApp) {
    use bidroom::domain::event::{decode_entry, encode_entry};
    let entries = every_kind(&app, false).await;
    assert!(entries.len() > 30, "{} entries", entries.len());
    for (i, bytes) in entries.iter().enumerate() {
        let entry = decode_entry(bytes).unwrap_or_else(|e| panic!("entry {i}: {e}"));
        let again = encode_entry(entry.tender, entry.seq, entry.at, &entry.payload).expect("encode");
        assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(bytes), "entry {i}");
    }
}

crate::on_both_backends!(every_entry_the_server_writes_round_trips);
