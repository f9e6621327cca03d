//! Staging files of resumable bid uploads (`docs/PROTOCOL.md`, "Resumable
//! upload"): one directory per upload session under `staging/<tender>/`,
//! holding `session.json` (the signed envelope and what it declares), one
//! `part-<n>` file per ciphertext being received and `part-<n>.ok` once it
//! matched its declared hash. The files themselves are the state: a part's
//! offset is its file's length, so any node sharing the data directory sees
//! the same sessions, and a restart loses nothing that was fsynced.
//!
//! Nothing here is ever served: the HTTP layer reads sessions and offsets,
//! never staged bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use uuid::Uuid;

/// How long a request waits for another request writing the same part (a
/// retry can arrive before the server noticed the old connection broke).
const PART_LOCK_WAIT: Duration = Duration::from_secs(30);

/// A session as stored in `session.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadSession {
    /// The session id: random, the capability naming the session.
    pub id: Uuid,
    /// The tender.
    pub tender_id: Uuid,
    /// The bid the envelope names.
    pub bid_id: Uuid,
    /// Key id of the envelope's signer.
    pub bidder_id: String,
    /// The exact signed envelope bytes, base64url.
    pub envelope: String,
    /// The signature over them, base64url.
    pub signature: String,
    /// Hex SHA-256 of the envelope.
    pub envelope_hash: String,
    /// Server time of creation.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this server time the session and its files are deleted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Part 0 is the form ciphertext, part i + 1 document i.
    pub parts: Vec<PartSpec>,
}

/// What the envelope declares for one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSpec {
    /// Declared ciphertext length in bytes.
    pub length: u64,
    /// Declared SHA-256, hex.
    pub sha256: String,
}

/// Where a part stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartState {
    /// This many bytes are held (fsynced unless the server just crashed).
    Receiving(u64),
    /// All bytes held and their hash matched the envelope.
    Complete,
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// The request's offset is not the number of bytes held.
    #[error("offset mismatch: the server holds {held} bytes of this part")]
    OffsetMismatch {
        /// Bytes held.
        held: u64,
    },
    /// More bytes than the envelope declares for the part.
    #[error("more bytes than the envelope declares for this part")]
    BeyondDeclared,
    /// More bytes than one request may carry.
    #[error("more bytes than one request may carry")]
    RequestTooLarge,
    /// Another request is writing this part.
    #[error("another request is writing this part")]
    Busy,
    /// The complete part does not hash to the declared value; it was discarded.
    #[error("the part does not match the envelope's hash; it was discarded")]
    HashMismatch,
    /// The request body broke off; what arrived is kept.
    #[error("the request body was cut off: {0}")]
    CutOff(String),
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Running SHA-256 of a part's first `at` bytes, kept between requests so
/// completing a part does not re-read it (unless the server restarted).
type Hashing = Option<(u64, ring::digest::Context)>;

/// One lock (and running hash) per part being written on this node.
type PartLocks = Arc<Mutex<HashMap<(Uuid, usize), Arc<tokio::sync::Mutex<Hashing>>>>>;

/// The staging directory.
#[derive(Clone)]
pub struct Staging {
    root: PathBuf,
    ttl: Duration,
    parts: PartLocks,
}

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staging").field("root", &self.root).field("ttl", &self.ttl).finish()
    }
}

impl Staging {
    /// Opens (creating) `data_dir/staging`; sessions live `ttl` long.
    pub fn open(data_dir: &Path, ttl: Duration) -> std::io::Result<Self> {
        let root = data_dir.join("staging");
        std::fs::create_dir_all(&root)?;
        Ok(Staging { root, ttl, parts: Arc::default() })
    }

    /// How long a session lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn dir(&self, tender: Uuid, id: Uuid) -> PathBuf {
        self.root.join(tender.to_string()).join(id.to_string())
    }

    fn part_path(&self, s: &UploadSession, n: usize) -> PathBuf {
        self.dir(s.tender_id, s.id).join(format!("part-{n}"))
    }

    /// The verified file of a complete part.
    pub fn verified_path(&self, s: &UploadSession, n: usize) -> PathBuf {
        self.dir(s.tender_id, s.id).join(format!("part-{n}.ok"))
    }

    /// Stores a new session durably (written aside, then renamed into place).
    pub async fn create(&self, s: &UploadSession) -> std::io::Result<()> {
        let tender_dir = self.root.join(s.tender_id.to_string());
        tokio::fs::create_dir_all(&tender_dir).await?;
        let tmp = tender_dir.join(format!(".new-{}", s.id));
        tokio::fs::create_dir_all(&tmp).await?;
        let json = serde_json::to_vec(s).map_err(std::io::Error::other)?;
        let mut f = tokio::fs::File::create(tmp.join("session.json")).await?;
        f.write_all(&json).await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, self.dir(s.tender_id, s.id)).await?;
        sync_dir(&tender_dir).await
    }

    /// A session by id, if it exists under this tender.
    pub async fn load(&self, tender: Uuid, id: Uuid) -> std::io::Result<Option<UploadSession>> {
        read_session(&self.dir(tender, id).join("session.json")).await
    }

    /// Every session of a tender (expired ones included until swept).
    pub async fn sessions(&self, tender: Uuid) -> std::io::Result<Vec<UploadSession>> {
        let mut out = Vec::new();
        let mut dir = match tokio::fs::read_dir(self.root.join(tender.to_string())).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        while let Some(entry) = dir.next_entry().await? {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if let Some(s) = read_session(&entry.path().join("session.json")).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Where part `n` stands.
    pub async fn part_state(&self, s: &UploadSession, n: usize) -> std::io::Result<PartState> {
        if tokio::fs::try_exists(self.verified_path(s, n)).await? {
            return Ok(PartState::Complete);
        }
        match tokio::fs::metadata(self.part_path(s, n)).await {
            Ok(m) => Ok(PartState::Receiving(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PartState::Receiving(0)),
            Err(e) => Err(e),
        }
    }

    /// The bid this session was committed as, if it was.
    pub async fn committed(&self, s: &UploadSession) -> std::io::Result<Option<Uuid>> {
        match tokio::fs::read_to_string(self.dir(s.tender_id, s.id).join("committed")).await {
            Ok(text) => Ok(text.trim().parse().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Marks the session committed and deletes its part files (the blob
    /// store holds the bytes now).
    pub async fn mark_committed(&self, s: &UploadSession, bid: Uuid) -> std::io::Result<()> {
        let dir = self.dir(s.tender_id, s.id);
        let mut f = tokio::fs::File::create(dir.join("committed")).await?;
        f.write_all(bid.to_string().as_bytes()).await?;
        f.sync_all().await?;
        for n in 0..s.parts.len() {
            for path in [self.part_path(s, n), self.verified_path(s, n)] {
                remove_file_if_any(&path).await?;
            }
        }
        self.forget(s.id);
        Ok(())
    }

    /// Appends `body` to part `n` at `offset`, which must equal the bytes
    /// held. Writes are fsynced before the answer, also when the body
    /// breaks off. When the part is complete its hash is checked against
    /// the envelope: a match makes it `part-<n>.ok`, a mismatch deletes it.
    pub async fn append<S, E>(
        &self,
        s: &UploadSession,
        n: usize,
        offset: u64,
        body: S,
        max_request: u64,
    ) -> Result<PartState, StagingError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let spec = s.parts.get(n).ok_or_else(|| std::io::Error::other("no such part"))?;
        let lock = self.part_lock(s.id, n);
        let mut hashing = tokio::time::timeout(PART_LOCK_WAIT, lock.lock()).await.map_err(|_| StagingError::Busy)?;
        if tokio::fs::try_exists(self.verified_path(s, n)).await? {
            return if offset == spec.length { Ok(PartState::Complete) } else { Err(held(spec.length)) };
        }
        let path = self.part_path(s, n);
        let std_file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        // Another node sharing the directory may be writing this part.
        std_file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => StagingError::Busy,
            std::fs::TryLockError::Error(e) => StagingError::Io(e),
        })?;
        let mut len = std_file.metadata()?.len();
        if offset != len {
            return Err(held(len));
        }
        let mut ctx = match hashing.take() {
            Some((at, ctx)) if at == len => Some(ctx),
            _ if len == 0 => Some(ring::digest::Context::new(&ring::digest::SHA256)),
            _ => None,
        };
        let mut file = BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(std_file));
        let mut body = body;
        let mut taken = 0u64;
        let mut outcome = Ok(());
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    outcome = Err(StagingError::CutOff(e.to_string()));
                    break;
                }
            };
            taken += chunk.len() as u64;
            if taken > max_request {
                outcome = Err(StagingError::RequestTooLarge);
                break;
            }
            if len + chunk.len() as u64 > spec.length {
                outcome = Err(StagingError::BeyondDeclared);
                break;
            }
            file.write_all(&chunk).await?;
            if let Some(c) = ctx.as_mut() {
                c.update(&chunk);
            }
            len += chunk.len() as u64;
        }
        // Whatever arrived is kept and made durable: the client resumes from it.
        file.flush().await?;
        let file = file.into_inner();
        file.sync_data().await?;
        drop(file);
        if len < spec.length || outcome.is_err() {
            *hashing = ctx.map(|c| (len, c));
            outcome?;
            return Ok(PartState::Receiving(len));
        }
        let digest = match ctx {
            Some(c) => c.finish(),
            None => hash_file(&path).await?,
        };
        if hex::encode(digest.as_ref()) != spec.sha256 {
            tokio::fs::remove_file(&path).await?;
            return Err(StagingError::HashMismatch);
        }
        tokio::fs::rename(&path, self.verified_path(s, n)).await?;
        sync_dir(&self.dir(s.tender_id, s.id)).await?;
        Ok(PartState::Complete)
    }

    fn part_lock(&self, id: Uuid, n: usize) -> Arc<tokio::sync::Mutex<Hashing>> {
        let mut map = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((id, n)).or_default().clone()
    }

    /// The lock serialising commits of one session on this node.
    pub fn commit_lock(&self, id: Uuid) -> Arc<tokio::sync::Mutex<impl Sized>> {
        self.part_lock(id, usize::MAX)
    }

    fn forget(&self, id: Uuid) {
        let mut map = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(u, _), _| *u != id);
    }

    /// Deletes a session and its files.
    pub async fn remove(&self, s: &UploadSession) -> std::io::Result<()> {
        self.forget(s.id);
        match tokio::fs::remove_dir_all(self.dir(s.tender_id, s.id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes every session expired at `now`, and leftovers of session
    /// creations that never finished; returns how many sessions went.
    pub async fn sweep(&self, now: OffsetDateTime) -> std::io::Result<usize> {
        let mut removed = 0;
        let mut tenders = tokio::fs::read_dir(&self.root).await?;
        while let Some(t) = tenders.next_entry().await? {
            let Ok(tender) = t.file_name().to_string_lossy().parse::<Uuid>() else { continue };
            let mut dir = tokio::fs::read_dir(t.path()).await?;
            while let Some(entry) = dir.next_entry().await? {
                let path = entry.path();
                let session = read_session(&path.join("session.json")).await.ok().flatten();
                let stale = match &session {
                    Some(s) => s.expires_at <= now,
                    // Half-created: only once clearly abandoned.
                    None => entry.metadata().await?.modified()?.elapsed().unwrap_or_default() > Duration::from_secs(60),
                };
                if stale {
                    if let Some(s) = &session {
                        self.forget(s.id);
                    }
                    tokio::fs::remove_dir_all(&path).await?;
                    removed += 1;
                }
            }
            // An empty tender directory goes too (a new session recreates it).
            let _ = tokio::fs::remove_dir(self.root.join(tender.to_string())).await;
        }
        Ok(removed)
    }
}

fn held(held: u64) -> StagingError {
    StagingError::OffsetMismatch { held }
}

async fn read_session(path: &Path) -> std::io::Result<Option<UploadSession>> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn remove_file_if_any(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

/// SHA-256 of a whole file (after a restart lost the running hash).
async fn hash_file(path: &Path) -> std::io::Result<ring::digest::Digest> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok(ctx.finish());
        }
        ctx.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(parts: &[&[u8]]) -> UploadSession {
        let now = OffsetDateTime::now_utc();
        UploadSession {
            id: Uuid::new_v4(),
            tender_id: Uuid::new_v4(),
            bid_id: Uuid::new_v4(),
            bidder_id: "b".into(),
            envelope: String::new(),
            signature: String::new(),
            envelope_hash: String::new(),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
            parts: parts
                .iter()
                .map(|p| PartSpec {
                    length: p.len() as u64,
                    sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, p)),
                })
                .collect(),
        }
    }

    fn body(chunks: &[&[u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures_util::stream::iter(chunks.iter().map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn appends_resume_at_the_held_offset_and_check_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let st = Staging::open(dir.path(), Duration::from_secs(60)).unwrap();
        let s = session(&[b"hello world"]);
        st.create(&s).await.unwrap();
        assert_eq!(st.append(&s, 0, 0, body(&[b"hello"]), 100).await.unwrap(), PartState::Receiving(5));
        assert!(matches!(st.append(&s, 0, 3, body(&[b"x"]), 100).await, Err(StagingError::OffsetMismatch { held: 5 })));
        // A cut-off body keeps what arrived.
        let cut = futures_util::stream::iter(vec![Ok(Bytes::from_static(b" wo")), Err("reset".to_string())]);
        assert!(matches!(st.append(&s, 0, 5, cut, 100).await, Err(StagingError::CutOff(_))));
        assert_eq!(st.part_state(&s, 0).await.unwrap(), PartState::Receiving(8));
        // A fresh Staging (as after a restart) re-hashes the file.
        let again = Staging::open(dir.path(), Duration::from_secs(60)).unwrap();
        assert!(matches!(again.append(&s, 0, 8, body(&[b"rld!"]), 100).await, Err(StagingError::BeyondDeclared)));
        assert_eq!(again.append(&s, 0, 8, body(&[b"rld"]), 100).await.unwrap(), PartState::Complete);
        assert_eq!(again.part_state(&s, 0).await.unwrap(), PartState::Complete);
        assert_eq!(std::fs::read(again.verified_path(&s, 0)).unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn a_wrong_part_is_discarded_and_expired_sessions_swept() {
        let dir = tempfile::tempdir().unwrap();
        let st = Staging::open(dir.path(), Duration::from_secs(60)).unwrap();
        let s = session(&[b"abc"]);
        st.create(&s).await.unwrap();
        assert!(matches!(st.append(&s, 0, 0, body(&[b"abd"]), 100).await, Err(StagingError::HashMismatch)));
        assert_eq!(st.part_state(&s, 0).await.unwrap(), PartState::Receiving(0));
        assert!(matches!(st.append(&s, 0, 0, body(&[b"ab", b"c"]), 2).await, Err(StagingError::RequestTooLarge)));
        assert_eq!(st.sessions(s.tender_id).await.unwrap().len(), 1);
        assert_eq!(st.sweep(s.expires_at - time::Duration::seconds(1)).await.unwrap(), 0);
        assert_eq!(st.sweep(s.expires_at).await.unwrap(), 1);
        assert!(st.load(s.tender_id, s.id).await.unwrap().is_none());
        assert_eq!(std::fs::read_dir(dir.path().join("staging")).unwrap().count(), 0);
    }
}
