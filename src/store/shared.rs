//! The [`Store`] implementation both backends share (generic over
//! [`Backend`]), and the row decoders every part of the store uses.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Column, SqlStore};
use super::write::Write;
use super::{
    Event, Staff, Store, StoreError, StoreResult, StoredCheckpoint, StoredTender, TenderQuery, Transition,
    TransitionContext, from_micros, parse_role, to_micros,
};
use crate::domain::{Tender, TenderState};

#[async_trait]
impl<DB: Backend> Store for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    i64: Column<DB>,
    Vec<u8>: Column<DB>,
{
    fn backend(&self) -> &'static str {
        <DB as Backend>::NAME
    }

    async fn now(&self) -> StoreResult<OffsetDateTime> {
        let mut conn = self.reader().acquire().await?;
        DB::clock(&mut conn).await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.check_ready().await
    }

    async fn set_bootstrap_admin(&self, token_hash: &[u8]) -> StoreResult<()> {
        let mut w = Write::begin(self).await?;
        let updated = sqlx::query("UPDATE staff SET token_hash = $1 WHERE bootstrap = 1")
            .bind(token_hash.to_vec())
            .execute(&mut *w.tx)
            .await?;
        if DB::rows_affected(&updated) == 0 {
            sqlx::query(
                "INSERT INTO staff (id, name, role, token_hash, bootstrap, created_at) \
                 VALUES ($1, 'admin', 'admin', $2, 1, $3)",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(token_hash.to_vec())
            .bind(w.now_us())
            .execute(&mut *w.tx)
            .await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    async fn has_bootstrap_admin(&self) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE bootstrap = 1").fetch_one(self.reader()).await?;
        Ok(n > 0)
    }

    async fn insert_staff(&self, staff: &Staff, token_hash: &[u8]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO staff (id, name, role, token_hash, bootstrap, created_at) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(staff.id.to_string())
        .bind(&staff.name)
        .bind(staff.role.as_str().to_string())
        .bind(token_hash.to_vec())
        .bind(to_micros(staff.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn staff_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Option<Staff>> {
        // The lookup by hash is the check: tokens are 256-bit random, so
        // finding the row proves knowledge of the token, and the index
        // lookup's timing depends on the hash, which reveals nothing
        // usable about the token. A second comparison would always pass.
        let row = sqlx::query("SELECT id, name, role, created_at FROM staff WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query("SELECT id, name, role, created_at FROM staff ORDER BY created_at, id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn insert_tender(&self, tender: &Tender, actor: &str) -> StoreResult<()> {
        let doc = tender_doc(tender)?;
        let mut w = Write::begin(self).await?;
        sqlx::query(
            "INSERT INTO tenders \
             (id, state, reference, title, buyer, deadline, opening_at, created_at, updated_at, last_seq, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0, $9)",
        )
        .bind(tender.id.to_string())
        .bind(tender.state.as_str().to_string())
        .bind(&tender.reference)
        .bind(&tender.title)
        .bind(&tender.buyer)
        .bind(to_micros(tender.deadline))
        .bind(to_micros(tender.opening_at))
        .bind(w.now_us())
        .bind(&doc)
        .execute(&mut *w.tx)
        .await?;
        w.audit(tender.id, actor, "create", &doc).await?;
        w.tx.commit().await?;
        Ok(())
    }

    async fn get_tender(&self, id: Uuid) -> StoreResult<Option<StoredTender>> {
        let row = sqlx::query("SELECT doc, last_seq FROM tenders WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(tender_from_row).transpose()
    }

    async fn list_tenders(&self, q: &TenderQuery) -> StoreResult<Vec<StoredTender>> {
        // Only the clauses that apply, so each shape is one plain statement.
        let mut qb = QueryBuilder::<DB>::new("SELECT doc, last_seq FROM tenders WHERE 1 = 1");
        if let Some(state) = q.state {
            qb.push(" AND state = ").push_bind(state.as_str().to_string());
        }
        if !q.include_drafts {
            qb.push(" AND state <> 'draft'");
        }
        if let Some(search) = &q.search {
            let pattern = like_pattern(search);
            qb.push(" AND (lower(title) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
            qb.push(" OR lower(reference) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
            qb.push(" OR lower(buyer) LIKE ").push_bind(pattern).push(" ESCAPE '\\')");
        }
        qb.push(" ORDER BY created_at DESC, id LIMIT ").push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
        let rows = qb.build().fetch_all(self.reader()).await?;
        rows.iter().map(tender_from_row).collect()
    }

    async fn update_tender(
        &self,
        id: Uuid,
        actor: &str,
        action: &'static str,
        transition: Transition,
    ) -> StoreResult<(Tender, Vec<Event>)> {
        let mut w = Write::begin(self).await?;
        let mut tender = w.lock_tender(id).await?.tender;
        let envelopes = if tender.state == TenderState::Published {
            let rows: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT envelope_hash FROM bids WHERE tender_id = $1 AND status = 'active' ORDER BY log_index",
            )
            .bind(id.to_string())
            .fetch_all(&mut *w.tx)
            .await?;
            rows.into_iter()
                .map(|h| h.try_into().map_err(|_| StoreError::Corrupt("envelope hash is not 32 bytes".into())))
                .collect::<Result<Vec<[u8; 32]>, _>>()?
        } else {
            Vec::new()
        };
        let ctx = TransitionContext { now: w.now, envelopes };
        let drafts = transition(&mut tender, &ctx)?;
        let doc = tender_doc(&tender)?;
        let events = w.append_events(id, drafts).await?;
        w.audit(id, actor, action, &doc).await?;
        w.pending.rewrite(id, tender.clone(), doc)?;
        w.finish(self.log()).await?;
        Ok((tender, events))
    }

    async fn events(&self, tender: Uuid, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT e.seq, e.log_index, l.entry FROM events e JOIN log_entries l ON l.idx = e.log_index \
             WHERE e.tender_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
        )
        .bind(tender.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn due_to_close(&self, at: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tenders WHERE state = 'published' AND deadline <= $1 ORDER BY deadline")
                .bind(to_micros(at))
                .fetch_all(self.reader())
                .await?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    async fn next_deadline(&self) -> StoreResult<Option<OffsetDateTime>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(deadline) FROM tenders WHERE state = 'published'")
            .fetch_one(self.reader())
            .await?;
        next.map(from_micros).transpose()
    }

    async fn session_due(&self, at: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tenders WHERE session_due <= $1 ORDER BY session_due")
                .bind(to_micros(at))
                .fetch_all(self.reader())
                .await?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    async fn next_session_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(session_due) FROM tenders").fetch_one(self.reader()).await?;
        next.map(from_micros).transpose()
    }

    async fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        let row = sqlx::query("SELECT size, root, note, at FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }
}

/// A tender's stored JSON document.
fn tender_doc(tender: &Tender) -> StoreResult<String> {
    serde_json::to_string(tender).map_err(|e| StoreError::Encode(format!("tender document: {e}")))
}

/// A case-insensitive `LIKE` pattern matching `search` anywhere, with `%`,
/// `_` and the escape character itself taken literally (`ESCAPE '\'`).
pub(crate) fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(crate) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

pub(crate) fn staff_from_row<R: Row>(row: &R) -> StoreResult<Staff>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    Ok(Staff {
        id: parse_uuid(&id)?,
        name: row.try_get("name")?,
        role: parse_role(&role)?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

pub(crate) fn tender_from_row<R: Row>(row: &R) -> StoreResult<StoredTender>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let doc: String = row.try_get("doc")?;
    let tender = serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("tender document: {e}")))?;
    Ok(StoredTender { tender, last_seq: row.try_get("last_seq")? })
}

pub(crate) fn event_from_row<R: Row>(row: &R) -> StoreResult<Event>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let entry: Vec<u8> = row.try_get("entry")?;
    let log_index: i64 = row.try_get("log_index")?;
    super::log::event_from_entry(&entry, log_index)
}

pub(crate) fn checkpoint_from_row<R: Row>(row: &R) -> StoreResult<StoredCheckpoint>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let root: Vec<u8> = row.try_get("root")?;
    Ok(StoredCheckpoint {
        size: row.try_get("size")?,
        root: hex::encode(root),
        note: row.try_get("note")?,
        at: super::from_micros(row.try_get("at")?)?,
    })
}
