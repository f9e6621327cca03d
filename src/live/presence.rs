//! Presence across several nodes on one PostgreSQL database: each node
//! announces its own viewers and signed-in bidders per tender (NOTIFY on
//! `bidroom_presence`), and every node shows the sum over all live nodes.
//!
//! A node announces a tender when its counts change and, while it has
//! viewers there, every [`HEARTBEAT`]; another node's figures that are not
//! renewed within [`STALE_AFTER`] are dropped, so a node that dies stops
//! counting within seconds.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The NOTIFY channel.
pub(super) const CHANNEL: &str = "bidroom_presence";
/// How often a node repeats unchanged figures.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(2);
/// Figures older than this are another node's last words.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(7);
/// Most pseudonyms named in one announcement; NOTIFY payloads are capped at
/// 8000 bytes. Past this the rest are sent as a count, and a bidder signed in
/// on two nodes may then be counted twice.
const MAX_NAMED: usize = 300;

/// One node's figures for one tender, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Announcement {
    /// The announcing node.
    pub node: Uuid,
    pub tender: Uuid,
    /// Sockets open on this tender at that node.
    pub viewers: usize,
    /// Pseudonyms of the bidders signed in there (at most [`MAX_NAMED`]).
    pub bidders: Vec<String>,
    /// Signed-in bidders beyond those named.
    #[serde(default)]
    pub unnamed: usize,
}

impl Announcement {
    /// What `node` has for `tender`: `viewers` sockets and `bidders` signed in.
    pub fn new(node: Uuid, tender: Uuid, viewers: usize, mut bidders: Vec<String>) -> Announcement {
        bidders.sort_unstable();
        let unnamed = bidders.len().saturating_sub(MAX_NAMED);
        bidders.truncate(MAX_NAMED);
        Announcement { node, tender, viewers, bidders, unnamed }
    }

    /// The NOTIFY payload.
    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a payload; `None` for anything else.
    pub fn parse(payload: &str) -> Option<Announcement> {
        serde_json::from_str(payload).ok()
    }
}

/// The other nodes' figures, per tender and node.
#[derive(Default)]
pub(super) struct Remote {
    tenders: HashMap<Uuid, HashMap<Uuid, (Announcement, Instant)>>,
}

/// The room's figures summed over all nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub viewers: usize,
    pub bidders: usize,
}

impl Remote {
    /// Takes another node's announcement; true if it changed anything.
    pub fn take(&mut self, a: Announcement, now: Instant) -> bool {
        let per_node = self.tenders.entry(a.tender).or_default();
        let changed = per_node.get(&a.node).is_none_or(|(old, _)| *old != a);
        if a.viewers == 0 && a.bidders.is_empty() && a.unnamed == 0 {
            per_node.remove(&a.node);
            if per_node.is_empty() {
                self.tenders.remove(&a.tender);
            }
        } else {
            per_node.insert(a.node, (a, now));
        }
        changed
    }

    /// Forgets figures not renewed in time; returns the tenders affected.
    pub fn expire(&mut self, now: Instant) -> Vec<Uuid> {
        let mut affected = Vec::new();
        self.tenders.retain(|tender, per_node| {
            let before = per_node.len();
            per_node.retain(|_, (_, seen)| now.duration_since(*seen) < STALE_AFTER);
            if per_node.len() != before {
                affected.push(*tender);
            }
            !per_node.is_empty()
        });
        affected
    }

    /// This node's figures (`viewers`, the pseudonyms signed in here) plus
    /// every other node's, bidders counted once however many nodes they
    /// are signed in on.
    pub fn totals<'a>(&self, tender: Uuid, viewers: usize, local: impl Iterator<Item = &'a String>) -> Totals {
        let mut names: HashSet<&str> = local.map(String::as_str).collect();
        let mut totals = Totals { viewers, bidders: 0 };
        for (a, _) in self.tenders.get(&tender).into_iter().flat_map(HashMap::values) {
            totals.viewers += a.viewers;
            totals.bidders += a.unnamed;
            names.extend(a.bidders.iter().map(String::as_str));
        }
        totals.bidders += names.len();
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sums_nodes_and_counts_a_bidder_once() {
        let (t, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let now = Instant::now();
        let mut r = Remote::default();
        assert!(r.take(Announcement::new(b, t, 10, names(&["p1", "p2"])), now));
        assert!(r.take(Announcement::new(c, t, 5, names(&["p2"])), now));
        assert!(!r.take(Announcement::new(c, t, 5, names(&["p2"])), now), "a heartbeat changes nothing");
        let local = names(&["p1", "p3"]);
        assert_eq!(r.totals(t, 2, local.iter()), Totals { viewers: 17, bidders: 3 });
        assert_eq!(r.totals(Uuid::from_u128(9), 2, local.iter()), Totals { viewers: 2, bidders: 2 });
    }

    #[test]
    fn a_node_leaving_or_going_silent_stops_counting() {
        let (t, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let now = Instant::now();
        let mut r = Remote::default();
        r.take(Announcement::new(b, t, 10, vec![]), now);
        r.take(Announcement::new(c, t, 5, vec![]), now + Duration::from_secs(5));
        assert!(r.take(Announcement::new(b, t, 0, vec![]), now + Duration::from_secs(1)), "b says it is empty");
        assert_eq!(r.totals(t, 0, [].iter()).viewers, 5);
        assert!(r.expire(now + Duration::from_secs(11)).is_empty());
        assert_eq!(r.expire(now + Duration::from_secs(13)), vec![t], "c went silent");
        assert_eq!(r.totals(t, 0, [].iter()).viewers, 0);
    }

    #[test]
    fn payloads_round_trip_and_stay_under_the_notify_cap() {
        let many: Vec<String> = (0..1000).map(|i| format!("{i:016x}")).collect();
        let a = Announcement::new(Uuid::from_u128(2), Uuid::from_u128(1), 7, many);
        assert!(a.payload().len() < 8000, "{}", a.payload().len());
        assert_eq!(a.unnamed, 700);
        assert_eq!(Announcement::parse(&a.payload()), Some(a));
        assert_eq!(Announcement::parse("x:1"), None);
    }
}
