//! The custodian page says what the CLI says (opening time, countdown,
//! release deadline, bids, threshold) and, pressed too early or too late,
//! says which and releases nothing. The release itself, after its
//! confirmation, is in `session.rs`.

use bidroom::seal::KeyFile;
use serde_json::json;

use crate::harness::{Browser, Server};
use crate::support::wait::wait_for_state;

/// Opens the custodian page of `id` and loads the key file at `path`.
async fn load_key(server: &Server, b: &Browser, id: &str, path: &std::path::Path) {
    b.goto(&server.url(&format!("/tenders/{id}/custodian"))).await;
    b.wait_for("document.getElementById('keyfile')", 20).await;
    let input = b.client.find(fantoccini::Locator::Css("#keyfile")).await.expect("file input");
    input.send_keys(&path.display().to_string()).await.expect("attach");
    b.fill("#passphrase", "alice passphrase").await;
    b.click("#load-key button[type=submit]").await;
    b.wait_for("document.getElementById('key-status')", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custodian_page_says_too_early_and_too_late() {
    let mut server = Server::for_browser().await;
    let alice = server.custodian("alice", "Alice Notary").await;
    let token = server.release_token("alice").await;
    let key_path = server.data_dir.path().join("alice-key.json");
    std::fs::write(
        &key_path,
        KeyFile::seal_custodian(&alice, "alice passphrase", 1000).expect("seal").to_json().expect("json"),
    )
    .expect("write key file");

    // Before the opening: the facts, and "too early".
    let custody = json!({"threshold": 2, "custodians": ["server", "alice"], "release_window_minutes": 20});
    let early = server.tender("Canal lock repair", 3600, Some(custody)).await;
    let early_id = early["id"].as_str().expect("id").to_string();
    server.rust_bid(&early_id, "Lock Works", r#"{"price":"5000.00","days":10}"#).await;
    let b = Browser::start("custodian", "zh-CN").await;
    load_key(&server, &b, &early_id, &key_path).await;
    b.wait_for("document.getElementById('cust-bids').innerText === '1 份'", 10).await;
    let countdown = b.text("#cust-countdown").await;
    assert!(countdown.starts_with("00:59:") || countdown == "01:00:00", "a countdown to the opening: {countdown}");
    assert!(b.text("#cust-until").await.contains("释放期限为开标后 20 分钟"), "{}", b.text("#cust-until").await);
    assert_eq!(b.text("#cust-threshold").await, "2 位保管人中须有 2 位释放");
    assert!(!b.text("#cust-opening").await.is_empty());
    b.fill("#release-token", &token).await;
    b.click("#release").await;
    b.wait_for("document.getElementById('release-early')", 10).await;
    assert!(
        b.text("#release-early").await.starts_with("时间未到：开标开始后方可释放密钥分片"),
        "{}",
        b.text("#release-early").await
    );
    assert_eq!(b.js("return !!document.getElementById('release-confirm')", vec![]).await, false);
    b.screenshot("1-too-early-zh").await;
    b.phone_screenshot("1-too-early-zh").await;

    // After the opening (the server's share alone opened it): "too late", never "not started".
    let custody = json!({"threshold": 1, "custodians": ["server", "alice"], "release_window_minutes": 5});
    let late = server.tender("Canal dredging", 3, Some(custody)).await;
    let late_id = late["id"].as_str().expect("id").to_string();
    server.rust_bid(&late_id, "Dredge Co", r#"{"price":"7000.00","days":12}"#).await;
    wait_for_state(&server, &late_id, "opened", 40).await;
    // English from here on (the choice is remembered across pages).
    b.click("#lang-switch").await;
    b.wait_for("document.documentElement.lang === 'en'", 5).await;
    load_key(&server, &b, &late_id, &key_path).await;
    b.wait_for("document.getElementById('cust-countdown').innerText === 'The opening is over.'", 10).await;
    b.fill("#release-token", &token).await;
    b.click("#release").await;
    b.wait_for("document.getElementById('release-late')", 10).await;
    let late_text = b.text("#release-late").await;
    assert!(
        late_text.starts_with("Too late: the opening is over") && !late_text.contains("not started"),
        "{late_text}"
    );
    b.screenshot("2-too-late-en").await;

    b.close().await;
    server.stop().await;
}
