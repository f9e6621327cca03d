//! Records the store hands out.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Role, Tender, TenderState};

/// A staff account (never with its token).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Staff {
    /// Account id.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A tender with its position in its event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTender {
    /// The tender.
    pub tender: Tender,
    /// Sequence number of its last event (0: none yet).
    pub last_seq: i64,
}

/// Filter and page for listing tenders.
#[derive(Debug, Clone, Default)]
pub struct TenderQuery {
    /// Only this state.
    pub state: Option<TenderState>,
    /// Include drafts (staff only).
    pub include_drafts: bool,
    /// Case-insensitive substring of title or reference.
    pub search: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A stored event, as published.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Tender it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tender_id: Uuid,
    /// Position in the tender's stream, from 1, without gaps.
    pub seq: i64,
    /// Event type, e.g. `tender.published`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Server time of the event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Index of its entry in the transparency log.
    pub log_index: i64,
    /// RFC 6962 leaf hash of that entry, hex.
    pub leaf_hash: String,
}

/// A signed checkpoint of the log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: i64,
    /// Root hash, hex.
    pub root: String,
    /// The signed note text (C2SP tlog-checkpoint).
    pub note: String,
}
