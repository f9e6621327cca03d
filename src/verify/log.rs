//! The log half of verification: checkpoints, consistency, and every event
//! of the tender checked against its exact log entry and included under a
//! verified checkpoint. What comes out is the tender's history as the log
//! proves it; the rest of verification reads only that.

use futures_util::{StreamExt, TryStreamExt};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::report::{Check, Collector};
use super::source::Source;
use crate::client::Event;
use crate::domain::event::{EventKind, EventPayload, decode_entry, is_canonical};
use crate::ledger::{Checkpoint, Verifier, leaf_hash, open_checkpoint, verify_consistency, verify_inclusion};

/// Requests in flight while fetching entries and proofs.
const CONCURRENCY: usize = 8;

/// An event as its log entry records it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// Position in the tender's stream.
    pub seq: i64,
    /// Server time of the event.
    pub at: OffsetDateTime,
    /// What the entry records.
    pub payload: EventPayload,
    /// Index of the entry.
    pub log_index: u64,
}

impl LoggedEvent {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }
}

/// What the log half established.
pub(crate) struct LogFacts {
    /// The checkpoint proofs were checked against.
    pub checkpoint: Checkpoint,
    /// The tender's history, from the log entries, in sequence order.
    pub events: Vec<LoggedEvent>,
}

async fn fetch_checkpoint(client: &dyn Source, verifier: &Verifier) -> Result<Checkpoint, String> {
    let note = client.checkpoint().await.map_err(|e| format!("cannot fetch the checkpoint: {e}"))?;
    open_checkpoint(&note, verifier).map_err(|e| format!("the server's checkpoint does not verify: {e}"))
}

/// Consistency from `old` to `new`, fetching the proof when one is needed.
async fn consistent(client: &dyn Source, old: &Checkpoint, new: &Checkpoint) -> Result<(), String> {
    if old.origin != new.origin {
        return Err(format!("checkpoints of two logs: {:?} and {:?}", old.origin, new.origin));
    }
    if old.size > new.size {
        return Err(format!("the log shrank from {} to {} entries", old.size, new.size));
    }
    let proof = if old.size == new.size || old.size == 0 {
        Vec::new()
    } else {
        client.consistency(old.size, new.size).await.map_err(|e| format!("cannot fetch a consistency proof: {e}"))?
    };
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
        .map_err(|e| format!("tree {} is not a prefix of tree {}: {e}", old.size, new.size))
}

/// Runs the log checks; `None` when the history cannot be established.
pub(crate) async fn check_log(
    client: &dyn Source,
    tender: Uuid,
    verifier: &Verifier,
    previous: Option<&str>,
    c: &mut Collector,
) -> Option<LogFacts> {
    let served = match client.events(tender).await {
        Ok((events, last_seq)) => {
            c.record(
                Check::EventSequence,
                format!("{} events, 1 to {last_seq}", events.len()),
                sequence(&events, last_seq),
            );
            events
        }
        Err(e) => {
            c.fail(Check::EventSequence, format!("cannot fetch the tender's events: {e}"));
            return None;
        }
    };
    // Fetched after the events, so it covers every one of them.
    let checkpoint = match fetch_checkpoint(client, verifier).await {
        Ok(cp) => cp,
        Err(e) => {
            c.fail(Check::CheckpointSignature, e);
            return None;
        }
    };
    let mut held = None;
    if let Some(note) = previous {
        match open_checkpoint(note, verifier) {
            Ok(cp) => held = Some(cp),
            Err(e) => {
                c.fail(Check::CheckpointSignature, format!("the checkpoint given does not verify: {e}"));
                return None;
            }
        }
    }
    let (events, entry_problems, inclusion_problems) = entries(client, tender, &served, &checkpoint).await;
    c.record(
        Check::EventEntries,
        format!("{} entries fetched and compared with their events", served.len()),
        entry_problems,
    );
    c.record(
        Check::EventInclusion,
        format!("{} inclusion proofs against tree size {}", served.len(), checkpoint.size),
        inclusion_problems,
    );

    let mut problems = Vec::new();
    let latest = match fetch_checkpoint(client, verifier).await {
        Ok(latest) => Some(latest),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    // The source's own earlier checkpoints (an evidence bundle's chain).
    let mut earlier = Vec::new();
    for note in client.earlier_checkpoints() {
        match open_checkpoint(&note, verifier) {
            Ok(cp) => earlier.push(cp),
            Err(e) => problems.push(format!("an earlier checkpoint does not verify: {e}")),
        }
    }
    let signed = 1 + usize::from(latest.is_some()) + usize::from(held.is_some()) + earlier.len();
    c.record(
        Check::CheckpointSignature,
        format!("{signed} checkpoint(s) signed by {} (key {:08x})", verifier.name(), verifier.key_id()),
        problems,
    );
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    if let Some(held) = &held {
        if held.size <= checkpoint.size {
            steps.push((held.clone(), checkpoint.clone()));
        } else {
            steps.push((checkpoint.clone(), held.clone()));
        }
    }
    if let Some(latest) = &latest {
        steps.push((checkpoint.clone(), latest.clone()));
    }
    for cp in earlier {
        steps.push((cp, checkpoint.clone()));
    }
    for (old, new) in &steps {
        if let Err(e) = consistent(client, old, new).await {
            problems.push(e);
        }
    }
    let sizes: Vec<String> = steps.iter().map(|(o, n)| format!("{} → {}", o.size, n.size)).collect();
    c.record(Check::CheckpointConsistency, format!("tree sizes {}", sizes.join(", ")), problems);
    Some(LogFacts { checkpoint, events })
}

/// Sequence numbers 1..n in order, ending at the tender's last one.
fn sequence(events: &[Event], last_seq: i64) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            problems.push(format!("event #{} has sequence number {}, expected {expected}", i + 1, e.seq));
            break;
        }
    }
    if events.len() as i64 != last_seq {
        problems.push(format!("{} events served but the tender's last sequence number is {last_seq}", events.len()));
    }
    problems
}

/// Fetches every event's entry and inclusion proof; returns the logged
/// events and the problems of each check.
async fn entries(
    client: &dyn Source,
    tender: Uuid,
    served: &[Event],
    checkpoint: &Checkpoint,
) -> (Vec<LoggedEvent>, Vec<String>, Vec<String>) {
    let size = checkpoint.size;
    let fetched: Result<Vec<_>, String> = futures_util::stream::iter(served.iter().cloned())
        .map(|e| async move {
            if e.log_index >= size {
                return Ok((e, None, None));
            }
            let entry = client.log_entry(e.log_index).await?;
            let proof = client.inclusion(e.log_index, size).await?;
            Ok((e, Some(entry), Some(proof)))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await;
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            let p = vec![format!("cannot fetch entries and proofs: {e}")];
            return (Vec::new(), p.clone(), p);
        }
    };
    let (mut logged, mut entry_problems, mut inclusion_problems) = (Vec::new(), Vec::new(), Vec::new());
    for (event, entry, proof) in fetched {
        let (Some(entry), Some(proof)) = (entry, proof) else {
            inclusion_problems.push(format!(
                "event {} ({}) is at log index {}, beyond the checkpoint's {size} entries",
                event.seq, event.kind, event.log_index
            ));
            continue;
        };
        let leaf = leaf_hash(&entry);
        if let Err(e) = verify_inclusion(&leaf, event.log_index, size, &proof, &checkpoint.root) {
            inclusion_problems.push(format!(
                "event {} ({}), log entry {}: not included under the checkpoint: {e}",
                event.seq, event.kind, event.log_index
            ));
        }
        match compare(tender, &event, &entry, &leaf) {
            Ok(l) => logged.push(l),
            Err(p) => {
                entry_problems.push(format!("event {} ({}), log entry {}: {p}", event.seq, event.kind, event.log_index))
            }
        }
    }
    (logged, entry_problems, inclusion_problems)
}

/// The entry must be this event of this tender, byte for byte in content.
fn compare(tender: Uuid, event: &Event, entry: &[u8], leaf: &[u8; 32]) -> Result<LoggedEvent, String> {
    if hex::encode(leaf) != event.leaf_hash {
        return Err(format!("the entry's leaf hash is {}, the event names {}", hex::encode(leaf), event.leaf_hash));
    }
    let e = decode_entry(entry).map_err(|e| format!("the entry cannot be read: {e}"))?;
    // Everything the entry says must be in what was read: no field this
    // verifier would skip, no second encoding of the same event.
    if !is_canonical(entry, &e) {
        return Err("the entry is not in the canonical encoding of the event it records".into());
    }
    let served_at = OffsetDateTime::parse(&event.at, &Rfc3339).ok();
    let data = e.payload.to_data().map_err(|e| e.to_string())?;
    if e.tender != tender
        || e.seq != event.seq
        || e.payload.kind().as_str() != event.kind
        || Some(e.at) != served_at
        || data != event.data
    {
        return Err("the entry differs from the event served".into());
    }
    Ok(LoggedEvent { seq: e.seq, at: e.at, payload: e.payload, log_index: event.log_index })
}
