//! Rate limits on writes: per client address (every write of the API but
//! resumable upload parts, whose pace the bandwidth already bounds) and per
//! bidder key (submissions, counted once the envelope signature proved the
//! key, so nobody can spend another bidder's allowance). A refused request gets `429
//! rate_limited` with `Retry-After`. Reads are not limited here. The counts
//! are GCRA cells (`governor`), one per key, in this process: with several
//! nodes, each counts what reaches it.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::client_addr::ClientAddr;
use super::error::ApiError;
use super::uploads;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Checks between two sweeps of keys whose cells are full again.
const SWEEP_EVERY: u64 = 4096;

/// One keyed limit and its sweep counter.
struct Limit<K: Hash + Eq + Clone> {
    cells: Keyed<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(per_minute: u32, burst: u32) -> Option<Arc<Self>> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Some(Arc::new(Limit {
            cells: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            checks: AtomicU64::new(0),
        }))
    }

    fn check(&self, key: &K, what: &'static str) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            // Forget keys that have not written lately: memory stays bounded
            // by the recently active clients.
            self.cells.retain_recent();
        }
        self.cells
            .check_key(key)
            .map_err(|not_until| Limited { retry_after: not_until.wait_time_from(DefaultClock::default().now()), what })
    }
}

/// The write limits of one server (cheap to clone; clones share counts).
#[derive(Clone, Default)]
pub struct WriteLimits {
    by_addr: Option<Arc<Limit<IpAddr>>>,
    by_bidder: Option<Arc<Limit<String>>>,
}

impl std::fmt::Debug for WriteLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteLimits")
            .field("by_addr", &self.by_addr.is_some())
            .field("by_bidder", &self.by_bidder.is_some())
            .finish()
    }
}

impl WriteLimits {
    /// Writes per minute per client address and per bidder key (0: that
    /// limit off), each allowing `burst` at once.
    pub fn new(per_addr: u32, per_bidder: u32, burst: u32) -> Self {
        WriteLimits { by_addr: Limit::new(per_addr, burst), by_bidder: Limit::new(per_bidder, burst) }
    }

    /// Counts a write from `addr`.
    pub fn check_addr(&self, addr: IpAddr) -> Result<(), Limited> {
        self.by_addr.as_ref().map_or(Ok(()), |l| l.check(&addr, "from this address"))
    }

    /// Counts a write by the bidder holding `key` (its public key).
    pub fn check_bidder(&self, key: &str) -> Result<(), Limited> {
        self.by_bidder.as_ref().map_or(Ok(()), |l| l.check(&key.to_string(), "by this bidder key"))
    }
}

/// A refused write: when to come back.
#[derive(Debug)]
pub struct Limited {
    retry_after: Duration,
    what: &'static str,
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        // Whole seconds, rounded up, at least one (RFC 9110 delay-seconds).
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let secs = secs.max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests {}; try again in {secs} s", self.what),
        )
        .into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        response
    }
}

/// Whether `method` on `path` counts against the per-address write limit.
fn counted(method: &Method, path: &str) -> bool {
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    write && path.starts_with("/api/v1/") && !uploads::is_part_path(path)
}

/// Middleware: refuses a write over its address's limit, and hands the
/// limits to the handlers that count per bidder key.
pub async fn limit_writes(limits: WriteLimits, mut req: Request, next: Next) -> Response {
    if counted(req.method(), req.uri().path())
        && let Some(ClientAddr(addr)) = req.extensions().get::<ClientAddr>().copied()
        && let Err(limited) = limits.check_addr(addr)
    {
        return limited.into_response();
    }
    req.extensions_mut().insert(limits);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_key_waits_while_others_go_on() {
        let limits = WriteLimits::new(60, 2, 3);
        let a = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..3 {
            assert!(limits.check_addr(a).is_ok());
        }
        let refused = limits.check_addr(a).unwrap_err();
        assert!(refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_secs(1));
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert!(limits.check_addr(IpAddr::from([192, 0, 2, 2])).is_ok());
        assert!(WriteLimits::new(0, 0, 1).check_addr(a).is_ok(), "0 turns the limit off");
    }

    #[test]
    fn only_api_writes_count() {
        assert!(counted(&Method::POST, "/api/v1/bidders"));
        assert!(!counted(&Method::GET, "/api/v1/tenders"));
        assert!(!counted(&Method::POST, "/healthz"));
    }
}
