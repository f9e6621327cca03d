//! Reads of the transparency log: the signed checkpoint, proofs, entries,
//! tiles and receipts. Every number here may come from a URL, so bounds are
//! checked before any arithmetic (there is no catch-panic layer).

use time::OffsetDateTime;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use crate::ledger::{
    Checkpoint, Hash, Receipt, Tile, consistency_plan, consistency_proof, empty_root, encode_entry_bundle,
    encode_hash_tile, inclusion_plan, inclusion_proof,
};

/// The latest signed checkpoint note (an empty log gets a signed size-0 one).
pub async fn latest_note(state: &AppState) -> AppResult<String> {
    match state.store.latest_checkpoint().await? {
        Some(c) => Ok(c.note),
        None => {
            let cp = Checkpoint { origin: state.log.origin.clone(), size: 0, root: empty_root() };
            state.log.signer.sign_checkpoint(&cp).map_err(AppError::internal)
        }
    }
}

/// The tree size and the latest note.
pub async fn checkpoint(state: &AppState) -> AppResult<(u64, String)> {
    let note = latest_note(state).await?;
    Ok((state.store.log_size().await?, note))
}

/// Refuses a tree size the log has not reached.
async fn check_size(state: &AppState, size: u64) -> AppResult<()> {
    let current = state.store.log_size().await?;
    if size > current {
        return Err(AppError::invalid("size", format!("the log has only {current} entries")));
    }
    Ok(())
}

/// The inclusion proof of entry `index` in the tree of `size` entries.
pub async fn proof(state: &AppState, index: u64, size: u64) -> AppResult<Vec<Hash>> {
    let plan = inclusion_plan(index, size).map_err(|e| AppError::invalid("index", e.to_string()))?;
    let nodes = state.store.log_nodes(&plan).await?;
    inclusion_proof(index, size, &nodes).map_err(AppError::internal)
}

/// An inclusion proof for a caller: the size must exist.
pub async fn inclusion(state: &AppState, index: u64, size: u64) -> AppResult<Vec<Hash>> {
    check_size(state, size).await?;
    proof(state, index, size).await
}

/// A consistency proof from `old` to `new` entries.
pub async fn consistency(state: &AppState, old: u64, new: u64) -> AppResult<Vec<Hash>> {
    check_size(state, new).await?;
    let plan = consistency_plan(old, new).map_err(|e| AppError::invalid("old", e.to_string()))?;
    let nodes = state.store.log_nodes(&plan).await?;
    consistency_proof(old, new, &nodes).map_err(AppError::internal)
}

/// The exact bytes of entry `index`.
pub async fn entry(state: &AppState, index: u64) -> AppResult<Vec<u8>> {
    // Bounded by the size first: `index + 1` cannot overflow and the store
    // never sees an index beyond what it holds.
    if index >= state.store.log_size().await? {
        return Err(AppError::not_found("log entry"));
    }
    let end = index.checked_add(1).ok_or_else(|| AppError::not_found("log entry"))?;
    state.store.log_entries(index, end).await?.pop().ok_or_else(|| AppError::not_found("log entry"))
}

/// A tile's bytes (hash tile or entry bundle), if the log has it.
pub async fn tile(state: &AppState, tile: &Tile) -> AppResult<Vec<u8>> {
    let size = state.store.log_size().await?;
    if !tile.available_at(size) {
        return Err(AppError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("tile {} is not available at tree size {size}", tile.path()),
        ));
    }
    match tile {
        Tile::Hashes { .. } => {
            let nodes = tile.nodes().map_err(|e| AppError::not_found(&format!("tile ({e})")))?.unwrap_or_default();
            let (first, last) = match (nodes.first(), nodes.last()) {
                (Some(a), Some(b)) => (*a, *b),
                _ => return Err(AppError::not_found("tile")),
            };
            let end = last.index.checked_add(1).ok_or_else(|| AppError::not_found("tile"))?;
            let hashes = state.store.log_level_range(first.level, first.index, end).await?;
            if hashes.len() != nodes.len() {
                return Err(AppError::internal("tile nodes missing"));
            }
            Ok(encode_hash_tile(&hashes))
        }
        Tile::Entries { .. } => {
            let range = tile.entry_range().ok_or_else(|| AppError::not_found("tile"))?;
            let entries = state.store.log_entries(range.start, range.end).await?;
            encode_entry_bundle(&entries).map_err(AppError::internal)
        }
    }
}

/// The receipt of the event at `index`, against the checkpoint of `size`
/// (both as stored).
pub async fn receipt_for(
    state: &AppState,
    index: i64,
    size: i64,
    envelope_hash: &str,
    at: OffsetDateTime,
) -> AppResult<Receipt> {
    let index = u64::try_from(index).map_err(AppError::internal)?;
    let size = u64::try_from(size).map_err(AppError::internal)?;
    let checkpoint = state
        .store
        .checkpoint_at(size)
        .await?
        .ok_or_else(|| AppError::internal(format!("no checkpoint at size {size}")))?;
    let end = index.checked_add(1).ok_or_else(|| AppError::internal("log index out of range"))?;
    let entry =
        state.store.log_entries(index, end).await?.pop().ok_or_else(|| AppError::internal("log entry missing"))?;
    Ok(Receipt {
        checkpoint: checkpoint.note,
        leaf_index: index,
        tree_size: size,
        inclusion: proof(state, index, size).await?,
        entry,
        envelope_hash: envelope_hash.to_string(),
        received_at: at,
    })
}
