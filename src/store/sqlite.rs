//! The embedded SQLite backend: WAL, `synchronous=FULL`, one writer
//! connection (SQLite allows one writer at a time; queuing in the pool beats
//! retrying on `SQLITE_BUSY`) and a small pool of readers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use super::{LogContext, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite-backed store.
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    log: LogContext,
}

impl SqliteStore {
    const NAME: &'static str = "sqlite";

    /// Opens (creating if needed) the database at `url` and migrates it.
    pub async fn connect(url: &str, log: LogContext) -> StoreResult<Self> {
        Self::open(SqliteConnectOptions::from_str(url)?, log).await
    }

    /// Opens (creating if needed) the database file at `path`.
    pub async fn open_file(path: &std::path::Path, log: LogContext) -> StoreResult<Self> {
        Self::open(SqliteConnectOptions::new().filename(path), log).await
    }

    async fn open(opts: SqliteConnectOptions, log: LogContext) -> StoreResult<Self> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        Ok(SqliteStore { write, read, log })
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn log(&self) -> &LogContext {
        &self.log
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write.begin().await?)
    }

    /// One process owns an SQLite database, so its clock is the authority.
    async fn clock(_conn: &mut SqliteConnection) -> StoreResult<OffsetDateTime> {
        Ok(crate::domain::tender::truncate_micros(OffsetDateTime::now_utc()))
    }

    async fn check_ready(&self) -> StoreResult<()> {
        applied_all(&self.read, &MIGRATOR).await
    }
}

/// Checks that every embedded migration has been applied successfully.
async fn applied_all(pool: &SqlitePool, migrator: &sqlx::migrate::Migrator) -> StoreResult<()> {
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
    if applied as usize != migrator.iter().count() {
        return Err(StoreError::Corrupt(format!("{applied} of {} migrations applied", migrator.iter().count())));
    }
    Ok(())
}

super::shared::shared_store_impl!(SqliteStore, sqlx::Sqlite, "");
super::log::shared_log_impl!(SqliteStore, sqlx::Sqlite, "");
super::bids::shared_bids_impl!(SqliteStore, sqlx::Sqlite, "");
super::batch::shared_batch_impl!(SqliteStore, sqlx::Sqlite, "");
super::log::shared_log_read_impl!(SqliteStore, sqlx::Sqlite);
super::opening::shared_opening_impl!(SqliteStore, sqlx::Sqlite, "");
