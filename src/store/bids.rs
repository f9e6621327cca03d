//! Bidders, custodians and sealed bids: the [`BidStore`] trait and the SQL
//! both backends share (instantiated per backend like `shared.rs`).

use async_trait::async_trait;
use uuid::Uuid;

use super::{Bidder, CustodianRecord, Event, NewBid, StoreResult, StoredBid};

/// Persistence of bidders, custodians and bids.
#[async_trait]
pub trait BidStore: Send + Sync {
    /// Registers a bidder; returns the stored record and whether it is new.
    async fn register_bidder(&self, bidder: &Bidder) -> StoreResult<(Bidder, bool)>;
    /// A bidder by key id.
    async fn get_bidder(&self, id: &str) -> StoreResult<Option<Bidder>>;
    /// Registers or updates a custodian's name (its key never changes).
    async fn upsert_custodian(&self, custodian: &CustodianRecord) -> StoreResult<CustodianRecord>;
    /// All custodians.
    async fn list_custodians(&self) -> StoreResult<Vec<CustodianRecord>>;
    /// Admits a bidder to a tender with approved registration.
    async fn admit_bidder(&self, tender: Uuid, bidder: &str) -> StoreResult<()>;
    /// Is the bidder admitted to the tender?
    async fn is_admitted(&self, tender: Uuid, bidder: &str) -> StoreResult<bool>;
    /// A bid by the hash of its envelope.
    async fn bid_by_envelope_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<StoredBid>>;
    /// A bid by id.
    async fn get_bid(&self, id: Uuid) -> StoreResult<Option<StoredBid>>;
    /// Active bids of a tender in order of receipt.
    async fn active_bids(&self, tender: Uuid) -> StoreResult<Vec<StoredBid>>;
    /// Records a bid whose files are durable: checks the deadline with the
    /// store's clock, replaces the bidder's previous bid for the lot, logs
    /// `bid.received`, all in one transaction.
    async fn submit_bid(&self, bid: &NewBid) -> StoreResult<(StoredBid, Event)>;
    /// Records a batch of bids whose files are durable in one transaction
    /// with one checkpoint; each bid is checked as [`BidStore::submit_bid`]
    /// does and fails alone (group commit, see `committer.rs`).
    async fn submit_bids(&self, bids: &[NewBid]) -> super::BatchResult;
    /// Withdraws an active bid before the deadline and logs `bid.withdrawn`.
    async fn withdraw_bid(&self, tender: Uuid, bid: Uuid) -> StoreResult<(StoredBid, Event)>;
    /// The bidder's signature over a bid's envelope.
    async fn bid_signature(&self, bid: Uuid) -> StoreResult<Vec<u8>>;
    /// Every blob hash any bid references (for cleaning up after failures).
    async fn blob_referenced(&self, hash: &str) -> StoreResult<bool>;
}

/// Implements [`BidStore`] for a backend.
macro_rules! shared_bids_impl {
    ($store:ty, $db:ty, $for_update:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::BidStore for $store {
            async fn register_bidder(&self, b: &$crate::store::Bidder) -> $crate::store::StoreResult<($crate::store::Bidder, bool)> {
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query("SELECT id, name, public_key, created_at FROM bidders WHERE id = $1")
                    .bind(&b.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    return Ok(($crate::store::bids::bidder_from_row(&row)?, false));
                }
                sqlx::query("INSERT INTO bidders (id, name, public_key, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&b.id)
                    .bind(&b.name)
                    .bind(b.public_key.as_slice())
                    .bind($crate::store::to_micros(b.created_at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok((b.clone(), true))
            }

            async fn get_bidder(&self, id: &str) -> $crate::store::StoreResult<Option<$crate::store::Bidder>> {
                let row = sqlx::query("SELECT id, name, public_key, created_at FROM bidders WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::bids::bidder_from_row).transpose()
            }

            async fn upsert_custodian(&self, c: &$crate::store::CustodianRecord) -> $crate::store::StoreResult<$crate::store::CustodianRecord> {
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query("SELECT id, name, public_key, created_at FROM custodians WHERE id = $1")
                    .bind(&c.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    let old = $crate::store::bids::custodian_from_row(&row)?;
                    if old.public_key != c.public_key {
                        return Err($crate::store::StoreError::Conflict(format!(
                            "custodian '{}' is registered with another key; keys of custodians never change (register a new id)",
                            c.id
                        )));
                    }
                    sqlx::query("UPDATE custodians SET name = $2 WHERE id = $1").bind(&c.id).bind(&c.name).execute(&mut *tx).await?;
                    tx.commit().await?;
                    return Ok($crate::store::CustodianRecord { name: c.name.clone(), ..old });
                }
                sqlx::query("INSERT INTO custodians (id, name, public_key, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&c.id)
                    .bind(&c.name)
                    .bind(c.public_key.as_slice())
                    .bind($crate::store::to_micros(c.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(d) if d.is_unique_violation() => {
                            $crate::store::StoreError::Conflict("that public key already belongs to another custodian".into())
                        }
                        other => other.into(),
                    })?;
                tx.commit().await?;
                Ok(c.clone())
            }

            async fn list_custodians(&self) -> $crate::store::StoreResult<Vec<$crate::store::CustodianRecord>> {
                let rows = sqlx::query("SELECT id, name, public_key, created_at FROM custodians ORDER BY id")
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map($crate::store::bids::custodian_from_row).collect()
            }

            async fn admit_bidder(&self, tender: uuid::Uuid, bidder: &str) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                sqlx::query("INSERT INTO tender_admissions (tender_id, bidder_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(tender.to_string())
                    .bind(bidder)
                    .bind($crate::store::to_micros(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn is_admitted(&self, tender: uuid::Uuid, bidder: &str) -> $crate::store::StoreResult<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tender_admissions WHERE tender_id = $1 AND bidder_id = $2")
                    .bind(tender.to_string())
                    .bind(bidder)
                    .fetch_one(self.reader())
                    .await?;
                Ok(n > 0)
            }

            async fn bid_by_envelope_hash(&self, hash: &[u8; 32]) -> $crate::store::StoreResult<Option<$crate::store::StoredBid>> {
                let row = sqlx::query(concat!($crate::store::bids::BID_COLUMNS!(), " WHERE envelope_hash = $1"))
                    .bind(hash.as_slice())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::bids::bid_from_row).transpose()
            }

            async fn get_bid(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::store::StoredBid>> {
                let row = sqlx::query(concat!($crate::store::bids::BID_COLUMNS!(), " WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::bids::bid_from_row).transpose()
            }

            async fn active_bids(&self, tender: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::StoredBid>> {
                let rows = sqlx::query(concat!($crate::store::bids::BID_COLUMNS!(), " WHERE tender_id = $1 AND status = 'active' ORDER BY log_index"))
                    .bind(tender.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map($crate::store::bids::bid_from_row).collect()
            }

            async fn submit_bid(&self, bid: &$crate::store::NewBid) -> $crate::store::StoreResult<($crate::store::StoredBid, $crate::store::Event)> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(bid.tender_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let stored = $crate::store::shared::tender_from_row(&row)?;
                $crate::domain::bid::check_accepting(&stored.tender, now)?;
                let previous: Option<(String, Vec<u8>)> = sqlx::query_as(
                    "SELECT id, envelope_hash FROM bids WHERE tender_id = $1 AND bidder_id = $2 AND lot = $3 AND status = 'active'",
                )
                .bind(bid.tender_id.to_string())
                .bind(&bid.bidder_id)
                .bind(&bid.lot)
                .fetch_optional(&mut *tx)
                .await?;
                let now_us = $crate::store::to_micros(now);
                if let Some((prev_id, _)) = &previous {
                    sqlx::query("UPDATE bids SET status = 'replaced', ended_at = $2 WHERE id = $1")
                        .bind(prev_id)
                        .bind(now_us)
                        .execute(&mut *tx)
                        .await?;
                }
                let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active'")
                    .bind(bid.tender_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                let draft = $crate::domain::EventDraft::new(
                    $crate::domain::EventKind::BidReceived,
                    serde_json::json!({
                        "envelope_hash": hex::encode(bid.envelope_hash),
                        "lot": bid.lot,
                        "replaces": previous.as_ref().map(|(_, h)| hex::encode(h)),
                        "bids_received": active + 1,
                    }),
                );
                let seq = stored.last_seq + 1;
                let entry = $crate::store::log::encode_event(bid.tender_id, seq, now, draft)?;
                let indices = Self::append_log(&mut tx, self.log(), std::slice::from_ref(&entry), now).await?.indices;
                let log_index = indices[0];
                let blobs = serde_json::to_string(&bid.blobs).map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO bids (id, tender_id, bidder_id, lot, envelope_hash, signature, blobs, total_bytes, received_at, status, log_index, receipt_size) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11)",
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
                .bind(log_index + 1)
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        $crate::store::StoreError::Conflict("a bid with this id or envelope was already received".into())
                    }
                    other => other.into(),
                })?;
                let event = $crate::store::shared::record_event!(tx, bid.tender_id, seq, now_us, &entry, log_index);
                tx.commit().await?;
                let stored = self.get_bid(bid.id).await?.ok_or($crate::store::StoreError::NotFound("bid"))?;
                Ok((stored, event))
            }

            async fn submit_bids(&self, bids: &[$crate::store::NewBid]) -> $crate::store::BatchResult {
                self.submit_batch(bids).await
            }

            async fn withdraw_bid(&self, tender: uuid::Uuid, bid: uuid::Uuid) -> $crate::store::StoreResult<($crate::store::StoredBid, $crate::store::Event)> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(tender.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let stored = $crate::store::shared::tender_from_row(&row)?;
                $crate::domain::bid::check_accepting(&stored.tender, now)?;
                let row = sqlx::query(concat!($crate::store::bids::BID_COLUMNS!(), " WHERE id = $1 AND tender_id = $2"))
                    .bind(bid.to_string())
                    .bind(tender.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("bid"))?;
                let current = $crate::store::bids::bid_from_row(&row)?;
                if current.status != $crate::domain::bid::BidStatus::Active {
                    return Err($crate::store::StoreError::Conflict(format!("the bid is already {}", current.status.as_str())));
                }
                let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE tender_id = $1 AND status = 'active'")
                    .bind(tender.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                let draft = $crate::domain::EventDraft::new(
                    $crate::domain::EventKind::BidWithdrawn,
                    serde_json::json!({ "envelope_hash": current.envelope_hash, "lot": current.lot, "bids_received": active - 1 }),
                );
                let seq = stored.last_seq + 1;
                let now_us = $crate::store::to_micros(now);
                let entry = $crate::store::log::encode_event(tender, seq, now, draft)?;
                let indices = Self::append_log(&mut tx, self.log(), std::slice::from_ref(&entry), now).await?.indices;
                let log_index = indices[0];
                sqlx::query("UPDATE bids SET status = 'withdrawn', ended_at = $2, end_log_index = $3, end_receipt_size = $4 WHERE id = $1")
                    .bind(bid.to_string())
                    .bind(now_us)
                    .bind(log_index)
                    .bind(log_index + 1)
                    .execute(&mut *tx)
                    .await?;
                let event = $crate::store::shared::record_event!(tx, tender, seq, now_us, &entry, log_index);
                tx.commit().await?;
                let stored = self.get_bid(bid).await?.ok_or($crate::store::StoreError::NotFound("bid"))?;
                Ok((stored, event))
            }

            async fn bid_signature(&self, bid: uuid::Uuid) -> $crate::store::StoreResult<Vec<u8>> {
                sqlx::query_scalar("SELECT signature FROM bids WHERE id = $1")
                    .bind(bid.to_string())
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("bid"))
            }

            async fn blob_referenced(&self, hash: &str) -> $crate::store::StoreResult<bool> {
                let pattern = format!("%\"{hash}\"%");
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE blobs LIKE $1")
                    .bind(pattern)
                    .fetch_one(self.reader())
                    .await?;
                Ok(n > 0)
            }
        }
    };
}
pub(crate) use shared_bids_impl;

/// The columns of a bid row, in the order `bid_from_row` reads them.
macro_rules! BID_COLUMNS {
    () => {
        "SELECT id, tender_id, bidder_id, lot, envelope_hash, blobs, status, received_at, log_index, receipt_size, end_log_index, end_receipt_size FROM bids"
    };
}
pub(crate) use BID_COLUMNS;

use sqlx::Row;

use super::shared::parse_uuid;
use super::{StoreError, from_micros};
use crate::domain::bid::BidStatus;

pub(crate) fn bidder_from_row<R: Row>(row: &R) -> StoreResult<Bidder>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Bidder {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        public_key: row.try_get("public_key")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

pub(crate) fn custodian_from_row<R: Row>(row: &R) -> StoreResult<CustodianRecord>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(CustodianRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        public_key: row.try_get("public_key")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

pub(crate) fn bid_from_row<R: Row>(row: &R) -> StoreResult<StoredBid>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    let tender: String = row.try_get("tender_id")?;
    let hash: Vec<u8> = row.try_get("envelope_hash")?;
    let blobs: String = row.try_get("blobs")?;
    let status: String = row.try_get("status")?;
    let end_index: Option<i64> = row.try_get("end_log_index")?;
    let end_size: Option<i64> = row.try_get("end_receipt_size")?;
    Ok(StoredBid {
        id: parse_uuid(&id)?,
        tender_id: parse_uuid(&tender)?,
        bidder_id: row.try_get("bidder_id")?,
        lot: row.try_get("lot")?,
        envelope_hash: hex::encode(hash),
        blobs: serde_json::from_str(&blobs).map_err(|e| StoreError::Corrupt(format!("bid blobs: {e}")))?,
        status: BidStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("bid status {status:?}")))?,
        received_at: from_micros(row.try_get("received_at")?)?,
        log_index: row.try_get("log_index")?,
        receipt_size: row.try_get("receipt_size")?,
        withdrawal: end_index.zip(end_size),
    })
}
