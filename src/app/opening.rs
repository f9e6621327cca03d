//! The opening's use cases for callers: envelopes made public at the
//! opening, custodian releases, and the opening record.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::registry::{ChallengeAnswer, answer_use, bad_proof};
use super::state::AppState;
use super::tenders::visible_tender;
use super::work::{Ciphertexts, check_released};
use crate::domain::event::{Coverage, CustodianReleased, Digest, EventPayload, RecordRow};
use crate::domain::{DomainError, EventDraft, EventKind, Tender, TenderState};
use crate::seal::{ChallengePurpose, Share, b64, unb64};
use crate::store::{CustodianRecord, Event, ReleaseEvent, ReleasedShare, StoredBid};

/// Refuses reads that only exist from the opening on.
pub fn opening_or_later(state: TenderState) -> AppResult<()> {
    match state {
        TenderState::Opening | TenderState::Opened => Ok(()),
        other => Err(AppError::new(
            ErrorKind::Conflict,
            "not_opened_yet",
            format!("envelopes become public at the opening; the tender is {}", other.as_str()),
        )),
    }
}

/// One bid's public material after the opening started.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicBid {
    /// Bid id.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// SHA-256 of the envelope, hex.
    pub envelope_hash: String,
    /// The exact signed envelope bytes, base64url.
    pub envelope: String,
    /// The bidder's signature over them, base64url.
    pub signature: String,
    /// The form ciphertext, base64url.
    pub form: String,
    /// Log index of its `bid.received` event.
    pub log_index: i64,
}

/// All bids that stood at the close, with their envelopes and form
/// ciphertexts (public from the opening on; documents never are). Holds
/// every envelope at once: callers that can page use [`envelope_page`].
pub async fn envelopes(state: &AppState, id: Uuid) -> AppResult<Vec<PublicBid>> {
    let tender = visible_tender(state, id, None).await?.tender;
    opening_or_later(tender.state)?;
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let (mut bids, next) = public_page(state, &tender, after, MAX_ENVELOPE_PAGE).await?;
        out.append(&mut bids);
        match next {
            Some(n) => after = n,
            None => return Ok(out),
        }
    }
}

/// Default and largest page of [`envelope_page`].
pub const MAX_ENVELOPE_PAGE: i64 = 1000;

/// One page of the public bids, in order of receipt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnvelopePage {
    /// At most `limit` bids.
    pub bids: Vec<PublicBid>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One page of [`envelopes`]: `cursor` is a page's `next` (none for the
/// first page), `limit` at most [`MAX_ENVELOPE_PAGE`]. The cursor is opaque
/// to callers (it is the last log index served).
pub async fn envelope_page(
    state: &AppState,
    id: Uuid,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> AppResult<EnvelopePage> {
    let after = match cursor {
        None => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this server gave (a page's `next`)"))?,
    };
    let limit = limit.unwrap_or(MAX_ENVELOPE_PAGE);
    if !(1..=MAX_ENVELOPE_PAGE).contains(&limit) {
        return Err(AppError::invalid("limit", format!("must be between 1 and {MAX_ENVELOPE_PAGE}")));
    }
    let tender = visible_tender(state, id, None).await?.tender;
    opening_or_later(tender.state)?;
    let (bids, next) = public_page(state, &tender, after, limit).await?;
    Ok(EnvelopePage { bids, next: next.map(|n| n.to_string()) })
}

/// At most `limit` public bids after log index `after`, and the log index to
/// continue from when the page is full.
async fn public_page(
    state: &AppState,
    tender: &Tender,
    after: i64,
    limit: i64,
) -> AppResult<(Vec<PublicBid>, Option<i64>)> {
    // A failed lot's (流标) envelopes are never made public.
    let page = state.store.close_page(tender.id, after, limit, &tender.failed_lots).await?;
    let next = (page.len() as i64 == limit).then(|| page.last().map(|(b, _)| b.log_index)).flatten();
    let mut out = Vec::with_capacity(page.len());
    for chunk in page.chunks(256) {
        let bids: Vec<StoredBid> = chunk.iter().map(|(b, _)| b.clone()).collect();
        let loaded = Ciphertexts::of_bids(state, &bids, true).await.map_err(AppError::internal)?;
        for (bid, signature) in chunk {
            let envelope = bid.blobs.first().map(|h| loaded.get(h)).transpose().map_err(AppError::internal)?;
            let envelope = envelope.ok_or_else(|| AppError::internal("bid blob missing"))?;
            let form = loaded.form(bid).map_err(AppError::internal)?;
            out.push(PublicBid {
                bid_id: bid.id,
                envelope_hash: bid.envelope_hash.clone(),
                envelope: b64(envelope),
                signature: b64(signature),
                form: b64(form),
                log_index: bid.log_index,
            });
        }
    }
    Ok((out, next))
}

/// Shares a custodian releases.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// One share per bid.
    pub shares: Vec<ReleaseShare>,
    /// The answer to a fresh `release` challenge for this tender: ties the
    /// release to the custodian's key, not only to its bearer token.
    pub proof: ChallengeAnswer,
}

/// One released share.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseShare {
    /// The bid.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// The 33-byte share (x ‖ y), base64url.
    pub share: String,
}

/// What became of a release.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReleaseResult {
    /// Shares that matched their commitments.
    pub accepted: usize,
    /// Bids whose share did not match (recorded as this custodian's fault).
    pub bad: Vec<String>,
    /// Shares ignored, for whatever reason: released before by this
    /// custodian, named twice in this request, or for a bid no longer
    /// waiting for shares (opened, rejected, unopened, or not standing at
    /// the close). It does not mean this custodian released before.
    pub duplicates: usize,
}

/// Released shares checked against their envelopes at a time: a release
/// page of 8,000 shares loaded all its envelopes at once (16.5 MiB of
/// ciphertexts at the peak, docs/BENCHMARKS.md, issue 17).
pub const CHECK_BATCH: usize = 256;

/// A custodian releases its shares of a tender under opening.
pub async fn release(
    state: &AppState,
    custodian: &CustodianRecord,
    id: Uuid,
    req: Release,
) -> AppResult<ReleaseResult> {
    let tender = visible_tender(state, id, None).await?.tender;
    if tender.state != TenderState::Opening {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "not_opening",
            format!("shares are released during the opening; the tender is {}", tender.state.as_str()),
        ));
    }
    let policy = tender.custody_keys.as_ref().ok_or_else(|| AppError::internal("no custody keys"))?;
    let index = policy
        .custodians
        .iter()
        .find(|c| c.id == custodian.id)
        .map(|c| c.index)
        .ok_or_else(|| AppError::forbidden(format!("'{}' is not a custodian of this tender", custodian.id)))?;
    // The proof is used up before anything is recorded: a release without
    // a fresh answer by the registered key records nothing.
    let proof = answer_use(&custodian.id, ChallengePurpose::Release, Some(id), &req.proof)?;
    if !state.store.use_challenge(&proof, "release").await? {
        return Err(bad_proof());
    }
    // Only the bids this release names are read, so a page of a release
    // costs the same in a tender of any size.
    let named: Vec<Uuid> = req.shares.iter().map(|s| s.bid_id).collect();
    let mut pending = state.store.pending_named(id, &named).await?;
    pending.retain(|(b, _)| !tender.failed_lots.contains(&b.lot));
    let by_id: std::collections::HashMap<Uuid, _> = pending.iter().map(|(b, shares)| (b.id, (b, shares))).collect();
    let mut seen = std::collections::HashSet::new();
    let mut candidates = Vec::new();
    let mut duplicates = 0;
    for s in &req.shares {
        let Some((bid, existing)) = by_id.get(&s.bid_id) else {
            duplicates += 1;
            continue;
        };
        if existing.iter().any(|e| e.index == index) || !seen.insert(s.bid_id) {
            duplicates += 1;
            continue;
        }
        let bytes = unb64(&s.share).map_err(|_| AppError::invalid("shares[].share", "must be base64url"))?;
        let share = Share::from_bytes(&bytes).map_err(|e| AppError::invalid("shares[].share", e.to_string()))?;
        if share.x != index {
            return Err(AppError::invalid(
                "shares[].share",
                format!("share x is {}, your custodian index is {index}", share.x),
            ));
        }
        candidates.push((*bid, share, bytes));
    }
    // Thousands of shares in one release: their envelopes are read and
    // checked on every core, a batch at a time, so the envelopes held are
    // bounded by the batch, not by the release's page.
    let mut released = Vec::with_capacity(candidates.len());
    let mut bad = Vec::new();
    let mut candidates = candidates.into_iter().peekable();
    while candidates.peek().is_some() {
        let batch: Vec<_> = candidates.by_ref().take(CHECK_BATCH).collect();
        let checks = batch.iter().map(|(bid, share, _)| ((*bid).clone(), share.clone())).collect();
        let good = check_released(state, checks).await.map_err(AppError::internal)?;
        for ((bid, _, bytes), good) in batch.into_iter().zip(good) {
            if !good {
                bad.push(bid.envelope_hash.clone());
            }
            released.push(ReleasedShare { bid_id: bid.id, share: bytes, good });
        }
    }
    let accepted = released.iter().filter(|s| s.good).count();
    if !released.is_empty() {
        // The envelope hashes the event may name: those of the bad shares.
        let hashes = released
            .iter()
            .filter(|s| !s.good)
            .filter_map(|s| by_id.get(&s.bid_id).map(|(b, _)| (b.id, b.envelope_hash.as_str())));
        let make = release_event(&custodian.id, index, Some(req.proof.challenge_id), hashes)?;
        let event = state.store.release_shares(id, &custodian.id, index, &released, make).await?;
        state.after_change(event.as_slice());
    }
    Ok(ReleaseResult { accepted, bad, duplicates })
}

/// The builder of a custodian's `custodian.released` event, given the
/// envelope hashes (hex) of the bids it may cover: the count, the bad
/// shares and the coverage of exactly the shares the store records.
pub(crate) fn release_event<'a>(
    custodian: &str,
    index: u8,
    proof: Option<Uuid>,
    hashes: impl IntoIterator<Item = (Uuid, &'a str)>,
) -> AppResult<ReleaseEvent> {
    let hashes = hashes
        .into_iter()
        .map(|(id, h)| Digest::from_hex(h).map(|d| (id, d)))
        .collect::<Result<HashMap<Uuid, Digest>, _>>()
        .map_err(|e| AppError::internal(format!("stored envelope hash: {e}")))?;
    let custodian = custodian.to_string();
    Ok(Box::new(move |recorded: &[(&ReleasedShare, u64)]| {
        let bad_shares = recorded.iter().filter(|(s, _)| !s.good).filter_map(|(s, _)| hashes.get(&s.bid_id).copied());
        let covers = Coverage::of(recorded.iter().map(|(_, p)| *p)).map_err(|e| {
            DomainError::invalid(
                "shares",
                format!("{e}: send the shares in pages of bids close together in order of receipt"),
            )
        })?;
        Ok(EventDraft::of(EventPayload::CustodianReleased(CustodianReleased {
            custodian,
            index,
            shares: recorded.len() as u64,
            bad_shares: bad_shares.collect(),
            proof,
            covers,
        })))
    }))
}

/// The opening record (开标记录表).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Record {
    /// Tender state (`opened` when final).
    pub state: TenderState,
    /// Is the record final?
    pub complete: bool,
    /// One row per bid that stood at the close, in opening order; the event
    /// data of its `bid.opened`, `bid.rejected` or `bid.unopened`.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// Bids still waiting for their outcome.
    pub pending: usize,
    /// Warnings for staff (e.g. fewer than three bids opened).
    pub warnings: Vec<String>,
    /// SHA-256 of the rows' canonical bytes (PROTOCOL.md, "The record's
    /// bytes"): what a bidder's confirmation (签字确认) signs.
    pub record_hash: String,
}

/// The tender and its opening record so far (public from the opening on).
pub async fn load_record(state: &AppState, id: Uuid) -> AppResult<(Tender, Record)> {
    let tender = visible_tender(state, id, None).await?.tender;
    opening_or_later(tender.state)?;
    let events = state.store.events(id, 0, i64::MAX).await?;
    let outcome = |e: &&Event| {
        matches!(
            EventKind::parse(&e.kind),
            Some(EventKind::BidOpened | EventKind::BidRejected | EventKind::BidUnopened)
        )
    };
    let typed: Vec<RecordRow> = events
        .iter()
        .filter(outcome)
        .map(|e| {
            let payload = EventPayload::from_data(&e.kind, e.data.clone()).map_err(AppError::internal)?;
            RecordRow::from_outcome(payload, e.log_index).ok_or_else(|| AppError::internal("an outcome without a row"))
        })
        .collect::<AppResult<_>>()?;
    let opened = typed.iter().filter(|r| r.outcome.kind() == EventKind::BidOpened).count();
    let rows = typed.iter().map(RecordRow::to_value).collect::<Result<Vec<_>, _>>().map_err(AppError::internal)?;
    let pending = state.store.pending_count_outside(id, &tender.failed_lots).await? as usize;
    let mut warnings = Vec::new();
    if pending == 0 && opened < 3 {
        warnings.push(format!("only {opened} bid(s) opened; fewer than three"));
    }
    let record_hash = hex::encode(crate::domain::record::record_hash(id, &rows));
    let complete = tender.state == TenderState::Opened;
    let record = Record { state: tender.state, complete, rows, pending, warnings, record_hash };
    Ok((tender, record))
}
