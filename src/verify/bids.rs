//! The opening half of verification: the envelopes served against the
//! close, each envelope's signature and binding, each published form key
//! and form, and the record's completeness. Pure: the caller fetches.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use uuid::Uuid;

use super::close::{Close, root_of};
use super::log::LoggedEvent;
use super::report::{Check, Collector};
use crate::client::PublicBid;
use crate::domain::event::{BidOpened, BidRow, EventKind, EventPayload, RecordPublished};
use crate::domain::tender::{BIDDER_CUSTODIAN, Lot};
use crate::seal::{CustodyPolicy, Envelope, SymmetricKey, check_form_key, key_id, open_form, unb64, verify_blob};

/// The published terms verification needs.
pub struct Terms {
    /// The tender.
    pub tender: Uuid,
    /// The custody policy with keys, fixed at publish.
    pub custody: CustodyPolicy,
    /// The lots and their opening-record fields.
    pub lots: Vec<Lot>,
}

/// One served bid, decoded.
struct Served {
    bid_id: Uuid,
    envelope: Option<Envelope>,
    form: Vec<u8>,
}

/// The outcome events (`bid.opened`, `bid.rejected`, `bid.unopened`), in
/// log order, with their record rows.
fn outcomes(events: &[LoggedEvent]) -> Vec<(&LoggedEvent, &BidRow)> {
    events.iter().filter_map(|e| e.payload.bid_row().map(|row| (e, row))).collect()
}

/// Checks the envelopes against the close, then every outcome.
pub(crate) fn check_bids(
    terms: &Terms,
    close: &Close,
    events: &[LoggedEvent],
    served: &[PublicBid],
    c: &mut Collector,
) {
    let failed = failed_lots(events);
    let bids = check_envelopes(terms, close, served, &failed, c);
    check_outcomes(terms, close, events, &bids, &failed, c);
    let envelopes: HashMap<String, &Envelope> =
        bids.iter().filter_map(|(h, s)| s.envelope.as_ref().map(|e| (h.clone(), e))).collect();
    let releases = events.iter().filter(|e| e.kind() == EventKind::BidderReleased).count();
    let problems = super::blame::bidder_blame(&terms.custody, events, &envelopes);
    c.record(Check::BidderBlame, format!("{releases} bidder releases checked"), problems);
}

/// The lots that failed for too few bidders (流标): their bids stood at the
/// close but stay sealed, so they have neither a served envelope nor an
/// outcome.
fn failed_lots(events: &[LoggedEvent]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::TenderFailed(f) => Some(f.lots.iter().map(|l| l.lot.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The standing bids whose envelopes must be served, in order of receipt:
/// all of them unless some lot failed.
fn to_serve<'a>(close: &'a Close, failed: &BTreeSet<String>) -> Vec<&'a str> {
    close.standing.iter().filter(|s| !failed.contains(&s.lot)).map(|s| s.envelope_hash.as_str()).collect()
}

/// `close root from served envelopes` and `envelope signatures and binding`.
fn check_envelopes(
    terms: &Terms,
    close: &Close,
    served: &[PublicBid],
    failed: &BTreeSet<String>,
    c: &mut Collector,
) -> HashMap<String, Served> {
    let (mut root_problems, mut sig_problems) = (Vec::new(), Vec::new());
    let mut bids = HashMap::new();
    let mut hashes = Vec::new();
    for pb in served {
        let decoded = (unb64(&pb.envelope), unb64(&pb.signature), unb64(&pb.form));
        let (Ok(bytes), Ok(signature), Ok(form)) = decoded else {
            root_problems.push(format!("bid {}: the served envelope, signature or form is not base64url", pb.bid_id));
            continue;
        };
        let hash = hex::encode(crate::ledger::hash::sha256(&bytes));
        if hash != pb.envelope_hash {
            root_problems
                .push(format!("bid {}: the envelope served hashes to {hash}, not {}", pb.bid_id, pb.envelope_hash));
        }
        let lot = close.standing.iter().find(|s| s.envelope_hash == hash).map(|s| s.lot.as_str());
        let envelope = match Envelope::parse_signed(&bytes, &signature) {
            Ok(env) => {
                sig_problems.extend(binding(terms, pb.bid_id, lot, &env).map(|p| format!("envelope {hash}: {p}")));
                Some(env)
            }
            Err(e) => {
                sig_problems.push(format!("envelope {hash} (bid {}): {e}", pb.bid_id));
                None
            }
        };
        if bids.insert(hash.clone(), Served { bid_id: pb.bid_id, envelope, form }).is_some() {
            root_problems.push(format!("envelope {hash} is served twice"));
        }
        hashes.push(hash);
    }
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    if failed.is_empty() {
        match root_of(&refs) {
            Some(root) if root == close.root => {}
            Some(root) => {
                root_problems.push(format!("the envelopes served give root {root}, the close fixed {}", close.root))
            }
            None => root_problems.push("an envelope hash is not 32 bytes".into()),
        }
    } else if refs != to_serve(close, failed) {
        // The close's root covers the failed lots' envelopes too, which are
        // never served; the root itself is checked against the logged
        // receipts, so here the served ones must be the rest, in order.
        root_problems.push(
            "the envelopes served are not, in order of receipt, the bids that stood in the lots that did not fail"
                .into(),
        );
    }
    for s in &close.standing {
        let sealed = failed.contains(&s.lot);
        match (bids.contains_key(&s.envelope_hash), sealed) {
            (false, false) => {
                root_problems.push(format!("bid {} stood at the close but its envelope is not served", s.envelope_hash))
            }
            (true, true) => root_problems.push(format!(
                "bid {} is in lot {}, which failed for too few bidders, but its envelope is served",
                s.envelope_hash, s.lot
            )),
            _ => {}
        }
    }
    for h in &hashes {
        if !close.standing.iter().any(|s| &s.envelope_hash == h) {
            root_problems.push(format!("envelope {h} is served but did not stand at the close"));
        }
    }
    c.record(
        Check::CloseRootFromEnvelopes,
        format!("{} envelopes served, {} bids stood at the close", served.len(), close.standing.len()),
        root_problems,
    );
    c.record(Check::EnvelopeSignatures, format!("{} envelopes verified", served.len()), sig_problems);
    bids
}

/// Is the envelope bound to this tender, bid, lot and custody policy?
fn binding(terms: &Terms, bid_id: Uuid, lot: Option<&str>, env: &Envelope) -> Option<String> {
    if env.tender_id != terms.tender {
        return Some(format!("sealed for tender {}, not this one", env.tender_id));
    }
    if env.bid_id != bid_id {
        return Some(format!("sealed for bid {}, served as bid {bid_id}", env.bid_id));
    }
    // The bidder's slot holds this bidder's own decryption key.
    let expected = match env.custody.custodians.iter().find(|c| c.id == BIDDER_CUSTODIAN).and_then(|c| c.public_key) {
        Some(key) => terms.custody.with_bidder_key(&key),
        None => terms.custody.clone(),
    };
    if env.custody != expected {
        return Some("sealed to another custody policy than the one published".into());
    }
    if lot.is_some_and(|l| l != env.lot) {
        return Some(format!("sealed for lot {}, logged as received for lot {}", env.lot, lot.unwrap_or_default()));
    }
    None
}

/// The outcome checks: record completeness, form keys and forms.
fn check_outcomes(
    terms: &Terms,
    close: &Close,
    events: &[LoggedEvent],
    bids: &HashMap<String, Served>,
    failed: &BTreeSet<String>,
    c: &mut Collector,
) {
    let outcomes = outcomes(events);
    let published = events.iter().find_map(|e| match &e.payload {
        EventPayload::RecordPublished(p) => Some(p),
        _ => None,
    });
    let (mut record, mut keys, mut forms) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (o, row) in &outcomes {
        let hash = row.envelope_hash.to_hex();
        *seen.entry(hash.clone()).or_default() += 1;
        let Some(standing) = close.standing.iter().find(|s| s.envelope_hash == hash) else {
            record.push(format!(
                "event {} ({}) is for {hash}, which did not stand at the close",
                o.seq,
                o.kind().as_str()
            ));
            continue;
        };
        if failed.contains(&standing.lot) {
            record.push(format!(
                "event {} ({}) is for {hash} in lot {}, which failed for too few bidders and stays sealed",
                o.seq,
                o.kind().as_str(),
                standing.lot
            ));
        }
        if row.received_at != standing.received_at {
            record.push(format!("event {}: the receipt time differs from the logged receipt of {hash}", o.seq));
        }
        let Some(served) = bids.get(&hash) else { continue };
        let Some(env) = &served.envelope else { continue };
        if let Some(p) = identity(row, served.bid_id, env) {
            record.push(format!("event {} ({hash}): {p}", o.seq));
        }
        if let EventPayload::BidOpened(opened_bid) = &o.payload {
            let (k, f) = opened(terms, opened_bid, env, &served.form);
            keys.extend(k.map(|p| format!("event {} ({hash}): {p}", o.seq)));
            forms.extend(f.map(|p| format!("event {} ({hash}): {p}", o.seq)));
        } else if verify_blob(&env.form, &served.form).is_err() {
            forms.push(format!("{hash}: the form ciphertext served does not match the envelope"));
        }
    }
    for (hash, n) in &seen {
        if *n > 1 {
            record.push(format!("{hash} has {n} outcomes"));
        }
    }
    let missing: Vec<&str> = to_serve(close, failed).into_iter().filter(|h| !seen.contains_key(*h)).collect();
    let opened = outcomes.iter().filter(|(o, _)| o.kind() == EventKind::BidOpened).count();
    let due = to_serve(close, failed).len();
    let mut summary = format!("{} of {due} bids have an outcome ({opened} opened)", seen.len());
    if due < close.standing.len() {
        summary += &format!("; {} bids of failed lots stay sealed", close.standing.len() - due);
    }
    match published {
        Some(p) => {
            record.extend(missing.iter().map(|h| format!("bid {h} stood at the close but is not in the record")));
            record.extend(summary_problems(p, &outcomes));
            c.record(Check::RecordComplete, summary, record);
        }
        None if record.is_empty() => {
            c.skip(Check::RecordComplete, format!("the record is not published yet; {summary}"))
        }
        None => c.record(Check::RecordComplete, summary, record),
    }
    c.record(Check::FormKeys, format!("{opened} published form keys checked"), keys);
    c.record(Check::FormCiphertexts, format!("{} form ciphertexts checked", bids.len()), forms);
}

/// Does the outcome name the envelope's bid, bidder and lot?
fn identity(row: &BidRow, bid_id: Uuid, env: &Envelope) -> Option<String> {
    if row.bid_id != bid_id {
        return Some(format!("names bid {}, the envelope is bid {bid_id}", row.bid_id));
    }
    if row.lot != env.lot {
        return Some(format!("names lot {:?}, the envelope lot {}", row.lot, env.lot));
    }
    let signer = key_id(env.bidder_public_key.as_bytes());
    if row.bidder.id != signer {
        return Some(format!("names bidder {:?}, the envelope is signed by key {signer}", row.bidder.id));
    }
    None
}

/// A `bid.opened`: (form key problem, form problem).
fn opened(terms: &Terms, o: &BidOpened, env: &Envelope, form: &[u8]) -> (Option<String>, Option<String>) {
    let key = unb64(&o.form_key).ok().and_then(|k| SymmetricKey::from_bytes(&k).ok());
    let Some(key) = key else {
        return (Some("the published form key is not 32 bytes of base64url".into()), None);
    };
    if check_form_key(env, &key).is_err() {
        return (Some("the published form key does not match the envelope's commitment".into()), None);
    }
    if verify_blob(&env.form, form).is_err() {
        return (None, Some("the form ciphertext served does not match the envelope's hash".into()));
    }
    let plain = match open_form(env, &key, form) {
        Ok(p) => p,
        Err(e) => return (None, Some(format!("the form does not decrypt: {e}"))),
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&plain) else {
        return (None, Some("the decrypted form is not a JSON object".into()));
    };
    if fields != o.fields {
        let (decrypted, published) = (Value::Object(fields), Value::Object(o.fields.clone()));
        return (None, Some(format!("the form decrypts to {decrypted}, the record publishes {published}")));
    }
    let fits = terms.lots.iter().find(|l| l.id == env.lot).map(|l| l.validate_form(&fields));
    match fits {
        Some(Ok(())) => (None, None),
        Some(Err(e)) => (None, Some(format!("the form does not fit the lot's fields: {e}"))),
        None => (None, Some(format!("the tender has no lot {}", env.lot))),
    }
}

/// The `record.published` counts against the outcomes.
fn summary_problems(published: &RecordPublished, outcomes: &[(&LoggedEvent, &BidRow)]) -> Vec<String> {
    let count = |kind: EventKind| outcomes.iter().filter(|(o, _)| o.kind() == kind).count() as u64;
    let s = &published.summary;
    let expected = [
        ("rows", s.rows, outcomes.len() as u64),
        ("opened", s.opened, count(EventKind::BidOpened)),
        ("rejected", s.rejected, count(EventKind::BidRejected)),
        ("unopened", s.unopened, count(EventKind::BidUnopened)),
    ];
    expected
        .iter()
        .filter(|(_, said, n)| said != n)
        .map(|(k, said, n)| format!("the published record says {k} = {said}, the logged outcomes give {n}"))
        .collect()
}

/// The served record must be the logged outcomes, in order.
pub(crate) fn record_served(events: &[LoggedEvent], rows: &[Value]) -> Vec<String> {
    let outcomes = outcomes(events);
    let mut problems = Vec::new();
    if outcomes.len() != rows.len() {
        problems.push(format!("the record has {} rows, the log {} outcomes", rows.len(), outcomes.len()));
    }
    for ((o, logged), row) in outcomes.iter().zip(rows) {
        // A served row is the outcome's data with its status and log index.
        let mut expected = match o.payload.to_data() {
            Ok(data) => data,
            Err(e) => {
                problems.push(format!("event {}: {e}", o.seq));
                continue;
            }
        };
        expected["status"] = Value::from(o.kind().as_str().trim_start_matches("bid."));
        expected["log_index"] = Value::from(o.log_index);
        if &expected != row {
            problems.push(format!("the row for {} differs from its logged event {}", logged.envelope_hash, o.seq));
        }
    }
    problems
}
