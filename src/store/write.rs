//! The one way to append to a tender's event stream and the log.
//!
//! Every writer follows the same rule, written only here:
//!
//! 1. [`Write::begin`] starts the transaction and reads the clock;
//! 2. [`Write::lock_tender`] locks each tender it changes, in id order when
//!    there are several;
//! 3. [`Write::append_events`] locks the log head (after the tenders: the
//!    order every writer uses, so nodes never deadlock) and gives the events
//!    their sequence numbers and log indices, in memory ([`Pending`]);
//! 4. [`Write::finish`] writes the log entries and nodes, the event rows and
//!    each changed tender's `last_seq` (or its new document), signs one
//!    checkpoint for the whole transaction and commits.
//!
//! A new event kind therefore needs no new SQL, and a batch that appends for
//! several tenders signs one checkpoint.

use std::collections::{BTreeMap, HashMap};

use sqlx::{ColumnIndex, Executor, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::log::{encode_event, event_from_entry};
use super::{Event, LogContext, StoreError, StoreResult, to_micros};
use crate::domain::{EventDraft, Tender};
use crate::ledger::{self, Hash, NodeId};

/// A tender locked for the rest of its transaction.
#[derive(Debug, Clone)]
pub(crate) struct LockedTender {
    /// The tender as stored.
    pub tender: Tender,
    /// Sequence number of its last event (moves with each appended event).
    pub last_seq: i64,
    /// Its standing (active) bids when locked; writers that change the
    /// count keep it current.
    pub standing: i64,
    /// The tender's new document, when the transaction changed the tender
    /// itself (written back by [`Write::finish`]).
    doc: Option<String>,
    /// An event was appended to its stream.
    appended: bool,
}

impl LockedTender {
    /// A locked tender as read (also used by tests of pure planning).
    pub(crate) fn new(tender: Tender, last_seq: i64, standing: i64) -> Self {
        LockedTender { tender, last_seq, standing, doc: None, appended: false }
    }
}

/// One `events` row to write.
struct EventRow {
    tender: Uuid,
    seq: i64,
    kind: String,
    log_index: i64,
}

/// What a transaction appends, kept in memory until [`Write::finish`]: the
/// locked tenders, and the log entries in order, the first at `base`.
pub(crate) struct Pending {
    now: OffsetDateTime,
    /// The log size when its head was locked (`None`: not locked yet).
    base: Option<i64>,
    tenders: BTreeMap<Uuid, LockedTender>,
    entries: Vec<Vec<u8>>,
    events: Vec<EventRow>,
}

impl Pending {
    /// Nothing appended yet; `base` is the log size if the head is locked.
    pub(crate) fn new(now: OffsetDateTime, base: Option<i64>) -> Self {
        Pending { now, base, tenders: BTreeMap::new(), entries: Vec::new(), events: Vec::new() }
    }

    /// Adds a locked tender.
    pub(crate) fn insert(&mut self, id: Uuid, locked: LockedTender) {
        self.tenders.insert(id, locked);
    }

    /// A locked tender.
    pub(crate) fn tender(&self, id: Uuid) -> Option<&LockedTender> {
        self.tenders.get(&id)
    }

    /// A locked tender, to keep its standing count current.
    pub(crate) fn tender_mut(&mut self, id: Uuid) -> Option<&mut LockedTender> {
        self.tenders.get_mut(&id)
    }

    /// The time authority's now of the transaction.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The log size when its head was locked.
    pub(crate) fn base(&self) -> StoreResult<i64> {
        self.base.ok_or_else(|| StoreError::Invariant("the log head is not locked".into()))
    }

    /// The log index the next appended entry gets.
    pub(crate) fn next_index(&self) -> StoreResult<i64> {
        Ok(self.base()? + self.entries.len() as i64)
    }

    /// The log size once these entries are written.
    pub(crate) fn size(&self) -> StoreResult<i64> {
        self.next_index()
    }

    /// Appends one event to a locked tender's stream: its sequence number,
    /// log entry and log index. Nothing is written until `finish`.
    pub(crate) fn append(&mut self, tender: Uuid, draft: EventDraft) -> StoreResult<Event> {
        let log_index = self.next_index()?;
        let t = self
            .tenders
            .get_mut(&tender)
            .ok_or_else(|| StoreError::Invariant(format!("tender {tender} appended to without its lock")))?;
        let seq = t.last_seq + 1;
        let entry = encode_event(tender, seq, self.now, draft)?;
        let event = event_from_entry(&entry, log_index)?;
        t.last_seq = seq;
        t.appended = true;
        self.events.push(EventRow { tender, seq, kind: event.kind.clone(), log_index });
        self.entries.push(entry);
        Ok(event)
    }

    /// Replaces a locked tender's document (a state transition); `doc` is
    /// its JSON, written back by `finish`.
    pub(crate) fn rewrite(&mut self, id: Uuid, tender: Tender, doc: String) -> StoreResult<()> {
        let t = self
            .tenders
            .get_mut(&id)
            .ok_or_else(|| StoreError::Invariant(format!("tender {id} rewritten without its lock")))?;
        t.tender = tender;
        t.doc = Some(doc);
        Ok(())
    }
}

/// What an append wrote: the new checkpoint, the entries, and every node
/// the append computed or read, which covers the inclusion proof of each
/// appended entry in the new tree (the left siblings older than the append
/// are the old tree's frontier, which the append reads).
pub(crate) struct Appended {
    /// Log index of the first entry.
    pub base: i64,
    /// The new tree size.
    pub size: u64,
    /// The signed checkpoint of that size.
    pub note: String,
    /// The appended entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// Nodes the append computed or read.
    pub nodes: HashMap<NodeId, Hash>,
}

impl Appended {
    /// The receipt of the appended entry at `index`; `None` if it is not
    /// one of this append's entries or a node is missing (the caller then
    /// reads the proof from the table).
    pub fn receipt(&self, index: i64, envelope_hash: &str, at: OffsetDateTime) -> Option<ledger::Receipt> {
        let entry = self.entries.get(usize::try_from(index - self.base).ok()?)?;
        let inclusion = ledger::inclusion_proof(index as u64, self.size, &self.nodes).ok()?;
        Some(ledger::Receipt {
            checkpoint: self.note.clone(),
            leaf_index: index as u64,
            tree_size: self.size,
            inclusion,
            entry: entry.clone(),
            envelope_hash: envelope_hash.to_string(),
            received_at: at,
        })
    }
}

/// A write transaction that may append events.
pub(crate) struct Write<DB: Backend> {
    /// The transaction, for the writer's own statements.
    pub tx: Transaction<'static, DB>,
    /// The time authority's now, read once at the start.
    pub now: OffsetDateTime,
    /// What the transaction appends.
    pub pending: Pending,
}

impl<DB: Backend> Write<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    /// Begins a write transaction on `store` and reads the clock.
    pub(crate) async fn begin(store: &SqlStore<DB>) -> StoreResult<Self> {
        let mut tx = store.write.begin().await?;
        let now = DB::clock(&mut tx).await?;
        Ok(Write { tx, now, pending: Pending::new(now, None) })
    }

    /// The clock as stored (microseconds).
    pub(crate) fn now_us(&self) -> i64 {
        to_micros(self.now)
    }

    /// Locks a tender for the rest of the transaction and reads it with its
    /// count of standing bids (one round trip).
    pub(crate) async fn lock_tender(&mut self, id: Uuid) -> StoreResult<LockedTender> {
        if let Some(t) = self.pending.tender(id) {
            return Ok(t.clone());
        }
        let sql = format!(
            "SELECT doc, last_seq, \
             (SELECT COUNT(*) FROM bids WHERE bids.tender_id = tenders.id AND bids.status = 'active') AS standing \
             FROM tenders WHERE id = $1{}",
            DB::FOR_UPDATE
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound("tender"))?;
        let stored = super::shared::tender_from_row(&row)?;
        let locked = LockedTender::new(stored.tender, stored.last_seq, row.try_get("standing")?);
        self.pending.insert(id, locked.clone());
        Ok(locked)
    }

    /// Locks the log head (once per transaction) and learns its size.
    pub(crate) async fn lock_log(&mut self) -> StoreResult<()> {
        if self.pending.base.is_none() {
            let sql = format!("SELECT size FROM log_head WHERE id = 1{}", DB::FOR_UPDATE);
            let size: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *self.tx).await?;
            self.pending.base = Some(size);
        }
        Ok(())
    }

    /// Appends events to a locked tender's stream; returns them as they will
    /// be published once `finish` commits.
    pub(crate) async fn append_events(&mut self, tender: Uuid, drafts: Vec<EventDraft>) -> StoreResult<Vec<Event>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        self.lock_log().await?;
        drafts.into_iter().map(|d| self.pending.append(tender, d)).collect()
    }

    /// Writes a row of the staff-only trail of tender changes.
    pub(crate) async fn audit(&mut self, tender: Uuid, actor: &str, action: &str, doc: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO tender_audit (tender_id, at, actor, action, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(tender.to_string())
            .bind(self.now_us())
            .bind(actor.to_string())
            .bind(action.to_string())
            .bind(doc.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Writes what the transaction appended (log entries and nodes, one
    /// signed checkpoint, event rows) and each changed tender, then commits.
    /// Returns the append, if there was one.
    pub(crate) async fn finish(mut self, ctx: &LogContext) -> StoreResult<Option<Appended>> {
        let now_us = self.now_us();
        let pending = std::mem::replace(&mut self.pending, Pending::new(self.now, None));
        let appended = match pending.base {
            Some(base) if !pending.entries.is_empty() => {
                let appended = self.append_log(ctx, base, pending.entries).await?;
                let events = &pending.events;
                SqlStore::<DB>::insert_many(
                    &mut self.tx,
                    "INSERT INTO events (tender_id, seq, kind, at, log_index) ",
                    events,
                    "",
                    |mut b, e| {
                        b.push_bind(e.tender.to_string())
                            .push_bind(e.seq)
                            .push_bind(&e.kind)
                            .push_bind(now_us)
                            .push_bind(e.log_index);
                    },
                )
                .await?;
                Some(appended)
            }
            _ => None,
        };
        for (id, t) in &pending.tenders {
            if let Some(doc) = &t.doc {
                sqlx::query(
                    "UPDATE tenders SET state = $2, deadline = $3, opening_at = $4, updated_at = $5, last_seq = $6, \
                     doc = $7, title = $8, buyer = $9, reference = $10, session_due = NULLIF(CAST($11 AS BIGINT), -1) WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(t.tender.state.as_str().to_string())
                .bind(to_micros(t.tender.deadline))
                .bind(to_micros(t.tender.opening_at))
                .bind(now_us)
                .bind(t.last_seq)
                .bind(doc)
                .bind(&t.tender.title)
                .bind(&t.tender.buyer)
                .bind(&t.tender.reference)
                // -1 stands for none: the backends share one generic bind of i64.
                .bind(t.tender.session_due().map_or(-1, to_micros))
                .execute(&mut *self.tx)
                .await?;
            } else if t.appended {
                sqlx::query("UPDATE tenders SET last_seq = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(t.last_seq)
                    .bind(now_us)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        self.tx.commit().await?;
        Ok(appended)
    }

    /// Appends `entries` to the log at `base` (the locked head's size):
    /// computes the new nodes in memory from the old tree's frontier, writes
    /// entries and nodes in a few multi-row statements, moves the head and
    /// signs the checkpoint of the new size.
    async fn append_log(&mut self, ctx: &LogContext, base: i64, entries: Vec<Vec<u8>>) -> StoreResult<Appended> {
        let tx = &mut self.tx;
        let mut size = base as u64;
        let mut cache = HashMap::new();
        // Every older node the append and the new root need is on the old
        // tree's frontier: read it at once.
        SqlStore::<DB>::fetch_nodes(tx, &ledger::root_plan(size), &mut cache).await?;
        let mut new_nodes = Vec::with_capacity(entries.len() * 2);
        for entry in &entries {
            let mut siblings = Vec::new();
            for id in ledger::append_plan(size) {
                siblings.push(node_hash(tx, &mut cache, id).await?);
            }
            let nodes = ledger::append_nodes(size, ledger::leaf_hash(entry), &siblings)
                .map_err(|e| StoreError::Corrupt(format!("log tree: {e}")))?;
            for (id, hash) in nodes {
                cache.insert(id, hash);
                new_nodes.push((id, hash));
            }
            size += 1;
        }
        SqlStore::<DB>::insert_many(tx, "INSERT INTO log_entries (idx, entry) ", &entries, "", {
            let mut idx = base;
            move |mut b, entry| {
                b.push_bind(idx).push_bind(entry);
                idx += 1;
            }
        })
        .await?;
        SqlStore::<DB>::insert_many(
            tx,
            "INSERT INTO log_nodes (level, idx, hash) ",
            &new_nodes,
            "",
            |mut b, (id, hash)| {
                b.push_bind(i64::from(id.level)).push_bind(id.index as i64).push_bind(hash.to_vec());
            },
        )
        .await?;
        let mut needed = HashMap::new();
        for id in ledger::root_plan(size) {
            needed.insert(id, node_hash(tx, &mut cache, id).await?);
        }
        let head = ledger::root(size, &needed).map_err(|e| StoreError::Corrupt(format!("log tree: {e}")))?;
        let checkpoint = ledger::Checkpoint { origin: ctx.origin.clone(), size, root: head };
        let note = ctx.signer.sign_checkpoint(&checkpoint).map_err(StoreError::Sign)?;
        sqlx::query("UPDATE log_head SET size = $1 WHERE id = 1").bind(size as i64).execute(&mut **tx).await?;
        sqlx::query("INSERT INTO log_checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4)")
            .bind(size as i64)
            .bind(head.to_vec())
            .bind(&note)
            .bind(to_micros(self.now))
            .execute(&mut **tx)
            .await?;
        Ok(Appended { base, size, note, entries, nodes: cache })
    }
}

/// A node's hash from the cache, or read from the table into it (the
/// frontier read normally leaves nothing to read here).
async fn node_hash<DB: Backend>(
    tx: &mut Transaction<'static, DB>,
    cache: &mut HashMap<NodeId, Hash>,
    id: NodeId,
) -> StoreResult<Hash>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    if let Some(h) = cache.get(&id) {
        return Ok(*h);
    }
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2")
        .bind(i64::from(id.level))
        .bind(id.index as i64)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("log node {}/{} missing", id.level, id.index)))?;
    let hash: Hash = bytes.try_into().map_err(|_| StoreError::Corrupt("log node is not 32 bytes".into()))?;
    cache.insert(id, hash);
    Ok(hash)
}
