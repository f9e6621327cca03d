//! Sealed bid submission, withdrawal and the public bid count.
//!
//! A submission is one `multipart/form-data` request with the parts
//! `envelope`, `signature`, `form`, then one `document` per document, in
//! index order. Everything checkable without opening is checked from the
//! envelope (`app::bids`) before any ciphertext is accepted; ciphertexts
//! stream to disk in constant memory and must match the hashes and lengths
//! the envelope declares. The receipt is issued only after the files, the
//! bid row and its log entry are durable.

use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use super::ratelimit::WriteLimits;
use crate::app::AppState;
use crate::app::bids::{
    self as uc, Accepted, Begun, BidEnded, BidReceipt, BidSummary, MAX_ENVELOPE, Recorded, SubmitError, Withdrawal,
};
use crate::app::{AppError, AppResult, ErrorKind};
use crate::seal::BlobRef;

/// A submission's refusal as an answer (both ways): the error body, or
/// `409` with [`BidEnded`] for an envelope whose bid no longer stands.
#[derive(Debug)]
pub struct Refusal(SubmitError);

impl From<SubmitError> for Refusal {
    fn from(e: SubmitError) -> Self {
        Refusal(e)
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal(SubmitError::Refused(e))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self.0 {
            SubmitError::Refused(e) => ApiError::from(e).into_response(),
            // A superset of the error body: `code` and `message` first.
            SubmitError::Ended(ended) => (StatusCode::CONFLICT, Json(*ended)).into_response(),
        }
    }
}

/// Result of the submission handlers.
pub type SubmitAnswer<T> = Result<T, Refusal>;

fn upload_error(e: MultipartError) -> AppError {
    AppError::new(
        ErrorKind::BadRequest,
        "malformed_upload",
        format!("the upload was cut off or is not valid multipart: {}", e.body_text()),
    )
}

async fn next_field<'a>(mp: &'a mut Multipart, name: &str) -> AppResult<Field<'a>> {
    let field = mp.next_field().await.map_err(upload_error)?;
    match field {
        Some(f) if f.name() == Some(name) => Ok(f),
        Some(f) => Err(AppError::new(
            ErrorKind::BadRequest,
            "malformed_upload",
            format!("expected the part '{name}', got '{}'", f.name().unwrap_or("")),
        )),
        None => Err(AppError::new(ErrorKind::BadRequest, "malformed_upload", format!("the part '{name}' is missing"))),
    }
}

async fn small_part(mp: &mut Multipart, name: &str, max: usize) -> AppResult<Vec<u8>> {
    let mut field = next_field(mp, name).await?;
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
        if out.len().saturating_add(chunk.len()) > max {
            return Err(AppError::too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The answer to a recorded bid: 201 when new, 200 for the same envelope again.
fn recorded(r: Recorded) -> (StatusCode, Json<BidReceipt>) {
    (if r.new { StatusCode::CREATED } else { StatusCode::OK }, Json(r.receipt))
}

/// The parts of a submission, in this order. Only for the OpenAPI
/// document: the handler streams the parts and never builds this.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, never constructed
struct SubmissionParts {
    /// The envelope's exact bytes (at most 256 KiB).
    #[schema(value_type = String, format = Binary)]
    envelope: Vec<u8>,
    /// The bidder's P-256 signature over the envelope: the raw 64 bytes
    /// (r ‖ s), not base64.
    #[schema(value_type = String, format = Binary)]
    signature: Vec<u8>,
    /// The form ciphertext, as long as the envelope declares.
    #[schema(value_type = String, format = Binary)]
    form: Vec<u8>,
    /// One part per document of the envelope, in its order.
    #[schema(value_type = Vec<String>, format = Binary)]
    document: Vec<Vec<u8>>,
}

/// Submit a sealed bid (multipart: envelope, signature, form, document…).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids",
    request_body(content = SubmissionParts, content_type = "multipart/form-data",
        description = "parts named `envelope`, `signature`, `form` and one `document` per declared document, in this order"),
    responses(
    (status = 201, body = BidReceipt),
    (status = 200, body = BidReceipt, description = "the same envelope again, its bid still standing"),
    (status = 400, body = ErrorBody, description = "malformed_upload: a part is missing, out of order, extra, or the body is cut off or not multipart"),
    (status = 403, body = ErrorBody, description = "forbidden: the tender admits approved bidders only and this one is not admitted"),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft"),
    (status = 409, body = BidEnded, description = "bid_withdrawn / bid_replaced: the same envelope again, its bid no longer standing; deadline_passed and tender_not_open have the error body"),
    (status = 413, body = ErrorBody, description = "body_too_large: the envelope is over 256 KiB or the signature part over 64 bytes"),
    (status = 422, body = ErrorBody, description = "invalid_envelope, bad_signature, unknown_bidder, wrong_tender (the envelope names another tender), policy_mismatch, invalid_field, ciphertext_mismatch"),
    (status = 503, body = ErrorBody, description = "unavailable: nothing was recorded; send the same submission again"),
    (status = 507, body = ErrorBody, description = "storage_full: the server's disk is full; nothing stored")))]
pub async fn submit(
    State(state): State<AppState>,
    ApiPath(tender_id): ApiPath<Uuid>,
    Extension(limits): Extension<WriteLimits>,
    mut mp: Multipart,
) -> Result<(StatusCode, Json<BidReceipt>), Response> {
    let tender = uc::tender(&state, tender_id).await.map_err(refusal)?;
    let envelope_bytes = small_part(&mut mp, "envelope", MAX_ENVELOPE).await.map_err(refusal)?;
    let signature = small_part(&mut mp, "signature", 64).await.map_err(refusal)?;
    let bid = match uc::begin(&state, &tender, envelope_bytes, signature).await.map_err(refusal)? {
        Begun::Existing(receipt) => return Ok((StatusCode::OK, Json(receipt))),
        Begun::New(bid) => *bid,
    };
    // Counted once the envelope's signature proved the key: a flood under
    // one bidder's name stops here, before any ciphertext is read.
    limits.check_bidder(&bid.envelope.bidder_public_key.key_id()).map_err(IntoResponse::into_response)?;
    finish_submit(&state, tender_id, &mut mp, bid).await.map_err(IntoResponse::into_response)
}

/// Receives the ciphertexts of an accepted envelope and records the bid.
async fn finish_submit(
    state: &AppState,
    tender_id: Uuid,
    mp: &mut Multipart,
    mut bid: Accepted,
) -> SubmitAnswer<(StatusCode, Json<BidReceipt>)> {
    let received = receive(state, mp, &mut bid).await;
    Ok(recorded(uc::finish(state, tender_id, bid, received).await?))
}

/// A submission's refusal, answered.
fn refusal(e: impl Into<Refusal>) -> Response {
    e.into().into_response()
}

/// Receives the ciphertext parts into the blob store.
async fn receive(state: &AppState, mp: &mut Multipart, bid: &mut Accepted) -> AppResult<()> {
    let form = next_field(mp, "form").await?;
    uc::write_blob(&state.blobs, &bid.envelope.form, form.map_err(upload_error), &mut bid.written).await?;
    for i in 0..bid.envelope.documents.len() {
        let doc = &bid.envelope.documents[i];
        let expected = BlobRef { sha256: doc.sha256, length: doc.length };
        let field = next_field(mp, "document").await?;
        uc::write_blob(&state.blobs, &expected, field.map_err(upload_error), &mut bid.written).await?;
    }
    if mp.next_field().await.map_err(upload_error)?.is_some() {
        return Err(AppError::new(ErrorKind::BadRequest, "malformed_upload", "more parts than the envelope declares"));
    }
    Ok(())
}

/// Withdraw a bid before the deadline.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids/{bid}/withdraw", request_body = Withdrawal, responses((status = 200, body = BidReceipt)))]
pub async fn withdraw(
    State(state): State<AppState>,
    ApiPath((tender_id, bid_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<Withdrawal>,
) -> ApiResult<Json<BidReceipt>> {
    Ok(Json(uc::withdraw(&state, tender_id, bid_id, req).await?))
}

/// How many bids stand and their envelope hashes (never who sent them).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids", responses((status = 200, body = BidSummary)))]
pub async fn summary(State(state): State<AppState>, ApiPath(tender_id): ApiPath<Uuid>) -> ApiResult<Json<BidSummary>> {
    Ok(Json(uc::summary(&state, tender_id).await?))
}
