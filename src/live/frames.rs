//! The JSON frames the live room sends, each serialized once into shared
//! bytes that every viewer's socket reuses (a clone is a reference count).

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{Event, StoredCheckpoint};

/// One outgoing message. `seq` is the event's sequence number, 0 for frames
/// that are not events (checkpoints, presence), which are never deduplicated.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Event sequence number, or 0.
    pub seq: i64,
    /// The JSON text, shared.
    pub text: Utf8Bytes,
}

/// Serializes `value`; our frame types cannot fail to serialize, but a
/// failure must not take the server down, so it degrades to an error frame.
fn json(value: &impl Serialize) -> Utf8Bytes {
    match serde_json::to_string(value) {
        Ok(s) => s.into(),
        Err(e) => {
            tracing::error!(error = %e, "live frame does not serialize");
            Utf8Bytes::from_static(r#"{"type":"error","code":"internal"}"#)
        }
    }
}

/// `{"type":"event","event":{…}}`.
pub fn event(e: &Event) -> Frame {
    #[derive(Serialize)]
    struct EventFrame<'a> {
        r#type: &'static str,
        event: &'a Event,
    }
    Frame { seq: e.seq, text: json(&EventFrame { r#type: "event", event: e }) }
}

/// A checkpoint as hello and checkpoint frames show it.
#[derive(Serialize, Clone, Debug)]
pub struct CheckpointView {
    /// The signed note (C2SP tlog-checkpoint).
    pub note: String,
    /// Tree size.
    pub size: i64,
}

impl From<StoredCheckpoint> for CheckpointView {
    fn from(c: StoredCheckpoint) -> Self {
        CheckpointView { note: c.note, size: c.size }
    }
}

/// `{"type":"checkpoint","note":"…","size":n}`.
pub fn checkpoint(c: &CheckpointView) -> Frame {
    #[derive(Serialize)]
    struct CheckpointFrame<'a> {
        r#type: &'static str,
        #[serde(flatten)]
        checkpoint: &'a CheckpointView,
    }
    Frame { seq: 0, text: json(&CheckpointFrame { r#type: "checkpoint", checkpoint: c }) }
}

/// `{"type":"presence","viewers":n,"bidders":m}`.
pub fn presence(viewers: usize, bidders: usize) -> Frame {
    #[derive(Serialize)]
    struct PresenceFrame {
        r#type: &'static str,
        viewers: usize,
        bidders: usize,
    }
    Frame { seq: 0, text: json(&PresenceFrame { r#type: "presence", viewers, bidders }) }
}

/// The tender part of the hello.
#[derive(Serialize, Debug)]
pub struct TenderHead {
    /// Tender id.
    pub id: Uuid,
    /// Its state's wire name.
    pub state: &'static str,
    /// Sequence number of its newest event.
    pub last_seq: i64,
}

/// The first frame of every connection.
#[derive(Serialize, Debug)]
pub struct Hello {
    /// Server time, RFC 3339 with microseconds, for countdowns.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// The same instant in milliseconds since the Unix epoch.
    pub server_unix_ms: i64,
    /// Where the tender stands.
    pub tender: TenderHead,
    /// The newest signed checkpoint of the log, if any.
    pub checkpoint: Option<CheckpointView>,
    /// Random challenge a bidder signs to sign in (base64url, no padding).
    pub nonce: String,
    /// The sequence number replay starts after.
    pub after: i64,
}

/// `{"type":"hello",…}`.
pub fn hello(h: &Hello) -> Utf8Bytes {
    #[derive(Serialize)]
    struct HelloFrame<'a> {
        r#type: &'static str,
        #[serde(flatten)]
        hello: &'a Hello,
    }
    json(&HelloFrame { r#type: "hello", hello: h })
}

/// `{"type":"error","code":"…","message":"…"}` for a refused request that
/// does not end the connection (a failed sign-in).
pub fn error(code: &str, message: &str) -> Utf8Bytes {
    json(&serde_json::json!({"type": "error", "code": code, "message": message}))
}

/// `{"type":"signed_in","bidder":"<pseudonym>"}`, the answer to a sign-in.
pub fn signed_in(pseudonym: &str) -> Utf8Bytes {
    json(&serde_json::json!({"type": "signed_in", "bidder": pseudonym}))
}
