//! A bidder signs in to the opening room from the bid page with its key:
//! the room counts it under a pseudonym, and the tender's log says so.

use crate::harness::{Browser, Server};
use crate::support::wait::events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidder_signs_in_to_the_room_from_the_bid_page() {
    let mut server = Server::for_browser().await;
    let tender = server.tender("Ferry terminal", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("signin", "zh-CN").await;
    b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    assert!(b.text("#sign-in").await.contains("请先在上方载入密钥并完成注册"));
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    b.fill("#bidder-name", "Ferry Builders").await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('sign-in-go')", 20).await;
    b.click("#sign-in-go").await;
    let said = b.wait_for("(document.getElementById('signed-in') || {}).innerText", 20).await;
    let said = said.as_str().unwrap_or_default().to_string();
    let pseudonym = said.trim_start_matches("签到成功，开标室中您的匿名编号为 ").trim_end_matches("。").to_string();
    assert!(pseudonym.len() == 16 && pseudonym.chars().all(|c| c.is_ascii_hexdigit()), "{said}");
    b.wait_for("document.getElementById('sign-in-presence').innerText === '已签到投标人：1'", 20).await;
    let evs = events(&server, &id).await;
    let signed = evs.iter().find(|e| e["type"] == "room.signed_in").expect("a room.signed_in event");
    assert_eq!(signed["data"]["bidder"], pseudonym.as_str());
    assert_eq!(signed["data"]["signed_in"], 1);
    b.js("document.getElementById('sign-in').scrollIntoView()", vec![]).await;
    b.screenshot("1-signed-in-zh").await;
    b.phone_screenshot("1-signed-in-zh").await;
    b.close().await;
    server.stop().await;
}
