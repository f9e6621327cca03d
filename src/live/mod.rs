//! The live room: every event of a tender pushed to its viewers over a
//! WebSocket (`GET /api/v1/tenders/{id}/live`), with resume, server time,
//! checkpoints and presence. The protocol is in `docs/LIVE.md`.
//!
//! One [`Hub`] per server holds a [`room::Room`] per watched tender. A
//! committed change reaches [`Hub::publish`]; the room serializes each event
//! once and puts the shared bytes into a broadcast ring. Each connection
//! (`conn.rs`) reads the ring at its own pace and writes to its socket with a
//! timeout, so a slow viewer only ever falls behind in the ring — and is
//! closed when it falls too far — while the publisher never waits for it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{DynStore, Event};

mod config;
mod conn;
pub mod frames;
mod pg;
mod presence;
mod room;
mod sign_in;

pub use config::LiveConfig;
pub(crate) use conn::{Session, run as serve_connection};
use room::{AfterPublish, Room};

/// A restartable background task of the hub: builds the task's future anew
/// for each (re)start.
pub type TaskFactory = Box<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

/// Events read from the store per query when filling a gap.
const FILL_PAGE: i64 = 1000;

/// How often presence counts may go out per room (at most 4 per second).
const PRESENCE_EVERY: Duration = Duration::from_millis(250);

/// The per-server event hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    store: DynStore,
    config: LiveConfig,
    rooms: Mutex<HashMap<Uuid, Arc<Room>>>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Wakes the checkpoint pusher when the log may have grown.
    log_moved: Notify,
    /// Cancelled when the server shuts down: connections close with 1001.
    closing: CancellationToken,
    /// The checkpoint most recently pushed (its size).
    pushed_size: Mutex<i64>,
    /// Keys the pseudonyms of signed-in bidders.
    pseudonyms: sign_in::PseudonymKey,
    /// Turns at reading and encoding a replay page: one per core, so viewers
    /// joining from the start of a long history (or a thousand stalled ones)
    /// cannot take every core from the live delivery of everyone else.
    replays: Semaphore,
    /// The database other nodes announce their events on, if shared.
    postgres: Option<sqlx::PgPool>,
    /// This node, in presence announcements to the others.
    node: Uuid,
    /// The other nodes' presence figures.
    remote: Mutex<presence::Remote>,
    /// What this node last announced, and when it last repeated it all.
    announced: Mutex<Announced>,
    /// Queue of announcements to NOTIFY, sent in order by one task.
    announce_tx: tokio::sync::mpsc::UnboundedSender<Vec<String>>,
    /// Shared, so that a restarted sender task takes up the same queue.
    announce_rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>>>,
}

/// This node's last announced figures per tender.
struct Announced {
    sent: HashMap<Uuid, (usize, Vec<String>)>,
    beat: std::time::Instant,
}

impl Hub {
    /// A hub reading history from `store`; `secret` keys the pseudonyms
    /// under which signed-in bidders appear (keep it stable across restarts
    /// and shared between nodes, so a bidder keeps its pseudonym).
    /// `postgres` (several nodes on one database) makes it listen for the
    /// other nodes' events.
    pub fn new(store: DynStore, config: LiveConfig, secret: &[u8], postgres: Option<sqlx::PgPool>) -> Hub {
        let (announce_tx, announce_rx) = tokio::sync::mpsc::unbounded_channel();
        Hub {
            inner: Arc::new(Inner {
                store,
                config,
                rooms: Mutex::new(HashMap::new()),
                per_ip: Mutex::new(HashMap::new()),
                log_moved: Notify::new(),
                closing: CancellationToken::new(),
                pushed_size: Mutex::new(0),
                pseudonyms: sign_in::PseudonymKey::new(secret),
                replays: Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())),
                postgres,
                node: Uuid::new_v4(),
                remote: Mutex::new(presence::Remote::default()),
                announced: Mutex::new(Announced { sent: HashMap::new(), beat: std::time::Instant::now() }),
                announce_tx,
                announce_rx: Arc::new(tokio::sync::Mutex::new(announce_rx)),
            }),
        }
    }

    /// The store behind the hub.
    pub(crate) fn store(&self) -> &DynStore {
        &self.inner.store
    }

    /// Waits for a turn to read and encode one replay page; the turn ends
    /// when the permit is dropped, before the page is written.
    pub(crate) async fn replay_turn(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed; `None` would only let the page through.
        self.inner.replays.acquire().await.ok()
    }

    /// The room's tunables.
    pub fn config(&self) -> &LiveConfig {
        &self.inner.config
    }

    /// Viewers connected to this node, over all rooms (for metrics).
    pub fn viewers(&self) -> usize {
        self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).values().map(|r| r.viewers()).sum()
    }

    /// A bidder's pseudonym in a tender's room.
    pub(crate) fn pseudonym(&self, tender: Uuid, key_id: &str) -> String {
        self.inner.pseudonyms.pseudonym(tender, key_id)
    }

    /// Cancelled at shutdown.
    pub(crate) fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    /// Hands committed events to the viewers of their tenders, followed by
    /// the checkpoint that covers them. Called after every commit; returns
    /// at once and never waits for a viewer.
    ///
    /// The checkpoint is read first and sent right behind the events, so a
    /// viewer wakes once per change and writes both in one flush (sending
    /// them apart doubled the wake-ups and syscalls per viewer).
    pub fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let hub = self.clone();
        let events = events.to_vec();
        tokio::spawn(async move {
            let checkpoint = hub.newer_checkpoint().await;
            hub.publish_now(&events);
            if let Some(frame) = checkpoint {
                hub.send_to_all(&frame);
            }
        });
    }

    /// Publishes events to their rooms now.
    fn publish_now(&self, events: &[Event]) {
        // One change touches one tender, but do not rely on it.
        let mut start = 0;
        while start < events.len() {
            let tender = events[start].tender_id;
            let end = events[start..].iter().position(|e| e.tender_id != tender).map_or(events.len(), |n| start + n);
            self.publish_tender(tender, &events[start..end]);
            start = end;
        }
    }

    fn publish_tender(&self, tender: Uuid, events: &[Event]) {
        let room = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).get(&tender).cloned();
        if let Some(room) = room
            && let AfterPublish::Fill(after) = room.publish(events)
        {
            self.spawn_fill(tender, room, after);
        }
    }

    /// A committed event this node did not publish itself (another node's, via
    /// the database): read it from the store if anyone here watches it.
    pub fn notice(&self, tender: Uuid, seq: i64) {
        let room = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).get(&tender).cloned();
        if let Some(room) = room
            && let AfterPublish::Fill(after) = room.request_fill(seq)
        {
            self.spawn_fill(tender, room, after);
        }
        self.inner.log_moved.notify_one();
    }

    /// Makes every room re-read the store (after missed notices).
    fn refresh_all(&self) {
        let rooms: Vec<(Uuid, Arc<Room>)> =
            self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect();
        for (tender, room) in rooms {
            if let AfterPublish::Fill(after) = room.request_fill(i64::MAX) {
                self.spawn_fill(tender, room, after);
            }
        }
        self.inner.log_moved.notify_one();
    }

    /// Reads the missing events from the store and publishes them.
    fn spawn_fill(&self, tender: Uuid, room: Arc<Room>, mut after: i64) {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                match hub.inner.store.events(tender, after, FILL_PAGE).await {
                    Ok(events) => {
                        room.publish(&events);
                        hub.inner.log_moved.notify_one();
                        if let (Some(last), true) = (events.last(), events.len() as i64 == FILL_PAGE) {
                            after = last.seq;
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%tender, error = %e, "live room could not read missing events; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                match room.fill_done() {
                    AfterPublish::Done => return,
                    AfterPublish::Fill(next) => after = next,
                }
            }
        });
    }

    /// Joins the room of `tender` (creating it at `last_seq`); the returned
    /// guard counts the viewer out when dropped.
    pub(crate) fn join(&self, tender: Uuid, last_seq: i64) -> Viewer {
        let mut rooms = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let room =
            rooms.entry(tender).or_insert_with(|| Arc::new(Room::new(last_seq, self.inner.config.queue))).clone();
        // Under the map lock, so the pruner never removes a room being joined.
        room.viewer_joined();
        let rx = room.subscribe();
        Viewer { room, rx: Some(rx) }
    }

    /// Takes one of `ip`'s connection slots, if it has one left.
    pub(crate) fn admit(&self, ip: IpAddr) -> Option<IpSlot> {
        let mut per_ip = self.inner.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = per_ip.entry(ip).or_insert(0);
        let max = self.inner.config.max_per_ip;
        if max != 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot { hub: self.clone(), ip })
    }

    /// Sends presence where it changed, forgets rooms nobody watches, and
    /// tells the other nodes (if any) this node's figures.
    fn tick_rooms(&self) {
        let now = std::time::Instant::now();
        let expired = self.inner.remote.lock().unwrap_or_else(|p| p.into_inner()).expire(now);
        let rooms: Vec<(Uuid, Arc<Room>)> = {
            let mut rooms = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner());
            rooms.retain(|_, room| room.viewers() > 0);
            for tender in expired {
                if let Some(room) = rooms.get(&tender) {
                    room.mark_dirty();
                }
            }
            rooms.iter().map(|(k, v)| (*k, v.clone())).collect()
        };
        for (tender, room) in &rooms {
            if room.take_dirty() {
                let t = self.totals(*tender, room);
                room.send(frames::presence(t.viewers, t.bidders));
            }
        }
        if self.inner.postgres.is_some() {
            self.announce(&rooms, now);
        }
    }

    /// A room's figures over every node.
    pub(crate) fn totals(&self, tender: Uuid, room: &Room) -> presence::Totals {
        let (viewers, names) = room.snapshot();
        self.inner.remote.lock().unwrap_or_else(|p| p.into_inner()).totals(tender, viewers, names.iter())
    }

    /// Queues this node's figures for the tenders where they changed (all
    /// of them every heartbeat); a room just emptied is announced as zero.
    fn announce(&self, rooms: &[(Uuid, Arc<Room>)], now: std::time::Instant) {
        let mut st = self.inner.announced.lock().unwrap_or_else(|p| p.into_inner());
        let beat = now.duration_since(st.beat) >= presence::HEARTBEAT;
        if beat {
            st.beat = now;
        }
        let current: HashMap<Uuid, (usize, Vec<String>)> = rooms.iter().map(|(t, r)| (*t, r.snapshot())).collect();
        let node = self.inner.node;
        let mut out: Vec<String> = current
            .iter()
            .filter(|(t, fig)| beat || st.sent.get(t) != Some(fig))
            .map(|(t, (v, names))| presence::Announcement::new(node, *t, *v, names.clone()).payload())
            .collect();
        out.extend(
            st.sent
                .keys()
                .filter(|t| !current.contains_key(t))
                .map(|t| presence::Announcement::new(node, *t, 0, Vec::new()).payload()),
        );
        st.sent = current;
        if !out.is_empty() {
            // The sender task only ends at shutdown.
            let _ = self.inner.announce_tx.send(out);
        }
    }

    /// Another node's presence announcement arrived.
    fn remote_presence(&self, payload: &str) {
        let Some(a) = presence::Announcement::parse(payload) else {
            tracing::warn!(payload, "unexpected presence notification");
            return;
        };
        if a.node == self.inner.node {
            return;
        }
        let tender = a.tender;
        let changed = self.inner.remote.lock().unwrap_or_else(|p| p.into_inner()).take(a, std::time::Instant::now());
        if changed && let Some(room) = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).get(&tender) {
            room.mark_dirty();
        }
    }

    /// Pushes the newest checkpoint to every room if the log grew.
    async fn push_checkpoint(&self) {
        if let Some(frame) = self.newer_checkpoint().await {
            self.send_to_all(&frame);
        }
    }

    /// The newest checkpoint as a frame, if it is newer than the last one
    /// pushed (and it now counts as pushed).
    async fn newer_checkpoint(&self) -> Option<frames::Frame> {
        let cp = match self.inner.store.latest_checkpoint().await {
            Ok(cp) => cp?,
            Err(e) => {
                tracing::warn!(error = %e, "live room could not read the checkpoint");
                return None;
            }
        };
        let mut pushed = self.inner.pushed_size.lock().unwrap_or_else(|p| p.into_inner());
        if cp.size <= *pushed {
            return None;
        }
        *pushed = cp.size;
        Some(frames::checkpoint(&cp.into()))
    }

    /// Sends a frame to every room.
    fn send_to_all(&self, frame: &frames::Frame) {
        let rooms: Vec<Arc<Room>> =
            self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for room in rooms {
            room.send(frame.clone());
        }
    }
}

impl Hub {
    /// The hub's tasks besides [`run`], to be run (and restarted) by the
    /// caller: with several nodes on PostgreSQL, the listener for the other
    /// nodes' events and presence, and the sender of this node's presence.
    pub fn side_tasks(&self, shutdown: &CancellationToken) -> Vec<(&'static str, TaskFactory)> {
        let Some(pool) = self.inner.postgres.clone() else { return Vec::new() };
        let (hub, listen_pool, stop) = (self.clone(), pool.clone(), shutdown.clone());
        let listen: TaskFactory =
            Box::new(move || Box::pin(pg::listen(hub.clone(), listen_pool.clone(), stop.clone())));
        let (rx, stop) = (self.inner.announce_rx.clone(), shutdown.clone());
        let announce: TaskFactory = Box::new(move || Box::pin(pg::announce(pool.clone(), rx.clone(), stop.clone())));
        vec![("live-listener", listen), ("live-presence", announce)]
    }
}

/// The hub's background work — presence, checkpoints, pruning — until
/// `shutdown`; then every connection is told to close.
pub async fn run(hub: Hub, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PRESENCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = hub.inner.log_moved.notified() => hub.push_checkpoint().await,
            _ = tick.tick() => hub.tick_rooms(),
        }
    }
    hub.inner.closing.cancel();
}

/// A viewer's place in a room; counts it out when dropped.
pub(crate) struct Viewer {
    pub room: Arc<Room>,
    pub rx: Option<tokio::sync::broadcast::Receiver<crate::live::frames::Frame>>,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.room.viewer_left();
    }
}

/// One connection slot of a client address; given back when dropped.
pub(crate) struct IpSlot {
    hub: Hub,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut per_ip = self.hub.inner.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}
