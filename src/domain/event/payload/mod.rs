//! The typed payload of every event kind: what each event publishes, field
//! by field. One variant per [`EventKind`]; the kind's wire name selects
//! the variant, the variant's struct is the entry's `data`.
//!
//! # Wire format and versioning
//!
//! A payload's wire form is its `data` object. Entries already in a
//! deployed log never change, so a payload is only ever extended:
//!
//! - a new kind of fact is a **new variant** (and a new [`EventKind`]);
//! - a new detail of an existing kind is an **optional field**
//!   (`#[serde(default, skip_serializing_if = "Option::is_none")]`), so old
//!   entries, which lack it, parse and re-encode to the same bytes;
//! - a field is never renamed, retyped or removed, and a variant's meaning
//!   never changes; if it must, that is a new variant with a new wire name.
//!
//! Readers ignore fields they do not know, so an older reader still reads
//! an entry written by a newer server (the verifier, which must account for
//! every byte, additionally checks that an entry re-encodes to itself).
//!
//! Object keys are written in alphabetical order whatever the order of the
//! struct fields (the codec writes `data` through a `serde_json::Value`, as
//! every entry so far was written). Times are RFC 3339 as
//! [`time::format_description::well_known::Rfc3339`] formats them,
//! hashes lower-case hex ([`Digest`]), keys and shares base64url.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Coverage, EventKind};
use crate::domain::draw::{DrawResult, PriceResult};
use crate::domain::objection;
use crate::domain::session::{HoldKind, Stage};
use crate::domain::tender::{PriceLimit, SessionTerms, Stream, Tender, TenderState};

mod draws;
mod opening;
mod room;
mod session;
mod tender;

pub use draws::*;
pub use opening::*;
pub use room::*;
pub use session::*;
pub use tender::*;

/// A SHA-256 hash or Merkle root, on the wire as 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses 64 lower-case hex digits (the only form ever written, so the
    /// only one read: an entry has one encoding).
    pub fn from_hex(text: &str) -> Result<Digest, PayloadError> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| PayloadError::Invalid(format!("{text:?} is not a hex SHA-256 hash")))?;
        if hex::encode(bytes) != text {
            return Err(PayloadError::Invalid(format!("{text:?} is not lower-case hex")));
        }
        Ok(Digest(bytes))
    }

    /// The hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; 32]> for Digest {
    fn from(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a payload could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The event kind's wire name is not one this version knows.
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    /// The data does not have the shape of its kind.
    #[error("{kind} data: {message}")]
    Shape {
        /// The kind whose shape it failed.
        kind: &'static str,
        /// What serde said.
        message: String,
    },
    /// A value is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Every event's payload, tagged by its kind's wire name (`event`) with the
/// variant's struct as its `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
#[allow(clippy::large_enum_variant)] // Events are built one at a time; boxing buys nothing.
pub enum EventPayload {
    /// See [`EventKind::TenderPublished`].
    #[serde(rename = "tender.published")]
    TenderPublished(TenderPublished),
    /// See [`EventKind::TenderAmended`].
    #[serde(rename = "tender.amended")]
    TenderAmended(TenderAmended),
    /// See [`EventKind::TenderClosed`].
    #[serde(rename = "tender.closed")]
    TenderClosed(TenderClosed),
    /// See [`EventKind::TenderCancelled`].
    #[serde(rename = "tender.cancelled")]
    TenderCancelled(TenderCancelled),
    /// See [`EventKind::BidReceived`].
    #[serde(rename = "bid.received")]
    BidReceived(BidReceived),
    /// See [`EventKind::BidWithdrawn`].
    #[serde(rename = "bid.withdrawn")]
    BidWithdrawn(BidWithdrawn),
    /// See [`EventKind::OpeningStarted`].
    #[serde(rename = "opening.started")]
    OpeningStarted(OpeningStarted),
    /// See [`EventKind::CustodianReleased`].
    #[serde(rename = "custodian.released")]
    CustodianReleased(CustodianReleased),
    /// See [`EventKind::BidOpened`].
    #[serde(rename = "bid.opened")]
    BidOpened(BidOpened),
    /// See [`EventKind::BidRejected`].
    #[serde(rename = "bid.rejected")]
    BidRejected(BidRejected),
    /// See [`EventKind::BidUnopened`].
    #[serde(rename = "bid.unopened")]
    BidUnopened(BidUnopened),
    /// See [`EventKind::RecordPublished`].
    #[serde(rename = "record.published")]
    RecordPublished(RecordPublished),
    /// See [`EventKind::DocumentsAccessed`].
    #[serde(rename = "documents.accessed")]
    DocumentsAccessed(DocumentsAccessed),
    /// See [`EventKind::RoomSignIn`].
    #[serde(rename = "room.signed_in")]
    RoomSignIn(RoomSignIn),
    /// See [`EventKind::StreamChanged`].
    #[serde(rename = "tender.stream_changed")]
    StreamChanged(StreamChanged),
    /// See [`EventKind::CustodianTokenRotated`].
    #[serde(rename = "custodian.token_rotated")]
    CustodianTokenRotated(CustodianTokenRotated),
    /// See [`EventKind::BidderReleased`].
    #[serde(rename = "bidder.released")]
    BidderReleased(BidderReleased),
    /// See [`EventKind::SessionStage`].
    #[serde(rename = "session.stage")]
    SessionStage(SessionStageEntered),
    /// See [`EventKind::SessionPaused`].
    #[serde(rename = "session.paused")]
    SessionPaused(SessionHeld),
    /// See [`EventKind::SessionResumed`].
    #[serde(rename = "session.resumed")]
    SessionResumed(SessionResumed),
    /// See [`EventKind::SessionExtended`].
    #[serde(rename = "session.extended")]
    SessionExtended(SessionExtended),
    /// See [`EventKind::SessionSuspended`].
    #[serde(rename = "session.suspended")]
    SessionSuspended(SessionHeld),
    /// See [`EventKind::SessionTerminated`].
    #[serde(rename = "session.terminated")]
    SessionTerminated(SessionTerminated),
    /// See [`EventKind::TenderFailed`].
    #[serde(rename = "tender.failed")]
    TenderFailed(TenderFailed),
    /// See [`EventKind::ObjectionRaised`].
    #[serde(rename = "objection.raised")]
    ObjectionRaised(objection::ObjectionRaised),
    /// See [`EventKind::ObjectionAnswered`].
    #[serde(rename = "objection.answered")]
    ObjectionAnswered(objection::ObjectionAnswered),
    /// See [`EventKind::RecordConfirmed`].
    #[serde(rename = "record.confirmed")]
    RecordConfirmed(objection::RecordConfirmed),
    /// See [`EventKind::AnnouncementPosted`].
    #[serde(rename = "announcement.posted")]
    AnnouncementPosted(objection::AnnouncementPosted),
    /// See [`EventKind::SessionEnded`].
    #[serde(rename = "session.ended")]
    SessionEnded(objection::SessionEnded),
    /// See [`EventKind::DrawCommitted`].
    #[serde(rename = "draw.committed")]
    DrawCommitted(DrawCommitted),
    /// See [`EventKind::DrawRevealed`].
    #[serde(rename = "draw.revealed")]
    DrawRevealed(DrawRevealed),
    /// See [`EventKind::DrawResult`].
    #[serde(rename = "draw.result")]
    DrawResult(DrawResultLogged),
    /// See [`EventKind::DrawFailed`].
    #[serde(rename = "draw.failed")]
    DrawFailed(DrawFailed),
}

impl EventPayload {
    /// The kind of event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::TenderPublished(_) => EventKind::TenderPublished,
            EventPayload::TenderAmended(_) => EventKind::TenderAmended,
            EventPayload::TenderClosed(_) => EventKind::TenderClosed,
            EventPayload::TenderCancelled(_) => EventKind::TenderCancelled,
            EventPayload::BidReceived(_) => EventKind::BidReceived,
            EventPayload::BidWithdrawn(_) => EventKind::BidWithdrawn,
            EventPayload::OpeningStarted(_) => EventKind::OpeningStarted,
            EventPayload::CustodianReleased(_) => EventKind::CustodianReleased,
            EventPayload::BidOpened(_) => EventKind::BidOpened,
            EventPayload::BidRejected(_) => EventKind::BidRejected,
            EventPayload::BidUnopened(_) => EventKind::BidUnopened,
            EventPayload::RecordPublished(_) => EventKind::RecordPublished,
            EventPayload::DocumentsAccessed(_) => EventKind::DocumentsAccessed,
            EventPayload::RoomSignIn(_) => EventKind::RoomSignIn,
            EventPayload::StreamChanged(_) => EventKind::StreamChanged,
            EventPayload::CustodianTokenRotated(_) => EventKind::CustodianTokenRotated,
            EventPayload::BidderReleased(_) => EventKind::BidderReleased,
            EventPayload::SessionStage(_) => EventKind::SessionStage,
            EventPayload::SessionPaused(_) => EventKind::SessionPaused,
            EventPayload::SessionResumed(_) => EventKind::SessionResumed,
            EventPayload::SessionExtended(_) => EventKind::SessionExtended,
            EventPayload::SessionSuspended(_) => EventKind::SessionSuspended,
            EventPayload::SessionTerminated(_) => EventKind::SessionTerminated,
            EventPayload::TenderFailed(_) => EventKind::TenderFailed,
            EventPayload::ObjectionRaised(_) => EventKind::ObjectionRaised,
            EventPayload::ObjectionAnswered(_) => EventKind::ObjectionAnswered,
            EventPayload::RecordConfirmed(_) => EventKind::RecordConfirmed,
            EventPayload::AnnouncementPosted(_) => EventKind::AnnouncementPosted,
            EventPayload::SessionEnded(_) => EventKind::SessionEnded,
            EventPayload::DrawCommitted(_) => EventKind::DrawCommitted,
            EventPayload::DrawRevealed(_) => EventKind::DrawRevealed,
            EventPayload::DrawResult(_) => EventKind::DrawResult,
            EventPayload::DrawFailed(_) => EventKind::DrawFailed,
        }
    }

    /// Reads the `data` of an event of kind `kind` (its wire name).
    pub fn from_data(kind: &str, data: Value) -> Result<EventPayload, PayloadError> {
        let known = EventKind::parse(kind).ok_or_else(|| PayloadError::UnknownKind(kind.to_string()))?;
        let mut tagged = Map::new();
        tagged.insert("event".into(), Value::String(kind.to_string()));
        tagged.insert("data".into(), data);
        serde_json::from_value(Value::Object(tagged))
            .map_err(|e| PayloadError::Shape { kind: known.as_str(), message: e.to_string() })
    }

    /// The `data` of this event as published: a JSON object with its keys
    /// in alphabetical order at every level.
    pub fn to_data(&self) -> Result<Value, PayloadError> {
        let kind = self.kind().as_str();
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => {
                tagged.remove("data").ok_or_else(|| PayloadError::Shape { kind, message: "no data".into() })
            }
            Ok(_) => Err(PayloadError::Shape { kind, message: "not an object".into() }),
            // Only a time outside RFC 3339's years gets here.
            Err(e) => Err(PayloadError::Shape { kind, message: e.to_string() }),
        }
    }

    /// The record row of an outcome event, `None` for other kinds.
    pub fn bid_row(&self) -> Option<&BidRow> {
        match self {
            EventPayload::BidOpened(o) => Some(&o.row),
            EventPayload::BidRejected(o) => Some(&o.row),
            EventPayload::BidUnopened(o) => Some(&o.row),
            _ => None,
        }
    }
}

/// One row of the opening record as `GET …/record` serves it: an outcome
/// event's data with its `status` (`opened`, `rejected` or `unopened`)
/// and the `log_index` of its entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// The row's bid.
    pub row: BidRow,
    /// The outcome event.
    pub outcome: EventPayload,
    /// Index of the outcome's log entry.
    pub log_index: i64,
}

impl RecordRow {
    /// The row of an outcome event (`None` for events of other kinds).
    pub fn from_outcome(outcome: EventPayload, log_index: i64) -> Option<RecordRow> {
        let row = outcome.bid_row()?.clone();
        Some(RecordRow { row, outcome, log_index })
    }

    /// The row as `GET …/record` serves it: the outcome's data with its
    /// `status` and `log_index` added.
    pub fn to_value(&self) -> Result<Value, PayloadError> {
        let mut data = self.outcome.to_data()?;
        if let Value::Object(map) = &mut data {
            map.insert("status".into(), Value::String(self.status().to_string()));
            map.insert("log_index".into(), Value::from(self.log_index));
        }
        Ok(data)
    }

    /// Reads a served row.
    pub fn from_value(value: &Value) -> Result<RecordRow, PayloadError> {
        let invalid = |m: &str| PayloadError::Invalid(format!("record row: {m}"));
        let mut data = value.as_object().cloned().ok_or_else(|| invalid("not an object"))?;
        let status =
            data.remove("status").and_then(|s| s.as_str().map(str::to_owned)).ok_or_else(|| invalid("no status"))?;
        let log_index = data.remove("log_index").and_then(|i| i.as_i64()).ok_or_else(|| invalid("no log index"))?;
        let outcome = EventPayload::from_data(&format!("bid.{status}"), Value::Object(data))?;
        let row = outcome.bid_row().cloned().ok_or_else(|| invalid("not an outcome"))?;
        Ok(RecordRow { row, outcome, log_index })
    }

    /// `opened`, `rejected` or `unopened`.
    pub fn status(&self) -> &'static str {
        self.outcome.kind().as_str().trim_start_matches("bid.")
    }

    /// Why the bid did not open, if it did not.
    pub fn reason(&self) -> Option<&str> {
        match &self.outcome {
            EventPayload::BidRejected(r) => Some(&r.reason),
            EventPayload::BidUnopened(u) => Some(&u.reason),
            _ => None,
        }
    }

    /// The opened bid's record values.
    pub fn fields(&self) -> Option<&Map<String, Value>> {
        match &self.outcome {
            EventPayload::BidOpened(o) => Some(&o.fields),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_variant() {
        for kind in super::super::ALL_KINDS {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let err = EventPayload::from_data(kind.as_str(), Value::Null).unwrap_err();
            assert!(matches!(err, PayloadError::Shape { kind: k, .. } if k == kind.as_str()), "{err}");
        }
        assert_eq!(EventKind::parse("tender.teleported"), None);
    }

    #[test]
    fn optional_fields_are_absent_when_none() {
        let summary = RecordSummary { rows: 1, opened: 1, rejected: 0, unopened: 0, warning: None };
        let p = EventPayload::RecordPublished(RecordPublished {
            summary,
            published_at: time::macros::datetime!(2026-12-01 09:00 UTC),
        });
        let data = p.to_data().unwrap();
        assert_eq!(
            data.to_string(),
            r#"{"opened":1,"published_at":"2026-12-01T09:00:00Z","rejected":0,"rows":1,"unopened":0}"#
        );
        assert_eq!(EventPayload::from_data("record.published", data).unwrap(), p);
    }
}
