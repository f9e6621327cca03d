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
