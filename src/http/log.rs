//! The transparency log as C2SP tlog-tiles under `/log/`, and JSON proofs
//! under `/api/v1/log/`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};
use crate::ledger::{
    Checkpoint, Tile, consistency_plan, consistency_proof, empty_root, encode_entry_bundle, encode_hash_tile,
};

fn text(body: String, cache: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// The latest signed checkpoint note (an empty log gets a signed size-0 one).
pub(crate) async fn latest_note(state: &AppState) -> ApiResult<String> {
    match state.store.latest_checkpoint().await? {
        Some(c) => Ok(c.note),
        None => {
            let cp = Checkpoint { origin: state.log.origin.clone(), size: 0, root: empty_root() };
            state.log.signer.sign_checkpoint(&cp).map_err(ApiError::internal)
        }
    }
}

/// `GET /log/checkpoint`.
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(text(latest_note(&state).await?, "no-cache"))
}

/// `GET /log/key`: the signed-note verifier key.
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log.signer.verifier_key()), "public, max-age=86400")
}

/// `GET /log/tile/…`: hash tiles and entry bundles.
pub async fn tile(State(state): State<AppState>, ApiPath(rest): ApiPath<String>) -> ApiResult<Response> {
    let tile = Tile::parse(&format!("tile/{rest}"))
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such tile: {e}")))?;
    let size = state.store.log_size().await?;
    if !tile.available_at(size) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("tile {} is not available at tree size {size}", tile.path()),
        ));
    }
    let body = match tile {
        Tile::Hashes { .. } => {
            let nodes = tile.nodes().map_err(ApiError::internal)?.unwrap_or_default();
            let (first, last) = match (nodes.first(), nodes.last()) {
                (Some(a), Some(b)) => (*a, *b),
                _ => return Err(ApiError::not_found("tile")),
            };
            let hashes = state.store.log_level_range(first.level, first.index, last.index + 1).await?;
            if hashes.len() != nodes.len() {
                return Err(ApiError::internal("tile nodes missing"));
            }
            encode_hash_tile(&hashes)
        }
        Tile::Entries { .. } => {
            let range = tile.entry_range().ok_or_else(|| ApiError::not_found("tile"))?;
            let entries = state.store.log_entries(range.start, range.end).await?;
            encode_entry_bundle(&entries).map_err(ApiError::internal)?
        }
    };
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
    let note = latest_note(&state).await?;
    let size = state.store.log_size().await?;
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
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
}

/// Consistency proof query.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// Older tree size.
    pub old: u64,
    /// Newer tree size.
    pub new: u64,
}

async fn check_size(state: &AppState, size: u64) -> ApiResult<()> {
    let current = state.store.log_size().await?;
    if size > current {
        return Err(ApiError::invalid("size", format!("the log has only {current} entries")));
    }
    Ok(())
}

/// `GET /api/v1/log/inclusion?index=&size=`.
#[utoipa::path(get, path = "/api/v1/log/inclusion", params(InclusionQuery), responses((status = 200, body = ProofView)))]
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<ProofView>> {
    check_size(&state, q.size).await?;
    let proof = super::receipts::proof(&state, q.index, q.size).await?;
    Ok(Json(ProofView { proof: proof.iter().map(hex::encode).collect() }))
}

/// `GET /api/v1/log/consistency?old=&new=`.
#[utoipa::path(get, path = "/api/v1/log/consistency", params(ConsistencyQuery), responses((status = 200, body = ProofView)))]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ProofView>> {
    check_size(&state, q.new).await?;
    let plan = consistency_plan(q.old, q.new).map_err(|e| ApiError::invalid("old", e.to_string()))?;
    let nodes = state.store.log_nodes(&plan).await?;
    let proof = consistency_proof(q.old, q.new, &nodes).map_err(ApiError::internal)?;
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
    let entry =
        state.store.log_entries(index, index + 1).await?.pop().ok_or_else(|| ApiError::not_found("log entry"))?;
    Ok(Json(EntryView {
        index,
        leaf_hash: hex::encode(crate::ledger::leaf_hash(&entry)),
        entry: base64::engine::general_purpose::STANDARD.encode(&entry),
    }))
}
