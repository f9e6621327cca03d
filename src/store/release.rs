//! A custodian's release, recorded under the tender's lock with the event
//! that says exactly which bids' shares it recorded (their positions among
//! the bids standing at the close, for the event's coverage).

use std::collections::{HashMap, HashSet};

use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::multirow::ROWS_PER_STATEMENT;
use super::opening::{ReleaseEvent, ReleasedShare};
use super::write::Write;
use super::{Event, StoreError, StoreResult};
use crate::domain::{DomainError, TenderState};

/// The standing bids' log indexes from one bid to another, and how many
/// standing bids come before the first: a bid's position is `base` plus
/// its offset here.
struct Positions {
    base: u64,
    log_indexes: Vec<i64>,
}

impl Positions {
    fn binary_search(&self, log_index: &i64) -> Result<usize, usize> {
        self.log_indexes.binary_search(log_index)
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
    /// See [`super::OpeningStore::release_shares`].
    pub(crate) async fn record_release(
        &self,
        tender: Uuid,
        custodian: &str,
        index: u8,
        shares: &[ReleasedShare],
        make: ReleaseEvent,
    ) -> StoreResult<Option<Event>> {
        let mut w = Write::begin(self).await?;
        let locked = w.lock_tender(tender).await?;
        if locked.tender.state != TenderState::Opening {
            return Err(
                DomainError::Transition { action: "release shares for", state: locked.tender.state.as_str() }.into()
            );
        }
        if locked.tender.window_over(w.now) {
            return Err(
                DomainError::Transition { action: "release shares for", state: "past its release window" }.into()
            );
        }
        // Under the lock no other release of this tender runs, so what is
        // not taken now is exactly what this release records.
        let mut standing: HashMap<String, (i64, bool)> = HashMap::new();
        for chunk in shares.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(
                "SELECT b.id, b.log_index, CAST(CASE WHEN s.bid_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS taken \
                 FROM bids b LEFT JOIN shares s ON s.bid_id = b.id AND s.custodian_index = ",
            );
            qb.push_bind(i64::from(index));
            qb.push(" WHERE b.status = 'active' AND b.tender_id = ");
            qb.push_bind(tender.to_string());
            qb.push(" AND b.id IN (");
            let mut list = qb.separated(", ");
            for s in chunk {
                list.push_bind(s.bid_id.to_string());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut *w.tx).await? {
                let taken: i64 = row.try_get("taken")?;
                standing.insert(row.try_get("id")?, (row.try_get("log_index")?, taken != 0));
            }
        }
        let mut seen = HashSet::new();
        let mut new: Vec<(&ReleasedShare, i64)> = shares
            .iter()
            .filter_map(|s| match standing.get(&s.bid_id.to_string()) {
                Some(&(log_index, false)) if seen.insert(s.bid_id) => Some((s, log_index)),
                _ => None,
            })
            .collect();
        new.sort_by_key(|(_, log_index)| *log_index);
        let (Some(&(_, first)), Some(&(_, last))) = (new.first(), new.last()) else { return Ok(None) };
        let positions = self.positions(&mut w, tender, first, last).await?;
        let mut recorded = Vec::with_capacity(new.len());
        for (s, log_index) in &new {
            let offset = positions
                .binary_search(log_index)
                .map_err(|_| StoreError::Invariant(format!("bid {} is not among the standing bids", s.bid_id)))?;
            recorded.push((*s, positions.base + offset as u64));
        }
        let draft = make(&recorded)?;
        let now_us = w.now_us();
        Self::insert_many(
            &mut w.tx,
            "INSERT INTO shares (bid_id, custodian_index, custodian_id, share, good, released_at) ",
            &recorded,
            " ON CONFLICT DO NOTHING",
            |mut b, (s, _)| {
                b.push_bind(s.bid_id.to_string())
                    .push_bind(i64::from(index))
                    .push_bind(custodian.to_string())
                    .push_bind(&s.share)
                    .push_bind(i64::from(s.good))
                    .push_bind(now_us);
            },
        )
        .await?;
        let event = w.append_events(tender, vec![draft]).await?.pop();
        w.finish(self.log()).await?;
        Ok(event)
    }

    /// The standing bids of `tender` with log indexes `first..=last`: after
    /// the close no bid changes status, so positions never move. Bounded by
    /// the release's span, not by the tender's size.
    async fn positions(&self, w: &mut Write<DB>, tender: Uuid, first: i64, last: i64) -> StoreResult<Positions> {
        let base: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active' AND log_index < $2",
        )
        .bind(tender.to_string())
        .bind(first)
        .fetch_one(&mut *w.tx)
        .await?;
        let log_indexes: Vec<i64> = sqlx::query_scalar(
            "SELECT log_index FROM bids WHERE tender_id = $1 AND status = 'active' \
             AND log_index >= $2 AND log_index <= $3 ORDER BY log_index",
        )
        .bind(tender.to_string())
        .bind(first)
        .bind(last)
        .fetch_all(&mut *w.tx)
        .await?;
        Ok(Positions { base: base.unsigned_abs(), log_indexes })
    }
}
