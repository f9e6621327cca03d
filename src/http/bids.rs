//! Sealed bid submission, withdrawal and the public bid count.
//!
//! A submission is one `multipart/form-data` request with the parts
//! `envelope`, `signature`, `form`, then one `document` per document, in
//! index order. Everything checkable without opening is checked from the
//! envelope before any ciphertext is accepted; ciphertexts stream to disk in
//! constant memory and must match the hashes and lengths the envelope
//! declares. The receipt is issued only after the files, the bid row and its
//! log entry are durable.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::receipts::receipt_for;
use super::tenders::visible_tender;
use crate::domain::bid::{check_accepting, check_declared};
use crate::domain::tender::{Registration, Tender};
use crate::ledger::Receipt;
use crate::seal::{Binding, BlobRef, Envelope, SealError, unb64, withdraw_message};
use crate::store::{BlobStore, NewBid, StoreError, StoredBid, Submitted};

/// Largest envelope accepted (shares and manifest for many custodians fit).
pub(super) const MAX_ENVELOPE: usize = 256 * 1024;

/// Ciphertexts up to this size are received in memory and written in one
/// blocking call; larger ones stream through the writer in constant memory.
const SMALL_BLOB: u64 = 256 * 1024;

/// The answer to a submission or withdrawal.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BidReceipt {
    /// The bid.
    #[schema(value_type = String, format = Uuid)]
    pub bid_id: Uuid,
    /// Signed checkpoint + inclusion proof of the logged event.
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

/// What the public may know of a tender's bids before the opening.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BidSummary {
    /// Bids currently standing.
    pub count: usize,
    /// Their envelope hashes, in order of receipt.
    pub envelope_hashes: Vec<String>,
}

fn seal_error(e: SealError) -> ApiError {
    let (code, message) = match &e {
        SealError::BadSignature => {
            ("bad_signature", "the signature does not verify against the envelope's bidder key".to_string())
        }
        SealError::WrongTender { .. } | SealError::WrongBid { .. } => ("wrong_tender", e.to_string()),
        SealError::CustodyPolicyMismatch => (
            "policy_mismatch",
            "the envelope is not sealed to this tender's custody policy; fetch /custody and seal again".to_string(),
        ),
        SealError::CiphertextHashMismatch => (
            "ciphertext_mismatch",
            "an uploaded ciphertext does not match the hash or length in the envelope".to_string(),
        ),
        _ => ("invalid_envelope", format!("the envelope is not valid: {e}")),
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn upload_error(e: MultipartError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_upload",
        format!("the upload was cut off or is not valid multipart: {}", e.body_text()),
    )
}

pub(super) fn storage_error(e: std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        return ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server's disk is full; nothing was stored and no receipt issued",
        );
    }
    ApiError::internal(e)
}

async fn next_field<'a>(mp: &'a mut Multipart, name: &str) -> ApiResult<Field<'a>> {
    let field = mp.next_field().await.map_err(upload_error)?;
    match field {
        Some(f) if f.name() == Some(name) => Ok(f),
        Some(f) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_upload",
            format!("expected the part '{name}', got '{}'", f.name().unwrap_or("")),
        )),
        None => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed_upload", format!("the part '{name}' is missing")))
        }
    }
}

async fn small_part(mp: &mut Multipart, name: &str, max: usize) -> ApiResult<Vec<u8>> {
    let mut field = next_field(mp, name).await?;
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
        if out.len() + chunk.len() > max {
            return Err(super::error::body_too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Streams one ciphertext part to a blob, refusing bytes beyond what the
/// envelope declared.
async fn blob_part(
    mp: &mut Multipart,
    blobs: &BlobStore,
    name: &str,
    expected: &BlobRef,
    written: &mut Vec<String>,
) -> ApiResult<()> {
    let mut field = next_field(mp, name).await?;
    // The directory entry is synced with the rest of the batch before the
    // database commit (or just before the single-transaction path's commit).
    let info = if expected.length <= SMALL_BLOB {
        // Held in memory (bounded) and written in one blocking call.
        let mut bytes = Vec::with_capacity(expected.length as usize);
        while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
            if (bytes.len() + chunk.len()) as u64 > expected.length {
                return Err(seal_error(SealError::CiphertextHashMismatch));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.len() as u64 != expected.length {
            return Err(seal_error(SealError::CiphertextHashMismatch));
        }
        blobs.put_deferred(bytes).await.map_err(storage_error)?
    } else {
        let mut w = blobs.begin().await.map_err(storage_error)?;
        while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
            if w.len() + chunk.len() as u64 > expected.length {
                return Err(seal_error(SealError::CiphertextHashMismatch));
            }
            w.write(&chunk).await.map_err(storage_error)?;
        }
        if w.len() != expected.length {
            return Err(seal_error(SealError::CiphertextHashMismatch));
        }
        w.commit_deferred(blobs).await.map_err(storage_error)?
    };
    let hex_hash = hex::encode(info.sha256);
    if info.sha256 != expected.sha256 {
        if !info.existed {
            let _ = blobs.remove(&hex_hash).await;
        }
        return Err(seal_error(SealError::CiphertextHashMismatch));
    }
    if !info.existed {
        written.push(hex_hash);
    }
    Ok(())
}

/// Deletes blobs this request wrote that no bid references.
async fn clean_up(state: &AppState, written: &[String]) {
    for hash in written {
        if !matches!(state.store.blob_referenced(hash).await, Ok(true)) {
            let _ = state.blobs.remove(hash).await;
        }
    }
}

pub(super) async fn answer(state: &AppState, bid: &StoredBid) -> ApiResult<Json<BidReceipt>> {
    let receipt = receipt_for(state, bid.log_index, bid.receipt_size, &bid.envelope_hash, bid.received_at).await?;
    Ok(Json(BidReceipt { bid_id: bid.id, receipt }))
}

/// Submit a sealed bid (multipart: envelope, signature, form, document…).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids", responses((status = 201, body = BidReceipt), (status = 200, body = BidReceipt, description = "the same envelope again")))]
pub async fn submit(
    State(state): State<AppState>,
    ApiPath(tender_id): ApiPath<Uuid>,
    mut mp: Multipart,
) -> ApiResult<(StatusCode, Json<BidReceipt>)> {
    let tender = visible_tender(&state, tender_id, None).await?.tender;
    let envelope_bytes = small_part(&mut mp, "envelope", MAX_ENVELOPE).await?;
    let signature = small_part(&mut mp, "signature", 64).await?;
    let (envelope, envelope_hash) = verify_envelope(&envelope_bytes, &signature)?;
    // A retry of a submission that already landed gets the same receipt.
    if let Some(existing) = state.store.bid_by_envelope_hash(&envelope_hash).await? {
        return Ok((StatusCode::OK, answer(&state, &existing).await?));
    }
    let (bidder_id, total) = check_bid(&state, &tender, &envelope).await?;

    let mut written = Vec::new();
    let result = receive(&state, &mut mp, &envelope, &envelope_bytes, &mut written).await;
    let new = result.map(|blobs| NewBid {
        id: envelope.bid_id,
        tender_id,
        bidder_id,
        lot: envelope.lot.clone(),
        envelope_hash,
        signature,
        blobs,
        total_bytes: (total + envelope_bytes.len() as u64) as i64,
    });
    record(&state, new, &written).await
}

/// Parses the envelope and checks the bidder's signature over its exact
/// bytes; returns it with its SHA-256.
pub(super) fn verify_envelope(envelope_bytes: &[u8], signature: &[u8]) -> ApiResult<(Envelope, [u8; 32])> {
    let envelope = Envelope::parse(envelope_bytes).map_err(seal_error)?;
    envelope.bidder_public_key.verify(envelope_bytes, signature).map_err(seal_error)?;
    let envelope_hash: [u8; 32] =
        ring::digest::digest(&ring::digest::SHA256, envelope_bytes).as_ref().try_into().map_err(ApiError::internal)?;
    Ok((envelope, envelope_hash))
}

/// Every check a bid passes before any ciphertext is accepted: registered
/// (and admitted) signer, binding, custody policy, sizes, tender accepting.
/// Returns the bidder id and the declared ciphertext bytes.
pub(super) async fn check_bid(state: &AppState, tender: &Tender, envelope: &Envelope) -> ApiResult<(String, u64)> {
    let tender_id = tender.id;
    let bidder_id = envelope.bidder_public_key.key_id();
    match state.store.get_bidder(&bidder_id).await? {
        Some(b) if b.public_key == envelope.bidder_public_key.as_bytes() => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_bidder",
                "the envelope is signed by a key that is not registered; register it first",
            ));
        }
    }
    if tender.registration == Registration::Approved && !state.store.is_admitted(tender_id, &bidder_id).await? {
        return Err(ApiError::forbidden("this tender admits approved bidders only, and this bidder is not admitted"));
    }
    let policy = tender.custody_keys.as_ref().ok_or_else(|| ApiError::not_found("custody policy"))?;
    envelope
        .check_submission(&Binding::new(tender_id, envelope.bid_id), policy, &envelope.bidder_public_key)
        .map_err(seal_error)?;
    let total = envelope.form.length + envelope.documents.iter().map(|d| d.length).sum::<u64>();
    check_declared(tender, &envelope.lot, envelope.documents.len(), total)?;
    // Refuse late bids before reading megabytes; the store checks again.
    check_accepting(tender, state.store.now().await?)?;
    Ok((bidder_id, total))
}

/// Records a bid whose files are durable (bid row, log entry) and answers
/// with its receipt; on any error deletes the files this request wrote.
pub(super) async fn record(
    state: &AppState,
    new: ApiResult<NewBid>,
    written: &[String],
) -> ApiResult<(StatusCode, Json<BidReceipt>)> {
    let bid = match new {
        Ok(new) => persist(state, new).await,
        Err(e) => Err(e),
    };
    match bid {
        // The committer announced the event already.
        Ok(Submitted { bid, event: Some(_), receipt: Some(receipt) }) => {
            Ok((StatusCode::CREATED, Json(BidReceipt { bid_id: bid.id, receipt })))
        }
        Ok(Submitted { bid, event: Some(_), receipt: None }) => Ok((StatusCode::CREATED, answer(state, &bid).await?)),
        // The same envelope raced in through another request: same receipt.
        Ok(Submitted { bid, event: None, .. }) => Ok((StatusCode::OK, answer(state, &bid).await?)),
        Err(e) => {
            clean_up(state, written).await;
            Err(e)
        }
    }
}

/// Records a bid whose files are written, through the group committer
/// (which syncs their directories and announces the event).
async fn persist(state: &AppState, new: NewBid) -> ApiResult<Submitted> {
    state.committer.submit(new).await.map_err(ApiError::from)
}

/// Receives the ciphertext parts; returns the blob list (envelope, form, documents).
async fn receive(
    state: &AppState,
    mp: &mut Multipart,
    envelope: &Envelope,
    envelope_bytes: &[u8],
    written: &mut Vec<String>,
) -> ApiResult<Vec<String>> {
    let mut blobs = Vec::with_capacity(2 + envelope.documents.len());
    blob_part(mp, &state.blobs, "form", &envelope.form, written).await?;
    for doc in &envelope.documents {
        blob_part(mp, &state.blobs, "document", &BlobRef { sha256: doc.sha256, length: doc.length }, written).await?;
    }
    if mp.next_field().await.map_err(upload_error)?.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_upload",
            "more parts than the envelope declares",
        ));
    }
    let env = state.blobs.put_deferred(envelope_bytes.to_vec()).await.map_err(storage_error)?;
    let env_hex = hex::encode(env.sha256);
    if !env.existed {
        written.push(env_hex.clone());
    }
    blobs.push(env_hex);
    blobs.push(hex::encode(envelope.form.sha256));
    blobs.extend(envelope.documents.iter().map(|d| hex::encode(d.sha256)));
    Ok(blobs)
}

/// A withdrawal, signed by the bid's bidder.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// r‖s base64url over `"bidroom/v1/withdraw" ‖ 0x00 ‖ tender ‖ bid`.
    pub signature: String,
}

/// Withdraw a bid before the deadline.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids/{bid}/withdraw", request_body = Withdrawal, responses((status = 200, body = BidReceipt)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ApiPath((tender_id, bid_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<Withdrawal>,
) -> ApiResult<Json<BidReceipt>> {
    visible_tender(&state, tender_id, None).await?;
    let bid = state
        .store
        .get_bid(bid_id)
        .await?
        .filter(|b| b.tender_id == tender_id)
        .ok_or_else(|| ApiError::not_found("bid"))?;
    let bidder =
        state.store.get_bidder(&bid.bidder_id).await?.ok_or_else(|| ApiError::internal("bid without bidder"))?;
    let key = crate::seal::BidderPublicKey::from_bytes(&bidder.public_key).map_err(ApiError::internal)?;
    let sig = unb64(&req.signature).map_err(|_| ApiError::invalid("signature", "must be base64url"))?;
    // Same answer for "not yours" and "bad signature": no probing of who bid.
    key.verify(&withdraw_message(tender_id, bid_id), &sig).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_signature",
            "the signature is not the bid's bidder's signature of this withdrawal",
        )
    })?;
    let (bid, event) = state.store.withdraw_bid(tender_id, bid_id).await.map_err(|e| match e {
        StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "bid_not_active", m),
        other => other.into(),
    })?;
    state.after_change(std::slice::from_ref(&event));
    let (index, size) = bid.withdrawal.ok_or_else(|| ApiError::internal("withdrawal not recorded"))?;
    let at = event.at;
    let receipt = receipt_for(&state, index, size, &bid.envelope_hash, at).await?;
    Ok(Json(BidReceipt { bid_id, receipt }))
}

/// How many bids stand and their envelope hashes (never who sent them).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids", responses((status = 200, body = BidSummary)))]
pub async fn summary(State(state): State<AppState>, ApiPath(tender_id): ApiPath<Uuid>) -> ApiResult<Json<BidSummary>> {
    visible_tender(&state, tender_id, None).await?;
    let bids = state.store.active_bids(tender_id).await?;
    Ok(Json(BidSummary { count: bids.len(), envelope_hashes: bids.into_iter().map(|b| b.envelope_hash).collect() }))
}
