//! Two checks that tie what the server serves today to what it logged: the
//! terms (`GET /api/v1/tenders/{id}`) against the logged `tender.published`
//! with its logged amendments applied, and each bidder the record names
//! against the bidder's registration (`GET /api/v1/bidders/{id}`). Pure:
//! the caller fetches.

use serde_json::Value;

use super::log::LoggedEvent;
use crate::client::Bidder;
use crate::domain::Tender;
use crate::domain::event::EventPayload;
use crate::seal::{key_id, unb64};

/// The fields of the terms, as the tender serialises them: what bidders
/// bid on. State, times of the lifecycle and the video stream change by
/// other events and are not terms.
const TERMS: [&str; 12] = [
    "id",
    "title",
    "reference",
    "description",
    "buyer",
    "currency",
    "lots",
    "deadline",
    "opening_at",
    "custody",
    "registration",
    "limits",
];

/// The terms as the log fixes them: the published tender, each logged
/// amendment's new deadline and opening time applied in order. `None`
/// when nothing was published.
pub(crate) fn logged_terms(events: &[LoggedEvent]) -> Option<Tender> {
    let mut terms: Option<Tender> = None;
    for e in events {
        match (&e.payload, terms.as_mut()) {
            (EventPayload::TenderPublished(p), _) => terms = Some(p.tender.clone()),
            (EventPayload::TenderAmended(a), Some(t)) => {
                t.deadline = a.deadline.to;
                t.opening_at = a.opening_at.to;
            }
            _ => {}
        }
    }
    terms
}

/// Differences between the served tender and the logged terms, one per
/// field; also the custody keys bids were sealed to.
pub(crate) fn terms_served(events: &[LoggedEvent], served: &Value) -> Result<Vec<String>, String> {
    let terms = logged_terms(events).ok_or("the log has no tender.published event for this tender")?;
    let logged = serde_json::to_value(&terms).map_err(|e| format!("the logged terms cannot be written: {e}"))?;
    let mut problems = Vec::new();
    for field in TERMS.iter().copied().chain(["custody_keys"]) {
        let (l, s) = (&logged[field], &served[field]);
        if l != s {
            problems.push(format!("`{field}` is served as {} but logged as {}", short(s), short(l)));
        }
    }
    Ok(problems)
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The bidders the logged outcomes name: `(key id, name)`, once each.
pub(crate) fn named_bidders(events: &[LoggedEvent]) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for e in events {
        if let Some(row) = e.payload.bid_row()
            && !out.iter().any(|(id, _)| *id == row.bidder.id)
        {
            out.push((row.bidder.id.clone(), row.bidder.name.clone()));
        }
    }
    out
}

/// The registration served for `id` must have that key id and the name
/// the record gives.
pub(crate) fn bidder_matches(id: &str, named: Option<&str>, served: &Bidder) -> Vec<String> {
    let mut problems = Vec::new();
    match unb64(&served.public_key) {
        Ok(key) if key_id(&key) == id && served.id == id => {}
        Ok(key) => problems.push(format!(
            "bidder {id}: the registration served is for key id {} (its key hashes to {})",
            served.id,
            key_id(&key)
        )),
        Err(e) => problems.push(format!("bidder {id}: the registered key is not base64url: {e}")),
    }
    if named != Some(served.name.as_str()) {
        problems.push(format!(
            "bidder {id}: the record names {:?}, the registration {:?}",
            named.unwrap_or("(no name)"),
            served.name
        ));
    }
    problems
}
