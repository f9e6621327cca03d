//! The pure mapping of a tender and its logged events to one OCDS 1.1
//! release (with the bids and bidOpening extensions). No I/O: the caller
//! hands in the tender as stored and its events in sequence order.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::domain::event::{BidRow, EventPayload};
use crate::domain::tender::FieldKind;
use crate::domain::{Tender, TenderState};

/// One event as the mapping needs it: its payload, time and sequence number.
pub struct Logged {
    /// Position in the tender's stream.
    pub seq: i64,
    /// Server time.
    pub at: OffsetDateTime,
    /// What happened.
    pub payload: EventPayload,
}

fn time(t: OffsetDateTime) -> Value {
    t.format(&Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

/// The ocid of a tender: `<prefix>-<tender id>`.
pub fn ocid(prefix: &str, tender: Uuid) -> String {
    format!("{prefix}-{tender}")
}

/// The release for `tender` after `events` (the whole logged history).
/// Its `id` names the last event it reflects, so a release changes id
/// exactly when something it says changed.
pub fn release(prefix: &str, tender: &Tender, events: &[Logged]) -> Value {
    let last = events.last();
    let date = last.map(|e| e.at).or(tender.published_at).unwrap_or(tender.created_at);
    let seq = last.map(|e| e.seq).unwrap_or(0);
    let amended = events.iter().any(|e| matches!(e.payload, EventPayload::TenderAmended(_)));
    let opened = events.iter().any(|e| matches!(e.payload, EventPayload::OpeningStarted(_)));
    let tag = match tender.state {
        TenderState::Cancelled => "tenderCancellation",
        _ if opened => "tenderUpdate",
        _ if amended => "tenderAmendment",
        _ => "tender",
    };
    let buyer = json!({"id": "buyer", "name": tender.buyer});
    let mut parties = vec![json!({"id": "buyer", "name": tender.buyer, "roles": ["buyer", "procuringEntity"]})];
    let mut release = json!({
        "ocid": ocid(prefix, tender.id),
        "id": format!("{}-{seq}", tender.id),
        "date": time(date),
        "tag": [tag],
        "initiationType": "tender",
        "buyer": buyer,
        "tender": tender_section(tender, events),
    });
    if opened {
        let (bids, tenderers) = bids_section(tender, events);
        parties.extend(tenderers);
        release["bids"] = bids;
    }
    release["parties"] = Value::Array(parties);
    release
}

/// OCDS tender status from the tender's state (closed codelist tenderStatus).
fn status(state: TenderState) -> &'static str {
    match state {
        TenderState::Draft => "planning",
        TenderState::Published | TenderState::Closed | TenderState::Opening => "active",
        TenderState::Cancelled => "cancelled",
        TenderState::Opened => "complete",
        // 流标 and a terminated session: the procedure ended without an award.
        TenderState::Failed | TenderState::Terminated => "unsuccessful",
    }
}

fn tender_section(tender: &Tender, events: &[Logged]) -> Value {
    // Lots are the tender's own; each is also declared as one item, since
    // bidroom's terms have no separate item list.
    let lots: Vec<Value> =
        tender.lots.iter().map(|l| json!({"id": l.id, "title": l.title, "status": status(tender.state)})).collect();
    let items: Vec<Value> =
        tender.lots.iter().map(|l| json!({"id": l.id, "description": l.title, "relatedLot": l.id})).collect();
    let amendments: Vec<Value> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::TenderAmended(a) => Some(json!({
                "id": e.seq.to_string(),
                "date": time(e.at),
                "rationale": a.reason,
                "description": format!(
                    "deadline {} → {}; opening {} → {}",
                    time(a.deadline.from).as_str().unwrap_or("?"),
                    time(a.deadline.to).as_str().unwrap_or("?"),
                    time(a.opening_at.from).as_str().unwrap_or("?"),
                    time(a.opening_at.to).as_str().unwrap_or("?"),
                ),
            })),
            _ => None,
        })
        .collect();
    let start = tender.published_at.unwrap_or(tender.created_at);
    let mut t = json!({
        "id": tender.reference,
        "title": tender.title,
        "description": tender.description,
        "status": status(tender.state),
        "procuringEntity": {"id": "buyer", "name": tender.buyer},
        "procurementMethod": "open",
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": time(start), "endDate": time(tender.deadline)},
        "items": items,
        "lots": lots,
        "bidOpening": {"date": time(tender.opening_at),
                       "description": "Opened in the public bidroom room; every step is in its transparency log."},
    });
    if !amendments.is_empty() {
        t["amendments"] = Value::Array(amendments);
    }
    if let Some(reason) = &tender.cancel_reason {
        t["statusDetails"] = Value::String(reason.clone());
    }
    t
}

/// The bid's value: the lot's first money field, as an OCDS amount. A
/// string that a JSON number cannot carry exactly is left out.
fn value(tender: &Tender, row: &BidRow, fields: &Map<String, Value>) -> Option<(f64, Value)> {
    let lot = tender.lots.iter().find(|l| l.id == row.lot)?;
    let key = &lot.fields.iter().find(|f| f.kind == FieldKind::Money)?.key;
    let text = fields.get(key)?.as_str()?;
    let amount: f64 = text.parse().ok()?;
    // Exact to the cent, or not published as a number at all.
    let back = format!("{amount:.2}");
    let exact = back == text
        || back.trim_end_matches('0').trim_end_matches('.') == text.trim_end_matches('0').trim_end_matches('.');
    exact.then(|| (amount, json!({"amount": amount, "currency": tender.currency})))
}

fn party(row: &BidRow) -> Value {
    let name = row.bidder.name.clone().unwrap_or_else(|| row.bidder.id.clone());
    json!({"id": row.bidder.id, "name": name})
}

/// `bids.statistics` and `bids.details` from the record, and the tenderers
/// as parties.
fn bids_section(tender: &Tender, events: &[Logged]) -> (Value, Vec<Value>) {
    let mut details = Vec::new();
    let mut tenderers: Vec<Value> = Vec::new();
    // Per lot: bids, valid bids, valid values.
    let mut per_lot: Vec<(String, i64, i64, Vec<f64>)> =
        tender.lots.iter().map(|l| (l.id.clone(), 0, 0, Vec::new())).collect();
    for e in events {
        let (row, status, description, amount) = match &e.payload {
            EventPayload::BidOpened(o) => {
                let v = value(tender, &o.row, &o.fields);
                (&o.row, Some("valid"), None, v)
            }
            EventPayload::BidRejected(r) => (&r.row, Some("disqualified"), Some(r.reason.clone()), None),
            // Not the bidder's doing: no status rather than "disqualified".
            EventPayload::BidUnopened(u) => (&u.row, None, Some(format!("not opened: {}", u.reason)), None),
            EventPayload::BidWithdrawn(w) => {
                details.push(json!({"id": w.envelope_hash.to_hex(), "date": time(e.at), "status": "withdrawn",
                                    "relatedLots": [w.lot]}));
                continue;
            }
            _ => continue,
        };
        let mut d = json!({"id": row.bid_id.to_string(), "date": time(row.received_at), "tenderers": [party(row)],
                           "relatedLots": [row.lot]});
        if let Some(s) = status {
            d["status"] = Value::String(s.into());
        }
        if let Some(text) = description {
            d["description"] = Value::String(text);
        }
        if let Some((n, v)) = &amount {
            d["value"] = v.clone();
            if let Some(lot) = per_lot.iter_mut().find(|l| l.0 == row.lot) {
                lot.3.push(*n);
            }
        }
        if let Some(lot) = per_lot.iter_mut().find(|l| l.0 == row.lot) {
            lot.1 += 1;
            lot.2 += i64::from(status == Some("valid"));
        }
        details.push(d);
        let p = party(row);
        if !tenderers.iter().any(|t| t["id"] == p["id"]) {
            tenderers.push(json!({"id": p["id"], "name": p["name"], "roles": ["tenderer"]}));
        }
    }
    let mut statistics = Vec::new();
    for (lot, bids, valid, values) in &per_lot {
        let mut stat = |measure: &str, value: Value, currency: bool| {
            let mut s =
                json!({"id": format!("{lot}-{measure}"), "measure": measure, "value": value, "relatedLot": lot});
            if currency {
                s["currency"] = Value::String(tender.currency.clone());
            }
            statistics.push(s);
        };
        stat("bids", json!(bids), false);
        stat("validBids", json!(valid), false);
        let lowest = values.iter().copied().fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))));
        let highest = values.iter().copied().fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        if let (Some(lo), Some(hi)) = (lowest, highest) {
            stat("lowestValidBidValue", json!(lo), true);
            stat("highestValidBidValue", json!(hi), true);
        }
    }
    (json!({"statistics": statistics, "details": details}), tenderers)
}
