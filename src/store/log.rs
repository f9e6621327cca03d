//! The encoding of events as log entries, and reads of the transparency
//! log (the append itself is in `write.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::{Event, StoreError, StoreResult, StoredCheckpoint};
use crate::domain::{EventDraft, event};
use crate::ledger::{self, Hash, LogSigner, NodeId};

/// What the store needs to sign checkpoints as it appends.
#[derive(Clone)]
pub struct LogContext {
    /// The server's Ed25519 log key.
    pub signer: Arc<LogSigner>,
    /// The log's origin line, e.g. `bidroom.example.org/log`.
    pub origin: String,
}

/// Encodes an event as its log entry bytes.
pub(crate) fn encode_event(tender: Uuid, seq: i64, at: OffsetDateTime, draft: EventDraft) -> StoreResult<Vec<u8>> {
    let payload = draft.into_payload();
    let bytes = event::encode_entry(tender, seq, at, &payload).map_err(|e| StoreError::Encode(e.to_string()))?;
    // tlog-tiles entry bundles carry 16-bit lengths.
    if bytes.len() > ledger::MAX_ENTRY_LEN {
        return Err(crate::domain::DomainError::invalid(
            "tender",
            format!(
                "the published record would be {} bytes; shorten the description or field labels (limit 65535)",
                bytes.len()
            ),
        )
        .into());
    }
    Ok(bytes)
}

/// Decodes a stored entry back into the event it records.
pub(crate) fn event_from_entry(entry: &[u8], log_index: i64) -> StoreResult<Event> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("log entry {log_index}: {e}"));
    let e = event::decode_entry(entry).map_err(|e| corrupt(&e))?;
    Ok(Event {
        tender_id: e.tender,
        seq: e.seq,
        kind: e.payload.kind().as_str().to_string(),
        at: e.at,
        data: e.payload.to_data().map_err(|e| corrupt(&e))?,
        log_index,
        leaf_hash: hex::encode(ledger::leaf_hash(entry)),
    })
}

/// Reads of the log for proofs, tiles and receipts.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Number of entries.
    async fn log_size(&self) -> StoreResult<u64>;
    /// The signed checkpoint of exactly this size, if one was signed.
    async fn checkpoint_at(&self, size: u64) -> StoreResult<Option<StoredCheckpoint>>;
    /// Hashes of stored complete nodes (missing ones are absent).
    async fn log_nodes(&self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>>;
    /// Hashes of the nodes at `level` with indices in `start..end`, in order.
    async fn log_level_range(&self, level: u8, start: u64, end: u64) -> StoreResult<Vec<Hash>>;
    /// Entries with indices in `start..end`, in order.
    async fn log_entries(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>>;
}

#[async_trait]
impl<DB: Backend> LogStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn log_size(&self) -> StoreResult<u64> {
        let size: i64 = sqlx::query_scalar("SELECT size FROM log_head WHERE id = 1").fetch_one(self.reader()).await?;
        Ok(size as u64)
    }

    async fn checkpoint_at(&self, size: u64) -> StoreResult<Option<StoredCheckpoint>> {
        let row = sqlx::query("SELECT size, root, note, at FROM log_checkpoints WHERE size = $1")
            .bind(size as i64)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(super::shared::checkpoint_from_row).transpose()
    }

    async fn log_nodes(&self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut conn = self.reader().acquire().await?;
        Self::fetch_nodes(&mut conn, ids, &mut out).await?;
        Ok(out)
    }

    async fn log_level_range(&self, level: u8, start: u64, end: u64) -> StoreResult<Vec<Hash>> {
        let rows: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
                .bind(i64::from(level))
                .bind(start as i64)
                .bind(end as i64)
                .fetch_all(self.reader())
                .await?;
        rows.into_iter()
            .map(|h| h.try_into().map_err(|_| StoreError::Corrupt("log node is not 32 bytes".into())))
            .collect()
    }

    async fn log_entries(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(start as i64)
            .bind(end as i64)
            .fetch_all(self.reader())
            .await?)
    }
}

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    /// Reads the stored nodes among `ids` into `out`, in one statement per
    /// 200 ids instead of one per node.
    pub(crate) async fn fetch_nodes(
        conn: &mut DB::Connection,
        ids: &[NodeId],
        out: &mut HashMap<NodeId, Hash>,
    ) -> StoreResult<()> {
        for chunk in ids.chunks(200) {
            let mut qb = QueryBuilder::<DB>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(level = ")
                    .push_bind(i64::from(id.level))
                    .push(" AND idx = ")
                    .push_bind(id.index as i64)
                    .push(")");
            }
            for row in qb.build().fetch_all(&mut *conn).await? {
                let level: i64 = row.try_get("level")?;
                let index: i64 = row.try_get("idx")?;
                let hash: Vec<u8> = row.try_get("hash")?;
                let hash: Hash = hash.try_into().map_err(|_| StoreError::Corrupt("log node is not 32 bytes".into()))?;
                let level = u8::try_from(level).map_err(|_| StoreError::Corrupt(format!("log node level {level}")))?;
                out.insert(NodeId::new(level, index as u64), hash);
            }
        }
        Ok(())
    }
}
