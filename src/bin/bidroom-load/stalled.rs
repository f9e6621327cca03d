//! `run --stalled N`: what viewers that connect and never read cost the
//! server, and whether they slow the healthy ones.
//!
//! One run, one server: a tender is seeded with `--history` events; the
//! healthy viewers join at its end and are measured over a first window of
//! publishing (baseline); then N stalled viewers join at `after=0` (a small
//! `SO_RCVBUF`, never a read after the handshake) and a second window is
//! measured while they are held; then they are closed and the server's
//! memory is read again once it has settled. Memory is the server's VmRSS
//! (sampled every 100 ms for the peak) and VmHWM from `/proc/<pid>/status`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use crate::viewers::{self, Kind, Seen, Window};
use crate::{Publisher, RunArgs, Server, create_tender, rss_kib};

/// How long the server is given to notice closed sockets and free them.
const SETTLE: Duration = Duration::from_secs(5);
/// A second, later reading: a viewer that was mid-write when it was closed
/// is only dropped after the write and close timeouts (15 s by default).
const LATE: Duration = Duration::from_secs(20);

/// Runs the stalled-viewer measurement against the bidroom server.
pub async fn run(args: &RunArgs) -> anyhow::Result<()> {
    let mut server = Server::start(Kind::Bidroom, args.send_buffer, args.server_cpus.as_deref(), None)?;
    let pid = server.pid();
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let id = create_tender(&http, &base).await?;
    let path = format!("/api/v1/tenders/{id}/live");
    let mut publisher = Publisher::Bidroom { id, k: 0 };
    let seeded = Instant::now();
    let mut last = 1;
    for _ in 0..args.history {
        last = publisher.publish(&http, &base).await?;
    }
    println!("seeded {last} events in {:.1}s", seeded.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(pid)?;

    // Healthy viewers join at the end of the history and read everything.
    let window = Arc::new(Window::default());
    window.first.store(last + 1, Ordering::Relaxed);
    window.last.store(i64::MAX, Ordering::Relaxed);
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let healthy_path = format!("{path}?after={last}");
    let mut healthy = Vec::with_capacity(args.viewers);
    for i in 0..args.viewers {
        let source = Ipv4Addr::new(127, 0, 0, 1 + (i % args.sources.max(1) as usize) as u8);
        let (gate, path, window, stop, addr) =
            (gate.clone(), healthy_path.clone(), window.clone(), stop.clone(), server.addr);
        healthy.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok()?;
            let ws = viewers::connect(Kind::Bidroom, addr, &path, source).await.ok()?;
            drop(permit);
            Some(viewers::watch(ws, Kind::Bidroom, window, stop).await)
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_healthy = rss_kib(pid)?;

    // Window A: healthy viewers alone.
    let a_first = last + 1;
    let a_last = publish_for(&mut publisher, &http, &base, args).await?;

    // Window B: the stalled viewers join at after=0 and are held.
    let sampler = Sampler::start(pid);
    let hwm_before = hwm_kib(pid)?;
    let stalled_started = Instant::now();
    // Joined all at once (up to --connect-concurrency handshakes in flight),
    // so that they are held together rather than one after another.
    let mut joining = Vec::with_capacity(args.stalled);
    for i in 0..args.stalled {
        let source = Ipv4Addr::new(127, 0, 0, 1 + (i % args.sources.max(1) as usize) as u8);
        let (gate, path, addr, rcvbuf) = (gate.clone(), path.clone(), server.addr, args.stalled_rcvbuf);
        joining.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            match connect_stalled(addr, &path, source, rcvbuf).await {
                Ok(ws) => Some(ws),
                Err(e) => {
                    eprintln!("stalled viewer failed to connect: {e}");
                    None
                }
            }
        }));
    }
    let mut stalled = Vec::with_capacity(args.stalled);
    for j in joining {
        if let Ok(Some(ws)) = j.await {
            stalled.push(ws);
        }
    }
    let connect_secs = stalled_started.elapsed().as_secs_f64();
    let b_first = a_last + 1;
    let b_last = publish_for(&mut publisher, &http, &base, args).await?;
    let rss_held = rss_kib(pid)?;
    let held = stalled.len();

    // Closed by us (the server may have closed some already as too slow).
    drop(stalled);
    tokio::time::sleep(SETTLE).await;
    let peak = sampler.stop();
    let hwm = hwm_kib(pid)?;
    let rss_closed = rss_kib(pid)?;
    tokio::time::sleep(LATE.saturating_sub(SETTLE)).await;
    let rss_late = rss_kib(pid)?;
    window.last.store(b_last, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    let mut all: Vec<Seen> = Vec::new();
    for t in healthy {
        if let Ok(Some(seen)) = t.await {
            all.push(seen);
        }
    }
    server.stop();

    let (a, b) = (Window99::of(&all, a_first, a_last), Window99::of(&all, b_first, b_last));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let grown = |kib: u64| (kib as f64 - rss_healthy as f64) / 1024.0;
    println!(
        "stalled: {held}/{} stalled viewers at after=0 on {last} events (connected in {connect_secs:.1}s), \
         {} healthy viewers",
        args.stalled,
        all.len()
    );
    println!(
        "  RSS MiB: before viewers {:.1}, healthy connected {:.1}, peak with stalled {:.1} (+{:.1}), \
         end of window {:.1}, {}s after closing {:.1} (+{:.1}), {}s after {:.1} (+{:.1}); VmHWM {:.1} → {:.1}",
        mib(rss_before),
        mib(rss_healthy),
        mib(peak),
        grown(peak),
        mib(rss_held),
        SETTLE.as_secs(),
        mib(rss_closed),
        grown(rss_closed),
        LATE.as_secs(),
        mib(rss_late),
        grown(rss_late),
        mib(hwm_before),
        mib(hwm),
    );
    println!(
        "  healthy latency ms: without stalled p50 {:.1} p99 {:.1} max {:.1} ({} deliveries, lost {}); \
         with stalled p50 {:.1} p99 {:.1} max {:.1} ({} deliveries, lost {}); p99 ratio {:.2}",
        a.p50,
        a.p99,
        a.max,
        a.n,
        a.lost,
        b.p50,
        b.p99,
        b.max,
        b.n,
        b.lost,
        b.p99 / a.p99.max(0.001)
    );
    Ok(())
}

/// Publishes `--rate` events per second for `--seconds`; returns the last seq.
async fn publish_for(
    publisher: &mut Publisher,
    http: &reqwest::Client,
    base: &str,
    args: &RunArgs,
) -> anyhow::Result<i64> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    let count = (args.seconds as f64 * args.rate).round().max(1.0) as usize;
    let mut last = 0;
    for _ in 0..count {
        tick.tick().await;
        last = publisher.publish(http, base).await?;
    }
    // Let the last deliveries arrive before the window is judged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(last)
}

/// Opens a viewer that never reads: a tiny receive buffer, the handshake,
/// and nothing more (the hello and whatever fits stay unread).
async fn connect_stalled(server: SocketAddr, path: &str, source: Ipv4Addr, rcvbuf: u32) -> anyhow::Result<viewers::Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.set_recv_buffer_size(rcvbuf)?;
    sock.bind(SocketAddr::from((source, 0)))?;
    let stream = sock.connect(server).await?;
    let url = format!("ws://{server}{path}?after=0");
    let cfg = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(cfg)).await?;
    Ok(ws)
}

/// Latency figures of the deliveries of one window of sequence numbers.
struct Window99 {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
    lost: usize,
}

impl Window99 {
    fn of(all: &[Seen], first: i64, last: i64) -> Window99 {
        let mut lat: Vec<u32> = Vec::new();
        let mut lost = 0;
        for s in all {
            let mut got = 0;
            for (seq, l) in s.seqs.iter().zip(&s.latencies_us) {
                if (first..=last).contains(seq) {
                    lat.push(*l);
                    got += 1;
                }
            }
            lost += ((last - first + 1).max(0) as usize).saturating_sub(got);
        }
        lat.sort_unstable();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .map_or(f64::NAN, |us| *us as f64 / 1000.0)
        };
        Window99 { p50: pct(0.50), p99: pct(0.99), max: pct(1.0), n: lat.len(), lost }
    }
}

/// Samples the server's VmRSS every 100 ms, keeping the highest.
struct Sampler {
    peak: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let (peak, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, d) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !d.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Sampler { peak, done }
    }

    /// Stops sampling; the peak seen, KiB.
    fn stop(self) -> u64 {
        self.done.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed)
    }
}

/// The process's peak resident memory so far, KiB (VmHWM).
fn hwm_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}
