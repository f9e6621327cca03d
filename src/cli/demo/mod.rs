//! `bidroom demo`: a whole session against a running server. Two people
//! custodians and a tender with a 2-of-3 custody policy (the server and the
//! two), several bidders sealing and submitting (one replaces its bid, one
//! withdraws, one comes late and is refused), the opening session (sign-in,
//! the host pausing and resuming the decryption, the 唱标 with a ceiling
//! price) with the people custodians releasing, the record as a table, a
//! second tender that fails for too few bidders (流标), and `verify`.

pub mod bidder_held;
mod bidders;
mod objections;
// --- draws ---
mod draws;
mod session;
pub mod table;

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::custodian::{self, ReleaseArgs};
use super::verify::{NotVerified, VerifyArgs};
use crate::client::Client;
use crate::verify::Report;
use bidders::Scratch;

/// Flags of `bidroom demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: super::common::ServerArgs,
    /// A staff admin (or officer) token; the one `serve` printed on first start.
    #[arg(long, env = "BIDROOM_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub admin_token: String,
    /// Seconds from now to the submission deadline.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(3..=3600))]
    pub deadline_in: u32,
    /// Seconds from the deadline to the opening.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub opening_after: u32,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    /// The demo tender.
    pub tender: Uuid,
    /// Envelope hashes of the bids that stood at the close.
    pub standing: Vec<String>,
    /// Envelope hashes of the replaced and the withdrawn bid.
    pub gone: Vec<String>,
    /// The opening record rows.
    pub rows: Vec<serde_json::Value>,
    /// The verification report.
    pub report: Report,
    /// The bidder-held tender (远程解密: one bidder decrypts, one does not).
    pub bidder_held: Uuid,
}

fn heading(text: &str) {
    println!("\n== {text} ==");
}

/// Runs the whole session; fails if any step or the verification fails.
pub async fn run(args: DemoArgs) -> anyhow::Result<DemoOutcome> {
    let client = args.server.client()?;
    let scratch = Scratch::new(&args.server.server)?;
    let token = args.admin_token.trim().to_owned();
    let run_tag = &Uuid::new_v4().simple().to_string()[..6];

    heading("custodians: the server and two people, any two of three open a bid");
    let officer = format!("officer-{run_tag}");
    let notary = format!("notary-{run_tag}");
    let (officer_key, officer_token) = scratch.custodian(&client, &token, &officer, "Procurement officer Li").await?;
    let (notary_key, notary_token) = scratch.custodian(&client, &token, &notary, "Notary Wang").await?;

    heading("tender");
    let host_secret = draws::secret()?;
    let tender = create_tender(&client, &token, &args, [officer.as_str(), notary.as_str()], &host_secret).await?;
    let info = client.tender(tender).await?;
    println!("published tender {tender} \"{}\"; deadline {}", info.title, super::common::rfc3339(info.deadline));

    heading("bidders seal on their own machines and submit");
    let huadong = scratch.bidder("华东路桥 Huadong Roads Ltd", "huadong.key").await?;
    let a = scratch.seal(tender, &huadong, "1234500.00", 120, "huadong").await?;
    let northern = scratch.bidder("Northern Paving Co.", "northern.key").await?;
    let first = scratch.seal(tender, &northern, "1180000.00", 100, "northern-1").await?;
    let bluesky = scratch.bidder("蓝天建设 Bluesky Construction", "bluesky.key").await?;
    let c = scratch.seal(tender, &bluesky, "1299000.00", 90, "bluesky").await?;
    let example = scratch.bidder("Example Asphalt GmbH", "example.key").await?;
    let gone = scratch.seal(tender, &example, "1010000.00", 150, "example").await?;
    println!("-- Northern Paving replaces its bid with a lower price");
    let b = scratch.seal(tender, &northern, "1150000.00", 100, "northern-2").await?;
    println!("-- Example Asphalt withdraws");
    scratch.withdraw(tender, gone.bid_id, &example).await?;
    let bids = client.bids(tender).await?;
    println!("the public sees {} bids and their envelope hashes, not who sent them", bids.count);

    heading("签到 sign-in: the room is open to bidders a minute before the opening");
    session::show(&client, &token, tender).await?;
    objections::sign_in(&scratch, tender, &[&huadong, &northern, &bluesky]).await?;

    heading("the deadline");
    let late = scratch.bidder("Late Builders", "late.key").await?;
    wait_until(&client, info.deadline + time::Duration::milliseconds(200)).await?;
    match scratch.seal(tender, &late, "999999.00", 80, "late").await {
        Ok(_) => anyhow::bail!("the server accepted a bid after the deadline"),
        Err(e) => println!("late bid refused: {e:#}"),
    }

    heading("the opening");
    wait_for_state(&client, tender, &["opening", "opened"], Duration::from_secs(u64::from(args.opening_after) + 60))
        .await?;
    session::show(&client, &token, tender).await?;
    heading("the host pauses the decryption (暂停) and resumes it with the time that was left");
    session::pause_and_resume(&client, &token, tender).await?;
    for (key, release_token) in [(officer_key, officer_token), (notary_key, notary_token)] {
        let args = ReleaseArgs {
            server: scratch.server(),
            tender,
            key: scratch.key_args(&key),
            token: Some(release_token),
            token_file: None,
            yes: true,
        };
        // With the server's share, the first person already makes k = 2; the
        // opening may then finish before the second person gets to release.
        if client.tender(tender).await?.state == "opened" {
            println!("the record is already final: this custodian's share is not needed");
            continue;
        }
        if let Err(e) = custodian::release(args).await {
            if client.tender(tender).await?.state != "opened" {
                return Err(e);
            }
            println!("the record became final meanwhile: this custodian's share is not needed");
        }
    }
    wait_for_state(&client, tender, &["opened"], Duration::from_secs(120)).await?;

    heading("开标记录表 opening record");
    let record = client.record(tender).await?;
    print!("{}", table::render(&record.rows, &info.lots)?);
    for w in &record.warnings {
        println!("warning: {w}");
    }

    session::show(&client, &token, tender).await?;
    heading("确认 confirmation: an objection answered on the spot, the bidders confirm, the record is sealed");
    objections::run(&client, &scratch, &token, tender, &huadong, &[&huadong, &northern]).await?;

    heading("draws: K and the reference price (评标基准价)");
    draws::reveal(&client, &token, tender, &host_secret).await?;

    heading("a second tender with fewer bidders than its minimum (流标)");
    session::failing_tender(&client, &scratch, &token).await?;

    let (bidder_held, held_report) = bidder_held::run_step(&args.server.server, &token).await?;
    if !held_report.passed() {
        return Err(NotVerified(held_report).into());
    }

    heading("verify: re-checking everything from public data");
    let verify =
        VerifyArgs { server: scratch.server(), tender, bundle: None, log_key: None, checkpoint: None, json: false };
    let report = super::verify::verify(&verify).await?;
    print!("{report}");
    println!("\nre-run it yourself: bidroom verify --server {} --tender {tender}", args.server.server);
    if !report.passed() {
        return Err(NotVerified(report).into());
    }
    // In order of receipt: Northern's replacement came after Bluesky.
    let standing = [a, c, b].iter().map(|s| s.envelope_hash.clone()).collect();
    let gone = vec![first.envelope_hash, gone.envelope_hash];
    Ok(DemoOutcome { tender, standing, gone, rows: record.rows, report, bidder_held })
}

/// Creates and publishes the demo tender.
async fn create_tender(
    client: &Client,
    token: &str,
    args: &DemoArgs,
    people: [&str; 2],
    host_secret: &[u8; 32],
) -> anyhow::Result<Uuid> {
    let now = client.server_time().await?;
    let deadline = now + time::Duration::seconds(i64::from(args.deadline_in));
    let opening = deadline + time::Duration::seconds(i64::from(args.opening_after));
    let draft = json!({
        "title": "Demo: municipal road resurfacing 2027 (市政道路维修)",
        "reference": format!("DEMO-{}", &Uuid::new_v4().simple().to_string()[..8]),
        "description": "A demonstration tender run by `bidroom demo`.",
        "buyer": "City of Example",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "North district", "fields": demo_fields()}],
        "deadline": super::common::rfc3339(deadline),
        "opening_at": super::common::rfc3339(opening),
        "custody": {"threshold": 2, "custodians": ["server", people[0], people[1]], "release_window_minutes": 10},
        "session": session::demo_terms(),
    });
    let mut draft = draft;
    draft["session"]["draws"] = draws::terms(host_secret);
    publish_draft(client, token, &draft).await
}

/// Creates a tender from `draft` and publishes it; its id.
async fn publish_draft(client: &Client, token: &str, draft: &serde_json::Value) -> anyhow::Result<Uuid> {
    let created = client
        .staff_call(Method::POST, "api/v1/tenders", token, Some(draft))
        .await
        .context("cannot create the tender")?;
    let id: Uuid = created["id"].as_str().and_then(|s| s.parse().ok()).context("no tender id in the answer")?;
    client
        .staff_call(Method::POST, &format!("api/v1/tenders/{id}/publish"), token, None)
        .await
        .context("cannot publish the tender")?;
    Ok(id)
}

/// The declared fields of every demo lot: the price and the days.
fn demo_fields() -> serde_json::Value {
    json!([
        {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
        {"key": "days", "label": {"zh": "工期", "en": "Days"}, "type": "integer", "required": true}
    ])
}

/// Sleeps until the server's clock reaches `at`.
async fn wait_until(client: &Client, at: time::OffsetDateTime) -> anyhow::Result<()> {
    let now = client.server_time().await?;
    let left = at - now;
    if left.is_positive() {
        println!("waiting {:.1} s (server time)…", left.as_seconds_f64());
        tokio::time::sleep(left.unsigned_abs()).await;
    }
    Ok(())
}

/// Polls until the tender is in one of `states`.
async fn wait_for_state(client: &Client, tender: Uuid, states: &[&str], limit: Duration) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + limit;
    loop {
        let t = client.tender(tender).await?;
        if states.contains(&t.state.as_str()) {
            println!("tender is {}", t.state);
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < until, "the tender stayed {} (waited for {states:?})", t.state);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
