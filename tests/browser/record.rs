//! The opening record as procurement staff print it (record.js): one table
//! per lot with one column per declared field in the tender's order,
//! amounts grouped with their currency and, in Chinese, in capital
//! numerals; times in the tender's zone with its name; no word broken on a
//! desktop; a card per bid at 375 px. Also the capital-numeral conversion.

use serde_json::{Value, json};

use crate::harness::{Browser, Server};
use crate::support::bids;
use crate::support::wait::wait_for_state;

async fn bid(server: &Server, id: &str, name: &str, lot: &str, form: Value) {
    let key = bids::register(server, name).await;
    let sealed = bids::seal_for_lot(server, id, &key, lot, &form, &[]).await;
    let (s, v) = bids::submit(server, id, &sealed).await;
    assert!(s.is_success(), "{s} {v}");
}

/// The texts of one table's header cells.
const HEADS: &str = "return [...document.querySelectorAll(arguments[0] + ' th')].map((th) => th.innerText.trim());";

/// Elements under `css` whose text runs over more than one line.
const BROKEN: &str = "return [...document.querySelectorAll(arguments[0])].filter((e) => {\n\
     const r = document.createRange(); r.selectNodeContents(e);\n\
     const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));\n\
     return tops.size > 1; }).map((e) => e.innerText);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_prints_one_table_per_lot_in_the_tenders_words() {
    let mut server = Server::for_browser().await;
    let id = server.two_lot_tender(4).await;
    bid(&server, &id, "Yangtze Dredging Co., Ltd.", "1", json!({"price": "12345678.50", "days": 1200})).await;
    bid(&server, &id, "Pearl River Works", "1", json!({"price": "1005.05", "days": 90})).await;
    bid(&server, &id, "Bohai Marine Engineering", "2", json!({"warranty": 24, "price": "300000"})).await;
    wait_for_state(&server, &id, "opened", 40).await;
    let record = server.get_ok(&format!("/api/v1/tenders/{id}/record")).await;

    let b = Browser::start("record", "zh-CN").await;

    // The conversion to capital numerals, case by case (on a page of the site).
    b.goto(&server.url("/")).await;
    let cases = b
        .js_async(
            "const { capitalYuan, fmtMoney } = await import('/assets/js/amount.js');\n\
             return Object.fromEntries(args[0].map((x) => [x, capitalYuan(x)]).concat([['money', fmtMoney('1234567.5', 'CNY', 'zh')], ['money.en', fmtMoney('1234567.5', 'CNY', 'en')]]));",
            vec![json!([
                "0", "0.05", "0.5", "1", "10", "15.5", "100", "1005", "1005.05", "10050", "100000", "1000001",
                "12345678.50", "300000", "100000000", "1000000010", "90000000000.09", "1.2.3"
            ])],
        )
        .await;
    let want = [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.5", "伍角整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("15.5", "壹拾伍元伍角整"),
        ("100", "壹佰元整"),
        ("1005", "壹仟零伍元整"),
        ("1005.05", "壹仟零伍元零伍分"),
        ("10050", "壹万零伍拾元整"),
        ("100000", "壹拾万元整"),
        ("1000001", "壹佰万零壹元整"),
        ("12345678.50", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元伍角整"),
        ("300000", "叁拾万元整"),
        ("100000000", "壹亿元整"),
        ("1000000010", "壹拾亿零壹拾元整"),
        ("90000000000.09", "玖佰亿元零玖分"),
    ];
    for (input, capital) in want {
        assert_eq!(cases[input], capital, "capitalYuan({input}): {cases}");
    }
    assert_eq!(cases["1.2.3"], Value::Null, "not an amount: {cases}");
    assert_eq!(cases["money"], "1,234,567.50元");
    assert_eq!(cases["money.en"], "CNY 1,234,567.50");

    // The room, in Chinese: a table per lot, the lot's own column order.
    b.goto(&server.url(&format!("/tenders/{id}"))).await;
    b.wait_for("document.getElementById('record').innerText.includes('开标记录已定稿')", 40).await;
    b.wait_for("document.querySelectorAll('#record-table td.check .ok').length === 3", 30).await;
    let lot1 = b.js(HEADS, vec![json!("#record-lot-1")]).await;
    assert_eq!(lot1, json!(["序号", "投标人", "递交时间", "投标报价", "工期（日历天）", "结果", "本页核验"]));
    let lot2 = b.js(HEADS, vec![json!("#record-lot-2")]).await;
    assert_eq!(lot2, json!(["序号", "投标人", "递交时间", "质保期（月）", "投标报价", "结果", "本页核验"]));
    assert!(b.text("#record-lot-1 caption").await.contains("标段1：North basin"));
    let t1 = b.text("#record-lot-1").await;
    assert!(t1.contains("12,345,678.50元") && t1.contains("大写：壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元伍角整"), "{t1}");
    assert!(t1.contains("1,005.05元") && t1.contains("大写：壹仟零伍元零伍分") && t1.contains("1,200"), "{t1}");
    let t2 = b.text("#record-lot-2").await;
    assert!(t2.contains("300,000.00元") && t2.contains("叁拾万元整") && !t2.contains("Yangtze"), "{t2}");
    // Received times in Beijing time, whatever the viewer's zone.
    let rows = record["rows"].as_array().expect("rows");
    let first = rows.iter().find(|r| r["lot"] == "2").expect("lot 2 row");
    let at = time::OffsetDateTime::parse(
        first["received_at"].as_str().expect("at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339")
    .to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("offset"));
    let want = format!(
        "{}年{}月{}日 {:02}:{:02}:{:02}（北京时间）",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    assert_eq!(b.text("#record-lot-2 td.time").await, want);
    // After the opening the count note no longer says "only the number is public",
    // and the timeline runs newest first.
    assert_eq!(b.text("#bids-note").await, "已开标：投标人及开标结果见开标记录表。");
    let order =
        b.js("return [...document.querySelectorAll('#events li')].map((li) => Number(li.dataset.seq));", vec![]).await;
    let seqs: Vec<i64> = order.as_array().expect("seqs").iter().filter_map(Value::as_i64).collect();
    assert!(seqs.len() > 3 && seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    b.screenshot("1-record-zh").await;

    // English on a desktop: no header, amount or time broken over lines.
    b.click("#lang-switch").await;
    b.wait_for("document.documentElement.lang === 'en'", 5).await;
    let heads = b.js(HEADS, vec![json!("#record-lot-1")]).await;
    assert_eq!(heads, json!(["#", "Bidder", "Received", "Price", "Duration (days)", "Outcome", "Checked here"]));
    assert!(b.text("#record-lot-1").await.contains("CNY 12,345,678.50"));
    assert!(b.text("#record-lot-2 td.time").await.ends_with("(Beijing time)"));
    let broken = b.js(BROKEN, vec![json!(".record-table th, .record-table .amount, .record-table td.time span")]).await;
    assert_eq!(broken, json!([]), "broken over lines on a desktop");
    b.screenshot("2-record-en").await;

    // 375 px: a card per bid, nothing wider than the screen, amounts whole.
    b.client.set_window_size(375, 812).await.expect("resize");
    b.js_async("await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));", vec![]).await;
    let layout = b
        .js(
            "const t = document.getElementById('record-lot-1');\n\
             return {thead: getComputedStyle(t.querySelector('thead')).display, tr: getComputedStyle(t.querySelector('tbody tr')).display,\n\
                     label: getComputedStyle(t.querySelector('td'), '::before').content,\n\
                     wide: document.documentElement.scrollWidth <= window.innerWidth};",
            vec![],
        )
        .await;
    assert_eq!(layout, json!({"thead": "none", "tr": "block", "label": "\"#\"", "wide": true}));
    let broken = b.js(BROKEN, vec![json!(".record-table .amount")]).await;
    assert_eq!(broken, json!([]), "amounts broken on a phone");
    b.js("document.getElementById('record').scrollIntoView()", vec![]).await;
    b.screenshot("3-record-en-375").await;
    b.click("#lang-switch").await;
    b.wait_for("document.documentElement.lang === 'zh-CN'", 5).await;
    b.js("document.getElementById('record').scrollIntoView()", vec![]).await;
    b.screenshot("4-record-zh-375").await;
    b.client.set_window_size(1280, 1000).await.expect("resize");

    b.close().await;
    server.stop().await;
}
