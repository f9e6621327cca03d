//! Blame the public can check (issue 18, point 8): a bidder that seals a
//! share off its own polynomial (with a valid commitment) has its bid
//! rejected by its own fault; once the record is final the released shares
//! of that bid are public, each matching its commitment and no k of them
//! rebuilding the key, and `bidroom verify` checks exactly that. An opened
//! bid's shares are never served.

use bidroom::cli::custodian;
use bidroom::client::Client;
use bidroom::domain::event::REASON_INCONSISTENT_SHARES;
use bidroom::ledger::Verifier;
use bidroom::seal::{BidKey, BidderKey, Envelope, seal_to, share_aad, share_commitment, share_info, split};
use bidroom::verify::source::Source;
use bidroom::verify::{Check, Report, Status, verify_tender};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bids::{register, seal, submit};
use crate::common::{Draft, TestApp, events, wait_for_state};
use crate::support::bids::Sealed;
use crate::support::scratch::Scratch;
use crate::support::source::Altered;

async fn verify(app: &TestApp, source: &dyn Source, tender: &str) -> Report {
    let client = Client::new(&app.base).expect("client");
    let verifier = Verifier::parse(&client.log_key().await.expect("log key")).expect("verifier key");
    verify_tender(source, tender.parse().expect("uuid"), &verifier, None).await
}

/// Replaces the share sealed to custodian `index` by one of another
/// polynomial, with a matching commitment, and signs the envelope again:
/// every share checks out on its own, the set does not rebuild K.
fn cheat(sealed: &mut Sealed, key: &BidderKey, index: u8) {
    let mut env = Envelope::parse(&sealed.envelope).expect("envelope");
    let rogue = split(&BidKey::generate().expect("key"), env.custody.threshold, env.custody.custodians.len() as u8)
        .expect("split");
    let rogue = rogue.into_iter().find(|s| s.x == index).expect("rogue share");
    let b = env.binding();
    let pk = env.custody.custodians.iter().find(|c| c.index == index).and_then(|c| c.public_key).expect("pk");
    let (enc, ct) = seal_to(&pk, &share_info(&b, index), &share_aad(&pk), rogue.to_bytes().as_ref()).expect("seal");
    let slot = env.shares.iter_mut().find(|s| s.index == index).expect("slot");
    slot.enc = enc.to_vec();
    slot.ct = ct;
    slot.commitment = share_commitment(&b, index, &rogue.to_bytes());
    sealed.envelope = serde_json::to_vec(&env).expect("encode");
    sealed.signature = key.sign(&sealed.envelope).expect("sign").to_vec();
}

async fn shares(app: &TestApp, tender: &str, bid: impl std::fmt::Display) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/tenders/{tender}/bids/{bid}/shares")).await
}

async fn inconsistent_shares_are_published_and_verified(app: TestApp) {
    let s = Scratch::new();
    let (notary, token) = s.custodian(&app, "notary").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    let honest_key = register(&app, "甲公司").await;
    let honest = seal(&app, &tender, &honest_key, "100.00", &[]).await;
    let cheat_key = register(&app, "乙公司").await;
    let mut cheating = seal(&app, &tender, &cheat_key, "90.00", &[]).await;
    cheat(&mut cheating, &cheat_key, 2);
    for b in [&honest, &cheating] {
        let (st, v) = submit(&app, &tender, b).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = shares(&app, &tender, cheating.bid_id).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("record_not_final")), "{v}");

    wait_for_state(&app, &tender, "opening", 20).await;
    custodian::release(s.release_args(&app, &tender, &notary, &token)).await.expect("notary releases");
    wait_for_state(&app, &tender, "opened", 30).await;
    let ev = events(&app, &tender).await;
    let rejected: Vec<&Value> = ev.iter().filter(|e| e["type"] == "bid.rejected").collect();
    assert_eq!(rejected.len(), 1, "{ev:?}");
    assert_eq!(rejected[0]["data"]["bid_id"], json!(cheating.bid_id.to_string()));
    assert_eq!(rejected[0]["data"]["reason"], json!(REASON_INCONSISTENT_SHARES));
    assert_eq!(rejected[0]["data"]["blame"], json!("bidder"));

    let (st, v) = shares(&app, &tender, cheating.bid_id).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let served: Vec<(u64, &str)> = v["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .map(|s| (s["index"].as_u64().expect("index"), s["custodian"].as_str().expect("custodian")))
        .collect();
    assert_eq!(served, [(1, "server"), (2, "notary")]);
    let (st, v) = shares(&app, &tender, honest.bid_id).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("shares_not_public")), "an opened bid: {v}");
    let (st, v) = shares(&app, &tender, uuid::Uuid::new_v4()).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    let honest_source = Altered::new(&app.base);
    let report = verify(&app, &honest_source, &tender).await;
    assert!(report.passed(), "{report}");
    let line = report.results.iter().find(|r| r.check == Check::FaultShares).expect("fault shares check");
    assert_eq!(line.status, Status::Passed, "{report}");
    assert!(line.summary.starts_with("1 bids"), "{report}");

    // A server that drops a share, or serves one that is not the released
    // one, no longer proves the blame.
    let mut dropped = Altered::new(&app.base);
    dropped.fault_shares = Some(Box::new(|s| {
        s.shares.pop();
    }));
    let report = verify(&app, &dropped, &tender).await;
    assert!(report.failed().contains(&Check::FaultShares), "{report}");
    let mut swapped = Altered::new(&app.base);
    swapped.fault_shares = Some(Box::new(|s| {
        let (a, b) = (s.shares[0].share.clone(), s.shares[1].share.clone());
        s.shares[0].share = b;
        s.shares[1].share = a;
    }));
    let report = verify(&app, &swapped, &tender).await;
    assert!(report.failed().contains(&Check::FaultShares), "{report}");
}

crate::on_both_backends!(inconsistent_shares_are_published_and_verified);
