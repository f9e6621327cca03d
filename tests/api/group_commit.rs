//! Group commit of sealed bids: many concurrent submissions share batches
//! and checkpoints, every receipt verifies against its batch's checkpoint,
//! sequence numbers stay gapless, and a bad submission fails alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bidroom::ledger::{LogSigner, Receipt};
use bidroom::seal::{BidSealer, BidderKey, Binding, CustodyPolicy};
use bidroom::store::{DynStore, LogContext, NewBid, PgStore, SqliteStore, StoreError};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bids::{Sealed, policy, register, submit, verifier};
use crate::common::{Backend, TestApp, published_tender};

fn seal_with(tender: &str, policy: &CustodyPolicy, key: &BidderKey, bid_id: Uuid, price: &str) -> Sealed {
    let binding = Binding::new(tender.parse().unwrap(), bid_id);
    let sealer = BidSealer::new(binding, "1", policy).unwrap();
    let form = serde_json::to_vec(&json!({"price": price, "days": 90})).unwrap();
    let s = sealer.seal(&form, key, time::OffsetDateTime::now_utc()).unwrap();
    Sealed { bid_id, envelope: s.envelope, signature: s.signature.to_vec(), form: s.form_ciphertext, documents: vec![] }
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

async fn all_events(app: &TestApp, tender: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/events?after=0&limit=200")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["events"].as_array().unwrap().clone()
}

/// Submits all at once; returns (status, body) in input order.
async fn submit_concurrently(app: &Arc<TestApp>, tender: &str, bids: Vec<Arc<Sealed>>) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = bids
        .into_iter()
        .map(|s| {
            let (app, tender) = (app.clone(), tender.to_string());
            tokio::spawn(async move { submit(&app, &tender, &s).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// 50 bidders send 150 bids (each bidder three, replacing its own) and 50
/// duplicate retries, all at once.
async fn concurrent_submissions_share_checkpoints(app: TestApp) {
    let app = Arc::new(app);
    let tender = published_tender(&app, 3600).await;
    let policy = policy(&app, &tender).await;
    let mut owner = HashMap::new();
    let mut bids = Vec::new();
    for b in 0..50 {
        let key = register(&app, &format!("bidder {b}")).await;
        for n in 0..3 {
            let s = Arc::new(seal_with(&tender, &policy, &key, Uuid::new_v4(), &format!("{b}{n}.00")));
            owner.insert(hash_hex(&s.envelope), b);
            bids.push(s.clone());
            if n == 1 {
                bids.push(s); // the retry of a submission
            }
        }
    }
    assert_eq!(bids.len(), 200);
    let answers = submit_concurrently(&app, &tender, bids.clone()).await;

    let verifier = verifier(&app).await;
    let mut by_envelope: HashMap<String, Vec<(StatusCode, Receipt, String)>> = HashMap::new();
    // Envelopes answered `409 bid_replaced`: a retry that came after a later
    // bid of the same bidder had replaced it. None of them may stand.
    let mut answered_replaced: Vec<String> = Vec::new();
    for ((status, v), s) in answers.iter().zip(&bids) {
        if *status == StatusCode::CONFLICT {
            assert_eq!(v["code"], "bid_replaced", "{v}");
            answered_replaced.push(hash_hex(&s.envelope));
            continue;
        }
        assert!(*status == StatusCode::CREATED || *status == StatusCode::OK, "{status}: {v}");
        let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
        let checkpoint = receipt.verify(&verifier).expect("every receipt verifies against its checkpoint");
        assert_eq!(checkpoint.size, receipt.tree_size);
        assert_eq!(receipt.envelope_hash, hash_hex(&s.envelope));
        assert_eq!(v["bid_id"], s.bid_id.to_string());
        by_envelope.entry(receipt.envelope_hash.clone()).or_default().push((
            *status,
            receipt,
            v["bid_id"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(by_envelope.len(), 150);
    for answers in by_envelope.values() {
        // One 201 per envelope; a retry gets 200 and the very same receipt.
        assert_eq!(answers.iter().filter(|a| a.0 == StatusCode::CREATED).count(), 1);
        for a in answers {
            assert_eq!((&a.1, &a.2), (&answers[0].1, &answers[0].2), "the very same receipt");
        }
    }
    // The receipts the batches built from their nodes are the ones the log
    // gives a later retry, byte for byte.
    // (A replaced one is answered 409 with the receipt of what replaced it.)
    for s in bids.iter().step_by(7) {
        let (status, v) = submit(&app, &tender, s).await;
        if status == StatusCode::CONFLICT {
            assert_eq!(v["code"], "bid_replaced", "{v}");
            answered_replaced.push(hash_hex(&s.envelope));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{v}");
        let again: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
        assert_eq!(again, by_envelope[&hash_hex(&s.envelope)][0].1);
    }
    // Batches: fewer checkpoints than receipts (each proves its batch).
    let sizes: HashSet<u64> = by_envelope.values().map(|a| a[0].1.tree_size).collect();
    assert!(sizes.len() < 150, "150 bids were committed in {} checkpoints: no batching", sizes.len());

    // Events 1.. without gaps; replaying them gives the standing bids.
    let events = all_events(&app, &tender).await;
    let mut standing: Vec<String> = Vec::new();
    let mut received = 0;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_i64().unwrap(), i as i64 + 1, "gapless sequence");
        if e["type"] != "bid.received" {
            continue;
        }
        received += 1;
        let hash = e["data"]["envelope_hash"].as_str().unwrap().to_string();
        match e["data"]["replaces"].as_str() {
            Some(old) => {
                assert_eq!(owner[old], owner[&hash], "a bid replaces only its own bidder's bid");
                let at = standing.iter().position(|h| h == old).expect("replaces a standing bid");
                standing.remove(at);
            }
            None => assert!(standing.iter().all(|h| owner[h] != owner[&hash]), "a second bid of a bidder replaces"),
        }
        standing.push(hash);
        assert_eq!(e["data"]["bids_received"].as_u64().unwrap() as usize, standing.len());
    }
    assert_eq!(received, 150);
    let (_, summary) = app.get(&format!("/api/v1/tenders/{tender}/bids")).await;
    assert_eq!(summary["count"], 50);
    let served: Vec<String> =
        summary["envelope_hashes"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect();
    assert_eq!(served, standing, "exactly the last bid of each bidder stands, in order of receipt");
    assert!(answered_replaced.iter().all(|h| !standing.contains(h)), "a bid answered as replaced does not stand");
}

/// A bid that reuses another's id, mixed into concurrent good ones, gets
/// its own 409 and nothing else fails.
async fn a_conflicting_submission_fails_alone(app: TestApp) {
    let app = Arc::new(app);
    let tender = published_tender(&app, 3600).await;
    let policy = policy(&app, &tender).await;
    let mut bids = Vec::new();
    for b in 0..20 {
        let key = register(&app, &format!("bidder {b}")).await;
        bids.push(Arc::new(seal_with(&tender, &policy, &key, Uuid::new_v4(), "10.00")));
    }
    let key = register(&app, "twice the same id").await;
    let id = Uuid::new_v4();
    bids.insert(10, Arc::new(seal_with(&tender, &policy, &key, id, "1.00")));
    bids.insert(11, Arc::new(seal_with(&tender, &policy, &key, id, "2.00")));
    let answers = submit_concurrently(&app, &tender, bids).await;
    let created = answers.iter().filter(|a| a.0 == StatusCode::CREATED).count();
    let conflicts: Vec<_> = answers.iter().filter(|a| a.0 == StatusCode::CONFLICT).collect();
    assert_eq!((created, conflicts.len()), (21, 1), "{answers:?}");
    assert_eq!(conflicts[0].1["code"], "conflict");
    assert_eq!(all_events(&app, &tender).await.len(), 1 + 21);
}

/// A second handle on the server's database (as another node would be),
/// signing with the server's log key.
async fn second_store(app: &TestApp) -> DynStore {
    let pkcs8 = std::fs::read(app.data_dir.path().join("log-key.pk8")).unwrap();
    let signer = LogSigner::from_pkcs8("bidroom.local/log", &pkcs8).unwrap();
    let ctx = LogContext { signer: Arc::new(signer), origin: "bidroom.local/log".into() };
    match &app.backend {
        Backend::Sqlite => {
            Arc::new(SqliteStore::open_file(&app.data_dir.path().join("bidroom.db"), ctx).await.unwrap())
        }
        Backend::Postgres { url, schema } => Arc::new(PgStore::connect(url, Some(schema), ctx).await.unwrap()),
    }
}

fn new_bid(tender: &str, bidder: &BidderKey, id: Uuid, tag: u8) -> NewBid {
    NewBid {
        id,
        tender_id: tender.parse().unwrap(),
        bidder_id: bidder.public_key().key_id(),
        lot: "1".into(),
        envelope_hash: [tag; 32],
        signature: vec![tag; 64],
        blobs: vec![hex::encode([tag; 32])],
        total_bytes: 100,
        inline: Vec::new(),
    }
}

/// One batch straight into the store: a good bid, a bid for a cancelled
/// tender, a reused id, another good bid replacing the first, and a retry.
async fn one_batch_each_bid_checked_alone(app: TestApp) {
    let open = published_tender(&app, 3600).await;
    let cancelled = published_tender(&app, 3600).await;
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{cancelled}/cancel"), Some(&json!({"reason": "x"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let key = register(&app, "Acme").await;
    let other = register(&app, "Other").await;
    let store = second_store(&app).await;
    let first = Uuid::new_v4();
    let batch = [
        new_bid(&open, &key, first, 1),
        new_bid(&cancelled, &other, Uuid::new_v4(), 2),
        new_bid(&open, &other, first, 3),
        new_bid(&open, &key, Uuid::new_v4(), 4),
        new_bid(&open, &key, first, 1),
    ];
    let results = store.submit_bids(&batch).await.expect("the batch commits");
    assert_eq!(results.len(), 5);
    let ok = |i: usize| results[i].as_ref().unwrap_or_else(|e| panic!("bid {i}: {e}"));
    assert!(ok(0).event.is_some() && ok(3).event.is_some());
    assert!(matches!(&results[1], Err(StoreError::Domain(_))), "{:?}", results[1]);
    assert!(matches!(&results[2], Err(StoreError::Conflict(_))), "{:?}", results[2]);
    assert!(ok(4).event.is_none(), "a retry is no new bid");
    assert_eq!(ok(4).bid.log_index, ok(0).bid.log_index);
    // One checkpoint covers the batch; every receipt of it names that size.
    let size = ok(0).bid.receipt_size;
    assert_eq!((ok(3).bid.receipt_size, ok(4).bid.receipt_size), (size, size));
    assert_eq!(ok(3).bid.log_index + 1, size);
    assert!(store.checkpoint_at(size as u64).await.unwrap().is_some());
    assert!(store.checkpoint_at(size as u64 - 1).await.unwrap().is_none(), "one checkpoint per batch");
    let stored = store.get_bid(first).await.unwrap().unwrap();
    assert_eq!((stored.receipt_size, stored.status.as_str()), (size, "replaced"));
    let events = all_events(&app, &open).await;
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(events[2]["data"]["replaces"], hex::encode([1u8; 32]));
    assert_eq!(events[2]["data"]["bids_received"], 1);
}

crate::on_both_backends!(
    concurrent_submissions_share_checkpoints,
    a_conflicting_submission_fails_alone,
    one_batch_each_bid_checked_alone,
);
