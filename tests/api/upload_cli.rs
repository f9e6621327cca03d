//! `bidroom seal` through a network that breaks once in the middle of a
//! few-MB document: the upload resumes from the server's offset.

use std::sync::atomic::Ordering;

use bidroom::cli::bidder;
use bidroom::cli::common::{KeyArgs, ServerArgs};
use bidroom::cli::keygen::{self, KeygenArgs, KindArg};
use bidroom::cli::seal::{self, SealArgs};
use serde_json::json;

use crate::common::{TestApp, published_tender};

const DOC: usize = 5 * 1024 * 1024;

async fn seal_resumes_after_a_broken_connection(app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let key = dir.path().join("bidder.key");
    let key_args = KeyArgs { key: key.clone(), passphrase_file: Some(pass.clone()) };
    keygen::run(KeygenArgs { kind: KindArg::Bidder, out: key.clone(), iterations: 1_000, passphrase_file: Some(pass) })
        .await
        .unwrap();
    let direct = ServerArgs { server: app.base.clone() };
    bidder::register(bidder::RegisterArgs { server: direct, key: key_args.clone(), name: "Flaky Net Ltd".into() })
        .await
        .unwrap();

    // Cut once, two MiB into the traffic: in the middle of the document.
    let (proxy, seen) = crate::flaky::start(app.addr, 2 * 1024 * 1024).await;
    let form = dir.path().join("form.json");
    std::fs::write(&form, json!({"price": "123.45", "days": 30}).to_string()).unwrap();
    let doc = dir.path().join("offer.pdf");
    std::fs::write(&doc, (0..DOC).map(|i| (i % 253) as u8).collect::<Vec<u8>>()).unwrap();
    let sealed = seal::run(SealArgs {
        server: ServerArgs { server: format!("http://{proxy}") },
        tender: tender.parse().unwrap(),
        lot: "1".into(),
        key: key_args,
        form,
        docs: vec![doc],
        receipt_out: Some(dir.path().join("receipt.json")),
        envelope_out: Some(dir.path().join("envelope.json")),
    })
    .await
    .expect("seal resumes and succeeds");
    assert!(sealed.created);
    assert!(seen.cut.load(Ordering::SeqCst), "the proxy never cut the upload");
    // Resumed, not restarted: far fewer bytes than two whole documents.
    let sent = seen.forwarded.load(Ordering::SeqCst);
    assert!(sent < (DOC + DOC / 4) as u64, "{sent} bytes forwarded for a {DOC}-byte document");
    let (_, v) = app.get(&format!("/api/v1/tenders/{tender}/bids")).await;
    assert_eq!(v["envelope_hashes"], json!([sealed.envelope_hash]));
}

crate::on_both_backends!(seal_resumes_after_a_broken_connection);
