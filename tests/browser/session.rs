//! A whole session in the browser: a bid sealed in the page, two sealed by
//! the Rust code, the deadline, the opening, a custodian releasing in the
//! page, and the room filling in the record and verifying every opened
//! bid's form itself.

use bidroom::seal::{CustodianSecretKey, KeyFile};
use reqwest::Method;
use serde_json::json;

use crate::harness::{ADMIN_TOKEN, Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_sealing_to_a_record_verified_in_the_page() {
    let mut server = Server::for_browser().await;
    let alice: CustodianSecretKey = server.custodian("alice", "Alice Notary").await;
    let token = server.release_token("alice").await;
    let key_path = server.data_dir.path().join("alice-key.json");
    std::fs::write(
        &key_path,
        KeyFile::seal_custodian(&alice, "alice passphrase", 1000).expect("seal").to_json().expect("json"),
    )
    .expect("write key file");
    let custody = json!({"threshold": 2, "custodians": ["server", "alice"], "release_window_minutes": 5});
    let tender = server.tender("Harbour dredging", 600, Some(custody)).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("session", "en-US").await;

    // A bidder seals in the page.
    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    b.fill("#bidder-name", "Browser Dredging Co").await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('field-price')", 20).await;
    b.fill("#field-price", "777000.00").await;
    b.fill("#field-days", "120").await;
    let doc: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let doc_path = server.data_dir.path().join("method-statement.pdf");
    std::fs::write(&doc_path, &doc).expect("write doc");
    let input = b.client.find(fantoccini::Locator::Css("#documents")).await.expect("file input");
    input.send_keys(&doc_path.display().to_string()).await.expect("attach");
    b.click("#seal").await;
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    b.click("#seal-confirm").await;
    b.wait_for("((document.getElementById('receipt-status') || {}).innerText || '').startsWith('✓')", 60).await;
    server.rust_bid(&id, "Harbour Works", r#"{"price":"812000.00","days":100}"#).await;
    server.rust_bid(&id, "Deep Sea Ltd", r#"{"price":"799500.50","days":95}"#).await;

    // Bring the deadline (and the opening with it) forward; the room follows live.
    let soon = server.now().await + time::Duration::seconds(3);
    let amend = json!({"deadline": soon.format(&time::format_description::well_known::Rfc3339).expect("fmt"), "reason": "All expected bids are in"});
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&amend)).await;
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for("document.querySelector('#events li[data-type=\"opening.started\"]')", 30).await;
    b.wait_for("document.querySelector('#events li[data-type=\"custodian.released\"]')", 30).await;
    b.wait_for("document.querySelector('#record-table')", 30).await;
    // While waiting for custodians the room says who still has to release, how many are missing, how long is left.
    b.wait_for("document.querySelector('#releases li[data-custodian=alice][data-released=false]')", 20).await;
    assert!(b.text("#releases li[data-custodian=server]").await.starts_with("✓"));
    assert_eq!(b.text("#releases-missing").await, "1 more custodian(s) must release before the bids open (2 needed).");
    b.wait_for("(document.getElementById('release-left') || {}).innerText", 10).await;
    assert!(b.text("#release-left").await.starts_with("Release window: 00:0"), "{}", b.text("#release-left").await);
    b.screenshot("1-room-opening").await;
    assert!(b.text("#live-status").await.contains("Live"), "the room follows the socket");

    // Staff watch the session: alice has not released yet.
    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    b.click(&format!("#tender-{id} button.session")).await;
    b.wait_for("document.querySelector('#session-custodians li[data-custodian=alice][data-released=false]')", 20).await;
    b.wait_for("document.querySelector('#session-custodians li[data-custodian=server][data-released=true]')", 20).await;
    let warnings = b.text("#session-warnings").await;
    assert!(warnings.contains("Not released yet: Alice Notary (alice)"), "{warnings}");
    assert_eq!(b.text("#session-bids").await, "3");
    b.screenshot("1b-staff-session-opening").await;

    // The custodian releases in the page.
    b.goto(&server.url(&format!("/tenders/{id}/custodian"))).await;
    b.wait_for("document.getElementById('keyfile')", 20).await;
    let input = b.client.find(fantoccini::Locator::Css("#keyfile")).await.expect("file input");
    input.send_keys(&key_path.display().to_string()).await.expect("attach");
    b.fill("#passphrase", "alice passphrase").await;
    b.click("#load-key button[type=submit]").await;
    b.wait_for("document.getElementById('key-status')", 20).await;
    assert!(b.text("#key-status").await.contains("custodian 2 of this tender"), "{}", b.text("#key-status").await);
    b.fill("#release-token", &token).await;
    // Facts as the CLI prints them, then a question before anything is released.
    assert_eq!(b.text("#cust-bids").await, "3");
    assert!(b.text("#cust-countdown").await.contains("shares can be released now"));
    b.click("#release").await;
    b.wait_for("document.getElementById('release-cancel')", 30).await;
    assert!(b.text("#release-question").await.contains("Release 3 key share(s) for “Harbour dredging”?"));
    b.screenshot("2-custodian-question").await;
    b.click("#release-cancel").await;
    b.wait_for("document.getElementById('release-cancelled')", 5).await;
    b.click("#release").await;
    b.wait_for("document.getElementById('release-confirm')", 30).await;
    b.click("#release-confirm").await;
    b.wait_for("document.getElementById('released')", 30).await;
    assert!(b.text("#released").await.contains("3 share(s) accepted"), "{}", b.text("#released").await);
    b.screenshot("2-custodian-released").await;

    // The room: the record fills in and every opened bid is checked in the page.
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for("document.querySelector('#events li[data-type=\"record.published\"]')", 60).await;
    b.wait_for(
        "document.getElementById('verify').dataset.status === 'verified' && document.getElementById('record-verified').textContent.includes('(3 bid(s))')",
        30,
    )
    .await;
    let verify = b.all_text("#verify").await;
    assert!(verify.contains("(3 bid(s))"), "{verify}");
    let table = b.text("#record-table").await;
    assert_eq!(table.matches("✓ decrypted and matches").count(), 3, "{table}");
    assert!(
        table.contains("Browser Dredging Co") && table.contains("CNY 777,000.00") && table.contains("120"),
        "{table}"
    );
    assert!(table.contains("Deep Sea Ltd") && table.contains("CNY 799,500.50"), "{table}");
    assert!(b.text("#record").await.contains("The record is final"));
    assert!(b.text("#state").await.contains("Opened"));
    let record = server.get_ok(&format!("/api/v1/tenders/{id}/record")).await;
    assert_eq!(record["rows"].as_array().map(Vec::len), Some(3));
    b.screenshot("3-record").await;
    b.phone_screenshot("3-record").await;
    b.click("#lang-switch").await;
    b.wait_for("document.getElementById('record').innerText.includes('开标记录表')", 5).await;
    b.screenshot("4-record-zh").await;
    b.click("#lang-switch").await;

    // Staff: the final record, its export, and the documents for evaluators.
    b.goto(&server.url("/staff")).await;
    b.wait_for(&format!("document.querySelector('#tender-{id} button.session')"), 20).await;
    b.click(&format!("#tender-{id} button.session")).await;
    b.wait_for("document.querySelectorAll('#session-record tbody tr').length === 3", 20).await;
    assert!(
        b.js("return !document.getElementById('session-warnings')", vec![]).await == json!(true),
        "3 opened, all released"
    );
    let csv = b
        .js_async(
            "const r = await fetch(document.getElementById('export-csv').href); const bytes = new Uint8Array(await r.arrayBuffer());             return { bom: Array.from(bytes.slice(0, 3)), text: new TextDecoder().decode(bytes) };",
            vec![],
        )
        .await;
    assert_eq!(csv["bom"], json!([0xef, 0xbb, 0xbf]), "{csv}");
    let text = csv["text"].as_str().expect("text");
    assert!(
        text.contains("投标报价 / Price") && text.contains("Browser Dredging Co") && text.contains("777000.00"),
        "{text}"
    );
    let json_href = b.js("return document.getElementById('export-json').getAttribute('href')", vec![]).await;
    assert_eq!(json_href, json!(format!("/api/v1/tenders/{id}/record")));
    let row = b
        .js("return [...document.querySelectorAll('#session-record tbody tr')].find((r) => r.innerText.includes('Browser Dredging Co')).dataset.bid", vec![])
        .await;
    b.click(&format!("#session-record tr[data-bid='{}'] .show-docs", row.as_str().expect("bid"))).await;
    b.wait_for(
        &format!(
            "document.querySelector(\"#session-record tr[data-bid='{}'] button.doc\")",
            row.as_str().expect("bid")
        ),
        20,
    )
    .await;
    assert!(b.text("#session-record").await.contains("method-statement.pdf"));
    b.click(&format!("#session-record tr[data-bid='{}'] button.doc", row.as_str().expect("bid"))).await;
    // The download is logged, and the session timeline shows it live.
    b.wait_for("document.querySelector('#session-events li[data-type=\"documents.accessed\"]')", 20).await;
    b.screenshot("5-staff-session-record").await;
    b.phone_screenshot("5-staff-session-record").await;

    b.close().await;
    server.stop().await;
}
