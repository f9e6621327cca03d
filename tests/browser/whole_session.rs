//! A whole opening session in real Chromium (issue 12, "Done when"): three
//! bidders, each in its own window with its own key in the page, a host in
//! the staff session view and the public in a room page nobody signed in
//! to. Sign-in, decryption, 唱标, an objection raised in the bid page and
//! answered by the host (the end button disabled while it waits), an
//! announcement, two confirmations in the page and one silence, the end;
//! the room shows all of it live and verified, and the printable record
//! holds it with its QR code. On the way a bidder asks the host a private
//! question that the room sees only once answered.
//!
//! One Chromium, five windows: each bidder window is its own origin
//! (`bidder-N.localhost`, a secure context like `localhost`), so each keeps
//! its own key in its own IndexedDB, as three bidders' machines would.

use bidroom::seal::{BidderKey, KeyFile};
use fantoccini::wd::WindowHandle;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, Browser, Server};
use crate::support::bids;
use crate::support::drafts::{Draft, rfc3339};
use crate::support::wait::{events, wait_events};

const NAMES: [&str; 3] = ["甲建设有限公司", "乙工程有限公司", "丙路桥有限公司"];
const OBJECTION: &str = "第二行的工期与我方记录不符，请核实。";
const ANSWER: &str = "经核对，第二行工期与解密结果一致。";
const NOTICE: &str = "请各投标人在确认阶段内完成签字确认。";
const QUESTION: &str = "中标候选人将于何时公示？";
const REPLY: &str = "中标候选人将于开标后三个工作日内公示。";

/// The test server: the 唱标 reads a bid every 1.5 s, so the room has time to show it.
async fn server() -> Server {
    Server::sqlite(|cfg| cfg.opening_pace_ms = 1_500).await
}

/// The windows of the one browser, and the page each one shows.
struct Hall {
    b: Browser,
    bidders: Vec<WindowHandle>,
    staff: WindowHandle,
    room: WindowHandle,
}

impl Hall {
    /// Makes `w` the window the next commands act on.
    async fn on(&self, w: &WindowHandle) -> &Browser {
        self.b.client.switch_to_window(w.clone()).await.expect("switch window");
        &self.b
    }
}

async fn new_window(b: &Browser) -> WindowHandle {
    b.client.new_window(false).await.expect("new window").handle
}

/// The same server under another host name: its own origin, so its own storage.
fn origin_url(server: &Server, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", server.addr.port())
}

/// Registers a bidder, submits its sealed bid and writes its key file; returns the key and the file.
async fn bidder(server: &Server, id: &str, name: &str, price: &str, days: u32) -> (BidderKey, std::path::PathBuf) {
    let key = bids::register(server, name).await;
    let sealed = bids::seal_form(server, id, &key, &json!({"price": price, "days": days}), &[]).await;
    let (s, v) = bids::submit(server, id, &sealed).await;
    assert!(s.is_success(), "{s} {v}");
    let path = server.data_dir.path().join(format!("{}.json", key.public_key().key_id()));
    let file = KeyFile::seal_bidder(&key, "bidder passphrase", 1000).expect("seal key").to_json().expect("json");
    std::fs::write(&path, file).expect("write key file");
    (key, path)
}

/// The bid page in the current window: loads the key file and signs in to the room.
async fn load_key_and_sign_in(b: &Browser, url: &str, key_file: &std::path::Path) {
    b.goto(url).await;
    b.wait_for("document.getElementById('import-key')", 20).await;
    let input = b.client.find(fantoccini::Locator::Css("#keyfile")).await.expect("key file input");
    input.send_keys(&key_file.display().to_string()).await.expect("attach key file");
    b.fill("#passphrase", "bidder passphrase").await;
    b.click("#import-key").await;
    b.wait_for("document.getElementById('sign-in-go')", 30).await;
    b.click("#sign-in-go").await;
    b.wait_for("document.getElementById('signed-in')", 20).await;
}

/// Sets a text box's value as typing would (the staff view keeps drafts on `input`).
async fn type_into(b: &Browser, css: &str, text: &str) {
    let done = b
        .js(
            "const e = document.querySelector(arguments[0]); if (!e) return false;\n\
             e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); return true;",
            vec![json!(css), json!(text)],
        )
        .await;
    assert_eq!(done, json!(true), "no {css}");
}

fn kinds(ev: &[Value]) -> Vec<&str> {
    ev.iter().filter_map(|e| e["type"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_with_three_bidders_a_host_and_the_public() {
    let mut server = server().await;
    // Sign-in opens at once (15 minutes before an opening 10 minutes away); three bidders needed.
    let terms = json!({"min_bids": 3, "sign_in_minutes": 15, "confirmation_minutes": 30});
    let id = Draft::on(&server, 600)
        .await
        .title("市政道路维修（全流程）")
        .opening_at_deadline()
        .session(terms)
        .published(&server)
        .await;
    let mut keys = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        keys.push(bidder(&server, &id, name, &format!("{}.00", 100_000 + i * 1_000), 90 + i as u32).await);
    }
    wait_events(&server, &id, "sign-in open", |ev| {
        ev.iter().any(|e| e["type"] == "session.stage" && e["data"]["stage"] == "sign_in")
    })
    .await;

    let b = Browser::start("whole-session", "zh-CN").await;
    let first = b.client.window().await.expect("window");
    let mut windows = vec![first];
    for _ in 0..4 {
        windows.push(new_window(&b).await);
    }
    let hall = Hall { bidders: windows[..3].to_vec(), staff: windows[3].clone(), room: windows[4].clone(), b };

    // The public watches from the start, not signed in.
    let room = hall.on(&hall.room).await;
    room.goto(&origin_url(&server, "public.localhost", &format!("/tenders/{id}"))).await;
    room.wait_for("document.getElementById('live-status').dataset.connected === 'true'", 30).await;

    // 签到: each bidder loads its own key in its own window and signs in.
    for (i, (_, file)) in keys.iter().enumerate() {
        let b = hall.on(&hall.bidders[i]).await;
        let url = origin_url(&server, &format!("bidder-{i}.localhost"), &format!("/tenders/{id}/bid"));
        load_key_and_sign_in(b, &url, file).await;
        assert!(b.text("#identity-text").await.contains(&keys[i].0.public_key().key_id()), "its own key");
    }
    wait_events(&server, &id, "three sign-ins", |ev| ev.iter().filter(|e| e["type"] == "room.signed_in").count() == 3)
        .await;
    let room = hall.on(&hall.room).await;
    room.wait_for("(document.getElementById('presence') || {}).innerText.endsWith('已签到投标人：3')", 20).await;
    room.screenshot("1-room-signed-in").await;

    // The host, in the staff session view.
    let staff = hall.on(&hall.staff).await;
    staff.goto(&server.url("/staff")).await;
    staff.wait_for("document.getElementById('token')", 20).await;
    staff.fill("#token", ADMIN_TOKEN).await;
    staff.click("#signin button[type=submit]").await;
    staff.wait_for(&format!("document.querySelector('#tender-{id} button.session')"), 20).await;
    staff.click(&format!("#tender-{id} button.session")).await;
    staff.wait_for("document.getElementById('session-stage')", 20).await;

    // The deadline comes forward: close, decryption (the server's share alone), 唱标.
    let soon = server.now().await + time::Duration::seconds(2);
    let amend = json!({"deadline": rfc3339(soon), "reason": "投标人均已递交"});
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&amend)).await;
    wait_events(&server, &id, "the 唱标", |ev| {
        ev.iter().any(|e| e["type"] == "session.stage" && e["data"]["stage"] == "announcement")
    })
    .await;

    // One bidder objects from its bid page as soon as the 唱标 runs.
    let b0 = hall.on(&hall.bidders[0]).await;
    b0.fill("#objection-text", OBJECTION).await;
    b0.click("#raise-objection").await;
    b0.wait_for("(document.getElementById('bidder-objections-status') || {}).innerText.includes('已记录')", 20).await;
    b0.screenshot("2-bidder-objected").await;
    let room = hall.on(&hall.room).await;
    room.wait_for(&format!("document.getElementById('objections').innerText.includes('{OBJECTION}')"), 20).await;
    room.wait_for("document.querySelector('#objections li.objection.waiting')", 5).await;

    // Confirmation: the end waits for the answer.
    wait_events(&server, &id, "the confirmation stage", |ev| {
        ev.iter().any(|e| e["type"] == "session.stage" && e["data"]["stage"] == "confirmation")
    })
    .await;
    let staff = hall.on(&hall.staff).await;
    staff.wait_for("document.querySelector('#objection-queue li.objection')", 20).await;
    staff.wait_for("document.getElementById('session-end')", 20).await;
    assert_eq!(staff.js("return document.getElementById('session-end').disabled", vec![]).await, json!(true));
    assert!(staff.text("#objection-queue").await.contains(OBJECTION));
    assert!(staff.text("#objection-queue").await.contains("已等待"), "the queue says how long it waited");
    staff.screenshot("3-host-queue").await;
    type_into(staff, "#announcement-text", NOTICE).await;
    staff.click("#announcement-send").await;
    staff.wait_for("document.querySelector('#session-events li[data-type=\"announcement.posted\"]')", 20).await;
    type_into(staff, "#objection-queue .answer-text", ANSWER).await;
    staff.click("#objection-queue .answer-send").await;
    staff.wait_for("!document.getElementById('objection-queue') && document.getElementById('session-end')", 20).await;
    staff.wait_for("document.getElementById('session-end').disabled === false", 20).await;

    // A private question: the host sees it, the room does not until the host answers it.
    let b1 = hall.on(&hall.bidders[1]).await;
    b1.fill("#question-text", QUESTION).await;
    b1.click("#ask-question").await;
    b1.wait_for("document.querySelector('#my-questions li.question.waiting')", 20).await;
    let staff = hall.on(&hall.staff).await;
    staff.wait_for("document.querySelector('#question-queue li.question')", 20).await;
    assert!(staff.text("#question-queue").await.contains(QUESTION));
    let room = hall.on(&hall.room).await;
    assert!(!room.text("main").await.contains(QUESTION), "the room does not see a question");
    let staff = hall.on(&hall.staff).await;
    type_into(staff, "#question-queue .question-answer", REPLY).await;
    staff.click("#question-queue .question-send").await;
    staff.wait_for("!document.getElementById('question-queue')", 20).await;
    let room = hall.on(&hall.room).await;
    room.wait_for(
        &format!("document.getElementById('objections').innerText.includes('答复提问“{QUESTION}”：{REPLY}')"),
        20,
    )
    .await;
    let b1 = hall.on(&hall.bidders[1]).await;
    b1.click("#refresh-questions").await;
    b1.wait_for("document.querySelector('#my-questions li.question.answered')", 20).await;

    // Two bidders confirm the record in their pages; the third says nothing.
    for i in 0..2 {
        let b = hall.on(&hall.bidders[i]).await;
        b.click("#confirm-record").await;
        b.wait_for("(document.getElementById('bidder-objections-status') || {}).innerText.includes('确认已记录')", 20)
            .await;
        assert!(b.text("#record-hash").await.len() > 64, "the page shows the hash it signs");
    }
    let room = hall.on(&hall.room).await;
    room.wait_for("document.querySelectorAll('#objections .conf-status').length === 3", 20).await;
    room.wait_for(
        "[...document.querySelectorAll('#objections .conf-status')].filter((c) => c.innerText.includes('已签字确认')).length === 2",
        20,
    )
    .await;
    room.wait_for(&format!("document.getElementById('objections').innerText.includes('{ANSWER}')"), 20).await;
    room.wait_for(&format!("document.getElementById('objections').innerText.includes('{NOTICE}')"), 20).await;
    room.screenshot("4-room-confirmations").await;

    // The host ends the session.
    let staff = hall.on(&hall.staff).await;
    staff.js("window.confirm = () => true; return true;", vec![]).await;
    staff.click("#session-end").await;
    staff.wait_for("document.getElementById('print-record')", 30).await;
    staff.screenshot("5-host-ended").await;

    // The room: all of it, live, and verified in the page.
    let room = hall.on(&hall.room).await;
    room.wait_for("document.querySelector('#objections a[href$=\"/record/print\"]')", 30).await;
    room.wait_for(
        "[...document.querySelectorAll('#objections .conf-status')].filter((c) => c.innerText.includes('未响应')).length === 1",
        10,
    )
    .await;
    room.wait_for("document.querySelector('#objections li.objection.answered')", 10).await;
    room.wait_for("document.getElementById('verify').dataset.status === 'verified'", 60).await;
    room.wait_for("document.getElementById('record-verified')", 30).await;
    let panel = room.text("#objections").await;
    for text in [OBJECTION, ANSWER, NOTICE, NAMES[0], NAMES[2]] {
        assert!(panel.contains(text), "the room shows {text}: {panel}");
    }
    room.js("document.getElementById('objections').scrollIntoView()", vec![]).await;
    room.screenshot("6-room-ended").await;
    room.phone_screenshot("6-room-ended").await;

    // The log says what happened, and the record was sealed from it.
    let ev = events(&server, &id).await;
    let k = kinds(&ev);
    for kind in [
        "room.signed_in",
        "session.stage",
        "record.published",
        "objection.raised",
        "objection.answered",
        "announcement.posted",
        "record.confirmed",
        "session.ended",
    ] {
        assert!(k.contains(&kind), "{kind} logged: {k:?}");
    }
    assert_eq!(k.iter().filter(|x| **x == "record.confirmed").count(), 2);
    let fin = server.get_ok(&format!("/api/v1/tenders/{id}/record/final")).await;
    let mut got: Vec<(String, String)> = fin["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| (r["name"].as_str().unwrap_or("").to_string(), r["response"].as_str().unwrap_or("").to_string()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = vec![
        (NAMES[0].into(), "confirmed".into()),
        (NAMES[1].into(), "confirmed".into()),
        (NAMES[2].into(), "did_not_respond".into()),
    ];
    want.sort();
    assert_eq!(got, want);

    // The printable record holds all of it, with the entry that seals it.
    let room = hall.on(&hall.room).await;
    room.goto(&origin_url(&server, "public.localhost", &format!("/tenders/{id}/record/print"))).await;
    room.wait_for("document.querySelector('.seal')", 30).await;
    let page = room.text("main").await;
    for text in [
        OBJECTION,
        ANSWER,
        NOTICE,
        QUESTION,
        REPLY,
        NAMES[0],
        NAMES[1],
        NAMES[2],
        "无异议（已签字确认）",
        "未响应",
        "开标记录表",
    ] {
        assert!(page.contains(text), "the print page shows {text}: {page}");
    }
    let index = fin["log_index"].as_i64().expect("log index");
    assert!(page.contains(&format!("本记录由日志第{index}条封存")), "{page}");
    assert!(page.contains(fin["final_hash"].as_str().expect("hash")), "{page}");
    // The QR code of the entry's link is this server's own SVG, loaded in the page.
    room.wait_for(
        "document.getElementById('record-qr').complete && document.getElementById('record-qr').naturalWidth > 0",
        20,
    )
    .await;
    room.js("document.querySelector('.seal').scrollIntoView()", vec![]).await;
    room.screenshot("7-print").await;

    hall.b.close().await;
    server.stop().await;
}
