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

/// Events read from the store per query while replaying.
const REPLAY_PAGE: i64 = 500;
/// Most frames gathered into one flush.
const MAX_BATCH: usize = 64;
/// Failed sign-ins a connection may make before it is closed.
const MAX_FAILED_SIGN_INS: u32 = 3;
/// How long a closing handshake may take before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

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
    if let End::Close(code, reason) = end {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = timeout(CLOSE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
    }
    drop(slot);
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
                    None | Some(Err(_)) => return End::Gone,
                    Some(Ok(Message::Pong(_))) => {}
                    // The library queued the pong (or the close reply); send it.
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Close(_))) => {
                        match timeout(wt, ws.flush()).await {
                            Ok(Ok(())) => {}
                            _ => return End::Gone,
                        }
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
                    // Two intervals without a word: a dead peer.
                    return End::Gone;
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

/// Sends every stored event after `last`, page by page.
async fn replay(ws: &mut WebSocket, hub: &Hub, tender: Uuid, last: &mut i64, wt: Duration) -> Result<(), End> {
    loop {
        let events = hub.store().events(tender, *last, REPLAY_PAGE).await.map_err(|e| {
            tracing::warn!(%tender, error = %e, "live replay failed");
            End::Close(code::INTERNAL, format!("store unavailable, resume from seq {last}"))
        })?;
        let full = events.len() as i64 == REPLAY_PAGE;
        let write = async {
            for e in &events {
                ws.feed(Message::Text(frames::event(e).text)).await?;
                *last = e.seq;
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
