//! The draws (`docs/DRAWS.md`), recomputed from the logged events alone:
//! the commitment logged at publish is the terms', the revealed secret
//! opens it (or the fallback came after the deadline with a `draw.failed`),
//! each nonce is derived from its bid's published form key in row order,
//! and the seed, every draw and every reference price follow from them.
//! The record's head is checked against the verified checkpoint: the
//! `record.published` entry is its last leaf, and the log grew from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::log::LoggedEvent;
use super::source::Source;
use crate::domain::draw::seed::commitment;
use crate::domain::draw::{OpenedBid, outcome};
use crate::domain::event::{DrawHost, DrawResultLogged, EventKind, EventPayload};
use crate::ledger::{Checkpoint, leaf_hash, verify_consistency, verify_inclusion};

/// The logged result, if the draws ran.
pub fn result_of(events: &[LoggedEvent]) -> Option<&DrawResultLogged> {
    events.iter().find_map(|e| match &e.payload {
        EventPayload::DrawResult(r) => Some(r),
        _ => None,
    })
}

/// Recomputes every draw: `Ok(None)` when the tender declared none and
/// logged none; otherwise a summary and the problems found.
pub fn recompute(tender: Uuid, events: &[LoggedEvent]) -> Option<(String, Vec<String>)> {
    let published = events.iter().find_map(|e| match &e.payload {
        EventPayload::TenderPublished(p) => Some(&p.tender),
        _ => None,
    });
    let terms = published.and_then(|t| t.draw_terms());
    let any_draw_event = events.iter().any(|e| {
        matches!(
            e.kind(),
            EventKind::DrawCommitted | EventKind::DrawRevealed | EventKind::DrawResult | EventKind::DrawFailed
        )
    });
    let Some(terms) = terms else {
        return any_draw_event.then(|| {
            (
                "draw events without declared draws".into(),
                vec!["the published terms declare no draws, yet draw events are logged".into()],
            )
        });
    };
    let mut problems = Vec::new();
    let committed = events.iter().find_map(|e| match &e.payload {
        EventPayload::DrawCommitted(c) => Some(c),
        _ => None,
    });
    match committed {
        Some(c) if c.commitment.to_hex() == terms.commitment => {}
        Some(c) => {
            problems.push(format!("draw.committed logs {}, the terms commit to {}", c.commitment, terms.commitment))
        }
        None => problems.push("no draw.committed event with the publication".into()),
    }
    let Some(result) = result_of(events) else {
        return Some(("the draws have not run yet".into(), problems));
    };
    let revealed = events.iter().find_map(|e| match &e.payload {
        EventPayload::DrawRevealed(r) => Some(r),
        _ => None,
    });
    let failed = events.iter().find_map(|e| match &e.payload {
        EventPayload::DrawFailed(f) => Some(f),
        _ => None,
    });
    let secret = match (result.host, revealed, failed) {
        (DrawHost::Revealed, Some(r), None) => {
            if hex::encode(commitment(&r.secret.0)) != terms.commitment {
                problems.push("the revealed secret does not open the commitment logged at publish".into());
            }
            Some(r.secret.0)
        }
        (DrawHost::Fallback, None, Some(_)) => None,
        (host, r, f) => {
            problems.push(format!(
                "the result says {host:?}, with {} reveal and {} failure logged",
                if r.is_some() { "a" } else { "no" },
                if f.is_some() { "a" } else { "no" }
            ));
            revealed.map(|r| r.secret.0)
        }
    };
    let record = events.iter().find(|e| e.kind() == EventKind::RecordPublished);
    match record {
        Some(r) if r.log_index + 1 == result.record_size => {}
        Some(r) => problems.push(format!(
            "the result names log size {}, the record is entry {} (size {})",
            result.record_size,
            r.log_index,
            r.log_index + 1
        )),
        None => problems.push("draws ran without a logged record".into()),
    }
    let opened = match opened_bids(events) {
        Ok(o) => o,
        Err(p) => {
            problems.push(p);
            return Some(("the opened bids could not be read".into(), problems));
        }
    };
    let out = outcome(terms, tender, result.record_size, result.record_head.0, secret, &opened);
    let nonces: Vec<_> = out.nonces.iter().map(|(b, n)| (*b, hex::encode(n))).collect();
    let logged: Vec<_> = result.nonces.iter().map(|n| (n.bid_id, n.nonce.to_hex())).collect();
    if nonces != logged {
        problems.push("the logged nonces are not the ones the opened bids' form keys give, in row order".into());
    }
    if out.seed != result.seed.0 {
        problems.push(format!("the seed recomputes to {}, the log says {}", hex::encode(out.seed), result.seed));
    }
    if out.draws != result.draws {
        problems.push(format!("the draws recompute to {:?}, the log says {:?}", out.draws, result.draws));
    }
    if out.prices != result.prices {
        problems.push(format!("the reference prices recompute to {:?}, the log says {:?}", out.prices, result.prices));
    }
    let summary = format!(
        "{} draws and {} formulas from {} nonces and the {} seed {}",
        out.draws.len(),
        out.prices.len(),
        out.nonces.len(),
        if secret.is_some() { "revealed" } else { "fallback" },
        hex::encode(out.seed)
    );
    Some((summary, problems))
}

/// The opened bids in row order, from their logged `bid.opened`.
fn opened_bids(events: &[LoggedEvent]) -> Result<Vec<OpenedBid>, String> {
    let mut opened = Vec::new();
    for e in events {
        let EventPayload::BidOpened(o) = &e.payload else { continue };
        let form_key: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&o.form_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| format!("bid {}: the form key is not 32 bytes of base64url", o.row.bid_id))?;
        opened.push((
            o.row.position,
            OpenedBid {
                bid_id: o.row.bid_id,
                lot: o.row.lot.clone(),
                form_key,
                fields: o.fields.clone(),
                above_ceiling: o.above_ceiling,
            },
        ));
    }
    opened.sort_by_key(|(p, _)| *p);
    Ok(opened.into_iter().map(|(_, b)| b).collect())
}

/// The result's record head against the verified checkpoint.
pub async fn record_head(source: &dyn Source, result: &DrawResultLogged, checkpoint: &Checkpoint) -> Vec<String> {
    let size = result.record_size;
    let head = result.record_head.0;
    if size == 0 || size > checkpoint.size {
        return vec![format!("the record's log size {size} is not within the checkpoint's {}", checkpoint.size)];
    }
    let mut problems = Vec::new();
    match (source.log_entry(size - 1).await, source.inclusion(size - 1, size).await) {
        (Ok(entry), Ok(proof)) => {
            if let Err(e) = verify_inclusion(&leaf_hash(&entry), size - 1, size, &proof, &head) {
                problems.push(format!("the record's entry is not the last leaf under the named head: {e}"));
            }
        }
        (Err(e), _) | (_, Err(e)) => problems.push(format!("cannot fetch the record's entry and proof: {e}")),
    }
    match source.consistency(size, checkpoint.size).await {
        Ok(proof) => {
            if let Err(e) = verify_consistency(size, checkpoint.size, &head, &checkpoint.root, &proof) {
                problems.push(format!("the named head is not the log's at size {size}: {e}"));
            }
        }
        Err(e) => problems.push(format!("cannot fetch a consistency proof: {e}")),
    }
    problems
}
