//! A tender whose lots do not all reach the minimum of bidders (部分标段流标):
//! the failed lot stays sealed (no share released for it, no outcome, no
//! envelope served), the other lot opens as usual, and `bidroom verify`
//! passes on the whole, and fails when a failed lot's envelope is served.

use bidroom::client::PublicBid;
use bidroom::ledger::Verifier;
use bidroom::seal::b64;
use bidroom::verify::{Check, verify_tender};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{register, submit};
use crate::common::{Draft, TestApp, events, wait_for_state};
use crate::opening::verify;
use crate::support::bids::{Sealed, seal_for_lot};
use crate::support::source::Altered;

fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["type"] == kind).collect()
}

/// Two lots with the builder's fields; a minimum of two bidders per lot.
async fn two_lot_tender(app: &TestApp) -> String {
    let mut draft = Draft::on(app, 3).await.opening_in(4).session(json!({"min_bids": 2})).json();
    let mut south = draft["lots"][0].clone();
    south["id"] = json!("2");
    south["title"] = json!("South district");
    draft["lots"].as_array_mut().expect("lots").push(south);
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn bid(app: &TestApp, tender: &str, name: &str, lot: &str, price: &str) -> Sealed {
    let key = register(app, name).await;
    let sealed = seal_for_lot(app, tender, &key, lot, &json!({"price": price, "days": 90}), &[]).await;
    let (s, v) = submit(app, tender, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    sealed
}

async fn one_lot_fails_the_other_opens(app: TestApp) {
    let tender = two_lot_tender(&app).await;
    let north = [bid(&app, &tender, "甲公司", "1", "100.00").await, bid(&app, &tender, "乙公司", "1", "98.50").await];
    let north = north.map(|s| s.bid_id.to_string());
    let sealed_south = bid(&app, &tender, "丙公司", "2", "77.00").await;
    let south = sealed_south.bid_id.to_string();
    wait_for_state(&app, &tender, "opened", 30).await;

    let ev = events(&app, &tender).await;
    let failed = of_kind(&ev, "tender.failed");
    assert_eq!(failed.len(), 1, "{ev:?}");
    let d = &failed[0]["data"];
    assert_eq!((d["lots"].clone(), d["whole"].clone()), (json!([{"lot": "2", "bidders": 1}]), json!(false)), "{d}");
    let opened: Vec<&str> =
        of_kind(&ev, "bid.opened").iter().map(|e| e["data"]["bid_id"].as_str().expect("id")).collect();
    let mut want: Vec<&str> = north.iter().map(String::as_str).collect();
    let mut got = opened.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "lot 1's bids open, and nothing else");
    for kind in ["bid.opened", "bid.rejected", "bid.unopened"] {
        assert!(
            of_kind(&ev, kind).iter().all(|e| e["data"]["bid_id"] != json!(south)),
            "{kind} for the failed lot's bid: {ev:?}"
        );
    }

    // The failed lot's envelope is never served; lot 1's are.
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let served = v.to_string();
    assert!(!served.contains(&south), "the failed lot's envelope is public: {v}");
    assert!(north.iter().all(|b| served.contains(b.as_str())), "{v}");

    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");

    // Served anyway, the failed lot's envelope is named as a leak.
    let envelope_hash = hex::encode(bidroom::ledger::hash::sha256(&sealed_south.envelope));
    let extra = PublicBid {
        bid_id: sealed_south.bid_id,
        envelope_hash,
        envelope: b64(&sealed_south.envelope),
        signature: b64(&sealed_south.signature),
        form: b64(&sealed_south.form),
        log_index: 0,
    };
    let mut leaky = Altered::new(&app.base);
    leaky.envelopes = Some(Box::new(move |served| served.push(extra.clone())));
    let verifier = Verifier::parse(&leaky.client.log_key().await.expect("log key")).expect("verifier key");
    let report = verify_tender(&leaky, tender.parse().expect("uuid"), &verifier, None).await;
    assert!(report.failed().contains(&Check::CloseRootFromEnvelopes), "{report}");
    assert!(report.to_string().contains("which failed for too few bidders, but its envelope is served"), "{report}");
}

crate::on_both_backends!(one_lot_fails_the_other_opens);
