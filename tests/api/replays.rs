//! Envelopes sent again: only within their own tender (`422 wrong_tender`
//! elsewhere), their receipt while their bid stands, and `409
//! bid_withdrawn` / `bid_replaced` with the receipt of what ended it once
//! it does not — on the one-request and the resumable path.

use bidroom::ledger::Receipt;
use bidroom::seal::{BidderKey, b64, withdraw_message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{Sealed, register, seal, submit, verifier};
use crate::common::{TestApp, published_tender, wait_for_state};

async fn open(app: &TestApp, tender: &str, s: &Sealed) -> (StatusCode, Value) {
    let b = json!({"envelope": b64(&s.envelope), "signature": b64(&s.signature)});
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads"), None, Some(&b)).await
}

async fn commit(app: &TestApp, tender: &str, upload: &str) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads/{upload}/commit"), None, None).await
}

/// Opens a session, sends every part whole and commits; returns the upload id and the answer.
async fn upload(app: &TestApp, tender: &str, s: &Sealed) -> (String, StatusCode, Value) {
    let (st, v) = open(app, tender, s).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["upload_id"].as_str().expect("upload id").to_string();
    let mut parts = vec![s.form.clone()];
    parts.extend(s.documents.iter().cloned());
    for (n, bytes) in parts.iter().enumerate() {
        let resp = app
            .client
            .patch(app.url(&format!("/api/v1/tenders/{tender}/uploads/{id}/parts/{n}")))
            .header("upload-offset", 0)
            .header("content-type", "application/offset+octet-stream")
            .body(bytes.clone())
            .send()
            .await
            .expect("patch");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let (st, v) = commit(app, tender, &id).await;
    (id, st, v)
}

async fn withdraw(app: &TestApp, tender: &str, key: &BidderKey, s: &Sealed) -> Value {
    let sig = key.sign(&withdraw_message(tender.parse().expect("uuid"), s.bid_id)).expect("sign");
    let path = format!("/api/v1/tenders/{tender}/bids/{}/withdraw", s.bid_id);
    let (st, v) = app.call(Method::POST, &path, None, Some(&json!({"signature": b64(&sig)}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

/// Checks a `409` ended answer: its code, the bid, and that `ended_by` is
/// exactly `by` (the answer of the withdrawal or of the replacing bid),
/// with a receipt that verifies.
async fn assert_ended(app: &TestApp, (st, v): (StatusCode, Value), code: &str, bid: &Sealed, by: &Value) {
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some(code)), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["bid_id"], bid.bid_id.to_string());
    assert_eq!(v["ended_by"], *by, "ended_by is the answer of what ended the bid");
    let receipt: Receipt = serde_json::from_value(v["ended_by"]["receipt"].clone()).expect("receipt");
    receipt.verify(&verifier(app).await).expect("the receipt in the answer verifies");
}

async fn an_envelope_for_another_tender_is_refused(app: TestApp) {
    let a = published_tender(&app, 3600).await;
    let c = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let sealed = seal(&app, &a, &key, "100.00", &[b"offer"]).await;
    let (s, v) = submit(&app, &a, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, w) = submit(&app, &c, &sealed).await;
    assert_eq!((s, w["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_tender")), "{w}");
    let (s, w) = open(&app, &c, &sealed).await;
    assert_eq!((s, w["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_tender")), "{w}");
    // Not yet received anywhere: refused under another tender all the same.
    let fresh = seal(&app, &a, &key, "90.00", &[]).await;
    let (s, w) = open(&app, &c, &fresh).await;
    assert_eq!((s, w["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_tender")), "{w}");
    let (_, ev) = app.get(&format!("/api/v1/tenders/{c}/events")).await;
    assert_eq!(ev["last_seq"], 1, "nothing was logged under the other tender");
    // Under its own tender it is still the same receipt.
    let (s, again) = submit(&app, &a, &sealed).await;
    assert_eq!((s, &again["receipt"]), (StatusCode::OK, &v["receipt"]));
}

async fn a_withdrawn_bid_sent_again_is_answered_withdrawn(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let one = seal(&app, &tender, &key, "100.00", &[b"offer"]).await;
    assert_eq!(submit(&app, &tender, &one).await.0, StatusCode::CREATED);
    let withdrawal = withdraw(&app, &tender, &key, &one).await;
    assert_ended(&app, submit(&app, &tender, &one).await, "bid_withdrawn", &one, &withdrawal).await;
    assert_ended(&app, open(&app, &tender, &one).await, "bid_withdrawn", &one, &withdrawal).await;

    // The resumable path: committed, withdrawn, committed again.
    let two = seal(&app, &tender, &key, "95.00", &[b"offer 2"]).await;
    let (id, s, v) = upload(&app, &tender, &two).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let withdrawal = withdraw(&app, &tender, &key, &two).await;
    assert_ended(&app, commit(&app, &tender, &id).await, "bid_withdrawn", &two, &withdrawal).await;
    assert_ended(&app, open(&app, &tender, &two).await, "bid_withdrawn", &two, &withdrawal).await;
    assert_ended(&app, submit(&app, &tender, &two).await, "bid_withdrawn", &two, &withdrawal).await;
}

async fn a_replaced_bid_sent_again_is_answered_replaced(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let first = seal(&app, &tender, &key, "100.00", &[b"offer"]).await;
    assert_eq!(submit(&app, &tender, &first).await.0, StatusCode::CREATED);
    let second = seal(&app, &tender, &key, "90.00", &[]).await;
    let (s, by_second) = submit(&app, &tender, &second).await;
    assert_eq!(s, StatusCode::CREATED, "{by_second}");
    assert_ended(&app, submit(&app, &tender, &first).await, "bid_replaced", &first, &by_second).await;
    assert_ended(&app, open(&app, &tender, &first).await, "bid_replaced", &first, &by_second).await;

    // The resumable path: a committed session whose bid is replaced later.
    let third = seal(&app, &tender, &key, "80.00", &[b"offer 3"]).await;
    let (id, s, v) = upload(&app, &tender, &third).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fourth = seal(&app, &tender, &key, "70.00", &[]).await;
    let (s, by_fourth) = submit(&app, &tender, &fourth).await;
    assert_eq!(s, StatusCode::CREATED, "{by_fourth}");
    assert_ended(&app, commit(&app, &tender, &id).await, "bid_replaced", &third, &by_fourth).await;
    assert_ended(&app, open(&app, &tender, &third).await, "bid_replaced", &third, &by_fourth).await;
    // The second was replaced by the third (its direct successor).
    let (_, by_third) = commit(&app, &tender, &id).await;
    assert_eq!(by_third["code"], "bid_replaced");
    let (s, v) = submit(&app, &tender, &second).await;
    assert_eq!((s, v["ended_by"]["bid_id"].as_str()), (StatusCode::CONFLICT, Some(third.bid_id.to_string().as_str())));
    // The standing bid is still answered with its receipt.
    let (s, again) = submit(&app, &tender, &fourth).await;
    assert_eq!((s, &again["receipt"]), (StatusCode::OK, &by_fourth["receipt"]));
}

async fn a_standing_bid_sent_again_gets_its_receipt_also_after_the_deadline(app: TestApp) {
    let tender = published_tender(&app, 4).await;
    let key = register(&app, "Acme").await;
    let one = seal(&app, &tender, &key, "100.00", &[b"offer"]).await;
    let (s, by_one) = submit(&app, &tender, &one).await;
    assert_eq!(s, StatusCode::CREATED, "{by_one}");
    let other = register(&app, "Beta").await;
    let two = seal(&app, &tender, &other, "90.00", &[b"offer"]).await;
    let (id, s, by_two) = upload(&app, &tender, &two).await;
    assert_eq!(s, StatusCode::CREATED, "{by_two}");
    for _ in 0..2 {
        let (s, again) = submit(&app, &tender, &one).await;
        assert_eq!((s, &again), (StatusCode::OK, &by_one));
        let (s, v) = open(&app, &tender, &two).await;
        assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("committed")), "{v}");
        let (s, again) = commit(&app, &tender, &id).await;
        assert_eq!((s, &again), (StatusCode::OK, &by_two));
        wait_for_state(&app, &tender, "closed", 15).await;
    }
}

crate::on_both_backends!(
    an_envelope_for_another_tender_is_refused,
    a_withdrawn_bid_sent_again_is_answered_withdrawn,
    a_replaced_bid_sent_again_is_answered_replaced,
    a_standing_bid_sent_again_gets_its_receipt_also_after_the_deadline,
);
