//! A bidder in the browser: identity key, registration, form validation,
//! sealing with a document, upload, receipt verified in the page, and the
//! Rust code opening exactly what was typed; then withdrawal.

use bidroom::seal::{
    Envelope, SymmetricKey, decrypt_document, form_key, open_form, open_manifest, open_share, rebuild_key,
};
use serde_json::{Value, json};

use crate::harness::{Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bid_sealed_in_the_browser_opens_with_the_rust_code() {
    let mut server = Server::for_browser().await;
    let alice = server.custodian("alice", "Alice Notary").await;
    let _bob = server.custodian("bob", "Bob Supervisor").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice", "bob"], "release_window_minutes": 30});
    let tender = server.tender("Bridge repair", 3600, Some(custody)).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("bidder", "en-US").await;

    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    b.screenshot("1-no-key").await;
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    let key_text = b.text("#identity-text").await;
    assert!(key_text.contains("Identity key"), "{key_text}");
    // A new key urges a backup, and the file needs the passphrase twice.
    assert!(b.text("#backup-warning").await.contains("Save a backup of this key now"));
    b.phone_screenshot("1-backup-warning").await;
    b.fill("#passphrase", "correct horse 1").await;
    b.fill("#passphrase2", "correct horse 2").await;
    b.click("#export-key").await;
    b.wait_for("document.querySelector('#identity-status .error')", 10).await;
    assert!(b.text("#identity-status").await.contains("The two passphrases differ"));
    b.fill("#passphrase2", "correct horse 1").await;
    b.click("#export-key").await;
    b.wait_for("!document.getElementById('backup-warning')", 10).await;
    b.fill("#bidder-name", "Acme Roads Ltd").await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('registered')", 20).await;
    assert!(b.text("#registered").await.contains("Acme Roads Ltd"));

    // Validation: a price with three decimals and a missing duration are refused in the page.
    b.fill("#field-price", "12.345").await;
    b.click("#seal").await;
    b.wait_for("document.getElementById('err-price').textContent", 10).await;
    assert_eq!(
        b.js("return document.getElementById('field-price').getAttribute('aria-invalid')", vec![]).await,
        "true"
    );
    assert!(!b.text("#err-days").await.is_empty(), "a required field left empty is flagged");
    // The summary error stands above the fields it points to, and nothing is reviewed yet.
    assert!(b.text("#bid-summary").await.contains("Please correct the fields marked below"));
    let above = b
        .js("return document.getElementById('bid-summary').getBoundingClientRect().bottom <= document.getElementById('field-price').getBoundingClientRect().top", vec![])
        .await;
    assert_eq!(above, true, "the summary error is above the fields");
    assert!(b.text("#replace-note").await.contains("replaces your earlier bid for that lot"));
    assert!(b.text("#deadline-countdown").await.starts_with("Time left to submit: "));
    b.screenshot("2-validation").await;
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"], 0);

    // A document of three segments (64 KiB + 64 KiB + a little).
    let doc: Vec<u8> = (0..150_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let doc_path = server.data_dir.path().join("offer.pdf");
    std::fs::write(&doc_path, &doc).expect("write doc");
    // Thousands separators as people type them; the canonical amount is sealed.
    b.fill("#field-price", "1,234.50").await;
    b.fill("#field-days", "90").await;
    let input = b.client.find(fantoccini::Locator::Css("#documents")).await.expect("file input");
    input.send_keys(&doc_path.display().to_string()).await.expect("attach");
    b.click("#seal").await;
    // A review of what is about to be sealed: lot, amount, files by name and size.
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    let review = b.text("#review").await;
    assert!(
        review.contains("1 — North district")
            && review.contains("CNY 1,234.50")
            && review.contains("offer.pdf (147 KB)"),
        "{review}"
    );
    assert!(!review.contains("will replace it"), "no bid stands yet: {review}");
    b.screenshot("2-review").await;
    assert_eq!(
        server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"],
        0,
        "nothing sealed before the confirmation"
    );
    b.click("#seal-confirm").await;
    let receipt = b.wait_for("(document.getElementById('receipt-status') || {}).innerText", 60).await;
    let receipt = receipt.as_str().unwrap_or_default().to_string();
    assert!(receipt.starts_with('✓'), "the page verifies the receipt: {receipt}");
    b.screenshot("3-receipt").await;
    b.phone_screenshot("3-receipt").await;

    // The Rust code opens what the browser sealed.
    let summary = server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await;
    assert_eq!(summary["count"], 1);
    let hash = summary["envelope_hashes"][0].as_str().expect("hash").to_string();
    assert!(receipt.contains(&hash), "the receipt names the envelope {hash}: {receipt}");
    let envelope = Envelope::parse(&server.blob(&hash)).expect("the browser's envelope parses");
    assert_eq!(envelope.custody.threshold, 2);
    let s1 = open_share(&envelope, 1, &server.server_custodian_key()).expect("server share opens");
    let s2 = open_share(&envelope, 2, &alice).expect("alice's share opens");
    let k = rebuild_key(&envelope, &[s1, s2]).expect("shares rebuild the committed key");
    let fk: SymmetricKey = form_key(&envelope.binding(), &k).expect("form key");
    let form_ct = server.blob(&hex::encode(envelope.form.sha256));
    let form: Value = serde_json::from_slice(&open_form(&envelope, &fk, &form_ct).expect("form opens")).expect("json");
    assert_eq!(form, json!({"price": "1234.50", "days": 90}));
    let manifest = open_manifest(&envelope, &k).expect("manifest opens");
    assert_eq!(manifest.documents.len(), 1);
    assert_eq!(manifest.documents[0].name, "offer.pdf");
    assert_eq!(manifest.documents[0].length, doc.len() as u64);
    let stream = server.blob(&hex::encode(envelope.documents[0].sha256));
    let mut plain = Vec::new();
    decrypt_document(&envelope, &k, 0, &stream[..], &mut plain).expect("document decrypts");
    assert_eq!(plain, doc);

    // Reload: the key stays in this browser and the bid is listed with its receipt; withdraw.
    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.querySelector('#my-bids li[data-fate=stands] .withdraw')", 20).await;
    b.click("#my-bids li[data-fate=stands] .withdraw").await;
    b.client.accept_alert().await.expect("confirm");
    b.wait_for("document.querySelector('#my-bids li[data-fate=withdrawn] #withdrawal-receipt')", 20).await;
    assert!(b.text("#withdrawal-receipt").await.starts_with("✓ Bid withdrawn at"));
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"], 0);
    b.screenshot("4-withdrawn").await;

    // Deleting the key asks first; "keep it" keeps it, the second step deletes.
    b.click("#forget-key").await;
    b.wait_for("document.getElementById('forget-confirm')", 10).await;
    assert!(b.text("#forget-warning").await.contains("Without a saved key file"));
    b.click("#forget-cancel").await;
    assert!(b.text("#identity-text").await.contains("is loaded in this browser"));
    b.click("#forget-key").await;
    b.wait_for("document.getElementById('forget-confirm')", 10).await;
    b.click("#forget-confirm").await;
    b.wait_for("document.getElementById('generate-key')", 10).await;

    b.close().await;
    server.stop().await;
}
