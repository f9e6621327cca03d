//! The public pages: the tender list with search, and the room following
//! a tender live (poll) to a record it verified itself, in both languages.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_search_and_a_room_that_verifies_itself() {
    let mut server = Server::for_browser().await;
    server.custodian("alice", "Alice Notary").await;
    server.custodian("bob", "Bob Supervisor").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice", "bob"], "release_window_minutes": 45});
    let open = server.tender("Road maintenance 2027", 3 * 24 * 3600, Some(custody)).await;
    let soon = server.tender("School canteen supplies", 3600, None).await;
    let open_id = open["id"].as_str().expect("id").to_string();
    server.rust_bid(&open_id, "Acme Roads", r#"{"price":"99.00","days":30}"#).await;
    server.rust_bid(&open_id, "Beta Build", r#"{"price":"98.50","days":45}"#).await;
    let now = server.now().await;
    let new_deadline = now + time::Duration::days(4);
    let amend = json!({"deadline": new_deadline.format(&time::format_description::well_known::Rfc3339).expect("fmt"), "reason": "Clarification of lot 1"});
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{open_id}/amend"), Some(&amend)).await;

    let b = Browser::start("public", "en-US").await;

    // The list: grouped, and searchable.
    b.goto(&server.url("/")).await;
    b.wait_for("document.querySelector('#group-open li')", 20).await;
    // Both take bids, so both are under "open", the one closing within a
    // day with a badge saying so; nothing awaits its opening yet.
    let open_group = b.text("#group-open").await;
    assert!(
        open_group.contains("Road maintenance 2027") && open_group.contains("School canteen supplies"),
        "{open_group}"
    );
    assert_eq!(open_group.matches("Closes within a day").count(), 1, "{open_group}");
    assert!(b.text("#group-soon").await.contains("None."));
    b.screenshot("1-list").await;
    b.phone_screenshot("1-list").await;
    b.fill("#q", soon["reference"].as_str().expect("reference")).await;
    b.click("#search button[type=submit]").await;
    b.wait_for("!document.getElementById('groups').innerText.includes('Road maintenance')", 10).await;
    assert!(b.text("#groups").await.contains("School canteen supplies"));

    // The room: facts, custody in words, count, timeline, and the verification mark.
    b.goto(&server.url(&format!("/tenders/{open_id}"))).await;
    b.wait_for(
        "document.getElementById('verify') && document.getElementById('verify').dataset.status === 'verified'",
        30,
    )
    .await;
    let verify = b.all_text("#verify").await;
    // One plain sentence shows; the jargon is folded away.
    let shown = b.text("#verify").await;
    assert!(shown.contains("Verified in your browser: all 4 events") && !shown.contains("Ed25519"), "{shown}");
    assert!(verify.contains("all 4 events are in the signed public log"), "{verify}");
    assert!(verify.contains("Ed25519 signature by bidroom.local/log"), "{verify}");
    // The evidence bundle is offered for download, and is a tar with its manifest.
    assert!(verify.contains("Download the evidence bundle"), "{verify}");
    let got = b
        .js_async(
            "const a = document.getElementById('evidence-download'); const r = await fetch(a.href);\n\
             const bytes = new Uint8Array(await r.arrayBuffer());\n\
             return {status: r.status, type: r.headers.get('content-type'), download: a.getAttribute('download'),\n\
                     manifest: new TextDecoder().decode(bytes).includes('bidroom-evidence/1')};",
            vec![],
        )
        .await;
    assert_eq!(got["status"], 200, "{got}");
    assert_eq!(got["type"], "application/x-tar", "{got}");
    assert_eq!(got["download"], format!("evidence-{open_id}.tar"), "{got}");
    assert_eq!(got["manifest"], true, "{got}");
    let custody_text = b.text("#custody-text").await;
    assert!(
        custody_text.contains("The bids open when 2 of these 3 custodians release their key shares: the server itself")
            && custody_text.contains("Alice Notary (alice), Bob Supervisor (bob)")
            && custody_text.contains("45 minutes"),
        "{custody_text}"
    );
    assert_eq!(b.text("#bid-count").await, "2");
    assert!(b.text("#bids-note").await.starts_with("Only the number is public until the opening"));
    let timeline = b.text("#events").await;
    assert!(timeline.contains("Clarification of lot 1") && timeline.matches("✓ verified").count() == 4, "{timeline}");
    let countdown = b.text("#countdown").await;
    assert!(countdown.contains(" d "), "a countdown of days on the server clock: {countdown}");
    assert!(b.text("#zone").await.contains("The server's clock runs in UTC"));
    b.screenshot("2-room").await;
    b.phone_screenshot("2-room").await;

    // 中文.
    b.click("#lang-switch").await;
    b.wait_for("document.documentElement.lang === 'zh-CN'", 5).await;
    let zh = b.all_text("#verify").await;
    assert!(zh.contains("已在您的浏览器中验证"), "{zh}");
    assert!(zh.contains("下载证据包"), "{zh}");
    assert!(b.text("#custody-text").await.contains("以下 3 位密钥保管人中有 2 位"));
    b.screenshot("3-room-zh").await;
    b.click("#lang-switch").await;

    // Live: a tender closing in a few seconds; the open page sees the close and verifies it.
    let closing = server.tender("Snow clearing", 4, None).await;
    let closing_id = closing["id"].as_str().expect("id").to_string();
    b.goto(&server.url(&format!("/tenders/{closing_id}"))).await;
    b.wait_for(
        "document.getElementById('verify') && document.getElementById('verify').dataset.status === 'verified'",
        30,
    )
    .await;
    b.wait_for("document.querySelector('#events li[data-type=\"tender.closed\"].ok')", 30).await;
    // With no bids the tender fails at its opening (流标: fewer than the
    // minimum of one bidder), and nothing is opened.
    b.wait_for("document.querySelector('#events li[data-type=\"tender.failed\"].ok')", 30).await;
    b.wait_for("document.getElementById('verify').dataset.status === 'verified'", 20).await;
    assert!(
        b.all_text("#verify").await.contains("consistency proof"),
        "a viewer that saw an older checkpoint checks consistency"
    );
    assert!(b.text("#state").await.contains("Failed"), "{}", b.text("#state").await);
    b.screenshot("4-room-closed").await;

    b.close().await;
    server.stop().await;
}
