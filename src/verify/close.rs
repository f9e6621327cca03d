//! The close: which bids stood when submission closed, recomputed from the
//! logged receipts, replacements and withdrawals, against the count and
//! root the close fixed in public.

use time::OffsetDateTime;

use super::log::LoggedEvent;
use crate::domain::event::EventPayload;
use crate::domain::tender::envelope_root;

/// A bid standing at the close, as the log tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct StandingBid {
    /// Envelope hash, hex.
    pub envelope_hash: String,
    /// The lot.
    pub lot: String,
    /// Server time of receipt (the `bid.received` event's time).
    pub received_at: OffsetDateTime,
}

/// What the close fixed and what the log gives.
#[derive(Debug, Clone)]
pub struct Close {
    /// Deadline as recorded by the close.
    pub closed_at: OffsetDateTime,
    /// The count the close published.
    pub count: u64,
    /// The root the close published, hex.
    pub root: String,
    /// The standing bids recomputed from the events, in order of receipt.
    pub standing: Vec<StandingBid>,
}

fn hash32(hex_hash: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut out).ok().map(|()| out)
}

/// RFC 6962 root over hex envelope hashes; `None` if one is not 32 bytes.
pub fn root_of(hashes: &[&str]) -> Option<String> {
    let leaves: Option<Vec<[u8; 32]>> = hashes.iter().map(|h| hash32(h)).collect();
    leaves.map(|l| hex::encode(envelope_root(&l)))
}

/// Replays receipts and withdrawals up to the close. `Ok(None)`: not closed
/// yet. Problems are the discrepancies found.
pub fn replay(events: &[LoggedEvent]) -> (Option<Close>, Vec<String>) {
    let mut problems = Vec::new();
    let mut standing: Vec<StandingBid> = Vec::new();
    let mut close = None;
    for e in events {
        match &e.payload {
            EventPayload::BidReceived(_) | EventPayload::BidWithdrawn(_) if close.is_some() => {
                problems.push(format!("event {} ({}) comes after the close", e.seq, e.kind().as_str()));
            }
            EventPayload::BidReceived(r) => {
                if let Some(old) = r.replaces.map(|d| d.to_hex()) {
                    match standing.iter().position(|s| s.envelope_hash == old) {
                        Some(i) => {
                            standing.remove(i);
                        }
                        None => problems.push(format!("event {} replaces {old}, which was not standing", e.seq)),
                    }
                }
                let (envelope_hash, lot) = (r.envelope_hash.to_hex(), r.lot.clone());
                standing.push(StandingBid { envelope_hash, lot, received_at: e.at });
            }
            EventPayload::BidWithdrawn(w) => {
                let hash = w.envelope_hash.to_hex();
                match standing.iter().position(|s| s.envelope_hash == hash) {
                    Some(i) => {
                        standing.remove(i);
                    }
                    None => problems.push(format!("event {} withdraws {hash}, which was not standing", e.seq)),
                }
            }
            EventPayload::TenderClosed(c) => {
                let (closed_at, count, root) = (c.closed_at, c.bids, c.envelope_root.to_hex());
                close = Some(Close { closed_at, count, root, standing: standing.clone() });
            }
            _ => {}
        }
    }
    let Some(close) = close else { return (None, problems) };
    if close.standing.len() as u64 != close.count {
        problems.push(format!(
            "the close counts {} bids; the logged receipts and withdrawals leave {}",
            close.count,
            close.standing.len()
        ));
    }
    let hashes: Vec<&str> = close.standing.iter().map(|s| s.envelope_hash.as_str()).collect();
    match root_of(&hashes) {
        Some(root) if root == close.root => {}
        Some(root) => {
            problems.push(format!("the close's envelope root is {}, the logged receipts give {root}", close.root))
        }
        None => problems.push("a logged envelope hash is not 32 bytes of hex".into()),
    }
    for s in &close.standing {
        if s.received_at > close.closed_at {
            problems.push(format!("bid {} was received after the close", s.envelope_hash));
        }
    }
    (Some(close), problems)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::format_description::well_known::Rfc3339;

    use super::*;

    fn event(seq: i64, kind: &str, data: serde_json::Value) -> LoggedEvent {
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seq);
        let payload = EventPayload::from_data(kind, data).unwrap();
        LoggedEvent { seq, at, payload, log_index: seq as u64 }
    }

    fn h(b: u8) -> String {
        hex::encode([b; 32])
    }

    fn received(seq: i64, hash: String, replaces: Option<String>) -> LoggedEvent {
        let data = json!({"envelope_hash": hash, "lot": "1", "replaces": replaces, "bids_received": 1});
        event(seq, "bid.received", data)
    }

    fn close(seq: i64, hashes: &[String]) -> LoggedEvent {
        let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let closed_at = (OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seq)).format(&Rfc3339).unwrap();
        event(
            seq,
            "tender.closed",
            json!({"closed_at": closed_at, "processed_at": closed_at, "bids": hashes.len(), "envelope_root": root_of(&refs).unwrap()}),
        )
    }

    #[test]
    fn receipts_replacements_and_withdrawals_give_the_close() {
        let events = vec![
            received(1, h(1), None),
            received(2, h(2), None),
            received(3, h(3), Some(h(1))),
            received(4, h(4), None),
            event(5, "bid.withdrawn", json!({"envelope_hash": h(2), "lot": "1", "bids_received": 2})),
            close(6, &[h(3), h(4)]),
        ];
        let (c, problems) = replay(&events);
        assert!(problems.is_empty(), "{problems:?}");
        let standing: Vec<String> = c.unwrap().standing.into_iter().map(|s| s.envelope_hash).collect();
        assert_eq!(standing, [h(3), h(4)]);
    }

    #[test]
    fn a_dropped_bid_or_a_late_receipt_is_named() {
        let events = vec![received(1, h(1), None), received(2, h(2), None), close(3, &[h(1)]), received(4, h(5), None)];
        let (_, problems) = replay(&events);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("after the close"));
        assert!(problems[1].contains("counts 1 bids"));
        assert!(problems[2].contains("envelope root"));
        let (c, problems) = replay(&events[..2]);
        assert!(c.is_none() && problems.is_empty(), "not closed yet");
    }
}
