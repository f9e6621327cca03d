//! Bidder-fault rejections proven by their shares: for each `bid.rejected`
//! because the released shares do not rebuild the committed key, the
//! shares the server publishes must each match the envelope's commitment,
//! be at least k, and no k of them may rebuild the key (PROTOCOL.md,
//! "Blame: what the public can check").

use uuid::Uuid;

use super::log::LoggedEvent;
use super::source::Source;
use crate::client::{FaultShares, PublicBid};
use crate::domain::event::{EventPayload, REASON_INCONSISTENT_SHARES};
use crate::seal::{Envelope, SealError, Share, rebuild_key, unb64, verify_share};

/// The bids the record rejects for inconsistent shares.
fn rejected_for_shares(events: &[LoggedEvent]) -> Vec<(Uuid, String)> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::BidRejected(r) if r.reason == REASON_INCONSISTENT_SHARES => {
                Some((r.row.bid_id, r.row.envelope_hash.to_hex()))
            }
            _ => None,
        })
        .collect()
}

/// Fetches and checks the shares of every such bid; returns the number
/// checked and the problems.
pub(crate) async fn check(
    source: &dyn Source,
    tender: Uuid,
    events: &[LoggedEvent],
    served: &[PublicBid],
) -> (usize, Vec<String>) {
    let bids = rejected_for_shares(events);
    let mut problems = Vec::new();
    for (bid, hash) in &bids {
        let at = format!("bid {bid} ({hash})");
        let Some(envelope) = served.iter().find(|p| &p.envelope_hash == hash).and_then(|p| {
            let bytes = unb64(&p.envelope).ok()?;
            Envelope::parse(&bytes).ok()
        }) else {
            problems.push(format!("{at}: its envelope is not served, so its shares cannot be checked"));
            continue;
        };
        match source.fault_shares(tender, *bid).await {
            Ok(Some(shares)) => {
                problems.extend(shares_prove_fault(&envelope, hash, &shares).map(|p| format!("{at}: {p}")))
            }
            Ok(None) => problems.push(format!(
                "{at}: rejected for inconsistent shares, but the server does not publish the shares that would prove it"
            )),
            Err(e) => problems.push(format!("{at}: cannot fetch its shares: {e}")),
        }
    }
    (bids.len(), problems)
}

/// Do the published shares prove the bidder sealed them inconsistently?
fn shares_prove_fault(envelope: &Envelope, hash: &str, served: &FaultShares) -> Option<String> {
    if served.envelope_hash != *hash {
        return Some(format!("the shares served are for envelope {}", served.envelope_hash));
    }
    let mut shares = Vec::new();
    for s in &served.shares {
        let Some(share) = unb64(&s.share).ok().and_then(|b| Share::from_bytes(&b).ok()) else {
            return Some(format!("the share of custodian {} is not a 33-byte share", s.custodian));
        };
        if share.x != s.index {
            return Some(format!(
                "the share of custodian {} has x = {}, not its index {}",
                s.custodian, share.x, s.index
            ));
        }
        if verify_share(envelope, &share).is_err() {
            return Some(format!("the share of custodian {} does not match its commitment", s.custodian));
        }
        shares.push(share);
    }
    match rebuild_key(envelope, &shares) {
        Err(SealError::KeyCommitmentMismatch) => None,
        Ok(_) => Some("some k of the published shares rebuild the committed key: the bid should have opened".into()),
        Err(SealError::NotEnoughShares { have, need }) => {
            Some(format!("{have} distinct shares published, k is {need}: too few to put the fault on the bidder"))
        }
        Err(e) => Some(format!("the shares cannot be combined: {e}")),
    }
}
