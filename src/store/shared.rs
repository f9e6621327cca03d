//! The SQL both backends share. The statements use `$n` parameters, which
//! SQLite and PostgreSQL both accept; backend differences (clock, locking,
//! write transactions) are inherent methods each backend provides:
//! `reader()`, `begin_write()`, `clock(&mut conn)`, `check_ready()`.

/// Implements [`crate::store::Store`] for a backend type.
macro_rules! shared_store_impl {
    ($store:ty, $db:ty, $for_update:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                <$store>::NAME
            }

            async fn now(&self) -> $crate::store::StoreResult<time::OffsetDateTime> {
                let mut conn = self.reader().acquire().await?;
                Self::clock(&mut conn).await
            }

            async fn ready(&self) -> $crate::store::StoreResult<()> {
                self.check_ready().await
            }

            async fn set_bootstrap_admin(&self, token_hash: &[u8]) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let updated = sqlx::query("UPDATE staff SET token_hash = $1 WHERE bootstrap = 1")
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    sqlx::query("INSERT INTO staff (id, name, role, token_hash, bootstrap, created_at) VALUES ($1, 'admin', 'admin', $2, 1, $3)")
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(token_hash)
                        .bind($crate::store::to_micros(now))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn has_bootstrap_admin(&self) -> $crate::store::StoreResult<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE bootstrap = 1")
                    .fetch_one(self.reader())
                    .await?;
                Ok(n > 0)
            }

            async fn insert_staff(&self, staff: &$crate::store::Staff, token_hash: &[u8]) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO staff (id, name, role, token_hash, bootstrap, created_at) VALUES ($1, $2, $3, $4, 0, $5)")
                    .bind(staff.id.to_string())
                    .bind(&staff.name)
                    .bind(staff.role.as_str())
                    .bind(token_hash)
                    .bind($crate::store::to_micros(staff.created_at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn staff_by_token_hash(&self, token_hash: &[u8]) -> $crate::store::StoreResult<Option<$crate::store::Staff>> {
                let row = sqlx::query("SELECT id, name, role, created_at, token_hash FROM staff WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(self.reader())
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let stored: Vec<u8> = sqlx::Row::try_get(&row, "token_hash")?;
                // The index lookup found it; compare again in constant time so
                // no timing difference depends on how much of the hash matched.
                if !$crate::store::shared::ct_eq(&stored, token_hash) {
                    return Ok(None);
                }
                $crate::store::shared::staff_from_row(&row).map(Some)
            }

            async fn list_staff(&self) -> $crate::store::StoreResult<Vec<$crate::store::Staff>> {
                let rows = sqlx::query("SELECT id, name, role, created_at FROM staff ORDER BY created_at, id")
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map($crate::store::shared::staff_from_row).collect()
            }

            async fn insert_tender(&self, tender: &$crate::domain::Tender, actor: &str) -> $crate::store::StoreResult<()> {
                let doc = serde_json::to_string(tender).map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.begin_write().await?;
                let now = $crate::store::to_micros(Self::clock(&mut tx).await?);
                sqlx::query("INSERT INTO tenders (id, state, reference, deadline, opening_at, created_at, updated_at, last_seq, doc) VALUES ($1, $2, $3, $4, $5, $6, $6, 0, $7)")
                    .bind(tender.id.to_string())
                    .bind(tender.state.as_str())
                    .bind(&tender.reference)
                    .bind($crate::store::to_micros(tender.deadline))
                    .bind($crate::store::to_micros(tender.opening_at))
                    .bind(now)
                    .bind(&doc)
                    .execute(&mut *tx)
                    .await?;
                $crate::store::shared::audit!(tx, tender.id, now, actor, "create", &doc);
                tx.commit().await?;
                Ok(())
            }

            async fn get_tender(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::store::StoredTender>> {
                let row = sqlx::query("SELECT doc, last_seq FROM tenders WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::shared::tender_from_row).transpose()
            }

            async fn list_tenders(&self, q: &$crate::store::TenderQuery) -> $crate::store::StoreResult<Vec<$crate::store::StoredTender>> {
                let search = q.search.as_ref().map(|s| format!("%{}%", s.to_lowercase()));
                let rows = sqlx::query(
                    "SELECT doc, last_seq FROM tenders \
                     WHERE ($1 IS NULL OR state = $1) AND ($2 = 1 OR state <> 'draft') \
                     AND ($3 IS NULL OR lower(doc) LIKE $3) \
                     ORDER BY created_at DESC, id LIMIT $4 OFFSET $5",
                )
                .bind(q.state.map(|s| s.as_str()))
                .bind(i64::from(q.include_drafts))
                .bind(search)
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map($crate::store::shared::tender_from_row).collect()
            }

            async fn update_tender(
                &self,
                id: uuid::Uuid,
                actor: &str,
                action: &'static str,
                transition: $crate::store::Transition,
            ) -> $crate::store::StoreResult<($crate::domain::Tender, Vec<$crate::store::Event>)> {
                let mut tx = self.begin_write().await?;
                let now = Self::clock(&mut tx).await?;
                let row = sqlx::query(concat!("SELECT doc, last_seq FROM tenders WHERE id = $1", $for_update))
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("tender"))?;
                let stored = $crate::store::shared::tender_from_row(&row)?;
                let mut tender = stored.tender;
                let envelopes = if tender.state == $crate::domain::TenderState::Published {
                    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT envelope_hash FROM bids WHERE tender_id = $1 AND status = 'active' ORDER BY log_index")
                        .bind(id.to_string())
                        .fetch_all(&mut *tx)
                        .await?;
                    rows.into_iter()
                        .map(|h| h.try_into().map_err(|_| $crate::store::StoreError::Corrupt("envelope hash is not 32 bytes".into())))
                        .collect::<Result<Vec<[u8; 32]>, _>>()?
                } else {
                    Vec::new()
                };
                let ctx = $crate::store::TransitionContext { now, envelopes };
                let drafts = transition(&mut tender, &ctx)?;
                let doc = serde_json::to_string(&tender).map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                let now_us = $crate::store::to_micros(now);
                let mut seq = stored.last_seq;
                let mut entries = Vec::with_capacity(drafts.len());
                for draft in drafts {
                    seq += 1;
                    entries.push($crate::store::log::encode_event(id, seq, now, draft)?);
                }
                let indices = if entries.is_empty() { Vec::new() } else { Self::append_log(&mut tx, self.log(), &entries, now).await?.indices };
                let mut events = Vec::with_capacity(entries.len());
                for (entry, log_index) in entries.iter().zip(indices) {
                    let event = $crate::store::log::event_from_entry(entry, log_index)?;
                    sqlx::query("INSERT INTO events (tender_id, seq, kind, at, log_index) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id.to_string())
                        .bind(event.seq)
                        .bind(&event.kind)
                        .bind(now_us)
                        .bind(log_index)
                        .execute(&mut *tx)
                        .await?;
                    events.push(event);
                }
                sqlx::query("UPDATE tenders SET state = $2, deadline = $3, opening_at = $4, updated_at = $5, last_seq = $6, doc = $7 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(tender.state.as_str())
                    .bind($crate::store::to_micros(tender.deadline))
                    .bind($crate::store::to_micros(tender.opening_at))
                    .bind(now_us)
                    .bind(seq)
                    .bind(&doc)
                    .execute(&mut *tx)
                    .await?;
                $crate::store::shared::audit!(tx, id, now_us, actor, action, &doc);
                tx.commit().await?;
                Ok((tender, events))
            }

            async fn events(&self, tender: uuid::Uuid, after: i64, limit: i64) -> $crate::store::StoreResult<Vec<$crate::store::Event>> {
                let rows = sqlx::query(
                    "SELECT e.seq, e.log_index, l.entry FROM events e JOIN log_entries l ON l.idx = e.log_index \
                     WHERE e.tender_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
                )
                .bind(tender.to_string())
                .bind(after)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map($crate::store::shared::event_from_row).collect()
            }

            async fn due_to_close(&self, at: time::OffsetDateTime) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenders WHERE state = 'published' AND deadline <= $1 ORDER BY deadline")
                    .bind($crate::store::to_micros(at))
                    .fetch_all(self.reader())
                    .await?;
                ids.iter().map(|s| $crate::store::shared::parse_uuid(s)).collect()
            }

            async fn next_deadline(&self) -> $crate::store::StoreResult<Option<time::OffsetDateTime>> {
                let next: Option<i64> = sqlx::query_scalar("SELECT MIN(deadline) FROM tenders WHERE state = 'published'")
                    .fetch_one(self.reader())
                    .await?;
                next.map($crate::store::from_micros).transpose()
            }

            async fn latest_checkpoint(&self) -> $crate::store::StoreResult<Option<$crate::store::StoredCheckpoint>> {
                let row = sqlx::query("SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map($crate::store::shared::checkpoint_from_row).transpose()
            }
        }
    };
}

pub(crate) use shared_store_impl;

/// Writes one row of the staff-only trail of tender changes.
macro_rules! audit {
    ($tx:ident, $id:expr, $now_us:expr, $actor:expr, $action:expr, $doc:expr) => {
        sqlx::query("INSERT INTO tender_audit (tender_id, at, actor, action, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind($id.to_string())
            .bind($now_us)
            .bind($actor)
            .bind($action)
            .bind($doc)
            .execute(&mut *$tx)
            .await?;
    };
}
pub(crate) use audit;

/// Records one logged event of a tender and moves its sequence number;
/// evaluates to the [`crate::store::Event`].
macro_rules! record_event {
    ($tx:ident, $tender:expr, $seq:expr, $now_us:expr, $entry:expr, $log_index:expr) => {{
        let event = $crate::store::log::event_from_entry($entry, $log_index)?;
        sqlx::query("INSERT INTO events (tender_id, seq, kind, at, log_index) VALUES ($1, $2, $3, $4, $5)")
            .bind($tender.to_string())
            .bind($seq)
            .bind(&event.kind)
            .bind($now_us)
            .bind($log_index)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("UPDATE tenders SET last_seq = $2, updated_at = $3 WHERE id = $1")
            .bind($tender.to_string())
            .bind($seq)
            .bind($now_us)
            .execute(&mut *$tx)
            .await?;
        event
    }};
}
pub(crate) use record_event;

use sqlx::Row;
use uuid::Uuid;

use super::{Event, Staff, StoreError, StoreResult, StoredCheckpoint, StoredTender, from_micros, parse_role};

/// Constant-time equality of two byte strings of public length.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    Ok(StoredCheckpoint { size: row.try_get("size")?, root: hex::encode(root), note: row.try_get("note")? })
}
