//! Every page in zh-CN and en-US, on a desktop and at 375 px: screenshots
//! into `target/test-output/screenshots/` (`pages-<lang>-<page>[-375].png`),
//! and checks that fail on what reads badly: a dictionary key shown raw
//! (a missing text), half-width punctuation beside Chinese, and a page
//! wider than a phone's screen.

use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, Browser, Server};

/// What reads badly on the current page: `{keys, punct, wide}`.
const CHECK: &str = "\
    const main = await (await fetch('/assets/js/i18n.js')).text();\n\
    const areas = [...main.matchAll(/\"\\.\\/strings\\/([a-z_]+)\\.js\"/g)].map((m) => m[1]);\n\
    if (areas.length < 5) throw new Error('the text areas were not found in i18n.js');\n\
    let text = '';\n\
    for (const a of areas) text += await (await fetch(`/assets/js/strings/${a}.js`)).text();\n\
    const keys = new Set([...text.matchAll(/^\\s*\"([a-z][a-z0-9_]*(?:\\.[a-z0-9_]+)+)\":/gm)].map((m) => m[1]));\n\
    if (keys.size < 100) throw new Error(`only ${keys.size} text keys were read`);\n\
    const body = document.body.innerText;\n\
    const shown = [...body.matchAll(/[a-z][a-z0-9_]*(?:\\.[a-z0-9_]+)+/g)].map((m) => m[0]).filter((w) => keys.has(w));\n\
    const punct = args[0] === 'zh' ? [...body.matchAll(/.{0,8}(?:[\\u4e00-\\u9fff][,;:!?()]|[,;:!?()][\\u4e00-\\u9fff]| \\([^()\\s]{1,30}\\)).{0,8}/g)].map((m) => m[0]) : [];\n\
    return {keys: shown, punct, wide: document.documentElement.scrollWidth > window.innerWidth + 1};";

async fn settle(b: &Browser) {
    b.wait_for("document.querySelector('main h1') && !document.querySelector('main [data-i18n=loading]')", 20).await;
    b.js_async("await new Promise((r) => setTimeout(r, 500));", vec![]).await;
}

async fn look(b: &Browser, lang: &str, page: &str) {
    let short = &lang[..2];
    settle(b).await;
    let got = b.js_async(CHECK, vec![json!(short)]).await;
    assert_eq!(got, json!({"keys": [], "punct": [], "wide": false}), "{lang} {page} on a desktop");
    b.screenshot(&format!("{short}-{page}")).await;
    b.client.set_window_size(375, 812).await.expect("resize");
    b.js_async("await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));", vec![]).await;
    let got: Value = b.js_async(CHECK, vec![json!(short)]).await;
    assert_eq!(got["wide"], false, "{lang} {page} is wider than 375 px");
    b.screenshot(&format!("{short}-{page}-375")).await;
    b.client.set_window_size(1280, 1000).await.expect("resize");
}

async fn every_page(lang: &str) {
    let mut server = Server::for_browser().await;
    server.custodian("alice", "Alice Notary").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice"], "release_window_minutes": 30});
    let tender = server.tender("Coastal road resurfacing", 2 * 3600, Some(custody)).await;
    let id = tender["id"].as_str().expect("id").to_string();
    server.rust_bid(&id, "Seaside Paving", r#"{"price":"1500000.00","days":60}"#).await;
    let b = Browser::start("pages", lang).await;
    for (page, path) in [
        ("list", "/".to_string()),
        ("room", format!("/tenders/{id}")),
        ("bid", format!("/tenders/{id}/bid")),
        ("custodian", format!("/tenders/{id}/custodian")),
        ("custodian-key", "/custodians/new".to_string()),
        ("staff-signin", "/staff".to_string()),
    ] {
        b.goto(&server.url(&path)).await;
        look(&b, lang, page).await;
    }
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    look(&b, lang, "staff").await;
    b.click("#new-tender").await;
    b.wait_for("document.getElementById('title')", 10).await;
    look(&b, lang, "staff-new-tender").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_well_in_chinese() {
    every_page("zh-CN").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_well_in_english() {
    every_page("en-US").await;
}
