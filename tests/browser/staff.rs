//! The staff console: sign in, create a tender with two lots, publish,
//! set the room's video stream in the session view, amend with a reason,
//! cancel.

use reqwest::Method;
use serde_json::json;

use crate::harness::{ADMIN_TOKEN, Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_create_publish_amend_and_cancel() {
    let mut server = Server::for_browser().await;
    server.custodian("notary", "Notary Office").await;
    let b = Browser::start("staff", "zh-CN").await;

    b.goto(&server.url("/staff")).await;
    b.wait_for("document.getElementById('token')", 20).await;
    assert_eq!(
        b.js("return document.documentElement.lang", vec![]).await,
        "zh-CN",
        "Chinese from the browser's language"
    );
    b.screenshot("1-signin-zh").await;
    b.fill("#token", "wrong-token").await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.querySelector('#signin-status .error')", 10).await;
    // In the visitor's language by the error's code; the server's English sentence only folded away.
    assert_eq!(b.text("#signin-status p.error[data-code=unauthenticated]").await, "登录令牌无效，请重新输入。");
    let detail = b.js("const d = document.querySelector('#signin-status details'); return [d.open, d.querySelector('summary').innerText, d.textContent];", vec![]).await;
    assert_eq!(detail[0], false, "the server's sentence is folded: {detail}");
    assert_eq!(detail[1], "服务器返回的详细信息");
    assert!(detail[2].as_str().unwrap_or_default().contains("token"), "the server's sentence is kept: {detail}");
    // A field is named in the page's words.
    let field = b
        .js_async(
            "const { ApiError, errorContent } = await import('/assets/js/common.js');\n\
             const e = new ApiError(422, {code: 'invalid_field', field: 'custody.threshold', message: 'custody.threshold: must be between 1 and 3'});\n\
             const f = new ApiError(422, {code: 'invalid_field', field: 'lots', message: 'lots: at least one lot'});\n\
             return [errorContent(e)[0].innerText, errorContent(f)[0].innerText];",
            vec![],
        )
        .await;
    assert_eq!(field, json!(["开启门限须在 1 至保管人人数之间。", "填写的内容不符合要求。 涉及字段：标段"]));
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("#signin button[type=submit]").await;
    b.wait_for("document.getElementById('whoami')", 10).await;
    b.click("#lang-switch").await;
    b.wait_for("document.getElementById('new-tender').innerText === 'New tender'", 10).await;

    b.click("#new-tender").await;
    b.wait_for("document.getElementById('tender-form')", 10).await;
    b.fill("#title", "Street lighting renewal").await;
    b.fill("#reference", "ZB-2027-0042").await;
    b.fill("#buyer", "City of Example").await;
    b.fill("#description", "LED retrofit of 4000 lamps").await;
    // datetime-local in the viewer's zone: two days ahead, opening an hour later.
    b.js(
        "const p = (n) => String(n).padStart(2, '0');\
         const f = (d) => `${d.getFullYear()}-${p(d.getMonth()+1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;\
         const d = new Date(Date.now() + 2 * 86400000);\
         document.getElementById('deadline').value = f(d);\
         document.getElementById('opening').value = f(new Date(d.getTime() + 3600000));",
        vec![],
    )
    .await;
    b.fill("fieldset.lot .lot-title", "Old town").await;
    b.click("fieldset.lot .add-field").await;
    b.fill("fieldset.lot .field-row:nth-of-type(2) .f-key", "warranty").await;
    b.fill("fieldset.lot .field-row:nth-of-type(2) .f-zh", "质保期").await;
    b.fill("fieldset.lot .field-row:nth-of-type(2) .f-en", "Warranty (years)").await;
    b.js(
        "const s = document.querySelector('fieldset.lot .field-row:nth-of-type(2) .f-type'); s.value = 'integer';",
        vec![],
    )
    .await;
    b.click("#add-lot").await;
    b.fill("fieldset.lot:nth-of-type(2) .lot-title", "New town").await;
    b.click("fieldset.lot:nth-of-type(2) .add-field").await;
    b.fill("fieldset.lot:nth-of-type(2) .f-key", "price").await;
    b.fill("fieldset.lot:nth-of-type(2) .f-zh", "投标报价").await;
    b.fill("fieldset.lot:nth-of-type(2) .f-en", "Price").await;
    // The default, the server alone, is said in words and needs a
    // confirmation: saving without it is refused and creates nothing.
    let words = b.text("#custody-words").await;
    assert!(words.contains("the server's operator can open every bid alone"), "{words}");
    b.click("#save").await;
    b.wait_for("document.querySelector('#form-status .error')", 10).await;
    assert!(b.text("#form-status").await.contains("Confirm that the server alone may open these bids"));
    let none = server.admin_ok(Method::GET, "/api/v1/tenders?state=draft", None).await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0), "{none}");
    b.click("#cust-notary").await;
    b.fill("#threshold", "2").await;
    b.wait_for("document.getElementById('custody-alone').hidden && !document.getElementById('custody-alone-error')", 5)
        .await;
    let words = b.text("#custody-words").await;
    assert!(words.contains("only when 2 of the 2 chosen custodians"), "{words}");
    b.screenshot("2-new-tender").await;
    b.click("#save").await;
    b.wait_for("document.querySelector('#drafts li')", 10).await;

    let list = server.admin_ok(Method::GET, "/api/v1/tenders?state=draft", None).await;
    let draft = &list["items"][0];
    assert_eq!(draft["title"], "Street lighting renewal");
    assert_eq!(draft["lots"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        draft["lots"][0]["fields"][1],
        json!({"key": "warranty", "label": {"zh": "质保期", "en": "Warranty (years)"}, "type": "integer", "required": false})
    );
    assert_eq!(draft["custody"]["custodians"], json!(["server", "notary"]));
    assert_eq!(draft["custody"]["threshold"], 2);
    let id = draft["id"].as_str().expect("id").to_string();

    b.click(&format!("#tender-{id} button.publish")).await;
    b.client.accept_alert().await.expect("confirm publish");
    b.wait_for(&format!("document.querySelector('#tender-{id}[data-state=published]')"), 10).await;
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}")).await["state"], "published");
    b.screenshot("3-published").await;

    // The session view: set the room's video stream; a bad address is refused in words.
    b.click(&format!("#tender-{id} button.session")).await;
    b.wait_for("document.getElementById('stream-form')", 10).await;
    b.fill("#stream-url", "https://stream.example.org/embed/lighting").await;
    b.js("document.getElementById('stream-kind').value = 'embed'; return true;", vec![]).await;
    b.click("#stream-save").await;
    b.wait_for("(document.getElementById('stream-status') || {}).innerText === 'Stream set.'", 10).await;
    let t = server.get_ok(&format!("/api/v1/tenders/{id}")).await;
    assert_eq!(t["stream"], json!({"url": "https://stream.example.org/embed/lighting", "kind": "embed"}));
    b.wait_for("document.querySelector('#session-events li[data-type=\"tender.stream_changed\"]')", 10).await;
    // The browser's own check of type=url passes this; the server refuses http.
    b.fill("#stream-url", "http://stream.example.org/live.m3u8").await;
    b.js("document.getElementById('stream-url').removeAttribute('pattern'); return true;", vec![]).await;
    b.click("#stream-save").await;
    b.wait_for("document.querySelector('#stream-form .error')", 10).await;
    assert!(b.text("#stream-form .error").await.contains("HTTPS"), "{}", b.text("#stream-form .error").await);
    b.screenshot("3b-session-stream").await;

    b.click(&format!("#tender-{id} button.amend")).await;
    b.js(
        "const p = (n) => String(n).padStart(2, '0');\
         for (const c of ['.amend-deadline', '.amend-opening']) {\
           const i = document.querySelector('.amend-form ' + c); const d = new Date(i.value); d.setDate(d.getDate() + 1);\
           i.value = `${d.getFullYear()}-${p(d.getMonth()+1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;\
         }",
        vec![],
    )
    .await;
    b.fill(".amend-form .reason", "More time for site visits").await;
    b.click(".amend-form button[type=submit]").await;
    b.wait_for("document.getElementById('console-status').innerText.includes('Amended')", 10).await;
    let events = server.get_ok(&format!("/api/v1/tenders/{id}/events")).await;
    let amended = events["events"].as_array().expect("events").iter().find(|e| e["type"] == "tender.amended");
    assert_eq!(amended.expect("amended")["data"]["reason"], "More time for site visits");

    b.click(&format!("#tender-{id} button.cancel")).await;
    b.fill(".cancel-form .reason", "Budget withdrawn").await;
    b.click(".cancel-form button[type=submit]").await;
    b.wait_for(&format!("document.querySelector('#tender-{id}[data-state=cancelled]')"), 10).await;
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}")).await["cancel_reason"], "Budget withdrawn");
    b.screenshot("4-cancelled").await;
    b.phone_screenshot("4-cancelled").await;

    b.close().await;
    server.stop().await;
}
