//! The room on the live socket: events, presence and the video stream
//! arrive without a reload; the feed resumes after a dropped connection
//! without a gap or a repeat; without WebSockets it falls back to polling.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Browser, Server};

async fn amend(server: &Server, id: &str, n: u32) {
    let t = server.get_ok(&format!("/api/v1/tenders/{id}")).await;
    let deadline = time::OffsetDateTime::parse(
        t["deadline"].as_str().expect("deadline"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339")
        + time::Duration::minutes(1);
    let body = json!({"deadline": deadline.format(&time::format_description::well_known::Rfc3339).expect("fmt"), "reason": format!("Clarification No. {n}")});
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&body)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_follows_the_socket_and_shows_the_stream_with_the_log_head() {
    let mut server = Server::for_browser().await;
    let tender = server.tender("Tram depot roof", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("live-room", "en-US").await;
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for(
        "document.getElementById('verify') && document.getElementById('verify').dataset.status === 'verified'",
        30,
    )
    .await;
    b.wait_for("document.querySelector('#live-status[data-mode=socket][data-connected=true]')", 10).await;
    assert!(b.text("#live-status").await.contains("Live"));
    b.wait_for("(document.getElementById('presence') || {}).innerText", 10).await;
    assert!(b.text("#presence").await.contains("Watching now: 1"), "{}", b.text("#presence").await);
    assert!(b.js("return document.getElementById('stream').hidden", vec![]).await == json!(true), "no stream yet");

    // Staff set a video stream: it appears live, beside the verified log head.
    let video = json!({"url": "https://video.example.org/live/depot.mp4", "kind": "video"});
    server.admin_ok(Method::PUT, &format!("/api/v1/tenders/{id}/stream"), Some(&video)).await;
    b.wait_for(
        "document.querySelector('#stream-media') && document.querySelector('#stream-media').tagName === 'VIDEO'",
        15,
    )
    .await;
    assert_eq!(
        b.js("return document.getElementById('stream-media').src", vec![]).await,
        "https://video.example.org/live/depot.mp4"
    );
    b.wait_for("document.querySelector('#events li[data-type=\"tender.stream_changed\"].ok')", 15).await;
    b.wait_for("document.getElementById('head-size')", 15).await;
    let log_size = server.get_ok("/api/v1/log/checkpoint").await["size"].as_u64().expect("size");
    b.wait_for(&format!("document.getElementById('head-size').innerText === '{log_size}'"), 15).await;
    let root = b.text("#head-root").await;
    assert!(root.len() == 64 && root.chars().all(|c| c.is_ascii_hexdigit()), "{root}");
    b.screenshot("1-video").await;

    // Changed to an embedded player: a sandboxed iframe.
    let embed = json!({"url": "https://player.example.com/embed/depot", "kind": "embed"});
    server.admin_ok(Method::PUT, &format!("/api/v1/tenders/{id}/stream"), Some(&embed)).await;
    b.wait_for(
        "document.querySelector('#stream-media') && document.querySelector('#stream-media').tagName === 'IFRAME'",
        15,
    )
    .await;
    let sandbox = b.js("return document.getElementById('stream-media').getAttribute('sandbox')", vec![]).await;
    assert_eq!(sandbox, "allow-scripts allow-presentation allow-same-origin");
    assert_eq!(
        b.js("return document.getElementById('stream-media').getAttribute('referrerpolicy')", vec![]).await,
        "no-referrer"
    );

    // Other events arrive live too, and are verified as they come.
    amend(&server, &id, 1).await;
    b.wait_for("document.querySelector('#events li[data-type=\"tender.amended\"].ok')", 15).await;
    b.wait_for("document.getElementById('verify').dataset.status === 'verified'", 15).await;
    assert!(b.all_text("#verify").await.contains("all 4 events"), "{}", b.all_text("#verify").await);
    b.screenshot("2-embed").await;
    b.phone_screenshot("2-embed").await;
    b.click("#lang-switch").await;
    b.wait_for("document.getElementById('stream').innerText.includes('直播视频')", 5).await;
    assert!(b.text("#log-head").await.contains("日志头"));
    b.screenshot("3-zh").await;

    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_feed_resumes_without_gap_or_repeat_and_polls_without_websockets() {
    let mut server = Server::for_browser().await;
    let tender = server.tender("Bridge paint", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("live-feed", "en-US").await;
    b.goto(&server.url("/")).await;
    b.wait_for("document.getElementById('groups')", 20).await;
    let start = r#"
        const { LiveFeed } = await import('/assets/js/live.js');
        window.feedLog = { seqs: [], hellos: 0, modes: [] };
        const h = {
          hello: () => window.feedLog.hellos++,
          events: (evs) => evs.forEach((e) => window.feedLog.seqs.push(e.seq)),
          status: (s) => window.feedLog.modes.push(s.mode),
        };
        if (args[1]) window.WebSocket = undefined;
        window.feed = new LiveFeed(args[0], h).start();
        return true;
    "#;
    b.js_async(start, vec![json!(id), json!(false)]).await;
    b.wait_for("window.feedLog.hellos === 1 && window.feedLog.seqs.length === 1", 10).await;
    amend(&server, &id, 1).await;
    b.wait_for("window.feedLog.seqs.length === 2", 10).await;
    // Drop the connection, and publish while the page is away.
    b.js("window.feed.ws.close(); return true;", vec![]).await;
    amend(&server, &id, 2).await;
    amend(&server, &id, 3).await;
    b.wait_for("window.feedLog.hellos === 2 && window.feedLog.seqs.length >= 4", 15).await;
    amend(&server, &id, 4).await;
    // A later event marks the end: a repeat of an earlier one would have
    // come before it on the ordered feed.
    amend(&server, &id, 5).await;
    b.wait_for("window.feedLog.seqs.includes(6)", 10).await;
    let log = b.js("return window.feedLog", vec![]).await;
    assert_eq!(log["seqs"], json!([1, 2, 3, 4, 5, 6]), "every event once, in order: {log}");
    assert!(log["modes"].as_array().expect("modes").iter().all(|m| m == "socket"), "{log}");
    b.js("window.feed.stop(); return true;", vec![]).await;

    // No WebSocket in this browser: the same feed polls the events API.
    b.js_async(start, vec![json!(id), json!(true)]).await;
    b.wait_for("window.feedLog.seqs.length === 6", 10).await;
    amend(&server, &id, 6).await;
    b.wait_for("window.feedLog.seqs.includes(7)", 10).await;
    let log: Value = b.js("return window.feedLog", vec![]).await;
    assert_eq!(log["seqs"], json!([1, 2, 3, 4, 5, 6, 7]), "{log}");
    assert_eq!(log["modes"][0], "poll", "{log}");
    assert_eq!(log["hellos"], 0, "{log}");

    b.close().await;
    server.stop().await;
}
