//! The opening's CPU work — the server's HPKE opens, key rebuilds, form
//! decryption — over ciphertexts loaded for the batch; run on every core
//! through `app::work::parallel_map`.

use super::{Evaluation, OpeningError, evaluate};
use crate::app::work::Ciphertexts;
use crate::domain::tender::Lot;
use crate::seal::{CustodianSecretKey, Share, open_share};
use crate::store::{ReleasedShare, StoredBid};

/// The server decrypts its share of one bid; returns the share to store
/// (marked bad when it cannot be decrypted).
pub(crate) fn server_share(
    loaded: &Ciphertexts,
    key: &CustodianSecretKey,
    index: u8,
    bid: &StoredBid,
) -> Result<ReleasedShare, OpeningError> {
    let envelope = loaded.envelope(bid)?;
    Ok(match open_share(&envelope, index, key) {
        Ok(share) => ReleasedShare { bid_id: bid.id, share: share.to_bytes().to_vec(), good: true },
        Err(_) => ReleasedShare { bid_id: bid.id, share: Vec::new(), good: false },
    })
}

/// Opens one bid with its good shares (blocking): parses the envelope and
/// evaluates the form.
pub(crate) fn open_bid(
    loaded: &Ciphertexts,
    lot: Option<&Lot>,
    bid: &StoredBid,
    good: &[Share],
) -> Result<Evaluation, OpeningError> {
    Ok(evaluate(&loaded.envelope(bid)?, good, loaded.form(bid)?, lot))
}
