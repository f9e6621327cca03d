//! Resumable uploads: sessions opened by the signed envelope, parts appended
//! at the server's offset, commit with the multipart path's receipt.

use bidroom::seal::{BidderKey, b64};
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{Sealed, register, seal, submit};
use crate::common::{Draft, TestApp, published_tender};

async fn open(app: &TestApp, tender: &str, s: &Sealed) -> (StatusCode, Value) {
    let b = json!({"envelope": b64(&s.envelope), "signature": b64(&s.signature)});
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads"), None, Some(&b)).await
}

/// PATCHes `bytes` at `offset`; returns status, body and the Upload-Offset header.
async fn patch(
    app: &TestApp,
    tender: &str,
    upload: &str,
    part: usize,
    offset: u64,
    bytes: &[u8],
) -> (StatusCode, Value, Option<u64>) {
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/tenders/{tender}/uploads/{upload}/parts/{part}")))
        .header("upload-offset", offset)
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let held = resp.headers().get("upload-offset").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, resp.json().await.unwrap_or(Value::Null), held)
}

async fn commit(app: &TestApp, tender: &str, upload: &str) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads/{upload}/commit"), None, None).await
}

async fn status(app: &TestApp, tender: &str, upload: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/tenders/{tender}/uploads/{upload}")).await
}

fn parts(s: &Sealed) -> Vec<Vec<u8>> {
    let mut p = vec![s.form.clone()];
    p.extend(s.documents.iter().cloned());
    p
}

/// Uploads every part whole and checks each completes.
async fn upload_all(app: &TestApp, tender: &str, upload: &str, s: &Sealed) {
    for (n, bytes) in parts(s).iter().enumerate() {
        let (st, v, held) = patch(app, tender, upload, n, 0, bytes).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!((v["complete"].as_bool(), held), (Some(true), Some(bytes.len() as u64)));
    }
}

async fn count(app: &TestApp, tender: &str) -> u64 {
    app.get(&format!("/api/v1/tenders/{tender}/bids")).await.1["count"].as_u64().unwrap()
}

async fn resume_after_a_cut_gives_the_same_receipt(mut app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Acme").await;
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let sealed = seal(&app, &tender, &key, "1000.00", &[b"offer", &big]).await;
    let (s, v) = open(&app, &tender, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["state"], "open");
    assert_eq!(v["parts"].as_array().unwrap().len(), 3);
    assert_eq!(v["parts"][2]["length"].as_u64(), Some(sealed.documents[1].len() as u64));
    let upload = v["upload_id"].as_str().unwrap().to_string();
    // The same envelope again (a lost answer) finds the same session.
    let (s, again) = open(&app, &tender, &sealed).await;
    assert_eq!((s, &again["upload_id"]), (StatusCode::OK, &v["upload_id"]));

    let doc = &sealed.documents[1];
    let (s, _, _) = patch(&app, &tender, &upload, 0, 0, &sealed.form).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, held) = patch(&app, &tender, &upload, 2, 0, &doc[..200_000]).await;
    assert_eq!((s, v["received"].as_u64(), held), (StatusCode::OK, Some(200_000), Some(200_000)), "{v}");

    // A request cut off midway: the server keeps what arrived.
    let first = Bytes::copy_from_slice(&doc[200_000..300_000]);
    let stream = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(first),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut")),
    ]);
    let cut = app
        .client
        .patch(app.url(&format!("/api/v1/tenders/{tender}/uploads/{upload}/parts/2")))
        .header("upload-offset", 200_000)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    assert!(cut.is_err() || !cut.unwrap().status().is_success());

    // What the server holds now: a probe at a wrong offset waits for the
    // part's lock (answering `part_busy` while the cut request still writes)
    // and then names the server's offset. The cut request may also not have
    // reached its handler yet; the graceful stop below waits for it.
    let kept = crate::common::poll("the server's offset", std::time::Duration::from_secs(10), async || {
        let (s, v, held) = patch(&app, &tender, &upload, 2, 0, b"").await;
        if v["code"] == "part_busy" {
            return None;
        }
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("offset_mismatch")), "{v}");
        Some(held.expect("the server's offset"))
    })
    .await;
    assert!((200_000..=300_000).contains(&kept), "kept {kept}");
    // A restart loses nothing the server acknowledged or held.
    app.stop().await;
    app.start_again().await;
    let (s, v) = status(&app, &tender, &upload).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let held = v["parts"][2]["received"].as_u64().unwrap();
    assert!((kept..=300_000).contains(&held), "held {held} after the restart, {kept} before");
    assert_eq!(v["parts"][0]["complete"], true);
    assert_eq!(v["state"], "open");

    // Wrong offset: 409 with the server's offset.
    let (s, v, h) = patch(&app, &tender, &upload, 2, 0, &doc[..10]).await;
    assert_eq!((s, v["code"].as_str(), h), (StatusCode::CONFLICT, Some("offset_mismatch"), Some(held)), "{v}");
    let (s, v, h) = patch(&app, &tender, &upload, 2, held + 1, &doc[..10]).await;
    assert_eq!((s, h), (StatusCode::CONFLICT, Some(held)), "{v}");

    let (s, v, _) = patch(&app, &tender, &upload, 2, held, &doc[held as usize..]).await;
    assert_eq!((s, v["complete"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (s, v, _) = patch(&app, &tender, &upload, 1, 0, &sealed.documents[0]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = status(&app, &tender, &upload).await;
    assert_eq!(v["state"], "complete");
    assert_eq!(v["received"], v["total"]);

    let (s, receipt) = commit(&app, &tender, &upload).await;
    assert_eq!(s, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["bid_id"], sealed.bid_id.to_string());
    let r: bidroom::ledger::Receipt = serde_json::from_value(receipt["receipt"].clone()).unwrap();
    r.verify(&crate::bids::verifier(&app).await).expect("receipt verifies");
    assert_eq!(count(&app, &tender).await, 1);
    // The stored ciphertexts are the bytes the envelope names.
    for bytes in parts(&sealed) {
        let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
        let path = app.data_dir.path().join("blobs").join(&hash[..2]).join(&hash);
        assert_eq!(std::fs::read(path).unwrap(), bytes);
    }

    // Committing again, or the multipart submission of the same envelope,
    // answers with the very same receipt.
    let (s, again) = commit(&app, &tender, &upload).await;
    assert_eq!((s, &again["receipt"]), (StatusCode::OK, &receipt["receipt"]));
    let (s, multi) = submit(&app, &tender, &sealed).await;
    assert_eq!((s, &multi["receipt"]), (StatusCode::OK, &receipt["receipt"]));
    let (_, v) = status(&app, &tender, &upload).await;
    assert_eq!(v["state"], "committed");
    let (s, v, _) = patch(&app, &tender, &upload, 0, 0, b"x").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("upload_committed")));
    // The staged bytes are gone once the blobs hold them.
    let staged = app.data_dir.path().join("staging").join(&tender).join(&upload);
    let left: Vec<_> = std::fs::read_dir(staged).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "session.json and committed only: {left:?}");
    assert_eq!(count(&app, &tender).await, 1);
}

async fn tampered_parts_and_early_commits_are_refused(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Bidder").await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"a document"]).await;
    let (_, v) = open(&app, &tender, &sealed).await;
    let upload = v["upload_id"].as_str().unwrap().to_string();

    let (s, v) = commit(&app, &tender, &upload).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("upload_incomplete")), "{v}");

    let mut bad = sealed.form.clone();
    bad[3] ^= 1;
    let (s, v, _) = patch(&app, &tender, &upload, 0, 0, &bad).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ciphertext_mismatch")), "{v}");
    let (_, v) = status(&app, &tender, &upload).await;
    assert_eq!(v["parts"][0]["received"], 0, "a part that failed its hash is discarded");

    let mut long = sealed.documents[0].clone();
    long.push(0);
    let (s, v, _) = patch(&app, &tender, &upload, 1, 0, &long).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ciphertext_mismatch")), "{v}");

    let url = app.url(&format!("/api/v1/tenders/{tender}/uploads/{upload}/parts/0"));
    let r = app.client.patch(&url).body(sealed.form.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "missing_offset");
    let (s, _, _) = patch(&app, &tender, &upload, 9, 0, b"x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Staged bytes are never served.
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);

    upload_all(&app, &tender, &upload, &sealed).await;
    let (s, v) = commit(&app, &tender, &upload).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn only_the_bidder_key_opens_a_session(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let other_tender = published_tender(&app, 3600).await;
    let key = register(&app, "Alice").await;
    let mallory = register(&app, "Mallory").await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"doc"]).await;
    let (_, v) = open(&app, &tender, &sealed).await;
    let upload = v["upload_id"].as_str().unwrap().to_string();

    // Alice's envelope with Mallory's signature.
    let forged = json!({"envelope": b64(&sealed.envelope), "signature": b64(&mallory.sign(&sealed.envelope).unwrap())});
    let (s, v) = app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads"), None, Some(&forged)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature")), "{v}");
    // An unregistered signer, an envelope for another tender, garbage.
    let stranger = BidderKey::generate().unwrap();
    let s1 = seal(&app, &tender, &stranger, "1.00", &[]).await;
    let (s, v) = open(&app, &tender, &s1).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_bidder")), "{v}");
    let s2 = seal(&app, &other_tender, &key, "1.00", &[]).await;
    let (s, v) = open(&app, &tender, &s2).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_tender")), "{v}");
    let junk = json!({"envelope": "!!", "signature": "AA"});
    let (s, v) = app.call(Method::POST, &format!("/api/v1/tenders/{tender}/uploads"), None, Some(&junk)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("envelope")), "{v}");

    // The session is reachable only under its tender and by its id.
    let (s, _) = status(&app, &other_tender, &upload).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = patch(&app, &other_tender, &upload, 0, 0, &sealed.form).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let guess = uuid::Uuid::new_v4().to_string();
    let (s, _) = commit(&app, &tender, &guess).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Mallory's own session cannot commit Alice's bytes as hers: it names her envelope.
    let theirs = seal(&app, &tender, &mallory, "4.00", &[b"doc"]).await;
    let (_, v) = open(&app, &tender, &theirs).await;
    let m_upload = v["upload_id"].as_str().unwrap().to_string();
    let (s, v, _) = patch(&app, &tender, &m_upload, 0, 0, &sealed.form).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ciphertext_mismatch")), "{v}");
    assert_eq!(count(&app, &tender).await, 0);
}

async fn commits_after_the_deadline_are_refused(app: TestApp) {
    let key = register(&app, "Late").await;
    let tender = published_tender(&app, 3).await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"doc"]).await;
    let (s, v) = open(&app, &tender, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload = v["upload_id"].as_str().unwrap().to_string();
    let (s, _, _) = patch(&app, &tender, &upload, 0, 0, &sealed.form).await;
    assert_eq!(s, StatusCode::OK);
    crate::common::wait_for_state(&app, &tender, "closed", 10).await;
    let (s, v, _) = patch(&app, &tender, &upload, 1, 0, &sealed.documents[0]).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("deadline_passed")), "{v}");
    let (s, v) = commit(&app, &tender, &upload).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let late = seal(&app, &tender, &key, "6.00", &[]).await;
    let (s, v) = open(&app, &tender, &late).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("deadline_passed")), "{v}");
    assert_eq!(count(&app, &tender).await, 0);
}

async fn a_complete_upload_committed_after_the_deadline_is_refused(app: TestApp) {
    let key = register(&app, "Slow").await;
    let tender = published_tender(&app, 3).await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"doc"]).await;
    let (_, v) = open(&app, &tender, &sealed).await;
    let upload = v["upload_id"].as_str().unwrap().to_string();
    upload_all(&app, &tender, &upload, &sealed).await;
    crate::common::wait_for_state(&app, &tender, "closed", 10).await;
    let (s, v) = commit(&app, &tender, &upload).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("deadline_passed")), "{v}");
    assert_eq!(count(&app, &tender).await, 0);
    let blobs = app.data_dir.path().join("blobs");
    let n: usize = std::fs::read_dir(&blobs).map(|d| d.flatten().count()).unwrap_or(0);
    let files: usize = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|d| std::fs::read_dir(d.path()).map(|x| x.count()).unwrap_or(0))
        .sum();
    assert_eq!(files, 0, "a refused commit leaves no blobs ({n} prefix dirs)");
}

async fn sessions_are_limited(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Busy").await;
    let mut first = None;
    for i in 0..3 {
        let s = seal(&app, &tender, &key, &format!("{i}.00"), &[]).await;
        let (st, v) = open(&app, &tender, &s).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        first.get_or_insert((v["upload_id"].as_str().unwrap().to_string(), s));
    }
    let fourth = seal(&app, &tender, &key, "9.00", &[]).await;
    let (s, v) = open(&app, &tender, &fourth).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_uploads")), "{v}");
    // A committed session no longer counts as open.
    let (upload, sealed) = first.unwrap();
    upload_all(&app, &tender, &upload, &sealed).await;
    assert_eq!(commit(&app, &tender, &upload).await.0, StatusCode::CREATED);
    assert_eq!(open(&app, &tender, &fourth).await.0, StatusCode::CREATED);
    // Another bidder is not limited by this one's sessions.
    let other = register(&app, "Other").await;
    let theirs = seal(&app, &tender, &other, "9.00", &[]).await;
    assert_eq!(open(&app, &tender, &theirs).await.0, StatusCode::CREATED);

    // A bid larger than the tender allows gets no session.
    let small =
        Draft::on(&app, 3600).await.limits(json!({"max_documents": 1, "max_bid_bytes": 2048})).published(&app).await;
    let big = seal(&app, &small, &key, "1.00", &[&[0u8; 4096]]).await;
    let (s, v) = open(&app, &small, &big).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("envelope")), "{v}");
    let two = seal(&app, &small, &key, "1.00", &[b"a", b"b"]).await;
    let (s, v) = open(&app, &small, &two).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("envelope.documents")), "{v}");
}

async fn expired_sessions_are_swept(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let key = register(&app, "Idle").await;
    let sealed = seal(&app, &tender, &key, "5.00", &[b"doc"]).await;
    let (s, v) = open(&app, &tender, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload = v["upload_id"].as_str().unwrap().to_string();
    let dir = app.data_dir.path().join("staging").join(&tender).join(&upload);
    assert!(dir.join("session.json").exists());
    let half = sealed.documents[0].len() / 2;
    let (s, _, _) = patch(&app, &tender, &upload, 1, 0, &sealed.documents[0][..half]).await;
    assert!(s == StatusCode::OK || s == StatusCode::GONE, "{s}");
    // The sweeper deletes it on its timer, without any request touching it.
    crate::common::poll("the sweeper to delete the expired session", std::time::Duration::from_secs(10), async || {
        (!dir.exists()).then_some(())
    })
    .await;
    let (s, _) = status(&app, &tender, &upload).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A new session for the same envelope works.
    let (s, v) = open(&app, &tender, &sealed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

fn short_ttl(cfg: &mut bidroom::config::ServeConfig) {
    cfg.upload_ttl_secs = 1;
}

crate::on_both_backends!(with short_ttl: expired_sessions_are_swept);

crate::on_both_backends!(
    resume_after_a_cut_gives_the_same_receipt,
    tampered_parts_and_early_commits_are_refused,
    only_the_bidder_key_opens_a_session,
    commits_after_the_deadline_are_refused,
    a_complete_upload_committed_after_the_deadline_is_refused,
    sessions_are_limited,
);
