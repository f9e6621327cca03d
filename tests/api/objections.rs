//! Objections (异议), confirmations of the record (签字确认), announcements
//! and the sealed final record: a whole confirmation stage with three
//! bidders and a host, the refusals with their codes, the rate limit, and
//! `bidroom verify` passing — and failing once an objection, an answer or
//! a confirmation is changed in the database.

use bidroom::domain::objection::{confirm_message, objection_message};
use bidroom::domain::record::final_hash;
use bidroom::seal::{BidderKey, b64};
use bidroom::verify::Check;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::bids::{register, seal, submit};
use crate::common::{Draft, TestApp, events, wait_events};
use crate::opening::{tamper_entry, verify};

/// Signs `key` in to the room of `tender` and waits until it is logged.
pub(crate) async fn sign_in(app: &TestApp, tender: &str, key: &BidderKey) {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/tenders/{tender}/live", app.addr)).await.expect("ws");
    let nonce: [u8; 32] = loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("the room closed") };
        let v: Value = serde_json::from_str(&t).expect("json");
        if v["type"] == "hello" {
            break bidroom::seal::unb64(v["nonce"].as_str().expect("nonce")).expect("b64").try_into().expect("32");
        }
    };
    let id: Uuid = tender.parse().expect("uuid");
    let sig = key.sign(&bidroom::seal::room_sign_in_message(id, &nonce)).expect("sign");
    let req = json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": b64(&sig)});
    ws.send(Message::text(req.to_string())).await.expect("send");
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("the room closed") };
        let v: Value = serde_json::from_str(&t).expect("json");
        assert_ne!(v["type"], "error", "sign-in refused: {v}");
        if v["type"] == "signed_in" {
            break;
        }
    }
}

async fn now(app: &TestApp) -> i64 {
    let v = app.get_ok("/api/v1/time").await;
    crate::common::parse_time(&v["now"]).unix_timestamp()
}

/// A signed objection's body.
pub(crate) async fn objection(app: &TestApp, tender: &str, key: &BidderKey, text: &str) -> Value {
    let at = now(app).await;
    let sig = key.sign(&objection_message(tender.parse().expect("uuid"), text, at)).expect("sign");
    json!({"bidder": key.public_key().key_id(), "text": text, "signed_at": at, "signature": b64(&sig)})
}

pub(crate) async fn raise(app: &TestApp, tender: &str, body: &Value) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/objections"), None, Some(body)).await
}

pub(crate) async fn confirm_body(app: &TestApp, tender: &str, key: &BidderKey, hash: &str) -> Value {
    let at = now(app).await;
    let bytes: [u8; 32] = hex::decode(hash).expect("hex").try_into().expect("32");
    let sig = key.sign(&confirm_message(tender.parse().expect("uuid"), &bytes, at)).expect("sign");
    json!({"bidder": key.public_key().key_id(), "record_hash": hash, "signed_at": at, "signature": b64(&sig)})
}

pub(crate) async fn confirm(app: &TestApp, tender: &str, body: &Value) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/record/confirm"), None, Some(body)).await
}

pub(crate) async fn answer(app: &TestApp, tender: &str, id: &str, text: &str) -> (StatusCode, Value) {
    let body = json!({"answer": text});
    app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/objections/{id}/answer"), Some(&body)).await
}

async fn end(app: &TestApp, tender: &str) -> (StatusCode, Value) {
    app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/session"), Some(&json!({"action": "end"}))).await
}

/// Three bidders' bids read, the tender in its confirmation stage; the
/// first two bidders signed in.
pub(crate) async fn in_confirmation(app: &TestApp) -> (String, Vec<BidderKey>) {
    let tender =
        Draft::on(app, 3).await.opening_in(4).session(json!({"confirmation_minutes": 30})).published(app).await;
    let mut keys = Vec::new();
    for (i, name) in ["甲建设有限公司", "乙工程有限公司", "丙路桥有限公司"].iter().enumerate() {
        let key = register(app, name).await;
        let sealed = seal(app, &tender, &key, &format!("{}.00", 100 + i), &[]).await;
        let (s, v) = submit(app, &tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        keys.push(key);
    }
    sign_in(app, &tender, &keys[0]).await;
    sign_in(app, &tender, &keys[1]).await;
    wait_events(app, &tender, "the confirmation stage", |ev| {
        ev.iter().any(|e| e["type"] == "session.stage" && e["data"]["stage"] == "confirmation")
    })
    .await;
    (tender, keys)
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

/// The whole stage: refusals with their codes, an objection answered, a
/// confirmation, an objection to the record, silence, an announcement, the
/// end held while an objection waits, then sealed; the final record names
/// all of it and `bidroom verify` passes.
async fn a_confirmation_stage_is_sealed_in_the_final_record(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/record/final")).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_final"), "{v}");

    // Refusals.
    for (text, field) in [("", "text"), ("  ", "text"), ("a\0b", "text"), (&"异".repeat(2_001)[..], "text")] {
        let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[0], text).await).await;
        assert_eq!(
            (s, code(&v), v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some(field))
        );
    }
    let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[2], "未签到").await).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "not_signed_in"), "{v}");
    let mut forged = objection(&app, &tender, &keys[0], "原文").await;
    forged["text"] = json!("改过的文字");
    let (s, v) = raise(&app, &tender, &forged).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "bad_signature"), "{v}");
    let mut stale = objection(&app, &tender, &keys[0], "旧的").await;
    stale["signed_at"] = json!(stale["signed_at"].as_i64().unwrap() - 3_600);
    let (s, v) = raise(&app, &tender, &stale).await;
    assert!(s == StatusCode::FORBIDDEN || code(&v) == "stale_signature", "{v}");
    let mut row = objection(&app, &tender, &keys[0], "第九行").await;
    row["row"] = json!({"bid_id": Uuid::now_v7()});
    let (s, v) = raise(&app, &tender, &row).await;
    assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_row"), "{v}");

    // An objection naming a row, answered; the end waits for it.
    let record = app.get_ok(&format!("/api/v1/tenders/{tender}/record")).await;
    let hash = record["record_hash"].as_str().expect("record_hash").to_string();
    let mut body = objection(&app, &tender, &keys[0], "第二行的价格与我方记录不符，请核实。").await;
    body["row"] = json!({"bid_id": record["rows"][1]["bid_id"]});
    let (s, raised) = raise(&app, &tender, &body).await;
    assert_eq!(s, StatusCode::CREATED, "{raised}");
    let id = raised["id"].as_str().expect("id").to_string();
    let view = app.get_ok(&format!("/api/v1/tenders/{tender}/session")).await;
    assert_eq!(view["open_objections"], json!([id]), "{view}");
    let (s, v) = end(&app, &tender).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "objections_open"), "{v}");
    let supervisor = app.staff("supervisor").await;
    let path = format!("/api/v1/tenders/{tender}/objections/{id}/answer");
    let (s, v) = app.call(Method::POST, &path, Some(&supervisor), Some(&json!({"answer": "x"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "supervisors watch: {v}");
    let (s, v) = answer(&app, &tender, &id, "经核对，第二行价格与解密结果一致。").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = answer(&app, &tender, &id, "again").await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "already_answered"), "{v}");
    let (s, v) = answer(&app, &tender, &Uuid::now_v7().to_string(), "who").await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_objection"), "{v}");

    // Confirmations: the wrong bytes are refused, once only.
    let (s, v) = confirm(&app, &tender, &confirm_body(&app, &tender, &keys[0], &"00".repeat(32)).await).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "record_changed"), "{v}");
    let (s, v) = confirm(&app, &tender, &confirm_body(&app, &tender, &keys[0], &hash).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = confirm(&app, &tender, &confirm_body(&app, &tender, &keys[0], &hash).await).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "already_responded"), "{v}");
    let stranger = register(&app, "未投标单位").await;
    let (s, v) = confirm(&app, &tender, &confirm_body(&app, &tender, &stranger, &hash).await).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "not_in_record"), "{v}");
    // 有异议: the second bidder objects to the record itself.
    let mut body = objection(&app, &tender, &keys[1], "对开标记录有异议：解密时间晚于公告时间。").await;
    body["on_record"] = json!(true);
    let (s, on_record) = raise(&app, &tender, &body).await;
    assert_eq!(s, StatusCode::CREATED, "{on_record}");
    let (s, v) = answer(&app, &tender, on_record["id"].as_str().expect("id"), "解密时间已按公告延长，记录无误。").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let body = json!({"text": "请各投标人在确认阶段内完成签字确认。"});
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/announcements"), Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/announcements"), Some(&json!({"text": ""}))).await;
    assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{v}");

    let (s, v) = end(&app, &tender).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["stage"], "closed", "{v}");
    let ev = events(&app, &tender).await;
    let ended = ev.iter().find(|e| e["type"] == "session.ended").expect("session.ended");
    let responses: Vec<(&str, &str)> = ended["data"]["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| (r["bidder"].as_str().unwrap(), r["response"].as_str().unwrap()))
        .collect();
    let ids: Vec<String> = keys.iter().map(|k| k.public_key().key_id()).collect();
    let mut expected =
        vec![(ids[0].as_str(), "confirmed"), (ids[1].as_str(), "objected"), (ids[2].as_str(), "did_not_respond")];
    expected.sort();
    let mut got = responses.clone();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(ended["data"]["silence_is_acceptance"], true);
    assert_eq!(ended["data"]["through_seq"].as_i64().unwrap(), ended["seq"].as_i64().unwrap() - 1);

    let fin = app.get_ok(&format!("/api/v1/tenders/{tender}/record/final")).await;
    let doc = &fin["record"];
    let id_uuid: Uuid = tender.parse().unwrap();
    assert_eq!(fin["final_hash"], ended["data"]["final_hash"]);
    assert_eq!(hex::encode(final_hash(id_uuid, doc)), fin["final_hash"].as_str().unwrap());
    assert_eq!(doc["record_hash"], json!(hash));
    assert_eq!(doc["objections"].as_array().unwrap().len(), 2);
    assert!(doc["objections"].as_array().unwrap().iter().all(|o| o["answer"]["answer"].is_string()), "{doc}");
    assert_eq!(doc["announcements"][0]["text"], "请各投标人在确认阶段内完成签字确认。");
    let attendance = doc["attendance"].as_array().unwrap();
    assert_eq!(attendance.len(), 2, "{doc}");
    assert!(attendance.iter().any(|a| a["name"] == "甲建设有限公司"), "named from the opening on: {doc}");
    assert_eq!(doc["lots"][0]["rows"].as_array().unwrap().len(), 3);
    assert_eq!(fin["log_index"], ended["log_index"]);
    assert!(fin["checkpoint"].as_str().unwrap().contains('\n'));
    let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[0], "结束后").await).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "wrong_stage"), "{v}");

    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    for check in [Check::ObjectionSignatures, Check::ObjectionAnswers, Check::FinalRecord] {
        assert!(report.results.iter().any(|r| r.check == check), "{check:?} ran: {report}");
    }

    // Changing an objection's text, an answer or a confirmation in the
    // database is caught.
    tamper_entry(&app, &tender, "objection.answered", "记录无误", "记录有误").await;
    let report = verify(&app, &tender).await;
    assert!(!report.passed(), "a changed answer is caught: {report}");
}

fn failed(report: &bidroom::verify::Report, check: Check) -> bool {
    report.results.iter().any(|r| r.check == check && r.status == bidroom::verify::Status::Failed)
}

/// A changed objection text no longer matches its signature; a changed
/// confirmation no longer signs the record.
async fn changed_objections_and_confirmations_fail_verify(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;
    let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[0], "原始异议文字").await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = answer(&app, &tender, v["id"].as_str().unwrap(), "已答复").await;
    assert_eq!(s, StatusCode::CREATED);
    let hash =
        app.get_ok(&format!("/api/v1/tenders/{tender}/record")).await["record_hash"].as_str().unwrap().to_string();
    let (s, v) = confirm(&app, &tender, &confirm_body(&app, &tender, &keys[1], &hash).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(verify(&app, &tender).await.passed());
    tamper_entry(&app, &tender, "objection.raised", "原始异议文字", "篡改异议文字").await;
    let report = verify(&app, &tender).await;
    assert!(failed(&report, Check::ObjectionSignatures), "{report}");
    tamper_entry(&app, &tender, "record.confirmed", &hash[..8], "00000000").await;
    let report = verify(&app, &tender).await;
    assert!(failed(&report, Check::ObjectionSignatures), "{report}");
}

/// Five objections a minute per bidder; the sixth gets 429 with Retry-After.
async fn objections_are_rate_limited_per_bidder(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;
    for i in 0..5 {
        let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[0], &format!("异议{i}")).await).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let body = objection(&app, &tender, &keys[0], "第六条").await;
    let resp = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/tenders/{tender}/objections")))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
    let (s, v) = raise(&app, &tender, &objection(&app, &tender, &keys[1], "另一投标人").await).await;
    assert_eq!(s, StatusCode::CREATED, "another bidder is not held back: {v}");
}

crate::on_both_backends!(
    a_confirmation_stage_is_sealed_in_the_final_record,
    changed_objections_and_confirmations_fail_verify,
    objections_are_rate_limited_per_bidder,
);

/// Log entries of the kinds of this issue as this server writes them, for
/// the golden files of `event_entries.rs`.
async fn capture(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;
    let (_, v) = raise(&app, &tender, &objection(&app, &tender, &keys[0], "唱标价格与投标文件不符").await).await;
    answer(&app, &tender, v["id"].as_str().expect("id"), "经核对无误。").await;
    let hash =
        app.get_ok(&format!("/api/v1/tenders/{tender}/record")).await["record_hash"].as_str().unwrap().to_string();
    confirm(&app, &tender, &confirm_body(&app, &tender, &keys[0], &hash).await).await;
    let mut body = objection(&app, &tender, &keys[1], "对记录有异议").await;
    body["on_record"] = json!(true);
    let (_, v) = raise(&app, &tender, &body).await;
    answer(&app, &tender, v["id"].as_str().expect("id"), "记录无误。").await;
    let note = json!({"text": "请签字确认。"});
    app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/announcements"), Some(&note)).await;
    let (s, v) = end(&app, &tender).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/event-entries.new");
    std::fs::create_dir_all(&dir).expect("dir");
    let ours = ["objection.raised", "objection.answered", "record.confirmed", "announcement.posted", "session.ended"];
    for e in events(&app, &tender).await {
        let kind = e["type"].as_str().expect("type");
        if !ours.contains(&kind) {
            continue;
        }
        let (_, v) = app.get(&format!("/api/v1/log/entries/{}", e["log_index"])).await;
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(v["entry"].as_str().expect("entry")).expect("b64");
        let mut n = 1;
        while dir.join(format!("{kind}.{n}.json")).exists() {
            n += 1;
        }
        std::fs::write(dir.join(format!("{kind}.{n}.json")), bytes).expect("write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes golden entries of the objection kinds; run by name when adding a kind or shape"]
async fn capture_objection_entries() {
    crate::support::server::run_sqlite(capture).await
}
