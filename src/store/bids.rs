//! Bidders, custodians and sealed bids: the [`BidStore`] trait and its
//! implementation both backends share.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, Row};
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::shared::parse_uuid;
use super::write::Write;
use super::{Bidder, CustodianRecord, Event, NewBid, StoreError, StoreResult, StoredBid, from_micros, to_micros};
use crate::domain::EventDraft;
use crate::domain::bid::{BidStatus, check_accepting};
use crate::domain::event::{CustodianTokenRotated, EventPayload};
use crate::domain::tender::TenderState;

/// Persistence of bidders, custodians and bids.
#[async_trait]
pub trait BidStore: Send + Sync {
    /// Registers a bidder; returns the stored record and whether it is new
    /// (registering the same key again, even concurrently, is not an error).
    async fn register_bidder(&self, bidder: &Bidder) -> StoreResult<(Bidder, bool)>;
    /// A bidder by key id.
    async fn get_bidder(&self, id: &str) -> StoreResult<Option<Bidder>>;
    /// Registers the server's own custodian key at launch, or updates its
    /// name (its key never changes). Not for registrations through the API,
    /// which never change an existing custodian ([`BidStore::insert_custodian`]).
    async fn upsert_custodian(&self, custodian: &CustodianRecord) -> StoreResult<CustodianRecord>;
    /// Registers a new custodian with its first release token's hash; false
    /// (and nothing changes) when its id or its key is already registered.
    async fn insert_custodian(&self, custodian: &CustodianRecord, token_hash: &[u8]) -> StoreResult<bool>;
    /// A custodian by id.
    async fn get_custodian(&self, id: &str) -> StoreResult<Option<CustodianRecord>>;
    /// Stores a challenge's nonce hash, expiring `ttl_secs` from the store's
    /// now; `None` (nothing stored) when the custodian has `max_outstanding`
    /// live challenges or asked for `max_per_minute` in the last minute.
    async fn issue_challenge(
        &self,
        challenge: &NewChallenge,
        max_outstanding: i64,
        max_per_minute: i64,
    ) -> StoreResult<Option<time::OffsetDateTime>>;
    /// Uses up a live challenge of this custodian, purpose and tender whose
    /// nonce hashes to `nonce_hash`; false when there is none (unknown,
    /// expired, used, or the answer is wrong). Audited as `action`.
    async fn use_challenge(&self, challenge: &ChallengeUse<'_>, action: &str) -> StoreResult<bool>;
    /// Uses up a rotation challenge and replaces the custodian's release
    /// token in one transaction, audited, logging `custodian.token_rotated`
    /// in every tender that names the custodian and is published, closed or
    /// opening; `None` (nothing changes) when the challenge fails.
    async fn rotate_custodian_token(
        &self,
        challenge: &ChallengeUse<'_>,
        token_hash: &[u8],
    ) -> StoreResult<Option<Vec<Event>>>;
    /// All custodians.
    async fn list_custodians(&self) -> StoreResult<Vec<CustodianRecord>>;
    /// Admits a bidder to a tender with approved registration.
    async fn admit_bidder(&self, tender: Uuid, bidder: &str) -> StoreResult<()>;
    /// Is the bidder admitted to the tender?
    async fn is_admitted(&self, tender: Uuid, bidder: &str) -> StoreResult<bool>;
    /// A bid of this tender by the hash of its envelope (a retry is one
    /// only within the tender its envelope is bound to).
    async fn bid_by_envelope_hash(&self, tender: Uuid, hash: &[u8; 32]) -> StoreResult<Option<StoredBid>>;
    /// The bid that replaced `bid`: the next bid of its bidder for its lot
    /// (one bid stands per bidder and lot, so the next one replaced it).
    async fn replacing_bid(&self, bid: &StoredBid) -> StoreResult<Option<StoredBid>>;
    /// A bid by id.
    async fn get_bid(&self, id: Uuid) -> StoreResult<Option<StoredBid>>;
    /// Active bids of a tender in order of receipt.
    async fn active_bids(&self, tender: Uuid) -> StoreResult<Vec<StoredBid>>;
    /// Records a batch of bids whose files are durable in one transaction
    /// with one checkpoint: each bid is checked against the deadline with
    /// the store's clock, replaces the bidder's previous bid for the lot and
    /// logs `bid.received`, and fails alone (group commit, see
    /// `committer.rs`, the only caller).
    async fn submit_bids(&self, bids: &[NewBid]) -> super::BatchResult;
    /// Withdraws an active bid before the deadline and logs `bid.withdrawn`.
    async fn withdraw_bid(&self, tender: Uuid, bid: Uuid) -> StoreResult<(StoredBid, Event)>;
    /// The bidder's signature over a bid's envelope.
    async fn bid_signature(&self, bid: Uuid) -> StoreResult<Vec<u8>>;
    /// Every blob hash any bid references (for cleaning up after failures).
    async fn blob_referenced(&self, hash: &str) -> StoreResult<bool>;
}

/// The columns of a bid row, in the order [`bid_from_row`] reads them.
pub(crate) const BID_COLUMNS: &str = "SELECT id, tender_id, bidder_id, lot, envelope_hash, blobs, status, received_at, \
     log_index, receipt_size, end_log_index, end_receipt_size, ended_at FROM bids";

/// A statement reading bid rows: [`BID_COLUMNS`] and a `WHERE …` tail.
pub(crate) fn bids_where(tail: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{BID_COLUMNS} {tail}"))
}

#[async_trait]
impl<DB: Backend> BidStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn register_bidder(&self, b: &Bidder) -> StoreResult<(Bidder, bool)> {
        // Two identical registrations can race (on PostgreSQL, on two
        // connections): the insert that loses finds the row the other wrote
        // and answers with it, as a repeated registration.
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO bidders (id, name, public_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&b.id)
        .bind(&b.name)
        .bind(&b.public_key)
        .bind(to_micros(b.created_at))
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&inserted) == 1 {
            tx.commit().await?;
            return Ok((b.clone(), true));
        }
        let row = sqlx::query("SELECT id, name, public_key, created_at FROM bidders WHERE id = $1")
            .bind(&b.id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let existing = row.as_ref().map(bidder_from_row).transpose()?;
        match existing {
            Some(existing) if existing.public_key == b.public_key => Ok((existing, false)),
            _ => Err(StoreError::Conflict(format!("key id {} is registered with another key", b.id))),
        }
    }

    async fn get_bidder(&self, id: &str) -> StoreResult<Option<Bidder>> {
        let row = sqlx::query("SELECT id, name, public_key, created_at FROM bidders WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(bidder_from_row).transpose()
    }

    async fn upsert_custodian(&self, c: &CustodianRecord) -> StoreResult<CustodianRecord> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query("SELECT id, name, public_key, created_at FROM custodians WHERE id = $1")
            .bind(&c.id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let old = custodian_from_row(&row)?;
            if old.public_key != c.public_key {
                return Err(StoreError::Conflict(format!(
                    "custodian '{}' is registered with another key; keys of custodians never change (register a new id)",
                    c.id
                )));
            }
            sqlx::query("UPDATE custodians SET name = $2 WHERE id = $1")
                .bind(&c.id)
                .bind(&c.name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(CustodianRecord { name: c.name.clone(), ..old });
        }
        sqlx::query("INSERT INTO custodians (id, name, public_key, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.public_key)
            .bind(to_micros(c.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Conflict("that public key already belongs to another custodian".into())
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(c.clone())
    }

    async fn insert_custodian(&self, c: &CustodianRecord, token_hash: &[u8]) -> StoreResult<bool> {
        // Never an update: a registered custodian's name, key and token are
        // not staff's to change (a re-registration was a takeover).
        let mut tx = self.begin_write().await?;
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM custodians WHERE id = $1 OR public_key = $2")
            .bind(&c.id)
            .bind(&c.public_key)
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Ok(false);
        }
        let inserted = sqlx::query(
            "INSERT INTO custodians (id, name, public_key, created_at, token_hash) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.public_key)
        .bind(to_micros(c.created_at))
        .bind(token_hash.to_vec())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // A concurrent registration of the same id or key won.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO custodian_audit (id, custodian_id, action, challenge_id, at) VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&c.id)
        .bind("registered".to_string())
        .bind(to_micros(c.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_custodian(&self, id: &str) -> StoreResult<Option<CustodianRecord>> {
        let row = sqlx::query("SELECT id, name, public_key, created_at FROM custodians WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(custodian_from_row).transpose()
    }

    async fn issue_challenge(
        &self,
        c: &NewChallenge,
        max_outstanding: i64,
        max_per_minute: i64,
    ) -> StoreResult<Option<time::OffsetDateTime>> {
        let mut w = Write::begin(self).await?;
        let now = w.now_us();
        // The custodian's row lock serializes its requests, so the limits hold
        // across connections and nodes.
        sqlx::query("UPDATE custodians SET name = name WHERE id = $1").bind(&c.custodian).execute(&mut *w.tx).await?;
        let (live, recent): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN used_at IS NULL AND expires_at > $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN created_at > $3 THEN 1 ELSE 0 END), 0) \
             FROM custodian_challenges WHERE custodian_id = $1",
        )
        .bind(&c.custodian)
        .bind(now)
        .bind(now.saturating_sub(60_000_000))
        .fetch_one(&mut *w.tx)
        .await?;
        if live >= max_outstanding || recent >= max_per_minute {
            return Ok(None);
        }
        let expires = now.saturating_add(c.ttl_secs.saturating_mul(1_000_000));
        sqlx::query(
            "INSERT INTO custodian_challenges (id, custodian_id, purpose, tender_id, nonce_hash, created_at, \
             expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(c.id.to_string())
        .bind(&c.custodian)
        .bind(c.purpose.to_string())
        .bind(c.tender.clone())
        .bind(c.nonce_hash.clone())
        .bind(now)
        .bind(expires)
        .execute(&mut *w.tx)
        .await?;
        // Long-expired challenges are of no use to anyone.
        sqlx::query("DELETE FROM custodian_challenges WHERE custodian_id = $1 AND expires_at < $2")
            .bind(&c.custodian)
            .bind(now.saturating_sub(86_400_000_000))
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(Some(from_micros(expires)?))
    }

    async fn use_challenge(&self, c: &ChallengeUse<'_>, action: &str) -> StoreResult<bool> {
        let mut w = Write::begin(self).await?;
        let now = w.now_us();
        if !take_challenge::<DB>(&mut w, c, now, action).await? {
            return Ok(false);
        }
        w.tx.commit().await?;
        Ok(true)
    }

    async fn rotate_custodian_token(&self, c: &ChallengeUse<'_>, token_hash: &[u8]) -> StoreResult<Option<Vec<Event>>> {
        let mut w = Write::begin(self).await?;
        let now = w.now_us();
        if !take_challenge::<DB>(&mut w, c, now, "token_rotated").await? {
            return Ok(None);
        }
        sqlx::query("UPDATE custodians SET token_hash = $2 WHERE id = $1")
            .bind(c.custodian.to_string())
            .bind(token_hash.to_vec())
            .execute(&mut *w.tx)
            .await?;
        // Ordered by id: tenders are always locked in id order.
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tenders WHERE state IN ('published', 'closed', 'opening') ORDER BY id")
                .fetch_all(&mut *w.tx)
                .await?;
        let mut events = Vec::new();
        for id in ids {
            let id = parse_uuid(&id)?;
            let locked = w.lock_tender(id).await?;
            let live =
                matches!(locked.tender.state, TenderState::Published | TenderState::Closed | TenderState::Opening);
            if !live || !locked.tender.custody.custodians.iter().any(|x| x == c.custodian) {
                continue;
            }
            let draft = EventDraft::of(EventPayload::CustodianTokenRotated(CustodianTokenRotated {
                custodian: c.custodian.to_string(),
                proof: c.id,
            }));
            events.extend(w.append_events(id, vec![draft]).await?);
        }
        w.finish(self.log()).await?;
        Ok(Some(events))
    }

    async fn list_custodians(&self) -> StoreResult<Vec<CustodianRecord>> {
        let rows = sqlx::query("SELECT id, name, public_key, created_at FROM custodians ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(custodian_from_row).collect()
    }

    async fn admit_bidder(&self, tender: Uuid, bidder: &str) -> StoreResult<()> {
        let mut w = Write::begin(self).await?;
        sqlx::query(
            "INSERT INTO tender_admissions (tender_id, bidder_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tender.to_string())
        .bind(bidder.to_string())
        .bind(w.now_us())
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(())
    }

    async fn is_admitted(&self, tender: Uuid, bidder: &str) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tender_admissions WHERE tender_id = $1 AND bidder_id = $2")
                .bind(tender.to_string())
                .bind(bidder.to_string())
                .fetch_one(self.reader())
                .await?;
        Ok(n > 0)
    }

    async fn bid_by_envelope_hash(&self, tender: Uuid, hash: &[u8; 32]) -> StoreResult<Option<StoredBid>> {
        let row = sqlx::query(bids_where("WHERE envelope_hash = $1 AND tender_id = $2"))
            .bind(hash.to_vec())
            .bind(tender.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(bid_from_row).transpose()
    }

    async fn replacing_bid(&self, bid: &StoredBid) -> StoreResult<Option<StoredBid>> {
        let row = sqlx::query(bids_where(
            "WHERE tender_id = $1 AND bidder_id = $2 AND lot = $3 AND log_index > $4 ORDER BY log_index LIMIT 1",
        ))
        .bind(bid.tender_id.to_string())
        .bind(bid.bidder_id.clone())
        .bind(bid.lot.clone())
        .bind(bid.log_index)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(bid_from_row).transpose()
    }

    async fn get_bid(&self, id: Uuid) -> StoreResult<Option<StoredBid>> {
        let row = sqlx::query(bids_where("WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
        row.as_ref().map(bid_from_row).transpose()
    }

    async fn active_bids(&self, tender: Uuid) -> StoreResult<Vec<StoredBid>> {
        let rows = sqlx::query(bids_where("WHERE tender_id = $1 AND status = 'active' ORDER BY log_index"))
            .bind(tender.to_string())
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(bid_from_row).collect()
    }

    async fn submit_bids(&self, bids: &[NewBid]) -> super::BatchResult {
        self.submit_batch(bids).await
    }

    async fn withdraw_bid(&self, tender: Uuid, bid: Uuid) -> StoreResult<(StoredBid, Event)> {
        let mut w = Write::begin(self).await?;
        let locked = w.lock_tender(tender).await?;
        check_accepting(&locked.tender, w.now)?;
        let row = sqlx::query(bids_where("WHERE id = $1 AND tender_id = $2"))
            .bind(bid.to_string())
            .bind(tender.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("bid"))?;
        let current = bid_from_row(&row)?;
        if current.status != BidStatus::Active {
            return Err(StoreError::Conflict(format!("the bid is already {}", current.status.as_str())));
        }
        let draft = EventDraft::bid_withdrawn(&current.envelope_hash, &current.lot, locked.standing - 1)
            .map_err(|e| StoreError::Corrupt(format!("stored envelope hash of bid {bid}: {e}")))?;
        let mut events = w.append_events(tender, vec![draft]).await?;
        let event = events.pop().ok_or_else(|| StoreError::Invariant("an append returned no event".into()))?;
        sqlx::query(
            "UPDATE bids SET status = 'withdrawn', ended_at = $2, end_log_index = $3, end_receipt_size = $4 \
             WHERE id = $1",
        )
        .bind(bid.to_string())
        .bind(w.now_us())
        .bind(event.log_index)
        .bind(event.log_index + 1)
        .execute(&mut *w.tx)
        .await?;
        w.finish(self.log()).await?;
        let stored = self.get_bid(bid).await?.ok_or(StoreError::NotFound("bid"))?;
        Ok((stored, event))
    }

    async fn bid_signature(&self, bid: Uuid) -> StoreResult<Vec<u8>> {
        sqlx::query_scalar("SELECT signature FROM bids WHERE id = $1")
            .bind(bid.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("bid"))
    }

    async fn blob_referenced(&self, hash: &str) -> StoreResult<bool> {
        let pattern = format!("%\"{hash}\"%");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE blobs LIKE $1")
            .bind(pattern)
            .fetch_one(self.reader())
            .await?;
        Ok(n > 0)
    }
}

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
    let ended_at: Option<i64> = row.try_get("ended_at")?;
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
        ended_at: ended_at.map(from_micros).transpose()?,
    })
}

/// A challenge to store (see [`BidStore::issue_challenge`]).
#[derive(Debug, Clone)]
pub struct NewChallenge {
    /// Challenge id.
    pub id: Uuid,
    /// The custodian it is sealed to.
    pub custodian: String,
    /// `rotate` or `release`.
    pub purpose: &'static str,
    /// The tender id for a release, empty otherwise.
    pub tender: String,
    /// SHA-256 of the nonce (the nonce itself is never stored).
    pub nonce_hash: Vec<u8>,
    /// Seconds it stays valid.
    pub ttl_secs: i64,
}

/// An answer to a challenge, to check and use up.
#[derive(Debug, Clone)]
pub struct ChallengeUse<'a> {
    /// Challenge id.
    pub id: Uuid,
    /// The custodian answering.
    pub custodian: &'a str,
    /// The purpose it must have been issued for.
    pub purpose: &'static str,
    /// The tender it must have been issued for (empty for none).
    pub tender: String,
    /// SHA-256 of the answered nonce.
    pub nonce_hash: Vec<u8>,
}

/// Marks a matching live challenge used and writes the audit row; false when none matches.
async fn take_challenge<DB: Backend>(
    w: &mut Write<DB>,
    c: &ChallengeUse<'_>,
    now: i64,
    action: &str,
) -> StoreResult<bool>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    let used = sqlx::query(
        "UPDATE custodian_challenges SET used_at = $6 WHERE id = $1 AND custodian_id = $2 AND purpose = $3 \
         AND tender_id = $4 AND nonce_hash = $5 AND used_at IS NULL AND expires_at > $6",
    )
    .bind(c.id.to_string())
    .bind(c.custodian.to_string())
    .bind(c.purpose.to_string())
    .bind(c.tender.clone())
    .bind(c.nonce_hash.clone())
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    if DB::rows_affected(&used) != 1 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO custodian_audit (id, custodian_id, action, challenge_id, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::now_v7().to_string())
        .bind(c.custodian.to_string())
        .bind(action.to_string())
        .bind(c.id.to_string())
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
    Ok(true)
}
