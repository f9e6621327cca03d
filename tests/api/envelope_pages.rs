//! The envelopes a page at a time (`/envelopes/page`) and custodian
//! releases of many pages, each naming only its own bids (issue 17).

use bidroom::app::opening::CHECK_BATCH;
use bidroom::client::{Client, ReleaseShare};
use bidroom::seal::{ChallengePurpose, CustodianSecretKey, Envelope, b64, open_share, unb64};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Draft, TestApp, events, rfc3339, server_now, wait_for_state};
use crate::opening::verify;
use crate::support::bids::{custodian, register, seal, submit};

/// Bids in the tender: three pages of five, the last one short.
const BIDS: usize = 12;

/// A 2-of-3 tender (server, alice, bob) with [`BIDS`] bids, under opening.
async fn opening_with_bids(app: &TestApp) -> (String, CustodianSecretKey, String) {
    opening_with(app, BIDS).await
}

/// A 2-of-3 tender (server, alice, bob) with `n` bids, under opening: the
/// deadline is far until every bid is in, then moved to two seconds on.
async fn opening_with(app: &TestApp, n: usize) -> (String, CustodianSecretKey, String) {
    let alice = CustodianSecretKey::generate().expect("key");
    let body = json!({"id": "alice", "name": "Alice", "public_key": b64(alice.public_key().as_bytes())});
    let (s, v) = app.admin(reqwest::Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["release_token"].as_str().expect("token").to_owned();
    custodian(app, "bob", "Bob").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice", "bob"], "release_window_minutes": 10});
    let tender = Draft::on(app, 3600).await.opening_in(3601).custody(custody).published(app).await;
    for i in 0..n {
        let key = register(app, &format!("Bidder {i}")).await;
        let sealed = seal(app, &tender, &key, &format!("{}.00", 100 + i), &[]).await;
        let (s, v) = submit(app, &tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let now = server_now(app).await;
    let amend = json!({
        "deadline": rfc3339(now + time::Duration::seconds(2)),
        "opening_at": rfc3339(now + time::Duration::seconds(3)),
        "reason": "every bid is in",
    });
    let (s, v) = app.admin(reqwest::Method::POST, &format!("/api/v1/tenders/{tender}/amend"), Some(&amend)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_for_state(app, &tender, "opening", 20).await;
    (tender, alice, token)
}

/// Every page of `limit`, following `next`; the pages' sizes.
async fn all_pages(app: &TestApp, tender: &str, limit: usize) -> (Vec<Value>, Vec<usize>) {
    let (mut bids, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/envelopes/page?limit={limit}{q}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let page = v["bids"].as_array().expect("bids").clone();
        sizes.push(page.len());
        bids.extend(page);
        match v.get("next").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (bids, sizes),
        }
    }
}

async fn envelopes_come_in_pages_and_bad_cursors_are_refused(app: TestApp) {
    let before = Draft::on(&app, 3600).await.published(&app).await;
    let (s, v) = app.get(&format!("/api/v1/tenders/{before}/envelopes/page")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_opened_yet")), "{v}");

    let (tender, _, _) = opening_with_bids(&app).await;
    let (paged, sizes) = all_pages(&app, &tender, 5).await;
    assert_eq!(sizes, [5, 5, 2]);
    // The same bids, in the same order, as the whole list.
    let (s, whole) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    assert_eq!(s, StatusCode::OK, "{whole}");
    assert_eq!(&paged, whole.as_array().expect("array"));
    // A page exactly as long as what is left still names a next page, which is empty.
    let (_, sizes) = all_pages(&app, &tender, 6).await;
    assert_eq!(sizes, [6, 6, 0]);
    let (_, sizes) = all_pages(&app, &tender, 1000).await;
    assert_eq!(sizes, [BIDS]);

    let url = |q: &str| format!("/api/v1/tenders/{tender}/envelopes/page?{q}");
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-3", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-1", "cursor"),
        ("cursor=", "cursor"),
    ] {
        let (s, v) = app.get(&url(q)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert_eq!((v["code"].as_str(), v["field"].as_str()), (Some("invalid_field"), Some(field)), "{q}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{q}: {v}");
    }
    let (s, v) = app.get(&url("after=3")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{v}");
    let (s, v) = app.get(&format!("/api/v1/tenders/{}/envelopes/page", Uuid::new_v4())).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");
}

async fn a_release_in_many_pages_opens_every_bid(app: TestApp) {
    let (tender, alice, token) = opening_with_bids(&app).await;
    let tender_id: Uuid = tender.parse().expect("uuid");
    let client = Client::new(&app.base).expect("client");
    // Alice reads a page of envelopes and releases that page's shares, page
    // after page, as a custodian with bounded memory does.
    let (mut cursor, mut accepted, mut first) = (None::<String>, Vec::new(), None::<ReleaseShare>);
    loop {
        let page = client.envelope_page(tender_id, cursor.as_deref(), Some(5)).await.expect("page");
        let mut shares: Vec<ReleaseShare> = page
            .bids
            .iter()
            .map(|b| {
                let envelope = Envelope::parse(&unb64(&b.envelope).expect("b64")).expect("envelope");
                let share = open_share(&envelope, 2, &alice).expect("share");
                ReleaseShare { bid_id: b.bid_id, share: b64(share.to_bytes().as_ref()) }
            })
            .collect();
        if shares.is_empty() {
            break;
        }
        // The second page also names a share released before and a bid of
        // no tender: both are ignored, and counted.
        let repeats = match &first {
            None => {
                first = Some(shares[0].clone());
                0
            }
            Some(f) => {
                shares.push(f.clone());
                shares.push(ReleaseShare { bid_id: Uuid::new_v4(), share: f.share.clone() });
                2
            }
        };
        let proof = client.prove_custodian("alice", &alice, ChallengePurpose::Release, Some(tender_id)).await;
        let result = client.release(tender_id, &token, &proof.expect("proof"), shares).await.expect("release");
        assert!(result.bad.is_empty(), "{:?}", result.bad);
        assert_eq!(result.duplicates, repeats);
        accepted.push(result.accepted);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(accepted, [5, 5, 2]);
    wait_for_state(&app, &tender, "opened", 30).await;
    let (s, record) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!(s, StatusCode::OK, "{record}");
    let rows = record["rows"].as_array().expect("rows");
    assert_eq!(rows.iter().filter(|r| r["status"] == "opened").count(), BIDS, "{record}");
    assert_eq!(record["pending"], 0);
    let released: Vec<u64> = events(&app, &tender)
        .await
        .iter()
        .filter(|e| e["type"] == "custodian.released" && e["data"]["custodian"] == "alice")
        .map(|e| e["data"]["shares"].as_u64().expect("shares"))
        .collect();
    assert_eq!(released, [5, 5, 2]);
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
}

/// One release of more shares than the server checks at a time: the bad
/// shares of the first and of the last batch are named, and only they.
async fn a_release_checked_in_batches_names_exactly_the_bad_shares(app: TestApp) {
    let n = CHECK_BATCH + 2;
    let (tender, alice, token) = opening_with(&app, n).await;
    let tender_id: Uuid = tender.parse().expect("uuid");
    let client = Client::new(&app.base).expect("client");
    let served = client.envelopes(tender_id).await.expect("envelopes");
    assert_eq!(served.len(), n);
    let (first, last) = (1, n - 1);
    let shares: Vec<ReleaseShare> = served
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let envelope = Envelope::parse(&unb64(&b.envelope).expect("b64")).expect("envelope");
            let mut share = open_share(&envelope, 2, &alice).expect("share").to_bytes().to_vec();
            if i == first || i == last {
                share[32] ^= 1;
            }
            ReleaseShare { bid_id: b.bid_id, share: b64(&share) }
        })
        .collect();
    let proof = client.prove_custodian("alice", &alice, ChallengePurpose::Release, Some(tender_id)).await;
    let result = client.release(tender_id, &token, &proof.expect("proof"), shares).await.expect("release");
    let expected = vec![served[first].envelope_hash.clone(), served[last].envelope_hash.clone()];
    assert_eq!((result.accepted, result.bad, result.duplicates), (n - 2, expected, 0));
}

crate::on_both_backends!(
    envelopes_come_in_pages_and_bad_cursors_are_refused,
    a_release_in_many_pages_opens_every_bid,
    a_release_checked_in_batches_names_exactly_the_bad_shares,
);
