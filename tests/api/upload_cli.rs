//! `bidroom seal` through a network that breaks once in the middle of a
//! few-MB document: the upload resumes from the server's offset.

use std::sync::atomic::Ordering;

use bidroom::cli::common::ServerArgs;
use bidroom::cli::seal;
use serde_json::json;

use crate::common::{TestApp, published_tender};
use crate::support::scratch::Scratch;

const DOC: usize = 5 * 1024 * 1024;

async fn seal_resumes_after_a_broken_connection(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let s = Scratch::new();
    let key = s.bidder(&app, "Flaky Net Ltd").await;

    // Cut once, two MiB into the traffic: in the middle of the document.
    let (proxy, seen) = crate::flaky::start(app.addr, 2 * 1024 * 1024).await;
    let form = s.write_form("form.json", &json!({"price": "123.45", "days": 30}));
    let doc = s.path("offer.pdf");
    std::fs::write(&doc, (0..DOC).map(|i| (i % 253) as u8).collect::<Vec<u8>>()).expect("write document");
    let mut args = s.seal_args(&app, &tender, &key, &form, "a");
    args.server = ServerArgs { server: format!("http://{proxy}") };
    args.docs = vec![doc];
    let sealed = seal::run(args).await.expect("seal resumes and succeeds");
    assert!(sealed.created);
    assert!(seen.cut.load(Ordering::SeqCst), "the proxy never cut the upload");
    // Resumed, not restarted: far fewer bytes than two whole documents.
    let sent = seen.forwarded.load(Ordering::SeqCst);
    assert!(sent < (DOC + DOC / 4) as u64, "{sent} bytes forwarded for a {DOC}-byte document");
    let (_, v) = app.get(&format!("/api/v1/tenders/{tender}/bids")).await;
    assert_eq!(v["envelope_hashes"], json!([sealed.envelope_hash]));
}

crate::on_both_backends!(seal_resumes_after_a_broken_connection);
