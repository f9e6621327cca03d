//! The opening's HTTP side: envelopes made public at the opening, custodian
//! releases, the opening record, and evaluators' document downloads.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::app::documents::{Download, manifest, open_document};
use crate::app::opening::{self as uc, EnvelopePage, PublicBid, Record, Release, ReleaseResult};
use crate::app::tokens::custodian_by_token;

/// All bids that stood at the close, with their envelopes and form
/// ciphertexts (public from the opening on; documents never are).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/envelopes", responses((status = 200, body = Vec<PublicBid>)))]
pub async fn envelopes(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Vec<PublicBid>>> {
    Ok(Json(uc::envelopes(&state, id).await?))
}

/// Query of [`envelope_page`].
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EnvelopePageParams {
    /// The previous page's `next`; none for the first page.
    pub cursor: Option<String>,
    /// At most this many bids (1 to 1000, default 1000).
    pub limit: Option<i64>,
}

/// The envelopes of `/envelopes` a page at a time, in order of receipt:
/// follow `next` until a page has none. The memory either side holds is one
/// page, whatever the number of bids.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/envelopes/page", params(EnvelopePageParams), responses(
    (status = 200, body = EnvelopePage),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft"),
    (status = 409, body = ErrorBody, description = "not_opened_yet: envelopes are public from the opening on"),
    (status = 422, body = ErrorBody, description = "invalid_field: `cursor` is not a `next` this server gave, or `limit` outside 1..1000")))]
pub async fn envelope_page(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<EnvelopePageParams>,
) -> ApiResult<Json<EnvelopePage>> {
    Ok(Json(uc::envelope_page(&state, id, p.cursor.as_deref(), p.limit).await?))
}

/// A custodian releases its shares: its release token, and in the body the
/// answer to a fresh `release` challenge for this tender (403 `bad_proof`).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/opening/release", request_body = Release, responses(
    (status = 200, body = ReleaseResult, description = "`duplicates` counts every share ignored: released before by this custodian, twice in this request, or for a bid no longer waiting for shares (opened, rejected, unopened, or not standing at the close). The release's `custodian.released` event lists the bids whose shares it recorded in `covers` (`{from, bits}`, a bitmap over the bids standing at the close in order of receipt; PROTOCOL.md, \"Release coverage\")"),
    (status = 400, body = ErrorBody, description = "malformed_json"),
    (status = 401, body = ErrorBody, description = "unauthenticated: no `Authorization: Bearer` header, or the token is not a custodian's"),
    (status = 403, body = ErrorBody, description = "forbidden: not one of the tender's custodians; bad_proof: `proof` does not answer a live `release` challenge of this custodian for this tender"),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft"),
    (status = 409, body = ErrorBody, description = "not_opening: before the opening, after the record is final, or cancelled; transition_not_allowed: the release window has passed or the tender left the opening meanwhile"),
    (status = 415, body = ErrorBody, description = "unsupported_media_type"),
    (status = 422, body = ErrorBody, description = "invalid_field (`shares[].share`: not base64url, not 33 bytes, or not this custodian's index; `shares`: the bids span more than 262,144 positions in order of receipt, send them in pages of bids close together), missing_field, unknown_field"),
    (status = 503, body = ErrorBody, description = "unavailable: send the same release again")),
    security(("custodian" = [])))]
pub async fn release(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Release>,
) -> ApiResult<Json<ReleaseResult>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthenticated("releasing needs the custodian's release token"))?;
    let custodian = custodian_by_token(&state, token.trim()).await?;
    Ok(Json(uc::release(&state, &custodian, id, req).await?))
}

/// The opening record so far.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/record", responses(
    (status = 200, body = Record, description = "each row is the data of its `bid.opened`, `bid.rejected` or `bid.unopened` event with `status` (the event type without `bid.`) and `log_index` added"),
    (status = 404, body = ErrorBody, description = "not_found: no such tender, or a draft"),
    (status = 409, body = ErrorBody, description = "not_opened_yet: the record is public from the opening on")))]
pub async fn record(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Record>> {
    Ok(Json(uc::load_record(&state, id).await?.1))
}

/// The names of a bid's documents (evaluators, after the opening).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids/{bid}/documents", responses((status = 200, body = Object)), security(("staff" = [])))]
pub async fn documents(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<serde_json::Value>> {
    let manifest = manifest(&state, &me, id, bid).await?;
    Ok(Json(serde_json::to_value(manifest).map_err(ApiError::internal)?))
}

/// One document, decrypted as it streams (evaluators; every download is logged).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids/{bid}/documents/{index}", responses((status = 200, content_type = "application/octet-stream")), security(("staff" = [])))]
pub async fn document(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid, index)): ApiPath<(Uuid, Uuid, u32)>,
) -> ApiResult<Response> {
    download_response(index, open_document(&state, &me, id, bid, index).await?)
}

/// A document download as an attachment that is never cached.
pub(super) fn download_response(index: u32, d: Download) -> ApiResult<Response> {
    let mut resp = Response::new(Body::from_stream(d.body));
    let media = HeaderValue::from_str(&d.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    resp.headers_mut().insert(header::CONTENT_TYPE, media);
    let disposition = attachment(index, &d.name);
    resp.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `attachment` with an ASCII fallback name and the bidder's file name
/// percent-encoded (RFC 6266, RFC 8187), so no name can break the header.
fn attachment(index: u32, name: &str) -> String {
    let mut encoded = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(b) {
            encoded.push(char::from(*b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"document-{index}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_names_cannot_break_the_header() {
        assert_eq!(
            super::attachment(2, "报价 \"final\".pdf\r\nX: y"),
            "attachment; filename=\"document-2\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%20%22final%22.pdf%0D%0AX%3A%20y"
        );
    }
}
