//! Group commit of sealed-bid submissions: many bids recorded in one
//! transaction with one new checkpoint. What the checks need is read once
//! for the whole batch, each bid is then checked and planned in memory
//! ([`plan_bid`], no I/O) and fails alone, and the rows are written in a few
//! multi-row statements: a batch costs a handful of round trips, not
//! several per bid. Its events go through the store's one append primitive
//! (`write.rs`), for several tenders at once.

use std::collections::{HashMap, HashSet};

use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::bids::{BID_COLUMNS, bid_from_row};
use super::multirow::ROWS_PER_STATEMENT;
use super::shared::parse_uuid;
use super::write::{Pending, Write};
use super::{Event, NewBid, StoreError, StoreResult, StoredBid};
use crate::domain::EventDraft;
use crate::domain::bid::{BidStatus, check_accepting};

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

/// What the batch's checks need, read once and kept current as the batch's
/// own bids are planned (a later bid of the batch sees the earlier ones).
#[derive(Default)]
pub(crate) struct Known {
    /// Bids by envelope hash.
    pub by_envelope: HashMap<[u8; 32], StoredBid>,
    /// Bid ids in use.
    pub ids: HashSet<Uuid>,
    /// The standing bid of each (tender, bidder, lot): its id and envelope hash.
    pub standing: HashMap<(Uuid, String, String), (Uuid, [u8; 32])>,
}

/// A `bids` row to insert.
pub(crate) struct BidRow {
    pub id: String,
    pub tender_id: String,
    pub bidder_id: String,
    pub lot: String,
    pub envelope_hash: Vec<u8>,
    pub signature: Vec<u8>,
    pub blobs: String,
    pub total_bytes: i64,
    pub log_index: i64,
}

/// The rows a batch writes besides its events.
#[derive(Default)]
pub(crate) struct Plan {
    pub bids: Vec<BidRow>,
    /// Ids of bids the batch replaces (possibly bids of this batch).
    pub replaced: Vec<String>,
}

/// Checks one bid of a batch against what is known, appends its event to
/// `pending` and plans its rows; a refused bid plans nothing.
pub(crate) fn plan_bid(
    bid: &NewBid,
    pending: &mut Pending,
    known: &mut Known,
    plan: &mut Plan,
) -> StoreResult<Submitted> {
    let now = pending.now();
    let t = pending.tender(bid.tender_id).ok_or(StoreError::NotFound("tender"))?;
    // A retry gets its bid even after the deadline, as it stands now
    // (withdrawn or replaced ones too: the caller answers those) — but only
    // within the tender its envelope was received for.
    if let Some(existing) = known.by_envelope.get(&bid.envelope_hash) {
        if existing.tender_id != bid.tender_id {
            return Err(StoreError::Conflict("this envelope was received for another tender".into()));
        }
        return Ok(Submitted { bid: existing.clone(), event: None, receipt: None });
    }
    check_accepting(&t.tender, now)?;
    if known.ids.contains(&bid.id) {
        return Err(StoreError::Conflict("a bid with this id or envelope was already received".into()));
    }
    let slot = (bid.tender_id, bid.bidder_id.clone(), bid.lot.clone());
    let previous = known.standing.get(&slot).copied();
    let standing = if previous.is_some() { t.standing } else { t.standing + 1 };
    let draft = EventDraft::bid_received(bid.envelope_hash, &bid.lot, previous.map(|(_, h)| h), standing);
    let blobs = serde_json::to_string(&bid.blobs).map_err(|e| StoreError::Encode(format!("bid blobs: {e}")))?;
    let event = pending.append(bid.tender_id, draft)?;
    if let Some(t) = pending.tender_mut(bid.tender_id) {
        t.standing = standing;
    }
    let log_index = event.log_index;
    plan.bids.push(BidRow {
        id: bid.id.to_string(),
        tender_id: bid.tender_id.to_string(),
        bidder_id: bid.bidder_id.clone(),
        lot: bid.lot.clone(),
        envelope_hash: bid.envelope_hash.to_vec(),
        signature: bid.signature.clone(),
        blobs,
        total_bytes: bid.total_bytes,
        log_index,
    });
    if let Some((prev, prev_hash)) = previous {
        plan.replaced.push(prev.to_string());
        // A retry of the replaced envelope later in the batch sees it replaced.
        if let Some(replaced) = known.by_envelope.get_mut(&prev_hash) {
            replaced.status = BidStatus::Replaced;
            replaced.ended_at = Some(now);
        }
    }
    let stored = StoredBid {
        id: bid.id,
        tender_id: bid.tender_id,
        bidder_id: bid.bidder_id.clone(),
        lot: bid.lot.clone(),
        envelope_hash: hex::encode(bid.envelope_hash),
        blobs: bid.blobs.clone(),
        status: BidStatus::Active,
        received_at: now,
        log_index,
        receipt_size: log_index + 1,
        withdrawal: None,
        ended_at: None,
    };
    known.by_envelope.insert(bid.envelope_hash, stored.clone());
    known.ids.insert(bid.id);
    known.standing.insert(slot, (bid.id, bid.envelope_hash));
    Ok(Submitted { bid: stored, event: Some(event), receipt: None })
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
    /// Records every bid that passes its checks in one transaction:
    /// tenders locked in id order, then the log head, one checkpoint at the
    /// end.
    pub(crate) async fn submit_batch(&self, bids: &[NewBid]) -> BatchResult {
        let started = std::time::Instant::now();
        let mut w = Write::begin(self).await?;
        let now_us = w.now_us();
        let mut ids: Vec<Uuid> = bids.iter().map(|b| b.tender_id).collect();
        ids.sort();
        ids.dedup();
        for id in &ids {
            // A bid for an unknown tender fails alone, in `plan_bid`.
            match w.lock_tender(*id).await {
                Ok(_) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        w.lock_log().await?;
        let locked = started.elapsed();
        let mut known = batch_known(&mut w, bids, &ids).await?;
        let read = started.elapsed();
        let mut plan = Plan::default();
        let results: Vec<_> = bids.iter().map(|bid| plan_bid(bid, &mut w.pending, &mut known, &mut plan)).collect();
        let base = w.pending.base()?;
        let size = w.pending.size()?;
        if !plan.bids.is_empty() {
            // The new bids' small ciphertexts, durable by this commit.
            let new = bids.iter().zip(&results).filter(|(_, r)| matches!(r, Ok(s) if s.event.is_some()));
            Self::insert_small_ciphertexts(&mut w.tx, new.map(|(b, _)| b)).await?;
            // Another node may have taken a planned id meanwhile (the
            // tender locks cover the rest): then nothing is kept, and the
            // committer retries with fresh reads.
            let inserted = Self::insert_many(
                &mut w.tx,
                "INSERT INTO bids (id, tender_id, bidder_id, lot, envelope_hash, signature, blobs, total_bytes, \
                 received_at, status, log_index, receipt_size) ",
                &plan.bids,
                " ON CONFLICT DO NOTHING",
                |mut b, r| {
                    b.push_bind(&r.id)
                        .push_bind(&r.tender_id)
                        .push_bind(&r.bidder_id)
                        .push_bind(&r.lot)
                        .push_bind(&r.envelope_hash)
                        .push_bind(&r.signature)
                        .push_bind(&r.blobs)
                        .push_bind(r.total_bytes)
                        .push_bind(now_us)
                        .push("'active'")
                        .push_bind(r.log_index)
                        .push_bind(size);
                },
            )
            .await?;
            if inserted != plan.bids.len() as u64 {
                return Err(StoreError::Batch("another node recorded a bid with the same id meanwhile".into()));
            }
            for chunk in plan.replaced.chunks(ROWS_PER_STATEMENT) {
                let mut qb = QueryBuilder::<DB>::new("UPDATE bids SET status = 'replaced', ended_at = ");
                qb.push_bind(now_us).push(" WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                qb.push(")");
                qb.build().execute(&mut *w.tx).await?;
            }
        }
        let written = started.elapsed();
        let appended = w.finish(self.log()).await?;
        tracing::trace!(
            target: "bidroom::store::committer",
            lock_us = locked.as_micros() as u64,
            read_us = (read - locked).as_micros() as u64,
            write_us = (written - read).as_micros() as u64,
            commit_us = (started.elapsed() - written).as_micros() as u64,
            "batch stages"
        );
        // Bids of this batch (new ones and in-batch retries) prove inclusion
        // in the batch's checkpoint; new ones get their receipt from the
        // nodes the append touched.
        Ok(results
            .into_iter()
            .map(|r| {
                r.map(|mut s| {
                    if s.bid.log_index >= base {
                        s.bid.receipt_size = size;
                    }
                    if let (Some(_), Some(done)) = (&s.event, &appended) {
                        s.receipt = done.receipt(s.bid.log_index, &s.bid.envelope_hash, s.bid.received_at);
                    }
                    s
                })
            })
            .collect())
    }
}

/// Reads, in a few statements, what checking the batch needs: the bids with
/// these envelopes, the ids in use, and the standing bids of these bidders
/// in these tenders.
async fn batch_known<DB: Backend>(w: &mut Write<DB>, bids: &[NewBid], tenders: &[Uuid]) -> StoreResult<Known>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    let mut known = Known::default();
    for chunk in bids.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<DB>::new(format!("{BID_COLUMNS} WHERE envelope_hash IN ("));
        let mut list = qb.separated(", ");
        for b in chunk {
            list.push_bind(b.envelope_hash.to_vec());
        }
        qb.push(")");
        for row in qb.build().fetch_all(&mut *w.tx).await? {
            let stored = bid_from_row(&row)?;
            known.by_envelope.insert(envelope_hash(&row)?, stored);
        }
        let mut qb = QueryBuilder::<DB>::new("SELECT id FROM bids WHERE id IN (");
        let mut list = qb.separated(", ");
        for b in chunk {
            list.push_bind(b.id.to_string());
        }
        qb.push(")");
        for row in qb.build().fetch_all(&mut *w.tx).await? {
            let id: String = row.try_get("id")?;
            known.ids.insert(parse_uuid(&id)?);
        }
    }
    for tender in tenders {
        let mut bidders: Vec<&str> =
            bids.iter().filter(|b| b.tender_id == *tender).map(|b| b.bidder_id.as_str()).collect();
        bidders.sort_unstable();
        bidders.dedup();
        for chunk in bidders.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(
                "SELECT id, bidder_id, lot, envelope_hash FROM bids WHERE status = 'active' AND tender_id = ",
            );
            qb.push_bind(tender.to_string()).push(" AND bidder_id IN (");
            let mut list = qb.separated(", ");
            for bidder in chunk {
                list.push_bind(bidder.to_string());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut *w.tx).await? {
                let id: String = row.try_get("id")?;
                let slot = (*tender, row.try_get::<String, _>("bidder_id")?, row.try_get::<String, _>("lot")?);
                known.standing.insert(slot, (parse_uuid(&id)?, envelope_hash(&row)?));
            }
        }
    }
    Ok(known)
}

/// The `envelope_hash` column of a bid row.
fn envelope_hash<R: Row>(row: &R) -> StoreResult<[u8; 32]>
where
    for<'a> &'a str: ColumnIndex<R>,
    Vec<u8>: Column<R::Database>,
{
    let hash: Vec<u8> = row.try_get("envelope_hash")?;
    hash.try_into().map_err(|_| StoreError::Corrupt("envelope hash is not 32 bytes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Tender, TenderState};
    use crate::store::write::LockedTender;

    fn tender() -> Tender {
        let draft: crate::domain::TenderDraft = serde_json::from_value(serde_json::json!({
            "title": "t", "reference": "r", "buyer": "b", "currency": "EUR",
            "lots": [{"id": "1", "title": "l", "fields": [{"key": "price", "label": {"zh": "价", "en": "Price"}, "type": "money", "required": true}]}],
            "deadline": "2026-11-27T10:00:00Z",
            "limits": {"max_documents": 2, "max_bid_bytes": 10000}
        }))
        .unwrap();
        let mut t = Tender::create(Uuid::nil(), draft, time::macros::datetime!(2026-11-27 08:00 UTC)).unwrap();
        t.state = TenderState::Published;
        t
    }

    fn bid(bidder: &str, hash: u8) -> NewBid {
        NewBid {
            id: Uuid::new_v4(),
            tender_id: Uuid::nil(),
            bidder_id: bidder.into(),
            lot: "1".into(),
            envelope_hash: [hash; 32],
            signature: vec![0; 64],
            blobs: vec![hex::encode([hash; 32])],
            total_bytes: 10,
            inline: Vec::new(),
        }
    }

    /// Replacement, retry and reused id inside one batch, planned in order.
    #[test]
    fn later_bids_of_a_batch_see_the_earlier_ones() {
        let t = tender();
        let now = t.deadline - time::Duration::minutes(1);
        let mut pending = Pending::new(now, Some(100));
        pending.insert(Uuid::nil(), LockedTender::new(t.clone(), 4, 1));
        let mut known = Known::default();
        // Bidder "b" already has a standing bid from an earlier batch.
        let standing_id = Uuid::new_v4();
        known.standing.insert((Uuid::nil(), "b".into(), "1".into()), (standing_id, [9; 32]));
        let mut plan = Plan::default();
        let first = bid("a", 1);
        let mut reused = bid("c", 3);
        reused.id = first.id;
        let batch = [first.clone(), bid("a", 2), first.clone(), bid("b", 4), reused];
        let results: Vec<_> = batch.iter().map(|b| plan_bid(b, &mut pending, &mut known, &mut plan)).collect();
        let new_a = results[0].as_ref().unwrap();
        assert_eq!((new_a.bid.log_index, new_a.event.as_ref().map(|e| e.seq)), (100, Some(5)));
        let replacing = results[1].as_ref().unwrap();
        let data = &replacing.event.as_ref().unwrap().data;
        assert_eq!(data["replaces"], hex::encode([1u8; 32]));
        assert_eq!(data["bids_received"], 2, "a replacement does not add a standing bid");
        let retry = results[2].as_ref().unwrap();
        assert!(retry.event.is_none(), "a retry in the same batch is answered, not recorded");
        assert_eq!(retry.bid.id, first.id);
        assert_eq!(retry.bid.status, BidStatus::Replaced, "the batch's second bid of \"a\" replaced it");
        let b = results[3].as_ref().unwrap();
        assert_eq!(b.event.as_ref().unwrap().data["replaces"], hex::encode([9u8; 32]));
        assert!(matches!(results[4], Err(StoreError::Conflict(_))), "a reused id fails alone");
        assert_eq!(plan.bids.len(), 3);
        assert_eq!(pending.next_index().unwrap(), 103, "three entries appended");
        assert_eq!(plan.replaced, vec![first.id.to_string(), standing_id.to_string()]);
        assert_eq!(plan.bids.iter().map(|r| r.log_index).collect::<Vec<_>>(), vec![100, 101, 102]);
        let locked = pending.tender(Uuid::nil()).unwrap();
        assert_eq!((locked.last_seq, locked.standing), (7, 2));

        // After the deadline: a new bid is refused, a retry still answered.
        let mut late = Pending::new(t.deadline, Some(103));
        late.insert(Uuid::nil(), LockedTender::new(t.clone(), 7, 2));
        let mut plan = Plan::default();
        let refused = plan_bid(&bid("d", 5), &mut late, &mut known, &mut plan);
        assert!(matches!(refused, Err(StoreError::Domain(_))));
        assert!(plan_bid(&first, &mut late, &mut known, &mut plan).is_ok());
        assert!(plan.bids.is_empty());
        assert_eq!(late.next_index().unwrap(), 103, "nothing appended");
        let mut elsewhere = bid("e", 6);
        elsewhere.tender_id = Uuid::max();
        assert!(matches!(plan_bid(&elsewhere, &mut late, &mut known, &mut plan), Err(StoreError::NotFound("tender"))));

        // An envelope received for this tender is no retry under another.
        let other = Uuid::from_u128(7);
        late.insert(other, LockedTender::new(Tender { id: other, ..t.clone() }, 1, 0));
        let mut replayed = first.clone();
        replayed.tender_id = other;
        assert!(matches!(plan_bid(&replayed, &mut late, &mut known, &mut plan), Err(StoreError::Conflict(_))));
        assert!(plan.bids.is_empty());
    }

    /// `%`, `_` and `\` in a search are literal in its `LIKE` pattern.
    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(crate::store::shared::like_pattern("Ab"), "%ab%");
        assert_eq!(crate::store::shared::like_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
