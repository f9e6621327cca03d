//! The group committer: one task per store that records sealed-bid
//! submissions in batches. While one batch commits, new submissions queue;
//! the next batch takes all of them at once, so the costs of a commit (the
//! directory fsyncs, the WAL or PostgreSQL commit flush, the Ed25519
//! checkpoint signature) are paid once per batch instead of once per bid.
//! Every receipt of a batch proves inclusion in that batch's checkpoint,
//! and the batch's events are announced once, together.

use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;

use super::{BlobStore, DynStore, Event, NewBid, StoreError, StoreResult, Submitted};

/// Told the events of each committed batch (wakes the scheduler, feeds the live room).
pub type OnCommit = Arc<dyn Fn(&[Event]) + Send + Sync>;

/// Most submissions in one transaction by default (bounds the time a batch
/// holds the writer and the tender locks).
pub const MAX_BATCH: usize = 1024;

/// Submissions waiting for the next batch before senders wait too.
const QUEUE: usize = 4096;

struct Job {
    bid: NewBid,
    reply: oneshot::Sender<StoreResult<Submitted>>,
}

/// A handle to the store's committer task; clones share the task, which
/// ends when the last handle is dropped.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committer of `store`; `blobs` is where the bids' files
    /// are; `on_commit` hears each batch's new events before any reply.
    pub fn spawn(store: DynStore, blobs: BlobStore, on_commit: OnCommit) -> Self {
        Self::spawn_with(store, blobs, on_commit, MAX_BATCH)
    }

    /// [`Committer::spawn`] with at most `max_batch` submissions per
    /// transaction (at least one). A batch size of one records each bid in
    /// its own transaction: the baseline the `receipts` benchmark compares
    /// group commit against.
    pub fn spawn_with(store: DynStore, blobs: BlobStore, on_commit: OnCommit, max_batch: usize) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, blobs, rx, on_commit, max_batch.max(1)));
        Committer { queue }
    }

    /// Records a bid whose files are written and fsynced (their directory
    /// entries may still be pending: the committer syncs them before the
    /// commit). Returns once the bid, its log entry and the checkpoint that
    /// covers it are durable.
    pub async fn submit(&self, bid: NewBid) -> StoreResult<Submitted> {
        let (reply, answer) = oneshot::channel();
        // A live committer always replies: a closed queue or a reply dropped
        // unsent means its task ended.
        self.queue.send(Job { bid, reply }).await.map_err(|_| StoreError::CommitterStopped)?;
        answer.await.map_err(|_| StoreError::CommitterStopped)?
    }
}

/// A batch whose directories were synced (or failed to be).
struct Synced {
    jobs: Vec<Job>,
    synced: std::io::Result<std::time::Duration>,
}

/// Two stages in a pipeline: while one batch commits to the database, the
/// next batch's directories are synced. The database stage takes batches in
/// order, and a batch reaches it only after its own directories are synced,
/// so no row ever references a file whose name a crash could lose.
async fn run(store: DynStore, blobs: BlobStore, mut rx: mpsc::Receiver<Job>, on_commit: OnCommit, max_batch: usize) {
    let (synced_tx, mut synced_rx) = mpsc::channel::<Synced>(1);
    let recorder = tokio::spawn(async move {
        while let Some(batch) = synced_rx.recv().await {
            record(&store, batch, &on_commit).await;
        }
    });
    let mut jobs = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        let batch: Vec<Job> = std::mem::take(&mut jobs);
        let started = std::time::Instant::now();
        // Only files need their directories synced; the small ciphertexts
        // are rows of the commit itself. A batch without files syncs nothing.
        let files: Vec<&str> =
            batch.iter().flat_map(|j| j.bid.blobs.iter().map(String::as_str).filter(|h| !j.bid.is_inline(h))).collect();
        let synced = if files.is_empty() { Ok(()) } else { blobs.sync_dirs(files).await };
        let synced = synced.map(|()| started.elapsed());
        if synced_tx.send(Synced { jobs: batch, synced }).await.is_err() {
            break;
        }
    }
    drop(synced_tx);
    let _ = recorder.await;
}

/// Records one synced batch and answers each of its callers.
async fn record(store: &DynStore, batch: Synced, on_commit: &OnCommit) {
    let (bids, replies): (Vec<NewBid>, Vec<_>) = batch.jobs.into_iter().map(|j| (j.bid, j.reply)).unzip();
    let outcome = match batch.synced {
        Ok(synced) => commit(store, &bids, synced).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(results) => {
            let events: Vec<Event> =
                results.iter().filter_map(|r| r.as_ref().ok().and_then(|s| s.event.clone())).collect();
            on_commit(&events);
            for (reply, result) in replies.into_iter().zip(results) {
                // The caller may have gone (client disconnected): its bid
                // stands all the same and a retry gets the receipt.
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, bids = bids.len(), "group commit failed");
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Batch(message.clone())));
            }
        }
    }
}

async fn commit(store: &DynStore, bids: &[NewBid], synced: std::time::Duration) -> super::BatchResult {
    let started = std::time::Instant::now();
    let results = match store.submit_bids(bids).await {
        // Nothing of it was written (another node raced it): once more,
        // with fresh reads, so the bid at fault fails alone.
        Err(StoreError::Batch(reason)) => {
            tracing::info!(%reason, "retrying a batch");
            store.submit_bids(bids).await?
        }
        other => other?,
    };
    metrics::histogram!("bidroom_commit_batch_size").record(bids.len() as f64);
    metrics::histogram!("bidroom_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    tracing::debug!(
        bids = bids.len(),
        sync_us = synced.as_micros() as u64,
        db_us = started.elapsed().as_micros() as u64,
        "batch committed"
    );
    if results.len() != bids.len() {
        return Err(StoreError::Corrupt(format!("{} results for {} bids", results.len(), bids.len())));
    }
    Ok(results)
}
