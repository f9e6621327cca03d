//! Building receipts from the stored log.

use time::OffsetDateTime;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::ledger::{Receipt, inclusion_plan, inclusion_proof};

/// The inclusion proof of entry `index` in the tree of `size` entries.
pub(crate) async fn proof(state: &AppState, index: u64, size: u64) -> ApiResult<Vec<crate::ledger::Hash>> {
    let plan = inclusion_plan(index, size).map_err(|e| ApiError::invalid("index", e.to_string()))?;
    let nodes = state.store.log_nodes(&plan).await?;
    inclusion_proof(index, size, &nodes).map_err(ApiError::internal)
}

/// The receipt of the event at `index`, against the checkpoint of `size`.
pub(crate) async fn receipt_for(
    state: &AppState,
    index: i64,
    size: i64,
    envelope_hash: &str,
    at: OffsetDateTime,
) -> ApiResult<Receipt> {
    let (index, size) = (index as u64, size as u64);
    let checkpoint = state
        .store
        .checkpoint_at(size)
        .await?
        .ok_or_else(|| ApiError::internal(format!("no checkpoint at size {size}")))?;
    let entry = state
        .store
        .log_entries(index, index + 1)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("log entry missing"))?;
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
