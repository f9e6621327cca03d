//! The PostgreSQL backend for several server nodes: the database clock is the
//! time authority and row locks serialise changes across nodes.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres};
use time::OffsetDateTime;

use super::backend::{Backend, SqlStore};
use super::{LogContext, StoreResult, from_micros};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// PostgreSQL-backed store.
pub type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    const NAME: &'static str = "postgres";
    const FOR_UPDATE: &'static str = " FOR UPDATE";

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// The database clock: one time authority for every node.
    async fn clock(conn: &mut PgConnection) -> StoreResult<OffsetDateTime> {
        let us: i64 = sqlx::query_scalar("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT")
            .fetch_one(conn)
            .await?;
        from_micros(us)
    }
}

impl SqlStore<Postgres> {
    /// Connects, optionally inside a schema (tests use one schema each), and
    /// migrates.
    pub async fn connect(url: &str, schema: Option<&str>, log: LogContext) -> StoreResult<Self> {
        let mut opts = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            opts = opts.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new().max_connections(16).connect_with(opts).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqlStore { write: pool.clone(), read: pool, log })
    }

    /// The underlying pool (for locks held across a session).
    pub fn pool(&self) -> &PgPool {
        &self.write
    }
}
