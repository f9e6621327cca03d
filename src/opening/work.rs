//! The opening's CPU work — the server's HPKE opens, key rebuilds, form
//! decryption — with the file reads it needs, spread over the cores on
//! blocking threads (one per core, not one per bid).

use std::sync::Arc;

use super::{Evaluation, OpeningError, evaluate};
use crate::domain::tender::Lot;
use crate::seal::{CustodianSecretKey, Envelope, Share, open_share};
use crate::store::{BlobStore, ReleasedShare, StoredBid};

/// Maps `f` over `items` on one blocking thread per core, keeping the order.
pub(crate) async fn parallel_map<T, R, F>(items: Vec<T>, f: F) -> Result<Vec<R>, OpeningError>
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

fn read_blob(blobs: &BlobStore, hash: &str) -> Result<Vec<u8>, OpeningError> {
    std::fs::read(blobs.path(hash)).map_err(|e| OpeningError::Blob(hash.to_string(), e))
}

/// Reads and parses a bid's stored envelope (blocking).
pub(crate) fn read_envelope(blobs: &BlobStore, bid: &StoredBid) -> Result<Envelope, OpeningError> {
    let hash = bid.blobs.first().ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no envelope", bid.id)))?;
    let bytes = read_blob(blobs, hash)?;
    Envelope::parse(&bytes).map_err(|e| OpeningError::Corrupt(format!("stored envelope of bid {}: {e}", bid.id)))
}

/// The server decrypts its share of one bid; returns the share to store
/// (marked bad when it cannot be decrypted) and the parsed envelope, kept
/// for the evaluation so the file is read once.
pub(crate) fn server_share(
    blobs: &BlobStore,
    key: &CustodianSecretKey,
    index: u8,
    bid: &StoredBid,
) -> Result<(ReleasedShare, Envelope), OpeningError> {
    let envelope = read_envelope(blobs, bid)?;
    let released = match open_share(&envelope, index, key) {
        Ok(share) => ReleasedShare { bid_id: bid.id, share: share.to_bytes().to_vec(), good: true },
        Err(_) => ReleasedShare { bid_id: bid.id, share: Vec::new(), good: false },
    };
    Ok((released, envelope))
}

/// Opens one bid with its good shares (blocking): reads the form (and the
/// envelope unless already parsed) and evaluates.
pub(crate) fn open_bid(
    blobs: &BlobStore,
    lot: Option<&Lot>,
    bid: &StoredBid,
    good: &[Share],
    envelope: Option<Envelope>,
) -> Result<Evaluation, OpeningError> {
    let envelope = match envelope {
        Some(e) => e,
        None => read_envelope(blobs, bid)?,
    };
    let form_hash = bid.blobs.get(1).ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no form", bid.id)))?;
    let form = read_blob(blobs, form_hash)?;
    Ok(evaluate(&envelope, good, &form, lot))
}
