//! Bidders' decryption keys: the [`BidderKeyStore`] trait and its one
//! implementation for both backends.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{ColumnIndex, Executor};

use super::backend::{Backend, Column, SqlStore};
use super::{StoreResult, from_micros, to_micros};

/// A bidder's registered decryption key and the signature binding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecryptionKeyRecord {
    /// The bidder's key id.
    pub bidder_id: String,
    /// HPKE P-256 public key, SEC1 uncompressed, base64url.
    #[serde(serialize_with = "crate::store::types::b64")]
    #[schema(value_type = String)]
    pub public_key: Vec<u8>,
    /// The bidder key's signature over the registration statement, base64url.
    #[serde(serialize_with = "crate::store::types::b64")]
    #[schema(value_type = String)]
    pub signature: Vec<u8>,
    /// Registered (or last replaced) at, by the store's clock.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: time::OffsetDateTime,
}

/// What became of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySet {
    /// Stored (first registration or a replacement).
    Stored(DecryptionKeyRecord),
    /// This key was already the bidder's: nothing changed.
    Unchanged(DecryptionKeyRecord),
    /// The statement names another previous key than the current one
    /// (`None`: the bidder has no key and the statement names one).
    Stale(Option<DecryptionKeyRecord>),
    /// Another bidder registered this public key.
    Taken,
}

/// Persistence of bidders' decryption keys.
#[async_trait]
pub trait BidderKeyStore: Send + Sync {
    /// The bidder's current decryption key.
    async fn decryption_key(&self, bidder: &str) -> StoreResult<Option<DecryptionKeyRecord>>;
    /// Stores `new` if the bidder's current key is `previous` (compare and
    /// swap, so a replayed old statement changes nothing).
    async fn set_decryption_key(&self, new: &DecryptionKeyRecord, previous: Option<&[u8]>) -> StoreResult<KeySet>;
}

#[async_trait]
impl<DB: Backend> BidderKeyStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn decryption_key(&self, bidder: &str) -> StoreResult<Option<DecryptionKeyRecord>> {
        let row: Option<(String, Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT bidder_id, public_key, signature, registered_at FROM bidder_decryption_keys WHERE bidder_id = $1",
        )
        .bind(bidder.to_string())
        .fetch_optional(self.reader())
        .await?;
        row.map(from_tuple).transpose()
    }

    async fn set_decryption_key(&self, new: &DecryptionKeyRecord, previous: Option<&[u8]>) -> StoreResult<KeySet> {
        let mut tx = self.begin_write().await?;
        let taken: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM bidder_decryption_keys WHERE public_key = $1 AND bidder_id <> $2")
                .bind(new.public_key.clone())
                .bind(new.bidder_id.clone())
                .fetch_one(&mut *tx)
                .await?;
        if taken > 0 {
            return Ok(KeySet::Taken);
        }
        let at = to_micros(new.registered_at);
        let result = match previous {
            None => {
                sqlx::query(
                    "INSERT INTO bidder_decryption_keys (bidder_id, public_key, signature, registered_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(new.bidder_id.clone())
                .bind(new.public_key.clone())
                .bind(new.signature.clone())
                .bind(at)
                .execute(&mut *tx)
                .await
            }
            Some(old) => {
                sqlx::query(
                    "UPDATE bidder_decryption_keys SET public_key = $2, signature = $3, registered_at = $4 \
                     WHERE bidder_id = $1 AND public_key = $5",
                )
                .bind(new.bidder_id.clone())
                .bind(new.public_key.clone())
                .bind(new.signature.clone())
                .bind(at)
                .bind(old.to_vec())
                .execute(&mut *tx)
                .await
            }
        };
        let changed = match result {
            Ok(r) => DB::rows_affected(&r) == 1,
            // Another bidder took the key between the check and the write.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(KeySet::Taken),
            Err(e) => return Err(e.into()),
        };
        let row: Option<(String, Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT bidder_id, public_key, signature, registered_at FROM bidder_decryption_keys WHERE bidder_id = $1",
        )
        .bind(new.bidder_id.clone())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let current = row.map(from_tuple).transpose()?;
        Ok(match current {
            Some(c) if changed => KeySet::Stored(c),
            Some(c) if c.public_key == new.public_key => KeySet::Unchanged(c),
            other => KeySet::Stale(other),
        })
    }
}

fn from_tuple(
    (bidder_id, public_key, signature, at): (String, Vec<u8>, Vec<u8>, i64),
) -> StoreResult<DecryptionKeyRecord> {
    Ok(DecryptionKeyRecord { bidder_id, public_key, signature, registered_at: from_micros(at)? })
}
