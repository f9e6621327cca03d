//! The opening survives crashes: the real `bidroom serve` binary is killed
//! with SIGKILL at several points of a paced opening and started again on
//! the same data; the opening completes with every bid opened exactly once,
//! no missing or duplicate event, and `bidroom verify` passes. Also: two
//! nodes on one PostgreSQL database open a tender once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bidroom::client::Client;
use bidroom::ledger::Verifier;
use bidroom::verify::verify_tender;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bids::{register, seal, submit};
use crate::common::{ADMIN_TOKEN, Backend, Draft, TestApp, events, wait_events, wait_for_state};

/// Bids in the tender.
const BIDS: usize = 5;
/// Pause between two opened bids: long enough to kill between them.
const PACE_MS: u64 = 700;

/// A `bidroom serve` child process; killed when dropped.
pub(crate) struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Starts `bidroom serve` on the test's data directory and database,
    /// on a port of its choosing; returns once it listens.
    pub(crate) fn start(app: &TestApp, pace_ms: u64) -> Node {
        let dir = app.data_dir.path();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bidroom"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir)
            .args(["--opening-pace-ms", &pace_ms.to_string()])
            .env("BIDROOM_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("DATABASE_URL")
            .env_remove("BIDROOM_DATABASE_SCHEMA")
            .env_remove("BIDROOM_LISTEN")
            .env_remove("BIDROOM_DATA_DIR")
            .env_remove("BIDROOM_OPENING_PACE_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Backend::Postgres { url, schema } = &app.backend {
            cmd.args(["--database", url, "--database-schema", schema]);
        }
        let mut child = cmd.spawn().expect("spawn bidroom serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("bidroom serve exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("bidroom listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Node { child, base }
    }

    /// SIGKILL: no shutdown code runs, whatever the server was doing.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Points the test's client helpers at a node.
pub(crate) fn use_node(app: &mut TestApp, node: &Node) {
    app.base = node.base.clone();
    app.addr = node.base.trim_start_matches("http://").parse().expect("addr");
}

/// A tender opened by the server alone; `bids` bidders submit one bid each.
/// Returns the tender id.
pub(crate) async fn tender_with_bids(app: &TestApp, bids: usize) -> String {
    let deadline = 4 + bids as i64 / 2;
    let id = Draft::on(app, deadline)
        .await
        .opening_in(deadline + 1)
        .custody(json!({"threshold": 1, "custodians": ["server"]}))
        .published(app)
        .await;
    for i in 0..bids {
        let key = register(app, &format!("Bidder {i}")).await;
        let sealed = seal(app, &id, &key, &format!("{}.00", 100 + i), &[]).await;
        let (s, v) = submit(app, &id, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    id
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

/// The whole opening, checked after the fact: one outcome event per bid,
/// each bid once in the record, a gapless sequence, and `verify` passes.
pub(crate) async fn assert_opened_exactly_once(app: &TestApp, tender: &str, bids: usize) {
    let ev = events(app, tender).await;
    let seqs: Vec<i64> = ev.iter().map(|e| e["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless sequence");
    for (kind, n) in [("tender.closed", 1), ("opening.started", 1), ("custodian.released", 1), ("record.published", 1)]
    {
        assert_eq!(count(&ev, kind), n, "{kind}: {ev:?}");
    }
    assert_eq!(count(&ev, "bid.rejected") + count(&ev, "bid.unopened"), 0, "{ev:?}");
    let mut per_bid: HashMap<&str, usize> = HashMap::new();
    for e in ev.iter().filter(|e| e["type"] == "bid.opened") {
        *per_bid.entry(e["data"]["bid_id"].as_str().expect("bid id")).or_default() += 1;
    }
    assert_eq!(per_bid.len(), bids, "every bid opened: {per_bid:?}");
    assert!(per_bid.values().all(|n| *n == 1), "no bid opened twice: {per_bid:?}");
    let positions: Vec<i64> = ev
        .iter()
        .filter(|e| e["type"] == "bid.opened")
        .map(|e| e["data"]["position"].as_i64().expect("position"))
        .collect();
    assert_eq!(positions, (1..=bids as i64).collect::<Vec<_>>());

    let (s, record) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    assert_eq!(s, StatusCode::OK, "{record}");
    assert_eq!(record["complete"], true, "{record}");
    let rows = record["rows"].as_array().expect("rows");
    let mut ids: Vec<&str> = rows.iter().map(|r| r["bid_id"].as_str().expect("bid id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((rows.len(), ids.len()), (bids, bids), "each bid once in the record");

    let client = Client::new(&app.base).expect("client");
    let verifier = Verifier::parse(&client.log_key().await.expect("log key")).expect("verifier key");
    let report = verify_tender(&client, tender.parse().expect("uuid"), &verifier, None).await;
    assert!(report.passed(), "{report}");
}

async fn opening_survives_sigkill_at_any_point(mut app: TestApp) {
    // The in-process server only made the fresh database; the real binary
    // takes over its data directory and database from here.
    app.stop().await;
    let node = Node::start(&app, PACE_MS);
    use_node(&mut app, &node);
    let tender = tender_with_bids(&app, BIDS).await;

    // 1. Right after the opening started.
    wait_events(&app, &tender, "opening.started", |ev| count(ev, "opening.started") == 1).await;
    node.kill();
    let node = Node::start(&app, PACE_MS);
    use_node(&mut app, &node);

    // 2. In the middle of the 唱标: some bids opened, not all.
    let ev = wait_events(&app, &tender, "two bids opened", |ev| count(ev, "bid.opened") >= 2).await;
    node.kill();
    assert!(count(&ev, "bid.opened") < BIDS, "killed mid-opening: {ev:?}");
    let node = Node::start(&app, PACE_MS);
    use_node(&mut app, &node);

    // 3. Every bid opened, the record not yet published (the last pause).
    let ev = wait_events(&app, &tender, "all bids opened", |ev| count(ev, "bid.opened") == BIDS).await;
    node.kill();
    assert_eq!(count(&ev, "record.published"), 0, "killed before the record: {ev:?}");
    let node = Node::start(&app, PACE_MS);
    use_node(&mut app, &node);

    wait_for_state(&app, &tender, "opened", 60).await;
    assert_opened_exactly_once(&app, &tender, BIDS).await;
    drop(node);
}

crate::on_both_backends!(opening_survives_sigkill_at_any_point);

/// Two nodes on one PostgreSQL database and one shared data directory run
/// the opening concurrently; the tender still opens once.
async fn two_nodes_open_a_tender_once(mut app: TestApp) {
    app.stop().await;
    let first = Node::start(&app, 200);
    let second = Node::start(&app, 200);
    use_node(&mut app, &first);
    let tender = tender_with_bids(&app, BIDS).await;
    wait_for_state(&app, &tender, "opened", 60).await;
    assert_opened_exactly_once(&app, &tender, BIDS).await;
    // Both nodes serve the same record.
    use_node(&mut app, &second);
    assert_opened_exactly_once(&app, &tender, BIDS).await;
    drop((first, second));
}

crate::on_postgres!(two_nodes_open_a_tender_once);
