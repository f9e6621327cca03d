//! The shared state every use case and background task works on, and the
//! one place committed events are announced from.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::documents::DownloadKey;
use super::error::{AppError, AppResult, ErrorKind};
use super::tasks::{Faults, TaskHealth};
use crate::live::Hub;
use crate::seal::CustodianSecretKey;
use crate::store::{BlobStore, Committer, DynStore, Event, LogContext, Staging};

/// How the opening runs.
#[derive(Clone)]
pub struct OpeningConfig {
    /// The server's own custodian key.
    pub server_key: Arc<CustodianSecretKey>,
    /// Pause between two opened bids, so viewers can follow the 唱标.
    pub pace: Duration,
    /// Wakes the engine (e.g. after a custodian released).
    pub wake: Arc<Notify>,
}

/// Shared state of the use cases, the adapters and the background tasks.
/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: DynStore,
    /// Records bid submissions in batches (of one when group commit is off).
    pub committer: Committer,
    /// Wakes the scheduler when times change.
    pub scheduler: Arc<Notify>,
    /// Ciphertext files.
    pub blobs: BlobStore,
    /// Resumable upload sessions and their staging files.
    pub staging: Staging,
    /// The log's signer and origin.
    pub log: LogContext,
    /// The opening engine's settings and the server's custodian key.
    pub opening: OpeningConfig,
    /// The live room's event hub.
    pub live: Hub,
    /// Signs evaluators' short-lived document links.
    pub downloads: DownloadKey,
    /// Which background tasks run, restarted, or died for good.
    pub tasks: TaskHealth,
    /// How OCDS releases are named and published.
    pub ocds: crate::app::ocds::OcdsSettings,
    /// Test-only fault injection (inert unless a test arms it).
    #[doc(hidden)]
    pub faults: Faults,
}

impl AppState {
    /// Ready to serve: the database answers and no background task failed
    /// for good.
    pub async fn ready(&self) -> AppResult<()> {
        if let Some(why) = self.tasks.failed() {
            return Err(AppError::new(ErrorKind::Unavailable, "not_ready", format!("a background task failed: {why}")));
        }
        self.store
            .ready()
            .await
            .map_err(|e| AppError::new(ErrorKind::Unavailable, "not_ready", format!("database not ready: {e}")))
    }

    /// Called after every committed change with the events it produced.
    pub fn after_change(&self, events: &[Event]) {
        announce(&self.scheduler, &self.opening.wake, &self.live, events);
    }
}

/// Wakes the scheduler and the opening engine and feeds the live room with
/// committed events (also used by the group committer, which has no state).
pub fn announce(scheduler: &Notify, wake: &Notify, live: &Hub, events: &[Event]) {
    for e in events {
        metrics::counter!("bidroom_events_total", "kind" => e.kind.clone()).increment(1);
    }
    if !events.is_empty() {
        scheduler.notify_one();
        wake.notify_one();
        live.publish(events);
    }
}
