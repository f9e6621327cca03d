//! Appending to the transparency log inside a store transaction, and the
//! encoding of events as log entries.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Event, StoreError, StoreResult};
use crate::domain::{EventDraft, event};
use crate::ledger::{self, LogSigner};

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
    // A payload the transitional untyped constructor could not read is a bug
    // of the caller, not bad input.
    let payload = draft.into_payload().map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?;
    let bytes = event::encode_entry(tender, seq, at, &payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
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
#[async_trait::async_trait]
pub trait LogStore: Send + Sync {
    /// Number of entries.
    async fn log_size(&self) -> StoreResult<u64>;
    /// The signed checkpoint of exactly this size, if one was signed.
    async fn checkpoint_at(&self, size: u64) -> StoreResult<Option<super::StoredCheckpoint>>;
    /// Hashes of stored complete nodes (missing ones are absent).
    async fn log_nodes(
        &self,
        ids: &[ledger::NodeId],
    ) -> StoreResult<std::collections::HashMap<ledger::NodeId, ledger::Hash>>;
    /// Hashes of the nodes at `level` with indices in `start..end`, in order.
    async fn log_level_range(&self, level: u8, start: u64, end: u64) -> StoreResult<Vec<ledger::Hash>>;
    /// Entries with indices in `start..end`, in order.
    async fn log_entries(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>>;
}

/// Reads the stored nodes among `ids` into `out` (a map by node id), in
/// one statement per 200 ids instead of one per node.
macro_rules! fetch_nodes {
    ($conn:expr, $db:ty, $ids:expr, $out:expr) => {{
        use sqlx::Row;
        for chunk in $ids.chunks(200) {
            let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
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
            for row in qb.build().fetch_all($conn).await? {
                let level: i64 = row.try_get("level")?;
                let index: i64 = row.try_get("idx")?;
                let hash: Vec<u8> = row.try_get("hash")?;
                let hash: $crate::ledger::Hash = hash
                    .try_into()
                    .map_err(|_| $crate::store::StoreError::Corrupt("log node is not 32 bytes".into()))?;
                let level =
                    u8::try_from(level).map_err(|_| $crate::store::StoreError::Corrupt("log node level".into()))?;
                $out.insert($crate::ledger::NodeId::new(level, index as u64), hash);
            }
        }
    }};
}
pub(crate) use fetch_nodes;

/// Implements [`LogStore`] for a backend.
macro_rules! shared_log_read_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::LogStore for $store {
            async fn log_size(&self) -> $crate::store::StoreResult<u64> {
                let size: i64 =
                    sqlx::query_scalar("SELECT size FROM log_head WHERE id = 1").fetch_one(self.reader()).await?;
                Ok(size as u64)
            }

            async fn checkpoint_at(
                &self,
                size: u64,
            ) -> $crate::store::StoreResult<Option<$crate::store::StoredCheckpoint>> {
                let row = sqlx::query("SELECT size, root, note FROM log_checkpoints WHERE size = $1")
                    .bind(size as i64)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::shared::checkpoint_from_row).transpose()
            }

            async fn log_nodes(
                &self,
                ids: &[$crate::ledger::NodeId],
            ) -> $crate::store::StoreResult<std::collections::HashMap<$crate::ledger::NodeId, $crate::ledger::Hash>>
            {
                let mut out = std::collections::HashMap::with_capacity(ids.len());
                $crate::store::log::fetch_nodes!(self.reader(), $db, ids, out);
                Ok(out)
            }

            async fn log_level_range(
                &self,
                level: u8,
                start: u64,
                end: u64,
            ) -> $crate::store::StoreResult<Vec<$crate::ledger::Hash>> {
                let rows: Vec<Vec<u8>> = sqlx::query_scalar(
                    "SELECT hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                )
                .bind(i64::from(level))
                .bind(start as i64)
                .bind(end as i64)
                .fetch_all(self.reader())
                .await?;
                rows.into_iter()
                    .map(|h| {
                        h.try_into().map_err(|_| $crate::store::StoreError::Corrupt("log node is not 32 bytes".into()))
                    })
                    .collect()
            }

            async fn log_entries(&self, start: u64, end: u64) -> $crate::store::StoreResult<Vec<Vec<u8>>> {
                Ok(sqlx::query_scalar("SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                    .bind(start as i64)
                    .bind(end as i64)
                    .fetch_all(self.reader())
                    .await?)
            }
        }
    };
}
pub(crate) use shared_log_read_impl;

/// What an append wrote: each entry's index, the new checkpoint, and every
/// node the append computed or read, which covers the inclusion proof of
/// each appended entry in the new tree (the left siblings older than the
/// append are the old tree's frontier, which the append reads).
pub(crate) struct Appended {
    pub indices: Vec<i64>,
    pub size: u64,
    pub note: String,
    pub nodes: std::collections::HashMap<crate::ledger::NodeId, crate::ledger::Hash>,
}

impl Appended {
    /// The receipt of the appended entry at `index`; `None` if a node is
    /// missing (the caller then reads the proof from the table).
    pub fn receipt(
        &self,
        index: u64,
        entry: &[u8],
        envelope_hash: &str,
        at: time::OffsetDateTime,
    ) -> Option<crate::ledger::Receipt> {
        let inclusion = crate::ledger::inclusion_proof(index, self.size, &self.nodes).ok()?;
        Some(crate::ledger::Receipt {
            checkpoint: self.note.clone(),
            leaf_index: index,
            tree_size: self.size,
            inclusion,
            entry: entry.to_vec(),
            envelope_hash: envelope_hash.to_string(),
            received_at: at,
        })
    }
}

/// Generates the backend's log append: `append_log(tx, ctx, entries, now)`
/// returns the log index of each entry and signs a checkpoint of the new head.
macro_rules! shared_log_impl {
    ($store:ty, $db:ty, $for_update:literal) => {
        impl $store {
            /// A node's hash from the cache, or read from the table into it.
            async fn node_hash(
                tx: &mut sqlx::Transaction<'static, $db>,
                cache: &mut std::collections::HashMap<$crate::ledger::NodeId, $crate::ledger::Hash>,
                id: $crate::ledger::NodeId,
            ) -> $crate::store::StoreResult<$crate::ledger::Hash> {
                if let Some(h) = cache.get(&id) {
                    return Ok(*h);
                }
                let bytes: Vec<u8> = sqlx::query_scalar("SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2")
                    .bind(i64::from(id.level))
                    .bind(id.index as i64)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| {
                        $crate::store::StoreError::Corrupt(format!("log node {}/{} missing", id.level, id.index))
                    })?;
                let hash: $crate::ledger::Hash = bytes
                    .try_into()
                    .map_err(|_| $crate::store::StoreError::Corrupt("log node is not 32 bytes".into()))?;
                cache.insert(id, hash);
                Ok(hash)
            }

            /// Appends entries to the log in this transaction; returns their
            /// indices, the signed checkpoint and the nodes it touched.
            pub(crate) async fn append_log(
                tx: &mut sqlx::Transaction<'static, $db>,
                ctx: &$crate::store::LogContext,
                entries: &[Vec<u8>],
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<$crate::store::log::Appended> {
                use $crate::ledger::{append_nodes, append_plan, leaf_hash, root, root_plan};
                let size: i64 = sqlx::query_scalar(concat!("SELECT size FROM log_head WHERE id = 1", $for_update))
                    .fetch_one(&mut **tx)
                    .await?;
                let mut size = size as u64;
                let mut cache = std::collections::HashMap::new();
                // Every older node the append and the new root need is on the
                // old tree's frontier: read it at once.
                $crate::store::log::fetch_nodes!(&mut **tx, $db, root_plan(size), cache);
                let mut indices = Vec::with_capacity(entries.len());
                // Hashes are computed in memory (new nodes come from the
                // cache, older ones from the table); the rows are written
                // afterwards in a few multi-row statements.
                let mut new_nodes = Vec::with_capacity(entries.len() * 2);
                for entry in entries {
                    let mut siblings = Vec::new();
                    for id in append_plan(size) {
                        siblings.push(Self::node_hash(tx, &mut cache, id).await?);
                    }
                    let nodes = append_nodes(size, leaf_hash(entry), &siblings)
                        .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                    for (id, hash) in nodes {
                        cache.insert(id, hash);
                        new_nodes.push((id, hash));
                    }
                    indices.push(size as i64);
                    size += 1;
                }
                let rows: Vec<(i64, &Vec<u8>)> = indices.iter().copied().zip(entries).collect();
                $crate::store::multirow::insert_many!(
                    &mut **tx,
                    $db,
                    "INSERT INTO log_entries (idx, entry) ",
                    rows,
                    "",
                    |mut b, (idx, entry): &(i64, &Vec<u8>)| {
                        b.push_bind(*idx).push_bind(entry.to_vec());
                    }
                );
                $crate::store::multirow::insert_many!(
                    &mut **tx,
                    $db,
                    "INSERT INTO log_nodes (level, idx, hash) ",
                    new_nodes,
                    "",
                    |mut b, (id, hash): &($crate::ledger::NodeId, $crate::ledger::Hash)| {
                        b.push_bind(i64::from(id.level)).push_bind(id.index as i64).push_bind(hash.to_vec());
                    }
                );
                let mut needed = std::collections::HashMap::new();
                for id in root_plan(size) {
                    needed.insert(id, Self::node_hash(tx, &mut cache, id).await?);
                }
                let head = root(size, &needed).map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                let checkpoint = $crate::ledger::Checkpoint { origin: ctx.origin.clone(), size, root: head };
                let note = ctx
                    .signer
                    .sign_checkpoint(&checkpoint)
                    .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE log_head SET size = $1 WHERE id = 1").bind(size as i64).execute(&mut **tx).await?;
                sqlx::query("INSERT INTO log_checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4)")
                    .bind(size as i64)
                    .bind(head.as_slice())
                    .bind(&note)
                    .bind($crate::store::to_micros(now))
                    .execute(&mut **tx)
                    .await?;
                Ok($crate::store::log::Appended { indices, size, note, nodes: cache })
            }
        }
    };
}
pub(crate) use shared_log_impl;
