//! One tender's room: the broadcast ring every viewer of the tender reads,
//! the in-order publisher in front of it, and the presence counters.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::broadcast;

use super::frames::{self, Frame};
use crate::store::Event;

/// A tender's room. Publishing locks only the room's ordering state, once
/// per change; viewers read the shared ring without any lock of ours.
pub struct Room {
    tx: broadcast::Sender<Frame>,
    order: Mutex<Order>,
    viewers: AtomicUsize,
    /// Signed-in bidders (by pseudonym) and how many connections each has.
    bidders: Mutex<HashMap<String, usize>>,
    presence_dirty: AtomicBool,
}

/// The publisher's position: events go out strictly by sequence number.
struct Order {
    /// Newest sequence number sent into the ring.
    published: i64,
    /// Events that arrived ahead of a missing one.
    pending: BTreeMap<i64, Event>,
    /// A fill from the store is under way.
    filling: bool,
}

/// What a publish asks the hub to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterPublish {
    /// Nothing.
    Done,
    /// Events after this sequence number are missing: read them from the
    /// store and publish them (two commits' notices can arrive out of order,
    /// and another node's events arrive as bare notices).
    Fill(i64),
}

impl Room {
    /// A room whose stream stands at `last_seq`, with a ring of `capacity`.
    pub fn new(last_seq: i64, capacity: usize) -> Room {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Room {
            tx,
            order: Mutex::new(Order { published: last_seq, pending: BTreeMap::new(), filling: false }),
            viewers: AtomicUsize::new(0),
            bidders: Mutex::new(HashMap::new()),
            presence_dirty: AtomicBool::new(true),
        }
    }

    /// A new reader of the ring, positioned at its newest frame.
    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.tx.subscribe()
    }

    /// Sends a non-event frame (checkpoint, presence) to every viewer.
    pub fn send(&self, frame: Frame) {
        // No receivers is not an error: nobody is watching right now.
        let _ = self.tx.send(frame);
    }

    /// Publishes events in sequence order, each serialized once; events
    /// already published are ignored, events ahead of a gap wait for it.
    pub fn publish(&self, events: &[Event]) -> AfterPublish {
        let mut o = self.order.lock().unwrap_or_else(|p| p.into_inner());
        for e in events {
            if e.seq > o.published {
                o.pending.insert(e.seq, e.clone());
            }
        }
        loop {
            let next = o.published + 1;
            let Some(e) = o.pending.remove(&next) else { break };
            let _ = self.tx.send(frames::event(&e));
            o.published = next;
        }
        if o.pending.is_empty() || o.filling {
            return AfterPublish::Done;
        }
        o.filling = true;
        AfterPublish::Fill(o.published)
    }

    /// A fill ended (successfully or not); returns a new fill to start if a
    /// gap remains.
    pub fn fill_done(&self) -> AfterPublish {
        let mut o = self.order.lock().unwrap_or_else(|p| p.into_inner());
        o.filling = false;
        if o.pending.is_empty() {
            return AfterPublish::Done;
        }
        o.filling = true;
        AfterPublish::Fill(o.published)
    }

    /// Another node committed event `seq`: asks for a fill if it is new
    /// and no fill runs.
    pub fn request_fill(&self, seq: i64) -> AfterPublish {
        let mut o = self.order.lock().unwrap_or_else(|p| p.into_inner());
        if seq <= o.published || o.filling {
            return AfterPublish::Done;
        }
        o.filling = true;
        AfterPublish::Fill(o.published)
    }

    /// Counts a viewer in (called under the hub's room-map lock).
    pub fn viewer_joined(&self) {
        self.viewers.fetch_add(1, Ordering::Relaxed);
        self.presence_dirty.store(true, Ordering::Relaxed);
    }

    /// Counts a viewer out.
    pub fn viewer_left(&self) {
        self.viewers.fetch_sub(1, Ordering::Relaxed);
        self.presence_dirty.store(true, Ordering::Relaxed);
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::Relaxed)
    }

    /// A connection signed in as `pseudonym`; true when that bidder was not
    /// signed in on any other connection (a new bidder in the room).
    pub fn bidder_joined(&self, pseudonym: &str) -> bool {
        let mut b = self.bidders.lock().unwrap_or_else(|p| p.into_inner());
        let n = b.entry(pseudonym.to_string()).or_insert(0);
        *n += 1;
        self.presence_dirty.store(true, Ordering::Relaxed);
        *n == 1
    }

    /// A signed-in connection closed.
    pub fn bidder_left(&self, pseudonym: &str) {
        let mut b = self.bidders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = b.get_mut(pseudonym) {
            *n -= 1;
            if *n == 0 {
                b.remove(pseudonym);
            }
        }
        self.presence_dirty.store(true, Ordering::Relaxed);
    }

    /// Viewers here and the pseudonyms signed in here, sorted.
    pub fn snapshot(&self) -> (usize, Vec<String>) {
        let mut names: Vec<String> = self.bidders.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort_unstable();
        (self.viewers(), names)
    }

    /// Another node's figures changed: the totals must go out again.
    pub fn mark_dirty(&self) {
        self.presence_dirty.store(true, Ordering::Relaxed);
    }

    /// True once after each change of the figures.
    pub fn take_dirty(&self) -> bool {
        self.presence_dirty.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64) -> Event {
        Event {
            tender_id: uuid::Uuid::nil(),
            seq,
            kind: "t".into(),
            at: time::OffsetDateTime::UNIX_EPOCH,
            data: serde_json::Value::Null,
            log_index: seq,
            leaf_hash: String::new(),
        }
    }

    #[test]
    fn publishes_in_order_and_asks_to_fill_gaps() {
        let room = Room::new(2, 16);
        let mut rx = room.subscribe();
        assert_eq!(room.publish(&[ev(2), ev(3)]), AfterPublish::Done);
        assert_eq!(room.publish(&[ev(5)]), AfterPublish::Fill(3));
        assert_eq!(room.publish(&[ev(6)]), AfterPublish::Done, "one fill at a time");
        assert_eq!(room.publish(&[ev(4)]), AfterPublish::Done);
        assert_eq!(room.fill_done(), AfterPublish::Done);
        let seqs: Vec<i64> = std::iter::from_fn(|| rx.try_recv().ok()).map(|f| f.seq).collect();
        assert_eq!(seqs, [3, 4, 5, 6]);
    }
}
