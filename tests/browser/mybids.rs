//! "My bids" on the bid page: bids on two lots and a replacement, listed
//! per lot after a reload with what became of each (standing, replaced,
//! withdrawn), each with its receipt and a re-check; a withdrawal shows its
//! own verified receipt and changes the list.

use serde_json::json;

use crate::harness::{Browser, Server};

/// Seals a bid for `lot` in the page and waits until the list has `n` bids.
async fn seal(b: &Browser, lot: &str, fields: &[(&str, &str)], n: usize) -> String {
    b.js(
        "const s = document.getElementById('lot'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        vec![json!(lot)],
    )
    .await;
    for (k, v) in fields {
        b.fill(&format!("#field-{k}"), v).await;
    }
    b.click("#seal").await;
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    let review = b.text("#review").await;
    b.click("#seal-confirm").await;
    b.wait_for(&format!("document.querySelectorAll('#my-bids li.my-bid').length === {n}"), 60).await;
    review
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_bids_per_lot_with_replacement_and_withdrawal() {
    let mut server = Server::for_browser().await;
    let id = server.two_lot_tender(3600).await;
    let b = Browser::start("mybids", "en-US").await;
    let page = server.url(&format!("/tenders/{id}/bid"));
    b.goto(&page).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    b.fill("#bidder-name", "Two Lots Marine Ltd").await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('registered')", 20).await;
    b.wait_for("document.getElementById('my-bids-none')", 20).await;

    seal(&b, "1", &[("price", "100,000"), ("days", "30")], 1).await;
    seal(&b, "2", &[("warranty", "12"), ("price", "200000.5")], 2).await;
    // Sealing lot 1 again: the review says it replaces the standing bid.
    let review = seal(&b, "1", &[("price", "95000"), ("days", "28")], 3).await;
    assert!(review.contains("You already have a bid standing for lot 1: this bid will replace it."), "{review}");
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"], 2);

    // After a reload every bid is still there, per lot, with its fate.
    b.goto(&page).await;
    b.wait_for("document.querySelectorAll('#my-bids li.my-bid').length === 3", 20).await;
    let fates = b
        .js(
            "return [...document.querySelectorAll('#my-bids .my-lot')].map((lot) => [lot.id, [...lot.querySelectorAll('li')].map((li) => li.dataset.fate + ' ' + li.querySelector('p').innerText)]);",
            vec![],
        )
        .await;
    assert_eq!(
        fates,
        json!([
            [
                "my-lot-1",
                ["stands Standing Price: CNY 95,000.00", "replaced Replaced by a later bid Price: CNY 100,000.00"]
            ],
            ["my-lot-2", ["stands Standing Price: CNY 200,000.50"]]
        ]),
        "newest first within each lot"
    );
    assert_eq!(b.js("return document.querySelectorAll('#my-bids li .download-receipt').length", vec![]).await, 3);
    assert_eq!(
        b.js("return document.querySelectorAll('#my-bids li[data-fate=replaced] .withdraw').length", vec![]).await,
        0,
        "a replaced bid cannot be withdrawn"
    );
    b.click("#my-lot-1 li[data-fate=replaced] .recheck").await;
    b.wait_for("document.querySelector('#my-lot-1 li[data-fate=replaced] .my-bid-status .ok')", 20).await;
    assert!(
        b.text("#my-lot-1 li[data-fate=replaced] .my-bid-status").await.contains("Status: Replaced by a later bid.")
    );
    b.js("document.getElementById('my-bids').scrollIntoView()", vec![]).await;
    b.screenshot("1-my-bids").await;

    // Withdraw lot 2: its own receipt, verified, and the list changes.
    b.click("#my-lot-2 li[data-fate=stands] .withdraw").await;
    b.client.accept_alert().await.expect("confirm");
    b.wait_for("document.querySelector('#my-lot-2 li[data-fate=withdrawn] #withdrawal-receipt')", 20).await;
    assert!(
        b.text("#withdrawal-receipt").await.contains("The withdrawal receipt verifies against the signed public log")
    );
    assert_eq!(b.js("return !!document.querySelector('#my-lot-2 .download-withdrawal')", vec![]).await, true);
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"], 1);
    b.js("document.getElementById('my-lot-2').scrollIntoView()", vec![]).await;
    b.phone_screenshot("2-withdrawn").await;
    b.click("#lang-switch").await;
    b.wait_for("document.getElementById('h-my-bids').innerText === '我在本项目的投标'", 5).await;
    b.wait_for("document.querySelectorAll('#my-bids li.my-bid').length === 3", 20).await;
    assert!(b.text("#my-lot-2").await.contains("已撤回"));
    b.js("document.getElementById('my-bids').scrollIntoView()", vec![]).await;
    b.screenshot("3-my-bids-zh").await;
    b.phone_screenshot("3-my-bids-zh").await;

    b.close().await;
    server.stop().await;
}
