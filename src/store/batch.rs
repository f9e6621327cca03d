//! Group commit of sealed-bid submissions: many bids recorded in one
//! transaction with one new checkpoint (instantiated per backend like
//! `shared.rs`). Each bid is checked on its own inside the transaction and
//! fails alone; the others still land.

use super::{Event, StoreResult, StoredBid};

/// What one submission of a batch became.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The stored bid (for a retry: the bid stored earlier).
    pub bid: StoredBid,
    /// The `bid.received` event when the bid is new; `None` when the same
    /// envelope had been received already (the retry gets the same receipt).
    pub event: Option<Event>,
    /// The receipt, when the batch could build it from the nodes it wrote
    /// (new bids); otherwise the caller reads it from the log.
    pub receipt: Option<crate::ledger::Receipt>,
}

/// The outcome of every submission of a batch, in the batch's order.
pub type BatchResult = StoreResult<Vec<StoreResult<Submitted>>>;

/// A tender of the batch, locked for the whole transaction.
pub(crate) struct LockedTender {
    pub tender: crate::domain::Tender,
    /// Last event sequence number (moves with each bid of the batch).
    pub seq: i64,
    /// Standing bids (moves with each new, non-replacing bid).
    pub active: i64,
    /// A bid of this batch was recorded for it.
    pub changed: bool,
}

/// Generates the backend's `submit_batch(bids)`.
macro_rules! shared_batch_impl {
    ($store:ty, $db:ty, $for_update:literal) => {
        impl $store {
            /// Records every bid that passes its checks in one transaction:
            /// tenders locked in id order, then the log head (the order every
            /// writer uses, so nodes never deadlock), one checkpoint at the end.
            pub(crate) async fn submit_batch(&self, bids: &[$crate::store::NewBid]) -> $crate::store::batch::BatchResult {
                use $crate::store::StoreError;
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let now_us = $crate::store::to_micros(now);
                let mut ids: Vec<uuid::Uuid> = bids.iter().map(|b| b.tender_id).collect();
                ids.sort();
                ids.dedup();
                let mut tenders = std::collections::HashMap::new();
                for id in ids {
                    let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row) = row else { continue };
                    let stored = $crate::store::shared::tender_from_row(&row)?;
                    let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active'")
                        .bind(id.to_string())
                        .fetch_one(&mut *tx)
                        .await?;
                    let locked = $crate::store::batch::LockedTender { tender: stored.tender, seq: stored.last_seq, active, changed: false };
                    tenders.insert(id, locked);
                }
                let base: i64 = sqlx::query_scalar(concat!("SELECT size FROM log_head WHERE id = 1", $for_update))
                    .fetch_one(&mut *tx)
                    .await?;
                let mut entries: Vec<Vec<u8>> = Vec::new();
                let mut results = Vec::with_capacity(bids.len());
                for bid in bids {
                    let next = base + entries.len() as i64;
                    let r = Self::batch_one(&mut tx, bid, now, &mut tenders, next).await;
                    // A database failure aborts the transaction (PostgreSQL):
                    // the whole batch fails, and its callers may retry.
                    if let Err(StoreError::Db(e)) = r {
                        return Err(StoreError::Db(e));
                    }
                    if let Ok((_, Some(entry))) = &r {
                        entries.push(entry.clone());
                    }
                    results.push(r);
                }
                let size = base + entries.len() as i64;
                let mut appended = None;
                if !entries.is_empty() {
                    let done = Self::append_log(&mut tx, self.log(), &entries, now).await?;
                    if done.indices.first() != Some(&base) {
                        return Err(StoreError::Corrupt("the log moved while its head was locked".into()));
                    }
                    sqlx::query("UPDATE bids SET receipt_size = $1 WHERE log_index >= $2 AND log_index < $1")
                        .bind(size)
                        .bind(base)
                        .execute(&mut *tx)
                        .await?;
                    appended = Some(done);
                }
                for (id, t) in &tenders {
                    if t.changed {
                        sqlx::query("UPDATE tenders SET last_seq = $2, updated_at = $3 WHERE id = $1")
                            .bind(id.to_string())
                            .bind(t.seq)
                            .bind(now_us)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                // Bids of this batch (new ones and in-batch retries) prove
                // inclusion in the batch's checkpoint; new ones get their
                // receipt from the nodes the append touched.
                Ok(results
                    .into_iter()
                    .map(|r| {
                        r.map(|(mut s, entry)| {
                            if s.bid.log_index >= base {
                                s.bid.receipt_size = size;
                            }
                            if let (Some(entry), Some(done)) = (entry, &appended) {
                                let index = s.bid.log_index as u64;
                                s.receipt = done.receipt(index, &entry, &s.bid.envelope_hash, s.bid.received_at);
                            }
                            s
                        })
                    })
                    .collect())
            }

            /// Checks and records one bid of a batch; returns it and, when
            /// new, its log entry. Every check runs before the first write, so
            /// a refused bid writes nothing.
            async fn batch_one(
                tx: &mut sqlx::Transaction<'static, $db>,
                bid: &$crate::store::NewBid,
                now: time::OffsetDateTime,
                tenders: &mut std::collections::HashMap<uuid::Uuid, $crate::store::batch::LockedTender>,
                log_index: i64,
            ) -> $crate::store::StoreResult<($crate::store::Submitted, Option<Vec<u8>>)> {
                use $crate::store::StoreError;
                let now_us = $crate::store::to_micros(now);
                let t = tenders.get_mut(&bid.tender_id).ok_or(StoreError::NotFound("tender"))?;
                // A retry gets its receipt even after the deadline; it sees
                // this batch's own rows too.
                if let Some(existing) = Self::batch_existing(tx, &bid.envelope_hash).await? {
                    return Ok(($crate::store::Submitted { bid: existing, event: None, receipt: None }, None));
                }
                $crate::domain::bid::check_accepting(&t.tender, now)?;
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE id = $1")
                    .bind(bid.id.to_string())
                    .fetch_one(&mut **tx)
                    .await?;
                if taken > 0 {
                    return Err(StoreError::Conflict("a bid with this id or envelope was already received".into()));
                }
                let previous: Option<(String, Vec<u8>)> = sqlx::query_as(
                    "SELECT id, envelope_hash FROM bids WHERE tender_id = $1 AND bidder_id = $2 AND lot = $3 AND status = 'active'",
                )
                .bind(bid.tender_id.to_string())
                .bind(&bid.bidder_id)
                .bind(&bid.lot)
                .fetch_optional(&mut **tx)
                .await?;
                let active = if previous.is_some() { t.active } else { t.active + 1 };
                let seq = t.seq + 1;
                let draft = $crate::domain::EventDraft::new(
                    $crate::domain::EventKind::BidReceived,
                    serde_json::json!({
                        "envelope_hash": hex::encode(bid.envelope_hash),
                        "lot": bid.lot,
                        "replaces": previous.as_ref().map(|(_, h)| hex::encode(h)),
                        "bids_received": active,
                    }),
                );
                let entry = $crate::store::log::encode_event(bid.tender_id, seq, now, draft)?;
                let blobs = serde_json::to_string(&bid.blobs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // Another node may insert the same id or envelope between our
                // check and this insert; DO NOTHING keeps the transaction alive.
                let inserted = sqlx::query(
                    "INSERT INTO bids (id, tender_id, bidder_id, lot, envelope_hash, signature, blobs, total_bytes, received_at, status, log_index, receipt_size) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, 0) ON CONFLICT DO NOTHING",
                )
                .bind(bid.id.to_string())
                .bind(bid.tender_id.to_string())
                .bind(&bid.bidder_id)
                .bind(&bid.lot)
                .bind(bid.envelope_hash.as_slice())
                .bind(bid.signature.as_slice())
                .bind(&blobs)
                .bind(bid.total_bytes)
                .bind(now_us)
                .bind(log_index)
                .execute(&mut **tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    if let Some(existing) = Self::batch_existing(tx, &bid.envelope_hash).await? {
                        return Ok(($crate::store::Submitted { bid: existing, event: None, receipt: None }, None));
                    }
                    return Err(StoreError::Conflict("a bid with this id or envelope was already received".into()));
                }
                if let Some((prev_id, _)) = &previous {
                    sqlx::query("UPDATE bids SET status = 'replaced', ended_at = $2 WHERE id = $1")
                        .bind(prev_id)
                        .bind(now_us)
                        .execute(&mut **tx)
                        .await?;
                }
                let event = $crate::store::log::event_from_entry(&entry, log_index)?;
                sqlx::query("INSERT INTO events (tender_id, seq, kind, at, log_index) VALUES ($1, $2, $3, $4, $5)")
                    .bind(bid.tender_id.to_string())
                    .bind(seq)
                    .bind(&event.kind)
                    .bind(now_us)
                    .bind(log_index)
                    .execute(&mut **tx)
                    .await?;
                t.seq = seq;
                t.active = active;
                t.changed = true;
                let stored = $crate::store::StoredBid {
                    id: bid.id,
                    tender_id: bid.tender_id,
                    bidder_id: bid.bidder_id.clone(),
                    lot: bid.lot.clone(),
                    envelope_hash: hex::encode(bid.envelope_hash),
                    blobs: bid.blobs.clone(),
                    status: $crate::domain::bid::BidStatus::Active,
                    received_at: now,
                    log_index,
                    receipt_size: log_index + 1,
                    withdrawal: None,
                };
                Ok(($crate::store::Submitted { bid: stored, event: Some(event), receipt: None }, Some(entry)))
            }

            async fn batch_existing(
                tx: &mut sqlx::Transaction<'static, $db>,
                hash: &[u8; 32],
            ) -> $crate::store::StoreResult<Option<$crate::store::StoredBid>> {
                let row = sqlx::query(concat!($crate::store::bids::BID_COLUMNS!(), " WHERE envelope_hash = $1"))
                    .bind(hash.as_slice())
                    .fetch_optional(&mut **tx)
                    .await?;
                row.as_ref().map($crate::store::bids::bid_from_row).transpose()
            }
        }
    };
}
pub(crate) use shared_batch_impl;
