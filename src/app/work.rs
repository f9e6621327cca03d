//! CPU work over stored bids — reading and parsing envelopes, checking
//! shares — spread over the cores on blocking threads (one per core, not
//! one per bid). Used by the release use case and the opening engine.

use std::sync::Arc;

use crate::seal::{Envelope, Share};
use crate::store::{BlobStore, StoreError, StoredBid};

use super::state::AppState;

/// Errors of the opening's work.
#[derive(Debug, thiserror::Error)]
pub enum OpeningError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored file could not be read.
    #[error("reading {0}: {1}")]
    Blob(String, std::io::Error),
    /// Stored data is inconsistent.
    #[error("{0}")]
    Corrupt(String),
}

/// Maps `f` over `items` on one blocking thread per core, keeping the order.
pub async fn parallel_map<T, R, F>(items: Vec<T>, f: F) -> Result<Vec<R>, OpeningError>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    let per = items.len().div_ceil(workers);
    let f = Arc::new(f);
    let mut items = items.into_iter();
    let mut handles = Vec::with_capacity(workers);
    loop {
        let chunk: Vec<T> = items.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        let f = f.clone();
        handles.push(tokio::task::spawn_blocking(move || chunk.into_iter().map(|x| f(x)).collect::<Vec<R>>()));
    }
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await.map_err(|e| OpeningError::Corrupt(e.to_string()))?);
    }
    Ok(out)
}

/// Reads a stored blob (blocking).
pub fn read_blob(blobs: &BlobStore, hash: &str) -> Result<Vec<u8>, OpeningError> {
    std::fs::read(blobs.path(hash)).map_err(|e| OpeningError::Blob(hash.to_string(), e))
}

/// Reads and parses a bid's stored envelope (blocking).
pub fn read_envelope(blobs: &BlobStore, bid: &StoredBid) -> Result<Envelope, OpeningError> {
    let hash = bid.blobs.first().ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no envelope", bid.id)))?;
    let bytes = read_blob(blobs, hash)?;
    Envelope::parse(&bytes).map_err(|e| OpeningError::Corrupt(format!("stored envelope of bid {}: {e}", bid.id)))
}

/// Loads a bid's envelope from its stored file.
pub async fn load_envelope(state: &AppState, bid: &StoredBid) -> Result<Envelope, OpeningError> {
    let (blobs, bid) = (state.blobs.clone(), bid.clone());
    tokio::task::spawn_blocking(move || read_envelope(&blobs, &bid))
        .await
        .map_err(|e| OpeningError::Corrupt(e.to_string()))?
}

/// Checks released shares against their envelopes' commitments, reading
/// the envelopes on every core; true where a share matched.
pub async fn check_released(state: &AppState, shares: Vec<(StoredBid, Share)>) -> Result<Vec<bool>, OpeningError> {
    let blobs = state.blobs.clone();
    parallel_map(shares, move |(bid, share)| {
        let envelope = read_envelope(&blobs, &bid)?;
        Ok(crate::seal::verify_share(&envelope, &share).is_ok())
    })
    .await?
    .into_iter()
    .collect()
}
