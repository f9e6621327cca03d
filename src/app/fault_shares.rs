//! The shares that prove a bidder's fault: for a bid rejected because its
//! released shares match their commitments but no k of them rebuild the
//! committed key, the shares are published once the record is final, so
//! anyone can check the blame instead of taking the server's word
//! (PROTOCOL.md, "Blame: what the public can check").
//!
//! Whether a bid qualifies is decided here from the shares and the
//! envelope, not from the event's wording: only a set in which no k-subset
//! rebuilds K is served, as only such a set reveals no key.

use serde::Serialize;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use super::work::load_envelope;
use crate::domain::TenderState;
use crate::seal::{SealError, Share, b64, rebuild_key};

/// One released share of a bid the bidder sealed inconsistently.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FaultShare {
    /// The custodian's index in the policy (the share's x).
    pub index: u8,
    /// The custodian's id.
    pub custodian: String,
    /// The 33-byte share (x ‖ y), base64url.
    pub share: String,
}

/// The released shares of a bid rejected by its bidder's fault.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FaultShares {
    /// The bid.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// SHA-256 of its envelope, hex.
    pub envelope_hash: String,
    /// Every share released for it that matched its commitment, by index.
    pub shares: Vec<FaultShare>,
}

fn not_public(why: &str) -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "shares_not_public",
        format!("{why}; a bid's shares are published only when they prove its bidder sealed them inconsistently"),
    )
}

/// The shares proving the bidder's fault for `bid` of tender `id`.
pub async fn fault_shares(state: &AppState, id: Uuid, bid: Uuid) -> AppResult<FaultShares> {
    let tender = visible_tender(state, id, None).await?.tender;
    if tender.state != TenderState::Opened {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "record_not_final",
            format!("shares are published once the opening record is final; the tender is {}", tender.state.as_str()),
        ));
    }
    let stored =
        state.store.get_bid(bid).await?.filter(|b| b.tender_id == id).ok_or_else(|| AppError::not_found("bid"))?;
    if tender.failed_lots.contains(&stored.lot) {
        return Err(not_public("the bid's lot failed for too few bidders and stays sealed"));
    }
    let mut good: Vec<(u8, String, Share)> = Vec::new();
    for s in state.store.shares_of(bid).await?.into_iter().filter(|s| s.good) {
        let share = Share::from_bytes(&s.share).map_err(AppError::internal)?;
        good.push((s.index, s.custodian, share));
    }
    good.sort_by_key(|(i, _, _)| *i);
    let envelope = load_envelope(state, &stored).await.map_err(AppError::internal)?;
    if good.len() < usize::from(envelope.custody.threshold) {
        return Err(not_public("fewer than k good shares were released for this bid"));
    }
    let shares: Vec<Share> = good.iter().map(|(_, _, s)| s.clone()).collect();
    match rebuild_key(&envelope, &shares) {
        Err(SealError::KeyCommitmentMismatch) => {}
        Ok(_) => return Err(not_public("some k of this bid's shares rebuild its key")),
        Err(e) => return Err(AppError::internal(format!("shares of bid {bid}: {e}"))),
    }
    Ok(FaultShares {
        bid_id: bid,
        envelope_hash: stored.envelope_hash,
        shares: good
            .into_iter()
            .map(|(index, custodian, s)| FaultShare { index, custodian, share: b64(s.to_bytes().as_ref()) })
            .collect(),
    })
}
