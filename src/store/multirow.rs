//! Multi-row statements: one round trip for many rows instead of one per
//! row, which is what the opening's storage cost was made of.

/// Rows per statement: far below SQLite's 32,766 and PostgreSQL's 65,535
/// bind parameters for any table here, and large enough that a batch of
/// outcomes is one statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// `INSERT … VALUES (…), (…) <tail>` for each chunk of `rows`; `push` binds
/// one row's values. Evaluates to the number of rows affected.
macro_rules! insert_many {
    ($conn:expr, $db:ty, $head:expr, $rows:expr, $tail:expr, $push:expr) => {{
        let mut affected: u64 = 0;
        for chunk in $rows.chunks($crate::store::multirow::ROWS_PER_STATEMENT) {
            let mut qb = sqlx::QueryBuilder::<$db>::new($head);
            qb.push_values(chunk, $push);
            qb.push($tail);
            affected += qb.build().execute($conn).await?.rows_affected();
        }
        affected
    }};
}
pub(crate) use insert_many;
