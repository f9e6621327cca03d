//! Background tasks that must not die silently. Each runs under
//! [`supervise`]: a task that panics or returns before shutdown is either
//! restarted after a logged error, with a growing pause (the loops that keep
//! no state between passes: scheduler, opening engine, upload sweeper, live
//! room), or — for the group committer, which the store owns and which
//! cannot be restarted under callers waiting on it — marked failed, which
//! makes `/readyz` fail and the server stop with an error (a non-zero exit).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

/// First pause before a restart; doubled per restart in a row, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A task that ran this long without failing starts again from the first pause.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// What became of the background tasks: restart counts, and the first task
/// that failed for good (then the server is not ready and stops).
#[derive(Clone, Default)]
pub struct TaskHealth {
    inner: Arc<HealthInner>,
}

#[derive(Default)]
struct HealthInner {
    restarts: Mutex<HashMap<&'static str, u64>>,
    failed: Mutex<Option<String>>,
    /// Cancelled when a task fails for good: the server then shuts down.
    fatal: CancellationToken,
}

impl TaskHealth {
    /// How often `task` was restarted.
    pub fn restarts(&self, task: &str) -> u64 {
        self.inner.restarts.lock().unwrap_or_else(|p| p.into_inner()).get(task).copied().unwrap_or(0)
    }

    /// The task that failed for good, with why; `None` while all is well.
    pub fn failed(&self) -> Option<String> {
        self.inner.failed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records that `task` failed for good; the server stops serving.
    pub fn fail(&self, task: &'static str, why: &str) {
        let mut failed = self.inner.failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.is_none() {
            tracing::error!(task, why, "background task failed; the server is no longer ready and stops");
            *failed = Some(format!("{task}: {why}"));
        }
        self.inner.fatal.cancel();
    }

    /// Cancelled once a task failed for good.
    pub fn fatal(&self) -> &CancellationToken {
        &self.inner.fatal
    }

    fn restarted(&self, task: &'static str) {
        *self.inner.restarts.lock().unwrap_or_else(|p| p.into_inner()).entry(task).or_insert(0) += 1;
    }
}

/// Runs the task `make` builds until `shutdown`, building and starting it
/// again whenever it panics or returns early (logged, after a pause that
/// doubles per failure in a row).
pub async fn supervise<F, Fut>(name: &'static str, health: TaskHealth, shutdown: CancellationToken, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = std::time::Instant::now();
        // Spawned, so that a panic stays inside the task and is seen here.
        let outcome = tokio::spawn(std::panic::AssertUnwindSafe(make()).catch_unwind()).await;
        if shutdown.is_cancelled() {
            return;
        }
        let why = match outcome {
            Ok(Ok(())) => "returned".to_string(),
            Ok(Err(panic)) => format!("panicked: {}", panic_message(&*panic)),
            Err(e) => format!("was lost: {e}"),
        };
        if started.elapsed() >= STABLE_AFTER {
            backoff = FIRST_BACKOFF;
        }
        tracing::error!(
            task = name,
            why,
            restart_in_ms = backoff.as_millis() as u64,
            "background task stopped; restarting"
        );
        health.restarted(name);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "unknown panic".to_string(),
    }
}

/// Test-only fault injection: a test arms a task's name and the task
/// panics at its next pass. Nothing arms it outside tests; there is no flag,
/// variable or endpoint that reaches it.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<HashSet<&'static str>>>);

impl Faults {
    /// Makes `task` panic once, at its next pass.
    #[doc(hidden)]
    pub fn arm(&self, task: &'static str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(task);
    }

    /// Panics if `task` was armed (and disarms it).
    pub(crate) fn check(&self, task: &'static str) {
        let armed = self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(task);
        if armed {
            panic!("injected fault in {task}");
        }
    }
}
