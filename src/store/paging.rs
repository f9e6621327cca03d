//! Reads of the opening that stay bounded whatever the number of bids: a
//! page of the envelopes served at the opening, only the bids a release
//! names, and counts the database makes instead of rows sent back (issue 17).

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::bids::{BID_COLUMNS, bid_from_row};
use super::multirow::ROWS_PER_STATEMENT;
use super::opening::{StoredShare, stored_share};
use super::{StoreResult, StoredBid};

/// Bounded reads of the opening.
#[async_trait]
pub trait PagingStore: Send + Sync {
    /// At most `limit` bids that stood at the close, received after log
    /// index `after`, outside the lots `skip_lots`, in order of receipt,
    /// each with the bidder's signature over its envelope.
    async fn close_page(
        &self,
        tender: Uuid,
        after: i64,
        limit: i64,
        skip_lots: &[String],
    ) -> StoreResult<Vec<(StoredBid, Vec<u8>)>>;
    /// Those of the bids `ids` that stood at the close and still have no
    /// outcome, with the shares released for them: what a release naming
    /// these bids needs, whatever the size of the tender.
    async fn pending_named(&self, tender: Uuid, ids: &[Uuid]) -> StoreResult<Vec<(StoredBid, Vec<StoredShare>)>>;
    /// Distinct bidders with a standing bid, per lot, in lot order.
    async fn lot_bidder_counts(&self, tender: Uuid) -> StoreResult<Vec<(String, u64)>>;
    /// How many bids standing at the close outside the lots `skip_lots`
    /// still have no outcome.
    async fn pending_count_outside(&self, tender: Uuid, skip_lots: &[String]) -> StoreResult<u64>;
}

/// Pending: standing at the close and no outcome yet.
const PENDING: &str = " AND status = 'active' AND id NOT IN (SELECT bid_id FROM outcomes WHERE tender_id = ";

#[async_trait]
impl<DB: Backend> PagingStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn close_page(
        &self,
        tender: Uuid,
        after: i64,
        limit: i64,
        skip_lots: &[String],
    ) -> StoreResult<Vec<(StoredBid, Vec<u8>)>> {
        let mut qb = QueryBuilder::<DB>::new(BID_COLUMNS);
        qb.push(" WHERE tender_id = ").push_bind(tender.to_string());
        qb.push(" AND status = 'active' AND log_index > ").push_bind(after);
        not_in_lots(&mut qb, skip_lots);
        qb.push(" ORDER BY log_index LIMIT ").push_bind(limit);
        let rows = qb.build().fetch_all(self.reader()).await?;
        let bids = rows.iter().map(bid_from_row).collect::<StoreResult<Vec<StoredBid>>>()?;
        let mut signatures: HashMap<String, Vec<u8>> = HashMap::new();
        for chunk in bids.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new("SELECT id, signature FROM bids WHERE id IN (");
            let mut list = qb.separated(", ");
            for b in chunk {
                list.push_bind(b.id.to_string());
            }
            qb.push(")");
            for row in qb.build().fetch_all(self.reader()).await? {
                signatures.insert(row.try_get("id")?, row.try_get("signature")?);
            }
        }
        Ok(bids
            .into_iter()
            .map(|b| {
                let signature = signatures.remove(&b.id.to_string()).unwrap_or_default();
                (b, signature)
            })
            .collect())
    }

    async fn pending_named(&self, tender: Uuid, ids: &[Uuid]) -> StoreResult<Vec<(StoredBid, Vec<StoredShare>)>> {
        let mut bids = Vec::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(BID_COLUMNS);
            qb.push(" WHERE tender_id = ").push_bind(tender.to_string());
            qb.push(PENDING).push_bind(tender.to_string()).push(") AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            qb.push(")");
            for row in qb.build().fetch_all(self.reader()).await? {
                bids.push(bid_from_row(&row)?);
            }
        }
        let mut shares = self.shares_by_bid(&bids).await?;
        Ok(bids
            .into_iter()
            .map(|b| {
                let s = shares.remove(&b.id.to_string()).unwrap_or_default();
                (b, s)
            })
            .collect())
    }

    async fn lot_bidder_counts(&self, tender: Uuid) -> StoreResult<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT lot, COUNT(DISTINCT bidder_id) FROM bids WHERE tender_id = $1 AND status = 'active' \
             GROUP BY lot ORDER BY lot",
        )
        .bind(tender.to_string())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|(lot, n)| (lot, n.unsigned_abs())).collect())
    }

    async fn pending_count_outside(&self, tender: Uuid, skip_lots: &[String]) -> StoreResult<u64> {
        let mut qb = QueryBuilder::<DB>::new("SELECT COUNT(*) FROM bids WHERE tender_id = ");
        qb.push_bind(tender.to_string()).push(PENDING).push_bind(tender.to_string()).push(")");
        not_in_lots(&mut qb, skip_lots);
        let n: i64 = qb.build_query_scalar().fetch_one(self.reader()).await?;
        Ok(n.unsigned_abs())
    }
}

/// `AND lot NOT IN (…)` when there are lots to leave out.
fn not_in_lots<DB: Backend>(qb: &mut QueryBuilder<DB>, lots: &[String])
where
    String: Column<DB>,
{
    if lots.is_empty() {
        return;
    }
    qb.push(" AND lot NOT IN (");
    let mut list = qb.separated(", ");
    for lot in lots {
        list.push_bind(lot.clone());
    }
    qb.push(")");
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
    /// The shares released for these bids, by bid id, in custodian order.
    pub(super) async fn shares_by_bid(&self, bids: &[StoredBid]) -> StoreResult<HashMap<String, Vec<StoredShare>>> {
        let mut by_bid: HashMap<String, Vec<StoredShare>> = HashMap::new();
        for chunk in bids.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(
                "SELECT bid_id, custodian_index, custodian_id, share, good FROM shares WHERE bid_id IN (",
            );
            let mut list = qb.separated(", ");
            for b in chunk {
                list.push_bind(b.id.to_string());
            }
            qb.push(") ORDER BY bid_id, custodian_index");
            for row in qb.build().fetch_all(self.reader()).await? {
                let share = stored_share(
                    row.try_get("custodian_index")?,
                    row.try_get("custodian_id")?,
                    row.try_get("share")?,
                    row.try_get("good")?,
                )?;
                by_bid.entry(row.try_get("bid_id")?).or_default().push(share);
            }
        }
        Ok(by_bid)
    }
}
