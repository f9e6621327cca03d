//! The opening's persistence: released shares, bid outcomes written exactly
//! once with their events, custodian tokens.

use async_trait::async_trait;
use uuid::Uuid;

use super::{CustodianRecord, Event, StoreResult, StoredBid};
use crate::domain::EventDraft;

/// One share a custodian released.
#[derive(Debug, Clone)]
pub struct ReleasedShare {
    /// The bid.
    pub bid_id: Uuid,
    /// The 33 share bytes (empty when the custodian could not decrypt it).
    pub share: Vec<u8>,
    /// Did it match the envelope's share commitment?
    pub good: bool,
}

/// One bid's outcome at the opening, to record.
pub struct Outcome {
    /// The bid.
    pub bid: Uuid,
    /// `opened`, `rejected` or `unopened`.
    pub outcome: &'static str,
    /// The published form key, when opened.
    pub form_key: Option<Vec<u8>>,
    /// Builds the event given the bid's position in the record.
    pub make: Box<dyn FnOnce(i64) -> EventDraft + Send>,
}

/// The record's tally by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Bids opened.
    pub opened: u64,
    /// Bids rejected (the bidder's fault).
    pub rejected: u64,
    /// Bids without k good shares when the window ended.
    pub unopened: u64,
}

/// A stored share.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredShare {
    /// Custodian index (1-based).
    pub index: u8,
    /// Custodian id.
    pub custodian: String,
    /// Share bytes.
    pub share: Vec<u8>,
    /// Matched its commitment.
    pub good: bool,
}

/// Persistence of the opening.
#[async_trait]
pub trait OpeningStore: Send + Sync {
    /// Closed tenders whose opening time has come.
    async fn due_to_open(&self, at: time::OffsetDateTime) -> StoreResult<Vec<Uuid>>;
    /// Tenders whose opening is under way.
    async fn openings_under_way(&self) -> StoreResult<Vec<Uuid>>;
    /// Gives a custodian a release token (hash only).
    async fn set_custodian_token(&self, id: &str, token_hash: &[u8]) -> StoreResult<()>;
    /// The custodian owning a release token.
    async fn custodian_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Option<CustodianRecord>>;
    /// Records shares a custodian released, with a `custodian.released`
    /// event, during the release window; shares already released are kept as
    /// they were. Returns the event (none if nothing new).
    async fn release_shares(
        &self,
        tender: Uuid,
        custodian: &str,
        index: u8,
        shares: &[ReleasedShare],
        draft: EventDraft,
    ) -> StoreResult<Option<Event>>;
    /// Bids standing at the close that have no outcome yet, in order of
    /// receipt, with the shares released for them.
    async fn pending_openings(&self, tender: Uuid) -> StoreResult<Vec<(StoredBid, Vec<StoredShare>)>>;
    /// How many bids standing at the close still have no outcome.
    async fn pending_count(&self, tender: Uuid) -> StoreResult<u64>;
    /// The shares released for one bid.
    async fn shares_of(&self, bid: Uuid) -> StoreResult<Vec<StoredShare>>;
    /// Writes bids' outcomes and their events in one transaction, skipping
    /// any bid that already has one: the exactly-once step of the opening.
    /// Returns the events written.
    async fn record_outcomes(&self, tender: Uuid, outcomes: Vec<Outcome>) -> StoreResult<Vec<Event>>;
    /// Names of the bidders with a standing bid in the tender, by bidder id
    /// (one query for the whole opening instead of one per bid).
    async fn bidder_names(&self, tender: Uuid) -> StoreResult<std::collections::HashMap<String, String>>;
    /// How many bids were opened, rejected and left unopened so far.
    async fn outcome_counts(&self, tender: Uuid) -> StoreResult<OutcomeCounts>;
    /// Bids that stood at the close, with or without an outcome.
    async fn bids_at_close(&self, tender: Uuid) -> StoreResult<Vec<StoredBid>>;
    /// Appends one event to a tender's stream without changing its state.
    async fn append_tender_event(&self, tender: Uuid, draft: EventDraft) -> StoreResult<Event>;
}

/// Implements [`OpeningStore`] for a backend.
macro_rules! shared_opening_impl {
    ($store:ty, $db:ty, $for_update:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::OpeningStore for $store {
            async fn due_to_open(&self, at: time::OffsetDateTime) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenders WHERE state = 'closed' AND opening_at <= $1 ORDER BY opening_at")
                    .bind($crate::store::to_micros(at))
                    .fetch_all(self.reader())
                    .await?;
                ids.iter().map(|s| $crate::store::shared::parse_uuid(s)).collect()
            }

            async fn openings_under_way(&self) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenders WHERE state = 'opening' ORDER BY opening_at")
                    .fetch_all(self.reader())
                    .await?;
                ids.iter().map(|s| $crate::store::shared::parse_uuid(s)).collect()
            }

            async fn set_custodian_token(&self, id: &str, token_hash: &[u8]) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE custodians SET token_hash = $2 WHERE id = $1").bind(id).bind(token_hash).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn custodian_by_token_hash(&self, token_hash: &[u8]) -> $crate::store::StoreResult<Option<$crate::store::CustodianRecord>> {
                let row = sqlx::query("SELECT id, name, public_key, created_at, token_hash FROM custodians WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(self.reader())
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let stored: Vec<u8> = sqlx::Row::try_get(&row, "token_hash")?;
                if !$crate::store::shared::ct_eq(&stored, token_hash) {
                    return Ok(None);
                }
                $crate::store::bids::custodian_from_row(&row).map(Some)
            }

            async fn release_shares(
                &self,
                tender: uuid::Uuid,
                custodian: &str,
                index: u8,
                shares: &[$crate::store::ReleasedShare],
                draft: $crate::domain::EventDraft,
            ) -> $crate::store::StoreResult<Option<$crate::store::Event>> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(tender.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let stored = $crate::store::shared::tender_from_row(&row)?;
                if stored.tender.state != $crate::domain::TenderState::Opening {
                    return Err($crate::domain::DomainError::Transition { action: "release shares for", state: stored.tender.state.as_str() }.into());
                }
                if now >= stored.tender.release_until() {
                    return Err($crate::domain::DomainError::Transition { action: "release shares for", state: "past its release window" }.into());
                }
                let now_us = $crate::store::to_micros(now);
                let new = $crate::store::multirow::insert_many!(
                    &mut *tx,
                    $db,
                    "INSERT INTO shares (bid_id, custodian_index, custodian_id, share, good, released_at) ",
                    shares,
                    " ON CONFLICT DO NOTHING",
                    |mut b, s: &$crate::store::ReleasedShare| {
                        b.push_bind(s.bid_id.to_string())
                            .push_bind(i64::from(index))
                            .push_bind(custodian.to_string())
                            .push_bind(s.share.clone())
                            .push_bind(i64::from(s.good))
                            .push_bind(now_us);
                    }
                );
                if new == 0 {
                    return Ok(None);
                }
                let seq = stored.last_seq + 1;
                let entry = $crate::store::log::encode_event(tender, seq, now, draft)?;
                let indices = Self::append_log(&mut tx, self.log(), std::slice::from_ref(&entry), now).await?.indices;
                let event = $crate::store::shared::record_event!(tx, tender, seq, now_us, &entry, indices[0]);
                tx.commit().await?;
                Ok(Some(event))
            }

            async fn pending_openings(
                &self,
                tender: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<($crate::store::StoredBid, Vec<$crate::store::StoredShare>)>> {
                let rows = sqlx::query(concat!(
                    $crate::store::bids::BID_COLUMNS!(),
                    " WHERE tender_id = $1 AND status = 'active' AND id NOT IN (SELECT bid_id FROM outcomes WHERE tender_id = $1) ORDER BY log_index"
                ))
                .bind(tender.to_string())
                .fetch_all(self.reader())
                .await?;
                let shares: Vec<(String, i64, String, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT s.bid_id, s.custodian_index, s.custodian_id, s.share, s.good FROM shares s JOIN bids b ON b.id = s.bid_id \
                     WHERE b.tender_id = $1 ORDER BY s.bid_id, s.custodian_index",
                )
                .bind(tender.to_string())
                .fetch_all(self.reader())
                .await?;
                let mut by_bid: std::collections::HashMap<String, Vec<$crate::store::StoredShare>> = std::collections::HashMap::new();
                for (bid, index, custodian, share, good) in shares {
                    by_bid.entry(bid).or_default().push($crate::store::StoredShare { index: index as u8, custodian, share, good: good != 0 });
                }
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let bid = $crate::store::bids::bid_from_row(row)?;
                    let shares = by_bid.remove(&bid.id.to_string()).unwrap_or_default();
                    out.push((bid, shares));
                }
                Ok(out)
            }

            async fn pending_count(&self, tender: uuid::Uuid) -> $crate::store::StoreResult<u64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active' AND id NOT IN (SELECT bid_id FROM outcomes WHERE tender_id = $1)",
                )
                .bind(tender.to_string())
                .fetch_one(self.reader())
                .await?;
                Ok(n as u64)
            }

            async fn shares_of(&self, bid: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::StoredShare>> {
                let rows: Vec<(i64, String, Vec<u8>, i64)> =
                    sqlx::query_as("SELECT custodian_index, custodian_id, share, good FROM shares WHERE bid_id = $1 ORDER BY custodian_index")
                        .bind(bid.to_string())
                        .fetch_all(self.reader())
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(index, custodian, share, good)| $crate::store::StoredShare { index: index as u8, custodian, share, good: good != 0 })
                    .collect())
            }

            async fn record_outcomes(
                &self,
                tender: uuid::Uuid,
                outcomes: Vec<$crate::store::Outcome>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Event>> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(tender.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let stored = $crate::store::shared::tender_from_row(&row)?;
                if stored.tender.state != $crate::domain::TenderState::Opening {
                    return Ok(Vec::new());
                }
                // Exactly once: bids that already have an outcome (another
                // node, or this one before a crash) are skipped; the tender's
                // row lock keeps anyone from adding one meanwhile, and the
                // primary key on `bid_id` would refuse a second anyway.
                let mut done = std::collections::HashSet::new();
                let bids: Vec<String> = outcomes.iter().map(|o| o.bid.to_string()).collect();
                for chunk in bids.chunks($crate::store::multirow::ROWS_PER_STATEMENT) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT bid_id FROM outcomes WHERE bid_id IN (");
                    let mut ids = qb.separated(", ");
                    for bid in chunk {
                        ids.push_bind(bid.clone());
                    }
                    ids.push_unseparated(")");
                    let rows: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                    done.extend(rows);
                }
                let mut position: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outcomes WHERE tender_id = $1")
                    .bind(tender.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                let mut seq = stored.last_seq;
                let mut entries = Vec::with_capacity(outcomes.len());
                let mut rows = Vec::with_capacity(outcomes.len());
                for o in outcomes {
                    // `insert` is false for a bid done before or earlier in this batch.
                    if !done.insert(o.bid.to_string()) {
                        continue;
                    }
                    position += 1;
                    seq += 1;
                    entries.push($crate::store::log::encode_event(tender, seq, now, (o.make)(position))?);
                    rows.push((o.bid.to_string(), o.outcome, o.form_key, position, seq));
                }
                if entries.is_empty() {
                    return Ok(Vec::new());
                }
                let now_us = $crate::store::to_micros(now);
                let indices = Self::append_log(&mut tx, self.log(), &entries, now).await?.indices;
                let tender_id = tender.to_string();
                let mut events = Vec::with_capacity(entries.len());
                let mut event_rows = Vec::with_capacity(entries.len());
                let mut outcome_rows = Vec::with_capacity(entries.len());
                for ((entry, index), (bid, outcome, form_key, position, seq)) in entries.iter().zip(indices).zip(rows) {
                    let event = $crate::store::log::event_from_entry(entry, index)?;
                    event_rows.push((seq, event.kind.clone(), index));
                    events.push(event);
                    outcome_rows.push((bid, position, outcome, index, form_key));
                }
                $crate::store::multirow::insert_many!(
                    &mut *tx,
                    $db,
                    "INSERT INTO outcomes (bid_id, tender_id, position, outcome, log_index, form_key) ",
                    outcome_rows,
                    "",
                    |mut b, (bid, position, outcome, index, form_key): &(String, i64, &'static str, i64, Option<Vec<u8>>)| {
                        b.push_bind(bid.clone())
                            .push_bind(tender_id.clone())
                            .push_bind(*position)
                            .push_bind(*outcome)
                            .push_bind(*index)
                            .push_bind(form_key.clone());
                    }
                );
                $crate::store::multirow::insert_many!(
                    &mut *tx,
                    $db,
                    "INSERT INTO events (tender_id, seq, kind, at, log_index) ",
                    event_rows,
                    "",
                    |mut b, (seq, kind, index): &(i64, String, i64)| {
                        b.push_bind(tender_id.clone()).push_bind(*seq).push_bind(kind.clone()).push_bind(now_us).push_bind(*index);
                    }
                );
                sqlx::query("UPDATE tenders SET last_seq = $2, updated_at = $3 WHERE id = $1")
                    .bind(&tender_id)
                    .bind(seq)
                    .bind(now_us)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(events)
            }

            async fn append_tender_event(&self, tender: uuid::Uuid, draft: $crate::domain::EventDraft) -> $crate::store::StoreResult<$crate::store::Event> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let last_seq: i64 = sqlx::query_scalar(concat!("SELECT last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(tender.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let seq = last_seq + 1;
                let now_us = $crate::store::to_micros(now);
                let entry = $crate::store::log::encode_event(tender, seq, now, draft)?;
                let indices = Self::append_log(&mut tx, self.log(), std::slice::from_ref(&entry), now).await?.indices;
                let event = $crate::store::shared::record_event!(tx, tender, seq, now_us, &entry, indices[0]);
                tx.commit().await?;
                Ok(event)
            }

            async fn bidder_names(
                &self,
                tender: uuid::Uuid,
            ) -> $crate::store::StoreResult<std::collections::HashMap<String, String>> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT DISTINCT r.id, r.name FROM bids b JOIN bidders r ON r.id = b.bidder_id WHERE b.tender_id = $1",
                )
                .bind(tender.to_string())
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().collect())
            }

            async fn outcome_counts(&self, tender: uuid::Uuid) -> $crate::store::StoreResult<$crate::store::OutcomeCounts> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT outcome, COUNT(*) FROM outcomes WHERE tender_id = $1 GROUP BY outcome")
                        .bind(tender.to_string())
                        .fetch_all(self.reader())
                        .await?;
                let mut counts = $crate::store::OutcomeCounts::default();
                for (outcome, n) in rows {
                    let n = n as u64;
                    match outcome.as_str() {
                        "opened" => counts.opened = n,
                        "rejected" => counts.rejected = n,
                        "unopened" => counts.unopened = n,
                        other => return Err($crate::store::StoreError::Corrupt(format!("outcome {other:?}"))),
                    }
                }
                Ok(counts)
            }

            async fn bids_at_close(&self, tender: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::StoredBid>> {
                // After the close no bid changes status, so the standing bids
                // are exactly those the close counted.
                $crate::store::BidStore::active_bids(self, tender).await
            }
        }
    };
}
pub(crate) use shared_opening_impl;
