//! The blame of unopened bids against the release events: a `bid.unopened`
//! names who did not release and whose share was bad; the
//! `custodian.released` events say who released and which bids' shares
//! were bad. Pure: the caller fetches.

use std::collections::BTreeSet;

use super::log::LoggedEvent;
use crate::domain::event::EventPayload;

/// Problems with the blame of each `bid.unopened`, given the custodian ids
/// of the tender's policy (in share order) and its threshold k.
///
/// Checked: every named custodian is one of the policy's, named once and
/// not both as absent and as faulty; fewer than k custodians remain with a
/// good share; `bad_shares_from` is exactly the custodians whose release
/// (before the window ended) listed this bid as bad; a custodian with no
/// release at all before the window ended is named as not having released.
/// (Releases carry a count, not the bids they cover, so a custodian that
/// released for some bids cannot yet be checked bid by bid.)
pub(crate) fn unopened_blame(custodians: &[String], threshold: u8, events: &[LoggedEvent]) -> Vec<String> {
    let until = events.iter().find_map(|e| match &e.payload {
        EventPayload::OpeningStarted(s) => Some(s.release_until),
        _ => None,
    });
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
    let mut problems = Vec::new();
    for e in events {
        let EventPayload::BidUnopened(u) = &e.payload else { continue };
        let at = format!("event {} ({})", e.seq, u.row.envelope_hash);
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
        for c in absent.intersection(&faulty) {
            problems.push(format!("{at}: names {c:?} both as not having released and as having released a bad share"));
        }
        let good = custodians.len().saturating_sub(absent.union(&faulty).count());
        if good >= usize::from(threshold) {
            problems.push(format!("{at}: {good} custodians are left with a good share, k is {threshold}"));
        }
        let bad_in_log: BTreeSet<&str> = releases
            .iter()
            .filter(|r| r.bad_shares.contains(&u.row.envelope_hash))
            .map(|r| r.custodian.as_str())
            .collect();
        if bad_in_log != faulty {
            problems.push(format!(
                "{at}: blames bad shares from {faulty:?}, the release events list bad shares of this bid from {bad_in_log:?}"
            ));
        }
        for c in custodians {
            if !released.contains(c.as_str()) && !absent.contains(c.as_str()) {
                problems.push(format!(
                    "{at}: {c:?} released nothing in the window but is not named as not having released"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;
    use crate::domain::event::{BidRow, BidUnopened, BidderRef, Blame, CustodianReleased, Digest, OpeningStarted};

    const HASH: [u8; 32] = [7; 32];

    fn event(seq: i64, at: OffsetDateTime, payload: EventPayload) -> LoggedEvent {
        LoggedEvent { seq, at, payload, log_index: seq as u64 }
    }

    fn released(custodian: &str, bad: bool) -> EventPayload {
        EventPayload::CustodianReleased(CustodianReleased {
            custodian: custodian.into(),
            index: 1,
            shares: 1,
            bad_shares: if bad { vec![Digest(HASH)] } else { Vec::new() },
            proof: None,
        })
    }

    fn unopened(absent: &[&str], faulty: &[&str]) -> EventPayload {
        let at = OffsetDateTime::UNIX_EPOCH;
        let row = BidRow {
            bid_id: Uuid::nil(),
            envelope_hash: Digest(HASH),
            received_at: at,
            bidder: BidderRef { id: "b".into(), name: None },
            lot: "1".into(),
            position: 1,
        };
        EventPayload::BidUnopened(BidUnopened {
            row,
            reason: "window over".into(),
            blame: Blame::CustodiansNotReleased,
            not_released_by: absent.iter().map(|s| s.to_string()).collect(),
            bad_shares_from: faulty.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// server, alice, bob with k = 3; the window ends at t = 100 s.
    fn log(releases: Vec<(i64, EventPayload)>, outcome: EventPayload) -> (Vec<String>, Vec<LoggedEvent>) {
        let t = |s: i64| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s);
        let ids: Vec<String> = ["server", "alice", "bob"].iter().map(|s| s.to_string()).collect();
        let mut events = vec![event(
            1,
            t(0),
            EventPayload::OpeningStarted(OpeningStarted {
                opening_at: t(0),
                started_at: t(0),
                release_until: t(100),
                threshold: 3,
                custodians: ids.clone(),
            }),
        )];
        for (i, (at, p)) in releases.into_iter().enumerate() {
            events.push(event(i as i64 + 2, t(at), p));
        }
        events.push(event(10, t(100), outcome));
        (ids, events)
    }

    #[test]
    fn honest_blame_passes() {
        let (ids, ev) =
            log(vec![(1, released("server", false)), (2, released("alice", true))], unopened(&["bob"], &["alice"]));
        assert_eq!(unopened_blame(&ids, 3, &ev), Vec::<String>::new());
    }

    #[test]
    fn blaming_a_custodian_whose_share_was_not_bad_fails() {
        let (ids, ev) =
            log(vec![(1, released("server", false)), (2, released("alice", false))], unopened(&["bob"], &["alice"]));
        assert_eq!(unopened_blame(&ids, 3, &ev).len(), 1);
    }

    #[test]
    fn a_silent_custodian_left_unnamed_fails() {
        // Bob released nothing, yet the record blames only alice's share.
        let (ids, ev) =
            log(vec![(1, released("server", false)), (2, released("alice", true))], unopened(&[], &["alice"]));
        let problems = unopened_blame(&ids, 3, &ev);
        assert!(problems.iter().any(|p| p.contains("\"bob\" released nothing")), "{problems:?}");
    }

    #[test]
    fn a_release_after_the_window_does_not_count() {
        let (ids, ev) =
            log(vec![(1, released("server", false)), (150, released("bob", false))], unopened(&["alice", "bob"], &[]));
        assert_eq!(unopened_blame(&ids, 3, &ev), Vec::<String>::new());
        let (ids, ev) =
            log(vec![(1, released("server", false)), (150, released("bob", false))], unopened(&["alice"], &[]));
        assert!(!unopened_blame(&ids, 3, &ev).is_empty());
    }

    #[test]
    fn enough_good_shares_cannot_be_unopened() {
        let (ids, ev) = log(
            vec![(1, released("server", false)), (2, released("alice", false)), (3, released("bob", false))],
            unopened(&[], &[]),
        );
        let problems = unopened_blame(&ids, 3, &ev);
        assert!(problems.iter().any(|p| p.contains("k is 3")), "{problems:?}");
    }

    #[test]
    fn unknown_or_doubly_named_custodians_fail() {
        let (ids, ev) = log(
            vec![(1, released("server", false)), (2, released("alice", true))],
            unopened(&["mallory", "alice"], &["alice"]),
        );
        let problems = unopened_blame(&ids, 3, &ev);
        assert!(problems.iter().any(|p| p.contains("not a custodian")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("both as")), "{problems:?}");
    }
}
