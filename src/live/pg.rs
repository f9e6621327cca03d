//! Several nodes on one PostgreSQL database: events committed by another
//! node reach this node's viewers through LISTEN/NOTIFY. A database trigger
//! (migration `0004_live_notify`) announces `"<tender>:<seq>"` on commit;
//! the listener here only hands the notice to the hub, which reads the
//! events themselves from the store, in order. The nodes also tell each
//! other their viewer and bidder counts (`presence.rs`) on a second channel.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Hub;
use super::presence;

/// The channel the trigger notifies.
const CHANNEL: &str = "bidroom_events";

/// Listens until `shutdown`, reconnecting after failures. After a
/// reconnection, notices sent meanwhile are lost, so every room re-reads
/// the store.
pub(super) async fn listen(hub: Hub, pool: PgPool, shutdown: CancellationToken) {
    loop {
        let mut listener = match connect(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "live room cannot LISTEN; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        hub.refresh_all();
        loop {
            let n = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match n {
                Ok(Some(n)) if n.channel() == presence::CHANNEL => hub.remote_presence(n.payload()),
                Ok(Some(n)) => match parse(n.payload()) {
                    Some((tender, seq)) => hub.notice(tender, seq),
                    None => tracing::warn!(payload = n.payload(), "unexpected live notification"),
                },
                // The connection dropped; notices may have been missed.
                Ok(None) => hub.refresh_all(),
                Err(e) => {
                    tracing::warn!(error = %e, "live LISTEN connection failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen_all([CHANNEL, presence::CHANNEL]).await?;
    Ok(l)
}

/// The queue of presence announcements, shared with restarts of the sender.
type Queue = std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>>>;

/// Sends this node's presence announcements, in the order queued, until
/// `shutdown` (or the hub is dropped). A failed send is logged and dropped:
/// the next heartbeat repeats every figure.
pub(super) async fn announce(pool: PgPool, rx: Queue, shutdown: CancellationToken) {
    let mut rx = rx.lock().await;
    loop {
        let payloads = tokio::select! {
            () = shutdown.cancelled() => return,
            p = rx.recv() => match p {
                Some(p) => p,
                None => return,
            },
        };
        let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(presence::CHANNEL)
            .bind(&payloads)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "presence not announced to the other nodes");
        }
    }
}

/// `"<uuid>:<seq>"`.
fn parse(payload: &str) -> Option<(Uuid, i64)> {
    let (tender, seq) = payload.split_once(':')?;
    Some((Uuid::parse_str(tender).ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_notices() {
        let id = uuid::Uuid::from_u128(7);
        assert_eq!(super::parse(&format!("{id}:12")), Some((id, 12)));
        assert_eq!(super::parse("nonsense"), None);
    }
}
