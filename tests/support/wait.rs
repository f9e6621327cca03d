//! Bounded waits on what a test expects to happen, instead of fixed sleeps:
//! a slow machine gets the whole bound, a fast one does not wait for it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::server::TestApp;

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Calls `probe` until it gives a value; fails naming `what` after `within`.
pub async fn poll<T>(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let until = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < until, "waited {within:?} in vain for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Polls until the tender reaches `state` or `secs` pass; returns the tender.
pub async fn wait_for_state(app: &TestApp, id: &str, state: &str, secs: u64) -> Value {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, v) = app.get(&format!("/api/v1/tenders/{id}")).await;
        if v["state"] == state {
            return v;
        }
        assert!(Instant::now() < until, "tender {id} did not reach {state} within {secs}s: {v}");
        tokio::time::sleep(POLL).await;
    }
}

/// All events of a tender (up to 200).
pub async fn events(app: &TestApp, tender: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/events?limit=200")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["events"].as_array().expect("events").clone()
}

/// Polls the tender's events until `done` holds (within 60 s); returns them.
pub async fn wait_events(app: &TestApp, tender: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    poll(what, Duration::from_secs(60), async || {
        let ev = events(app, tender).await;
        done(&ev).then_some(ev)
    })
    .await
}
