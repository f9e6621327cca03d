//! The blame of unopened bids against the releases, with and without
//! the releases' coverage (`blame::unopened_blame`).

use time::OffsetDateTime;
use uuid::Uuid;

use super::blame::unopened_blame;
use super::log::LoggedEvent;
use super::session::window_end;
use crate::domain::event::EventPayload;
use crate::domain::event::{BidRow, BidUnopened, BidderRef, Blame, CustodianReleased, Digest, OpeningStarted};
use crate::seal::Custodian;
use crate::seal::CustodyPolicy;
use crate::verify::close::StandingBid;

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
        covers: None,
    })
}

/// A release listing the bids it covers: positions of [`standing`].
fn covering(custodian: &str, index: u8, positions: &[u64], bad: bool) -> EventPayload {
    let covers = crate::domain::event::Coverage::of(positions.iter().copied()).unwrap();
    EventPayload::CustodianReleased(CustodianReleased {
        custodian: custodian.into(),
        index,
        shares: positions.len() as u64,
        bad_shares: if bad { vec![Digest(HASH)] } else { Vec::new() },
        proof: None,
        covers,
    })
}

/// The unopened bid (HASH) and another one, in order of receipt.
fn standing() -> Vec<StandingBid> {
    [HASH, [8; 32]]
        .iter()
        .map(|h| StandingBid {
            envelope_hash: hex::encode(h),
            lot: "1".into(),
            received_at: OffsetDateTime::UNIX_EPOCH,
        })
        .collect()
}

/// The blame of `events` with the coverage they log.
fn blame(ids: &[String], events: &[LoggedEvent]) -> Vec<String> {
    let custodians = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Custodian { index: i as u8 + 1, id: id.clone(), public_key: None })
        .collect();
    let policy = CustodyPolicy { threshold: 3, custodians };
    let (covered, _, _) = super::coverage::check(&policy, &standing(), events, window_end(events));
    unopened_blame(ids, 3, events, &covered)
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
    assert_eq!(blame(&ids, &ev), Vec::<String>::new());
}

#[test]
fn blaming_a_custodian_whose_share_was_not_bad_fails() {
    let (ids, ev) =
        log(vec![(1, released("server", false)), (2, released("alice", false))], unopened(&["bob"], &["alice"]));
    assert_eq!(blame(&ids, &ev).len(), 1);
}

#[test]
fn a_silent_custodian_left_unnamed_fails() {
    // Bob released nothing, yet the record blames only alice's share.
    let (ids, ev) = log(vec![(1, released("server", false)), (2, released("alice", true))], unopened(&[], &["alice"]));
    let problems = blame(&ids, &ev);
    assert!(problems.iter().any(|p| p.contains("\"bob\" released nothing")), "{problems:?}");
}

#[test]
fn a_release_after_the_window_does_not_count() {
    let (ids, ev) =
        log(vec![(1, released("server", false)), (150, released("bob", false))], unopened(&["alice", "bob"], &[]));
    assert_eq!(blame(&ids, &ev), Vec::<String>::new());
    let (ids, ev) = log(vec![(1, released("server", false)), (150, released("bob", false))], unopened(&["alice"], &[]));
    assert!(!blame(&ids, &ev).is_empty());
}

#[test]
fn enough_good_shares_cannot_be_unopened() {
    let (ids, ev) = log(
        vec![(1, released("server", false)), (2, released("alice", false)), (3, released("bob", false))],
        unopened(&[], &[]),
    );
    let problems = blame(&ids, &ev);
    assert!(problems.iter().any(|p| p.contains("k is 3")), "{problems:?}");
}

#[test]
fn with_coverage_the_blame_is_checked_bid_by_bid() {
    // Bob released, but only the other bid: he must be named for this one.
    let honest = vec![
        (1, covering("server", 1, &[0, 1], false)),
        (2, covering("alice", 2, &[0], true)),
        (3, covering("bob", 3, &[1], false)),
    ];
    let (ids, ev) = log(honest.clone(), unopened(&["bob"], &["alice"]));
    assert_eq!(blame(&ids, &ev), Vec::<String>::new());
    let (ids, ev) = log(honest, unopened(&[], &["alice"]));
    let problems = blame(&ids, &ev);
    assert!(problems.iter().any(|p| p.contains("\"bob\" released no share of this bid")), "{problems:?}");
    // The server covered this bid: naming it as absent is a lie.
    let (ids, ev) = log(
        vec![(1, covering("server", 1, &[0, 1], false)), (2, covering("alice", 2, &[0], true))],
        unopened(&["server", "bob"], &["alice"]),
    );
    let problems = blame(&ids, &ev);
    assert!(problems.iter().any(|p| p.contains("names \"server\" as not having released")), "{problems:?}");
}

#[test]
fn unknown_or_doubly_named_custodians_fail() {
    let (ids, ev) = log(
        vec![(1, released("server", false)), (2, released("alice", true))],
        unopened(&["mallory", "alice"], &["alice"]),
    );
    let problems = blame(&ids, &ev);
    assert!(problems.iter().any(|p| p.contains("not a custodian")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("both as")), "{problems:?}");
}
