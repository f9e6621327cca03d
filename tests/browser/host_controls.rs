//! The host's controls in the staff session view (主持人): pause, resume and
//! the one extension of the decryption stage, each asked for confirmation
//! (and the extension's minutes and reason), each changing the session the
//! server keeps and logging its event.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, Browser, Server};
use crate::support::drafts::Draft;
use crate::support::wait::events;

async fn session(server: &Server, id: &str) -> Value {
    server.admin_ok(Method::GET, &format!("/api/v1/tenders/{id}/session"), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_pauses_resumes_and_extends_from_the_session_view() {
    let server = Server::for_browser().await;
    server.custodian("notary", "公证处").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 10});
    let id = Draft::on(&server, 3)
        .await
        .title("市政道路维修（主持）")
        .opening_at_deadline()
        .custody(custody)
        .published(&server)
        .await;
    server.rust_bid(&id, "甲公司", r#"{"price": "100.00", "days": 90}"#).await;

    let b = Browser::start("host-controls", "zh-CN").await;
    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    b.wait_for(&format!("document.querySelector('#tender-{id} button.session')"), 20).await;
    b.click(&format!("#tender-{id} button.session")).await;
    // The notary has not released: the session waits in decryption.
    b.wait_for("document.getElementById('host-pause')", 40).await;
    b.screenshot("1-decryption").await;
    // Answer the page's questions as a host would: yes, 5 minutes, a reason.
    b.js(
        "window.confirm = () => true; window.__answers = ['5', '公证员网络故障，延长解密时间']; \
         window.prompt = () => window.__answers.shift(); return true;",
        vec![],
    )
    .await;

    b.click("#host-pause").await;
    b.wait_for("document.getElementById('host-resume')", 15).await;
    assert_eq!(session(&server, &id).await["paused"], json!(true));
    b.screenshot("2-paused").await;
    b.click("#host-resume").await;
    b.wait_for("document.getElementById('host-pause')", 15).await;
    assert_eq!(session(&server, &id).await["paused"], json!(false));

    let before = session(&server, &id).await["ends_at"].clone();
    b.click("#host-extend").await;
    b.wait_for("document.getElementById('host-pause') && !document.getElementById('host-extend')", 15).await;
    let v = session(&server, &id).await;
    assert_eq!(v["extended"], json!(["decryption"]), "{v}");
    assert_ne!(v["ends_at"], before, "{v}");
    b.screenshot("3-extended").await;

    let ev = events(&server, &id).await;
    let kinds: Vec<&str> = ev.iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in ["session.paused", "session.resumed", "session.extended"] {
        assert!(kinds.contains(&kind), "{kind} not logged: {kinds:?}");
    }
    let extended = ev.iter().find(|e| e["type"] == "session.extended");
    assert_eq!(extended.expect("extension")["data"]["reason"], json!("公证员网络故障，延长解密时间"));
    b.close().await;
}
