//! Per-bid release coverage (issue 18, point 8): each `custodian.released`
//! lists the bids it covers (a bitmap over the bids standing at the close,
//! in order of receipt), and `bidroom verify` checks the blame of every
//! unopened bid against it bid by bid. Honest openings with partial
//! releases pass; a log that drops a bid from a release's coverage, or
//! names a custodian that did release as not having released, fails.

use std::path::Path;

use bidroom::cli::custodian;
use bidroom::client::{Client, Event, ReleaseShare};
use bidroom::domain::event::Coverage;
use bidroom::ledger::Verifier;
use bidroom::seal::{ChallengePurpose, Envelope, b64, open_share, unb64};
use bidroom::verify::source::Source;
use bidroom::verify::{Check, Report, Status, verify_tender};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Draft, TestApp, events, wait_events, wait_for_state};
use crate::support::scratch::Scratch;
use crate::support::source::Altered;

async fn verify(app: &TestApp, source: &dyn Source, tender: &str) -> Report {
    let client = Client::new(&app.base).expect("client");
    let verifier = Verifier::parse(&client.log_key().await.expect("log key")).expect("verifier key");
    verify_tender(source, tender.parse().expect("uuid"), &verifier, None).await
}

/// The coverage as the event logs it, decoded to positions.
fn covered(e: &Value) -> Vec<u64> {
    let c: Coverage = serde_json::from_value(e["data"]["covers"].clone()).expect("the release lists its bids");
    c.positions().expect("canonical coverage")
}

/// The `custodian.released` events of `custodian`.
fn releases_of<'a>(all: &'a [Value], custodian: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["type"] == "custodian.released" && e["data"]["custodian"] == custodian).collect()
}

/// `custodian` (key file `key`, token `token`, share index `index`)
/// releases its shares of the bids `bids` only, through the API.
async fn release_some(app: &TestApp, s: &Scratch, tender: &str, who: (&str, &Path, &str, u8), bids: &[Uuid]) {
    let (id, key, token, index) = who;
    let key = custodian::unlock_custodian(&s.key_args(key)).await.expect("unlock");
    let client = Client::new(&app.base).expect("client");
    let tender_id: Uuid = tender.parse().expect("uuid");
    let served = client.envelopes(tender_id).await.expect("envelopes");
    let shares = served
        .iter()
        .filter(|b| bids.contains(&b.bid_id))
        .map(|b| {
            let envelope = Envelope::parse(&unb64(&b.envelope).expect("b64")).expect("envelope");
            let share = open_share(&envelope, index, &key).expect("share").to_bytes();
            ReleaseShare { bid_id: b.bid_id, share: b64(share.as_ref()) }
        })
        .collect();
    let proof = client.prove_custodian(id, &key, ChallengePurpose::Release, Some(tender_id)).await.expect("proof");
    let result = client.release(tender_id, token, &proof, shares).await.expect("release");
    assert_eq!(result.accepted, bids.len(), "{id}");
}

fn edit_release(custodian: &'static str, positions: &'static [u64]) -> impl Fn(&mut Vec<Event>) + Send + Sync {
    move |events| {
        for e in events.iter_mut().filter(|e| e.kind == "custodian.released" && e.data["custodian"] == custodian) {
            let covers = Coverage::of(positions.iter().copied()).expect("coverage").expect("some");
            e.data["covers"] = serde_json::to_value(covers).expect("json");
            e.data["shares"] = json!(positions.len());
        }
    }
}

fn passed_with_coverage(report: &Report) {
    assert!(report.passed(), "{report}");
    let line = report.result(Check::ReleaseCoverage).expect("coverage check");
    assert_eq!(line.status, Status::Passed, "{report}");
    assert!(line.summary.contains("each listing the bids it covers"), "{report}");
}

/// 2 of 3 (server, alice, bob): alice releases for the first bid only,
/// bob for all; every bid opens. Each release lists exactly its bids.
async fn partial_releases_list_their_bids_and_verify(app: TestApp) {
    let s = Scratch::new();
    let (alice, alice_token) = s.custodian(&app, "alice").await;
    let (bob, bob_token) = s.custodian(&app, "bob").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice", "bob"], "release_window_minutes": 10});
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    let mut bids = Vec::new();
    for name in ["One", "Two", "Three"] {
        let key = s.bidder(&app, name).await;
        bids.push(s.seal(&app, &tender, &key, "10.00", name).await.expect("seal").bid_id);
    }
    wait_for_state(&app, &tender, "opening", 20).await;
    release_some(&app, &s, &tender, ("alice", &alice, &alice_token, 2), &bids[..1]).await;
    // Nothing is read out (唱标) before every bid has k shares or the window
    // is over, so bob's release covers all three.
    let released = custodian::release(s.release_args(&app, &tender, &bob, &bob_token)).await.expect("bob");
    assert_eq!(released.result.expect("released").accepted, 3);
    wait_for_state(&app, &tender, "opened", 30).await;

    let all = events(&app, &tender).await;
    let coverage: Vec<(&str, Vec<u64>)> = ["server", "alice", "bob"]
        .iter()
        .map(|c| {
            let r = releases_of(&all, c);
            assert_eq!(r.len(), 1, "{c}: {all:?}");
            (*c, covered(r[0]))
        })
        .collect();
    assert_eq!(coverage, [("server", vec![0, 1, 2]), ("alice", vec![0]), ("bob", vec![0, 1, 2])]);
    // The documented bytes: from the first covered bid, most significant bit first.
    assert_eq!(releases_of(&all, "alice")[0]["data"]["covers"], json!({"from": 0, "bits": "gA"}));
    assert_eq!(releases_of(&all, "bob")[0]["data"]["covers"], json!({"from": 0, "bits": "4A"}));
    passed_with_coverage(&verify(&app, &Altered::new(&app.base), &tender).await);

    // A log whose bob release leaves out the second bid: it then opened
    // with the server's share alone.
    let mut dropped = Altered::new(&app.base);
    dropped.events = Some(Box::new(edit_release("bob", &[0, 2])));
    let report = verify(&app, &dropped, &tender).await;
    assert!(report.failed().contains(&Check::ReleaseCoverage), "{report}");
    let line = report.result(Check::ReleaseCoverage).expect("coverage check");
    assert!(line.problems.iter().any(|p| p.contains("opened with 1 good shares")), "{report}");
}

/// 2 of 2 (server, notary): the notary releases for the first bid only,
/// so the second stays unopened when the one-minute window ends, naming
/// the notary. Verify passes; a log naming the server too, or leaving the
/// second bid out of the server's release, fails the blame.
async fn unopened_blame_is_checked_bid_by_bid(app: TestApp) {
    let s = Scratch::new();
    let (notary, token) = s.custodian(&app, "notary").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    let mut bids = Vec::new();
    for name in ["One", "Two"] {
        let key = s.bidder(&app, name).await;
        bids.push(s.seal(&app, &tender, &key, "10.00", name).await.expect("seal").bid_id);
    }
    wait_for_state(&app, &tender, "opening", 20).await;
    wait_events(&app, &tender, "the server's release", |ev| !releases_of(ev, "server").is_empty()).await;
    release_some(&app, &s, &tender, ("notary", &notary, &token, 2), &bids[..1]).await;
    wait_for_state(&app, &tender, "opened", 120).await;

    let all = events(&app, &tender).await;
    let unopened: Vec<&Value> = all.iter().filter(|e| e["type"] == "bid.unopened").collect();
    assert_eq!(unopened.len(), 1, "{all:?}");
    assert_eq!(unopened[0]["data"]["bid_id"], json!(bids[1].to_string()));
    assert_eq!(unopened[0]["data"]["not_released_by"], json!(["notary"]));
    assert_eq!(covered(releases_of(&all, "notary")[0]), [0]);
    assert_eq!(covered(releases_of(&all, "server")[0]), [0, 1]);
    let report = verify(&app, &Altered::new(&app.base), &tender).await;
    passed_with_coverage(&report);
    let line = report.result(Check::UnopenedBlame).expect("blame check");
    assert_eq!((line.status, line.summary.as_str()), (Status::Passed, "1 unopened bids checked against the releases"));

    // The server did release this bid's share: naming it is a lie the
    // release counts alone could not show.
    let mut blamed = Altered::new(&app.base);
    blamed.events = Some(Box::new(|events: &mut Vec<Event>| {
        for e in events.iter_mut().filter(|e| e.kind == "bid.unopened") {
            e.data["not_released_by"] = json!(["server", "notary"]);
        }
    }));
    let report = verify(&app, &blamed, &tender).await;
    assert!(report.failed().contains(&Check::UnopenedBlame), "{report}");
    let line = report.result(Check::UnopenedBlame).expect("blame check");
    assert!(line.problems.iter().any(|p| p.contains("names \"server\" as not having released")), "{report}");
    // A server release that does not cover the unopened bid, while the
    // record does not name the server.
    let mut dropped = Altered::new(&app.base);
    dropped.events = Some(Box::new(edit_release("server", &[0])));
    let report = verify(&app, &dropped, &tender).await;
    assert!(report.failed().contains(&Check::UnopenedBlame), "{report}");
    let line = report.result(Check::UnopenedBlame).expect("blame check");
    assert!(line.problems.iter().any(|p| p.contains("\"server\" released no share of this bid")), "{report}");
}

crate::on_both_backends!(partial_releases_list_their_bids_and_verify, unopened_blame_is_checked_bid_by_bid);
