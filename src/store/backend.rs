//! What differs between the two backends, and the one store generic over it.
//!
//! The SQL is written once, in generic code over [`Backend`]: the statements
//! use `$n` parameters, which SQLite and PostgreSQL both accept. A backend
//! supplies only its name, its row-lock clause, its migrations and its clock.
//!
//! Generic code over [`sqlx::Database`] needs bounds on foreign types
//! (`String: Encode<DB>`, `&mut DB::Connection: Executor`), and Rust does not
//! imply bounds whose subject is not `Self` from a trait's where clause. So
//! the bounds that can be bundled are bundled here ([`Backend`] implies
//! `DB::Arguments: IntoArguments`, [`Column`] bundles a type's encode, decode
//! and type info), and each generic impl block states the short rest:
//!
//! ```text
//! where
//!     for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
//!     for<'a> &'a str: ColumnIndex<DB::Row>,
//!     usize: ColumnIndex<DB::Row>,
//!     String: Column<DB>,
//!     i64: Column<DB>,
//!     Vec<u8>: Column<DB>,
//! ```
//!
//! The statements bind only these three types (and references to them);
//! optional values are written as `NULL` in the statement instead of bound,
//! because sqlx implements `Encode` for `Option<T>` per backend, not
//! generically.

use std::future::Future;

use sqlx::migrate::Migrator;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};
use time::OffsetDateTime;

use super::{LogContext, StoreError, StoreResult};

/// What one backend contributes to the shared store.
pub trait Backend: Database<Arguments: IntoArguments<Self>> {
    /// The backend's name, for logs.
    const NAME: &'static str;
    /// Appended to a `SELECT` that must lock its rows until the transaction
    /// ends: `" FOR UPDATE"` on PostgreSQL, empty on SQLite (whose single
    /// writer connection already serialises every write transaction).
    const FOR_UPDATE: &'static str;

    /// The backend's embedded migrations.
    fn migrator() -> &'static Migrator;

    /// Current time from the backend's time authority.
    fn clock(conn: &mut Self::Connection) -> impl Future<Output = StoreResult<OffsetDateTime>> + Send;

    /// Rows a statement changed (sqlx's result type is per backend).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A Rust type the statements bind and read on backend `DB`.
pub trait Column<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Column<DB> for T where T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

/// The store on backend `DB`: [`super::SqliteStore`] or [`super::PgStore`].
pub struct SqlStore<DB: Backend> {
    /// Write transactions (SQLite: one connection; PostgreSQL: the pool).
    pub(crate) write: Pool<DB>,
    /// Reads outside write transactions (PostgreSQL: the same pool).
    pub(crate) read: Pool<DB>,
    /// Signs checkpoints as the store appends.
    pub(crate) log: LogContext,
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
    /// The pool for reads.
    pub(crate) fn reader(&self) -> &Pool<DB> {
        &self.read
    }

    /// The log's signer and origin.
    pub(crate) fn log(&self) -> &LogContext {
        &self.log
    }

    /// A plain write transaction (for writes that append nothing to the log
    /// and need no clock; the others go through [`super::write::Write`]).
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, DB>> {
        Ok(self.write.begin().await?)
    }

    /// Succeeds when every embedded migration has been applied successfully.
    pub(crate) async fn check_ready(&self) -> StoreResult<()> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(self.reader()).await?;
        let expected = DB::migrator().iter().count();
        if applied as usize != expected {
            return Err(StoreError::NotReady(format!("{applied} of {expected} migrations applied")));
        }
        Ok(())
    }
}
