//! The transparency log as C2SP tlog-tiles under `/log/`, and JSON proofs
//! under `/api/v1/log/` (`app::log` reads them).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::app::log as uc;
use crate::ledger::Tile;

fn text(body: String, cache: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// `GET /log/checkpoint`.
#[utoipa::path(get, path = "/log/checkpoint", responses((status = 200, description = "the latest checkpoint, a C2SP signed note", content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(text(uc::latest_note(&state).await?, "no-cache"))
}

/// `GET /log/key`: the signed-note verifier key.
#[utoipa::path(get, path = "/log/key", responses((status = 200, description = "the signed-note verifier key, one line", content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log.signer.verifier_key()), "public, max-age=86400")
}

/// `GET /log/tile/…`: hash tiles and entry bundles.
#[utoipa::path(get, path = "/log/tile/{rest}",
    params(("rest" = String, Path, description = "the rest of a C2SP tlog-tiles path after `tile/`, e.g. `0/x001/234.p/5` or `entries/000`; it may hold `/`")),
    responses((status = 200, description = "a hash tile or an entry bundle", content_type = "application/octet-stream"),
        (status = 404, body = super::error::ErrorBody, description = "not_found: no such tile")))]
pub async fn tile(State(state): State<AppState>, ApiPath(rest): ApiPath<String>) -> ApiResult<Response> {
    let tile = Tile::parse(&format!("tile/{rest}"))
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such tile: {e}")))?;
    let body = uc::tile(&state, &tile).await?;
    // Full tiles never change; partial ones are superseded as the log grows.
    let cache = if tile.is_full() { "public, max-age=31536000, immutable" } else { "public, max-age=5" };
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(r)
}

/// The latest checkpoint as JSON.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckpointView {
    /// Tree size.
    pub size: u64,
    /// The signed note.
    pub note: String,
    /// The verifier key to check it with.
    pub key: String,
}

/// `GET /api/v1/log/checkpoint`.
#[utoipa::path(get, path = "/api/v1/log/checkpoint", responses((status = 200, body = CheckpointView)))]
pub async fn checkpoint_json(State(state): State<AppState>) -> ApiResult<Json<CheckpointView>> {
    let (size, note) = uc::checkpoint(&state).await?;
    Ok(Json(CheckpointView { size, note, key: state.log.signer.verifier_key() }))
}

/// A proof, hashes in hex.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProofView {
    /// RFC 9162 proof, hex hashes.
    pub proof: Vec<String>,
}

/// Inclusion proof query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
}

/// Consistency proof query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// Older tree size.
    pub old: u64,
    /// Newer tree size.
    pub new: u64,
}

/// `GET /api/v1/log/inclusion?index=&size=`.
#[utoipa::path(get, path = "/api/v1/log/inclusion", params(InclusionQuery), responses((status = 200, body = ProofView)))]
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<ProofView>> {
    let proof = uc::inclusion(&state, q.index, q.size).await?;
    Ok(Json(ProofView { proof: proof.iter().map(hex::encode).collect() }))
}

/// `GET /api/v1/log/consistency?old=&new=`.
#[utoipa::path(get, path = "/api/v1/log/consistency", params(ConsistencyQuery), responses((status = 200, body = ProofView)))]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ProofView>> {
    let proof = uc::consistency(&state, q.old, q.new).await?;
    Ok(Json(ProofView { proof: proof.iter().map(hex::encode).collect() }))
}

/// One entry's exact bytes, base64.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Index.
    pub index: u64,
    /// The exact bytes, standard base64.
    pub entry: String,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
}

/// `GET /api/v1/log/entries/{index}`.
#[utoipa::path(get, path = "/api/v1/log/entries/{index}", responses((status = 200, body = EntryView)))]
pub async fn entry(State(state): State<AppState>, ApiPath(index): ApiPath<u64>) -> ApiResult<Json<EntryView>> {
    use base64::Engine;
    let entry = uc::entry(&state, index).await?;
    Ok(Json(EntryView {
        index,
        leaf_hash: hex::encode(crate::ledger::leaf_hash(&entry)),
        entry: base64::engine::general_purpose::STANDARD.encode(&entry),
    }))
}
