//! Re-verification of a tender's opening from public data alone (trust
//! model point 5). Everything is fetched over the public API and checked
//! here; nothing the server says is taken on trust beyond what the log's
//! signed checkpoints and proofs establish:
//!
//! 1. [`log`]: the checkpoints' signatures and consistency; every event is
//!    exactly its log entry, included under the verified checkpoint, with
//!    gapless sequence numbers. From here on only the logged events count.
//! 2. [`close`]: the bids standing at the close, replayed from the logged
//!    receipts and withdrawals, against the count and root the close fixed.
//! 3. [`bids`]: the envelopes served are exactly those bids; each is signed
//!    by its bidder and bound to this tender; each published form key
//!    matches its commitment and each form decrypts to exactly the published
//!    fields; every standing bid has exactly one outcome in the record.
//!
//! 4. `terms`: the terms served are the logged ones (publication plus
//!    amendments), and each bidder the record names is registered under
//!    that key with that name.
//!
//! The result is a [`Report`] of named [`Check`]s.

pub mod bids;
mod blame;
#[cfg(test)]
mod blame_tests;
pub mod bundle;
pub mod close;
mod coverage;
mod fault_shares;
// --- draws ---
pub mod draws;
pub mod log;
pub mod objections;
pub mod report;
pub mod session;
pub mod source;
mod terms;

use uuid::Uuid;

pub use report::{Check, CheckResult, Report, Status};
pub use source::Source;

use crate::domain::Tender;
use crate::domain::event::{EventKind, EventPayload};
use crate::ledger::Verifier;
use bids::Terms;
use report::Collector;

/// Verifies tender `tender` on the server behind `client`, trusting only
/// `verifier` (the log key). `previous` is a checkpoint note the caller
/// kept from earlier: the log must have grown from it consistently.
pub async fn verify_tender(client: &dyn Source, tender: Uuid, verifier: &Verifier, previous: Option<&str>) -> Report {
    let mut c = Collector::default();
    let facts = log::check_log(client, tender, verifier, previous, &mut c).await;
    let Some(facts) = facts else {
        c.skip_rest("the tender's log could not be established");
        return Report { tender, state: "unknown".into(), tree_size: 0, results: c.finish() };
    };
    let tree_size = facts.checkpoint.size;
    let events = &facts.events;
    let state = state_of(events);
    let report = |c: Collector, state: &str| Report { tender, state: state.to_owned(), tree_size, results: c.finish() };
    match client.tender_json(tender).await {
        Ok(served) => match terms::terms_served(events, &served) {
            Ok(problems) => {
                c.record(Check::TermsServed, "the terms served against the logged publication and amendments", problems)
            }
            Err(e) => c.fail(Check::TermsServed, e),
        },
        Err(e) => c.fail(Check::TermsServed, format!("cannot fetch the tender: {e}")),
    }

    let (close, problems) = close::replay(events);
    let Some(close) = close else {
        if problems.is_empty() {
            c.skip_rest("submission has not closed yet");
        } else {
            c.record(Check::CloseRootFromEvents, "the close could not be replayed", problems);
        }
        return report(c, state);
    };
    c.record(
        Check::CloseRootFromEvents,
        format!("{} bids stood at the close, root {}", close.standing.len(), close.root),
        problems,
    );
    let (summary, problems) = session::stages(events);
    c.record(Check::SessionStages, summary, problems);
    let (summary, problems) = session::minimum(events, &close);
    c.record(Check::MinimumBidders, summary, problems);
    // --- session (issue 12): objections, confirmations, the final record ---
    let mut keys = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for id in objections::signers(events) {
        let key = |b: crate::client::Bidder| {
            let bytes = crate::seal::unb64(&b.public_key).map_err(|e| e.to_string())?;
            crate::seal::BidderPublicKey::from_bytes(&bytes).map_err(|e| e.to_string())
        };
        match client.bidder(&id).await.map(key) {
            Ok(Ok(key)) => {
                keys.insert(id, key);
            }
            Ok(Err(e)) => problems.push(format!("bidder {id}: its registered key is not a P-256 key: {e}")),
            Err(e) => problems.push(format!("bidder {id}: cannot fetch its registration: {e}")),
        }
    }
    let (summary, more) = objections::signatures(tender, events, &keys);
    problems.extend(more);
    c.record(Check::ObjectionSignatures, summary, problems);
    let (summary, problems) = objections::answers(events);
    c.record(Check::ObjectionAnswers, summary, problems);
    // Before the session ended there is nothing sealed to compare, and the
    // check passes saying so (like the other checks with nothing to count).
    let served = if events.iter().any(|e| e.kind() == EventKind::SessionEnded) {
        client.final_record(tender).await
    } else {
        Ok(None)
    };
    let (summary, mut problems) =
        objections::final_record(tender, events, served.as_ref().ok().and_then(Option::as_ref));
    if let Err(e) = served {
        problems.push(format!("cannot fetch the final record: {e}"));
    }
    c.record(Check::FinalRecord, summary, problems);
    if !events.iter().any(|e| e.kind() == EventKind::OpeningStarted) {
        c.skip_rest("the opening has not started; envelopes are public from the opening on");
        return report(c, state);
    }
    let terms = match terms(tender, events) {
        Ok(t) => t,
        Err(e) => {
            c.fail(Check::EnvelopeSignatures, e);
            return report(c, state);
        }
    };
    let ids: Vec<String> = terms.custody.custodians.iter().map(|c| c.id.clone()).collect();
    let k = terms.custody.threshold;
    let (covered, summary, problems) =
        coverage::check(&terms.custody, &close.standing, events, session::window_end(events));
    let unopened = events.iter().filter(|e| e.kind() == EventKind::BidUnopened).count();
    let problems_blame = blame::unopened_blame(&ids, k, events, &covered);
    c.record(Check::UnopenedBlame, format!("{unopened} unopened bids checked against the releases"), problems_blame);
    c.record(Check::ReleaseCoverage, summary, problems);
    match client.envelopes(tender).await {
        Ok(served) => {
            bids::check_bids(&terms, &close, events, &served, &mut c);
            let (n, problems) = fault_shares::check(client, tender, events, &served).await;
            c.record(Check::FaultShares, format!("{n} bids rejected for inconsistent shares checked"), problems);
        }
        Err(e) => c.fail(Check::CloseRootFromEnvelopes, format!("cannot fetch the envelopes: {e}")),
    }
    match client.record(tender).await {
        Ok(record) => {
            let problems = bids::record_served(events, &record.rows);
            c.record(Check::RecordServed, format!("{} rows served", record.rows.len()), problems);
        }
        Err(e) => c.fail(Check::RecordServed, format!("cannot fetch the record: {e}")),
    }
    let named = terms::named_bidders(events);
    let mut problems = Vec::new();
    for (id, name) in &named {
        match client.bidder(id).await {
            Ok(served) => problems.extend(terms::bidder_matches(id, name.as_deref(), &served)),
            Err(e) => problems.push(format!("bidder {id}: cannot fetch its registration: {e}")),
        }
    }
    c.record(
        Check::BidderNames,
        format!("{} bidders of the record against their registrations", named.len()),
        problems,
    );
    // --- draws ---
    match draws::recompute(tender, events) {
        Some((summary, problems)) => c.record(Check::DrawResults, summary, problems),
        None => c.record(Check::DrawResults, "the tender declares no draws and logs none", Vec::new()),
    }
    match draws::result_of(events) {
        Some(r) => {
            let problems = draws::record_head(client, r, &facts.checkpoint).await;
            c.record(Check::DrawRecordHead, format!("the record's log head at size {}", r.record_size), problems);
        }
        None => c.record(Check::DrawRecordHead, "no draw result is logged", Vec::new()),
    }
    report(c, state)
}

/// The tender's state as the last state-changing logged event tells it.
fn state_of(events: &[log::LoggedEvent]) -> &'static str {
    let mut state = "unknown";
    for e in events {
        state = match e.kind() {
            EventKind::TenderPublished => "published",
            EventKind::TenderClosed => "closed",
            EventKind::TenderCancelled => "cancelled",
            EventKind::OpeningStarted => "opening",
            EventKind::RecordPublished => "opened",
            EventKind::TenderFailed if failed_whole(e) => "failed",
            EventKind::SessionTerminated => "terminated",
            _ => continue,
        };
    }
    state
}

fn failed_whole(e: &log::LoggedEvent) -> bool {
    matches!(&e.payload, EventPayload::TenderFailed(f) if f.whole)
}

/// The terms as published (logged), with the custody keys bids are sealed to.
fn terms(id: Uuid, events: &[log::LoggedEvent]) -> Result<Terms, String> {
    let tender: &Tender = events
        .iter()
        .find_map(|e| match &e.payload {
            EventPayload::TenderPublished(p) => Some(&p.tender),
            _ => None,
        })
        .ok_or("the log has no tender.published event for this tender")?;
    let custody = tender.custody_keys.clone().ok_or("the published terms have no custody keys")?;
    Ok(Terms { tender: id, custody, lots: tender.lots.clone() })
}
