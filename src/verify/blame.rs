//! The blame of unopened bids against the release events: a `bid.unopened`
//! names who did not release and whose share was bad; the
//! `custodian.released` events say who released and which bids' shares
//! were bad. Pure: the caller fetches.

use std::collections::{BTreeSet, HashMap};

use super::coverage::Covered;
use super::log::LoggedEvent;
use crate::domain::event::{BidderReleased, BidderShare, Digest, EventPayload};
use crate::domain::tender::BIDDER_CUSTODIAN;
use crate::seal::{CustodyPolicy, Envelope, Share, bidder_release_message, unb64, verify_share};

/// Problems with the blame of each `bid.unopened`, given the custodian ids
/// of the tender's policy (in share order) and its threshold k.
///
/// Checked: every named custodian is one of the policy's, named once and
/// not both as absent and as faulty; fewer than k custodians remain with a
/// good share; `bad_shares_from` is exactly the custodians whose release
/// (before the window ended) listed this bid as bad; a custodian is named
/// as not having released exactly when none of its releases before the
/// window ended covers this bid ([`Covered`]). For a custodian with a
/// release that lists no coverage (logged before the field existed) only
/// this is known: with no release at all it must be named.
pub(crate) fn unopened_blame(
    custodians: &[String],
    threshold: u8,
    events: &[LoggedEvent],
    covered: &Covered,
) -> Vec<String> {
    let until = release_until(events);
    // Only releases inside the window count; the store refuses later ones.
    let releases: Vec<_> = events
        .iter()
        .filter(|e| until.is_none_or(|u| e.at < u))
        .filter_map(|e| match &e.payload {
            EventPayload::CustodianReleased(r) => Some(r),
            _ => None,
        })
        .collect();
    let released: BTreeSet<&str> = releases.iter().map(|r| r.custodian.as_str()).collect();
    let by_bidder = bidder_releases(events);
    let mut problems = Vec::new();
    for e in events {
        let EventPayload::BidUnopened(u) = &e.payload else { continue };
        let at = format!("event {} ({})", e.seq, u.row.envelope_hash);
        // The bidder's share is per bid: its own `bidder.released`, if any.
        let mut released = released.clone();
        let mut bad_in_log: BTreeSet<&str> = BTreeSet::new();
        if let Some(r) = by_bidder.get(&u.row.envelope_hash) {
            released.insert(BIDDER_CUSTODIAN);
            if !r.good {
                bad_in_log.insert(BIDDER_CUSTODIAN);
            }
        }
        if custodians.iter().any(|c| c == BIDDER_CUSTODIAN)
            && by_bidder.get(&u.row.envelope_hash).is_none_or(|r| !r.good)
        {
            problems.push(format!(
                "{at}: the bidder released no good share of this bid, so it is rejected by the bidder's fault, not unopened"
            ));
        }
        let absent: BTreeSet<&str> = u.not_released_by.iter().map(String::as_str).collect();
        let faulty: BTreeSet<&str> = u.bad_shares_from.iter().map(String::as_str).collect();
        if absent.len() != u.not_released_by.len() || faulty.len() != u.bad_shares_from.len() {
            problems.push(format!("{at}: a custodian is named twice"));
        }
        for c in absent.union(&faulty) {
            if !custodians.iter().any(|p| p == c) {
                problems.push(format!("{at}: names {c:?}, not a custodian of this tender"));
            }
        }
        // Unlike a custodian's, the bidder's release names its bid.
        if absent.contains(BIDDER_CUSTODIAN) && by_bidder.contains_key(&u.row.envelope_hash) {
            problems.push(format!("{at}: names the bidder as not having released, but it released its share"));
        }
        for c in absent.intersection(&faulty) {
            problems.push(format!("{at}: names {c:?} both as not having released and as having released a bad share"));
        }
        let good = custodians.len().saturating_sub(absent.union(&faulty).count());
        if good >= usize::from(threshold) {
            problems.push(format!("{at}: {good} custodians are left with a good share, k is {threshold}"));
        }
        bad_in_log.extend(
            releases.iter().filter(|r| r.bad_shares.contains(&u.row.envelope_hash)).map(|r| r.custodian.as_str()),
        );
        if bad_in_log != faulty {
            problems.push(format!(
                "{at}: blames bad shares from {faulty:?}, the release events list bad shares of this bid from {bad_in_log:?}"
            ));
        }
        let hash = u.row.envelope_hash.to_hex();
        for c in custodians.iter().map(String::as_str) {
            let named = absent.contains(c);
            // The bidder's own release was checked above.
            let covers = match c {
                BIDDER_CUSTODIAN if released.contains(c) => None,
                BIDDER_CUSTODIAN => Some(false),
                _ => covered.released(c, &hash),
            };
            match covers {
                Some(true) if named => problems.push(format!(
                    "{at}: names {c:?} as not having released, but its release in the window covers this bid"
                )),
                Some(false) if !named && !released.contains(c) => problems.push(format!(
                    "{at}: {c:?} released nothing in the window but is not named as not having released"
                )),
                Some(false) if !named => problems.push(format!(
                    "{at}: {c:?} released no share of this bid in the window but is not named as not having released"
                )),
                _ => {}
            }
        }
    }
    problems
}

/// The `bidder.released` events before the window ended, by envelope hash
/// (the store takes one per bid; a second one is reported by
/// [`bidder_blame`]).
fn bidder_releases(events: &[LoggedEvent]) -> HashMap<Digest, &BidderReleased> {
    let until = release_until(events);
    events
        .iter()
        .filter(|e| until.is_none_or(|u| e.at < u))
        .filter_map(|e| match &e.payload {
            EventPayload::BidderReleased(r) => Some((r.envelope_hash, r)),
            _ => None,
        })
        .collect()
}

/// The window's end as the session moved it (pauses, the extension).
fn release_until(events: &[LoggedEvent]) -> Option<time::OffsetDateTime> {
    super::session::window_end(events)
}

/// Problems with the bidder-held part of an opening, given the published
/// policy and the served envelopes by hash.
///
/// Checked: a `bidder.released` is in the window, once per bid, for the
/// policy's bidder slot; a bad one publishes its share, signed by the bid's
/// own bidder key, and the share really fails its commitment (a good one
/// publishes none); a `bid.rejected` for the bidder's share matches the
/// releases (none for `not_released`, a bad one for `bad`); every opened bid
/// of a bidder-held policy had a good release by its bidder.
pub(crate) fn bidder_blame(
    policy: &CustodyPolicy,
    events: &[LoggedEvent],
    envelopes: &HashMap<String, &Envelope>,
) -> Vec<String> {
    let index = policy.bidder_index();
    let until = release_until(events);
    let by_bidder = bidder_releases(events);
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for e in events {
        let at = format!("event {}", e.seq);
        match &e.payload {
            EventPayload::BidderReleased(r) => {
                if index != Some(r.index) {
                    problems.push(format!(
                        "{at}: a bidder release for share {}, the policy has no such bidder slot",
                        r.index
                    ));
                }
                if until.is_some_and(|u| e.at >= u) {
                    problems.push(format!("{at}: a bidder release after the decryption window ended"));
                }
                if !seen.insert(r.envelope_hash) {
                    problems.push(format!("{at}: a second bidder release of {}", r.envelope_hash));
                }
                problems.extend(
                    check_release(r, envelopes.get(&r.envelope_hash.to_hex()).copied()).map(|p| format!("{at}: {p}")),
                );
            }
            EventPayload::BidRejected(j) => {
                let Some(kind) = j.bidder_share else { continue };
                let hash = j.row.envelope_hash;
                let release = by_bidder.get(&hash);
                let fits = match kind {
                    BidderShare::NotReleased => index.is_some() && release.is_none(),
                    BidderShare::Bad => index.is_some() && release.is_some_and(|r| !r.good),
                };
                if !fits {
                    problems.push(format!(
                        "{at} ({hash}): blames the bidder's share ({kind:?}), the bidder releases in the window say otherwise"
                    ));
                }
            }
            EventPayload::BidOpened(o)
                if index.is_some() && !by_bidder.get(&o.row.envelope_hash).is_some_and(|r| r.good) =>
            {
                problems.push(format!("{at} ({}): opened without a good release by its bidder", o.row.envelope_hash));
            }
            _ => {}
        }
    }
    problems
}

/// One release against its envelope: signer, and the published share.
fn check_release(r: &BidderReleased, envelope: Option<&Envelope>) -> Option<String> {
    let Some(env) = envelope else {
        return Some(format!("released for {}, which has no served envelope", r.envelope_hash));
    };
    if env.bid_id != r.bid_id {
        return Some(format!("names bid {}, the envelope is bid {}", r.bid_id, env.bid_id));
    }
    match (&r.share, r.good) {
        (Some(_), true) => Some("a good share was published".into()),
        (None, true) => None,
        (None, false) => Some("a bad share is blamed on the bidder without publishing it".into()),
        (Some(text), false) => {
            let Some(share) = unb64(text).ok().and_then(|b| <[u8; 33]>::try_from(b.as_slice()).ok()) else {
                return Some("the published bad share is not 33 bytes of base64url".into());
            };
            let signature = unb64(&r.signature).unwrap_or_default();
            let message = bidder_release_message(env.tender_id, env.bid_id, &share, r.signed_at.unix_timestamp());
            if env.bidder_public_key.verify(&message, &signature).is_err() {
                return Some("the published bad share is not signed by the bid's bidder".into());
            }
            match Share::from_bytes(&share) {
                Ok(s) if s.x == r.index && verify_share(env, &s).is_ok() => {
                    Some("the share called bad matches its commitment".into())
                }
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod bidder_tests {
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;
    use crate::domain::event::{BidRejected, BidRow, BidderRef, Blame, OpeningStarted};
    use crate::seal::{Custodian, CustodianSecretKey};

    const HASH: [u8; 32] = [9; 32];

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    fn policy() -> CustodyPolicy {
        let server = CustodianSecretKey::generate().unwrap().public_key();
        CustodyPolicy {
            threshold: 2,
            custodians: vec![
                Custodian { index: 1, id: "server".into(), public_key: Some(server) },
                Custodian { index: 2, id: "bidder".into(), public_key: None },
            ],
        }
    }

    fn row() -> BidRow {
        BidRow {
            bid_id: Uuid::nil(),
            envelope_hash: Digest(HASH),
            received_at: at(0),
            bidder: BidderRef { id: "b".into(), name: None },
            lot: "1".into(),
            position: 1,
        }
    }

    fn rejected(share: BidderShare) -> EventPayload {
        EventPayload::BidRejected(BidRejected {
            row: row(),
            blame: Blame::Bidder,
            reason: "r".into(),
            bidder_share: Some(share),
        })
    }

    /// A good release by the bidder, at `t` (its envelope is not needed for
    /// the blame of a rejection; `check_release` then names the missing one).
    fn released(t: i64) -> (i64, EventPayload) {
        let r = BidderReleased {
            bid_id: Uuid::nil(),
            envelope_hash: Digest(HASH),
            index: 2,
            good: true,
            signed_at: at(t),
            signature: String::new(),
            share: None,
        };
        (t, EventPayload::BidderReleased(r))
    }

    fn events(rest: Vec<(i64, EventPayload)>) -> Vec<LoggedEvent> {
        let start = EventPayload::OpeningStarted(OpeningStarted {
            opening_at: at(0),
            started_at: at(0),
            release_until: at(100),
            threshold: 2,
            custodians: vec!["server".into(), "bidder".into()],
        });
        std::iter::once((0, start))
            .chain(rest)
            .enumerate()
            .map(|(i, (t, payload))| LoggedEvent { seq: i as i64 + 1, at: at(t), payload, log_index: i as u64 })
            .collect()
    }

    #[test]
    fn silence_blamed_on_the_bidder_passes_and_a_doctored_one_fails() {
        let p = policy();
        let none = HashMap::new();
        let honest = events(vec![(100, rejected(BidderShare::NotReleased))]);
        assert_eq!(bidder_blame(&p, &honest, &none), Vec::<String>::new());
        // It released in time, yet the record says it did not.
        let doctored = events(vec![released(5), (100, rejected(BidderShare::NotReleased))]);
        let problems = bidder_blame(&p, &doctored, &none);
        assert!(problems.iter().any(|p| p.contains("blames the bidder's share")), "{problems:?}");
        // A bad share with no bad release behind it.
        let doctored = events(vec![(100, rejected(BidderShare::Bad))]);
        assert!(!bidder_blame(&p, &doctored, &none).is_empty());
        // A release after the window does not count and is itself a problem.
        let late = events(vec![released(150), (100, rejected(BidderShare::NotReleased))]);
        let problems = bidder_blame(&p, &late, &none);
        assert!(problems.iter().any(|p| p.contains("after the decryption window")), "{problems:?}");
        assert!(!problems.iter().any(|p| p.contains("blames the bidder's share")), "{problems:?}");
    }
}
