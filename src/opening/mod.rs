//! The opening: starts by itself at the opening time, releases the server's
//! shares, opens each bid once it has k good shares (paced, in order of
//! receipt), records the rest as unopened when the release window ends, and
//! publishes the opening record.
//!
//! Every outcome is written with its event in one transaction that first
//! checks the bid has no outcome yet, under the tender's row lock: run it
//! twice, on two nodes, or again after a crash, and each bid still opens
//! exactly once. The engine holds no state of its own between steps.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::tender::{SERVER_CUSTODIAN, Tender};
use crate::domain::{DomainError, EventDraft, EventKind, TenderState};
use crate::http::AppState;
use crate::seal::{CustodianSecretKey, Envelope, Share, b64, open_share};
use crate::store::{Outcome, ReleasedShare, StoreError, StoredBid, StoredShare};

pub mod documents;
pub mod evaluate;

pub use evaluate::{Evaluation, evaluate};

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

/// Errors of an opening step.
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

/// Runs the engine until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
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
        match state.store.update_tender(id, "scheduler", "open", Box::new(|t, c| t.start_opening(c.now))).await {
            Ok((_, events)) => state.after_change(&events),
            Err(StoreError::Domain(DomainError::Transition { .. })) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for id in state.store.openings_under_way().await? {
        step(state, id, stop).await?;
    }
    Ok(())
}

async fn read_blob(state: &AppState, hash: &str) -> Result<Vec<u8>, OpeningError> {
    tokio::fs::read(state.blobs.path(hash)).await.map_err(|e| OpeningError::Blob(hash.to_string(), e))
}

/// Loads a bid's envelope from its stored file.
pub async fn load_envelope(state: &AppState, bid: &StoredBid) -> Result<Envelope, OpeningError> {
    let hash = bid.blobs.first().ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no envelope", bid.id)))?;
    let bytes = read_blob(state, hash).await?;
    Envelope::parse(&bytes).map_err(|e| OpeningError::Corrupt(format!("stored envelope of bid {}: {e}", bid.id)))
}

fn bidder_json(id: &str, name: Option<&str>) -> serde_json::Value {
    json!({ "id": id, "name": name })
}

/// One pass over a tender under way.
async fn step(state: &AppState, id: Uuid, stop: &CancellationToken) -> Result<(), OpeningError> {
    let Some(stored) = state.store.get_tender(id).await? else { return Ok(()) };
    let tender = stored.tender;
    if tender.state != TenderState::Opening {
        return Ok(());
    }
    let policy =
        tender.custody_keys.clone().ok_or_else(|| OpeningError::Corrupt("tender without custody keys".into()))?;
    let mut pending = state.store.pending_openings(id).await?;
    if let Some(server) = policy.custodians.iter().find(|c| c.id == SERVER_CUSTODIAN)
        && auto_release(state, &tender, server.index, &pending).await?
    {
        pending = state.store.pending_openings(id).await?;
    }
    let window_over = state.store.now().await? >= tender.release_until();
    let k = usize::from(policy.threshold);
    let mut names = Names::default();
    let mut batch = Vec::new();
    let mut evaluating = Vec::new();
    for (bid, shares) in &pending {
        let good: Vec<Share> =
            shares.iter().filter(|s| s.good).filter_map(|s| Share::from_bytes(&s.share).ok()).collect();
        if good.len() >= k {
            let who = names.get(state, &bid.bidder_id).await?;
            if state.opening.pace.is_zero() {
                // All at once: evaluate in parallel, write in batches.
                evaluating.push(tokio::spawn(prepare_open(state.clone(), tender.clone(), bid.clone(), good, who)));
                if evaluating.len() >= BATCH {
                    batch.extend(join_all(std::mem::take(&mut evaluating)).await?);
                    record(state, id, std::mem::take(&mut batch)).await?;
                }
            } else {
                let outcome = prepare_open(state.clone(), tender.clone(), bid.clone(), good, who).await?;
                if record(state, id, vec![outcome]).await? {
                    // A paced 唱标 must not hold up a shutdown; the next
                    // start resumes where this one stopped.
                    tokio::select! {
                        () = stop.cancelled() => return Ok(()),
                        () = tokio::time::sleep(state.opening.pace) => {}
                    }
                }
            }
        } else if window_over {
            let who = names.get(state, &bid.bidder_id).await?;
            batch.push(unopened(bid, shares, &policy, who));
        }
    }
    batch.extend(join_all(evaluating).await?);
    record(state, id, batch).await?;
    if state.store.pending_openings(id).await?.is_empty() {
        finish(state, id).await?;
    }
    Ok(())
}

/// The server releases its own shares as soon as the opening starts.
async fn auto_release(
    state: &AppState,
    tender: &Tender,
    index: u8,
    pending: &[(StoredBid, Vec<StoredShare>)],
) -> Result<bool, OpeningError> {
    let mut released = Vec::new();
    let mut bad = Vec::new();
    for (bid, shares) in pending {
        if shares.iter().any(|s| s.index == index) {
            continue;
        }
        let envelope = load_envelope(state, bid).await?;
        let key = state.opening.server_key.clone();
        // HPKE opens are CPU work; keep them off the async workers.
        let result = tokio::task::spawn_blocking(move || open_share(&envelope, index, &key))
            .await
            .map_err(|e| OpeningError::Corrupt(e.to_string()))?;
        match result {
            Ok(share) => released.push(ReleasedShare { bid_id: bid.id, share: share.to_bytes().to_vec(), good: true }),
            Err(_) => {
                bad.push(bid.envelope_hash.clone());
                released.push(ReleasedShare { bid_id: bid.id, share: Vec::new(), good: false });
            }
        }
    }
    if released.is_empty() {
        return Ok(false);
    }
    let draft = EventDraft::new(
        EventKind::CustodianReleased,
        json!({ "custodian": SERVER_CUSTODIAN, "index": index, "shares": released.len(), "bad_shares": bad }),
    );
    match state.store.release_shares(tender.id, SERVER_CUSTODIAN, index, &released, draft).await {
        Ok(event) => {
            state.after_change(event.as_slice());
            Ok(true)
        }
        // The window can close under us; then there is nothing to release.
        Err(StoreError::Domain(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Outcomes written per transaction when opening all at once.
const BATCH: usize = 256;

/// Bidder names, looked up once per step.
#[derive(Default)]
struct Names(std::collections::HashMap<String, serde_json::Value>);

impl Names {
    async fn get(&mut self, state: &AppState, id: &str) -> Result<serde_json::Value, OpeningError> {
        if let Some(v) = self.0.get(id) {
            return Ok(v.clone());
        }
        let bidder = state.store.get_bidder(id).await?;
        let v = bidder_json(id, bidder.as_ref().map(|b| b.name.as_str()));
        self.0.insert(id.to_string(), v.clone());
        Ok(v)
    }
}

async fn join_all(
    tasks: Vec<tokio::task::JoinHandle<Result<Outcome, OpeningError>>>,
) -> Result<Vec<Outcome>, OpeningError> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.map_err(|e| OpeningError::Corrupt(e.to_string()))??);
    }
    Ok(out)
}

/// Writes outcomes; true if any was new.
async fn record(state: &AppState, tender: Uuid, outcomes: Vec<Outcome>) -> Result<bool, OpeningError> {
    if outcomes.is_empty() {
        return Ok(false);
    }
    let events = state.store.record_outcomes(tender, outcomes).await?;
    state.after_change(&events);
    Ok(!events.is_empty())
}

fn bid_json(bid: &StoredBid, who: serde_json::Value) -> serde_json::Value {
    json!({
        "bid_id": bid.id,
        "envelope_hash": bid.envelope_hash,
        "received_at": crate::domain::tender::rfc3339(bid.received_at),
        "bidder": who,
        "lot": bid.lot,
    })
}

/// Opens one bid (off the async workers) and builds its outcome.
async fn prepare_open(
    state: AppState,
    tender: Tender,
    bid: StoredBid,
    good: Vec<Share>,
    who: serde_json::Value,
) -> Result<Outcome, OpeningError> {
    let envelope = load_envelope(&state, &bid).await?;
    let form_hash = bid.blobs.get(1).ok_or_else(|| OpeningError::Corrupt(format!("bid {} has no form", bid.id)))?;
    let form = read_blob(&state, form_hash).await?;
    let lot = tender.lots.iter().find(|l| l.id == bid.lot).cloned();
    let evaluation = tokio::task::spawn_blocking(move || evaluate(&envelope, &good, &form, lot.as_ref()))
        .await
        .map_err(|e| OpeningError::Corrupt(e.to_string()))?;
    let base = bid_json(&bid, who);
    let (outcome, form_key, kind, extra) = match evaluation {
        Evaluation::Opened { fields, form_key } => (
            "opened",
            Some(form_key.to_vec()),
            EventKind::BidOpened,
            json!({ "fields": fields, "form_key": b64(&form_key) }),
        ),
        Evaluation::Rejected { reason } => {
            ("rejected", None, EventKind::BidRejected, json!({ "blame": "bidder", "reason": reason }))
        }
    };
    Ok(Outcome {
        bid: bid.id,
        outcome,
        form_key,
        make: Box::new(move |position| EventDraft::new(kind, merge(base, extra, position))),
    })
}

fn merge(mut base: serde_json::Value, extra: serde_json::Value, position: i64) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        b.insert("position".into(), json!(position));
        b.extend(e);
    }
    base
}

/// The outcome of a bid without k good shares when the window ended.
fn unopened(
    bid: &StoredBid,
    shares: &[StoredShare],
    policy: &crate::seal::CustodyPolicy,
    who: serde_json::Value,
) -> Outcome {
    let missing: Vec<String> =
        policy.custodians.iter().filter(|c| !shares.iter().any(|s| s.index == c.index)).map(|c| c.id.clone()).collect();
    let faulty: Vec<String> = shares.iter().filter(|s| !s.good).map(|s| s.custodian.clone()).collect();
    let base = bid_json(bid, who);
    let extra = json!({
        "reason": format!("fewer than {} good shares when the release window ended", policy.threshold),
        "blame": if faulty.is_empty() { "custodians (not released)" } else { "custodians" },
        "not_released_by": missing,
        "bad_shares_from": faulty,
    });
    Outcome {
        bid: bid.id,
        outcome: "unopened",
        form_key: None,
        make: Box::new(move |p| EventDraft::new(EventKind::BidUnopened, merge(base, extra, p))),
    }
}

/// Publishes the record once every bid has its outcome.
async fn finish(state: &AppState, id: Uuid) -> Result<(), OpeningError> {
    let events = state.store.events(id, 0, i64::MAX).await?;
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    let (opened, rejected, unopened) = (count("bid.opened"), count("bid.rejected"), count("bid.unopened"));
    let mut summary =
        json!({ "rows": opened + rejected + unopened, "opened": opened, "rejected": rejected, "unopened": unopened });
    if opened < 3 {
        summary["warning"] = json!(format!("only {opened} bid(s) opened; fewer than three"));
    }
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
