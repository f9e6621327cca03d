//! The opening's persistence: released shares, bid outcomes written exactly
//! once with their events, custodian tokens.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, QueryBuilder};
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::bids::{BidStore, bid_from_row, bids_where, custodian_from_row};
use super::multirow::ROWS_PER_STATEMENT;
use super::shared::parse_uuid;
use super::write::Write;
use super::{CustodianRecord, Event, StoreError, StoreResult, StoredBid, to_micros};
use crate::domain::{DomainError, EventDraft};

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

/// What [`OpeningStore::record_outcomes`] did.
pub enum Recorded {
    /// Written (or skipped as done before): the events written.
    Written(Vec<Event>),
    /// Not written: the tender's pace has not passed since its last paced
    /// opening (possibly by another node). The outcomes come back with the
    /// time left, to try again then.
    Wait {
        /// The outcomes, untouched.
        outcomes: Vec<Outcome>,
        /// How long until the pace has passed, by the database clock.
        rest: std::time::Duration,
    },
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

/// Builds a release's event from the shares it records: those this
/// custodian had not released before, each with its bid's position (from 0)
/// among the bids standing at the close in order of receipt, ascending.
/// Called under the tender's lock, so the event says exactly what was
/// recorded.
pub type ReleaseEvent = Box<dyn FnOnce(&[(&ReleasedShare, u64)]) -> Result<EventDraft, DomainError> + Send>;

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
    /// Records shares a custodian released, with the event `make` builds
    /// from the shares recorded, during the release window; shares already
    /// released (and shares of bids not standing at the close) are left
    /// out. Returns the event (none if nothing new).
    async fn release_shares(
        &self,
        tender: Uuid,
        custodian: &str,
        index: u8,
        shares: &[ReleasedShare],
        make: ReleaseEvent,
    ) -> StoreResult<Option<Event>>;
    /// Bids standing at the close that have no outcome yet, with the shares
    /// released for them, in order of receipt: at most `limit` bids
    /// received after log index `after` (keyset paging, so an opening
    /// of any size is read in bounded memory).
    async fn pending_page(
        &self,
        tender: Uuid,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(StoredBid, Vec<StoredShare>)>>;
    /// How many bids standing at the close still have no outcome.
    async fn pending_count(&self, tender: Uuid) -> StoreResult<u64>;
    /// The shares released for one bid.
    async fn shares_of(&self, bid: Uuid) -> StoreResult<Vec<StoredShare>>;
    /// Writes bids' outcomes and their events in one transaction, skipping
    /// any bid that already has one: the exactly-once step of the opening.
    /// With a nonzero `pace`, a batch that opens a bid is written only when
    /// the pace has passed since the tender's last paced opening (kept in
    /// the database under the tender's lock, so it holds across nodes);
    /// otherwise nothing is written and the time left comes back.
    async fn record_outcomes(
        &self,
        tender: Uuid,
        outcomes: Vec<Outcome>,
        pace: std::time::Duration,
    ) -> StoreResult<Recorded>;
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

#[async_trait]
impl<DB: Backend> OpeningStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn due_to_open(&self, at: time::OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM tenders WHERE state = 'closed' AND opening_at <= $1 ORDER BY opening_at",
        )
        .bind(to_micros(at))
        .fetch_all(self.reader())
        .await?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    async fn openings_under_way(&self) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenders WHERE state = 'opening' ORDER BY opening_at")
            .fetch_all(self.reader())
            .await?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    async fn set_custodian_token(&self, id: &str, token_hash: &[u8]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE custodians SET token_hash = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(token_hash.to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn custodian_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Option<CustodianRecord>> {
        // The lookup by hash is the check (as for staff tokens): release
        // tokens are 256-bit random and the lookup's timing depends only on
        // their hash.
        let row = sqlx::query("SELECT id, name, public_key, created_at FROM custodians WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(custodian_from_row).transpose()
    }

    async fn release_shares(
        &self,
        tender: Uuid,
        custodian: &str,
        index: u8,
        shares: &[ReleasedShare],
        make: ReleaseEvent,
    ) -> StoreResult<Option<Event>> {
        self.record_release(tender, custodian, index, shares, make).await
    }

    async fn pending_page(
        &self,
        tender: Uuid,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(StoredBid, Vec<StoredShare>)>> {
        let rows = sqlx::query(bids_where(
            "WHERE tender_id = $1 AND status = 'active' AND log_index > $2 \
             AND id NOT IN (SELECT bid_id FROM outcomes WHERE tender_id = $1) ORDER BY log_index LIMIT $3",
        ))
        .bind(tender.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        let bids = rows.iter().map(bid_from_row).collect::<StoreResult<Vec<StoredBid>>>()?;
        let mut by_bid = self.shares_by_bid(&bids).await?;
        Ok(bids
            .into_iter()
            .map(|bid| {
                let shares = by_bid.remove(&bid.id.to_string()).unwrap_or_default();
                (bid, shares)
            })
            .collect())
    }

    async fn pending_count(&self, tender: Uuid) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active' \
             AND id NOT IN (SELECT bid_id FROM outcomes WHERE tender_id = $1)",
        )
        .bind(tender.to_string())
        .fetch_one(self.reader())
        .await?;
        Ok(n as u64)
    }

    async fn shares_of(&self, bid: Uuid) -> StoreResult<Vec<StoredShare>> {
        let rows: Vec<(i64, String, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT custodian_index, custodian_id, share, good FROM shares WHERE bid_id = $1 ORDER BY custodian_index",
        )
        .bind(bid.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|(index, custodian, share, good)| stored_share(index, custodian, share, good)).collect()
    }

    async fn record_outcomes(
        &self,
        tender: Uuid,
        outcomes: Vec<Outcome>,
        pace: std::time::Duration,
    ) -> StoreResult<Recorded> {
        let mut w = Write::begin(self).await?;
        // A paused, suspended or terminated session writes no outcome:
        // checked under the lock, so a hold that commits first stops every
        // node's next write.
        let locked = w.lock_tender(tender).await?;
        if !locked.tender.may_announce() {
            return Ok(Recorded::Written(Vec::new()));
        }

        // Exactly once: bids that already have an outcome (another node, or
        // this one before a crash) are skipped; the tender's row lock keeps
        // anyone from adding one meanwhile, and the primary key on `bid_id`
        // would refuse a second anyway.
        let mut done = HashSet::new();
        let bids: Vec<String> = outcomes.iter().map(|o| o.bid.to_string()).collect();
        for chunk in bids.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new("SELECT bid_id FROM outcomes WHERE bid_id IN (");
            let mut ids = qb.separated(", ");
            for bid in chunk {
                ids.push_bind(bid);
            }
            ids.push_unseparated(")");
            let rows: Vec<String> = qb.build_query_scalar().fetch_all(&mut *w.tx).await?;
            done.extend(rows);
        }
        let paced =
            !pace.is_zero() && outcomes.iter().any(|o| o.outcome == "opened" && !done.contains(&o.bid.to_string()));
        if paced {
            // Read under the tender's lock, which every node's outcome write
            // takes: the times of consecutive paced openings are at least
            // `pace` apart whichever nodes wrote them.
            // Never paced yet reads as the epoch: always due.
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(paced_at, 0) FROM tenders WHERE id = $1")
                .bind(tender.to_string())
                .fetch_one(&mut *w.tx)
                .await?;
            let pace_us = i64::try_from(pace.as_micros()).unwrap_or(i64::MAX);
            let (due, now) = (last.saturating_add(pace_us), w.now_us());
            if now < due {
                let rest = std::time::Duration::from_micros(due.saturating_sub(now).unsigned_abs());
                return Ok(Recorded::Wait { outcomes, rest });
            }
        }
        let mut position: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outcomes WHERE tender_id = $1")
            .bind(tender.to_string())
            .fetch_one(&mut *w.tx)
            .await?;
        let mut drafts = Vec::with_capacity(outcomes.len());
        let mut rows = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            // `insert` is false for a bid done before or earlier in this batch.
            if !done.insert(o.bid.to_string()) {
                continue;
            }
            position += 1;
            drafts.push((o.make)(position));
            rows.push((o.bid.to_string(), o.outcome, o.form_key, position));
        }
        let events = w.append_events(tender, drafts).await?;
        if events.is_empty() {
            return Ok(Recorded::Written(events));
        }
        if paced {
            // The opened event's logged time is the transaction's clock.
            sqlx::query("UPDATE tenders SET paced_at = $2 WHERE id = $1")
                .bind(tender.to_string())
                .bind(w.now_us())
                .execute(&mut *w.tx)
                .await?;
        }
        let tender_id = tender.to_string();
        let outcome_rows: Vec<_> = rows.into_iter().zip(&events).collect();
        Self::insert_many(
            &mut w.tx,
            "INSERT INTO outcomes (bid_id, tender_id, position, outcome, log_index, form_key) ",
            &outcome_rows,
            "",
            |mut b, ((bid, outcome, form_key, position), event)| {
                b.push_bind(bid).push_bind(&tender_id).push_bind(*position).push_bind(outcome.to_string());
                b.push_bind(event.log_index);
                // sqlx encodes `Option` per backend only: write `NULL` instead.
                match form_key {
                    Some(key) => b.push_bind(key),
                    None => b.push("NULL"),
                };
            },
        )
        .await?;
        w.finish(self.log()).await?;
        Ok(Recorded::Written(events))
    }

    async fn append_tender_event(&self, tender: Uuid, draft: EventDraft) -> StoreResult<Event> {
        let mut w = Write::begin(self).await?;
        w.lock_tender(tender).await?;
        let event = w.append_events(tender, vec![draft]).await?.pop();
        w.finish(self.log()).await?;
        event.ok_or_else(|| StoreError::Invariant("an append returned no event".into()))
    }

    async fn bidder_names(&self, tender: Uuid) -> StoreResult<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT r.id, r.name FROM bids b JOIN bidders r ON r.id = b.bidder_id WHERE b.tender_id = $1",
        )
        .bind(tender.to_string())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn outcome_counts(&self, tender: Uuid) -> StoreResult<OutcomeCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT outcome, COUNT(*) FROM outcomes WHERE tender_id = $1 GROUP BY outcome")
                .bind(tender.to_string())
                .fetch_all(self.reader())
                .await?;
        let mut counts = OutcomeCounts::default();
        for (outcome, n) in rows {
            let n = n as u64;
            match outcome.as_str() {
                "opened" => counts.opened = n,
                "rejected" => counts.rejected = n,
                "unopened" => counts.unopened = n,
                other => return Err(StoreError::Corrupt(format!("outcome {other:?}"))),
            }
        }
        Ok(counts)
    }

    async fn bids_at_close(&self, tender: Uuid) -> StoreResult<Vec<StoredBid>> {
        // After the close no bid changes status, so the standing bids are
        // exactly those the close counted.
        self.active_bids(tender).await
    }
}

/// A share row as read.
pub(super) fn stored_share(index: i64, custodian: String, share: Vec<u8>, good: i64) -> StoreResult<StoredShare> {
    let index = u8::try_from(index).map_err(|_| StoreError::Corrupt(format!("custodian index {index}")))?;
    Ok(StoredShare { index, custodian, share, good: good != 0 })
}
