//! A demo step for bidder-held custody (远程解密): a small tender whose
//! policy is "the server and the bidder, 2 of 2". Two bidders bind a
//! decryption key and seal to it; at the opening one decrypts its share and
//! its bid opens, the other does not decrypt within the window and its bid
//! is recorded as not opened by its own fault. The record is printed and
//! verified. One function, [`run_step`], for the demo to call.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::super::bidder_decrypt::{self, DecryptArgs, DecryptionKeyArgs};
use super::super::keygen::{self, KeygenArgs, KindArg};
use super::super::verify::{NotVerified, VerifyArgs};
use super::bidders::Scratch;
use super::{heading, table, wait_for_state, wait_until};
use crate::client::Client;
use crate::verify::Report;

/// Minutes of the step's decryption window (the shortest a policy allows).
const WINDOW_MINUTES: u32 = 1;

/// Runs the step against the server at `server` with a staff token (its own
/// scratch directory of keys); returns the tender and its verification report.
pub async fn run_step(server: &str, token: &str) -> anyhow::Result<(Uuid, Report)> {
    let scratch = Scratch::new(server)?;
    let client = &Client::new(server)?;
    let token = token.trim();
    heading("bidders decrypt their own bids (远程解密): the server and the bidder, 2 of 2");
    let tender = create(client, token).await?;
    let info = client.tender(tender).await?;
    let mut keys = Vec::new();
    for (name, file, price) in
        [("东方管道 Eastern Pipes", "eastern", "880000.00"), ("Western Valves", "western", "905000.00")]
    {
        let key = scratch.bidder(name, &format!("{file}.key")).await?;
        let dec = scratch.path(&format!("{file}.dec"));
        let passphrase_file = scratch.key_args(&key).passphrase_file;
        keygen::run(KeygenArgs { kind: KindArg::Decryption, out: dec.clone(), iterations: 10_000, passphrase_file })
            .await?;
        let args =
            DecryptionKeyArgs { server: scratch.server(), key: scratch.key_args(&key), decryption_key: dec.clone() };
        bidder_decrypt::register_decryption_key(args).await?;
        let form = scratch.path(&format!("form-{file}.json"));
        std::fs::write(&form, json!({ "price": price, "days": 60 }).to_string())?;
        let seal = super::super::seal::SealArgs {
            server: scratch.server(),
            tender,
            lot: "1".into(),
            key: scratch.key_args(&key),
            form,
            docs: Vec::new(),
            receipt_out: Some(scratch.path(&format!("receipt-{file}.json"))),
            envelope_out: Some(scratch.path(&format!("envelope-{file}.json"))),
            decryption_key: Some(dec.clone()),
        };
        super::super::seal::run(seal).await?;
        keys.push((key, dec));
    }
    wait_until(client, info.deadline + time::Duration::milliseconds(200)).await?;
    wait_for_state(client, tender, &["opening", "opened"], Duration::from_secs(60)).await?;
    println!("-- Eastern Pipes decrypts its share on its own machine and releases it");
    let (key, dec) = &keys[0];
    let args = DecryptArgs {
        server: scratch.server(),
        tender,
        key: scratch.key_args(key),
        decryption_key: dec.clone(),
        decryption_passphrase_file: None,
        bid: None,
    };
    bidder_decrypt::decrypt(args).await?;
    println!("-- Western Valves does not decrypt; the window ends in {WINDOW_MINUTES} minute(s)");
    wait_for_state(client, tender, &["opened"], Duration::from_secs(u64::from(WINDOW_MINUTES) * 60 + 60)).await?;
    let record = client.record(tender).await?;
    print!("{}", table::render(&record.rows, &info.lots)?);
    let verify =
        VerifyArgs { server: scratch.server(), tender, log_key: None, checkpoint: None, json: false, bundle: None };
    let report = super::super::verify::verify(&verify).await?;
    print!("{report}");
    if !report.passed() {
        return Err(NotVerified(report).into());
    }
    Ok((tender, report))
}

/// Creates and publishes the step's tender: closing in 15 s, opening 2 s later.
async fn create(client: &Client, token: &str) -> anyhow::Result<Uuid> {
    let now = client.server_time().await?;
    let deadline = now + time::Duration::seconds(15);
    let draft = json!({
        "title": "Demo: water mains renewal (供水管网改造), bidder-held keys",
        "reference": format!("DEMO-B-{}", &Uuid::new_v4().simple().to_string()[..8]),
        "description": "Bidders hold one key share of their own bids and decrypt them at the opening.",
        "buyer": "City of Example",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "Old town", "fields": super::demo_fields()}],
        "deadline": super::super::common::rfc3339(deadline),
        "opening_at": super::super::common::rfc3339(deadline + time::Duration::seconds(2)),
        "custody": {"threshold": 2, "custodians": ["server", "bidder"], "release_window_minutes": WINDOW_MINUTES},
        // Two bidders are this demonstration's minimum, stated in its terms.
        "session": {"min_bids": 2, "sign_in_minutes": 0, "confirmation_minutes": 0},
    });
    super::publish_draft(client, token, &draft).await
}
