//! Multi-row statements: one round trip for many rows instead of one per
//! row, which is what the opening's storage cost was made of.

use sqlx::query_builder::Separated;
use sqlx::{ColumnIndex, Executor, QueryBuilder};

use super::StoreResult;
use super::backend::{Backend, Column, SqlStore};

/// Rows per statement: far below SQLite's 32,766 and PostgreSQL's 65,535
/// bind parameters for any table here, and large enough that a batch of
/// outcomes is one statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    /// `<head> VALUES (…), (…) <tail>` for each chunk of `rows`; `push`
    /// binds one row's values. Returns the number of rows affected.
    pub(crate) async fn insert_many<T>(
        conn: &mut DB::Connection,
        head: &str,
        rows: &[T],
        tail: &str,
        mut push: impl FnMut(Separated<'_, DB, &'static str>, &T),
    ) -> StoreResult<u64> {
        let mut affected = 0;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(head);
            qb.push_values(chunk, &mut push);
            qb.push(tail);
            affected += DB::rows_affected(&qb.build().execute(&mut *conn).await?);
        }
        Ok(affected)
    }
}
