//! Objections, answers, confirmations and the final record against the log:
//! every bidder signature against the registered key and the exact bytes
//! (`domain::objection`), every confirmation against the record hash of the
//! rows logged before it, every answer against an earlier objection, and
//! the served final record against the hash `session.ended` sealed and the
//! events it covers. Pure: the caller fetches keys and the served record.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use uuid::Uuid;

use super::log::LoggedEvent;
use crate::domain::event::EventPayload;
use crate::domain::objection::{confirm_message, objection_message};
use crate::domain::record::{Fact, final_hash, record_hash, record_rows, responses};
use crate::seal::{BidderPublicKey, unb64};

/// The logged events as the record is built from.
pub fn facts(events: &[LoggedEvent]) -> Vec<Fact> {
    events
        .iter()
        .map(|e| Fact {
            seq: e.seq,
            log_index: i64::try_from(e.log_index).unwrap_or(i64::MAX),
            at: e.at,
            payload: e.payload.clone(),
        })
        .collect()
}

/// The bidders whose signatures the log holds.
pub fn signers(events: &[LoggedEvent]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::ObjectionRaised(o) => Some(o.bidder.id.clone()),
            EventPayload::RecordConfirmed(c) => Some(c.bidder.id.clone()),
            _ => None,
        })
        .collect()
}

fn verify(key: Option<&BidderPublicKey>, msg: &[u8], signature: &str) -> Result<(), &'static str> {
    let key = key.ok_or("its bidder is not registered")?;
    let sig = unb64(signature).map_err(|_| "its signature is not base64url")?;
    key.verify(msg, &sig).map_err(|_| "its signature does not verify against the registered key")
}

/// Objection and confirmation signatures; each confirmation's hash is the
/// record's at that point of the log. `keys`: the signers' registered keys.
pub fn signatures(
    tender: Uuid,
    events: &[LoggedEvent],
    keys: &BTreeMap<String, BidderPublicKey>,
) -> (String, Vec<String>) {
    let facts = facts(events);
    let mut problems = Vec::new();
    let (mut objections, mut confirmations) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        match &e.payload {
            EventPayload::ObjectionRaised(o) => {
                objections += 1;
                let msg = objection_message(tender, &o.text, o.signed_at);
                if let Err(why) = verify(keys.get(&o.bidder.id), &msg, &o.signature) {
                    problems.push(format!("objection {} (seq {}): {why}", o.objection, e.seq));
                }
            }
            EventPayload::RecordConfirmed(c) => {
                confirmations += 1;
                let msg = confirm_message(tender, &c.record_hash.0, c.signed_at);
                if let Err(why) = verify(keys.get(&c.bidder.id), &msg, &c.signature) {
                    problems.push(format!("confirmation by {} (seq {}): {why}", c.bidder.id, e.seq));
                }
                let expected = record_hash(tender, &record_rows(&facts[..i]));
                if expected != c.record_hash.0 {
                    problems.push(format!(
                        "confirmation by {} (seq {}) signs {}, but the logged record hashes to {}",
                        c.bidder.id,
                        e.seq,
                        c.record_hash,
                        hex::encode(expected)
                    ));
                }
            }
            _ => {}
        }
    }
    (format!("{objections} objections and {confirmations} confirmations against the bidders' keys"), problems)
}

/// Every answer answers an objection raised before it, once.
pub fn answers(events: &[LoggedEvent]) -> (String, Vec<String>) {
    let mut raised = BTreeSet::new();
    let mut answered = BTreeSet::new();
    let mut problems = Vec::new();
    for e in events {
        match &e.payload {
            EventPayload::ObjectionRaised(o) => {
                raised.insert(o.objection);
            }
            EventPayload::ObjectionAnswered(a) => {
                if !raised.contains(&a.objection) {
                    problems.push(format!("seq {}: answers objection {}, never raised before it", e.seq, a.objection));
                } else if !answered.insert(a.objection) {
                    problems.push(format!("seq {}: objection {} answered twice", e.seq, a.objection));
                }
            }
            EventPayload::SessionEnded(s) => {
                let open: Vec<_> = raised.difference(&answered).collect();
                if !open.is_empty() {
                    problems.push(format!(
                        "seq {}: the session ended with {} unanswered objection(s)",
                        e.seq,
                        open.len()
                    ));
                }
                if s.through_seq >= e.seq {
                    problems.push(format!("seq {}: seals events through {}, not before it", e.seq, s.through_seq));
                }
            }
            _ => {}
        }
    }
    (format!("{} objections, {} answered", raised.len(), answered.len()), problems)
}

/// The served final record against `session.ended` and the events it covers.
/// `served`: the `GET …/record/final` body (`None` when no session ended).
pub fn final_record(tender: Uuid, events: &[LoggedEvent], served: Option<&Value>) -> (String, Vec<String>) {
    let Some((ended_seq, ended)) = events.iter().find_map(|e| match &e.payload {
        EventPayload::SessionEnded(s) => Some((e.seq, s.clone())),
        _ => None,
    }) else {
        return ("no session.ended: nothing sealed yet".into(), Vec::new());
    };
    let Some(served) = served else {
        return ("sealed".into(), vec!["the final record is not served".into()]);
    };
    let mut problems = Vec::new();
    let record = &served["record"];
    let sealed = hex::encode(final_hash(tender, record));
    if sealed != ended.final_hash.to_hex() {
        problems.push(format!("the served final record hashes to {sealed}, session.ended sealed {}", ended.final_hash));
    }
    let covered: Vec<Fact> = facts(events).into_iter().filter(|f| f.seq <= ended.through_seq).collect();
    if responses(&covered) != ended.responses {
        problems.push("session.ended's responses differ from the logged confirmations and objections".into());
    }
    // Between the sealed events and session.ended nothing the record holds may be logged.
    for e in events.iter().filter(|e| e.seq > ended.through_seq && e.seq < ended_seq) {
        if matches!(
            e.payload,
            EventPayload::ObjectionRaised(_)
                | EventPayload::ObjectionAnswered(_)
                | EventPayload::RecordConfirmed(_)
                | EventPayload::AnnouncementPosted(_)
                | EventPayload::BidOpened(_)
        ) {
            problems.push(format!(
                "seq {} ({}) falls between the sealed record and its seal",
                e.seq,
                e.kind().as_str()
            ));
        }
    }
    // The parts anyone can rebuild from the log must be exactly the log's.
    let rebuilt = crate::domain::record::final_record(
        &crate::domain::record::Header {
            tender,
            title: record["title"].as_str().unwrap_or_default().into(),
            reference: record["reference"].as_str().unwrap_or_default().into(),
            buyer: record["buyer"].as_str().unwrap_or_default().into(),
            lots: record["lots"]
                .as_array()
                .map_or_else(Vec::new, |l| l.iter().filter_map(|x| x["lot"].as_str().map(str::to_owned)).collect()),
        },
        &covered,
        &BTreeMap::new(),
    );
    for part in
        ["lots", "objections", "confirmations", "responses", "announcements", "stages", "record_hash", "through_seq"]
    {
        if rebuilt[part] != record[part] {
            problems.push(format!("the final record's {part} differ from the logged events"));
        }
    }
    let pseudonyms = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array()
            .map_or_else(Vec::new, |a| a.iter().map(|x| (x["pseudonym"].clone(), x["signed_in_at"].clone())).collect())
    };
    if pseudonyms(&rebuilt["attendance"]) != pseudonyms(&record["attendance"]) {
        problems.push("the final record's attendance differs from the logged sign-ins".into());
    }
    if served["final_hash"].as_str() != Some(ended.final_hash.to_hex().as_str()) {
        problems.push("the served final_hash is not the sealed one".into());
    }
    (format!("the final record sealed at seq {ended_seq} covers events 1 to {}", ended.through_seq), problems)
}
