//! HTTPS and WSS with a certificate made at test time, and its reload on
//! SIGHUP while a connection made under the old certificate stays up.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bidroom::launch::App;
use futures_util::StreamExt;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::common::{TestApp, published_tender};
use crate::support::server::config_for;

/// A fresh self-signed certificate for `localhost`, written to `dir`;
/// returns its DER form for the client's trust store.
fn make_cert(dir: &Path) -> CertificateDer<'static> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

/// A client trusting only `root`.
fn connector(root: &CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn dial(addr: std::net::SocketAddr, root: &CertificateDer<'static>) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    connector(root).connect(ServerName::try_from("localhost").unwrap(), tcp).await
}

/// One HTTP/1.1 GET on a kept-alive connection: status and body.
async fn get(conn: &mut TlsStream<TcpStream>, path: &str) -> (u16, String) {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-answer");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .expect("content-length");
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (status, String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string())
}

async fn serves_https_and_wss_and_reloads_on_sighup(mut app: TestApp) {
    let tender = published_tender(&app, 3600).await;
    app.stop().await;
    let certs = tempfile::tempdir().unwrap();
    let first = make_cert(certs.path());
    let mut cfg = config_for(app.data_dir.path(), &app.backend);
    cfg.tls.cert = Some(certs.path().join("cert.pem"));
    cfg.tls.key = Some(certs.path().join("key.pem"));
    let server = App::build(&cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(server.serve(listener, shutdown.clone()));

    // HTTPS.
    let mut old = dial(addr, &first).await.expect("TLS handshake");
    let (status, time) = get(&mut old, "/api/v1/time").await;
    assert_eq!(status, 200, "{time}");
    assert!(serde_json::from_str::<Value>(&time).is_ok(), "{time}");
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut got = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), plain.read(&mut got)).await.expect("closed").unwrap_or(0);
    assert!(!String::from_utf8_lossy(&got[..n]).starts_with("HTTP/1.1 200"), "plain HTTP served on the TLS port");

    // WSS.
    let url = format!("wss://localhost/api/v1/tenders/{tender}/live");
    let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), dial(addr, &first).await.unwrap()).await.unwrap();
    let hello = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("frame").unwrap().unwrap() {
            Message::Text(t) => break serde_json::from_str::<Value>(&t).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(hello["type"], "hello", "{hello}");

    // New files, then SIGHUP until new handshakes get the new certificate
    // (the server's signal listener may not be registered at the first one).
    let second = make_cert(certs.path());
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let pid = std::process::id().to_string();
        assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
        let _ = hangup.recv().await;
        if dial(addr, &second).await.is_ok() {
            break;
        }
        assert!(Instant::now() < until, "the new certificate was never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dial(addr, &first).await.is_err(), "the old certificate is no longer offered");
    // The connection made under the old certificate is still served.
    let (status, _) = get(&mut old, "/api/v1/time").await;
    assert_eq!(status, 200);
    let (status, _) = get(&mut dial(addr, &second).await.unwrap(), "/healthz").await;
    assert_eq!(status, 200);
    drop(ws);
    shutdown.cancel();
    handle.await.unwrap().unwrap();
}

crate::on_both_backends!(serves_https_and_wss_and_reloads_on_sighup);
