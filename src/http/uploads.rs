//! Resumable bid uploads over HTTP (`docs/PROTOCOL.md`, "Resumable
//! upload"): the offsets travel in `Upload-Offset` headers as in tus; the
//! sessions, parts and commit are `app::uploads`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::bids::SubmitAnswer;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::bids::{BidEnded, BidReceipt};
use crate::app::uploads as uc;

pub use crate::app::uploads::{MAX_REQUEST, NewUpload, PartView, UploadView};

/// The offset header, as in tus.
const UPLOAD_OFFSET: &str = "upload-offset";

/// Is this the path of a part (whose bodies may exceed the JSON limit)?
pub fn is_part_path(path: &str) -> bool {
    path.contains("/uploads/") && path.contains("/parts/")
}

/// Open an upload session with the signed envelope.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/uploads", request_body = NewUpload,
    responses((status = 201, body = UploadView), (status = 200, body = UploadView, description = "the session this envelope already has"),
        (status = 409, body = BidEnded, description = "bid_withdrawn / bid_replaced: the envelope's bid was received and no longer stands"),
        (status = 422, body = ErrorBody, description = "wrong_tender (the envelope names another tender), and the other refusals")))]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(tender_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewUpload>,
) -> SubmitAnswer<(StatusCode, Json<UploadView>)> {
    let (view, new) = uc::create(&state, tender_id, req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

/// The session: parts, bytes held, state.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/uploads/{upload}", responses((status = 200, body = UploadView)))]
pub async fn status(
    State(state): State<AppState>,
    ApiPath((tender_id, upload)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<UploadView>> {
    Ok(Json(uc::status(&state, tender_id, upload).await?))
}

/// `HEAD` of a part: its `Upload-Offset` and `Upload-Length`.
#[utoipa::path(head, path = "/api/v1/tenders/{id}/uploads/{upload}/parts/{part}",
    responses((status = 204, description = "the part's bytes held and declared length, in the headers",
        headers(("Upload-Offset" = u64, description = "bytes of the part the server holds"), ("Upload-Length" = u64, description = "the part's length as the envelope declares it"))),
        (status = 404, description = "not_found: no such session under this tender, or no such part (a HEAD answer has no body)"),
        (status = 410, description = "upload_expired (a HEAD answer has no body)")))]
pub async fn part_offset(
    State(state): State<AppState>,
    ApiPath((tender_id, upload, part)): ApiPath<(Uuid, Uuid, usize)>,
) -> ApiResult<Response> {
    let (received, length) = uc::part_offset(&state, tender_id, upload, part).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(received));
    resp.headers_mut().insert("upload-length", HeaderValue::from(length));
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
    let number =
        |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let offset = number(UPLOAD_OFFSET);
    let declared = number(axum::http::header::CONTENT_LENGTH.as_str());
    match uc::append(&state, tender_id, upload, part, offset, declared, body.into_data_stream()).await {
        Ok(p) => {
            let offset = p.received;
            let mut resp = Json(p).into_response();
            resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(offset));
            resp
        }
        Err((e, held)) => {
            let mut resp = ApiError::from(e).into_response();
            if let Some(held) = held {
                resp.headers_mut().insert(UPLOAD_OFFSET, HeaderValue::from(held));
            }
            resp
        }
    }
}

/// Record the bid once every part is complete; the same receipt as the
/// multipart submission, and again on retry.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/uploads/{upload}/commit",
    responses((status = 201, body = BidReceipt), (status = 200, body = BidReceipt, description = "committed already, the bid still standing"),
        (status = 409, body = BidEnded, description = "bid_withdrawn / bid_replaced: committed already, the bid no longer standing")))]
pub async fn commit(
    State(state): State<AppState>,
    ApiPath((tender_id, upload)): ApiPath<(Uuid, Uuid)>,
) -> SubmitAnswer<(StatusCode, Json<BidReceipt>)> {
    let r = uc::commit(&state, tender_id, upload).await?;
    Ok((if r.new { StatusCode::CREATED } else { StatusCode::OK }, Json(r.receipt)))
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
