//! The opening's CPU work — the server's HPKE opens, key rebuilds, form
//! decryption — with the file reads it needs; run on every core through
//! `app::work::parallel_map`.

use super::{Evaluation, OpeningError, evaluate};
use crate::app::work::{read_blob, read_envelope};
use crate::domain::tender::Lot;
use crate::seal::{CustodianSecretKey, Envelope, Share, open_share};
use crate::store::{BlobStore, ReleasedShare, StoredBid};

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
