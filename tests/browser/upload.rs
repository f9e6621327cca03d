//! The bidder page's resumable upload: a document upload whose connection
//! "breaks" halfway (the page is made to see a network error after the
//! server got half the bytes) resumes from the server's offset, the
//! labelled progress bar reaches 100 %, and the bid is the one sealed.

use bidroom::seal::{Envelope, decrypt_document, open_share, rebuild_key};

use crate::harness::{Browser, Server};

/// Wraps XMLHttpRequest so the first PATCH of part 1 carries only half its
/// bytes and then reports a network error; records every PATCH's offset.
const BREAK_ONCE: &str = r#"
window.__patches = [];
window.__broken = false;
const open = XMLHttpRequest.prototype.open;
const setHeader = XMLHttpRequest.prototype.setRequestHeader;
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url, ...rest) { this.__url = url; this.__method = method; return open.call(this, method, url, ...rest); };
XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
  if (name.toLowerCase() === "upload-offset") this.__offset = Number(value);
  return setHeader.call(this, name, value);
};
XMLHttpRequest.prototype.send = function (body) {
  if (this.__method === "PATCH") {
    window.__patches.push([this.__url.split("/").pop(), this.__offset]);
    if (!window.__broken && this.__url.endsWith("/parts/1") && body && body.size > 2) {
      window.__broken = true;
      const fail = this.onerror;
      this.onload = () => fail();
      return send.call(this, body.slice(0, Math.floor(body.size / 2)));
    }
  }
  return send.call(this, body);
};
return true;
"#;

/// Opens the bid page, makes a key in the browser and registers it.
async fn registered_bidder(server: &Server, b: &Browser, id: &str, name: &str) -> String {
    let page = server.url(&format!("/tenders/{id}/bid"));
    b.goto(&page).await;
    b.wait_for("document.getElementById('generate-key')", 20).await;
    b.click("#generate-key").await;
    b.wait_for("document.getElementById('bidder-name')", 20).await;
    b.fill("#bidder-name", name).await;
    b.click("#register-go").await;
    b.wait_for("document.getElementById('registered')", 20).await;
    page
}

/// Fills the form and attaches `doc` (written to the data directory as `file`).
async fn fill_bid(server: &Server, b: &Browser, price: &str, days: &str, file: &str, doc: &[u8]) {
    let doc_path = server.data_dir.path().join(file);
    std::fs::write(&doc_path, doc).expect("write doc");
    b.fill("#field-price", price).await;
    b.fill("#field-days", days).await;
    let input = b.client.find(fantoccini::Locator::Css("#documents")).await.expect("file input");
    input.send_keys(&doc_path.display().to_string()).await.expect("attach");
}

/// The tender holds exactly one bid, and its document decrypts to `doc`.
async fn assert_one_bid_with(server: &Server, id: &str, doc: &[u8]) {
    let summary = server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await;
    assert_eq!(summary["count"], 1);
    let envelope = Envelope::parse(&server.blob(summary["envelope_hashes"][0].as_str().expect("hash"))).expect("env");
    let share = open_share(&envelope, 1, &server.server_custodian_key()).expect("share");
    let k = rebuild_key(&envelope, &[share]).expect("key");
    let mut plain = Vec::new();
    let stream = server.blob(&hex::encode(envelope.documents[0].sha256));
    decrypt_document(&envelope, &k, 0, &stream[..], &mut plain).expect("decrypts");
    assert_eq!(plain, doc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_upload_resumes_from_the_servers_offset() {
    let mut server = Server::for_browser().await;
    let tender = server.tender("Harbour dredging", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("upload", "en-US").await;

    registered_bidder(&server, &b, &id, "Resume Dredging Co").await;
    let doc: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    fill_bid(&server, &b, "88000.00", "120", "plans.pdf", &doc).await;
    assert_eq!(b.js(BREAK_ONCE, vec![]).await, true);
    b.click("#seal").await;
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    b.click("#seal-confirm").await;
    let receipt = b.wait_for("(document.getElementById('receipt-status') || {}).innerText", 90).await;
    assert!(receipt.as_str().unwrap_or_default().starts_with('✓'), "{receipt}");
    b.js("document.getElementById('progress-box').scrollIntoView()", vec![]).await;
    b.screenshot("1-resumed").await;

    // The progress bar has a label and finished; the text says how much.
    assert_eq!(b.js("return document.getElementById('progress').value", vec![]).await, 100);
    let label = b.js("return document.querySelector('label[for=progress]').innerText", vec![]).await;
    assert_eq!(label, "Upload progress");
    assert!(b.text("#progress-text").await.contains("MB"));
    // One break, then a PATCH of part 1 from the server's offset (not 0).
    assert_eq!(b.js("return window.__broken", vec![]).await, true);
    let patches = b.js("return window.__patches", vec![]).await;
    let resumed: Vec<u64> =
        patches.as_array().expect("patches").iter().filter(|p| p[0] == "1").filter_map(|p| p[1].as_u64()).collect();
    assert_eq!(resumed.len(), 2, "{patches}");
    assert_eq!(resumed[0], 0);
    assert!(resumed[1] > 1_000_000, "resumed from the server's offset: {patches}");

    // The stored document is the one sealed.
    assert_one_bid_with(&server, &id, &doc).await;

    b.close().await;
    server.stop().await;
}

/// Makes every PATCH hang, as if the tab were closed mid-upload.
const STALL: &str = r#"
window.__stalled = 0;
XMLHttpRequest.prototype.send = function () { window.__stalled += 1; };
return true;
"#;

/// The page is reloaded while a sealed bid is uploading: the bid sealed
/// before the reload is offered again and submitted unchanged (the form is
/// empty after the reload, so nothing can have been sealed anew); once it
/// has its receipt it is no longer offered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_bid_survives_a_reload() {
    let mut server = Server::for_browser().await;
    let tender = server.tender("Bridge inspection", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let b = Browser::start("pending", "en-US").await;
    let page = registered_bidder(&server, &b, &id, "Reload Inspection Ltd").await;
    let doc: Vec<u8> = (0..400_000u32).map(|i| (i * 11 % 251) as u8).collect();
    fill_bid(&server, &b, "51000.00", "30", "inspection.pdf", &doc).await;
    assert_eq!(b.js(STALL, vec![]).await, true);
    b.click("#seal").await;
    b.wait_for("document.getElementById('seal-confirm')", 10).await;
    b.click("#seal-confirm").await;
    b.wait_for("window.__stalled > 0", 60).await;
    assert_eq!(server.get_ok(&format!("/api/v1/tenders/{id}/bids")).await["count"], 0);

    b.goto(&page).await;
    let note = b.wait_for("(document.getElementById('pending-note') || {}).innerText", 20).await;
    assert!(note.as_str().unwrap_or_default().contains("has not reached the server"), "{note}");
    assert!(
        note.as_str().unwrap_or_default().contains("It is for lot 1 (North district), Price: CNY 51,000.00."),
        "the note names lot and amount: {note}"
    );
    b.screenshot("2-pending-after-reload").await;
    assert_eq!(b.js("return document.getElementById('field-price').value", vec![]).await, "");
    b.click("#retry").await;
    let receipt = b.wait_for("(document.getElementById('receipt-status') || {}).innerText", 60).await;
    assert!(receipt.as_str().unwrap_or_default().starts_with('✓'), "{receipt}");
    assert_eq!(b.js("return !!document.getElementById('pending-note')", vec![]).await, false);

    // The stored bid is the one sealed before the reload.
    assert_one_bid_with(&server, &id, &doc).await;

    // Once received, it is not offered again: the page offers what its
    // IndexedDB keeps, and that is empty now.
    b.goto(&page).await;
    b.wait_for("document.querySelector('#my-bids li[data-fate=stands]')", 20).await;
    let kept = b
        .js_async(
            "const { loadPending } = await import('/assets/js/pending.js'); return (await loadPending(args[0])) ?? null;",
            vec![serde_json::json!(id)],
        )
        .await;
    assert_eq!(kept, serde_json::Value::Null, "the sealed bid is still kept after its receipt");
    assert_eq!(b.js("return !!document.getElementById('pending-note')", vec![]).await, false);

    b.close().await;
    server.stop().await;
}
