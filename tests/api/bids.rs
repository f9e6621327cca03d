//! Sealed bid submission over HTTP, sealed with the project's own sealer.

use bidroom::ledger::Receipt;
use bidroom::seal::{BidderKey, CustodianSecretKey, b64, register_message, withdraw_message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Draft, TestApp, published_tender, wait_for_state};

// The helpers live in the shared support module; other test files import
// them from here.
pub use crate::support::bids::{Sealed, multipart, policy, register, seal, submit, verifier};
use crate::support::bids::{bid_count, blob_files};

async fn submit_receipt_retry_replace_withdraw(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme Road Works Ltd").await;
    let big = vec![7u8; 150_000];
    let first = seal(&app, &tender, &key, "1000000.00", &[b"technical offer", &big]).await;
    let (s, v) = submit(&app, &tender, &first).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    let checkpoint = receipt.verify(&verifier(&app).await).expect("receipt verifies");
    assert!(checkpoint.size > receipt.leaf_index);
    let envelope_hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &first.envelope));
    assert_eq!(receipt.envelope_hash, envelope_hash);
    assert_eq!(bid_count(&app, &tender).await, 1);

    // The public event names the envelope, never the bidder.
    let (_, ev) = app.get(&format!("/api/v1/tenders/{tender}/events?after=1")).await;
    let e = &ev["events"][0];
    assert_eq!(e["type"], "bid.received");
    assert_eq!(e["data"]["envelope_hash"], envelope_hash.as_str());
    assert_eq!(e["log_index"].as_u64(), Some(receipt.leaf_index));
    let public = ev.to_string();
    assert!(!public.contains(&key.public_key().key_id()) && !public.contains("Acme"), "identity leaked: {public}");

    // A retry of the same envelope gets the same receipt and stores nothing new.
    let files = blob_files(&app);
    let (s, again) = submit(&app, &tender, &first).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["receipt"], v["receipt"]);
    assert_eq!(blob_files(&app), files);

    // A new bid for the same lot replaces the first.
    let second = seal(&app, &tender, &key, "990000.00", &[]).await;
    let (s, v2) = submit(&app, &tender, &second).await;
    assert_eq!(s, StatusCode::CREATED, "{v2}");
    assert_eq!(bid_count(&app, &tender).await, 1);
    let (_, ev) = app.get(&format!("/api/v1/tenders/{tender}/events?after=2")).await;
    assert_eq!(ev["events"][0]["data"]["replaces"], envelope_hash.as_str());

    // Withdrawal needs the bidder's signature.
    let other = BidderKey::generate().unwrap();
    let forged = other.sign(&withdraw_message(tender.parse().unwrap(), second.bid_id)).unwrap();
    let path = format!("/api/v1/tenders/{tender}/bids/{}/withdraw", second.bid_id);
    let (s, v) = app.call(Method::POST, &path, None, Some(&json!({"signature": b64(&forged)}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature")));
    let sig = key.sign(&withdraw_message(tender.parse().unwrap(), second.bid_id)).unwrap();
    let (s, v) = app.call(Method::POST, &path, None, Some(&json!({"signature": b64(&sig)}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    receipt.verify(&verifier(&app).await).unwrap();
    assert_eq!(bid_count(&app, &tender).await, 0);
    let (s, v) = app.call(Method::POST, &path, None, Some(&json!({"signature": b64(&sig)}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("bid_not_active")));
}

async fn refusals_store_nothing(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let other_tender = published_tender(&app, 3600).await;
    let key = register(&app, "Bidder").await;
    let before = blob_files(&app);

    // Unregistered signer.
    let stranger = BidderKey::generate().unwrap();
    let s1 = seal(&app, &tender, &stranger, "1.00", &[b"x"]).await;
    let (s, v) = submit(&app, &tender, &s1).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_bidder")), "{v}");

    // Envelope bound to another tender.
    let s2 = seal(&app, &other_tender, &key, "1.00", &[]).await;
    let (s, v) = submit(&app, &tender, &s2).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_tender")), "{v}");

    // Flipped envelope byte: the signature fails.
    let mut s3 = seal(&app, &tender, &key, "1.00", &[]).await;
    let i = s3.envelope.len() / 2;
    s3.envelope[i] ^= 1;
    let (s, v) = submit(&app, &tender, &s3).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(matches!(v["code"].as_str(), Some("bad_signature" | "invalid_envelope")), "{v}");

    // Ciphertext that does not match the envelope.
    let mut s4 = seal(&app, &tender, &key, "1.00", &[b"document"]).await;
    let last = s4.documents[0].len() - 1;
    s4.documents[0][last] ^= 1;
    let (s, v) = submit(&app, &tender, &s4).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ciphertext_mismatch")), "{v}");

    // A missing part.
    let mut s5 = seal(&app, &tender, &key, "1.00", &[b"document"]).await;
    s5.documents.clear();
    let (s, v) = submit(&app, &tender, &s5).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_upload")), "{v}");

    // An upload cut off midway.
    let s6 = seal(&app, &tender, &key, "1.00", &[&vec![1u8; 300_000]]).await;
    let boundary = "cutcutcut";
    let mut body = Vec::new();
    for (name, bytes) in
        [("envelope", &s6.envelope), ("signature", &s6.signature), ("form", &s6.form), ("document", &s6.documents[0])]
    {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.truncate(body.len() - 100_000);
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/tenders/{tender}/bids")))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    assert_eq!(bid_count(&app, &tender).await, 0);
    assert_eq!(blob_files(&app), before, "refused submissions left files behind");
    let (_, ev) = app.get(&format!("/api/v1/tenders/{tender}/events")).await;
    assert_eq!(ev["last_seq"], 1, "refused submissions logged nothing");
}

async fn late_draft_and_cancelled_tenders_refuse_bids(app: TestApp) {
    let key = register(&app, "Late Bidder").await;
    let tender = published_tender(&app, 2).await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"doc"]).await;
    wait_for_state(&app, &tender, "closed", 10).await;
    let before = blob_files(&app);
    let (s, v) = submit(&app, &tender, &sealed).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("deadline_passed")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("deadline"));
    assert_eq!(blob_files(&app), before);

    let cancelled = published_tender(&app, 3600).await;
    let sealed = seal(&app, &cancelled, &key, "5.00", &[]).await;
    app.admin(Method::POST, &format!("/api/v1/tenders/{cancelled}/cancel"), Some(&json!({"reason": "x"}))).await;
    let (s, v) = submit(&app, &cancelled, &sealed).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("tender_not_open")), "{v}");

    let draft = Draft::on(&app, 3600).await.create(&app).await;
    let (s, _) = submit(&app, &draft, &sealed).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "drafts do not exist for the public");
}

async fn custody_policy_is_resolved_and_frozen_at_publish(app: TestApp) {
    let notary = CustodianSecretKey::generate().unwrap();
    let clerk = CustodianSecretKey::generate().unwrap();
    for (id, k) in [("notary", &notary), ("clerk", &clerk)] {
        let body = json!({"id": id, "name": format!("{id} office"), "public_key": b64(k.public_key().as_bytes())});
        let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = app
        .admin(
            Method::POST,
            "/api/v1/custodians",
            Some(&json!({"id": "notary", "name": "n", "public_key": b64(clerk.public_key().as_bytes())})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a custodian's key never changes: {v}");

    let draft = Draft::on(&app, 3600).await;
    let ghost = draft.clone().custody(json!({"threshold": 2, "custodians": ["server", "notary", "ghost"]}));
    let id = ghost.create(&app).await;
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), Some(&json!({}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("custody.custodians[2]")), "{v}");

    let id = draft.custody(json!({"threshold": 2, "custodians": ["server", "notary", "clerk"]})).create(&app).await;
    let id = id.as_str();
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = policy(&app, id).await;
    assert_eq!(p.threshold, 2);
    let ids: Vec<_> = p.custodians.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["server", "notary", "clerk"]);
    assert_eq!(p.custodians[1].public_key, Some(notary.public_key()));
    let (_, ev) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    assert_eq!(
        ev["events"][0]["data"]["tender"]["custody_keys"]["threshold"], 2,
        "the keys are published with the tender"
    );

    let key = register(&app, "Bidder").await;
    let sealed = seal(&app, id, &key, "42.00", &[b"doc"]).await;
    let (s, v) = submit(&app, id, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn log_is_served_as_tiles_with_proofs(app: TestApp) {
    let verifier = verifier(&app).await;
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Bidder").await;
    let mut receipts = Vec::new();
    for price in ["1.00", "2.00", "3.00"] {
        let sealed = seal(&app, &tender, &key, price, &[]).await;
        let (_, v) = submit(&app, &tender, &sealed).await;
        receipts.push(serde_json::from_value::<Receipt>(v["receipt"].clone()).unwrap());
    }
    let note = app.client.get(app.url("/log/checkpoint")).send().await.unwrap().text().await.unwrap();
    let latest = bidroom::ledger::open_checkpoint(&note, &verifier).expect("checkpoint verifies");
    assert_eq!(latest.size, 4);
    // Consistency from the first receipt's tree to the latest.
    let first = receipts[0].verify(&verifier).unwrap();
    let (_, p) = app.get(&format!("/api/v1/log/consistency?old={}&new={}", first.size, latest.size)).await;
    let proof: Vec<[u8; 32]> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    bidroom::ledger::verify_consistency(first.size, latest.size, &first.root, &latest.root, &proof).unwrap();
    receipts[0].verify_consistent_with(&verifier, &latest, &proof).unwrap();

    // Tiles: the level-0 partial tile holds the 4 leaf hashes, the entry
    // bundle the exact entries, and together they rebuild the root.
    let tile = app.client.get(app.url("/log/tile/0/000.p/4")).send().await.unwrap();
    assert_eq!(tile.status(), StatusCode::OK);
    let tile = tile.bytes().await.unwrap();
    let hashes = bidroom::ledger::decode_hash_tile(&tile, 4).unwrap();
    let bundle = app.client.get(app.url("/log/tile/entries/000.p/4")).send().await.unwrap().bytes().await.unwrap();
    let entries = bidroom::ledger::decode_entry_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 4);
    // Checked with the tests' own RFC 6962 hashing, not the log's code.
    for (e, h) in entries.iter().zip(&hashes) {
        assert_eq!(crate::support::merkle::root(std::slice::from_ref(e)), *h, "leaf hash");
    }
    assert_eq!(crate::support::merkle::root(&entries), latest.root);
    assert_eq!(
        app.client.get(app.url("/log/tile/0/000")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "full tile not yet available"
    );
    assert_eq!(app.client.get(app.url("/log/tile/0/00")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v1/log/inclusion?index=9&size=4").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn bidder_registration_needs_proof_of_key(app: TestApp) {
    let key = BidderKey::generate().unwrap();
    let other = BidderKey::generate().unwrap();
    let pk = key.public_key();
    let bad = other.sign(&register_message(pk.as_bytes())).unwrap();
    let body = json!({"name": "X", "public_key": b64(pk.as_bytes()), "proof": b64(&bad)});
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature")));
    let (s, v) = app
        .call(Method::POST, "/api/v1/bidders", None, Some(&json!({"name": "X", "public_key": "AAAA", "proof": "AAAA"})))
        .await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("public_key")));
    let good = key.sign(&register_message(pk.as_bytes())).unwrap();
    let body = json!({"name": "X", "public_key": b64(pk.as_bytes()), "proof": b64(&good)});
    assert_eq!(app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await.0, StatusCode::CREATED);
    assert_eq!(app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await.0, StatusCode::OK);
    let (s, v) = app.get(&format!("/api/v1/bidders/{}", pk.key_id())).await;
    assert_eq!((s, v["name"].as_str()), (StatusCode::OK, Some("X")));
}

/// A request whose body the server leaves unread is answered with
/// `Connection: close`, so a pooling client does not reuse the socket the
/// server is about to drop; fully read requests keep their connection.
async fn an_unread_body_closes_the_connection(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let big = vec![3u8; 600_000];
    let sealed = seal(&app, &tender, &key, "10.00", &[&big]).await;
    let url = app.url(&format!("/api/v1/tenders/{tender}/bids"));
    let closes = |r: &reqwest::Response| r.headers().get("connection").is_some_and(|v| v == "close");

    let first = app.client.post(&url).multipart(multipart(&sealed)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!closes(&first), "a fully read submission keeps its connection");
    // The retry is answered from the envelope alone; the document is unread.
    let retry = app.client.post(&url).multipart(multipart(&sealed)).send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    assert!(closes(&retry), "the retry's answer closes the connection");
    let retry_body: Value = retry.json().await.unwrap();
    assert_eq!(retry_body["bid_id"], sealed.bid_id.to_string());
    // The same client goes on without a broken pipe.
    for _ in 0..20 {
        assert_eq!(bid_count(&app, &tender).await, 1);
    }
    let body = json!({"name": "Beta", "public_key": "x", "proof": "y"});
    let r = app.client.post(app.url("/api/v1/bidders")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!closes(&r), "a JSON body that was read keeps the connection");
}

crate::on_both_backends!(
    submit_receipt_retry_replace_withdraw,
    refusals_store_nothing,
    late_draft_and_cancelled_tenders_refuse_bids,
    custody_policy_is_resolved_and_frozen_at_publish,
    log_is_served_as_tiles_with_proofs,
    bidder_registration_needs_proof_of_key,
    an_unread_body_closes_the_connection,
);
