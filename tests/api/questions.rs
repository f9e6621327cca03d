//! Bidders' private questions to the host (issue 12): asked by a signed-in
//! bidder with its key, read by staff and by the asker only, nothing of it
//! in the public log until the host answers it as an announcement quoting
//! it; the refusals with their codes and the rate limit; and the QR code
//! of the printed record.

use bidroom::domain::objection::{question_message, questions_read_message};
use bidroom::seal::{BidderKey, b64};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bids::register;
use crate::common::{TestApp, events};
use crate::objections::in_confirmation;
use crate::opening::verify;

const QUESTION: &str = "中标候选人将于何时公示？";

async fn now(app: &TestApp) -> i64 {
    let v = app.get_ok("/api/v1/time").await;
    crate::common::parse_time(&v["now"]).unix_timestamp()
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

fn tender_id(tender: &str) -> Uuid {
    tender.parse().expect("uuid")
}

/// A signed question's body.
async fn question(app: &TestApp, tender: &str, key: &BidderKey, text: &str) -> Value {
    let at = now(app).await;
    let sig = key.sign(&question_message(tender_id(tender), text, at)).expect("sign");
    json!({"bidder": key.public_key().key_id(), "text": text, "signed_at": at, "signature": b64(&sig)})
}

async fn ask(app: &TestApp, tender: &str, body: &Value) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/questions"), None, Some(body)).await
}

/// `key`'s signed request for `bidder`'s questions.
async fn mine_as(app: &TestApp, tender: &str, key: &BidderKey, bidder: &str) -> (StatusCode, Value) {
    let at = now(app).await;
    let sig = key.sign(&questions_read_message(tender_id(tender), at)).expect("sign");
    let body = json!({"bidder": bidder, "signed_at": at, "signature": b64(&sig)});
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/questions/mine"), None, Some(&body)).await
}

async fn mine(app: &TestApp, tender: &str, key: &BidderKey) -> Vec<Value> {
    let (s, v) = mine_as(app, tender, key, &key.public_key().key_id()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().expect("list").clone()
}

async fn answer(app: &TestApp, tender: &str, id: &str, text: &str) -> (StatusCode, Value) {
    let body = json!({"text": text});
    app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/questions/{id}/answer"), Some(&body)).await
}

/// Does any public event of the tender, or the public room's history, carry `text`?
async fn public_says(app: &TestApp, tender: &str, text: &str) -> bool {
    events(app, tender).await.iter().any(|e| e.to_string().contains(text))
}

/// A question from sign-in to its public answer: private before, quoted
/// (without its asker) after; the refusals with their codes.
async fn a_question_is_private_until_the_host_answers_it(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;

    // Refusals: text rules, not signed in, a forged signature.
    for text in ["", "  ", "a\0b", &"问".repeat(2_001)[..]] {
        let (s, v) = ask(&app, &tender, &question(&app, &tender, &keys[0], text).await).await;
        assert_eq!(
            (s, code(&v), v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("text"))
        );
    }
    let (s, v) = ask(&app, &tender, &question(&app, &tender, &keys[2], "未签到的提问").await).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "not_signed_in"), "{v}");
    let mut forged = question(&app, &tender, &keys[0], "原文").await;
    forged["text"] = json!("改过的问题");
    let (s, v) = ask(&app, &tender, &forged).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "bad_signature"), "{v}");

    // Asked: the asker and staff read it; nobody else does.
    let (s, q) = ask(&app, &tender, &question(&app, &tender, &keys[0], QUESTION).await).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let id = q["id"].as_str().expect("id").to_string();
    assert_eq!(q["answer"], Value::Null);
    let staff = app.admin_ok(Method::GET, &format!("/api/v1/tenders/{tender}/questions"), None).await;
    assert_eq!(staff.as_array().map(Vec::len), Some(1), "{staff}");
    assert_eq!(staff[0]["text"], QUESTION);
    assert_eq!(staff[0]["bidder"], keys[0].public_key().key_id());
    let supervisor = app.staff("supervisor").await;
    let path = format!("/api/v1/tenders/{tender}/questions");
    let (s, v) = app.call(Method::GET, &path, Some(&supervisor), None).await;
    assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "staff read it: {v}");
    let (s, v) = app.get(&path).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a viewer cannot: {v}");
    assert!(mine(&app, &tender, &keys[1]).await.is_empty(), "another bidder reads only its own");
    let (s, v) = mine_as(&app, &tender, &keys[1], &keys[0].public_key().key_id()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "bad_signature"), "{v}");
    let own = mine(&app, &tender, &keys[0]).await;
    assert_eq!((own.len(), &own[0]["text"], &own[0]["answer"]), (1, &json!(QUESTION), &Value::Null));
    assert!(!public_says(&app, &tender, QUESTION).await, "nothing public before the answer");

    // Answered publicly: one announcement, quoting the question, not its asker.
    let (s, v) =
        app.call(Method::POST, &format!("{path}/{id}/answer"), Some(&supervisor), Some(&json!({"text": "x"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "supervisors watch: {v}");
    let (s, v) = answer(&app, &tender, &Uuid::now_v7().to_string(), "谁").await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_question"), "{v}");
    let (s, v) = answer(&app, &tender, &id, "").await;
    assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{v}");
    assert_eq!(mine(&app, &tender, &keys[0]).await[0]["answer"], Value::Null, "a refused answer changes nothing");
    let (s, logged) = answer(&app, &tender, &id, "中标候选人将于开标后三个工作日内公示。").await;
    assert_eq!(s, StatusCode::CREATED, "{logged}");
    assert_eq!(logged["type"], "announcement.posted");
    let (s, v) = answer(&app, &tender, &id, "再答一次").await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "question_answered"), "{v}");
    let ev = events(&app, &tender).await;
    let posted: Vec<&Value> = ev.iter().filter(|e| e["type"] == "announcement.posted").collect();
    assert_eq!(posted.len(), 1, "one answer");
    let data = &posted[0]["data"];
    assert_eq!(data["reply_to"]["question"], json!(id));
    assert_eq!(data["reply_to"]["text"], QUESTION);
    assert!(!posted[0].to_string().contains(&keys[0].public_key().key_id()), "the asker stays unnamed: {data}");
    assert_eq!(mine(&app, &tender, &keys[0]).await[0]["answer"], logged["id"]);

    // The session ends; the answer is in the sealed record, which verifies.
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/session"), Some(&json!({"action": "end"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fin = app.get_ok(&format!("/api/v1/tenders/{tender}/record/final")).await;
    assert_eq!(fin["record"]["announcements"][0]["reply_to"]["text"], QUESTION, "{fin}");
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    let (s, v) = ask(&app, &tender, &question(&app, &tender, &keys[0], "结束后提问").await).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_in_session"), "{v}");
}

/// Five questions a minute per bidder; the sixth gets 429 with Retry-After.
async fn questions_are_rate_limited_per_bidder(app: TestApp) {
    let (tender, keys) = in_confirmation(&app).await;
    for i in 0..5 {
        let (s, v) = ask(&app, &tender, &question(&app, &tender, &keys[0], &format!("问题{i}")).await).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let body = question(&app, &tender, &keys[0], "第六个问题").await;
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/tenders/{tender}/questions")))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let (s, v) = ask(&app, &tender, &question(&app, &tender, &keys[1], "另一投标人的问题").await).await;
    assert_eq!(s, StatusCode::CREATED, "another bidder is not held back: {v}");
    let stranger = register(&app, "未投标单位").await;
    let (s, v) = ask(&app, &tender, &question(&app, &tender, &stranger, "旁观者").await).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "not_signed_in"), "{v}");
}

/// The printed record's QR code: an SVG of the absolute link to the entry
/// that seals the record (the same bytes as rendering that link here).
async fn the_record_qr_code_encodes_the_entry_link(app: TestApp) {
    let (tender, _) = in_confirmation(&app).await;
    let qr = app.client.get(app.url(&format!("/tenders/{tender}/record/qr.svg"))).send().await.expect("qr");
    assert_eq!(qr.status(), StatusCode::CONFLICT, "no record before the end");
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/session"), Some(&json!({"action": "end"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fin = app.get_ok(&format!("/api/v1/tenders/{tender}/record/final")).await;
    let resp = app.client.get(app.url(&format!("/tenders/{tender}/record/qr.svg"))).send().await.expect("qr");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let svg = resp.text().await.expect("text");
    let link = format!("http://{}{}", app.addr, fin["entry_url"].as_str().expect("entry_url"));
    assert!(link.ends_with(&format!("/api/v1/log/entries/{}", fin["log_index"])), "{link}");
    assert_eq!(svg, bidroom::app::record_final::qr_svg(&link).expect("render"), "the QR code carries {link}");
    assert_well_formed_svg(&svg);
    assert_eq!(decode_qr(&svg), link, "a phone reading the printed code gets the entry's link");
}

/// Reads the QR code back: the renderer draws each dark run as
/// `M{x} {y}h{w}v{h}H{x}V{y}` in one path; rasterised, `rqrr` decodes it.
fn decode_qr(svg: &str) -> String {
    let attr = |name: &str| -> usize {
        let v = svg.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next());
        v.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {name} in {svg}"))
    };
    let (w, h) = (attr("width"), attr("height"));
    let path = svg.rsplit(" d=\"").next().and_then(|r| r.split('"').next()).expect("the path");
    let mut dark = vec![false; w * h];
    for rect in path.split('M').skip(1) {
        let n: Vec<usize> =
            rect.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
        let (x, y, rw, rh) = (n[0], n[1], n[2], n[3]);
        for row in y..y + rh {
            dark[row * w + x..row * w + x + rw].fill(true);
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if dark[y * w + x] { 0 } else { 255 });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one code in the picture");
    grids[0].decode().expect("the code decodes").1
}

/// An XML document whose root is `<svg>` and whose tags nest (the renderer
/// writes no comments, CDATA or `>` inside attributes).
fn assert_well_formed_svg(svg: &str) {
    let body = svg.trim_start().strip_prefix("<?xml").map_or(svg, |r| r.split_once("?>").map_or("", |(_, b)| b));
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    for part in body.split('<').skip(1) {
        let (tag, _) = part.split_once('>').unwrap_or_else(|| panic!("unclosed tag in {svg}"));
        let name = tag.trim_start_matches('/').split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        if open.is_empty() && !tag.starts_with('/') {
            roots += 1;
            assert_eq!(name, "svg", "the root is <svg>: {svg}");
        }
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(closing.trim()), "tags nest: {svg}");
        } else if !tag.ends_with('/') {
            open.push(name.to_string());
        }
    }
    assert!(open.is_empty() && roots == 1, "one closed root: {svg}");
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
}

crate::on_both_backends!(
    a_question_is_private_until_the_host_answers_it,
    questions_are_rate_limited_per_bidder,
    the_record_qr_code_encodes_the_entry_link,
);
