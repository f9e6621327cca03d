//! The opening record's bytes: the record hash the bidders confirm, and the
//! final record (开标记录表) sealed when the session ends. Both are built
//! here from the logged events alone, so the server that serves them and
//! the verifier that checks them compute the same bytes (PROTOCOL.md,
//! "The record's bytes").
//!
//! Canonical JSON: UTF-8, no whitespace, object keys sorted by their UTF-8
//! bytes at every level, strings escaped as `serde_json` escapes them,
//! numbers as integers (the record holds no fractions: amounts are strings).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::event::{BidderRef, EventPayload, RecordRow};
use super::objection::{BidderResponse, Response, sha256};

/// Label of the record hash.
pub const LABEL_RECORD: &str = "bidroom/v1/record";
/// Label of the final record's hash.
pub const LABEL_FINAL_RECORD: &str = "bidroom/v1/final-record";
/// The final record's format name.
pub const FINAL_FORMAT: &str = "bidroom.final-record.v1";

/// One logged event, as the record is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// Position in the tender's stream.
    pub seq: i64,
    /// Index of its log entry.
    pub log_index: i64,
    /// Server time of the event.
    pub at: OffsetDateTime,
    /// What it records.
    pub payload: EventPayload,
}

/// Writes `v` as canonical JSON (see the module comment).
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(&Value::String((*k).clone()), out);
                out.push(b':');
                write(&map[k.as_str()], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        // Scalars have one serde_json form; a string is escaped the same way
        // whatever map type the build uses.
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

fn labeled_hash(label: &str, tender: Uuid, body: &[u8]) -> [u8; 32] {
    let mut msg = label.as_bytes().to_vec();
    msg.push(0);
    msg.extend_from_slice(tender.as_bytes());
    msg.extend_from_slice(body);
    sha256(&msg)
}

/// The rows of the record as `GET …/record` serves them, in log order.
pub fn record_rows(facts: &[Fact]) -> Vec<Value> {
    facts
        .iter()
        .filter_map(|f| RecordRow::from_outcome(f.payload.clone(), f.log_index))
        .filter_map(|r| r.to_value().ok())
        .collect()
}

/// `SHA-256("bidroom/v1/record" ‖ 0x00 ‖ tender (16) ‖ canonical JSON of
/// the rows array)`: what a bidder's confirmation signs.
pub fn record_hash(tender: Uuid, rows: &[Value]) -> [u8; 32] {
    labeled_hash(LABEL_RECORD, tender, &canonical(&Value::Array(rows.to_vec())))
}

/// `SHA-256("bidroom/v1/final-record" ‖ 0x00 ‖ tender (16) ‖ canonical JSON
/// of the final record)`: what `session.ended` seals.
pub fn final_hash(tender: Uuid, record: &Value) -> [u8; 32] {
    labeled_hash(LABEL_FINAL_RECORD, tender, &canonical(record))
}

fn rfc3339(t: OffsetDateTime) -> Value {
    t.format(&Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

fn data_with(f: &Fact, extra: &[(&str, Value)]) -> Value {
    let mut data = f.payload.to_data().unwrap_or(Value::Null);
    if let Value::Object(map) = &mut data {
        map.insert("log_index".into(), Value::from(f.log_index));
        for (k, v) in extra {
            map.insert((*k).into(), v.clone());
        }
    }
    data
}

/// The bidders whose bid was read (opened), in row order, once each.
pub fn read_bidders(facts: &[Fact]) -> Vec<BidderRef> {
    let mut out: Vec<BidderRef> = Vec::new();
    for f in facts {
        if let EventPayload::BidOpened(o) = &f.payload
            && !out.iter().any(|b| b.id == o.row.bidder.id)
        {
            out.push(o.row.bidder.clone());
        }
    }
    out
}

/// Each read bidder's answer to the record so far.
pub fn responses(facts: &[Fact]) -> Vec<BidderResponse> {
    read_bidders(facts)
        .into_iter()
        .map(|b| {
            let response = facts
                .iter()
                .find_map(|f| match &f.payload {
                    EventPayload::RecordConfirmed(c) if c.bidder.id == b.id => Some(Response::Confirmed),
                    EventPayload::ObjectionRaised(o) if o.on_record && o.bidder.id == b.id => Some(Response::Objected),
                    _ => None,
                })
                .unwrap_or(Response::DidNotRespond);
            BidderResponse { bidder: b.id, name: b.name, response }
        })
        .collect()
}

/// Objections with their answers (`answer`: `null` while unanswered).
pub fn objections(facts: &[Fact]) -> Vec<Value> {
    facts
        .iter()
        .filter_map(|f| match &f.payload {
            EventPayload::ObjectionRaised(o) => {
                let answer = facts
                    .iter()
                    .find(|a| matches!(&a.payload, EventPayload::ObjectionAnswered(x) if x.objection == o.objection))
                    .map_or(Value::Null, |a| data_with(a, &[]));
                Some(data_with(f, &[("answer", answer)]))
            }
            _ => None,
        })
        .collect()
}

/// Everything of one kind filter, as logged, with its log index.
fn of(facts: &[Fact], pick: impl Fn(&EventPayload) -> bool) -> Vec<Value> {
    facts.iter().filter(|f| pick(&f.payload)).map(|f| data_with(f, &[])).collect()
}

/// Who signed in to the room, and when. `names` maps the pseudonyms the
/// server can name (a bidder of the record) to the bidder; the others stay
/// pseudonyms.
pub fn attendance(facts: &[Fact], names: &BTreeMap<String, BidderRef>) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    facts
        .iter()
        .filter_map(|f| match &f.payload {
            EventPayload::RoomSignIn(s) if seen.insert(s.bidder.clone()) => {
                let who = names.get(&s.bidder);
                Some(json!({
                    "pseudonym": s.bidder,
                    "bidder": who.map(|b| b.id.clone()),
                    "name": who.and_then(|b| b.name.clone()),
                    "signed_in_at": rfc3339(f.at),
                    "log_index": f.log_index,
                }))
            }
            _ => None,
        })
        .collect()
}

/// The header of the final record: the tender as its publication names it.
#[derive(Debug, Clone)]
pub struct Header {
    /// The tender's id.
    pub tender: Uuid,
    /// Title.
    pub title: String,
    /// Reference.
    pub reference: String,
    /// Buyer.
    pub buyer: String,
    /// The lots' ids, in order.
    pub lots: Vec<String>,
}

/// The final record from the facts through `through_seq` (the events
/// before `session.ended`).
pub fn final_record(h: &Header, facts: &[Fact], names: &BTreeMap<String, BidderRef>) -> Value {
    let through_seq = facts.last().map_or(0, |f| f.seq);
    let rows = record_rows(facts);
    let prices: Vec<Value> = facts
        .iter()
        .filter_map(|f| match &f.payload {
            EventPayload::SessionStage(s) if !s.prices.is_empty() => serde_json::to_value(&s.prices).ok(),
            _ => None,
        })
        .next_back()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let failed: Vec<String> = facts
        .iter()
        .filter_map(|f| match &f.payload {
            EventPayload::TenderFailed(t) => Some(t.lots.iter().map(|l| l.lot.clone()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    let lots: Vec<Value> = h
        .lots
        .iter()
        .map(|lot| {
            let of_lot = |v: &&Value| v["lot"].as_str() == Some(lot.as_str());
            json!({
                "lot": lot,
                "failed": failed.contains(lot),
                "prices": prices.iter().filter(of_lot).cloned().collect::<Vec<_>>(),
                "rows": rows.iter().filter(of_lot).cloned().collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("format".into(), Value::from(FINAL_FORMAT));
    doc.insert("tender".into(), Value::from(h.tender.to_string()));
    doc.insert("title".into(), Value::from(h.title.clone()));
    doc.insert("reference".into(), Value::from(h.reference.clone()));
    doc.insert("buyer".into(), Value::from(h.buyer.clone()));
    doc.insert("through_seq".into(), Value::from(through_seq));
    doc.insert("record_hash".into(), Value::from(hex::encode(record_hash(h.tender, &rows))));
    doc.insert("lots".into(), Value::Array(lots));
    doc.insert("attendance".into(), Value::Array(attendance(facts, names)));
    doc.insert("objections".into(), Value::Array(objections(facts)));
    doc.insert("confirmations".into(), Value::Array(of(facts, |p| matches!(p, EventPayload::RecordConfirmed(_)))));
    doc.insert("responses".into(), serde_json::to_value(responses(facts)).unwrap_or(Value::Null));
    doc.insert("announcements".into(), Value::Array(of(facts, |p| matches!(p, EventPayload::AnnouncementPosted(_)))));
    doc.insert(
        "stages".into(),
        Value::Array(of(facts, |p| {
            matches!(
                p,
                EventPayload::SessionStage(_)
                    | EventPayload::SessionPaused(_)
                    | EventPayload::SessionResumed(_)
                    | EventPayload::SessionExtended(_)
                    | EventPayload::SessionSuspended(_)
                    | EventPayload::TenderFailed(_)
            )
        })),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_at_every_level_and_has_no_spaces() {
        let v = json!({"b": [{"z": 1, "a": "中"}], "a": null, "c": "x\"y"});
        assert_eq!(String::from_utf8(canonical(&v)).unwrap(), r#"{"a":null,"b":[{"a":"中","z":1}],"c":"x\"y"}"#);
    }

    /// The vector of PROTOCOL.md: an empty record of one tender.
    #[test]
    fn record_hash_of_the_documented_vector() {
        let tender = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0001);
        let rows = vec![json!({"bid_id": "x", "status": "opened", "log_index": 7})];
        let h = record_hash(tender, &rows);
        let mut msg = b"bidroom/v1/record\0".to_vec();
        msg.extend_from_slice(tender.as_bytes());
        msg.extend_from_slice(br#"[{"bid_id":"x","log_index":7,"status":"opened"}]"#);
        assert_eq!(h, sha256(&msg));
        assert_eq!(hex::encode(h), RECORD_HASH_HEX);
    }

    const RECORD_HASH_HEX: &str = "e9af0e571f8eb6afc7fe4e884331b70d483a9566449f23be1ce4f20acaa83936";
}
