//! One viewer's connection: hello, replay from the store, then live frames
//! from the room's ring, with coalesced writes under a write timeout, pings,
//! and refusal of anything a viewer should not send.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::{Instant, timeout};
use uuid::Uuid;

use super::frames::{self, Frame};
use super::room::Room;
use super::sign_in::{self, SignIn, SignInError};
use super::{Hub, IpSlot};

/// Bytes of encoded replay frames one viewer holds at a time. Replay is
/// paced by the socket: the next page is read only once the previous one is
/// written, so a viewer that stops reading holds at most this much (plus
/// the socket's write buffer) however long the tender's history is.
const REPLAY_BUDGET: usize = 16 * 1024;
/// Events in the first replay page, before their size is known.
const REPLAY_FIRST_PAGE: usize = 16;
/// Bounds of a replay page (events), whatever their size.
const REPLAY_MIN_PAGE: usize = 2;
const REPLAY_MAX_PAGE: usize = 500;
/// Most frames gathered into one flush.
const MAX_BATCH: usize = 64;
/// Largest message a viewer may send (a sign-in is a few hundred bytes).
/// The socket library's limit is set higher, so a larger message is read and
/// answered with 1008 here, as docs/LIVE.md says.
const MAX_MESSAGE: usize = 2048;

/// Failed sign-ins a connection may make before it is closed.
const MAX_FAILED_SIGN_INS: u32 = 3;
/// How long the peer's close reply is waited for once our close frame is
/// out; reading meanwhile empties the receive queue, so dropping the socket
/// then ends it with a FIN behind the close frame rather than a reset that
/// could destroy it.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);

/// Close codes (RFC 6455 §7.4 and the application range).
mod code {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const INTERNAL: u16 = 1011;
    /// Too slow: fell behind or could not be written to in time; resume.
    pub const TOO_SLOW: u16 = 4000;
}

/// What the handler learned before the upgrade.
pub(crate) struct Session {
    pub hub: Hub,
    pub tender: Uuid,
    /// The tender's last sequence number when the hello was made.
    pub last_seq: i64,
    /// Replay starts after this sequence number.
    pub after: i64,
    /// The sign-in challenge sent in the hello.
    pub nonce: [u8; 32],
    /// The client address's connection slot, held for the connection's life.
    pub slot: IpSlot,
}

/// Why a connection ends.
enum End {
    /// The peer went away or the socket failed: nothing more to send.
    Gone,
    /// Close with this code and reason.
    Close(u16, String),
}

impl From<axum::Error> for End {
    fn from(_: axum::Error) -> Self {
        End::Gone
    }
}

fn too_slow(last: i64) -> End {
    End::Close(code::TOO_SLOW, format!("too slow, resume from seq {last}"))
}

/// Serves one viewer until it leaves, misbehaves, falls behind, or the server
/// shuts down.
pub(crate) async fn run(mut ws: WebSocket, session: Session, hello: Utf8Bytes) {
    let Session { hub, tender, last_seq, after, nonce, slot } = session;
    let viewer = hub.join(tender, last_seq);
    let mut last = after;
    let end = serve(&mut ws, &hub, tender, viewer, hello, &nonce, &mut last).await;
    let why = match &end {
        End::Gone => "gone",
        End::Close(code::TOO_SLOW, _) => "too_slow",
        End::Close(code::POLICY, _) => "policy",
        End::Close(code::GOING_AWAY, _) => "going_away",
        End::Close(_, _) => "internal",
    };
    metrics::counter!("bidroom_live_disconnects_total", "reason" => why).increment(1);
    if let End::Close(code, reason) = end {
        close(&mut ws, code, reason, hub.config().close_timeout()).await;
    }
    drop(slot);
}

/// Sends a close frame and waits briefly for the reply.
///
/// The frame goes out behind whatever the socket's write buffer still holds
/// (at most one coalesced batch), so a slow reader gets it once it has read
/// that far; `grace` is how long it has to make that room. A peer that
/// reads nothing at all never gets it: the socket is then just dropped
/// (the client sees 1006) after `grace`.
async fn close(ws: &mut WebSocket, code: u16, reason: String, grace: Duration) {
    let frame = CloseFrame { code, reason: reason.into() };
    match timeout(grace, ws.send(Message::Close(Some(frame)))).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => return,
    }
    let _ = timeout(CLOSE_REPLY_WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn serve(
    ws: &mut WebSocket,
    hub: &Hub,
    tender: Uuid,
    mut viewer: super::Viewer,
    hello: Utf8Bytes,
    nonce: &[u8; 32],
    last: &mut i64,
) -> End {
    let cfg = hub.config();
    let wt = cfg.write_timeout();
    // Subscribed (in `join`) before the replay reads the store, so nothing
    // committed meanwhile can fall between the two; duplicates are skipped.
    let Some(mut rx) = viewer.rx.take() else { return End::Close(code::INTERNAL, "no subscription".into()) };
    match timeout(wt, ws.send(Message::Text(hello))).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return End::Gone,
        Err(_) => return too_slow(*last),
    }
    if let Err(end) = replay(ws, hub, tender, last, wt).await {
        return end;
    }
    let ping_every = cfg.ping_interval();
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut heard = true;
    let mut bidder = Bidder { room: viewer.room.clone(), pseudonym: None, failures: 0 };
    // Made once: a fresh `cancelled()` per turn would lock the token's
    // waiter list on every frame of every viewer.
    let closing = hub.closing().cancelled();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            biased;
            () = &mut closing => return End::Close(code::GOING_AWAY, "server shutting down".into()),
            r = rx.recv() => {
                let first = match r {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(_)) => return too_slow(*last),
                    Err(broadcast::error::RecvError::Closed) => return End::Close(code::GOING_AWAY, "room closed".into()),
                };
                match timeout(wt, deliver(ws, hub, tender, first, &mut rx, last)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(end)) => return end,
                    Err(_) => return too_slow(*last),
                }
            }
            m = ws.next() => {
                heard = true;
                match m {
                    // Past even the library's limit the read fails, but
                    // the socket can still be written: close it properly.
                    Some(Err(e)) if e.to_string().contains("Space limit exceeded") => {
                        return End::Close(code::POLICY, format!("message too large (at most {MAX_MESSAGE} bytes)"));
                    }
                    None | Some(Err(_)) => return End::Gone,
                    Some(Ok(Message::Pong(_))) => {}
                    // The library queued the pong (or the close reply); send it.
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Close(_))) => {
                        match timeout(wt, ws.flush()).await {
                            Ok(Ok(())) => {}
                            _ => return End::Gone,
                        }
                    }
                    Some(Ok(Message::Text(text))) if text.len() > MAX_MESSAGE => {
                        return End::Close(code::POLICY, format!("message too large (at most {MAX_MESSAGE} bytes)"));
                    }
                    Some(Ok(Message::Text(text))) => {
                        let Some(req) = SignIn::parse(&text) else {
                            return End::Close(code::POLICY, "viewers only read; only a sign-in may be sent".into());
                        };
                        let reply = bidder.sign_in(hub, tender, nonce, &req).await;
                        if bidder.failures > MAX_FAILED_SIGN_INS {
                            return End::Close(code::POLICY, "too many failed sign-ins".into());
                        }
                        match timeout(wt, ws.send(Message::Text(reply))).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return End::Gone,
                            Err(_) => return too_slow(*last),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        return End::Close(code::POLICY, "viewers only read".into());
                    }
                }
            }
            _ = ping.tick() => {
                if !heard {
                    // Two intervals without a word: a dead peer, or one so
                    // far behind in reading that our ping has not reached
                    // it. The latter can still take a close frame.
                    return too_slow(*last);
                }
                heard = false;
                match timeout(wt, ws.send(Message::Ping(Default::default()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return End::Gone,
                    Err(_) => return too_slow(*last),
                }
            }
        }
    }
}

/// Sends every stored event after `last`, page by page, each page read from
/// the store only once the previous one is written.
///
/// A page is encoded into frames at once and the events dropped, and its
/// size follows the frames' size so that a page is about [`REPLAY_BUDGET`]
/// bytes: what a stalled viewer holds is bounded by that, not by the
/// history (a fixed page of 500 events held 1.3–2.8 MiB per stalled viewer
/// for the whole write timeout).
async fn replay(ws: &mut WebSocket, hub: &Hub, tender: Uuid, last: &mut i64, wt: Duration) -> Result<(), End> {
    let mut page = REPLAY_FIRST_PAGE;
    loop {
        let turn = hub.replay_turn().await;
        let events = hub.store().events(tender, *last, page as i64).await.map_err(|e| {
            tracing::warn!(%tender, error = %e, "live replay failed");
            End::Close(code::INTERNAL, format!("store unavailable, resume from seq {last}"))
        })?;
        let full = events.len() == page;
        let batch: Vec<Frame> = events.iter().map(frames::event).collect();
        drop(events);
        page = next_page(&batch);
        // Writing waits on the viewer's socket, not on a core: no turn held.
        drop(turn);
        let write = async {
            // Each frame is copied into the socket's buffer and dropped as
            // it goes, so the page's bytes shrink while it is written.
            for f in batch {
                ws.feed(Message::Text(f.text)).await?;
                metrics::counter!("bidroom_live_frames_sent_total").increment(1);
                *last = f.seq;
            }
            ws.flush().await
        };
        match timeout(wt, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(End::Gone),
            Err(_) => return Err(too_slow(*last)),
        }
        if !full {
            return Ok(());
        }
    }
}

/// How many events the next replay page may hold, from the size of the
/// frames just read: about [`REPLAY_BUDGET`] bytes of them.
fn next_page(batch: &[Frame]) -> usize {
    let bytes: usize = batch.iter().map(|f| f.text.len()).sum();
    if batch.is_empty() || bytes == 0 {
        return REPLAY_FIRST_PAGE;
    }
    let average = bytes.div_ceil(batch.len());
    (REPLAY_BUDGET / average).clamp(REPLAY_MIN_PAGE, REPLAY_MAX_PAGE)
}

/// Writes `first` and whatever else is already queued, then flushes once.
/// Event frames go out strictly by sequence number: already-sent ones are
/// skipped, and a gap (possible only in races the room repairs) is filled
/// from the store.
async fn deliver(
    ws: &mut WebSocket,
    hub: &Hub,
    tender: Uuid,
    first: Frame,
    rx: &mut broadcast::Receiver<Frame>,
    last: &mut i64,
) -> Result<(), End> {
    let mut frame = first;
    let mut batch = 0;
    loop {
        if frame.seq > *last + 1 {
            fill_gap(ws, hub, tender, last, frame.seq).await?;
        }
        if frame.seq == 0 || frame.seq == *last + 1 {
            ws.feed(Message::Text(frame.text)).await?;
            metrics::counter!("bidroom_live_frames_sent_total").increment(1);
            if frame.seq > 0 {
                *last = frame.seq;
            }
        }
        batch += 1;
        if batch >= MAX_BATCH {
            break;
        }
        frame = match rx.try_recv() {
            Ok(f) => f,
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(_)) => return Err(too_slow(*last)),
            Err(TryRecvError::Closed) => return Err(End::Close(code::GOING_AWAY, "room closed".into())),
        };
    }
    ws.flush().await?;
    Ok(())
}

/// Feeds the stored events after `last` up to `upto - 1`.
async fn fill_gap(ws: &mut WebSocket, hub: &Hub, tender: Uuid, last: &mut i64, upto: i64) -> Result<(), End> {
    let events = hub.store().events(tender, *last, upto - 1 - *last).await.map_err(|e| {
        tracing::warn!(%tender, error = %e, "live gap fill failed");
        End::Close(code::INTERNAL, format!("store unavailable, resume from seq {last}"))
    })?;
    for e in &events {
        if e.seq == *last + 1 {
            ws.feed(Message::Text(frames::event(e).text)).await?;
            metrics::counter!("bidroom_live_frames_sent_total").increment(1);
            *last = e.seq;
        }
    }
    if *last + 1 != upto {
        return Err(End::Close(code::INTERNAL, format!("events missing, resume from seq {last}")));
    }
    Ok(())
}

/// A connection's sign-in state; counts the bidder out of the room when the
/// connection ends.
struct Bidder {
    room: std::sync::Arc<Room>,
    pseudonym: Option<String>,
    failures: u32,
}

impl Bidder {
    /// Handles a sign-in request; returns the reply frame.
    async fn sign_in(&mut self, hub: &Hub, tender: Uuid, nonce: &[u8; 32], req: &SignIn) -> Utf8Bytes {
        if self.pseudonym.is_some() {
            return frames::error("already_signed_in", "this connection is signed in already");
        }
        let pseudonym = match sign_in::verify(hub, tender, nonce, req).await {
            Ok(p) => p,
            Err(e) => {
                if matches!(e, SignInError::Refused) {
                    self.failures += 1;
                }
                return frames::error("sign_in_refused", &e.to_string());
            }
        };
        let first = self.room.bidder_joined(&pseudonym);
        self.pseudonym = Some(pseudonym.clone());
        // Only a bidder new to the room is an event; its other tabs are not.
        if first && let Err(e) = sign_in::record(hub, tender, &pseudonym, hub.totals(tender, &self.room).bidders).await
        {
            return frames::error("sign_in_not_recorded", &e.to_string());
        }
        frames::signed_in(&pseudonym)
    }
}

impl Drop for Bidder {
    fn drop(&mut self) {
        if let Some(p) = &self.pseudonym {
            self.room.bidder_left(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(n: usize, len: usize) -> Vec<Frame> {
        (0..n).map(|i| Frame { seq: i as i64 + 1, text: "x".repeat(len).into() }).collect()
    }

    #[test]
    fn replay_pages_follow_the_frames_size() {
        // Small events: many to a page, up to the cap.
        assert_eq!(next_page(&frames_of(16, 10)), REPLAY_MAX_PAGE);
        // About the budget's worth of 1 KiB frames.
        assert_eq!(next_page(&frames_of(16, 1024)), REPLAY_BUDGET / 1024);
        // Huge events: still a few per page, never none.
        assert_eq!(next_page(&frames_of(2, 1 << 20)), REPLAY_MIN_PAGE);
        assert_eq!(next_page(&[]), REPLAY_FIRST_PAGE);
        // Whatever the size, a page's bytes stay near the budget.
        for len in [200, 700, 3000, 9000] {
            let n = next_page(&frames_of(8, len));
            assert!(n * len <= REPLAY_BUDGET.max(REPLAY_MIN_PAGE * len), "{n} × {len}");
        }
    }
}
