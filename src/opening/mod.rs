//! The opening: starts by itself at the opening time, releases the server's
//! shares, opens each bid once it has k good shares (paced, in order of
//! receipt), records the rest as unopened when the release window ends, and
//! publishes the opening record.
//!
//! Outcomes are written with their events in one transaction per batch
//! that first skips bids which already have an outcome, under the tender's
//! row lock: run it twice, on two nodes, or again after a crash, and each
//! bid still opens exactly once. The engine holds no state of its own
//! between steps.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::app::AppState;
use crate::app::work::{Ciphertexts, parallel_map};
use crate::domain::event::{BidOpened, BidRejected, BidRow, BidderRef, Blame, Digest, EventPayload, RecordSummary};
use crate::domain::tender::{SERVER_CUSTODIAN, SessionTerms, Tender};
use crate::domain::{DomainError, EventDraft, TenderState};
use crate::seal::{Share, b64};
use crate::store::{Outcome, Recorded, ReleasedShare, StoreError, StoredBid, StoredShare};

mod blame;
pub mod evaluate;
mod session;
mod work;

pub use crate::app::work::OpeningError;
pub use evaluate::{Evaluation, evaluate};

/// A stored envelope hash as an event names it.
fn digest(hex: &str) -> Result<Digest, OpeningError> {
    Digest::from_hex(hex).map_err(|e| OpeningError::Corrupt(format!("stored envelope hash: {e}")))
}

/// Runs the engine until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        state.faults.check("opening");
        if let Err(e) = tick(&state, &shutdown).await {
            tracing::warn!(error = %e, "opening step failed; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.opening.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Starts due openings and advances those under way.
pub async fn tick(state: &AppState, stop: &CancellationToken) -> Result<(), OpeningError> {
    let now = state.store.now().await?;
    for id in state.store.due_to_open(now).await? {
        session::start(state, id).await?;
    }
    for id in state.store.openings_under_way().await? {
        step(state, id, stop).await?;
    }
    Ok(())
}

fn bidder_ref(id: &str, name: Option<&str>) -> BidderRef {
    BidderRef { id: id.to_string(), name: name.map(str::to_string) }
}

/// Outcomes written per transaction when opening all at once.
const BATCH: usize = 256;

/// Bids read from the store at a time: what the engine holds (bids, their
/// shares, the server's released shares) is bounded by a page, not by the
/// number of bids in the tender.
const PAGE: i64 = 2048;

/// One pass over a tender under way, a page of bids at a time: first the
/// server's own shares are released and the bids counted, then the bids
/// with k good shares are opened (the others wait, or are recorded
/// unopened once the window is over).
async fn step(state: &AppState, id: Uuid, stop: &CancellationToken) -> Result<(), OpeningError> {
    let Some(stored) = state.store.get_tender(id).await? else { return Ok(()) };
    let tender = stored.tender;
    if tender.state != TenderState::Opening {
        return Ok(());
    }
    // A held or terminated session does nothing at all: no release, no
    // opening, no record (the store checks again under the tender's lock).
    if tender.session_state.held() || tender.session_state.terminated.is_some() {
        return Ok(());
    }
    let policy =
        tender.custody_keys.clone().ok_or_else(|| OpeningError::Corrupt("tender without custody keys".into()))?;
    let k = usize::from(policy.threshold);
    let server = policy.custodians.iter().find(|c| c.id == SERVER_CUSTODIAN).map(|c| c.index);
    let (mut after, mut any, mut all_in) = (-1, false, true);
    while let Some(mut page) = next_page(state, &tender, &mut after).await? {
        if page.is_empty() {
            continue;
        }
        any = true;
        if let Some(index) = server {
            auto_release(state, &tender, index, &mut page).await?;
        }
        all_in &= page.iter().all(|(_, shares)| shares.iter().filter(|s| s.good).count() >= k);
    }
    if !any {
        session::announce_when_decrypted(state, &tender, true).await?;
        return finish(state, &tender).await;
    }
    let window_over = tender.window_over(state.store.now().await?);
    if !session::announce_when_decrypted(state, &tender, all_in || window_over).await? {
        return Ok(());
    }
    let names = state.store.bidder_names(id).await?;
    let who = |bid: &StoredBid| bidder_ref(&bid.bidder_id, names.get(&bid.bidder_id).map(String::as_str));
    let (mut after, mut waiting) = (-1, 0);
    while let Some(page) = next_page(state, &tender, &mut after).await? {
        // In order of receipt: bids with k good shares open, the others
        // wait for releases, or are recorded unopened once the window is over.
        let mut todo = Vec::new();
        for (bid, shares) in page {
            let good: Vec<Share> =
                shares.iter().filter(|s| s.good).filter_map(|s| Share::from_bytes(&s.share).ok()).collect();
            if good.len() >= k {
                todo.push(Todo::Open { who: who(&bid), bid: Box::new(bid), good });
            } else if window_over {
                // Whose fault: the bidder's own share or a custodian's (blame.rs).
                let row = bid_row(&bid, who(&bid))?;
                todo.push(Todo::Unopened(blame::after_window(row, &shares, &policy)));
            } else {
                waiting += 1;
            }
        }
        if !open_all(state, &tender, todo, stop).await? {
            return Ok(());
        }
    }
    if waiting == 0 {
        finish(state, &tender).await?;
    }
    Ok(())
}

/// The next page of pending bids after log index `after` (moved on past
/// it), without those of failed lots; `None` when none is left.
async fn next_page(
    state: &AppState,
    tender: &Tender,
    after: &mut i64,
) -> Result<Option<Vec<(StoredBid, Vec<StoredShare>)>>, OpeningError> {
    let raw = state.store.pending_page(tender.id, *after, PAGE).await?;
    let Some(last) = raw.last().map(|(b, _)| b.log_index) else { return Ok(None) };
    *after = last;
    // Bids of a failed lot (流标) are never touched: no share, no outcome.
    Ok(Some(session::standing(tender, raw)))
}

/// Gives a page's bids their outcomes: all at once in batches evaluated on
/// every core, or one by one at the pace. False when the session was held
/// between two bids (the step stops there; resume picks up the next bid).
async fn open_all(
    state: &AppState,
    tender: &Tender,
    mut todo: Vec<Todo>,
    stop: &CancellationToken,
) -> Result<bool, OpeningError> {
    let (id, pace) = (tender.id, state.opening.pace);
    if pace.is_zero() {
        while !todo.is_empty() {
            let rest = todo.split_off(todo.len().min(BATCH));
            let batch = std::mem::replace(&mut todo, rest);
            let outcomes = prepare(state, tender, batch).await?;
            record(state, id, outcomes, pace, stop).await?;
        }
        return Ok(true);
    }
    for item in todo {
        let opened = matches!(item, Todo::Open { .. });
        let outcomes = prepare(state, tender, vec![item]).await?;
        let written = record(state, id, outcomes, pace, stop).await?;
        if !written && session::held(state, id).await? {
            return Ok(false);
        }
        if written && opened {
            // The store keeps the pace (across nodes); sleeping it here
            // too means the next bid's write is normally due at once
            // instead of costing a transaction that waits.
            tokio::select! {
                () = stop.cancelled() => return Ok(false),
                () = tokio::time::sleep(pace) => {}
            }
        }
    }
    Ok(true)
}

/// A bid the step will give an outcome.
enum Todo {
    /// k good shares: open it.
    Open { bid: Box<StoredBid>, good: Vec<Share>, who: BidderRef },
    /// The window ended without k good shares.
    Unopened(Outcome),
}

/// Turns a batch into outcomes, in its order, opening bids on every core.
async fn prepare(state: &AppState, tender: &Tender, batch: Vec<Todo>) -> Result<Vec<Outcome>, OpeningError> {
    // Envelopes and forms of the bids to open (owned: an outcome is not `Sync`).
    let hashes: Vec<String> = batch
        .iter()
        .filter_map(|t| match t {
            Todo::Open { bid, .. } => Some(bid.blobs.iter().take(2).cloned()),
            Todo::Unopened(_) => None,
        })
        .flatten()
        .collect();
    let loaded = Arc::new(Ciphertexts::load(state, hashes).await?);
    let lots = Arc::new(tender.lots.clone());
    let terms = Arc::new(tender.terms());
    parallel_map(batch, move |item| match item {
        Todo::Unopened(outcome) => Ok(outcome),
        Todo::Open { bid, good, who } => {
            let lot = lots.iter().find(|l| l.id == bid.lot);
            let evaluation = work::open_bid(&loaded, lot, &bid, &good)?;
            opened_outcome(&bid, who, evaluation, &terms)
        }
    })
    .await?
    .into_iter()
    .collect()
}

/// The server releases its own shares of a page of bids as soon as the
/// opening starts; they are added to `pending` in memory (the server's
/// share of a bid is always the same bytes, so a copy released by another
/// node is identical). One `custodian.released` event per page.
async fn auto_release(
    state: &AppState,
    tender: &Tender,
    index: u8,
    pending: &mut [(StoredBid, Vec<StoredShare>)],
) -> Result<(), OpeningError> {
    let missing: Vec<StoredBid> =
        pending.iter().filter(|(_, shares)| !shares.iter().any(|s| s.index == index)).map(|(b, _)| b.clone()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let key = state.opening.server_key.clone();
    let mut released = Vec::with_capacity(missing.len());
    let mut missing = missing.into_iter();
    loop {
        // A batch's ciphertexts at a time.
        let chunk: Vec<StoredBid> = missing.by_ref().take(BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let loaded = Ciphertexts::of_bids(state, &chunk, false).await?;
        let key = key.clone();
        for share in parallel_map(chunk, move |bid| work::server_share(&loaded, &key, index, &bid)).await? {
            released.push(share?);
        }
    }
    let bad: std::collections::HashSet<Uuid> = released.iter().filter(|s| !s.good).map(|s| s.bid_id).collect();
    let hashes = pending.iter().filter(|(b, _)| bad.contains(&b.id)).map(|(b, _)| (b.id, b.envelope_hash.as_str()));
    let make = crate::app::opening::release_event(SERVER_CUSTODIAN, index, None, hashes)
        .map_err(|e| OpeningError::Corrupt(e.to_string()))?;
    match state.store.release_shares(tender.id, SERVER_CUSTODIAN, index, &released, make).await {
        Ok(event) => state.after_change(event.as_slice()),
        // The window can close under us; then there is nothing to release.
        Err(StoreError::Domain(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let mut by_bid: HashMap<Uuid, ReleasedShare> = released.into_iter().map(|s| (s.bid_id, s)).collect();
    for (bid, shares) in pending.iter_mut() {
        if let Some(s) = by_bid.remove(&bid.id) {
            shares.push(StoredShare { index, custodian: SERVER_CUSTODIAN.to_string(), share: s.share, good: s.good });
            shares.sort_by_key(|s| s.index);
        }
    }
    Ok(())
}

/// Writes outcomes; true if any was new. When the tender's pace (kept in
/// the database, so another node's opening counts too) has not passed, waits
/// the rest and tries again; a shutdown meanwhile leaves them to the next
/// start.
async fn record(
    state: &AppState,
    tender: Uuid,
    mut outcomes: Vec<Outcome>,
    pace: Duration,
    stop: &CancellationToken,
) -> Result<bool, OpeningError> {
    loop {
        if outcomes.is_empty() {
            return Ok(false);
        }
        match state.store.record_outcomes(tender, outcomes, pace).await? {
            Recorded::Written(events) => {
                state.after_change(&events);
                return Ok(!events.is_empty());
            }
            Recorded::Wait { outcomes: back, rest } => {
                outcomes = back;
                // A paced 唱标 must not hold up a shutdown.
                tokio::select! {
                    () = stop.cancelled() => return Ok(false),
                    () = tokio::time::sleep(rest) => {}
                }
            }
        }
    }
}

/// The record row of a bid; the store gives it its position.
fn bid_row(bid: &StoredBid, who: BidderRef) -> Result<BidRow, OpeningError> {
    Ok(BidRow {
        bid_id: bid.id,
        envelope_hash: digest(&bid.envelope_hash)?,
        received_at: bid.received_at,
        bidder: who,
        lot: bid.lot.clone(),
        position: 0,
    })
}

/// The outcome of a bid that had k good shares.
fn opened_outcome(
    bid: &StoredBid,
    who: BidderRef,
    evaluation: Evaluation,
    terms: &SessionTerms,
) -> Result<Outcome, OpeningError> {
    let row = bid_row(bid, who)?;
    let (outcome, form_key, make): (_, _, Box<dyn FnOnce(i64) -> EventDraft + Send>) = match evaluation {
        Evaluation::Opened { fields, form_key } => {
            // A bid above the ceiling is still read, and marked.
            let above_ceiling = terms.above_ceiling(&bid.lot, &fields);
            (
                "opened",
                Some(form_key.to_vec()),
                Box::new(move |position| {
                    let row = BidRow { position, ..row };
                    let opened = BidOpened { row, fields, form_key: b64(&form_key), above_ceiling };
                    EventPayload::BidOpened(opened).into()
                }),
            )
        }
        Evaluation::Rejected { reason } => (
            "rejected",
            None,
            Box::new(move |position| {
                let row = BidRow { position, ..row };
                EventPayload::BidRejected(BidRejected { row, blame: Blame::Bidder, reason, bidder_share: None }).into()
            }),
        ),
    };
    Ok(Outcome { bid: bid.id, outcome, form_key, make })
}

/// Publishes the record once every bid has its outcome.
async fn finish(state: &AppState, tender: &Tender) -> Result<(), OpeningError> {
    let id = tender.id;
    // The step's own bookkeeping says every bid has its outcome; the
    // database must agree before the record is final (bids of a failed lot
    // never get one).
    let left = state.store.pending_count_outside(id, &tender.failed_lots).await?;
    if left > 0 {
        return Ok(());
    }
    let counts = state.store.outcome_counts(id).await?;
    let (opened, rejected, unopened) = (counts.opened, counts.rejected, counts.unopened);
    let warning = (opened < 3).then(|| format!("only {opened} bid(s) opened; fewer than three"));
    let summary = RecordSummary { rows: opened + rejected + unopened, opened, rejected, unopened, warning };
    match state
        .store
        .update_tender(id, "scheduler", "publish_record", Box::new(move |t, c| t.publish_record(c.now, summary)))
        .await
    {
        Ok((_, events)) => {
            state.after_change(&events);
            Ok(())
        }
        Err(StoreError::Domain(DomainError::Transition { .. })) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
