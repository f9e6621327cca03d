//! Bidder-held custody in the browser (远程解密): the bidder makes and
//! registers a decryption key in the page, seals to it, and during the
//! decryption window decrypts and releases its share with "decrypt my
//! bid". The browser's sealing is checked against the Rust code (Rust opens
//! the share the browser sealed to the bidder's key) and the Rust sealing
//! against the browser (the page decrypts a bid sealed by the Rust code).

use bidroom::seal::{BidSealer, BidderKey, Binding, CustodianSecretKey, Envelope, KeyFile, open_share, unb64};
use serde_json::{Value, json};

use crate::harness::{Browser, Server};
use crate::support::bids;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidder_decrypts_its_own_bid_in_the_page() {
    let mut server = Server::for_browser().await;
    let custody = json!({"threshold": 2, "custodians": ["server", "bidder"], "release_window_minutes": 5});
    let tender = server.tender("Water mains", 40, Some(custody)).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("bidder-held", "en-US").await;

    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    b.fill("#bidder-name", "Acme Pipes Ltd").await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('dec-generate')", 20).await;
    assert!(b.text("#decrypt-key").await.contains("No decryption key"));
    b.click("#dec-generate").await;
    b.wait_for("document.querySelector('#decrypt-key.ok')", 20).await;
    b.screenshot("1-key-registered").await;

    // The key the page registered is the one in its store, bound by the bidder's signature.
    let local = b
        .js_async(
            r#"
            const keys = await import('/assets/js/protocol/keyfile.js');
            const { b64url, hex } = await import('/assets/js/protocol/bytes.js');
            const id = await keys.loadBidderKey();
            const d = await keys.loadDecryptionKey();
            const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', id.privateKey));
            return { id: id.id, pub: b64url(d.pub), scalar: hex(d.scalar), pkcs8: b64url(pkcs8) };
            "#,
            vec![],
        )
        .await;
    let bidder_id = local["id"].as_str().expect("bidder id");
    let registered = server.get_ok(&format!("/api/v1/bidders/{bidder_id}/decryption-key")).await;
    assert_eq!(registered["public_key"], local["pub"], "{registered}");
    let decryption = CustodianSecretKey::from_bytes(&hex::decode(local["scalar"].as_str().unwrap()).unwrap()).unwrap();
    // The page's decryption key file opens with the Rust code (and is no custodian file).
    let file = b
        .js_async(
            "const keys = await import('/assets/js/protocol/keyfile.js'); \
             return keys.exportDecryptionKey(await keys.loadDecryptionKey(), 'pass phrase', 1000);",
            vec![],
        )
        .await;
    let file = KeyFile::parse(file.as_str().expect("key file json").as_bytes()).expect("parses in Rust");
    assert_eq!(file.unlock_decryption("pass phrase").expect("unlocks").public_key(), decryption.public_key());
    assert!(file.unlock_custodian("pass phrase").is_err());

    b.fill("#field-price", "888.00").await;
    b.fill("#field-days", "45").await;
    b.click("#seal").await;
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    b.click("#seal-confirm").await;
    let receipt = b.wait_for("(document.getElementById('receipt-status') || {}).innerText", 60).await;
    assert!(receipt.as_str().unwrap_or_default().starts_with('✓'), "{receipt}");

    // The Rust code opens both shares of what the browser sealed.
    let summary = server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await;
    let envelope = Envelope::parse(&server.blob(summary["envelope_hashes"][0].as_str().unwrap())).expect("parses");
    assert_eq!(envelope.custody.custodians[1].id, "bidder");
    assert_eq!(envelope.custody.custodians[1].public_key, Some(decryption.public_key()));
    open_share(&envelope, 1, &server.server_custodian_key()).expect("server share");
    open_share(&envelope, 2, &decryption).expect("the bidder's share opens with the browser's key in Rust");

    // The Rust code seals a replacement to the same key; the page must decrypt that one.
    let identity = BidderKey::from_pkcs8(&unb64(local["pkcs8"].as_str().unwrap()).unwrap()).expect("identity");
    let policy = bids::policy(&server, &id).await.with_bidder_key(&decryption.public_key());
    let bid_id = uuid::Uuid::new_v4();
    let sealer = BidSealer::new(Binding::new(id.parse().unwrap(), bid_id), "1", &policy).expect("sealer");
    let form = serde_json::to_vec(&json!({"price": "777.00", "days": 40})).unwrap();
    let sealed = sealer.seal(&form, &identity, time::OffsetDateTime::now_utc()).expect("seal");
    let rust = bids::Sealed {
        bid_id,
        envelope: sealed.envelope,
        signature: sealed.signature.to_vec(),
        form: sealed.form_ciphertext,
        documents: Vec::new(),
    };
    let (s, v) = bids::submit(&server, &id, &rust).await;
    assert!(s.is_success(), "{s} {v}");

    // The decryption stage: the page shows the countdown and decrypts.
    crate::support::wait::wait_for_state(&server, &id, "opening", 60).await;
    // The room says how many bids still wait for their bidder (one: this one).
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    let awaiting = b.wait_for("(document.getElementById('decrypt-awaiting') || {}).innerText", 20).await;
    assert!(awaiting.as_str().unwrap_or_default().ends_with(": 1"), "{awaiting}");
    assert!(b.text("#custody-text").await.contains("each bid's own bidder"));
    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.getElementById('decrypt-go')", 20).await;
    b.wait_for("document.getElementById('decrypt-countdown')", 20).await;
    assert!(b.text("#decrypt-countdown").await.contains("left"), "{}", b.text("#decrypt-countdown").await);
    b.screenshot("2-decrypt").await;
    b.phone_screenshot("2-decrypt").await;
    b.click("#decrypt-go").await;
    let done = b.wait_for("(document.querySelector('#decrypt-status .ok') || {}).innerText", 30).await;
    assert!(done.as_str().unwrap_or_default().contains("Released 1 of 1"), "{done}");
    crate::support::wait::wait_for_state(&server, &id, "opened", 30).await;
    let record = server.get_ok(&format!("/api/v1/tenders/{id}/record")).await;
    let row: &Value = &record["rows"][0];
    assert_eq!((row["status"].as_str(), row["fields"]["price"].as_str()), (Some("opened"), Some("777.00")), "{record}");
    let events = server.get_ok(&format!("/api/v1/tenders/{id}/events")).await;
    let release =
        events["events"].as_array().unwrap().iter().find(|e| e["type"] == "bidder.released").expect("released");
    assert_eq!(release["data"]["good"], true);
    assert!(release["data"].get("share").is_none());
    b.screenshot("3-released").await;
    // The panel in Chinese.
    b.click("#lang-switch").await;
    let title = b.wait_for("(document.getElementById('h-decrypt') || {}).innerText === '解密我的投标' && document.getElementById('h-decrypt').innerText", 10).await;
    assert_eq!(title, "解密我的投标");
    b.screenshot("4-zh").await;
    b.close().await;
    server.stop().await;
}
