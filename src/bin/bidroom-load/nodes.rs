//! Several bidroom nodes on one PostgreSQL database (`--nodes N
//! --database-url …`): viewers spread over the nodes round robin, events
//! committed on the first node only, and each node's delivery latency,
//! lost events and memory per viewer reported on its own — what a
//! balancer in front of N nodes gives a viewer on any of them.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::viewers::{self, Kind, Seen, Window};
use super::{Publisher, RunArgs, Server, cpu_secs, create_tender, rss_kib, tally};

/// Runs the nodes, the viewers and the publisher; prints one line per node.
pub async fn run(args: &RunArgs) -> anyhow::Result<()> {
    let url = args.database_url.as_deref().context("--nodes needs --database-url (PostgreSQL)")?;
    // A fresh schema shared by every node of this run.
    let schema = format!("load_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(url).await.context("cannot reach PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await?;
    let result = measure(args, url, &schema).await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool).await;
    result
}

async fn measure(args: &RunArgs, url: &str, schema: &str) -> anyhow::Result<()> {
    // The first node migrates the schema; the others start after it.
    let mut nodes = Vec::with_capacity(args.nodes);
    for _ in 0..args.nodes {
        nodes.push(Server::start(Kind::Bidroom, args.send_buffer, args.server_cpus.as_deref(), Some((url, schema)))?);
    }
    let http = reqwest::Client::new();
    let bases: Vec<String> = nodes.iter().map(|n| format!("http://{}", n.addr)).collect();
    let id = create_tender(&http, &bases[0]).await?;
    let path = format!("/api/v1/tenders/{id}/live");
    let mut publisher = Publisher::Bidroom { id, k: 0 };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = nodes.iter().map(|n| rss_kib(n.pid())).collect::<anyhow::Result<Vec<_>>>()?;

    let window = Arc::new(Window::default());
    window.first.store(2, Ordering::Relaxed);
    window.last.store(i64::MAX, Ordering::Relaxed);
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let (connected, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.viewers);
    for i in 0..args.viewers {
        let node = i % nodes.len();
        let source = Ipv4Addr::new(127, 0, 0, 1 + ((i / nodes.len()) % args.sources.max(1) as usize) as u8);
        let (gate, path, window, stop) = (gate.clone(), path.clone(), window.clone(), stop.clone());
        let (connected, failed, addr) = (connected.clone(), failed.clone(), nodes[node].addr);
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok()?;
            let ws = match viewers::connect(Kind::Bidroom, addr, &path, source).await {
                Ok(ws) => ws,
                Err(e) => {
                    if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("viewer failed to connect to node {node}: {e}");
                    }
                    return None;
                }
            };
            drop(permit);
            connected.fetch_add(1, Ordering::Relaxed);
            Some((node, viewers::watch(ws, Kind::Bidroom, window, stop).await))
        }));
    }
    while connected.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < args.viewers {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = nodes.iter().map(|n| rss_kib(n.pid())).collect::<anyhow::Result<Vec<_>>>()?;
    let cpu_before = nodes.iter().map(|n| cpu_secs(n.pid())).collect::<anyhow::Result<Vec<_>>>()?;

    // Every event is committed on node 0; the others learn of it through
    // the database.
    let count = (args.seconds as f64 * args.rate).round() as usize;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    for n in 0..count {
        tick.tick().await;
        let seq = publisher.publish(&http, &bases[0]).await?;
        if n == 0 {
            anyhow::ensure!(seq == window.first.load(Ordering::Relaxed), "first published event is seq {seq}");
        }
        if n + 1 == count {
            window.last.store(seq, Ordering::Relaxed);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut cpu = Vec::with_capacity(nodes.len());
    for (n, before) in nodes.iter().zip(&cpu_before) {
        cpu.push(cpu_secs(n.pid())? - before);
    }
    let rss_after = nodes.iter().map(|n| rss_kib(n.pid())).collect::<anyhow::Result<Vec<_>>>()?;
    stop.cancel();
    let mut by_node: Vec<Vec<Seen>> = (0..nodes.len()).map(|_| Vec::new()).collect();
    for t in tasks {
        if let Ok(Some((node, seen))) = t.await {
            by_node[node].push(seen);
        }
    }
    for n in &mut nodes {
        n.stop();
    }

    let (first, last) = (window.first.load(Ordering::Relaxed), window.last.load(Ordering::Relaxed));
    let expected = (last - first + 1).max(0) as usize;
    println!(
        "nodes {}: viewers {}/{} (connected in {connect_secs:.1}s), {count} events at {}/s committed on node 0",
        nodes.len(),
        connected.load(Ordering::Relaxed),
        args.viewers,
        args.rate
    );
    for (i, seen) in by_node.iter().enumerate() {
        let (lost, dup, dropped) = tally(seen, first, expected);
        let mut lat: Vec<u32> = seen.iter().flat_map(|s| s.latencies_us.iter().copied()).collect();
        lat.sort_unstable();
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
        let ms = |v: Option<u32>| v.map_or(f64::NAN, |us| us as f64 / 1000.0);
        let per_viewer = (rss_after[i].max(rss_connected[i]) as f64 - rss_before[i] as f64) / seen.len().max(1) as f64;
        println!(
            "  node {i}: viewers {} deliveries {} | latency ms p50 {:.1} p99 {:.1} max {:.1} | lost {lost} dup {dup} \
             dropped {dropped} | {per_viewer:.1} KiB/viewer | CPU {:.0}%",
            seen.len(),
            lat.len(),
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(lat.last().copied()),
            cpu[i] / args.seconds as f64 * 100.0,
        );
    }
    Ok(())
}
