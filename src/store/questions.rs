//! Bidders' private questions to the host: the [`QuestionStore`] trait and
//! its one implementation for both backends. Not part of the log: a
//! question is public only through the announcement that answers it.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{ColumnIndex, Executor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::{StoreError, StoreResult, from_micros, to_micros};

/// A bidder's question, as staff and its asker see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Question {
    /// The question's id.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// The tender it is about.
    #[schema(value_type = String, format = Uuid)]
    pub tender: Uuid,
    /// The asking bidder's key id.
    pub bidder: String,
    /// The question, as written.
    pub text: String,
    /// When the bidder signed it, Unix seconds.
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url).
    #[serde(serialize_with = "crate::store::types::b64")]
    #[schema(value_type = String)]
    pub signature: Vec<u8>,
    /// When the server took it (its clock).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub asked_at: OffsetDateTime,
    /// The announcement that answered it, once answered.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub answer: Option<Uuid>,
    /// When it was answered.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
}

/// Persistence of questions.
#[async_trait]
pub trait QuestionStore: Send + Sync {
    /// Stores a new, unanswered question.
    async fn insert_question(&self, q: &Question) -> StoreResult<()>;
    /// The tender's questions, oldest first; only `bidder`'s when given.
    async fn questions(&self, tender: Uuid, bidder: Option<&str>) -> StoreResult<Vec<Question>>;
    /// One question of the tender.
    async fn question(&self, tender: Uuid, id: Uuid) -> StoreResult<Option<Question>>;
    /// Marks an unanswered question answered by `answer` (compare and swap:
    /// of two hosts answering at once, one wins); false if it already was.
    async fn claim_answer(&self, id: Uuid, answer: Uuid, at: OffsetDateTime) -> StoreResult<bool>;
    /// Undoes [`claim_answer`](Self::claim_answer) when the announcement could not be posted.
    async fn release_answer(&self, id: Uuid, answer: Uuid) -> StoreResult<()>;
}

/// The columns as read: an unanswered question reads `''` and `-1` (the
/// statements bind and read no optional values; see `backend.rs`).
type Row = (String, String, String, String, i64, Vec<u8>, i64, String, i64);

const COLUMNS: &str = "id, tender_id, bidder_id, text, signed_at, signature, asked_at, \
                       COALESCE(answer_id, ''), COALESCE(answered_at, -1)";

/// A select of the columns with a constant tail (no outside input in the SQL).
fn select(tail: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM questions {tail}"))
}

fn uuid(s: &str) -> StoreResult<Uuid> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("question id {s:?}")))
}

fn from_row(
    (id, tender, bidder, text, signed_at, signature, asked_at, answer, answered_at): Row,
) -> StoreResult<Question> {
    Ok(Question {
        id: uuid(&id)?,
        tender: uuid(&tender)?,
        bidder,
        text,
        signed_at,
        signature,
        asked_at: from_micros(asked_at)?,
        answer: (!answer.is_empty()).then(|| uuid(&answer)).transpose()?,
        answered_at: (answered_at >= 0).then(|| from_micros(answered_at)).transpose()?,
    })
}

#[async_trait]
impl<DB: Backend> QuestionStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn insert_question(&self, q: &Question) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO questions (id, tender_id, bidder_id, text, signed_at, signature, asked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(q.id.to_string())
        .bind(q.tender.to_string())
        .bind(q.bidder.clone())
        .bind(q.text.clone())
        .bind(q.signed_at)
        .bind(q.signature.clone())
        .bind(to_micros(q.asked_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn questions(&self, tender: Uuid, bidder: Option<&str>) -> StoreResult<Vec<Question>> {
        let rows: Vec<Row> = match bidder {
            Some(b) => {
                sqlx::query_as(select("WHERE tender_id = $1 AND bidder_id = $2 ORDER BY asked_at, id"))
                    .bind(tender.to_string())
                    .bind(b.to_string())
                    .fetch_all(self.reader())
                    .await?
            }
            None => {
                sqlx::query_as(select("WHERE tender_id = $1 ORDER BY asked_at, id"))
                    .bind(tender.to_string())
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.into_iter().map(from_row).collect()
    }

    async fn question(&self, tender: Uuid, id: Uuid) -> StoreResult<Option<Question>> {
        let row: Option<Row> = sqlx::query_as(select("WHERE tender_id = $1 AND id = $2"))
            .bind(tender.to_string())
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.map(from_row).transpose()
    }

    async fn claim_answer(&self, id: Uuid, answer: Uuid, at: OffsetDateTime) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let r =
            sqlx::query("UPDATE questions SET answer_id = $2, answered_at = $3 WHERE id = $1 AND answer_id IS NULL")
                .bind(id.to_string())
                .bind(answer.to_string())
                .bind(to_micros(at))
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn release_answer(&self, id: Uuid, answer: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE questions SET answer_id = NULL, answered_at = NULL WHERE id = $1 AND answer_id = $2")
            .bind(id.to_string())
            .bind(answer.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
