//! The PostgreSQL backend for several server nodes: the database clock is the
//! time authority and row locks serialise changes across nodes.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::{LogContext, StoreError, StoreResult, from_micros};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// PostgreSQL-backed store.
pub struct PgStore {
    pool: PgPool,
    log: LogContext,
}

impl PgStore {
    const NAME: &'static str = "postgres";

    /// Connects, optionally inside a schema (tests use one schema each), and
    /// migrates.
    pub async fn connect(url: &str, schema: Option<&str>, log: LogContext) -> StoreResult<Self> {
        let mut opts = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            opts = opts.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new().max_connections(16).connect_with(opts).await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool, log })
    }

    /// The underlying pool (for locks held across a session).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn log(&self) -> &LogContext {
        &self.log
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// The database clock: one time authority for every node.
    async fn clock(conn: &mut PgConnection) -> StoreResult<OffsetDateTime> {
        let us: i64 = sqlx::query_scalar("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT")
            .fetch_one(conn)
            .await?;
        from_micros(us)
    }

    async fn check_ready(&self) -> StoreResult<()> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        if applied as usize != MIGRATOR.iter().count() {
            return Err(StoreError::Corrupt(format!("{applied} of {} migrations applied", MIGRATOR.iter().count())));
        }
        Ok(())
    }
}

super::shared::shared_store_impl!(PgStore, sqlx::Postgres, " FOR UPDATE");
super::log::shared_log_impl!(PgStore, sqlx::Postgres, " FOR UPDATE");
super::bids::shared_bids_impl!(PgStore, sqlx::Postgres, " FOR UPDATE");
super::batch::shared_batch_impl!(PgStore, sqlx::Postgres, " FOR UPDATE");
super::log::shared_log_read_impl!(PgStore, sqlx::Postgres);
super::opening::shared_opening_impl!(PgStore, sqlx::Postgres, " FOR UPDATE");
