//! The bidder CLI driven in-process against a real server: keys,
//! registration, sealing with documents, receipts, replacement, withdrawal
//! and the refusals a bidder meets.

use std::path::PathBuf;

use bidroom::cli::common::KeyArgs;
use bidroom::cli::keygen::{self, KeygenArgs, KindArg};
use bidroom::cli::receipt::{self, Check, CheckFailed};
use bidroom::cli::seal::{self, Sealed};
use bidroom::cli::{bidder, withdraw};
use bidroom::client::{Client, ClientError};
use bidroom::domain::DomainError;
use bidroom::seal::{KeyFile, SealError};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, published_tender};
use crate::support::scratch::{ITERATIONS, Scratch, server};

fn good_form() -> Value {
    json!({"price": "1234.50", "days": 90})
}

/// Count and envelope hashes the public sees.
async fn public_bids(app: &TestApp, tender: &str) -> (u64, Vec<String>) {
    let list = Client::new(&app.base).expect("client").bids(tender.parse().expect("uuid")).await.expect("bids");
    (list.count, list.envelope_hashes)
}

fn failed_check(err: &anyhow::Error) -> Check {
    err.downcast_ref::<CheckFailed>().unwrap_or_else(|| panic!("not a receipt check failure: {err:#}")).check
}

fn api_code(err: &anyhow::Error) -> String {
    let e = err.downcast_ref::<ClientError>().unwrap_or_else(|| panic!("not a server refusal: {err:#}"));
    e.code().unwrap_or_else(|| panic!("no error code: {e}")).to_owned()
}

#[tokio::test]
async fn keygen_round_trip_refuses_overwrite_and_wrong_passphrase() {
    let s = Scratch::new();
    let key = s.keygen(KindArg::Bidder, "bidder.key").await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key files are private");
    }
    let file = KeyFile::parse(&std::fs::read(&key).expect("read")).expect("parse");
    assert_eq!(file.kdf.iterations, ITERATIONS);
    let unlocked = s.key_args(&key).unlock_bidder().await.expect("unlock");
    assert_eq!(unlocked.public_key().key_id(), file.key_id());

    let again = KeygenArgs {
        kind: KindArg::Custodian,
        out: key.clone(),
        iterations: ITERATIONS,
        passphrase_file: Some(s.passphrase.clone()),
    };
    let err = keygen::run(again).await.expect_err("overwrite refused");
    assert!(err.to_string().contains("already exists"), "{err:#}");
    assert_eq!(KeyFile::parse(&std::fs::read(&key).expect("read")).expect("parse"), file, "file untouched");

    let custodian = s.path("custodian.key");
    let made = keygen::run(KeygenArgs {
        kind: KindArg::Custodian,
        out: custodian.clone(),
        iterations: ITERATIONS,
        passphrase_file: Some(s.passphrase.clone()),
    })
    .await
    .expect("custodian keygen");
    let cfile = KeyFile::parse(&std::fs::read(&custodian).expect("read")).expect("parse");
    assert_eq!(
        cfile.unlock_custodian("correct horse battery staple").expect("unlock").public_key().as_bytes()[..],
        cfile.public[..]
    );
    assert_eq!(made.key_id, cfile.key_id());

    let wrong = s.path("wrong");
    std::fs::write(&wrong, "Correct horse battery staple").expect("write");
    let args = KeyArgs { key: key.clone(), passphrase_file: Some(wrong) };
    let err = args.unlock_bidder().await.expect_err("wrong passphrase");
    assert_eq!(err.downcast_ref::<SealError>(), Some(&SealError::WrongPassphrase), "{err:#}");
    // A custodian key is no bidder key.
    assert!(s.key_args(&custodian).unlock_bidder().await.is_err());
}

async fn register_is_idempotent(app: TestApp) {
    let s = Scratch::new();
    let key = s.keygen(KindArg::Bidder, "acme.key").await;
    let args = bidder::RegisterArgs { server: server(&app), key: s.key_args(&key), name: "ACME Roads Ltd".into() };
    let first = bidder::register(args.clone()).await.expect("register");
    let file = KeyFile::parse(&std::fs::read(&key).expect("read")).expect("parse");
    assert_eq!(first.id, file.key_id());
    assert_eq!(first.name, "ACME Roads Ltd");
    let second = bidder::register(args).await.expect("re-register");
    assert_eq!(second, first);
}

async fn seal_with_documents_and_verify_receipt(app: TestApp) {
    let s = Scratch::new();
    let tender = published_tender(&app, 3600).await;
    let key = s.bidder(&app, "acme").await;
    let form = s.write_form("form.json", &good_form());
    let small = s.path("offer.pdf");
    std::fs::write(&small, b"%PDF-1.7 technical offer").expect("write");
    // Several segments and a partial last one.
    let big = s.path("drawings.bin");
    let big_bytes: Vec<u8> = (0..3 * 65_536 + 123).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&big, &big_bytes).expect("write");
    let mut args = s.seal_args(&app, &tender, &key, &form, "a");
    args.docs = vec![small, big];
    let sealed: Sealed = seal::run(args).await.expect("seal and submit");
    assert!(sealed.created);
    assert_eq!(sealed.receipt.envelope_hash, sealed.envelope_hash);
    let envelope: Value = serde_json::from_slice(&std::fs::read(&sealed.envelope_path).expect("read")).expect("json");
    assert_eq!(envelope["bid_id"], sealed.bid_id.to_string());
    assert_eq!(envelope["documents"].as_array().map(Vec::len), Some(2));
    assert_eq!(envelope["documents"][1]["length"], 12 + big_bytes.len() as u64 + 16 * 4);
    assert_eq!(public_bids(&app, &tender).await, (1, vec![sealed.envelope_hash.clone()]));

    // The saved receipt verifies, with the server's key and with a given one.
    let mut verify = s.verify_args(&app, &sealed.receipt_path);
    verify.envelope = Some(sealed.envelope_path.clone());
    let v = receipt::verify(verify.clone()).await.expect("receipt verifies");
    assert_eq!(v.latest.size, v.checkpoint.size);
    let (_, vkey) = app.get("/log/key").await;
    let vkey = vkey.as_str().expect("key text").trim().to_owned();
    verify.log_key = Some(vkey);

    // The log grows; the receipt stays consistent with it.
    let (st, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/tenders/{tender}/amend"),
            Some(&json!({"reason": "Clarification No. 1",
                "deadline": crate::common::rfc3339(crate::common::server_now(&app).await + time::Duration::hours(2)),
                "opening_at": crate::common::rfc3339(crate::common::server_now(&app).await + time::Duration::hours(3))})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let v = receipt::verify(verify).await.expect("still consistent");
    assert!(v.latest.size > v.checkpoint.size);
}

async fn tampered_receipts_are_rejected(app: TestApp) {
    let s = Scratch::new();
    let tender = published_tender(&app, 3600).await;
    let key = s.bidder(&app, "acme").await;
    let form = s.write_form("form.json", &good_form());
    let sealed = seal::run(s.seal_args(&app, &tender, &key, &form, "a")).await.expect("seal");
    let original: Value = serde_json::from_slice(&std::fs::read(&sealed.receipt_path).expect("read")).expect("json");

    let tamper = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut v = original.clone();
        f(&mut v);
        let path = s.path(name);
        std::fs::write(&path, v.to_string()).expect("write");
        path
    };
    let cases: Vec<(PathBuf, Check)> = vec![
        (tamper("index.json", &|v| v["leaf_index"] = json!(0)), Check::Inclusion),
        (tamper("size.json", &|v| v["tree_size"] = json!(v["tree_size"].as_u64().unwrap_or(0) + 1)), Check::Inclusion),
        (tamper("hash.json", &|v| v["envelope_hash"] = json!("00".repeat(32))), Check::EnvelopeHash),
        (
            tamper("checkpoint.json", &|v| {
                let cp = v["checkpoint"].as_str().unwrap_or_default();
                let mut lines: Vec<String> = cp.split('\n').map(str::to_owned).collect();
                // Another root under the original signature.
                lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
                v["checkpoint"] = json!(lines.join("\n"));
            }),
            Check::CheckpointSignature,
        ),
    ];
    for (path, check) in cases {
        let err = receipt::verify(s.verify_args(&app, &path)).await.expect_err("tampered receipt rejected");
        assert_eq!(failed_check(&err), check, "{}: {err:#}", path.display());
    }

    // The right receipt, the wrong envelope.
    let mut args = s.verify_args(&app, &sealed.receipt_path);
    let other = s.path("other-envelope.json");
    std::fs::write(&other, b"{}").expect("write");
    args.envelope = Some(other);
    assert_eq!(failed_check(&receipt::verify(args).await.expect_err("wrong envelope")), Check::EnvelopeHash);

    // A log key the server never signed with.
    let signer = bidroom::ledger::LogSigner::from_seed("bidroom.local/log", &[7; 32]).expect("signer");
    let mut args = s.verify_args(&app, &sealed.receipt_path);
    args.log_key = Some(signer.verifier_key());
    let err = receipt::verify(args).await.expect_err("foreign key");
    assert_eq!(failed_check(&err), Check::CheckpointSignature);
}

async fn invalid_form_is_refused_before_upload(app: TestApp) {
    let s = Scratch::new();
    let tender = published_tender(&app, 3600).await;
    let key = s.bidder(&app, "acme").await;
    let cases = [
        (json!({"price": 1234.5, "days": 90}), "form.price"),
        (json!({"price": "1234.50"}), "form.days"),
        (json!({"price": "1234.50", "days": 90, "colour": "red"}), "form.colour"),
    ];
    for (i, (form, field)) in cases.into_iter().enumerate() {
        let path = s.write_form(&format!("form-{i}.json"), &form);
        let args = s.seal_args(&app, &tender, &key, &path, &i.to_string());
        let receipt_out = args.receipt_out.clone();
        let err = seal::run(args).await.expect_err("invalid form refused");
        match err.downcast_ref::<DomainError>() {
            Some(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field, "{err:#}"),
            _ => panic!("not a form validation error: {err:#}"),
        }
        assert!(format!("{err:#}").contains(field), "the message names the field: {err:#}");
        assert!(receipt_out.is_some_and(|p| !p.exists()));
    }
    let form = s.write_form("form.json", &good_form());
    let mut args = s.seal_args(&app, &tender, &key, &form, "lot");
    args.lot = "9".into();
    let err = seal::run(args).await.expect_err("unknown lot");
    assert!(err.to_string().contains("no lot \"9\""), "{err:#}");
    assert_eq!(public_bids(&app, &tender).await, (0, vec![]));
}

async fn replace_then_withdraw(app: TestApp) {
    let s = Scratch::new();
    let tender = published_tender(&app, 3600).await;
    let key = s.bidder(&app, "acme").await;
    let form = s.write_form("form.json", &good_form());
    let first = seal::run(s.seal_args(&app, &tender, &key, &form, "first")).await.expect("first bid");
    let cheaper = s.write_form("cheaper.json", &json!({"price": "999.00", "days": 80}));
    let second = seal::run(s.seal_args(&app, &tender, &key, &cheaper, "second")).await.expect("replacement");
    assert_ne!(first.bid_id, second.bid_id);
    assert!(second.receipt.leaf_index > first.receipt.leaf_index);
    assert_eq!(public_bids(&app, &tender).await, (1, vec![second.envelope_hash.clone()]), "replaced");
    // The first receipt still verifies: a replaced bid stays in the log.
    receipt::verify(s.verify_args(&app, &first.receipt_path)).await.expect("first receipt still verifies");

    let out = s.path("withdrawal.json");
    let args = withdraw::WithdrawArgs {
        server: server(&app),
        tender: tender.parse().expect("uuid"),
        bid: second.bid_id,
        key: s.key_args(&key),
        receipt_out: Some(out.clone()),
    };
    let answer = withdraw::run(args).await.expect("withdraw");
    assert_eq!(answer.bid_id, second.bid_id);
    assert!(answer.receipt.leaf_index > second.receipt.leaf_index);
    receipt::verify(s.verify_args(&app, &out)).await.expect("withdrawal receipt verifies");
    assert_eq!(public_bids(&app, &tender).await, (0, vec![]), "withdrawn");
}

async fn withdrawal_needs_the_bidders_key(app: TestApp) {
    let s = Scratch::new();
    let tender = published_tender(&app, 3600).await;
    let key = s.bidder(&app, "acme").await;
    let rival = s.bidder(&app, "rival").await;
    let form = s.write_form("form.json", &good_form());
    let bid = seal::run(s.seal_args(&app, &tender, &key, &form, "a")).await.expect("bid");
    let args = withdraw::WithdrawArgs {
        server: server(&app),
        tender: tender.parse().expect("uuid"),
        bid: bid.bid_id,
        key: s.key_args(&rival),
        receipt_out: Some(s.path("w.json")),
    };
    let err = withdraw::run(args).await.expect_err("a rival cannot withdraw");
    assert_eq!(api_code(&err), "bad_signature", "{err:#}");
    assert_eq!(public_bids(&app, &tender).await.0, 1);
}

async fn submission_after_the_deadline_is_refused(app: TestApp) {
    let s = Scratch::new();
    let key = s.bidder(&app, "acme").await;
    let tender = published_tender(&app, 2).await;
    crate::common::wait_for_state(&app, &tender, "closed", 10).await;
    let form = s.write_form("form.json", &good_form());
    let args = s.seal_args(&app, &tender, &key, &form, "late");
    let receipt_out = args.receipt_out.clone();
    let err = seal::run(args).await.expect_err("late bid refused");
    assert_eq!(api_code(&err), "deadline_passed", "{err:#}");
    assert!(receipt_out.is_some_and(|p| !p.exists()), "no receipt for a late bid");
    assert_eq!(public_bids(&app, &tender).await, (0, vec![]));
}

/// An unknown tender is a clear `not_found`, not a crash.
async fn unknown_tender(app: TestApp) {
    let s = Scratch::new();
    let key = s.keygen(KindArg::Bidder, "k.key").await;
    let form = s.write_form("form.json", &good_form());
    let err = seal::run(s.seal_args(&app, &Uuid::new_v4().to_string(), &key, &form, "x")).await.expect_err("404");
    assert_eq!(api_code(&err), "not_found", "{err:#}");
}

crate::on_both_backends!(
    register_is_idempotent,
    seal_with_documents_and_verify_receipt,
    tampered_receipts_are_rejected,
    invalid_form_is_refused_before_upload,
    replace_then_withdraw,
    withdrawal_needs_the_bidders_key,
    submission_after_the_deadline_is_refused,
    unknown_tender,
);
