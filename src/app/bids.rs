//! Bid use cases: the checks a sealed bid passes before any ciphertext is
//! accepted, writing its ciphertexts against the envelope's hashes,
//! recording it (through the group committer) with its receipt, withdrawal,
//! and the public bid count. Shared by the one-request submission and the
//! resumable upload's commit.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::log::receipt_for;
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::bid::{BidStatus, check_accepting, check_declared};
use crate::domain::tender::{Registration, Tender};
use crate::ledger::Receipt;
use crate::seal::{BidderPublicKey, Binding, BlobRef, Envelope, SealError, unb64, withdraw_message};
use crate::store::{BlobStore, INLINE_MAX, NewBid, StoreError, StoredBid, Submitted};

/// Largest envelope accepted (shares and manifest for many custodians fit).
pub const MAX_ENVELOPE: usize = 256 * 1024;

/// Ciphertexts up to this size are received in memory and written in one
/// blocking call; larger ones stream through the writer in constant memory.
const SMALL_BLOB: u64 = 256 * 1024;

/// The answer to a submission or withdrawal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BidReceipt {
    /// The bid.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// Signed checkpoint + inclusion proof of the logged event.
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

/// The answer to an envelope sent again whose bid no longer stands
/// (`409 bid_withdrawn` / `bid_replaced`): the error body's `code` and
/// `message`, the bid, and the answer the request that ended it got.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BidEnded {
    /// `bid_withdrawn` or `bid_replaced`.
    pub code: &'static str,
    /// What happened, for a person.
    pub message: String,
    /// The envelope's bid, which no longer stands.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// For `bid_withdrawn` the withdrawal's answer (this bid, the receipt of
    /// its `bid.withdrawn` entry); for `bid_replaced` the replacing bid's
    /// (its id, the receipt of its `bid.received` entry, which names this
    /// envelope in `replaces`).
    pub ended_by: BidReceipt,
}

/// Why a submission (either way) got no receipt: an error, or an envelope
/// whose bid was recorded but no longer stands.
#[derive(Debug)]
pub enum SubmitError {
    /// Refused with an error.
    Refused(AppError),
    /// The envelope's bid was withdrawn or replaced.
    Ended(Box<BidEnded>),
}

impl From<AppError> for SubmitError {
    fn from(e: AppError) -> Self {
        SubmitError::Refused(e)
    }
}

impl From<StoreError> for SubmitError {
    fn from(e: StoreError) -> Self {
        SubmitError::Refused(e.into())
    }
}

impl From<SealError> for SubmitError {
    fn from(e: SealError) -> Self {
        SubmitError::Refused(e.into())
    }
}

/// Result of a submission's steps.
pub type SubmitResult<T> = Result<T, SubmitError>;

/// A recorded bid's receipt; `new` is false when the same envelope had been
/// recorded before (a retry), which gets the same receipt.
pub struct Recorded {
    /// The receipt.
    pub receipt: BidReceipt,
    /// Recorded by this call.
    pub new: bool,
}

/// What the public may know of a tender's bids before the opening.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BidSummary {
    /// Bids currently standing.
    pub count: usize,
    /// Their envelope hashes, in order of receipt.
    pub envelope_hashes: Vec<String>,
}

/// A withdrawal, signed by the bid's bidder.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// r‖s base64url over `"bidroom/v1/withdraw" ‖ 0x00 ‖ tender ‖ bid`.
    pub signature: String,
}

/// A submission whose envelope passed every check; its ciphertexts come next.
pub struct Accepted {
    /// The parsed envelope.
    pub envelope: Envelope,
    /// Its exact bytes.
    pub envelope_bytes: Vec<u8>,
    /// The bidder's signature over them.
    pub signature: Vec<u8>,
    /// SHA-256 of the envelope.
    pub envelope_hash: [u8; 32],
    /// The registered bidder.
    pub bidder_id: String,
    /// Declared ciphertext bytes.
    pub total: u64,
    /// What this submission stored so far.
    pub written: Written,
}

/// The ciphertexts a submission has received.
#[derive(Default)]
pub struct Written {
    /// Files it wrote that no bid references yet (deleted if it fails).
    pub files: Vec<String>,
    /// Small ciphertexts held for the database row (hex hash, bytes):
    /// nothing to delete if it fails, they are written with the bid.
    pub inline: Vec<(String, Vec<u8>)>,
}

/// The start of a one-request submission: the envelope again (its receipt),
/// or a new one that passed every check.
pub enum Begun {
    /// Already recorded: its receipt.
    Existing(BidReceipt),
    /// Checked; send its ciphertexts.
    New(Box<Accepted>),
}

/// Parses the envelope and checks the bidder's signature over its exact
/// bytes; returns it with its SHA-256.
pub fn verify_envelope(envelope_bytes: &[u8], signature: &[u8]) -> AppResult<(Envelope, [u8; 32])> {
    let envelope = Envelope::parse(envelope_bytes)?;
    envelope.bidder_public_key.verify(envelope_bytes, signature)?;
    let envelope_hash: [u8; 32] =
        ring::digest::digest(&ring::digest::SHA256, envelope_bytes).as_ref().try_into().map_err(AppError::internal)?;
    Ok((envelope, envelope_hash))
}

/// Every check a bid passes before any ciphertext is accepted: registered
/// (and admitted) signer, binding, custody policy, sizes, tender accepting.
/// Returns the bidder id and the declared ciphertext bytes.
pub async fn check_bid(state: &AppState, tender: &Tender, envelope: &Envelope) -> AppResult<(String, u64)> {
    let tender_id = tender.id;
    let bidder_id = envelope.bidder_public_key.key_id();
    match state.store.get_bidder(&bidder_id).await? {
        Some(b) if b.public_key == envelope.bidder_public_key.as_bytes() => {}
        _ => {
            return Err(AppError::new(
                ErrorKind::Unprocessable,
                "unknown_bidder",
                "the envelope is signed by a key that is not registered; register it first",
            ));
        }
    }
    if tender.registration == Registration::Approved && !state.store.is_admitted(tender_id, &bidder_id).await? {
        return Err(AppError::forbidden("this tender admits approved bidders only, and this bidder is not admitted"));
    }
    let policy = tender.custody_keys.as_ref().ok_or_else(|| AppError::not_found("custody policy"))?;
    // A bidder-held slot must hold this bidder's registered decryption key.
    let policy = super::decryption_keys::policy_for_bidder(state, policy, &bidder_id).await?;
    envelope.check_submission(&Binding::new(tender_id, envelope.bid_id), &policy, &envelope.bidder_public_key)?;
    // Declared lengths are the bidder's numbers: summed without wrapping.
    let total = envelope
        .documents
        .iter()
        .try_fold(envelope.form.length, |sum, d| sum.checked_add(d.length))
        .ok_or_else(|| AppError::invalid("envelope", "the declared lengths overflow"))?;
    check_declared(tender, &envelope.lot, envelope.documents.len(), total)?;
    // Refuse late bids before reading megabytes; the store checks again.
    check_accepting(tender, state.store.now().await?)?;
    Ok((bidder_id, total))
}

/// The tender a bid is for (checked before any of the upload is read).
pub async fn tender(state: &AppState, tender_id: Uuid) -> AppResult<Tender> {
    Ok(visible_tender(state, tender_id, None).await?.tender)
}

/// Refuses an envelope bound to another tender than `tender`, before the
/// retry lookup: an envelope is only ever answered within its own tender.
pub fn check_tender(tender: Uuid, envelope: &Envelope) -> Result<(), SealError> {
    if envelope.tender_id != tender {
        return Err(SealError::WrongTender { expected: tender, found: envelope.tender_id });
    }
    Ok(())
}

/// Starts a one-request submission from its envelope and signature.
pub async fn begin(
    state: &AppState,
    tender: &Tender,
    envelope_bytes: Vec<u8>,
    signature: Vec<u8>,
) -> SubmitResult<Begun> {
    let (envelope, envelope_hash) = verify_envelope(&envelope_bytes, &signature)?;
    check_tender(tender.id, &envelope)?;
    // A retry of a submission that already landed gets the same receipt,
    // if its bid still stands.
    if let Some(existing) = state.store.bid_by_envelope_hash(tender.id, &envelope_hash).await? {
        return Ok(Begun::Existing(again(state, &existing).await?));
    }
    let (bidder_id, total) = check_bid(state, tender, &envelope).await?;
    Ok(Begun::New(Box::new(Accepted {
        envelope,
        envelope_bytes,
        signature,
        envelope_hash,
        bidder_id,
        total,
        written: Written::default(),
    })))
}

/// Receives one ciphertext from `chunks`, refusing bytes beyond what the
/// envelope declared and a hash that does not match. One of at most
/// [`INLINE_MAX`] bytes is kept for the bid's database row; a larger one is
/// written to the blob store, its directory entry synced with the rest of
/// the batch before the commit.
pub async fn write_blob<S>(blobs: &BlobStore, expected: &BlobRef, mut chunks: S, written: &mut Written) -> AppResult<()>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let mismatch = || AppError::from(SealError::CiphertextHashMismatch);
    let info = if expected.length <= SMALL_BLOB {
        // Held in memory (bounded by SMALL_BLOB) and written in one blocking call.
        let mut bytes = Vec::with_capacity(usize::try_from(expected.length).map_err(AppError::internal)?);
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > expected.length {
                return Err(mismatch());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.len() as u64 != expected.length {
            return Err(mismatch());
        }
        if expected.length <= INLINE_MAX {
            let sha256 = ring::digest::digest(&ring::digest::SHA256, &bytes);
            if sha256.as_ref() != expected.sha256 {
                return Err(mismatch());
            }
            written.inline.push((hex::encode(sha256), bytes));
            return Ok(());
        }
        blobs.put_deferred(bytes).await.map_err(AppError::storage)?
    } else {
        let mut w = blobs.begin().await.map_err(AppError::storage)?;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if w.len().saturating_add(chunk.len() as u64) > expected.length {
                return Err(mismatch());
            }
            w.write(&chunk).await.map_err(AppError::storage)?;
        }
        if w.len() != expected.length {
            return Err(mismatch());
        }
        w.commit_deferred(blobs).await.map_err(AppError::storage)?
    };
    let hex_hash = hex::encode(info.sha256);
    if info.sha256 != expected.sha256 {
        if !info.existed {
            let _ = blobs.remove(&hex_hash).await;
        }
        return Err(mismatch());
    }
    if !info.existed {
        written.files.push(hex_hash);
    }
    Ok(())
}

/// Finishes a one-request submission whose ciphertexts were written (or
/// failed to be): stores the envelope, records the bid with its receipt.
pub async fn finish(
    state: &AppState,
    tender_id: Uuid,
    mut bid: Accepted,
    received: AppResult<()>,
) -> SubmitResult<Recorded> {
    let new = match received {
        Ok(()) => envelope_blob(state, &mut bid).await.map(|blobs| new_bid(tender_id, &mut bid, blobs)),
        Err(e) => Err(e),
    };
    record(state, new, &bid.written.files).await
}

/// Stores the envelope itself; returns the bid's blob list (envelope, form, documents).
async fn envelope_blob(state: &AppState, bid: &mut Accepted) -> AppResult<Vec<String>> {
    let env_hex = keep_envelope(state, bid).await?;
    let mut blobs = Vec::with_capacity(2 + bid.envelope.documents.len());
    blobs.push(env_hex);
    blobs.push(hex::encode(bid.envelope.form.sha256));
    blobs.extend(bid.envelope.documents.iter().map(|d| hex::encode(d.sha256)));
    Ok(blobs)
}

/// Keeps the envelope's bytes: in the bid's row when small (as always
/// for a few custodians), else as a file; returns its hex hash.
pub async fn keep_envelope(state: &AppState, bid: &mut Accepted) -> AppResult<String> {
    if bid.envelope_bytes.len() as u64 <= INLINE_MAX {
        let env_hex = hex::encode(bid.envelope_hash);
        bid.written.inline.push((env_hex.clone(), bid.envelope_bytes.clone()));
        return Ok(env_hex);
    }
    let env = state.blobs.put_deferred(bid.envelope_bytes.clone()).await.map_err(AppError::storage)?;
    let env_hex = hex::encode(env.sha256);
    if !env.existed {
        bid.written.files.push(env_hex.clone());
    }
    Ok(env_hex)
}

/// The bid row to record (taking the small ciphertexts held for it).
pub fn new_bid(tender_id: Uuid, bid: &mut Accepted, blobs: Vec<String>) -> NewBid {
    NewBid {
        id: bid.envelope.bid_id,
        tender_id,
        bidder_id: bid.bidder_id.clone(),
        lot: bid.envelope.lot.clone(),
        envelope_hash: bid.envelope_hash,
        signature: bid.signature.clone(),
        blobs,
        total_bytes: i64::try_from(bid.total.saturating_add(bid.envelope_bytes.len() as u64)).unwrap_or(i64::MAX),
        inline: std::mem::take(&mut bid.written.inline),
    }
}

/// Deletes blobs a submission wrote that no bid references.
async fn clean_up(state: &AppState, written: &[String]) {
    for hash in written {
        if !matches!(state.store.blob_referenced(hash).await, Ok(true)) {
            let _ = state.blobs.remove(hash).await;
        }
    }
}

/// The answer to an envelope recorded before: its receipt while its bid
/// stands, otherwise [`SubmitError::Ended`] with the receipt of the entry
/// that ended it.
pub async fn again(state: &AppState, bid: &StoredBid) -> SubmitResult<BidReceipt> {
    match bid.status {
        BidStatus::Active => Ok(answer(state, bid).await?),
        BidStatus::Withdrawn => {
            let (index, size) = bid.withdrawal.ok_or_else(|| AppError::internal("withdrawal not recorded"))?;
            let at = bid.ended_at.ok_or_else(|| AppError::internal("withdrawal time not recorded"))?;
            let receipt = receipt_for(state, index, size, &bid.envelope_hash, at).await?;
            Err(SubmitError::Ended(Box::new(BidEnded {
                code: "bid_withdrawn",
                message: format!(
                    "bid {} was received but withdrawn; it does not stand. Seal a new bid to take part",
                    bid.id
                ),
                bid_id: bid.id,
                ended_by: BidReceipt { bid_id: bid.id, receipt },
            })))
        }
        BidStatus::Replaced => {
            let next = state
                .store
                .replacing_bid(bid)
                .await?
                .ok_or_else(|| AppError::internal(format!("replaced bid {} has no later bid", bid.id)))?;
            let ended_by = answer(state, &next).await?;
            Err(SubmitError::Ended(Box::new(BidEnded {
                code: "bid_replaced",
                message: format!(
                    "bid {} was received but replaced by the later bid {} of the same bidder for lot {}; \
                     only the latest bid stands",
                    bid.id, next.id, bid.lot
                ),
                bid_id: bid.id,
                ended_by,
            })))
        }
    }
}

/// The receipt of a recorded bid.
pub async fn answer(state: &AppState, bid: &StoredBid) -> AppResult<BidReceipt> {
    let receipt = receipt_for(state, bid.log_index, bid.receipt_size, &bid.envelope_hash, bid.received_at).await?;
    Ok(BidReceipt { bid_id: bid.id, receipt })
}

/// Records a bid whose files are durable (bid row, log entry) and returns
/// its receipt; on any error deletes the files this submission wrote.
pub async fn record(state: &AppState, new: AppResult<NewBid>, written: &[String]) -> SubmitResult<Recorded> {
    let bid = match new {
        Ok(new) => persist(state, new).await,
        Err(e) => Err(e),
    };
    match bid {
        // The committer (or `persist`) announced the event already.
        Ok(Submitted { bid, event: Some(_), receipt: Some(receipt) }) => {
            Ok(Recorded { receipt: BidReceipt { bid_id: bid.id, receipt }, new: true })
        }
        Ok(Submitted { bid, event: Some(_), receipt: None }) => {
            Ok(Recorded { receipt: answer(state, &bid).await?, new: true })
        }
        // The same envelope raced in through another request: same receipt
        // (or, if its bid was withdrawn or replaced meanwhile, that answer).
        Ok(Submitted { bid, event: None, .. }) => Ok(Recorded { receipt: again(state, &bid).await?, new: false }),
        Err(e) => {
            clean_up(state, written).await;
            Err(e.into())
        }
    }
}

/// Records a bid whose files are written, through the group committer.
async fn persist(state: &AppState, new: NewBid) -> AppResult<Submitted> {
    state.committer.submit(new).await.map_err(|e| {
        // The committer cannot be restarted under its waiting callers:
        // the server stops being ready and shuts down (tasks.rs).
        if matches!(e, StoreError::CommitterStopped) {
            state.tasks.fail("committer", "the committer stopped");
        }
        AppError::from(e)
    })
}

/// Withdraws a bid before the deadline, signed by its bidder.
pub async fn withdraw(state: &AppState, tender_id: Uuid, bid_id: Uuid, req: Withdrawal) -> AppResult<BidReceipt> {
    visible_tender(state, tender_id, None).await?;
    let bid = state
        .store
        .get_bid(bid_id)
        .await?
        .filter(|b| b.tender_id == tender_id)
        .ok_or_else(|| AppError::not_found("bid"))?;
    let bidder =
        state.store.get_bidder(&bid.bidder_id).await?.ok_or_else(|| AppError::internal("bid without bidder"))?;
    let key = BidderPublicKey::from_bytes(&bidder.public_key).map_err(AppError::internal)?;
    let sig = unb64(&req.signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    // Same answer for "not yours" and "bad signature": no probing of who bid.
    key.verify(&withdraw_message(tender_id, bid_id), &sig).map_err(|_| {
        AppError::new(
            ErrorKind::Unprocessable,
            "bad_signature",
            "the signature is not the bid's bidder's signature of this withdrawal",
        )
    })?;
    let (bid, event) = state.store.withdraw_bid(tender_id, bid_id).await.map_err(|e| match e {
        StoreError::Conflict(m) => AppError::new(ErrorKind::Conflict, "bid_not_active", m),
        other => other.into(),
    })?;
    state.after_change(std::slice::from_ref(&event));
    let (index, size) = bid.withdrawal.ok_or_else(|| AppError::internal("withdrawal not recorded"))?;
    let receipt = receipt_for(state, index, size, &bid.envelope_hash, event.at).await?;
    Ok(BidReceipt { bid_id, receipt })
}

/// How many bids stand and their envelope hashes (never who sent them).
pub async fn summary(state: &AppState, tender_id: Uuid) -> AppResult<BidSummary> {
    visible_tender(state, tender_id, None).await?;
    let bids = state.store.active_bids(tender_id).await?;
    Ok(BidSummary { count: bids.len(), envelope_hashes: bids.into_iter().map(|b| b.envelope_hash).collect() })
}
