//! Persistence: one [`Store`] trait, implemented once by [`SqlStore`],
//! generic over its [`Backend`] (SQLite embedded, PostgreSQL for several
//! nodes): each statement is written once.
//!
//! Every change to a tender goes through [`Store::update_tender`], which runs
//! the pure domain transition inside one transaction together with its events
//! and their transparency-log entries: all of it lands, or none of it. Every
//! writer appends events the same way (`write.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{DomainError, EventDraft, Role, Tender};

mod backend;
pub mod batch;
pub mod bidder_keys;
pub mod bids;
pub mod blobs;
pub mod ciphertexts;
mod committer;
mod log;
mod multirow;
pub mod opening;
pub mod paging;
mod postgres;
pub mod questions;
mod release;
mod shared;
mod sqlite;
pub mod staging;
mod types;
mod write;

pub use backend::{Backend, Column, SqlStore};
pub use batch::{BatchResult, Submitted};
pub use bidder_keys::{BidderKeyStore, DecryptionKeyRecord, KeySet};
pub use bids::{BidStore, ChallengeUse, NewChallenge};
pub use blobs::{BlobInfo, BlobStore};
pub use ciphertexts::{CiphertextStore, INLINE_MAX};
pub use committer::{Committer, MAX_BATCH, OnCommit};
pub use log::{LogContext, LogStore};
pub use opening::{OpeningStore, Outcome, OutcomeCounts, Recorded, ReleaseEvent, ReleasedShare, StoredShare};
pub use paging::PagingStore;
pub use postgres::PgStore;
pub use questions::{Question, QuestionStore};
pub use sqlite::SqliteStore;
pub use staging::{PartSpec, PartState, Staging, StagingError, UploadSession};
pub use types::*;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A domain rule refused the change; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The change conflicts with existing data (e.g. a duplicate reference).
    #[error("{0}")]
    Conflict(String),
    /// Stored data could not be read back: it is corrupt.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A value could not be encoded for storage (a document or a log entry).
    #[error("could not encode {0}")]
    Encode(String),
    /// Signing a checkpoint failed.
    #[error("signing the checkpoint failed: {0}")]
    Sign(#[from] crate::ledger::NoteError),
    /// The store broke one of its own rules (a bug); nothing was written.
    #[error("store invariant broken: {0}")]
    Invariant(String),
    /// The database is reachable but not ready (migrations not applied).
    #[error("the database is not ready: {0}")]
    NotReady(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A file operation failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// The batch this submission was committed with failed as a whole
    /// (nothing of it was written); retrying is safe.
    #[error("the group commit failed: {0}")]
    Batch(String),
    /// The group committer's task ended (it panicked); nothing of this
    /// submission was recorded, and nothing more can be until a restart.
    #[error("the committer stopped")]
    CommitterStopped,
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// What a transition sees besides the tender, read inside its transaction.
#[derive(Debug, Clone)]
pub struct TransitionContext {
    /// The time authority's now.
    pub now: OffsetDateTime,
    /// Envelope hashes of the standing bids in order of receipt (loaded while
    /// the tender accepts bids, for the close; empty otherwise).
    pub envelopes: Vec<[u8; 32]>,
}

/// A domain transition run inside the store's transaction; returns the
/// events it produced.
pub type Transition = Box<dyn FnOnce(&mut Tender, &TransitionContext) -> Result<Vec<EventDraft>, DomainError> + Send>;

/// The persistence interface used by the HTTP layer and the scheduler.
#[async_trait]
pub trait Store:
    BidStore
    + BidderKeyStore
    + CiphertextStore
    + LogStore
    + OpeningStore
    + PagingStore
    + QuestionStore
    + Send
    + Sync
    + 'static
{
    /// The backend's name, for logs.
    fn backend(&self) -> &'static str;
    /// Current time from the time authority (the database clock on PostgreSQL).
    async fn now(&self) -> StoreResult<OffsetDateTime>;
    /// Succeeds when the database answers and all migrations are applied.
    async fn ready(&self) -> StoreResult<()>;

    /// Sets the bootstrap admin's token hash, creating the admin if needed.
    async fn set_bootstrap_admin(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// Is there a bootstrap admin yet?
    async fn has_bootstrap_admin(&self) -> StoreResult<bool>;
    /// Adds a staff account.
    async fn insert_staff(&self, staff: &Staff, token_hash: &[u8]) -> StoreResult<()>;
    /// Finds the staff account owning a token hash.
    async fn staff_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Option<Staff>>;
    /// All staff accounts.
    async fn list_staff(&self) -> StoreResult<Vec<Staff>>;

    /// Stores a new draft.
    async fn insert_tender(&self, tender: &Tender, actor: &str) -> StoreResult<()>;
    /// One tender with its last event sequence number.
    async fn get_tender(&self, id: Uuid) -> StoreResult<Option<StoredTender>>;
    /// Tenders matching a query, newest first.
    async fn list_tenders(&self, query: &TenderQuery) -> StoreResult<Vec<StoredTender>>;
    /// Runs a transition on a tender atomically with its events and log entries.
    async fn update_tender(
        &self,
        id: Uuid,
        actor: &str,
        action: &'static str,
        transition: Transition,
    ) -> StoreResult<(Tender, Vec<Event>)>;
    /// Events of a tender after a sequence number, oldest first.
    async fn events(&self, tender: Uuid, after: i64, limit: i64) -> StoreResult<Vec<Event>>;
    /// Published tenders whose deadline is at or before `at`.
    async fn due_to_close(&self, at: OffsetDateTime) -> StoreResult<Vec<Uuid>>;
    /// The earliest deadline among published tenders.
    async fn next_deadline(&self) -> StoreResult<Option<OffsetDateTime>>;

    /// Tenders whose session the scheduler must move on by `at` (sign-in
    /// opening, confirmation ending).
    async fn session_due(&self, at: OffsetDateTime) -> StoreResult<Vec<Uuid>>;
    /// The earliest such time.
    async fn next_session_due(&self) -> StoreResult<Option<OffsetDateTime>>;

    /// The newest signed checkpoint, if the log is not empty.
    async fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>>;
}

/// A shared handle to whichever store the server runs on.
pub type DynStore = Arc<dyn Store>;

pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(us: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("time {us}: {e}")))
}

pub(crate) fn parse_role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("staff role {s:?}")))
}
