//! End-to-end benchmarks of a real server (in this process, on port 0):
//!
//! * `receipts` — durable receipts per second for concurrent small bids,
//!   with p50/p99 latency, on SQLite (WAL, synchronous=FULL) or PostgreSQL;
//! * `upload` — one large document upload's throughput and peak RSS, against
//!   writing the same bytes to the same disk with SHA-256 and fsync;
//! * `resumable` — the same document through the resumable upload (8 MiB
//!   chunks, `bidroom seal`'s client) against the one-request multipart
//!   upload and the same baseline, all in one run;
//! * `opening` — opening N bids end to end (k = 1, or 2 of 3 with a person
//!   releasing), against the bare crypto cost of the same openings.
//!
//! `cargo bench --bench bidroom -- receipts|upload|resumable|opening [n] [k]`;
//! `BENCH_RELEASE_PAGE=2048` sets the person's release page in `opening`
//! (default: the CLI's `RELEASE_PAGE`).
//! Ratios are measured against a baseline in the same run (the machine is
//! shared and noisy). Results go to docs/BENCHMARKS.md by hand.

// Test and benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bidroom::config::ServeConfig;
use bidroom::launch::App;
use bidroom::seal::{BidSealer, BidderKey, Binding, CustodianSecretKey, CustodyPolicy, b64, register_message};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

// The server binary's allocator (src/main.rs): with glibc malloc the
// opening's RSS growth was mostly per-thread arenas the binary never has.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const TOKEN: &str = "bench-admin-token-0123456789";

struct Server {
    base: String,
    state: bidroom::app::AppState,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

async fn start(pg: Option<String>) -> Server {
    start_with(pg, true).await
}

/// A server whose committer groups submissions (`group_commit`) or records
/// each in its own transaction (batches of one).
async fn start_with(pg: Option<String>, group_commit: bool) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = ServeConfig::for_data_dir(dir.path().to_path_buf());
    cfg.admin_token = Some(TOKEN.into());
    cfg.group_commit = group_commit;
    if let Some(url) = pg {
        let schema = format!("bench_{}", Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&url).await.expect("pg");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.expect("schema");
        cfg.database_url = Some(url);
        cfg.database_schema = Some(schema);
    }
    let app = App::build(&cfg).await.expect("build");
    let state = app.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let shutdown = CancellationToken::new();
    tokio::spawn(app.serve(listener, shutdown.clone()));
    Server { base, state, client: reqwest::Client::new(), dir, shutdown }
}

impl Server {
    async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    async fn tender(&self, deadline_secs: i64, opening_secs: i64, custody: Value) -> String {
        let now = time::OffsetDateTime::now_utc();
        let f = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("fmt");
        let draft = json!({
            "title": "bench", "reference": Uuid::new_v4().to_string(), "buyer": "b", "currency": "CNY",
            "lots": [{"id": "1", "title": "l", "fields": [{"key": "price", "label": {"zh": "报价", "en": "Price"}, "type": "money", "required": true}]}],
            "deadline": f(now + time::Duration::seconds(deadline_secs)),
            "opening_at": f(now + time::Duration::seconds(opening_secs)),
            "custody": custody,
            "session": {"min_bids": 1, "sign_in_minutes": 0, "confirmation_minutes": 0},
        });
        let t = self.call(reqwest::Method::POST, "/api/v1/tenders", Some(TOKEN), draft).await;
        let id = t["id"].as_str().expect("id").to_string();
        self.call(reqwest::Method::POST, &format!("/api/v1/tenders/{id}/publish"), Some(TOKEN), json!(null)).await;
        id
    }

    async fn policy(&self, tender: &str) -> CustodyPolicy {
        self.client
            .get(format!("{}/api/v1/tenders/{tender}/custody", self.base))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("policy")
    }

    async fn bidder(&self) -> BidderKey {
        register(&self.client, &self.base).await
    }
}

async fn register(client: &reqwest::Client, base: &str) -> BidderKey {
    let key = BidderKey::generate().expect("key");
    let pk = key.public_key();
    let proof = key.sign(&register_message(pk.as_bytes())).expect("sign");
    let body =
        json!({"name": format!("bidder {}", pk.key_id()), "public_key": b64(pk.as_bytes()), "proof": b64(&proof)});
    let resp = client.post(format!("{base}/api/v1/bidders")).json(&body).send().await.expect("send");
    assert!(resp.status().is_success(), "register: {}", resp.status());
    key
}

/// Registers a bidder through the server's own use case (proof checked,
/// no HTTP): setup of 100,000 bidders over HTTP took minutes.
async fn register_direct(state: &bidroom::app::AppState) -> BidderKey {
    let key = BidderKey::generate().expect("key");
    let pk = key.public_key();
    let proof = key.sign(&register_message(pk.as_bytes())).expect("sign");
    let req = bidroom::app::registry::RegisterBidder {
        name: format!("bidder {}", pk.key_id()),
        public_key: b64(pk.as_bytes()),
        proof: b64(&proof),
    };
    bidroom::app::registry::register_bidder(state, req).await.map_err(|e| e.to_string()).expect("register");
    key
}

struct Sealed {
    envelope: Vec<u8>,
    signature: Vec<u8>,
    form: Vec<u8>,
}

fn seal(tender: &str, policy: &CustodyPolicy, key: &BidderKey, price: u64) -> Sealed {
    let binding = Binding::new(tender.parse().expect("uuid"), Uuid::new_v4());
    let sealer = BidSealer::new(binding, "1", policy).expect("sealer");
    let form = serde_json::to_vec(&json!({"price": format!("{price}.00")})).expect("json");
    let s = sealer.seal(&form, key, time::OffsetDateTime::now_utc()).expect("seal");
    Sealed { envelope: s.envelope, signature: s.signature.to_vec(), form: s.form_ciphertext }
}

/// Submits one bid; its latency and the tree size of its receipt.
async fn submit(server: &Server, tender: &str, s: &Sealed) -> (Duration, u64) {
    let form = Form::new()
        .part("envelope", Part::bytes(s.envelope.clone()))
        .part("signature", Part::bytes(s.signature.clone()))
        .part("form", Part::bytes(s.form.clone()));
    let t = Instant::now();
    let resp = server
        .client
        .post(format!("{}/api/v1/tenders/{tender}/bids", server.base))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let body: Value = resp.json().await.expect("body");
    (t.elapsed(), body["receipt"]["tree_size"].as_u64().unwrap_or(0))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Registers `n` bidders (16 requests at a time) and seals one bid each
/// on every core: setup only, not measured, but 10,000 bids one by one take
/// minutes.
async fn prepare(server: &Server, tender: &str, n: usize) -> Vec<Sealed> {
    let policy = std::sync::Arc::new(server.policy(tender).await);
    let mut registering = Vec::new();
    for t in 0..16 {
        let state = server.state.clone();
        let count = n / 16 + usize::from(t < n % 16);
        registering.push(tokio::spawn(async move {
            let mut keys = Vec::with_capacity(count);
            for _ in 0..count {
                keys.push(register_direct(&state).await);
            }
            keys
        }));
    }
    let mut sealing = Vec::new();
    let mut first = 0u64;
    for task in registering {
        let keys = task.await.expect("register task");
        let (tender, policy) = (tender.to_string(), policy.clone());
        let start = first;
        first += keys.len() as u64;
        sealing.push(tokio::task::spawn_blocking(move || {
            keys.iter()
                .enumerate()
                .map(|(i, key)| seal(&tender, &policy, key, 1000 + start + i as u64))
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::with_capacity(n);
    for task in sealing {
        out.extend(task.await.expect("seal task"));
    }
    out
}

/// Wall time, sorted latencies, and how many checkpoints the receipts name.
async fn submit_all(
    server: &Server,
    tender: &str,
    bids: Vec<Sealed>,
    concurrency: usize,
) -> (Duration, Vec<Duration>, usize) {
    let bids = std::sync::Arc::new(tokio::sync::Mutex::new(bids));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let bids = bids.clone();
        let server = Server {
            base: server.base.clone(),
            state: server.state.clone(),
            client: server.client.clone(),
            dir: tempfile::tempdir().expect("d"),
            shutdown: server.shutdown.clone(),
        };
        let tender = tender.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(s) = bids.lock().await.pop() else { break };
                lat.push(submit(&server, &tender, &s).await);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    let mut sizes = std::collections::HashSet::new();
    for t in tasks {
        for (d, size) in t.await.expect("task") {
            all.push(d);
            sizes.insert(size);
        }
    }
    all.sort();
    (start.elapsed(), all, sizes.len())
}

/// The floor the storage rule sets (every ciphertext a file, written to a
/// temporary name, fsynced and renamed before the receipt): the same bids'
/// envelope and form written with the server's own blob code at the same
/// concurrency, directories synced every 16 bids as a batch would: no
/// HTTP, no signature check, no database. Returns bids per second.
async fn files_only(bids: &[Sealed], concurrency: usize) -> f64 {
    let dir = tempfile::tempdir().expect("dir");
    let blobs = bidroom::store::BlobStore::open(dir.path()).expect("blobs");
    let work: Vec<(Vec<u8>, Vec<u8>)> = bids.iter().map(|b| (b.envelope.clone(), b.form.clone())).collect();
    let work = std::sync::Arc::new(tokio::sync::Mutex::new(work));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (work, blobs) = (work.clone(), blobs.clone());
        tasks.push(tokio::spawn(async move {
            let mut names = Vec::new();
            loop {
                let Some((envelope, form)) = work.lock().await.pop() else { break };
                for bytes in [envelope, form] {
                    names.push(hex::encode(blobs.put_deferred(bytes).await.expect("put").sha256));
                }
                if names.len() >= 32 {
                    blobs.sync_dirs(names.iter().map(String::as_str)).await.expect("sync");
                    names.clear();
                }
            }
            blobs.sync_dirs(names.iter().map(String::as_str)).await.expect("sync");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    bids.len() as f64 / start.elapsed().as_secs_f64()
}

/// The database floor: the same bids' checks that need no database (the
/// envelope parsed and its ECDSA signature verified) and one insert each
/// through the server's own group committer (its small ciphertexts as rows
/// of the batch), at the same concurrency: no HTTP, no multipart, no
/// per-request reads. Returns bids per second and the sorted latencies.
async fn database_floor(server: &Server, tender: &str, bids: Vec<Sealed>, concurrency: usize) -> (f64, Vec<Duration>) {
    let tender_id: Uuid = tender.parse().expect("uuid");
    let n = bids.len();
    let bids = std::sync::Arc::new(tokio::sync::Mutex::new(bids));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (bids, state) = (bids.clone(), server.state.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(s) = bids.lock().await.pop() else { break };
                let t = Instant::now();
                let (envelope, hash) = bidroom::app::bids::verify_envelope(&s.envelope, &s.signature).expect("valid");
                let (env_hex, form_hex) = (hex::encode(hash), hex::encode(envelope.form.sha256));
                let new = bidroom::store::NewBid {
                    id: envelope.bid_id,
                    tender_id,
                    bidder_id: envelope.bidder_public_key.key_id(),
                    lot: envelope.lot.clone(),
                    envelope_hash: hash,
                    signature: s.signature,
                    blobs: vec![env_hex.clone(), form_hex.clone()],
                    total_bytes: (s.envelope.len() + s.form.len()) as i64,
                    inline: vec![(env_hex, s.envelope), (form_hex, s.form)],
                };
                state.committer.submit(new).await.expect("committed");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    (n as f64 / start.elapsed().as_secs_f64(), all)
}

/// Per backend: the database floor, then group commit over HTTP (and with
/// `BENCH_SINGLE=1` first the baseline `single`: the committer with batches
/// of one, so each submission is its own transaction), each on a fresh
/// server; and once, the files-only floor of the same bids.
async fn receipts(n: usize) {
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let mut floor_done = false;
    let modes: &[(&str, bool)] = if std::env::var("BENCH_SINGLE").is_ok_and(|v| v == "1") {
        &[("single", false), ("db-floor", true), ("group", true)]
    } else {
        &[("db-floor", true), ("group", true)]
    };
    for (name, pg) in [("sqlite", None), ("postgres", std::env::var("TEST_DATABASE_URL").ok())] {
        if name == "postgres" && pg.is_none() {
            println!("postgres: skipped (set TEST_DATABASE_URL)");
            continue;
        }
        for &(mode, group_commit) in modes {
            let server = start_with(pg.clone(), group_commit).await;
            let tender = server.tender(3600, 7200, json!({"threshold": 1, "custodians": ["server"]})).await;
            let t = Instant::now();
            let bids = prepare(&server, &tender, n).await;
            eprintln!("prepared {n} bids in {:.1}s; submitting", t.elapsed().as_secs_f64());
            if !floor_done {
                floor_done = true;
                println!(
                    "receipts files-only floor: n={n} concurrency={concurrency} {:.0} bids/s (2 files each, no HTTP or database)",
                    files_only(&bids, concurrency).await
                );
            }
            if mode == "db-floor" {
                let (rate, lat) = database_floor(&server, &tender, bids, concurrency).await;
                println!(
                    "receipts {name} database floor: n={n} concurrency={concurrency} {rate:.0} bids/s p50={:.1}ms p99={:.1}ms (signature check + group-committed insert, no HTTP)",
                    percentile(&lat, 0.5).as_secs_f64() * 1e3,
                    percentile(&lat, 0.99).as_secs_f64() * 1e3,
                );
                server.shutdown.cancel();
                continue;
            }
            let (wall, lat, checkpoints) = submit_all(&server, &tender, bids, concurrency).await;
            println!(
                "receipts {name} {mode}: n={n} concurrency={concurrency} {:.0}/s p50={:.1}ms p99={:.1}ms max={:.1}ms checkpoints={checkpoints}",
                n as f64 / wall.as_secs_f64(),
                percentile(&lat, 0.5).as_secs_f64() * 1e3,
                percentile(&lat, 0.99).as_secs_f64() * 1e3,
                lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            );
            server.shutdown.cancel();
        }
    }
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn upload(mib: u64) {
    let total = mib * 1024 * 1024;
    let chunk = vec![0x5au8; 1 << 20];
    // Baseline: the same bytes to the same disk, hashed, fsynced.
    let server = start(None).await;
    let base_path = server.dir.path().join("baseline.bin");
    let t = Instant::now();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&base_path).expect("create");
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        for _ in 0..mib {
            f.write_all(&chunk).expect("write");
            h.update(&chunk);
        }
        f.sync_all().expect("fsync");
        h.finish();
    }
    let baseline = t.elapsed();
    std::fs::remove_file(&base_path).ok();

    // The real thing: seal a document of `total` bytes into the envelope
    // (hash first, as the CLI does), then stream the ciphertext upload.
    let tender = server.tender(3600, 7200, json!({"threshold": 1, "custodians": ["server"]})).await;
    let policy = server.policy(&tender).await;
    let key = server.bidder().await;
    let binding = Binding::new(tender.parse().expect("uuid"), Uuid::new_v4());
    let mut sealer = BidSealer::new(binding, "1", &policy).expect("sealer");
    let ct_path = server.dir.path().join("doc.ct");
    {
        let reader = std::io::Read::take(std::io::repeat(0x5a), total);
        let out = std::io::BufWriter::new(std::fs::File::create(&ct_path).expect("ct"));
        sealer.seal_document("big.bin", "application/octet-stream", reader, out).expect("seal doc");
    }
    let sealed = sealer.seal(br#"{"price":"1.00"}"#, &key, time::OffsetDateTime::now_utc()).expect("seal");
    let ct_len = std::fs::metadata(&ct_path).expect("meta").len();
    let file = tokio::fs::File::open(&ct_path).await.expect("open");
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    let form = Form::new()
        .part("envelope", Part::bytes(sealed.envelope))
        .part("signature", Part::bytes(sealed.signature.to_vec()))
        .part("form", Part::bytes(sealed.form_ciphertext))
        .part("document", Part::stream_with_length(reqwest::Body::wrap_stream(stream), ct_len));
    let rss_before = rss_kib("VmRSS:");
    let t = Instant::now();
    let resp = server
        .client
        .post(format!("{}/api/v1/tenders/{tender}/bids", server.base))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let took = t.elapsed();
    let rss_peak = rss_kib("VmHWM:");
    let mbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e6;
    println!(
        "upload {mib} MiB: {:.0} MB/s vs baseline write+sha256+fsync {:.0} MB/s = {:.0}%; RSS before {} KiB, peak {} KiB (client and server in one process)",
        mbps(took),
        mbps(baseline),
        100.0 * baseline.as_secs_f64() / took.as_secs_f64(),
        rss_before,
        rss_peak
    );
    server.shutdown.cancel();
}

/// Writes `mib` MiB to a file in `dir` with SHA-256 and one fsync.
fn baseline_write(dir: &std::path::Path, mib: u64) -> Duration {
    use std::io::Write;
    let chunk = vec![0x5au8; 1 << 20];
    let path = dir.join("baseline.bin");
    let t = Instant::now();
    let mut f = std::fs::File::create(&path).expect("create");
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    for _ in 0..mib {
        f.write_all(&chunk).expect("write");
        h.update(&chunk);
    }
    f.sync_all().expect("fsync");
    h.finish();
    let took = t.elapsed();
    std::fs::remove_file(&path).ok();
    took
}

/// Seals one bid with a `mib` MiB document into `dir`; returns the upload.
async fn big_bid(server: &Server, tender: &str, mib: u64, name: &str) -> bidroom::client::BidUpload {
    let policy = server.policy(tender).await;
    let key = server.bidder().await;
    let binding = Binding::new(tender.parse().expect("uuid"), Uuid::new_v4());
    let mut sealer = BidSealer::new(binding, "1", &policy).expect("sealer");
    let ct_path = server.dir.path().join(name);
    let reader = std::io::Read::take(std::io::repeat(0x5a), mib * 1024 * 1024);
    let out = std::io::BufWriter::new(std::fs::File::create(&ct_path).expect("ct"));
    sealer.seal_document("big.bin", "application/octet-stream", reader, out).expect("seal doc");
    let sealed = sealer.seal(br#"{"price":"1.00"}"#, &key, time::OffsetDateTime::now_utc()).expect("seal");
    bidroom::client::BidUpload {
        envelope: sealed.envelope,
        signature: sealed.signature,
        form: sealed.form_ciphertext,
        documents: vec![ct_path],
    }
}

/// The resumable upload against the multipart upload and the baseline.
async fn resumable(mib: u64) {
    let server = start(None).await;
    let tender = server.tender(3600, 7200, json!({"threshold": 1, "custodians": ["server"]})).await;
    let client = bidroom::client::Client::new(&server.base).expect("client");
    let mbps = |d: Duration| (mib * 1024 * 1024) as f64 / d.as_secs_f64() / 1e6;
    for round in 0..2 {
        let baseline = baseline_write(server.dir.path(), mib);
        let multi = big_bid(&server, &tender, mib, "multi.ct").await;
        let t = Instant::now();
        client.submit_bid(tender.parse().expect("uuid"), multi).await.expect("multipart");
        let multipart = t.elapsed();
        let res = big_bid(&server, &tender, mib, "res.ct").await;
        let opts = bidroom::client::ResumeOptions::default();
        let rss_before = rss_kib("VmRSS:");
        let t = Instant::now();
        client.upload_bid(tender.parse().expect("uuid"), res, &opts, &mut |_| {}).await.expect("resumable");
        let took = t.elapsed();
        for f in ["multi.ct", "res.ct"] {
            std::fs::remove_file(server.dir.path().join(f)).ok();
        }
        println!(
            "round {round}, {mib} MiB: resumable {:.0} MB/s, multipart {:.0} MB/s, baseline write+sha256+fsync {:.0} MB/s; resumable = {:.0}% of baseline, {:.0}% of multipart; RSS before {} KiB, peak {} KiB (client and server in one process)",
            mbps(took),
            mbps(multipart),
            mbps(baseline),
            100.0 * baseline.as_secs_f64() / took.as_secs_f64(),
            100.0 * multipart.as_secs_f64() / took.as_secs_f64(),
            rss_before,
            rss_kib("VmHWM:"),
        );
    }
    server.shutdown.cancel();
}

async fn opening(n: usize, k: u8) {
    let server = start(None).await;
    let human = CustodianSecretKey::generate().expect("key");
    let custody = if k == 1 {
        json!({"threshold": 1, "custodians": ["server"]})
    } else {
        let mut release_tokens = Vec::new();
        for (id, key) in [("alice", &human), ("bob", &CustodianSecretKey::generate().expect("key"))] {
            let r = server
                .call(
                    reqwest::Method::POST,
                    "/api/v1/custodians",
                    Some(TOKEN),
                    json!({"id": id, "name": id, "public_key": b64(key.public_key().as_bytes())}),
                )
                .await;
            release_tokens.push(r["release_token"].as_str().expect("token").to_string());
        }
        std::fs::write(server.dir.path().join("alice.token"), &release_tokens[0]).expect("token");
        json!({"threshold": 2, "custodians": ["server", "alice", "bob"]})
    };
    // A far deadline; once every bid is in, it is moved to two seconds
    // from now and the opening one second after it.
    let tender = server.tender(24 * 3600, 24 * 3600 + 1, custody).await;
    let setup = Instant::now();
    let bids = prepare(&server, &tender, n).await;
    let envelopes: Vec<(Vec<u8>, Vec<u8>)> = bids.iter().map(|b| (b.envelope.clone(), b.form.clone())).collect();
    // Submitted through the server's committer (the signature checked, no
    // HTTP), as the database floor does: setup only; the opening that is
    // measured runs through the real server.
    database_floor(&server, &tender, bids, 32).await;
    let now = time::OffsetDateTime::now_utc();
    let f = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("fmt");
    let amend = json!({
        "deadline": f(now + time::Duration::seconds(2)),
        "opening_at": f(now + time::Duration::seconds(3)),
        "reason": "every bench bid is in",
    });
    server.call(reqwest::Method::POST, &format!("/api/v1/tenders/{tender}/amend"), Some(TOKEN), amend).await;
    eprintln!("opening n={n} k={k}: setup (register, seal, submit) took {:.1}s", setup.elapsed().as_secs_f64());
    // Wait for the opening to start.
    let state = |server: &Server, tender: String| {
        let url = format!("{}/api/v1/tenders/{tender}", server.base);
        let client = server.client.clone();
        async move {
            client.get(url).send().await.expect("get").json::<Value>().await.expect("json")["state"]
                .as_str()
                .unwrap_or("")
                .to_string()
        }
    };
    while state(&server, tender.clone()).await != "opening" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The process's RSS when the opening starts (the bench's own copies of
    // the bids are held throughout), and its peak while it runs.
    let rss_start = rss_kib("VmRSS:");
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(rss_start));
    let sampling = CancellationToken::new();
    let sampler = {
        let (peak, stop) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                peak.fetch_max(rss_kib("VmRSS:"), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let t = Instant::now();
    if k > 1 {
        // Alice reads the envelopes a page at a time, decrypts her shares
        // locally and releases them in pages of the CLI's size, each with a
        // fresh challenge answered by her key: she holds one page of
        // envelopes and the shares not yet released.
        let token = std::fs::read_to_string(server.dir.path().join("alice.token")).expect("token");
        let client = bidroom::client::Client::new(&server.base).expect("client");
        let tender_id: Uuid = tender.parse().expect("uuid");
        let human = std::sync::Arc::new(human.clone());
        // BENCH_RELEASE_PAGE compares release page sizes in one session.
        let release_page = std::env::var("BENCH_RELEASE_PAGE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(bidroom::cli::custodian::RELEASE_PAGE);
        eprintln!("opening n={n} k={k}: release pages of {release_page} shares");
        let (mut shares, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let page = client.envelope_page(tender_id, cursor.as_deref(), None).await.expect("envelopes");
            let (key, bids) = (human.clone(), page.bids);
            let opened = tokio::task::spawn_blocking(move || {
                bids.iter()
                    .map(|e| {
                        let bytes = bidroom::seal::unb64(&e.envelope).expect("b64");
                        let envelope = bidroom::seal::Envelope::parse(&bytes).expect("env");
                        let share = bidroom::seal::open_share(&envelope, 2, &key).expect("share");
                        bidroom::client::ReleaseShare { bid_id: e.bid_id, share: b64(share.to_bytes().as_ref()) }
                    })
                    .collect::<Vec<_>>()
            });
            shares.extend(opened.await.expect("open"));
            cursor = page.next;
            while shares.len() >= release_page || (cursor.is_none() && !shares.is_empty()) {
                let rest = shares.split_off(shares.len().min(release_page));
                let chunk = std::mem::replace(&mut shares, rest);
                let proof = client
                    .prove_custodian("alice", &human, bidroom::seal::ChallengePurpose::Release, Some(tender_id))
                    .await
                    .expect("proof");
                client.release(tender_id, token.trim(), &proof, chunk).await.expect("release");
            }
            if cursor.is_none() {
                break;
            }
        }
    }
    while state(&server, tender.clone()).await != "opened" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end_to_end = t.elapsed();
    sampling.cancel();
    let _ = sampler.await;
    let rss_peak = peak.load(std::sync::atomic::Ordering::Relaxed);

    // Bare crypto: the same HPKE opens, key rebuilds and form decryptions.
    let server_key =
        CustodianSecretKey::from_bytes(&std::fs::read(server.dir.path().join("custodian-key.bin")).expect("key"))
            .expect("key");
    let bare_one = |items: &[(Vec<u8>, Vec<u8>)]| {
        for (env_bytes, form) in items {
            let envelope = bidroom::seal::Envelope::parse(env_bytes).expect("env");
            let mut shares = vec![bidroom::seal::open_share(&envelope, 1, &server_key).expect("share")];
            if k > 1 {
                shares.push(bidroom::seal::open_share(&envelope, 2, &human).expect("share"));
            }
            let key = bidroom::seal::rebuild_key(&envelope, &shares).expect("key");
            let fk = bidroom::seal::form_key(&envelope.binding(), &key).expect("fk");
            bidroom::seal::open_form(&envelope, &fk, form).expect("form");
        }
    };
    let t = Instant::now();
    bare_one(&envelopes);
    let bare = t.elapsed();
    // The same work on every core (what the server's engine can use).
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let t = Instant::now();
    std::thread::scope(|scope| {
        for part in envelopes.chunks(envelopes.len().div_ceil(cores).max(1)) {
            scope.spawn(|| bare_one(part));
        }
    });
    let bare_all = t.elapsed();
    println!(
        "opening n={n} k={k}: end to end {:.2}s ({:.0} bids/s), bare crypto {:.2}s on one core, {:.2}s on {cores} cores, \
         ratio {:.2}x (one core) {:.2}x ({cores} cores); RSS at the start {:.1} MiB, peak {:.1} MiB (+{:.1} MiB)",
        end_to_end.as_secs_f64(),
        n as f64 / end_to_end.as_secs_f64(),
        bare.as_secs_f64(),
        bare_all.as_secs_f64(),
        end_to_end.as_secs_f64() / bare.as_secs_f64(),
        end_to_end.as_secs_f64() / bare_all.as_secs_f64(),
        rss_start as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
        rss_peak.saturating_sub(rss_start) as f64 / 1024.0,
    );
    server.shutdown.cancel();
}

#[tokio::main]
async fn main() {
    // BENCH_LOG=bidroom::store::committer=debug shows each batch's timings.
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let what = args.first().map(String::as_str).unwrap_or("receipts");
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    match what {
        "receipts" => receipts(n).await,
        "upload" => upload(n as u64).await,
        "resumable" => resumable(n as u64).await,
        "opening" => opening(n, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1)).await,
        other => eprintln!("unknown benchmark {other}: receipts|upload|resumable|opening"),
    }
}
