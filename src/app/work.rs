//! CPU work over stored bids — reading and parsing envelopes, checking
//! shares — spread over the cores on blocking threads (one per core, not
//! one per bid). Used by the release use case and the opening engine.

use std::collections::HashMap;
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

/// The bytes of some stored ciphertexts, by hex hash: the small ones read
/// from the database in one query, the others from their files.
#[derive(Default)]
pub struct Ciphertexts(HashMap<String, Vec<u8>>);

impl Ciphertexts {
    /// Loads these ciphertexts (hashes may repeat).
    pub async fn load(state: &AppState, hashes: Vec<String>) -> Result<Self, OpeningError> {
        let mut found = state.store.small_ciphertexts(&hashes).await?;
        let mut files: Vec<String> = hashes.into_iter().filter(|h| !found.contains_key(h)).collect();
        files.sort_unstable();
        files.dedup();
        if !files.is_empty() {
            // Bids recorded before migration 0013, and large documents.
            let blobs = state.blobs.clone();
            let read = tokio::task::spawn_blocking(move || {
                files.into_iter().map(|h| read_blob(&blobs, &h).map(|b| (h, b))).collect::<Result<Vec<_>, _>>()
            });
            found.extend(read.await.map_err(|e| OpeningError::Corrupt(e.to_string()))??);
        }
        Ok(Ciphertexts(found))
    }

    /// Loads the envelopes (and, with `forms`, the forms) of these bids.
    pub async fn of_bids<'a>(
        state: &AppState,
        bids: impl IntoIterator<Item = &'a StoredBid>,
        forms: bool,
    ) -> Result<Self, OpeningError> {
        let take = if forms { 2 } else { 1 };
        Self::load(state, bids.into_iter().flat_map(|b| b.blobs.iter().take(take).cloned()).collect()).await
    }

    /// One ciphertext's bytes.
    pub fn get(&self, hash: &str) -> Result<&[u8], OpeningError> {
        self.0
            .get(hash)
            .map(Vec::as_slice)
            .ok_or_else(|| OpeningError::Corrupt(format!("ciphertext {hash} not loaded")))
    }

    /// A bid's parsed envelope.
    pub fn envelope(&self, bid: &StoredBid) -> Result<Envelope, OpeningError> {
        let hash = bid.blobs.first().ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no envelope", bid.id)))?;
        Envelope::parse(self.get(hash)?)
            .map_err(|e| OpeningError::Corrupt(format!("stored envelope of bid {}: {e}", bid.id)))
    }

    /// A bid's form ciphertext.
    pub fn form(&self, bid: &StoredBid) -> Result<&[u8], OpeningError> {
        let hash = bid.blobs.get(1).ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no form", bid.id)))?;
        self.get(hash)
    }
}

/// Reads a stored blob file (blocking).
fn read_blob(blobs: &BlobStore, hash: &str) -> Result<Vec<u8>, OpeningError> {
    std::fs::read(blobs.path(hash)).map_err(|e| OpeningError::Blob(hash.to_string(), e))
}

/// Loads a bid's envelope.
pub async fn load_envelope(state: &AppState, bid: &StoredBid) -> Result<Envelope, OpeningError> {
    Ciphertexts::of_bids(state, [bid], false).await?.envelope(bid)
}

/// Checks released shares against their envelopes' commitments, parsing
/// the envelopes on every core; true where a share matched.
pub async fn check_released(state: &AppState, shares: Vec<(StoredBid, Share)>) -> Result<Vec<bool>, OpeningError> {
    let loaded = Arc::new(Ciphertexts::of_bids(state, shares.iter().map(|(b, _)| b), false).await?);
    parallel_map(shares, move |(bid, share)| {
        let envelope = loaded.envelope(&bid)?;
        Ok(crate::seal::verify_share(&envelope, &share).is_ok())
    })
    .await?
    .into_iter()
    .collect()
}
