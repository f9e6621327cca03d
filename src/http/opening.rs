//! The opening's HTTP side: envelopes made public at the opening, custodian
//! releases, the opening record, and evaluators' document downloads.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::auth::{StaffUser, token_hash};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::tenders::visible_tender;
use crate::domain::{EventDraft, EventKind, Role, TenderState};
use crate::opening::{check_released, load_envelope};
use crate::seal::{Share, b64, open_manifest, rebuild_key, unb64};
use crate::store::{Event, ReleasedShare, Staff};

fn opening_or_later(state: TenderState) -> ApiResult<()> {
    match state {
        TenderState::Opening | TenderState::Opened => Ok(()),
        other => Err(ApiError::new(
            StatusCode::CONFLICT,
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
/// ciphertexts (public from the opening on; documents never are).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/envelopes", responses((status = 200, body = Vec<PublicBid>)))]
pub async fn envelopes(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Vec<PublicBid>>> {
    let tender = visible_tender(&state, id, None).await?.tender;
    opening_or_later(tender.state)?;
    let mut out = Vec::new();
    for bid in state.store.bids_at_close(id).await? {
        let read = |i: usize| {
            let path = bid.blobs.get(i).map(|h| state.blobs.path(h));
            async move {
                match path {
                    Some(p) => tokio::fs::read(p).await.map_err(ApiError::internal),
                    None => Err(ApiError::internal("bid blob missing")),
                }
            }
        };
        let envelope = read(0).await?;
        let form = read(1).await?;
        let signature = state.store.bid_signature(bid.id).await?;
        out.push(PublicBid {
            bid_id: bid.id,
            envelope_hash: bid.envelope_hash.clone(),
            envelope: b64(&envelope),
            signature: b64(&signature),
            form: b64(&form),
            log_index: bid.log_index,
        });
    }
    Ok(Json(out))
}

/// Shares a custodian releases.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// One share per bid.
    pub shares: Vec<ReleaseShare>,
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
    /// Shares already released before (ignored).
    pub duplicates: usize,
}

/// A custodian releases its shares (custodian release token).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/opening/release", request_body = Release, responses((status = 200, body = ReleaseResult)), security(("custodian" = [])))]
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
    let custodian = state
        .store
        .custodian_by_token_hash(&token_hash(token.trim()))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the release token is not valid"))?;
    let tender = visible_tender(&state, id, None).await?.tender;
    if tender.state != TenderState::Opening {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_opening",
            format!("shares are released during the opening; the tender is {}", tender.state.as_str()),
        ));
    }
    let policy = tender.custody_keys.as_ref().ok_or_else(|| ApiError::internal("no custody keys"))?;
    let index = policy
        .custodians
        .iter()
        .find(|c| c.id == custodian.id)
        .map(|c| c.index)
        .ok_or_else(|| ApiError::forbidden(format!("'{}' is not a custodian of this tender", custodian.id)))?;
    let pending = state.store.pending_openings(id).await?;
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
        let bytes = unb64(&s.share).map_err(|_| ApiError::invalid("shares[].share", "must be base64url"))?;
        let share = Share::from_bytes(&bytes).map_err(|e| ApiError::invalid("shares[].share", e.to_string()))?;
        if share.x != index {
            return Err(ApiError::invalid(
                "shares[].share",
                format!("share x is {}, your custodian index is {index}", share.x),
            ));
        }
        candidates.push(((*bid).clone(), share, bytes));
    }
    // Thousands of shares in one release: their envelopes are read and
    // checked on every core.
    let checks: Vec<_> = candidates.iter().map(|(bid, share, _)| (bid.clone(), share.clone())).collect();
    let good = check_released(&state, checks).await.map_err(ApiError::internal)?;
    let mut released = Vec::with_capacity(candidates.len());
    let mut bad = Vec::new();
    for ((bid, _, bytes), good) in candidates.into_iter().zip(good) {
        if !good {
            bad.push(bid.envelope_hash.clone());
        }
        released.push(ReleasedShare { bid_id: bid.id, share: bytes, good });
    }
    let accepted = released.iter().filter(|s| s.good).count();
    if !released.is_empty() {
        let draft = EventDraft::new(
            EventKind::CustodianReleased,
            json!({ "custodian": custodian.id, "index": index, "shares": released.len(), "bad_shares": bad }),
        );
        let event = state.store.release_shares(id, &custodian.id, index, &released, draft).await?;
        state.after_change(event.as_slice());
    }
    Ok(Json(ReleaseResult { accepted, bad, duplicates }))
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
}

/// The opening record so far.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/record", responses((status = 200, body = Record)))]
pub async fn record(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Record>> {
    Ok(Json(load_record(&state, id).await?.1))
}

/// The tender and its opening record so far (public from the opening on).
pub(crate) async fn load_record(state: &AppState, id: Uuid) -> ApiResult<(crate::domain::Tender, Record)> {
    let tender = visible_tender(state, id, None).await?.tender;
    opening_or_later(tender.state)?;
    let events = state.store.events(id, 0, i64::MAX).await?;
    let rows: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "bid.opened" | "bid.rejected" | "bid.unopened"))
        .map(|e: &Event| {
            let mut row = e.data.clone();
            row["status"] = json!(e.kind.trim_start_matches("bid."));
            row["log_index"] = json!(e.log_index);
            row
        })
        .collect();
    let pending = state.store.pending_openings(id).await?.len();
    let mut warnings = Vec::new();
    let opened = rows.iter().filter(|r| r["status"] == "opened").count();
    if pending == 0 && opened < 3 {
        warnings.push(format!("only {opened} bid(s) opened; fewer than three"));
    }
    let record = Record { state: tender.state, complete: tender.state == TenderState::Opened, rows, pending, warnings };
    Ok((tender, record))
}

/// Rebuilds a bid's key from its released shares (evaluators only).
async fn bid_key(
    state: &AppState,
    tender: Uuid,
    bid: Uuid,
) -> ApiResult<(crate::seal::Envelope, crate::seal::BidKey, crate::store::StoredBid)> {
    let bid =
        state.store.get_bid(bid).await?.filter(|b| b.tender_id == tender).ok_or_else(|| ApiError::not_found("bid"))?;
    let shares: Vec<Share> = state
        .store
        .shares_of(bid.id)
        .await?
        .iter()
        .filter(|s| s.good)
        .filter_map(|s| Share::from_bytes(&s.share).ok())
        .collect();
    let envelope = load_envelope(state, &bid).await.map_err(ApiError::internal)?;
    let key = rebuild_key(&envelope, &shares).map_err(|_| {
        ApiError::new(StatusCode::CONFLICT, "not_opened", "this bid was not opened; its documents stay sealed")
    })?;
    Ok((envelope, key, bid))
}

fn require_evaluator(role: Role) -> ApiResult<()> {
    if matches!(role, Role::Evaluator | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only evaluators read bid documents"))
    }
}

/// The names of a bid's documents (evaluators, after the opening).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids/{bid}/documents", responses((status = 200, body = Object)), security(("staff" = [])))]
pub async fn documents(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<serde_json::Value>> {
    require_evaluator(me.role)?;
    opening_or_later(visible_tender(&state, id, Some(&me)).await?.tender.state)?;
    let (envelope, key, _) = bid_key(&state, id, bid).await?;
    let manifest = open_manifest(&envelope, &key).map_err(ApiError::internal)?;
    Ok(Json(serde_json::to_value(manifest).map_err(ApiError::internal)?))
}

/// One document, decrypted as it streams (evaluators; every download is logged).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/bids/{bid}/documents/{index}", responses((status = 200, content_type = "application/octet-stream")), security(("staff" = [])))]
pub async fn document(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid, index)): ApiPath<(Uuid, Uuid, u32)>,
) -> ApiResult<Response> {
    serve_document(&state, &me, id, bid, index).await
}

/// A document an evaluator may read: its envelope, key, bid and manifest entry.
pub(super) struct Readable {
    envelope: crate::seal::Envelope,
    key: crate::seal::BidKey,
    stored: crate::store::StoredBid,
    entry: crate::seal::ManifestEntry,
}

/// Every check a download makes: evaluator, opened tender, opened bid,
/// existing document.
pub(super) async fn readable(state: &AppState, me: &Staff, id: Uuid, bid: Uuid, index: u32) -> ApiResult<Readable> {
    require_evaluator(me.role)?;
    opening_or_later(visible_tender(state, id, Some(me)).await?.tender.state)?;
    let (envelope, key, stored) = bid_key(state, id, bid).await?;
    let manifest = open_manifest(&envelope, &key).map_err(ApiError::internal)?;
    let entry = manifest.documents.get(index as usize).ok_or_else(|| ApiError::not_found("document"))?.clone();
    Ok(Readable { envelope, key, stored, entry })
}

/// Logs the download (a `documents.accessed` event naming `me`) and streams
/// the document decrypted, in constant memory.
pub(super) async fn serve_document(
    state: &AppState,
    me: &Staff,
    id: Uuid,
    bid: Uuid,
    index: u32,
) -> ApiResult<Response> {
    let Readable { envelope, key, stored, entry } = readable(state, me, id, bid, index).await?;
    let blob = stored.blobs.get(2 + index as usize).ok_or_else(|| ApiError::not_found("document"))?;
    let decryptor = crate::seal::document_decryptor(&envelope, &key, index).map_err(ApiError::internal)?;
    let file = tokio::fs::File::open(state.blobs.path(blob)).await.map_err(ApiError::internal)?;
    let draft = EventDraft::new(
        EventKind::DocumentsAccessed,
        json!({ "envelope_hash": stored.envelope_hash, "document": index, "by": { "staff": me.id, "name": me.name } }),
    );
    let event = state.store.append_tender_event(id, draft).await?;
    state.after_change(std::slice::from_ref(&event));
    let body = Body::from_stream(crate::opening::documents::decrypting_stream(file, decryptor));
    let mut resp = Response::new(body);
    let media =
        HeaderValue::from_str(&entry.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    resp.headers_mut().insert(header::CONTENT_TYPE, media);
    let disposition = attachment(index, &entry.name);
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
