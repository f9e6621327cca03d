//! The engine's side of the opening session: the minimum of bidders at the
//! start, the move from decryption to the 唱标, and the holds it obeys.

use uuid::Uuid;

use crate::app::AppState;
use crate::app::work::OpeningError;
use crate::domain::event::LotCount;
use crate::domain::session::Stage;
use crate::domain::tender::Tender;
use crate::domain::{DomainError, TenderState};
use crate::store::{StoreError, StoredBid, StoredShare};

/// Starts a due opening: counts the standing bids' bidders per lot (fixed
/// since the close) and lets the tender decide which lots fail.
pub async fn start(state: &AppState, id: Uuid) -> Result<(), OpeningError> {
    // Counted by the database: the close's bids are never read here.
    let counts = state.store.lot_bidder_counts(id).await?;
    let counts: Vec<LotCount> = counts.into_iter().map(|(lot, bidders)| LotCount { lot, bidders }).collect();
    let open = Box::new(move |t: &mut Tender, c: &crate::store::TransitionContext| t.start_session(c.now, &counts));
    match state.store.update_tender(id, "scheduler", "open", open).await {
        Ok((_, events)) => state.after_change(&events),
        Err(StoreError::Domain(DomainError::Transition { .. })) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The pending bids that stand in lots still open (a failed lot's bids
/// stay sealed for good).
pub fn standing(tender: &Tender, pending: Vec<(StoredBid, Vec<StoredShare>)>) -> Vec<(StoredBid, Vec<StoredShare>)> {
    if tender.failed_lots.is_empty() {
        return pending;
    }
    pending.into_iter().filter(|(b, _)| !tender.failed_lots.contains(&b.lot)).collect()
}

/// May the step announce bids? In the decryption stage only once `done`
/// (every bid has its shares, or the window is over), and then the 唱标
/// begins first. A tender without a session announces as before.
pub async fn announce_when_decrypted(state: &AppState, tender: &Tender, done: bool) -> Result<bool, OpeningError> {
    if tender.session.is_none() || tender.session_state.stage != Some(Stage::Decryption) {
        return Ok(true);
    }
    if !done {
        return Ok(false);
    }
    let announce = Box::new(|t: &mut Tender, c: &crate::store::TransitionContext| t.start_announcement(c.now));
    match state.store.update_tender(tender.id, "scheduler", "announce", announce).await {
        Ok((t, events)) => {
            state.after_change(&events);
            Ok(t.may_announce())
        }
        // Held or moved on meanwhile (another node): the next pass sees it.
        Err(StoreError::Domain(DomainError::Transition { .. })) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Is the session held (or no longer opening) now?
pub async fn held(state: &AppState, id: Uuid) -> Result<bool, OpeningError> {
    Ok(match state.store.get_tender(id).await? {
        Some(t) => t.tender.state != TenderState::Opening || !t.tender.may_announce(),
        None => true,
    })
}
