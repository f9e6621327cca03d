//! The opening engine over HTTP: automatic start, server release, outcomes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::bids::{register, seal, submit};
use crate::common::{Draft, TestApp, server_now, wait_for_state};

/// A published tender closing in `deadline_secs` and opening in `opening_secs`.
async fn tender_opening_in(app: &TestApp, deadline_secs: i64, opening_secs: i64, custody: serde_json::Value) -> String {
    Draft::on(app, deadline_secs).await.opening_in(opening_secs).custody(custody).published(app).await
}

async fn server_custody_opens_every_bid_once(app: TestApp) {
    let tender = tender_opening_in(&app, 3, 4, json!({"threshold": 1, "custodians": ["server"]})).await;
    let mut hashes = Vec::new();
    for (name, price) in [("Alpha", "100.00"), ("Beta", "90.50"), ("Gamma", "120.00")] {
        let key = register(&app, name).await;
        let sealed = seal(&app, &tender, &key, price, &[b"doc"]).await;
        let (s, v) = submit(&app, &tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        hashes.push(hex::encode(ring::digest::digest(&ring::digest::SHA256, &sealed.envelope)));
    }
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_opened_yet")));
    let (s, _) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    assert_eq!(s, StatusCode::CONFLICT, "envelopes stay private before the opening");

    wait_for_state(&app, &tender, "opened", 20).await;
    let (_, events) = app.get(&format!("/api/v1/tenders/{tender}/events")).await;
    let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count("tender.closed"), 1);
    assert_eq!(count("opening.started"), 1);
    assert_eq!(count("custodian.released"), 1);
    assert_eq!(count("bid.opened"), 3, "{kinds:?}");
    assert_eq!(count("record.published"), 1);
    let closed = events["events"].as_array().unwrap().iter().find(|e| e["type"] == "tender.closed").unwrap();
    assert_eq!(closed["data"]["bids"], 3);
    // The RFC 6962 root over the envelope hashes, computed apart from the server's code.
    let leaves: Vec<Vec<u8>> = hashes.iter().map(|h| hex::decode(h).unwrap()).collect();
    assert_eq!(closed["data"]["envelope_root"], hex::encode(crate::support::merkle::root(&leaves)));

    let (s, record) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(record["complete"], true);
    let rows = record["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let names: Vec<&str> = rows.iter().map(|r| r["bidder"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"], "opened in order of receipt");
    assert_eq!(rows[1]["fields"]["price"], "90.50");
    assert!(rows.iter().all(|r| r["status"] == "opened" && r["form_key"].as_str().unwrap().len() == 43));
    let positions: Vec<i64> = rows.iter().map(|r| r["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, [1, 2, 3]);

    // Envelopes and form ciphertexts are public now; the published form key
    // decrypts each form to exactly the published fields.
    let (s, env) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    assert_eq!(s, StatusCode::OK);
    for (row, e) in rows.iter().zip(env.as_array().unwrap()) {
        let envelope =
            bidroom::seal::Envelope::parse(&bidroom::seal::unb64(e["envelope"].as_str().unwrap()).unwrap()).unwrap();
        let key =
            bidroom::seal::SymmetricKey::from_bytes(&bidroom::seal::unb64(row["form_key"].as_str().unwrap()).unwrap())
                .unwrap();
        let form =
            bidroom::seal::open_form(&envelope, &key, &bidroom::seal::unb64(e["form"].as_str().unwrap()).unwrap())
                .unwrap();
        let fields: serde_json::Value = serde_json::from_slice(&form).unwrap();
        assert_eq!(fields, row["fields"]);
    }

    // Documents: evaluators only, decrypted, and each download is logged.
    let officer = app.staff("officer").await;
    let evaluator = app.staff("evaluator").await;
    let bid = rows[0]["bid_id"].as_str().unwrap();
    let path = format!("/api/v1/tenders/{tender}/bids/{bid}/documents/0");
    assert_eq!(app.call(Method::GET, &path, Some(&officer), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path).await.0, StatusCode::UNAUTHORIZED);
    let resp = app.client.get(app.url(&path)).bearer_auth(&evaluator).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"doc");
    let (_, after) = app.get(&format!("/api/v1/tenders/{tender}/events?after={}", events["last_seq"])).await;
    assert_eq!(after["events"][0]["type"], "documents.accessed");

    // A one-minute link: for evaluators only, followed without credentials,
    // logged like any download, and worthless once altered or expired.
    let link_path = format!("{path}/link");
    assert_eq!(app.call(Method::POST, &link_path, Some(&officer), None).await.0, StatusCode::FORBIDDEN);
    let (s, v) = app.call(Method::POST, &format!("{path}9/link"), Some(&evaluator), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no link to a document that does not exist: {v}");
    let (s, link) = app.call(Method::POST, &link_path, Some(&evaluator), None).await;
    assert_eq!(s, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with("/api/v1/downloads/"), "{url}");
    let resp = app.client.get(app.url(url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''doc0.pdf"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"doc");
    let (_, logged) = app.get(&format!("/api/v1/tenders/{tender}/events?after={}", after["last_seq"])).await;
    assert_eq!(logged["events"][0]["type"], "documents.accessed");
    assert_eq!(logged["events"][0]["data"]["by"]["name"], "evaluator user");

    let token = url.trim_start_matches("/api/v1/downloads/");
    let (payload, tag) = token.split_once('.').unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(&bidroom::seal::unb64(payload).unwrap()).unwrap();
    claims["i"] = json!(1);
    let altered = format!("{}.{tag}", bidroom::seal::b64(&serde_json::to_vec(&claims).unwrap()));
    let (s, v) = app.get(&format!("/api/v1/downloads/{altered}")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_link")), "{v}");
    // An expired link, signed with the server's own key from its data directory.
    let secret = std::fs::read(app.data_dir.path().join("download-link.key")).unwrap();
    let derived =
        ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret), b"bidroom/v1/download-link");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref());
    claims["i"] = json!(0);
    claims["e"] = json!(server_now(&app).await.unix_timestamp() - 1);
    let payload = serde_json::to_vec(&claims).unwrap();
    let expired =
        format!("{}.{}", bidroom::seal::b64(&payload), bidroom::seal::b64(ring::hmac::sign(&key, &payload).as_ref()));
    let (s, v) = app.get(&format!("/api/v1/downloads/{expired}")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{v}");
    claims["e"] = json!(server_now(&app).await.unix_timestamp() + 60);
    let payload = serde_json::to_vec(&claims).unwrap();
    let fresh =
        format!("{}.{}", bidroom::seal::b64(&payload), bidroom::seal::b64(ring::hmac::sign(&key, &payload).as_ref()));
    assert_eq!(
        app.get(&format!("/api/v1/downloads/{fresh}")).await.0,
        StatusCode::OK,
        "the same key signs a valid link"
    );
}

async fn fewer_than_k_releases_leave_bids_unopened_with_blame(app: TestApp) {
    let notary = bidroom::seal::CustodianSecretKey::generate().unwrap();
    let body =
        json!({"id": "notary", "name": "Notary", "public_key": bidroom::seal::b64(notary.public_key().as_bytes())});
    let (s, reg) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    assert!(reg["release_token"].as_str().unwrap().starts_with("brs_"));
    // A one-minute window; the notary never releases.
    let mut custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let tender = tender_opening_in(&app, 2, 3, custody.take()).await;
    let key = register(&app, "Solo").await;
    let sealed = seal(&app, &tender, &key, "1.00", &[]).await;
    assert_eq!(submit(&app, &tender, &sealed).await.0, StatusCode::CREATED);
    wait_for_state(&app, &tender, "opening", 15).await;
    // The notary releases a wrong share: recorded as its fault.
    let env = crate::common::poll("the envelopes to be public", std::time::Duration::from_secs(10), async || {
        let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
        (s == StatusCode::OK).then_some(v)
    })
    .await;
    let bid_id = env[0]["bid_id"].as_str().unwrap();
    let mut forged = vec![2u8];
    forged.extend_from_slice(&[7u8; 32]);
    let proof = crate::custody_takeover::answer(
        &app,
        "notary",
        &notary,
        bidroom::seal::ChallengePurpose::Release,
        Some(&tender),
    )
    .await;
    let release = json!({"shares": [{"bid_id": bid_id, "share": bidroom::seal::b64(&forged)}], "proof": proof});
    let (s, v) = app
        .call(Method::POST, &format!("/api/v1/tenders/{tender}/opening/release"), Some("wrong-token"), Some(&release))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let token = reg["release_token"].as_str().unwrap();
    let (s, v) =
        app.call(Method::POST, &format!("/api/v1/tenders/{tender}/opening/release"), Some(token), Some(&release)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 0);
    assert_eq!(v["bad"].as_array().unwrap().len(), 1);
    let (_, record) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!(record["pending"], 1, "still waiting within the window: {record}");
}

crate::on_both_backends!(server_custody_opens_every_bid_once, fewer_than_k_releases_leave_bids_unopened_with_blame);
