//! The opening from the CLI side: custodians releasing with
//! `bidroom custodian release`, the demo session, and `bidroom verify`
//! passing on honest openings and naming what failed when the stored data
//! is tampered with.

use bidroom::cli::custodian;
use bidroom::cli::demo::{self, DemoArgs};
use bidroom::cli::seal::Sealed;
use bidroom::cli::withdraw;
use bidroom::client::{Client, ClientError, ReleaseShare};
use bidroom::ledger::Verifier;
use bidroom::seal::{ChallengePurpose, b64, unb64};
use bidroom::verify::{Check, Report, Status, verify_tender};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{ADMIN_TOKEN, Backend, Draft, TestApp, events, wait_events, wait_for_state};
use crate::support::scratch::{Scratch, server};

/// A published tender closing in `deadline_secs` and opening in `opening_secs`.
async fn opening_tender(app: &TestApp, deadline_secs: i64, opening_secs: i64, custody: Value) -> String {
    Draft::on(app, deadline_secs).await.opening_in(opening_secs).custody(custody).published(app).await
}

/// Runs `bidroom verify` in-process.
pub(crate) async fn verify(app: &TestApp, tender: &str) -> Report {
    let client = Client::new(&app.base).expect("client");
    let verifier = Verifier::parse(&client.log_key().await.expect("log key")).expect("verifier key");
    verify_tender(&client, tender.parse().expect("uuid"), &verifier, None).await
}

pub(crate) fn assert_fails(report: &Report, expected: &[Check]) {
    assert_eq!(report.failed(), expected, "{report}");
}

/// Three standing bids (one of them a replacement), one withdrawn, one
/// late and refused; the server alone opens (k = 1). Returns the tender id
/// and the bids that stood at the close, in order of receipt.
pub(crate) async fn honest_opening(app: &TestApp) -> (String, Vec<Sealed>) {
    let s = Scratch::new();
    let tender = opening_tender(app, 3, 4, json!({"threshold": 1, "custodians": ["server"]})).await;
    let keys = [
        s.bidder(app, "Alpha").await,
        s.bidder(app, "Beta").await,
        s.bidder(app, "Gamma").await,
        s.bidder(app, "Delta").await,
    ];
    let late = s.bidder(app, "Late").await;
    let a = s.seal(app, &tender, &keys[0], "100.00", "a").await.expect("seal a");
    s.seal(app, &tender, &keys[1], "95.00", "b1").await.expect("seal b1");
    let g = s.seal(app, &tender, &keys[2], "120.00", "g").await.expect("seal g");
    let d = s.seal(app, &tender, &keys[3], "110.00", "d").await.expect("seal d");
    // Beta replaces its bid; Gamma withdraws.
    let b = s.seal(app, &tender, &keys[1], "90.50", "b2").await.expect("seal b2");
    let args = withdraw::WithdrawArgs {
        server: server(app),
        tender: tender.parse().expect("uuid"),
        bid: g.bid_id,
        key: s.key_args(&keys[2]),
        receipt_out: Some(s.path("withdrawal-g.json")),
    };
    withdraw::run(args).await.expect("withdraw");
    wait_for_state(app, &tender, "closed", 15).await;
    let err = s.seal(app, &tender, &late, "70.00", "late").await.expect_err("late bid refused");
    let code = err.downcast_ref::<ClientError>().and_then(|e| e.code().map(str::to_owned));
    assert_eq!(code.as_deref(), Some("deadline_passed"), "{err:#}");
    wait_for_state(app, &tender, "opened", 20).await;
    (tender, vec![a, d, b])
}

/// The record rows.
async fn record_rows(app: &TestApp, tender: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["rows"].as_array().expect("rows").clone()
}

async fn server_alone_opens_and_verify_passes(app: TestApp) {
    let (tender, standing) = honest_opening(&app).await;
    let rows = record_rows(&app, &tender).await;
    let hashes: Vec<&str> = rows.iter().map(|r| r["envelope_hash"].as_str().expect("hash")).collect();
    let expected: Vec<&str> = standing.iter().map(|s| s.envelope_hash.as_str()).collect();
    assert_eq!(hashes, expected, "every standing bid once, in order of receipt");
    let prices: Vec<&str> = rows.iter().map(|r| r["fields"]["price"].as_str().expect("price")).collect();
    assert_eq!(prices, ["100.00", "110.00", "90.50"]);

    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    assert!(report.results.iter().all(|r| r.status == Status::Passed), "nothing skipped: {report}");
    assert_eq!(report.state, "opened");
    // The command itself, with the log key given and a checkpoint kept from earlier.
    let s = Scratch::new();
    let client = Client::new(&app.base).expect("client");
    let held = s.path("checkpoint");
    std::fs::write(&held, client.checkpoint().await.expect("checkpoint")).expect("write");
    let args = bidroom::cli::verify::VerifyArgs {
        server: server(&app),
        tender: tender.parse().expect("uuid"),
        bundle: None,
        log_key: Some(client.log_key().await.expect("key")),
        checkpoint: Some(held),
        json: false,
    };
    assert!(bidroom::cli::verify::run(args.clone()).await.expect("verify passes").passed());
    // Another log's key is refused by name.
    let other = bidroom::ledger::LogSigner::from_seed("bidroom.local/log", &[9; 32]).expect("signer");
    let err = bidroom::cli::verify::run(bidroom::cli::verify::VerifyArgs {
        log_key: Some(other.verifier_key()),
        checkpoint: None,
        ..args
    })
    .await
    .expect_err("another key fails");
    let failed = &err.downcast_ref::<bidroom::cli::verify::NotVerified>().expect("named failure").0;
    assert_eq!(failed.failed(), [Check::CheckpointSignature], "{failed}");
}

async fn demo_runs_a_two_of_three_session(app: TestApp) {
    let args = DemoArgs { server: server(&app), admin_token: ADMIN_TOKEN.into(), deadline_in: 6, opening_after: 1 };
    let outcome = demo::run(args).await.expect("demo");
    assert!(outcome.report.passed(), "{}", outcome.report);
    let hashes: Vec<&str> = outcome.rows.iter().map(|r| r["envelope_hash"].as_str().expect("hash")).collect();
    assert_eq!(hashes, outcome.standing.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(outcome.rows.iter().all(|r| r["status"] == "opened"), "{:?}", outcome.rows);
    assert!(
        outcome.gone.iter().all(|g| !hashes.contains(&g.as_str())),
        "replaced and withdrawn bids are not in the record"
    );
    let tender = outcome.tender.to_string();
    let (_, t) = app.get(&format!("/api/v1/tenders/{tender}")).await;
    assert_eq!(t["custody"]["threshold"], 2);
    assert_eq!(t["custody"]["custodians"].as_array().map(Vec::len), Some(3));
    let released: Vec<Value> =
        events(&app, &tender).await.into_iter().filter(|e| e["type"] == "custodian.released").collect();
    assert!(released.len() >= 2, "the server and at least one person released: {released:?}");
    // The bidder-held step: one bidder decrypts, one does not and is blamed.
    let (_, record) = app.get(&format!("/api/v1/tenders/{}/record", outcome.bidder_held)).await;
    let status: Vec<&str> =
        record["rows"].as_array().expect("rows").iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(status, ["opened", "rejected"], "{record}");
    assert_eq!(record["rows"][1]["bidder_share"], "not_released");
}

async fn custodians_release_through_the_cli_and_bad_shares_are_blamed(app: TestApp) {
    let s = Scratch::new();
    let (alice, alice_token) = s.custodian(&app, "alice").await;
    let (bob, bob_token) = s.custodian(&app, "bob").await;
    let (mallory, _) = s.custodian(&app, "mallory").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "alice", "bob"], "release_window_minutes": 10});
    let tender = opening_tender(&app, 3, 4, custody).await;
    let one = s.bidder(&app, "One").await;
    let two = s.bidder(&app, "Two").await;
    let x = s.seal(&app, &tender, &one, "10.00", "one").await.expect("seal one");
    s.seal(&app, &tender, &two, "20.00", "two").await.expect("seal two");
    let err = custodian::release(s.release_args(&app, &tender, &alice, &alice_token)).await.expect_err("too early");
    assert!(format!("{err:#}").contains("not_opened_yet"), "{err:#}");

    wait_for_state(&app, &tender, "opening", 20).await;
    let err =
        custodian::release(s.release_args(&app, &tender, &mallory, &alice_token)).await.expect_err("not a custodian");
    assert!(format!("{err:#}").contains("not one of the custodians"), "{err:#}");
    // The server's share alone is not enough: once the server has released,
    // nothing opens (checked again at the end: no bid opened before Bob).
    let released = |e: &Value| e["type"] == "custodian.released" && e["data"]["custodian"] == "server";
    wait_events(&app, &tender, "the server's release", |ev| ev.iter().any(released)).await;
    assert_eq!(record_rows(&app, &tender).await.len(), 0);

    // Alice releases a share that does not match its commitment.
    let key = custodian::unlock_custodian(&s.key_args(&alice)).await.expect("unlock");
    let client = Client::new(&app.base).expect("client");
    let served = client.envelopes(tender.parse().expect("uuid")).await.expect("envelopes");
    let bid = served.iter().find(|b| b.envelope_hash == x.envelope_hash).expect("bid one");
    let envelope = bidroom::seal::Envelope::parse(&unb64(&bid.envelope).expect("b64")).expect("envelope");
    let mut share = bidroom::seal::open_share(&envelope, 2, &key).expect("share").to_bytes().to_vec();
    share[32] ^= 1;
    let bad = vec![ReleaseShare { bid_id: bid.bid_id, share: b64(&share) }];
    let tender_id = tender.parse().expect("uuid");
    let proof = client.prove_custodian("alice", &key, ChallengePurpose::Release, Some(tender_id)).await.expect("proof");
    let result = client.release(tender_id, &alice_token, &proof, bad).await.expect("release");
    assert_eq!((result.accepted, result.bad.clone()), (0, vec![x.envelope_hash.clone()]));

    // Bob releases through the CLI; both bids open (server + Bob).
    let released = custodian::release(s.release_args(&app, &tender, &bob, &bob_token)).await.expect("bob");
    assert_eq!(released.index, 3);
    assert_eq!(released.result.expect("released").accepted, 2);
    wait_for_state(&app, &tender, "opened", 20).await;
    let rows = record_rows(&app, &tender).await;
    assert_eq!(rows.iter().filter(|r| r["status"] == "opened").count(), 2, "{rows:?}");
    let all = events(&app, &tender).await;
    let seq = |e: &Value| e["seq"].as_i64().expect("seq");
    let bob = all.iter().find(|e| e["type"] == "custodian.released" && e["data"]["custodian"] == "bob").expect("bob");
    let first_open = all.iter().find(|e| e["type"] == "bid.opened").expect("an opened bid");
    assert!(seq(first_open) > seq(bob), "a bid opened before the second good share: {all:?}");
    // Alice's fault stays on the record.
    let blame: Vec<Value> = events(&app, &tender)
        .await
        .into_iter()
        .filter(|e| e["type"] == "custodian.released" && e["data"]["custodian"] == "alice")
        .collect();
    assert_eq!(blame.len(), 1);
    assert_eq!(blame[0]["data"]["bad_shares"], json!([x.envelope_hash]));
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
}

/// Direct access to the test server's database, to tamper with it.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn open(app: &TestApp) -> Db {
        match &app.backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(app.data_dir.path().join("bidroom.db"));
                Db::Sqlite(sqlx::SqlitePool::connect_with(opts).await.expect("open sqlite"))
            }
            Backend::Postgres { url, schema } => {
                let opts: sqlx::postgres::PgConnectOptions = url.parse().expect("pg url");
                let opts = opts.options([("search_path", schema.as_str())]);
                Db::Postgres(sqlx::PgPool::connect_with(opts).await.expect("open postgres"))
            }
        }
    }

    async fn entry(&self, index: i64) -> Vec<u8> {
        let sql = "SELECT entry FROM log_entries WHERE idx = $1";
        match self {
            Db::Sqlite(p) => sqlx::query_scalar(sql).bind(index).fetch_one(p).await,
            Db::Postgres(p) => sqlx::query_scalar(sql).bind(index).fetch_one(p).await,
        }
        .expect("entry")
    }

    async fn set_entry(&self, index: i64, bytes: &[u8]) {
        let sql = "UPDATE log_entries SET entry = $2 WHERE idx = $1";
        match self {
            Db::Sqlite(p) => sqlx::query(sql).bind(index).bind(bytes).execute(p).await.map(drop),
            Db::Postgres(p) => sqlx::query(sql).bind(index).bind(bytes).execute(p).await.map(drop),
        }
        .expect("update entry")
    }

    async fn set_ciphertext(&self, hash: &str, bytes: &[u8]) {
        let sql = "UPDATE small_ciphertexts SET bytes = $2 WHERE sha256 = $1";
        let done = match self {
            Db::Sqlite(p) => sqlx::query(sql).bind(hash).bind(bytes).execute(p).await.map(|r| r.rows_affected()),
            Db::Postgres(p) => sqlx::query(sql).bind(hash).bind(bytes).execute(p).await.map(|r| r.rows_affected()),
        };
        assert_eq!(done.expect("update ciphertext"), 1, "the form is stored in the database");
    }

    async fn delete_bid(&self, bid: Uuid) {
        for sql in [
            "DELETE FROM shares WHERE bid_id = $1",
            "DELETE FROM outcomes WHERE bid_id = $1",
            "DELETE FROM bids WHERE id = $1",
        ] {
            match self {
                Db::Sqlite(p) => sqlx::query(sql).bind(bid.to_string()).execute(p).await.map(drop),
                Db::Postgres(p) => sqlx::query(sql).bind(bid.to_string()).execute(p).await.map(drop),
            }
            .expect("delete");
        }
    }
}

/// Replaces `from` by `to` (same length) in the log entry of the first
/// event of `kind` that contains it.
pub(crate) async fn tamper_entry(app: &TestApp, tender: &str, kind: &str, from: &str, to: &str) {
    let db = Db::open(app).await;
    for e in events(app, tender).await.iter().filter(|e| e["type"] == kind) {
        let index = e["log_index"].as_i64().expect("index");
        let entry = db.entry(index).await;
        let text = String::from_utf8(entry).expect("utf-8 entry");
        if text.contains(from) {
            db.set_entry(index, text.replacen(from, to, 1).as_bytes()).await;
            return;
        }
    }
    panic!("no {kind} entry contains {from}");
}

async fn verify_catches_a_changed_ciphertext_byte(app: TestApp) {
    let (tender, standing) = honest_opening(&app).await;
    assert!(verify(&app, &tender).await.passed());
    let client = Client::new(&app.base).expect("client");
    let served = client.envelopes(tender.parse().expect("uuid")).await.expect("envelopes");
    let bid = served.iter().find(|b| b.bid_id == standing[1].bid_id).expect("served");
    let envelope = bidroom::seal::Envelope::parse(&unb64(&bid.envelope).expect("b64")).expect("parse");
    let hash = hex::encode(envelope.form.sha256);
    let mut bytes = unb64(&bid.form).expect("b64");
    bytes[20] ^= 0x01;
    // A form sent in one request is a database row (migration 0013); one
    // sent as a resumable upload's part stays the file it was staged as.
    let path = app.data_dir.path().join("blobs").join(&hash[..2]).join(&hash);
    if path.exists() {
        let mut perms = std::fs::metadata(&path).expect("meta").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).expect("writable");
        std::fs::write(&path, &bytes).expect("tamper");
    } else {
        Db::open(&app).await.set_ciphertext(&hash, &bytes).await;
    }
    assert_fails(&verify(&app, &tender).await, &[Check::FormCiphertexts]);
}

async fn verify_catches_a_changed_log_entry(app: TestApp) {
    let (tender, _) = honest_opening(&app).await;
    tamper_entry(&app, &tender, "tender.published", "Road maintenance 2027", "Road maintenance 2028").await;
    // The entry no longer proves inclusion, and the terms it now logs are
    // not the ones served.
    assert_fails(&verify(&app, &tender).await, &[Check::EventInclusion, Check::TermsServed]);
}

async fn verify_catches_a_deleted_bid(app: TestApp) {
    let (tender, standing) = honest_opening(&app).await;
    Db::open(&app).await.delete_bid(standing[1].bid_id).await;
    assert_fails(&verify(&app, &tender).await, &[Check::CloseRootFromEnvelopes]);
}

async fn verify_catches_a_changed_price(app: TestApp) {
    let (tender, _) = honest_opening(&app).await;
    tamper_entry(&app, &tender, "bid.opened", r#""price":"90.50""#, r#""price":"80.50""#).await;
    let (_, record) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert!(record.to_string().contains("80.50"), "the server now serves the changed price");
    assert_fails(&verify(&app, &tender).await, &[Check::EventInclusion, Check::FormCiphertexts]);
}

crate::on_both_backends!(
    server_alone_opens_and_verify_passes,
    demo_runs_a_two_of_three_session,
    custodians_release_through_the_cli_and_bad_shares_are_blamed,
    verify_catches_a_changed_ciphertext_byte,
    verify_catches_a_changed_log_entry,
    verify_catches_a_deleted_bid,
    verify_catches_a_changed_price,
);
