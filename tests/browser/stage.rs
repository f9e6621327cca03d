//! The room's stage strip: the current stage and its countdown on the
//! server clock, frozen with a notice while the host holds the session;
//! the ceiling price above the record and a bid above it marked; a tender
//! with too few bidders says it failed. In Chinese, as a bidder in China
//! would read it.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Browser, Server};
use crate::support::drafts::Draft;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_shows_the_stage_its_countdown_the_holds_and_the_ceiling() {
    let server = Server::for_browser().await;
    server.custodian("notary", "公证处").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 10});
    let held = Draft::on(&server, 3)
        .await
        .title("市政道路维修（解密）")
        .opening_at_deadline()
        .custody(custody)
        .published(&server)
        .await;
    server.rust_bid(&held, "甲公司", r#"{"price": "100.00", "days": 90}"#).await;
    let prices = json!([{"lot": "1", "kind": "ceiling", "field": "price", "amount": "101.00"}]);
    let read = Draft::on(&server, 3)
        .await
        .title("市政道路维修（唱标）")
        .opening_at_deadline()
        .session(json!({"prices": prices}))
        .published(&server)
        .await;
    server.rust_bid(&read, "甲公司", r#"{"price": "100.00", "days": 90}"#).await;
    server.rust_bid(&read, "乙公司", r#"{"price": "120.00", "days": 80}"#).await;
    let failed = Draft::on(&server, 3)
        .await
        .title("市政道路维修（流标）")
        .opening_at_deadline()
        .session(json!({"min_bids": 3}))
        .published(&server)
        .await;
    server.rust_bid(&failed, "甲公司", r#"{"price": "100.00", "days": 90}"#).await;

    let b = Browser::start("stage-room", "zh-CN").await;
    b.goto(&server.url(&format!("/tenders/{held}"))).await;
    b.wait_for("document.querySelector('#stage-steps li.current[data-stage=decryption]')", 30).await;
    b.wait_for("document.getElementById('stage-countdown')", 5).await;
    assert!(b.text("#stage-label").await.contains("解密剩余时间"), "{}", b.text("#stage-label").await);
    b.screenshot("1-decryption").await;
    let path = format!("/api/v1/tenders/{held}/session");
    server
        .admin_ok(Method::POST, &path, Some(&json!({"action": "suspend", "notice": "系统故障，恢复时间另行通知"})))
        .await;
    b.wait_for("document.querySelector('#stage-label[data-suspended=true]')", 15).await;
    assert!(b.text("#stage-label").await.contains("开标暂停：系统故障"), "{}", b.text("#stage-label").await);
    let frozen = b.text("#stage-countdown").await;
    b.wait_for(&format!("document.getElementById('stage-countdown').innerText === {}", json!(frozen)), 5).await;
    b.wait_for("document.querySelector('#events li[data-type=\"session.suspended\"]')", 15).await;
    b.screenshot("2-suspended").await;
    server.admin_ok(Method::POST, &path, Some(&json!({"action": "resume"}))).await;
    b.wait_for("document.querySelector('#stage-label[data-suspended=false]')", 15).await;

    b.goto(&server.url(&format!("/tenders/{read}"))).await;
    b.wait_for("document.querySelector('#record-table tr[data-above=true]')", 40).await;
    assert!(b.text("#record").await.contains("标段1最高投标限价：101.00"), "{}", b.text("#record").await);
    assert!(b.text("#record-table tr[data-above=true]").await.contains("超过最高投标限价"));
    b.screenshot("3-announcement").await;

    b.goto(&server.url(&format!("/tenders/{failed}"))).await;
    b.wait_for(
        "document.getElementById('stage-label') && document.getElementById('stage-label').innerText.includes('流标')",
        40,
    )
    .await;
    b.wait_for("document.querySelector('#events li[data-type=\"tender.failed\"]')", 15).await;
    assert!(b.text("#events").await.contains("投标人不足"), "{}", b.text("#events").await);
    b.screenshot("4-failed").await;
    b.close().await;
}
