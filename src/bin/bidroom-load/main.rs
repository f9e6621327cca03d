//! `bidroom-load`: opens N live-room viewers against a freshly started
//! server, publishes events at a rate, and reports publish-to-receipt
//! latency (p50/p99/max over all viewers), lost and duplicated events, and
//! the server's memory per viewer. The same run against a bare axum +
//! broadcast fan-out gives the baseline. See docs/BENCHMARKS.md.
//!
//! Publishing goes through the real path: staff amendments over HTTP, each
//! a committed event (SQLite, fsync) that the live room then fans out. The
//! latency starts at the event's own timestamp, taken by the store inside
//! the transaction, so it includes the commit. The baseline stamps its
//! message when `POST /publish` arrives.

use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

// The same allocator as the `bidroom` binary, so the server child measures
// what production runs.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use clap::Parser;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

mod nodes;
mod servers;
mod stalled;
mod viewers;

use viewers::{Kind, Seen, Window};

#[derive(Parser)]
#[command(about = "Load test of the live room")]
enum Cli {
    /// Measure one server kind (or both, with their ratio).
    Run(RunArgs),
    /// Internal: the server child process.
    Serve {
        #[arg(long, value_enum)]
        kind: Kind,
        /// SO_SNDBUF for the bidroom server's connections.
        #[arg(long)]
        send_buffer: Option<usize>,
        /// PostgreSQL instead of a fresh SQLite directory (nodes mode).
        #[arg(long)]
        database_url: Option<String>,
        /// The PostgreSQL schema, shared by the nodes of one run.
        #[arg(long)]
        schema: Option<String>,
    },
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Server to measure; omit to run bidroom, then the baseline, and compare.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Viewers to open.
    #[arg(long, default_value_t = 1000)]
    viewers: usize,
    /// Events published per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Loopback source addresses (127.0.0.1, .2, …) the viewers spread over.
    #[arg(long, default_value_t = 8)]
    sources: u8,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// SO_SNDBUF for the bidroom server's connections (default: kernel).
    #[arg(long)]
    send_buffer: Option<usize>,
    /// CPUs the server child runs on (`taskset -c` list, e.g. `0`); run the
    /// tool itself under `taskset -c 1` to keep the two apart.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Stalled viewers: sockets that join at `after=0` and never read. With
    /// this, the run measures what they cost (memory, healthy viewers'
    /// latency with and without them) instead of the plain comparison.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Events to seed the tender with before any viewer joins (stalled mode).
    #[arg(long, default_value_t = 2000)]
    history: usize,
    /// SO_RCVBUF of each stalled viewer's socket, bytes.
    #[arg(long, default_value_t = 4096)]
    stalled_rcvbuf: u32,
    /// Bidroom nodes on one PostgreSQL database (needs `--database-url`):
    /// viewers spread over them, events committed on the first; each
    /// node's figures reported (see `nodes.rs`).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// PostgreSQL for `--nodes` (a fresh schema per run, dropped after).
    #[arg(long)]
    database_url: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    raise_fd_limit();
    let rt = tokio::runtime::Runtime::new()?;
    match cli {
        Cli::Serve { kind: Kind::Bidroom, send_buffer, database_url, schema } => {
            rt.block_on(servers::bidroom(send_buffer, database_url.zip(schema)))
        }
        Cli::Serve { kind: Kind::Baseline, .. } => rt.block_on(servers::baseline()),
        Cli::Run(args) => rt.block_on(run_all(args)),
    }
}

/// Both processes need one descriptor per connection; we run as whoever
/// starts us, so raise the soft limit to the hard one (and the hard one too
/// when allowed).
fn raise_fd_limit() {
    const WANT: u64 = 1 << 20;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, WANT, WANT).is_err()
        && let Err(e) = rlimit::increase_nofile_limit(WANT)
    {
        eprintln!("could not raise the open-file limit: {e}");
    }
}

async fn run_all(args: RunArgs) -> anyhow::Result<()> {
    if args.stalled > 0 {
        return stalled::run(&args).await;
    }
    if args.nodes > 1 {
        return nodes::run(&args).await;
    }
    match args.kind {
        Some(kind) => {
            run(kind, &args).await?;
        }
        None => {
            let ours = run(Kind::Bidroom, &args).await?;
            let base = run(Kind::Baseline, &args).await?;
            println!(
                "ratio bidroom/baseline: p50 {:.2}  p99 {:.2}  max {:.2}  RSS/viewer {:.2}",
                ours.p50 / base.p50.max(0.001),
                ours.p99 / base.p99.max(0.001),
                ours.max / base.max.max(0.001),
                ours.rss_per_viewer_kib / base.rss_per_viewer_kib.max(0.001)
            );
        }
    }
    Ok(())
}

/// One run's figures (latencies in ms).
struct Report {
    p50: f64,
    p99: f64,
    max: f64,
    rss_per_viewer_kib: f64,
}

async fn run(kind: Kind, args: &RunArgs) -> anyhow::Result<Report> {
    let mut server = Server::start(kind, args.send_buffer, args.server_cpus.as_deref(), None)?;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (path, mut publisher) = match kind {
        Kind::Bidroom => {
            let id = create_tender(&http, &base).await?;
            (format!("/api/v1/tenders/{id}/live"), Publisher::Bidroom { id, k: 0 })
        }
        Kind::Baseline => ("/live".to_string(), Publisher::Baseline),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(server.pid())?;

    // Open the viewers.
    let window = Arc::new(Window::default());
    // The tender's publication is seq 1; the baseline starts at 1.
    window.first.store(if kind == Kind::Bidroom { 2 } else { 1 }, Ordering::Relaxed);
    window.last.store(i64::MAX, Ordering::Relaxed);
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let connected = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.viewers);
    for i in 0..args.viewers {
        let source = Ipv4Addr::new(127, 0, 0, 1 + (i % args.sources.max(1) as usize) as u8);
        let (gate, path, window, stop) = (gate.clone(), path.clone(), window.clone(), stop.clone());
        let (connected, failed, addr) = (connected.clone(), failed.clone(), server.addr);
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok()?;
            let ws = match viewers::connect(kind, addr, &path, source).await {
                Ok(ws) => ws,
                Err(e) => {
                    if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("viewer failed to connect: {e}");
                    }
                    return None;
                }
            };
            drop(permit);
            connected.fetch_add(1, Ordering::Relaxed);
            Some(viewers::watch(ws, kind, window, stop).await)
        }));
    }
    while connected.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < args.viewers {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let open = connected.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = rss_kib(server.pid())?;
    let cpu_before = cpu_secs(server.pid())?;

    // Publish.
    let every = Duration::from_secs_f64(1.0 / args.rate);
    let count = (args.seconds as f64 * args.rate).round() as usize;
    let mut tick = tokio::time::interval(every);
    let mut publish_ms = Vec::with_capacity(count);
    for n in 0..count {
        tick.tick().await;
        let t = Instant::now();
        let seq = publisher.publish(&http, &base).await?;
        publish_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if n == 0 {
            anyhow::ensure!(seq == window.first.load(Ordering::Relaxed), "first published event is seq {seq}");
        }
        if n + 1 == count {
            window.last.store(seq, Ordering::Relaxed);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu = cpu_secs(server.pid())? - cpu_before;
    let rss_after = rss_kib(server.pid())?;
    stop.cancel();
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(Some(seen)) = t.await {
            all.push(seen);
        }
    }
    server.stop();

    let (first, last) = (window.first.load(Ordering::Relaxed), window.last.load(Ordering::Relaxed));
    let expected = (last - first + 1).max(0) as usize;
    let (lost, dup, dropped) = tally(&all, first, expected);
    let mut lat: Vec<u32> = all.iter().flat_map(|s| s.latencies_us.iter().copied()).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    let ms = |v: Option<u32>| v.map_or(f64::NAN, |us| us as f64 / 1000.0);
    let per_viewer = (rss_after.max(rss_connected) as f64 - rss_before as f64) / open.max(1) as f64;
    publish_ms.sort_by(f64::total_cmp);
    let report =
        Report { p50: ms(pct(0.50)), p99: ms(pct(0.99)), max: ms(lat.last().copied()), rss_per_viewer_kib: per_viewer };
    println!(
        "{kind:?}: viewers {open}/{} (connected in {connect_secs:.1}s), {count} events at {}/s, deliveries {} \
         | latency ms p50 {:.1} p99 {:.1} max {:.1} | lost {lost} dup {dup} dropped {dropped} \
         | RSS KiB before {rss_before} connected {rss_connected} after {rss_after} → {per_viewer:.1} KiB/viewer \
         | server CPU {:.0}% while publishing | publish call p50 {:.1} ms",
        args.viewers,
        args.rate,
        lat.len(),
        report.p50,
        report.p99,
        report.max,
        cpu / args.seconds as f64 * 100.0,
        publish_ms.get(publish_ms.len() / 2).copied().unwrap_or(f64::NAN),
    );
    Ok(report)
}

/// Lost (expected but never seen), duplicated, and dropped-viewer counts.
fn tally(all: &[Seen], first: i64, expected: usize) -> (usize, usize, usize) {
    let (mut lost, mut dup, mut dropped) = (0, 0, 0);
    for s in all {
        let mut got = vec![false; expected];
        for &seq in &s.seqs {
            let i = (seq - first) as usize;
            if got[i] {
                dup += 1;
            }
            got[i] = true;
        }
        lost += got.iter().filter(|g| !**g).count();
        dropped += usize::from(s.dropped);
    }
    (lost, dup, dropped)
}

/// How events get published.
enum Publisher {
    /// Staff amendments of one tender; `k` moves the deadline each time.
    Bidroom { id: String, k: i64 },
    /// `POST /publish` on the baseline.
    Baseline,
}

impl Publisher {
    /// Publishes one event; returns its sequence number.
    async fn publish(&mut self, http: &reqwest::Client, base: &str) -> anyhow::Result<i64> {
        match self {
            Publisher::Bidroom { id, k } => {
                *k += 1;
                let deadline = time::OffsetDateTime::now_utc() + time::Duration::days(2) + time::Duration::seconds(*k);
                let body =
                    serde_json::json!({"deadline": rfc3339(deadline), "reason": format!("load test amendment {k}")});
                let v: serde_json::Value = http
                    .post(format!("{base}/api/v1/tenders/{id}/amend"))
                    .bearer_auth(servers::ADMIN_TOKEN)
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                v["last_seq"].as_i64().context("amend answer without last_seq")
            }
            Publisher::Baseline => {
                let text = http.post(format!("{base}/publish")).send().await?.error_for_status()?.text().await?;
                Ok(text.trim().parse()?)
            }
        }
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Creates and publishes a tender to watch; returns its id.
async fn create_tender(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let deadline = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let draft = serde_json::json!({
        "title": "Load test",
        "reference": format!("LOAD-{}", uuid::Uuid::new_v4().simple()),
        "description": "bidroom-load",
        "buyer": "Load tester",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "Lot", "fields": [
            {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
            {"key": "days", "label": {"zh": "工期", "en": "Duration (days)"}, "type": "integer", "required": true}
        ]}],
        "deadline": rfc3339(deadline),
        // A load test opens whatever it got, however few bidders.
        "session": {"min_bids": 1},
    });
    let v: serde_json::Value = http
        .post(format!("{base}/api/v1/tenders"))
        .bearer_auth(servers::ADMIN_TOKEN)
        .json(&draft)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = v["id"].as_str().context("no tender id")?.to_string();
    http.post(format!("{base}/api/v1/tenders/{id}/publish"))
        .bearer_auth(servers::ADMIN_TOKEN)
        .send()
        .await?
        .error_for_status()?;
    Ok(id)
}

/// The server child process.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(
        kind: Kind,
        send_buffer: Option<usize>,
        cpus: Option<&str>,
        database: Option<(&str, &str)>,
    ) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut cmd = match cpus {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(list).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg("serve").arg("--kind").arg(match kind {
            Kind::Bidroom => "bidroom",
            Kind::Baseline => "baseline",
        });
        if let Some(n) = send_buffer {
            cmd.arg("--send-buffer").arg(n.to_string());
        }
        if let Some((url, schema)) = database {
            cmd.arg("--database-url").arg(url).arg("--schema").arg(schema);
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).env("RUST_LOG", "warn").spawn()?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = line.trim().strip_prefix("LISTENING ").context("server did not announce its address")?.parse()?;
        Ok(Server { child, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes its stdin (it shuts down) and waits.
    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The process's resident memory, KiB (VmRSS).
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

/// User + system CPU seconds the process used so far.
fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).context("utime")?.parse::<f64>()? + f.get(12).context("stime")?.parse::<f64>()?;
    Ok(ticks / 100.0)
}
