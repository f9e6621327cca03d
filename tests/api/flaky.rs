//! A TCP proxy that cuts one connection once, after a given number of
//! request bytes: a network failure in the middle of an upload.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw.
#[derive(Default)]
pub struct Counters {
    /// The cut happened.
    pub cut: AtomicBool,
    /// Request bytes forwarded to the server, over all connections.
    pub forwarded: AtomicU64,
}

/// Starts the proxy in front of `upstream`; the connection that carries the
/// `cut_after`-th request byte (counted over all connections) is dropped
/// there, both ways, once.
pub async fn start(upstream: SocketAddr, cut_after: u64) -> (SocketAddr, Arc<Counters>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else { continue };
            tokio::spawn(relay(client, server, c.clone(), cut_after));
        }
    });
    (addr, counters)
}

async fn relay(client: TcpStream, server: TcpStream, c: Arc<Counters>, cut_after: u64) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match cr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = c.forwarded.load(Ordering::SeqCst);
        if !c.cut.load(Ordering::SeqCst) && before + n as u64 >= cut_after {
            let keep = (cut_after - before) as usize;
            let _ = sw.write_all(&buf[..keep]).await;
            c.forwarded.fetch_add(keep as u64, Ordering::SeqCst);
            c.cut.store(true, Ordering::SeqCst);
            // Dropping both halves of both sockets resets the connection.
            back.abort();
            return;
        }
        if sw.write_all(&buf[..n]).await.is_err() {
            break;
        }
        c.forwarded.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = sw.shutdown().await;
    let _ = back.await;
}
