//! The staff console by role: an admin creates a staff account in the page
//! (its token shown once) and admits a bidder to an approved-only tender;
//! an evaluator is not offered what it may not do.

use reqwest::Method;

use crate::harness::{ADMIN_TOKEN, Browser, Server};
use crate::support::bids;
use crate::support::drafts::Draft;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_admissions_and_what_each_role_is_offered() {
    let mut server = Server::for_browser().await;
    let mut draft = Draft::on(&server, 3600).await.title("Water meters").json();
    draft["registration"] = "approved".into();
    let created = server.admin_ok(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    let id = created["id"].as_str().expect("id").to_string();
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    let admitted = bids::register(&server, "Acme Meters Ltd").await;
    let outsider = bids::register(&server, "Outsider Co").await;

    let b = Browser::start("accounts", "en-US").await;
    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('accounts-list') && document.querySelector('#accounts-list table')", 20).await;
    assert!(b.text("#whoami").await.contains("(Administrator)"), "{}", b.text("#whoami").await);

    // A new evaluator account: its token is shown once, the list has it.
    b.fill("#account-name", "Eva Li").await;
    b.js("document.getElementById('account-role').value = 'evaluator'; return true;", vec![]).await;
    b.click("#account-create").await;
    let token = b.wait_for("(document.getElementById('account-token') || {}).value", 10).await;
    let token = token.as_str().expect("token").to_string();
    assert!(b.text("#accounts-status").await.contains("shown only this once"));
    b.wait_for("document.getElementById('accounts-list').innerText.includes('Eva Li')", 10).await;
    assert!(b.text("#accounts-list").await.contains("Evaluator"));
    b.screenshot("1-accounts").await;

    // Admission: an unknown key id is explained; the bidder's own is admitted.
    b.click(&format!("#tender-{id} button.admit")).await;
    let input = format!("#admit-{id}");
    b.fill(&input, "0123456789abcdef").await;
    b.click(&format!("#tender-{id} .admit-form button[type=submit]")).await;
    b.wait_for(&format!("document.querySelector('#tender-{id} .admit-status .error')"), 10).await;
    assert!(b.text(&format!("#tender-{id} .admit-status")).await.contains("No bidder is registered"));
    let key_id = admitted.public_key().key_id();
    b.fill(&input, &key_id).await;
    b.click(&format!("#tender-{id} .admit-form button[type=submit]")).await;
    b.wait_for(&format!("document.querySelector('#tender-{id} .admit-status .ok')"), 10).await;
    assert!(b.text(&format!("#tender-{id} .admit-status")).await.contains("Acme Meters Ltd"));
    b.screenshot("2-admitted").await;
    // What the page did is what the server now enforces.
    let sealed = bids::seal_form(&server, &id, &admitted, &serde_json::json!({"price": "100.00"}), &[]).await;
    let (s, v) = bids::submit(&server, &id, &sealed).await;
    assert!(s.is_success(), "the admitted bidder bids: {s} {v}");
    let sealed = bids::seal_form(&server, &id, &outsider, &serde_json::json!({"price": "90.00"}), &[]).await;
    let (s, v) = bids::submit(&server, &id, &sealed).await;
    assert!(s.is_client_error(), "a bidder not admitted is refused: {s} {v}");

    // The evaluator: no new tender, no accounts, no admissions; a sentence
    // says what it can do.
    b.click("#signout").await;
    b.wait_for("document.getElementById('token')", 10).await;
    b.fill("#token", &token).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('role-help')", 20).await;
    assert!(b.text("#whoami").await.contains("Eva Li (Evaluator)"));
    assert!(b.text("#role-help").await.contains("read the bids' documents"));
    let offered = b
        .js(
            "return [!!document.getElementById('new-tender'), !!document.getElementById('accounts'), \
             document.querySelectorAll('button.admit, button.publish, button.amend, button.cancel').length]",
            vec![],
        )
        .await;
    assert_eq!(offered, serde_json::json!([false, false, 0]), "an evaluator is offered nothing it may not do");
    b.screenshot("3-evaluator").await;
    b.phone_screenshot("3-evaluator").await;

    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custodian_key_made_in_the_browser_is_registered_in_the_console() {
    let mut server = Server::for_browser().await;
    let b = Browser::start("custodian-key", "zh-CN").await;

    // The future custodian: a key made in its browser, saved to a file (the
    // page's download is captured here to read it back with the Rust code).
    b.goto(&server.url("/custodians/new")).await;
    b.wait_for("document.getElementById('make-key')", 20).await;
    b.js(
        "window.__files = []; const make = URL.createObjectURL; \
         URL.createObjectURL = (blob) => { window.__files.push(blob); return make(blob); }; return true;",
        vec![],
    )
    .await;
    b.click("#make-key").await;
    b.wait_for("document.getElementById('save-key')", 10).await;
    assert!(b.text("#new-key").await.contains("没有该文件及其口令"), "{}", b.text("#new-key").await);
    b.fill("#passphrase", "保管人口令 2027").await;
    b.fill("#passphrase2", "保管人口令 2028").await;
    b.click("#save-key").await;
    b.wait_for("document.querySelector('#key-status .error')", 10).await;
    assert!(b.text("#key-status").await.contains("两次输入的口令不一致"));
    b.fill("#passphrase", "保管人口令 2027").await;
    b.fill("#passphrase2", "保管人口令 2027").await;
    b.click("#save-key").await;
    b.wait_for("document.getElementById('saved')", 60).await;
    let file = b.js_async("return await window.__files[window.__files.length - 1].text();", vec![]).await;
    let public = b.js("return document.getElementById('public-key').value", vec![]).await;
    let public = public.as_str().expect("public key").to_string();
    b.screenshot("1-made").await;
    b.phone_screenshot("1-made").await;
    let key = bidroom::seal::KeyFile::parse(file.as_str().expect("file").as_bytes())
        .expect("the Rust code reads the browser's key file")
        .unlock_custodian("保管人口令 2027")
        .expect("and unlocks it with the passphrase");
    assert_eq!(bidroom::seal::b64(key.public_key().as_bytes()), public, "the page shows the file's public key");

    // Staff register it from the public key alone; the token is shown once.
    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('custodian-form')", 20).await;
    b.fill("#custodian-id", "notary-zhang").await;
    b.fill("#custodian-name", "张公证员").await;
    b.fill("#custodian-pk", &public).await;
    b.click("#custodian-register").await;
    let token = b.wait_for("(document.getElementById('custodian-token') || {}).value", 10).await;
    assert!(token.as_str().is_some_and(|t| t.starts_with("brs_")), "{token}");
    b.wait_for("document.getElementById('custodians-list').innerText.includes('张公证员')", 10).await;
    let listed = server.get_ok("/api/v1/custodians").await;
    let mine = listed.as_array().expect("list").iter().find(|c| c["id"] == "notary-zhang").expect("registered");
    assert_eq!(mine["public_key"], public.as_str());
    // The same key again is refused in words, and nothing changes.
    b.fill("#custodian-id", "notary-zhang").await;
    b.fill("#custodian-name", "别人").await;
    b.fill("#custodian-pk", &public).await;
    b.click("#custodian-register").await;
    b.wait_for("document.querySelector('#custodians-status .error')", 10).await;
    // The new custodian can be chosen in the tender form at once.
    b.click("#new-tender").await;
    b.wait_for("document.getElementById('cust-notary-zhang')", 10).await;
    b.screenshot("2-registered").await;

    b.close().await;
    server.stop().await;
}
