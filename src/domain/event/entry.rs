//! The one codec of tender events as transparency-log entries
//! (`bidroom.event.v1`, `docs/LEDGER.md`): the store writes entries with
//! [`encode_entry`], and both the store and the verifier read them with
//! [`decode_entry`].
//!
//! An entry is one JSON object, keys in this order, no whitespace:
//!
//! ```text
//! {"type":"bidroom.event.v1","tender":"<uuid>","seq":<n>,"event":"<kind>","at":"<RFC 3339>","data":{…}}
//! ```
//!
//! `data` is the payload ([`EventPayload`]) with its object keys in
//! alphabetical order at every level, as `serde_json::Value` (without the
//! `preserve_order` feature) writes them; every entry since the first was
//! written that way, and the bytes of a logged entry never change.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::payload::{EventPayload, PayloadError};

/// Entry type tag of tender events.
pub const EVENT_ENTRY_TYPE: &str = "bidroom.event.v1";

/// An event as its log entry records it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// The tender it belongs to.
    pub tender: Uuid,
    /// Its position in the tender's stream, from 1.
    pub seq: i64,
    /// Server time of the event.
    pub at: OffsetDateTime,
    /// What happened.
    pub payload: EventPayload,
}

/// Why bytes are not an event entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not JSON, or not an object with exactly the entry's fields.
    #[error("not an event entry: {0}")]
    Malformed(String),
    /// A log entry of another type.
    #[error("entry type {0:?}, expected {EVENT_ENTRY_TYPE:?}")]
    WrongType(String),
    /// The time is not RFC 3339.
    #[error("the entry's time {0:?} is not RFC 3339")]
    BadTime(String),
    /// The payload is not one of its kind.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// The entry's fields in their order (serde writes struct fields in
/// declaration order).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    ty: String,
    tender: Uuid,
    seq: i64,
    event: String,
    at: String,
    data: serde_json::Value,
}

/// The exact bytes of an event's entry.
pub fn encode_entry(tender: Uuid, seq: i64, at: OffsetDateTime, payload: &EventPayload) -> Result<Vec<u8>, EntryError> {
    let wire = Wire {
        ty: EVENT_ENTRY_TYPE.to_string(),
        tender,
        seq,
        event: payload.kind().as_str().to_string(),
        at: at.format(&Rfc3339).map_err(|e| EntryError::BadTime(e.to_string()))?,
        data: payload.to_data()?,
    };
    serde_json::to_vec(&wire).map_err(|e| EntryError::Malformed(e.to_string()))
}

/// Reads an entry. Fields a newer writer added to a payload are ignored;
/// [`is_canonical`] tells whether the entry is exactly what this version
/// writes for what it read.
pub fn decode_entry(bytes: &[u8]) -> Result<LogEntry, EntryError> {
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
    if wire.ty != EVENT_ENTRY_TYPE {
        return Err(EntryError::WrongType(wire.ty));
    }
    let at = OffsetDateTime::parse(&wire.at, &Rfc3339).map_err(|_| EntryError::BadTime(wire.at.clone()))?;
    let payload = EventPayload::from_data(&wire.event, wire.data)?;
    Ok(LogEntry { tender: wire.tender, seq: wire.seq, at, payload })
}

/// Does `bytes` hold exactly the encoding of `entry`? True for every entry
/// this version writes; false when the bytes carry anything the typed
/// entry does not (an unknown field, other spacing, another time format).
pub fn is_canonical(bytes: &[u8], entry: &LogEntry) -> bool {
    encode_entry(entry.tender, entry.seq, entry.at, &entry.payload).is_ok_and(|b| b == bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{BidReceived, Digest};

    const TENDER: Uuid = Uuid::from_u128(0x01a2_30f1_cf54_772a_9045_1496_3c21_514d);

    fn received() -> EventPayload {
        EventPayload::BidReceived(BidReceived {
            envelope_hash: Digest([0xab; 32]),
            lot: "1".into(),
            replaces: None,
            bids_received: 1,
        })
    }

    fn bytes() -> Vec<u8> {
        encode_entry(TENDER, 2, time::macros::datetime!(2026-12-01 09:31:23.454763 UTC), &received()).unwrap()
    }

    #[test]
    fn encodes_fields_in_order_and_data_keys_sorted() {
        let text = String::from_utf8(bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"type":"bidroom.event.v1","tender":"{TENDER}","seq":2,"event":"bid.received","at":"2026-12-01T09:31:23.454763Z","data":{{"bids_received":1,"envelope_hash":"{}","lot":"1","replaces":null}}}}"#,
                "ab".repeat(32)
            )
        );
        let e = decode_entry(text.as_bytes()).unwrap();
        assert_eq!((e.tender, e.seq, &e.payload), (TENDER, 2, &received()));
        assert!(is_canonical(text.as_bytes(), &e));
    }

    #[test]
    fn an_unknown_kind_is_named() {
        let text = String::from_utf8(bytes()).unwrap().replace("bid.received", "bid.teleported");
        let err = decode_entry(text.as_bytes()).unwrap_err();
        assert_eq!(err, EntryError::Payload(PayloadError::UnknownKind("bid.teleported".into())));
        assert!(err.to_string().contains("unknown event kind \"bid.teleported\""), "{err}");
    }

    #[test]
    fn tampered_entries_are_refused() {
        let good = String::from_utf8(bytes()).unwrap();
        let hash = "ab".repeat(32);
        let cases = [
            (good.replace("bidroom.event.v1", "bidroom.event.v2"), "entry type"),
            (good.replace(r#""seq":2,"#, r#""seq":2,"extra":1,"#), "not an event entry"),
            (good.replace("2026-12-01T09:31:23.454763Z", "yesterday"), "not RFC 3339"),
            (good.replace(&hash, &hash.to_uppercase()), "lower-case hex"),
            (good.replace(&hash, &hash[2..]), "not a hex SHA-256"),
            (good.replace(r#""lot":"1""#, r#""lot":1"#), "bid.received data"),
            (good.replace(r#""bids_received":1,"#, ""), "bid.received data"),
            (good[..good.len() - 1].to_string(), "not an event entry"),
            ("not json".to_string(), "not an event entry"),
        ];
        for (text, expected) in cases {
            let err = decode_entry(text.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn an_entry_with_more_than_the_payload_reads_but_is_not_canonical() {
        let good = String::from_utf8(bytes()).unwrap();
        // A field a newer writer might add is ignored by the reader…
        let newer = good.replace(r#""lot":"1","#, r#""lot":"1","note":"x","#);
        let e = decode_entry(newer.as_bytes()).unwrap();
        assert_eq!(e.payload, received());
        // …but the verifier sees the entry is not what it read.
        assert!(!is_canonical(newer.as_bytes(), &e));
        let spaced = good.replacen(r#""seq":2"#, r#""seq": 2"#, 1);
        assert!(!is_canonical(spaced.as_bytes(), &decode_entry(spaced.as_bytes()).unwrap()));
    }

    #[test]
    fn json_objects_keep_sorted_keys() {
        // Entries' data keys are sorted because serde_json's `Value` maps are
        // B-trees; the `preserve_order` feature (which any dependency could
        // switch on) would change the bytes of every new entry.
        let v: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":2}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"a":2,"b":1}"#);
    }
}
