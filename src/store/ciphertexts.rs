//! Small ciphertexts kept in the database (`small_ciphertexts`, keyed by
//! SHA-256 hex like the blob files): an envelope, a form and documents up
//! to [`INLINE_MAX`] bytes. They are written by the group commit in the
//! transaction that records their bid, so the commit the batch pays anyway
//! makes them durable; a file per small ciphertext made inode allocation
//! the receipt path's bottleneck. Larger documents stay files (`blobs.rs`).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};

use super::backend::{Backend, Column, SqlStore};
use super::multirow::ROWS_PER_STATEMENT;
use super::{NewBid, StoreResult};

/// Largest ciphertext kept in the database rather than in a file.
pub const INLINE_MAX: u64 = 64 * 1024;

/// Rows per insert: bounds one statement's size (64 KiB each at most).
const INLINE_ROWS: usize = 64;

/// Reading the small ciphertexts.
#[async_trait]
pub trait CiphertextStore: Send + Sync {
    /// The ciphertexts among `hashes` (hex SHA-256) that the database
    /// holds, by hash; the others are files in the blob directory.
    async fn small_ciphertexts(&self, hashes: &[String]) -> StoreResult<HashMap<String, Vec<u8>>>;
}

#[async_trait]
impl<DB: Backend> CiphertextStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn small_ciphertexts(&self, hashes: &[String]) -> StoreResult<HashMap<String, Vec<u8>>> {
        let mut found = HashMap::new();
        for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new("SELECT sha256, bytes FROM small_ciphertexts WHERE sha256 IN (");
            let mut list = qb.separated(", ");
            for h in chunk {
                list.push_bind(h.clone());
            }
            qb.push(")");
            for row in qb.build().fetch_all(self.reader()).await? {
                found.insert(row.try_get::<String, _>("sha256")?, row.try_get::<Vec<u8>, _>("bytes")?);
            }
        }
        Ok(found)
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
    /// Writes the small ciphertexts of `bids` (each once; one already
    /// stored, e.g. a form sent again, is kept as it is: same hash, same
    /// bytes).
    pub(crate) async fn insert_small_ciphertexts<'b>(
        conn: &mut DB::Connection,
        bids: impl Iterator<Item = &'b NewBid>,
    ) -> StoreResult<()> {
        let mut seen = HashSet::new();
        let rows: Vec<&(String, Vec<u8>)> =
            bids.flat_map(|b| b.inline.iter()).filter(|(h, _)| seen.insert(h.as_str())).collect();
        for chunk in rows.chunks(INLINE_ROWS) {
            let mut qb = QueryBuilder::<DB>::new("INSERT INTO small_ciphertexts (sha256, bytes) ");
            qb.push_values(chunk, |mut b, row| {
                b.push_bind(&row.0).push_bind(&row.1);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}
