//! Verifiable draws in the browser (issue 13, docs/DRAWS.md): staff declare
//! a K draw and a reference-price formula with the tender form's controls
//! (live preview, the page's own checks, a server error shown by its row),
//! the JSON sent is exactly the API's; the public room shows the rule, the
//! commitment and who could bias the draw before the opening, then the
//! result and the reference price "verified in your browser"; the page's
//! recompute catches a changed nonce, result, price or secret.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, Browser, Server};
use crate::support::drafts::{plain_session, rfc3339};
use crate::support::wait::wait_for_state;
use bidroom::domain::draw::DrawTerms;
use bidroom::domain::draw::seed::commitment;

/// Sets a control's value as typing would end (an `input` event).
const SET: &str = "const e = document.querySelector(arguments[0]); e.value = arguments[1];\
                   e.dispatchEvent(new Event('input', { bubbles: true })); return true;";

/// The class list of the focused element.
const FOCUSED: &str = "return document.activeElement.className";

const PRICES: [&str; 4] = ["1000.00", "980.50", "1010.00", "1200.00"];

async fn set(b: &Browser, css: &str, value: &str) {
    b.js(SET, vec![json!(css), json!(value)]).await;
}

/// The reference price the terms give: four valid, the highest and the
/// lowest dropped, (1000.00 + 1010.00) / 2 × K rounded half up to cents.
fn reference_price(k: &str) -> String {
    let (whole, frac) = k.split_once('.').unwrap_or((k, ""));
    let units: u128 = format!("{whole}{frac:0<4}").parse().expect("K digits");
    let (num, den) = (201_000 * units, 2 * 10_000);
    let cents = num / den + u128::from(2 * (num % den) >= den);
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_declare_a_k_draw_and_the_room_verifies_it() {
    assert_eq!(reference_price("0.95"), "954.75");
    assert_eq!(reference_price("0.93"), "934.65");
    let mut server = Server::for_browser().await;
    let b = Browser::start("draws", "zh-CN").await;

    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    b.click("#new-tender").await;
    b.wait_for("document.getElementById('tender-form')", 10).await;
    b.fill("#title", "城区道路照明改造").await;
    b.fill("#reference", "ZB-2027-0113").await;
    b.fill("#buyer", "示例市城市管理局").await;
    b.js(
        "const p = (n) => String(n).padStart(2, '0');\
         const d = new Date(Date.now() + 2 * 86400000);\
         document.getElementById('deadline').value = `${d.getFullYear()}-${p(d.getMonth()+1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;",
        vec![],
    )
    .await;
    b.fill("fieldset.lot .lot-title", "一标段").await;
    b.click("#custody-alone-ok").await;

    // A draw: the default is a value draw named K, with nothing listed yet.
    b.click("#draw-add").await;
    b.wait_for("document.querySelector('#draws-list fieldset.draw')", 5).await;
    assert_eq!(b.text("#draws-list .d-preview").await, "下浮系数：尚未填写候选项。");
    set(&b, "#draws-list .d-items", "0.92\n0,93").await;
    // Saving checks in the page first: the bad value and the missing secret, in Chinese; nothing is sent.
    b.click("#save").await;
    b.wait_for("document.getElementById('draws-not-ready')", 5).await;
    assert_eq!(
        b.text("#draws-list .d-problem").await,
        "抽取项 1：“0,93”不是大于 0、不超过 10 且最多四位小数的数值（如 0.95）。"
    );
    assert!(
        b.text("#draws-problems").await.contains("保存前请先生成主持人密钥"),
        "{}",
        b.text("#draws-problems").await
    );
    assert_eq!(b.js(FOCUSED, vec![]).await, "d-items", "the first problem is focused");
    let none = server.admin_ok(Method::GET, "/api/v1/tenders?state=draft", None).await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0), "{none}");
    // Fixed, the row's problem goes away as staff type; the preview says what is drawn from.
    set(&b, "#draws-list .d-items", "0.92\n0.93\n0.94\n0.95\n0.96\n0.97\n0.98\n").await;
    assert_eq!(b.text("#draws-list .d-preview").await, "下浮系数：从 0.92、0.93……0.98 中抽取一个（共 7 个）");
    assert_eq!(b.js("return document.querySelector('#draws-list .d-problem').hidden", vec![]).await, true);

    // A formula: the mean of lot 1's prices, K as its coefficient by default.
    b.click("#formula-add").await;
    b.wait_for("document.querySelector('#formulas-list fieldset.formula')", 5).await;
    assert_eq!(b.js("return document.querySelector('#formulas-list .p-coef').value", vec![]).await, "k");
    b.fill("#formulas-list .p-lot", "9").await;
    assert_eq!(b.text("#formulas-list .p-problem").await, "公式 1：本项目没有标段“9”。");
    b.fill("#formulas-list .p-lot", "1").await;
    b.click("#formulas-list .p-drop").await;
    b.fill("#formulas-list .p-drop-n", "4").await;
    assert_eq!(
        b.text("#formulas-list .p-preview").await,
        "评标基准价：标段1有效投标报价的算术平均值，有效报价不少于4家时去掉一个最高价和一个最低价，乘以下浮系数，四舍五入到分"
    );
    b.click("#draws-secret-make").await;
    b.wait_for("/[0-9a-f]{64}/.test(document.getElementById('draws-secret').innerText)", 5).await;
    let shown = b.text("#draws-secret").await;
    let secret =
        shown.split(|c: char| !c.is_ascii_hexdigit()).find(|w| w.len() == 64).expect("secret shown").to_string();
    let secret_bytes: [u8; 32] = hex::decode(&secret).expect("hex").try_into().expect("32 bytes");
    assert_eq!(b.js("return document.getElementById('draws-problems').innerText", vec![]).await, "");

    // The server stays the judge: a name the page lets through (over 100
    // characters) is refused, shown by its code next to its row, focused.
    set(&b, "#draws-list .d-en", &"K".repeat(101)).await;
    b.click("#save").await;
    b.wait_for("document.querySelector('#draws-list .d-problem p.error[data-code=invalid_field]')", 10).await;
    assert!(
        b.text("#draws-list .d-problem").await.starts_with("填写的内容不符合要求。"),
        "{}",
        b.text("#draws-list .d-problem").await
    );
    assert_eq!(b.js(FOCUSED, vec![]).await, "d-en");
    b.fill("#draws-list .d-en", "Coefficient K").await;

    // Exactly what the API takes, as the advanced view shows it.
    let expected = json!({
        "draws": [{ "id": "k", "label": { "zh": "下浮系数", "en": "Coefficient K" }, "type": "value",
                    "values": ["0.92", "0.93", "0.94", "0.95", "0.96", "0.97", "0.98"] }],
        "formulas": [{ "id": "base", "label": { "zh": "评标基准价", "en": "Reference price" }, "lot": "1",
                       "field": "price", "drop_extremes_from": 4, "coefficient": { "draw": "k", "apply": "times" },
                       "rounding": "half_up" }],
        "commitment": hex::encode(commitment(&secret_bytes)),
        "reveal_minutes": 30
    });
    let sent = b.js("return JSON.parse(document.getElementById('draws-json').value)", vec![]).await;
    assert_eq!(sent, expected);
    b.screenshot("1-form").await;
    b.phone_screenshot("1-form").await;
    b.click("#save").await;
    b.wait_for("document.querySelector('#drafts li')", 10).await;
    let list = server.admin_ok(Method::GET, "/api/v1/tenders?state=draft", None).await;
    let draft = list["items"][0].clone();
    let stored: DrawTerms = serde_json::from_value(draft["session"]["draws"].clone()).expect("stored draws");
    assert_eq!(stored, serde_json::from_value::<DrawTerms>(expected.clone()).expect("expected draws"));
    let id = draft["id"].as_str().expect("id").to_string();
    // Editing the draft fills the rows from its draws and keeps the commitment.
    b.click(&format!("#tender-{id} button.edit")).await;
    b.wait_for("document.querySelector('#draws-list fieldset.draw')", 10).await;
    assert_eq!(b.text("#draws-list .d-preview").await, "下浮系数：从 0.92、0.93……0.98 中抽取一个（共 7 个）");
    assert!(b.text("#draws-secret").await.contains(&expected["commitment"].as_str().expect("c")[..16]));
    let again = b.js("return JSON.parse(document.getElementById('draws-json').value)", vec![]).await;
    assert_eq!(again, expected, "the same JSON from the stored draft");

    // Closing in seconds, without the session's stages, so the test does
    // not wait for them; the draws stay as the form made them.
    let mut session = plain_session();
    session["draws"] = draft["session"]["draws"].clone();
    let now = server.now().await;
    let body = json!({
        "title": draft["title"], "reference": draft["reference"], "description": draft["description"],
        "buyer": draft["buyer"], "currency": draft["currency"], "lots": draft["lots"],
        "custody": draft["custody"], "registration": draft["registration"], "session": session,
        "deadline": rfc3339(now + time::Duration::seconds(15)),
    });
    server.admin_ok(Method::PUT, &format!("/api/v1/tenders/{id}"), Some(&body)).await;
    server.admin_ok(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    // Before the opening the room shows the rule, the commitment and who could bias the draw.
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for("document.querySelector('#draws:not([hidden]) #draws-rules')", 20).await;
    let rules = b.text("#draws-rules").await;
    assert!(rules.contains("下浮系数：从0.92、0.93、0.94、0.95、0.96、0.97、0.98中抽取一个值"), "{rules}");
    assert!(
        rules.contains(
            "评标基准价：标段1有效投标报价的算术平均值，有效报价不少于4家时去掉一个最高价和一个最低价，乘以下浮系数"
        ),
        "{rules}"
    );
    assert!(b.text("#draws").await.contains(&hex::encode(commitment(&secret_bytes))), "the commitment");
    assert!(b.text("#draws").await.contains("开标记录公布后进行抽取。"));
    // The tender's own policy (the server alone): its operator could know the nonces early.
    assert_eq!(
        b.text("#draws-trust").await,
        "本项目仅由服务器保管密钥，运营方可能提前得知投标人随机数；仅靠发布时已承诺的主持人密钥防止抽取结果被预测。"
    );
    b.screenshot("2-room-before").await;

    for (i, price) in PRICES.iter().enumerate() {
        server.rust_bid(&id, &format!("投标人{i}"), &json!({ "price": price }).to_string()).await;
    }

    wait_for_state(&server, &id, "opened", 60).await;
    b.wait_for("document.getElementById('draws').innerText.includes('等待主持人公开密钥')", 20).await;
    // The host reveals in the staff session view: a wrong secret is refused in words, then the right one.
    b.goto(&server.url("/staff")).await;
    b.wait_for(&format!("document.querySelector('#tender-{id} button.session')"), 20).await;
    b.click(&format!("#tender-{id} button.session")).await;
    b.wait_for("document.getElementById('draw-reveal-secret')", 10).await;
    b.fill("#draw-reveal-secret", &"07".repeat(32)).await;
    b.click("#draw-reveal").await;
    b.wait_for("document.querySelector('#draw-reveal-status .error[data-code=draw_secret_mismatch]')", 10).await;
    assert!(b.text("#draw-reveal-status").await.starts_with("该密钥与发布时记录的承诺值不符。"));
    b.fill("#draw-reveal-secret", &secret).await;
    b.click("#draw-reveal").await;
    b.wait_for("(document.getElementById('draw-reveal-status') || {}).innerText === '密钥已公开，抽取结果和评标基准价已记录。'", 10).await;
    b.wait_for("document.querySelector('#session-events li[data-type=\"draw.result\"]')", 10).await;
    b.screenshot("3-staff-revealed").await;
    let view = server.get_ok(&format!("/api/v1/tenders/{id}/draws")).await;
    let result =
        view["events"].as_array().expect("events").iter().find(|e| e["type"] == "draw.result").expect("result");
    let k = result["data"]["draws"][0]["values"][0].as_str().expect("K").to_string();
    let amount = result["data"]["prices"][0]["amount"].as_str().expect("amount").to_string();
    let seed = result["data"]["seed"].as_str().expect("seed").to_string();
    assert_eq!(amount, reference_price(&k), "the server's reference price");

    // The room recomputes it with WebCrypto and says so next to the results it shows.
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for("document.querySelector('#draws-check.ok')", 20).await;
    assert!(b.text("#draws-check").await.starts_with("✓ 已在您的浏览器中验证"), "{}", b.text("#draws-check").await);
    let results = b.text("#draws-results").await;
    assert!(
        results.contains(&format!("下浮系数：{k}")) && results.contains(&format!("评标基准价：{amount}")),
        "{results}"
    );
    assert!(b.text("#draws").await.contains(&seed), "the seed shown is the logged one");
    b.screenshot("4-room-verified").await;
    b.click("#lang-switch").await;
    b.wait_for("document.getElementById('draws-check').innerText.startsWith('✓ Verified in your browser')", 10).await;
    assert!(b.text("#draws-trust").await.starts_with("With the server as the only custodian"));
    assert!(b.text("#draws-results").await.contains(&format!("Coefficient K: {k}")));
    b.phone_screenshot("4-room-verified").await;

    // The page's recompute: it agrees with the log, and finds each change.
    let found = b
        .js_async(
            "const { recompute } = await import('/assets/js/draws.js');\n\
             const id = args[0];\n\
             const view = await (await fetch(`/api/v1/tenders/${id}/draws`)).json();\n\
             const rows = (await (await fetch(`/api/v1/tenders/${id}/record`)).json()).rows;\n\
             const result = view.events.find((e) => e.type === 'draw.result').data;\n\
             const revealed = view.events.find((e) => e.type === 'draw.revealed').data;\n\
             const run = (r, s, rs) => recompute(id, view.terms, r, s, rs);\n\
             const otherNonce = structuredClone(rows);\n\
             otherNonce.find((r) => r.status === 'opened').form_key = 'A'.repeat(43);\n\
             const otherK = structuredClone(result);\n\
             otherK.draws[0].indices = [(otherK.draws[0].indices[0] + 1) % 7];\n\
             const otherPrice = structuredClone(result);\n\
             otherPrice.prices[0].amount = '1.00';\n\
             return {\n\
               same: await run(result, revealed, rows),\n\
               nonce: await run(result, revealed, otherNonce),\n\
               k: await run(otherK, revealed, rows),\n\
               price: await run(otherPrice, revealed, rows),\n\
               secret: await run(result, { secret: '09'.repeat(32) }, rows),\n\
             };",
            vec![json!(id)],
        )
        .await;
    assert_eq!(found["same"], json!([]), "{found}");
    let has = |key: &str, what: &str| found[key].as_array().is_some_and(|a| a.iter().any(|p| p == what));
    assert!(has("nonce", "nonces") && has("nonce", "seed"), "another nonce gives another seed: {found}");
    assert!(has("k", "draw k"), "{found}");
    assert!(has("price", "formula base"), "{found}");
    assert!(has("secret", "the secret does not open the commitment") && has("secret", "seed"), "{found}");

    b.close().await;
    server.stop().await;
}

/// The form fills its rows from a draft's draws, and from JSON under "advanced".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_draws_rows_load_from_json() {
    let mut server = Server::for_browser().await;
    let b = Browser::start("draws-json", "en-US").await;
    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    b.click("#new-tender").await;
    b.wait_for("document.getElementById('tender-form')", 10).await;
    let terms: Value = json!({
        "draws": [
            { "id": "method", "label": { "zh": "基准价方法", "en": "Method" }, "type": "method", "methods": ["A", "B"] },
            { "id": "order", "label": { "zh": "唱标顺序", "en": "Reading order" }, "type": "order", "items": ["甲", "乙", "丙", "丁", "戊"] },
            { "id": "k", "label": { "zh": "下浮率", "en": "Discount rate" }, "type": "value", "values": ["0.05", "0.06"] }
        ],
        "formulas": [{ "id": "base", "label": { "zh": "评标基准价", "en": "Reference price" }, "lot": "1", "field": "price",
                       "coefficient": { "draw": "k", "apply": "one_minus" }, "rounding": "down",
                       "when": { "draw": "method", "method": "B" } }],
        "commitment": "ab".repeat(32),
        "reveal_minutes": 45
    });
    b.click("#draws-advanced summary").await;
    set(&b, "#draws-json", &serde_json::to_string_pretty(&terms).expect("json")).await;
    b.click("#draws-json-apply").await;
    b.wait_for("document.querySelectorAll('#draws-list fieldset.draw').length === 3", 5).await;
    let previews =
        b.js("return [...document.querySelectorAll('.d-preview, .p-preview')].map((p) => p.innerText)", vec![]).await;
    assert_eq!(
        previews,
        json!([
            "Method: one method drawn from A, B (2 in all)",
            "Reading order: 甲, 乙, …, 戊 put in a random order (5 in all)",
            "Discount rate: one value drawn from 0.05, 0.06 (2 in all)",
            "Reference price: the mean of the valid “Price” amounts of lot 1, times (1 − Discount rate), rounded down to the cent, only if Method is B"
        ])
    );
    assert!(b.text("#draws-secret").await.contains("abababababababab"), "a commitment from the JSON is kept");
    // Read back from the rows, the JSON is the same.
    let back = b.js("return JSON.parse(document.getElementById('draws-json').value)", vec![]).await;
    assert_eq!(back, terms);
    set(&b, "#draws-json", "{ not json").await;
    b.click("#draws-json-apply").await;
    b.wait_for("document.querySelector('#draws-json-status .error')", 5).await;
    assert!(
        b.text("#draws-json-status").await.starts_with("The draws are not valid JSON"),
        "{}",
        b.text("#draws-json-status").await
    );
    assert_eq!(b.js("return document.querySelectorAll('#draws-list fieldset.draw').length", vec![]).await, 3);
    b.close().await;
    server.stop().await;
}
