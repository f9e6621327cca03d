//! Verifiable draws (issue 13, `docs/DRAWS.md`): a tender declares a K draw,
//! a method, an order and a reference-price formula; the host's commitment
//! is logged at publish, the reveal after the record logs the results once,
//! `bidroom verify` recomputes them and fails when a result, the reveal or
//! a nonce (form key) is tampered with; an unrevealed secret falls back
//! overtly (`draw.failed`), never silently.

use bidroom::domain::draw::seed::commitment;
use bidroom::domain::event::EventPayload;
use bidroom::ledger::Verifier;
use bidroom::verify::bundle::Bundle;
use bidroom::verify::log::LoggedEvent;
use bidroom::verify::{Check, Status, verify_tender};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{register, seal, submit};
use crate::common::{Draft, TestApp, events, wait_events, wait_for_state};
use crate::opening::verify;

fn secret() -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    s[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    s
}

/// The draws of DRAWS.md's example, committed to `secret`.
pub fn draw_terms(secret: &[u8; 32]) -> Value {
    json!({
        "draws": [
            { "id": "k", "label": { "zh": "下浮系数", "en": "Coefficient K" }, "type": "value",
              "values": ["0.92", "0.93", "0.94", "0.95", "0.96", "0.97", "0.98"] },
            { "id": "method", "label": { "zh": "基准价方法", "en": "Method" }, "type": "method",
              "methods": ["A", "B", "C"] },
            { "id": "order", "label": { "zh": "唱标顺序", "en": "Reading order" }, "type": "order",
              "items": ["甲", "乙", "丙", "丁"] }
        ],
        "formulas": [
            { "id": "base", "label": { "zh": "评标基准价", "en": "Reference price" }, "lot": "1",
              "field": "price", "drop_extremes_from": 4, "coefficient": { "draw": "k", "apply": "times" } }
        ],
        "commitment": hex::encode(commitment(secret))
    })
}

async fn reveal(app: &TestApp, tender: &str, secret: &str) -> (StatusCode, Value) {
    let body = json!({ "secret": secret });
    app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/draws/reveal"), Some(&body)).await
}

/// A published tender with draws and four opened bids; returns its id.
async fn opened_with_draws(app: &TestApp, secret: &[u8; 32]) -> String {
    let draft = Draft::on(app, 3).await.opening_in(4).session(json!({ "draws": draw_terms(secret) }));
    let tender = draft.published(app).await;
    let (s, v) = reveal(app, &tender, &hex::encode(secret)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("record_not_final")), "{v}");
    for (i, price) in ["1000.00", "980.50", "1010.00", "1200.00"].iter().enumerate() {
        let key = register(app, &format!("Bidder {i}")).await;
        let sealed = seal(app, &tender, &key, price, &[]).await;
        let (s, v) = submit(app, &tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    wait_for_state(app, &tender, "opened", 20).await;
    tender
}

fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["type"] == kind).collect()
}

/// The tender's events as the verifier reads them (here from the API).
fn logged(ev: &[Value]) -> Vec<LoggedEvent> {
    ev.iter()
        .map(|e| LoggedEvent {
            seq: e["seq"].as_i64().expect("seq"),
            at: crate::common::parse_time(&e["at"]),
            payload: EventPayload::from_data(e["type"].as_str().expect("type"), e["data"].clone()).expect("payload"),
            log_index: e["log_index"].as_u64().expect("log index"),
        })
        .collect()
}

fn problems_after(tender: &str, ev: &[Value], tamper: impl Fn(&mut Value)) -> Vec<String> {
    let mut ev = ev.to_vec();
    for e in &mut ev {
        tamper(e);
    }
    let id = tender.parse().expect("uuid");
    bidroom::verify::draws::recompute(id, &logged(&ev)).expect("draws declared").1
}

/// The whole path: commitment at publish, refusals, the reveal logging the
/// results once, verify passing, and verify failing on each tampering.
async fn host_reveals_and_verify_recomputes(app: TestApp) {
    let secret = secret();
    let tender = opened_with_draws(&app, &secret).await;
    let ev = events(&app, &tender).await;
    let committed = of_kind(&ev, "draw.committed");
    assert_eq!(committed.len(), 1, "{ev:?}");
    assert_eq!(committed[0]["data"]["commitment"], hex::encode(commitment(&secret)));
    let view = app.get_ok(&format!("/api/v1/tenders/{tender}/draws")).await;
    assert_eq!((view["trust"].as_str(), view["state"]["drawn_at"].is_null()), (Some("server_only"), true), "{view}");
    assert!(view["state"]["due_at"].is_string(), "{view}");

    let (s, v) = reveal(&app, &tender, &hex::encode([7u8; 32])).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("draw_secret_mismatch")), "{v}");
    let (s, v) = reveal(&app, &tender, "not hex").await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("secret")), "{v}");
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/tenders/{tender}/draws/reveal"),
            None,
            Some(&json!({"secret": hex::encode(secret)})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");

    let (s, v) = reveal(&app, &tender, &hex::encode(secret)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["state"]["drawn_at"].is_string(), "{v}");
    let (s, v) = reveal(&app, &tender, &hex::encode(secret)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("draw_done")), "{v}");

    let ev = events(&app, &tender).await;
    assert_eq!(of_kind(&ev, "draw.revealed").len(), 1);
    let results = of_kind(&ev, "draw.result");
    assert_eq!(results.len(), 1, "exactly one result");
    let r = &results[0]["data"];
    assert_eq!((r["host"].as_str(), r["nonces"].as_array().map(Vec::len)), (Some("revealed"), Some(4)), "{r}");
    // Four valid, the highest and lowest dropped: (1000.00 + 1010.00) / 2 × K.
    let k = r["draws"][0]["values"][0].as_str().expect("K");
    let units: u64 = k.replace('.', "").parse::<u64>().expect("K digits") * 100;
    let expected = 100_500 * units / 10_000;
    assert_eq!(r["prices"][0]["amount"], format!("{}.{:02}", expected / 100, expected % 100), "{r}");
    assert_eq!(r["draws"][2]["values"].as_array().map(Vec::len), Some(4), "a whole order: {r}");

    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    for check in [Check::DrawResults, Check::DrawRecordHead] {
        assert_eq!(report.result(check).expect("reported").status, Status::Passed, "{report}");
    }
    // The evidence bundle carries the record head's proofs: offline too.
    let url = app.url(&format!("/api/v1/tenders/{tender}/evidence"));
    let bytes = app.client.get(url).send().await.expect("evidence").bytes().await.expect("bundle bytes");
    let bundle = Bundle::read(&bytes).expect("bundle");
    let offline = Verifier::parse(&bundle.log_key().expect("log key")).expect("verifier key");
    let report = verify_tender(&bundle, bundle.tender, &offline, None).await;
    assert!(report.passed(), "offline: {report}");
    for check in [Check::DrawResults, Check::DrawRecordHead] {
        assert_eq!(report.result(check).expect("reported").status, Status::Passed, "offline: {report}");
    }

    assert!(problems_after(&tender, &ev, |_| {}).is_empty(), "untampered events recompute");
    let tampered_result = problems_after(&tender, &ev, |e| {
        if e["type"] == "draw.result" {
            let other = (e["data"]["draws"][1]["indices"][0].as_u64().expect("index") + 1) % 3;
            e["data"]["draws"][1]["indices"][0] = json!(other);
        }
    });
    assert!(!tampered_result.is_empty(), "a changed result is caught");
    let tampered_reveal = problems_after(&tender, &ev, |e| {
        if e["type"] == "draw.revealed" {
            e["data"]["secret"] = json!(hex::encode([9u8; 32]));
        }
    });
    assert!(tampered_reveal.iter().any(|p| p.contains("commitment")), "{tampered_reveal:?}");
    let tampered_nonce = problems_after(&tender, &ev, |e| {
        if e["type"] == "bid.opened" && e["data"]["position"] == 1 {
            e["data"]["form_key"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        }
    });
    assert!(tampered_nonce.iter().any(|p| p.contains("nonces")), "{tampered_nonce:?}");
}

/// The host never reveals: at the due time the scheduler logs `draw.failed`
/// and the fallback result; a late reveal is refused.
async fn unrevealed_secret_falls_back_overtly(app: TestApp) {
    let secret = secret();
    let tender = opened_with_draws(&app, &secret).await;
    let id: uuid::Uuid = tender.parse().expect("uuid");
    // Stand in for the minutes passing: move the stored due time to now
    // (the store keeps `session_due` from the document on every write).
    app.store
        .update_tender(
            id,
            "test",
            "draws.due",
            Box::new(|t, c| {
                if let Some(s) = t.draw_state.as_mut() {
                    s.due_at = c.now;
                }
                Ok(vec![])
            }),
        )
        .await
        .expect("due now");
    let ev = wait_events(&app, &tender, "the fallback", |ev| ev.iter().any(|e| e["type"] == "draw.result")).await;
    let failed = of_kind(&ev, "draw.failed");
    assert_eq!(failed.len(), 1, "{ev:?}");
    let result = of_kind(&ev, "draw.result");
    assert_eq!((result.len(), result[0]["data"]["host"].as_str()), (1, Some("fallback")));
    assert!(failed[0]["seq"].as_i64() < result[0]["seq"].as_i64(), "the failure is logged first");
    let (s, v) = reveal(&app, &tender, &hex::encode(secret)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("draw_done")), "{v}");
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.result(Check::DrawResults).expect("reported").status, Status::Passed);
}

/// Draws are validated in the draft and fixed at publish.
async fn draws_are_validated_and_fixed(app: TestApp) {
    let mut bad = draw_terms(&secret());
    bad["formulas"][0]["coefficient"]["draw"] = json!("method");
    let draft = Draft::on(&app, 3600).await.session(json!({ "draws": bad })).json();
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("session.draws.formulas[0].coefficient.draw")),
        "{v}"
    );
    let tender = Draft::on(&app, 3600).await.session(json!({ "draws": draw_terms(&secret()) })).published(&app).await;
    let published = app.get_ok(&format!("/api/v1/tenders/{tender}")).await;
    let mut terms = published["session"].clone();
    assert_eq!(terms["draws"]["draws"][0]["id"], "k", "shown to viewers: {published}");
    terms["draws"]["reveal_minutes"] = json!(60);
    let body = json!({ "session": terms, "reason": "more time" });
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/amend"), Some(&body)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("session.draws")), "{v}");
}

/// The room's sentence on who could bias a draw follows the tender's own
/// custody policy: the server alone, people custodians, or bidder-held.
async fn trust_follows_the_custody_policy(app: TestApp) {
    crate::support::bids::custodian(&app, "notary", "Notary Office").await;
    let cases = [
        (json!({"threshold": 1, "custodians": ["server"]}), "server_only"),
        (json!({"threshold": 1, "custodians": ["server", "notary"]}), "server_only"),
        (json!({"threshold": 2, "custodians": ["server", "notary"]}), "custodians"),
        (json!({"threshold": 2, "custodians": ["server", "bidder"]}), "bidder_held"),
    ];
    for (custody, want) in cases {
        let draft =
            Draft::on(&app, 3600).await.custody(custody.clone()).session(json!({ "draws": draw_terms(&secret()) }));
        let tender = draft.published(&app).await;
        let view = app.get_ok(&format!("/api/v1/tenders/{tender}/draws")).await;
        assert_eq!(view["trust"], want, "{custody}: {view}");
    }
}

crate::on_both_backends!(
    host_reveals_and_verify_recomputes,
    unrevealed_secret_falls_back_overtly,
    draws_are_validated_and_fixed,
    trust_follows_the_custody_policy,
);
