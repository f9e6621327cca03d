//! The embedded SQLite backend: WAL, `synchronous=FULL`, one writer
//! connection (SQLite allows one writer at a time; queuing in the pool beats
//! retrying on `SQLITE_BUSY`) and a small pool of readers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection};
use time::OffsetDateTime;

use super::backend::{Backend, SqlStore};
use super::{LogContext, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite-backed store.
pub type SqliteStore = SqlStore<Sqlite>;

impl Backend for Sqlite {
    const NAME: &'static str = "sqlite";
    // The one writer connection serialises write transactions: no row locks.
    const FOR_UPDATE: &'static str = "";

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// One process owns an SQLite database, so its clock is the authority.
    async fn clock(_conn: &mut SqliteConnection) -> StoreResult<OffsetDateTime> {
        Ok(crate::domain::tender::truncate_micros(OffsetDateTime::now_utc()))
    }
}

impl SqlStore<Sqlite> {
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
        Ok(SqlStore { write, read, log })
    }
}
