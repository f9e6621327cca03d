//! Resumable bid uploads (`docs/PROTOCOL.md`, "Resumable upload").
//!
//! The signed envelope opens a session after every check the one-request
//! submission runs before it accepts ciphertexts; each ciphertext is then
//! appended in requests at the offset the server holds (a broken request
//! keeps what arrived), checked against the envelope's hash when complete,
//! and the commit records the bid through the same function as the
//! one-request path, with the same receipt. The session id is a random
//! capability; only the holder of the bidder key can have opened it.

mod sweep;
mod views;

use bytes::Bytes;
use futures_util::Stream;
use uuid::Uuid;

use super::bids::{
    Accepted, MAX_ENVELOPE, Recorded, SubmitResult, Written, again, check_bid, check_tender, keep_envelope, new_bid,
    record, verify_envelope,
};
use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::bid::check_accepting;
use crate::seal::{b64, unb64};
use crate::store::{PartSpec, PartState, StagingError, UploadSession};

pub use sweep::run as sweeper;
pub use views::{NewUpload, PartView, UploadView};

/// Most bytes one PATCH may carry; clients send 8 MiB chunks.
pub const MAX_REQUEST: u64 = 16 * 1024 * 1024;

/// Open (uncommitted) sessions a bidder may hold per tender.
pub const MAX_OPEN_SESSIONS: usize = 3;

/// Loads a session of this tender; an expired one is deleted and gone.
async fn session(state: &AppState, tender: Uuid, id: Uuid) -> AppResult<UploadSession> {
    let s = state.staging.load(tender, id).await.map_err(AppError::internal)?;
    let s = s.ok_or_else(|| AppError::not_found("upload"))?;
    if s.expires_at <= state.store.now().await? {
        state.staging.remove(&s).await.map_err(AppError::internal)?;
        return Err(AppError::new(
            ErrorKind::Gone,
            "upload_expired",
            "this upload session has expired and its bytes were deleted; start a new one",
        ));
    }
    Ok(s)
}

async fn view(state: &AppState, s: &UploadSession) -> AppResult<UploadView> {
    let committed = state.staging.committed(s).await.map_err(AppError::internal)?.is_some();
    let mut parts = Vec::with_capacity(s.parts.len());
    for n in 0..s.parts.len() {
        let st = if committed {
            PartState::Complete
        } else {
            state.staging.part_state(s, n).await.map_err(AppError::internal)?
        };
        parts.push(PartView::new(s, n, st));
    }
    Ok(UploadView::new(s, parts, committed, MAX_REQUEST))
}

/// Opens an upload session with the signed envelope; `new` is false when
/// this envelope already has one (a lost answer) or is recorded already.
/// An envelope whose bid was withdrawn or replaced gets no session.
pub async fn create(state: &AppState, tender_id: Uuid, req: NewUpload) -> SubmitResult<(UploadView, bool)> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    let envelope_bytes = unb64(&req.envelope).map_err(|_| AppError::invalid("envelope", "must be base64url"))?;
    if envelope_bytes.len() > MAX_ENVELOPE {
        return Err(AppError::invalid("envelope", "larger than 256 KiB").into());
    }
    let signature = unb64(&req.signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    let (envelope, hash) = verify_envelope(&envelope_bytes, &signature)?;
    check_tender(tender_id, &envelope)?;
    let envelope_hash = hex::encode(hash);
    // Recorded already: fine while its bid stands, refused once it does not
    // (whatever sessions it has).
    let received = state.store.bid_by_envelope_hash(tender_id, &hash).await?;
    if let Some(bid) = &received {
        again(state, bid).await?;
    }
    let now = state.store.now().await?;
    let sessions = state.staging.sessions(tender_id).await.map_err(AppError::internal)?;
    // The same envelope again (a lost answer): the same session.
    if let Some(s) = sessions.iter().find(|s| s.envelope_hash == envelope_hash && s.expires_at > now) {
        return Ok((view(state, s).await?, false));
    }
    let bidder_id = match &received {
        // Already recorded: a session that only leads to its receipt.
        Some(bid) => bid.bidder_id.clone(),
        None => check_bid(state, &tender, &envelope).await?.0,
    };
    let mut open = 0;
    for s in sessions.iter().filter(|s| s.bidder_id == bidder_id && s.expires_at > now) {
        if state.staging.committed(s).await.map_err(AppError::internal)?.is_none() {
            open += 1;
        }
    }
    if received.is_none() && open >= MAX_OPEN_SESSIONS {
        return Err(AppError::new(
            ErrorKind::TooMany,
            "too_many_uploads",
            format!("at most {MAX_OPEN_SESSIONS} uploads per bidder and tender may be open; finish or let one expire"),
        )
        .into());
    }
    let mut parts = vec![PartSpec { length: envelope.form.length, sha256: hex::encode(envelope.form.sha256) }];
    parts.extend(envelope.documents.iter().map(|d| PartSpec { length: d.length, sha256: hex::encode(d.sha256) }));
    let ttl = time::Duration::try_from(state.staging.ttl()).map_err(AppError::internal)?;
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
    state.staging.create(&s).await.map_err(AppError::storage)?;
    if let Some(bid) = received {
        state.staging.mark_committed(&s, bid.id).await.map_err(AppError::internal)?;
        return Ok((view(state, &s).await?, false));
    }
    Ok((view(state, &s).await?, true))
}

/// The session: parts, bytes held, state.
pub async fn status(state: &AppState, tender_id: Uuid, upload: Uuid) -> AppResult<UploadView> {
    let s = session(state, tender_id, upload).await?;
    view(state, &s).await
}

/// A part's bytes held and declared length.
pub async fn part_offset(state: &AppState, tender_id: Uuid, upload: Uuid, part: usize) -> AppResult<(u64, u64)> {
    let s = session(state, tender_id, upload).await?;
    let spec = s.parts.get(part).ok_or_else(|| AppError::not_found("part"))?;
    let p = PartView::new(&s, part, state.staging.part_state(&s, part).await.map_err(AppError::internal)?);
    Ok((p.received, spec.length))
}

/// A failed append, with the offset the server holds when the client must
/// resume from it.
pub type AppendError = (AppError, Option<u64>);

/// Appends `body` to a part at `offset`; `declared` is the request's
/// announced length, refused unread when over [`MAX_REQUEST`].
pub async fn append<S, E>(
    state: &AppState,
    tender_id: Uuid,
    upload: Uuid,
    part: usize,
    offset: Option<u64>,
    declared: Option<u64>,
    body: S,
) -> Result<PartView, AppendError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let plain = |e: AppError| (e, None);
    let s = session(state, tender_id, upload).await.map_err(plain)?;
    if state.staging.committed(&s).await.map_err(|e| plain(AppError::internal(e)))?.is_some() {
        return Err(plain(AppError::new(ErrorKind::Conflict, "upload_committed", "this upload was committed already")));
    }
    if part >= s.parts.len() {
        return Err(plain(AppError::not_found("part")));
    }
    let offset = offset.ok_or_else(|| {
        plain(AppError::new(
            ErrorKind::BadRequest,
            "missing_offset",
            "send the Upload-Offset header: the bytes of this part the server holds (see GET on the upload)",
        ))
    })?;
    if declared.is_some_and(|n| n > MAX_REQUEST) {
        return Err(plain(AppError::too_large()));
    }
    // Bytes after the deadline cannot become a bid; refuse them unread.
    let tender = visible_tender(state, tender_id, None).await.map_err(plain)?.tender;
    check_accepting(&tender, state.store.now().await.map_err(|e| plain(e.into()))?).map_err(|e| plain(e.into()))?;
    match state.staging.append(&s, part, offset, body, MAX_REQUEST).await {
        Ok(st) => Ok(PartView::new(&s, part, st)),
        Err(StagingError::OffsetMismatch { held }) => Err((
            AppError::new(
                ErrorKind::Conflict,
                "offset_mismatch",
                format!("the server holds {held} bytes of part {part}; send from offset {held}"),
            ),
            Some(held),
        )),
        Err(StagingError::BeyondDeclared) => Err(plain(AppError::new(
            ErrorKind::Unprocessable,
            "ciphertext_mismatch",
            format!("part {part} is longer than the envelope declares; the extra bytes were not stored"),
        ))),
        Err(StagingError::HashMismatch) => Err(plain(AppError::new(
            ErrorKind::Unprocessable,
            "ciphertext_mismatch",
            format!("part {part} does not match the envelope's hash; it was discarded, send it again from offset 0"),
        ))),
        Err(StagingError::RequestTooLarge) => Err(plain(AppError::too_large())),
        Err(StagingError::Busy) => Err(plain(AppError::new(
            ErrorKind::Conflict,
            "part_busy",
            "another request is writing this part; retry shortly from the server's offset",
        ))),
        Err(StagingError::CutOff(m)) => Err(plain(AppError::new(
            ErrorKind::BadRequest,
            "malformed_upload",
            format!("the request was cut off ({m}); what arrived is kept, resume from the server's offset"),
        ))),
        Err(StagingError::Io(e)) => Err(plain(AppError::storage(e))),
    }
}

/// Records the bid once every part is complete: the same receipt as the
/// one-request submission, and again on retry while the bid stands.
pub async fn commit(state: &AppState, tender_id: Uuid, upload: Uuid) -> SubmitResult<Recorded> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    let s = session(state, tender_id, upload).await?;
    // One commit of a session at a time: a loser's clean-up must not delete
    // the blobs the winner is about to reference.
    let lock = state.staging.commit_lock(s.id);
    let _guard = lock.lock().await;
    let envelope_bytes = unb64(&s.envelope).map_err(AppError::internal)?;
    let signature = unb64(&s.signature).map_err(AppError::internal)?;
    let (envelope, hash) = verify_envelope(&envelope_bytes, &signature)?;
    // Sessions opened before envelopes were checked against their tender
    // here may name another one.
    check_tender(tender_id, &envelope)?;
    if let Some(existing) = state.store.bid_by_envelope_hash(tender_id, &hash).await? {
        state.staging.mark_committed(&s, existing.id).await.map_err(AppError::internal)?;
        return Ok(Recorded { receipt: again(state, &existing).await?, new: false });
    }
    for n in 0..s.parts.len() {
        if state.staging.part_state(&s, n).await.map_err(AppError::internal)? != PartState::Complete {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "upload_incomplete",
                format!("part {n} is not complete yet; upload every part before committing"),
            )
            .into());
        }
    }
    let (bidder_id, total) = check_bid(state, &tender, &envelope).await?;
    let bid_id = envelope.bid_id;
    let mut bid = Accepted {
        envelope,
        envelope_bytes,
        signature,
        envelope_hash: hash,
        bidder_id,
        total,
        written: Written::default(),
    };
    let blobs = adopt(state, &s, &mut bid).await;
    let new = blobs.map(|blobs| new_bid(tender_id, &mut bid, blobs));
    let recorded = record(state, new, &bid.written.files).await?;
    // The bid is durable; failing to tidy the staging files only delays that.
    if let Err(e) = state.staging.mark_committed(&s, bid_id).await {
        tracing::warn!(error = %e, upload = %s.id, "could not mark an upload committed");
    }
    Ok(recorded)
}

/// Moves the verified parts and the envelope into the blob store; returns
/// the bid's blob list (envelope, form, documents).
async fn adopt(state: &AppState, s: &UploadSession, bid: &mut Accepted) -> AppResult<Vec<String>> {
    // The parts stay files (they are staged files already, linked in).
    let mut blobs = vec![keep_envelope(state, bid).await?];
    for (n, spec) in s.parts.iter().enumerate() {
        let existed =
            state.blobs.adopt(&state.staging.verified_path(s, n), &spec.sha256).await.map_err(AppError::storage)?;
        if !existed {
            bid.written.files.push(spec.sha256.clone());
        }
        blobs.push(spec.sha256.clone());
    }
    Ok(blobs)
}
