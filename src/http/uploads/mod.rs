//! Resumable bid uploads (`docs/PROTOCOL.md`, "Resumable upload").
//!
//! The signed envelope opens a session after every check the multipart
//! submission runs before it accepts ciphertexts; each ciphertext is then
//! appended in requests at the offset the server holds (a broken request
//! keeps what arrived), checked against the envelope's hash when complete,
//! and the commit records the bid through the same function as the
//! multipart path, with the same receipt. The session id is a random
//! capability; only the holder of the bidder key can have opened it.

mod sweep;
mod views;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::AppState;
use super::bids::{BidReceipt, MAX_ENVELOPE, answer, check_bid, record, storage_error, verify_envelope};
use super::error::{ApiError, ApiResult, body_too_large};
use super::extract::{ApiJson, ApiPath};
use super::tenders::visible_tender;
use crate::domain::bid::check_accepting;
use crate::seal::{b64, unb64};
use crate::store::{NewBid, PartSpec, PartState, StagingError, UploadSession};

pub use sweep::run as sweeper;
pub use views::{NewUpload, PartView, UploadView};

/// Most bytes one PATCH may carry; clients send 8 MiB chunks.
pub const MAX_REQUEST: u64 = 16 * 1024 * 1024;

/// Open (uncommitted) sessions a bidder may hold per tender.
pub const MAX_OPEN_SESSIONS: usize = 3;

/// The offset header, as in tus.
const UPLOAD_OFFSET: &str = "upload-offset";

/// Is this the path of a part (whose bodies may exceed the JSON limit)?
pub fn is_part_path(path: &str) -> bool {
    path.contains("/uploads/") && path.contains("/parts/")
}

/// Loads a session of this tender; an expired one is deleted and gone.
async fn session(state: &AppState, tender: Uuid, id: Uuid) -> ApiResult<UploadSession> {
    let s = state.staging.load(tender, id).await.map_err(ApiError::internal)?;
    let s = s.ok_or_else(|| ApiError::not_found("upload"))?;
    if s.expires_at <= state.store.now().await? {
        state.staging.remove(&s).await.map_err(ApiError::internal)?;
        return Err(ApiError::new(
            StatusCode::GONE,
            "upload_expired",
            "this upload session has expired and its bytes were deleted; start a new one",
        ));
    }
    Ok(s)
}

async fn view(state: &AppState, s: &UploadSession) -> ApiResult<UploadView> {
    let committed = state.staging.committed(s).await.map_err(ApiError::internal)?.is_some();
    let mut parts = Vec::with_capacity(s.parts.len());
    for n in 0..s.parts.len() {
        let st = if committed {
            PartState::Complete
        } else {
            state.staging.part_state(s, n).await.map_err(ApiError::internal)?
        };
        parts.push(PartView::new(s, n, st));
    }
    Ok(UploadView::new(s, parts, committed, MAX_REQUEST))
}

/// Open an upload session with the signed envelope.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/uploads", request_body = NewUpload,
    responses((status = 201, body = UploadView), (status = 200, body = UploadView, description = "the session this envelope already has")))]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(tender_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewUpload>,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let tender = visible_tender(&state, tender_id, None).await?.tender;
    let envelope_bytes = unb64(&req.envelope).map_err(|_| ApiError::invalid("envelope", "must be base64url"))?;
    if envelope_bytes.len() > MAX_ENVELOPE {
        return Err(ApiError::invalid("envelope", "larger than 256 KiB"));
    }
    let signature = unb64(&req.signature).map_err(|_| ApiError::invalid("signature", "must be base64url"))?;
    let (envelope, hash) = verify_envelope(&envelope_bytes, &signature)?;
    let envelope_hash = hex::encode(hash);
    let now = state.store.now().await?;
    let sessions = state.staging.sessions(tender_id).await.map_err(ApiError::internal)?;
    // The same envelope again (a lost answer): the same session.
    if let Some(s) = sessions.iter().find(|s| s.envelope_hash == envelope_hash && s.expires_at > now) {
        return Ok((StatusCode::OK, Json(view(&state, s).await?)));
    }
    let received = state.store.bid_by_envelope_hash(&hash).await?;
    let bidder_id = match &received {
        // Already recorded: a session that only leads to its receipt.
        Some(bid) => bid.bidder_id.clone(),
        None => check_bid(&state, &tender, &envelope).await?.0,
    };
    let mut open = 0;
    for s in sessions.iter().filter(|s| s.bidder_id == bidder_id && s.expires_at > now) {
        if state.staging.committed(s).await.map_err(ApiError::internal)?.is_none() {
            open += 1;
        }
    }
    if received.is_none() && open >= MAX_OPEN_SESSIONS {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_uploads",
            format!("at most {MAX_OPEN_SESSIONS} uploads per bidder and tender may be open; finish or let one expire"),
        ));
    }
    let mut parts = vec![PartSpec { length: envelope.form.length, sha256: hex::encode(envelope.form.sha256) }];
    parts.extend(envelope.documents.iter().map(|d| PartSpec { length: d.length, sha256: hex::encode(d.sha256) }));
    let ttl = time::Duration::try_from(state.staging.ttl()).map_err(ApiError::internal)?;
    let s = UploadSession {
        id: Uuid::new_v4(),
        tender_id,
        bid_id: envelope.bid_id,
        bidder_id,
        envelope: b64(&envelope_bytes),
        signature: b64(&signature),
        envelope_hash,
        created_at: now,
        expires_at: now + ttl,
        parts,
    };
    state.staging.create(&s).await.map_err(storage_error)?;
    if let Some(bid) = received {
        state.staging.mark_committed(&s, bid.id).await.map_err(ApiError::internal)?;
        return Ok((StatusCode::OK, Json(view(&state, &s).await?)));
    }
    Ok((StatusCode::CREATED, Json(view(&state, &s).await?)))
}

/// The session: parts, bytes held, state.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/uploads/{upload}", responses((status = 200, body = UploadView)))]
pub async fn status(
    State(state): State<AppState>,
    ApiPath((tender_id, upload)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<UploadView>> {
    let s = session(&state, tender_id, upload).await?;
    Ok(Json(view(&state, &s).await?))
}

/// `HEAD` of a part: its `Upload-Offset` and `Upload-Length`.
pub async fn part_offset(
    State(state): State<AppState>,
    ApiPath((tender_id, upload, part)): ApiPath<(Uuid, Uuid, usize)>,
) -> ApiResult<Response> {
    let s = session(&state, tender_id, upload).await?;
    let spec = s.parts.get(part).ok_or_else(|| ApiError::not_found("part"))?;
    let p = PartView::new(&s, part, state.staging.part_state(&s, part).await.map_err(ApiError::internal)?);
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(p.received));
    resp.headers_mut().insert("upload-length", HeaderValue::from(spec.length));
    Ok(resp)
}

/// Append bytes to a part at `Upload-Offset`.
#[utoipa::path(patch, path = "/api/v1/tenders/{id}/uploads/{upload}/parts/{part}",
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 200, body = PartView), (status = 409, description = "offset_mismatch: the Upload-Offset header of the answer is the server's")))]
pub async fn append(
    State(state): State<AppState>,
    ApiPath((tender_id, upload, part)): ApiPath<(Uuid, Uuid, usize)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match append_part(&state, tender_id, upload, part, &headers, body).await {
        Ok(p) => {
            let offset = p.received;
            let mut resp = Json(p).into_response();
            resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(offset));
            resp
        }
        Err((e, held)) => {
            let mut resp = e.into_response();
            if let Some(held) = held {
                resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(held));
            }
            resp
        }
    }
}

async fn append_part(
    state: &AppState,
    tender_id: Uuid,
    upload: Uuid,
    part: usize,
    headers: &HeaderMap,
    body: Body,
) -> Result<PartView, (ApiError, Option<u64>)> {
    let plain = |e: ApiError| (e, None);
    let s = session(state, tender_id, upload).await.map_err(plain)?;
    if state.staging.committed(&s).await.map_err(|e| plain(ApiError::internal(e)))?.is_some() {
        return Err(plain(ApiError::new(
            StatusCode::CONFLICT,
            "upload_committed",
            "this upload was committed already",
        )));
    }
    if part >= s.parts.len() {
        return Err(plain(ApiError::not_found("part")));
    }
    let offset =
        headers.get(UPLOAD_OFFSET).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).ok_or_else(
            || {
                plain(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "missing_offset",
                    "send the Upload-Offset header: the bytes of this part the server holds (see GET on the upload)",
                ))
            },
        )?;
    let declared = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > MAX_REQUEST) {
        return Err(plain(body_too_large()));
    }
    // Bytes after the deadline cannot become a bid; refuse them unread.
    let tender = visible_tender(state, tender_id, None).await.map_err(plain)?.tender;
    check_accepting(&tender, state.store.now().await.map_err(|e| plain(e.into()))?).map_err(|e| plain(e.into()))?;
    let stream = body.into_data_stream();
    match state.staging.append(&s, part, offset, stream, MAX_REQUEST).await {
        Ok(st) => Ok(PartView::new(&s, part, st)),
        Err(StagingError::OffsetMismatch { held }) => Err((
            ApiError::new(
                StatusCode::CONFLICT,
                "offset_mismatch",
                format!("the server holds {held} bytes of part {part}; send from offset {held}"),
            ),
            Some(held),
        )),
        Err(StagingError::BeyondDeclared) => Err(plain(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ciphertext_mismatch",
            format!("part {part} is longer than the envelope declares; the extra bytes were not stored"),
        ))),
        Err(StagingError::HashMismatch) => Err(plain(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ciphertext_mismatch",
            format!("part {part} does not match the envelope's hash; it was discarded, send it again from offset 0"),
        ))),
        Err(StagingError::RequestTooLarge) => Err(plain(body_too_large())),
        Err(StagingError::Busy) => Err(plain(ApiError::new(
            StatusCode::CONFLICT,
            "part_busy",
            "another request is writing this part; retry shortly from the server's offset",
        ))),
        Err(StagingError::CutOff(m)) => Err(plain(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_upload",
            format!("the request was cut off ({m}); what arrived is kept, resume from the server's offset"),
        ))),
        Err(StagingError::Io(e)) => Err(plain(storage_error(e))),
    }
}

/// Record the bid once every part is complete; the same receipt as the
/// multipart submission, and again on retry.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/uploads/{upload}/commit",
    responses((status = 201, body = BidReceipt), (status = 200, body = BidReceipt, description = "committed already")))]
pub async fn commit(
    State(state): State<AppState>,
    ApiPath((tender_id, upload)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, Json<BidReceipt>)> {
    let tender = visible_tender(&state, tender_id, None).await?.tender;
    let s = session(&state, tender_id, upload).await?;
    // One commit of a session at a time: a loser's clean-up must not delete
    // the blobs the winner is about to reference.
    let lock = state.staging.commit_lock(s.id);
    let _guard = lock.lock().await;
    let envelope_bytes = unb64(&s.envelope).map_err(ApiError::internal)?;
    let signature = unb64(&s.signature).map_err(ApiError::internal)?;
    let (envelope, hash) = verify_envelope(&envelope_bytes, &signature)?;
    if let Some(existing) = state.store.bid_by_envelope_hash(&hash).await? {
        state.staging.mark_committed(&s, existing.id).await.map_err(ApiError::internal)?;
        return Ok((StatusCode::OK, answer(&state, &existing).await?));
    }
    for n in 0..s.parts.len() {
        if state.staging.part_state(&s, n).await.map_err(ApiError::internal)? != PartState::Complete {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "upload_incomplete",
                format!("part {n} is not complete yet; upload every part before committing"),
            ));
        }
    }
    let (bidder_id, total) = check_bid(&state, &tender, &envelope).await?;
    let mut written = Vec::new();
    let blobs = adopt(&state, &s, &envelope_bytes, &mut written).await;
    let new = blobs.map(|blobs| NewBid {
        id: envelope.bid_id,
        tender_id,
        bidder_id,
        lot: envelope.lot.clone(),
        envelope_hash: hash,
        signature,
        blobs,
        total_bytes: (total + envelope_bytes.len() as u64) as i64,
    });
    let answer = record(&state, new, &written).await?;
    // The bid is durable; failing to tidy the staging files only delays that.
    if let Err(e) = state.staging.mark_committed(&s, envelope.bid_id).await {
        tracing::warn!(error = %e, upload = %s.id, "could not mark an upload committed");
    }
    Ok(answer)
}

/// Moves the verified parts and the envelope into the blob store; returns
/// the bid's blob list (envelope, form, documents).
async fn adopt(
    state: &AppState,
    s: &UploadSession,
    envelope_bytes: &[u8],
    written: &mut Vec<String>,
) -> ApiResult<Vec<String>> {
    let env = state.blobs.put(envelope_bytes).await.map_err(storage_error)?;
    let env_hex = hex::encode(env.sha256);
    if !env.existed {
        written.push(env_hex.clone());
    }
    let mut blobs = vec![env_hex];
    for (n, spec) in s.parts.iter().enumerate() {
        let existed =
            state.blobs.adopt(&state.staging.verified_path(s, n), &spec.sha256).await.map_err(storage_error)?;
        if !existed {
            written.push(spec.sha256.clone());
        }
        blobs.push(spec.sha256.clone());
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_paths_are_recognised() {
        assert!(is_part_path("/api/v1/tenders/x/uploads/y/parts/0"));
        assert!(!is_part_path("/api/v1/tenders/x/uploads"));
        assert!(!is_part_path("/api/v1/tenders/x/bids"));
    }
}
