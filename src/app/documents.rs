//! Document access for evaluators after the opening: the names of a bid's
//! documents, a document decrypted as it streams (every download a logged
//! event), and the one-minute signed links the browser follows. A plain
//! link cannot carry the staff token, and fetching a document into page
//! memory does not scale to large files, so an evaluator asks for a link:
//! an HMAC-signed claim (tender, bid, document, staff account, expiry) that
//! the browser follows to stream the document straight to disk. Following it
//! runs every check of a download again and is logged like any other.

use bytes::Bytes;
use futures_util::Stream;
use ring::hmac;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::opening::opening_or_later;
use super::state::AppState;
use super::tenders::visible_tender;
use super::work::load_envelope;
use crate::domain::event::{Digest, DocumentsAccessed, EventPayload, StaffRef};
use crate::domain::{EventDraft, Role};
use crate::seal::{
    BidKey, Envelope, Manifest, ManifestEntry, Share, StreamDecryptor, b64, open_manifest, rebuild_key, unb64,
};
use crate::store::{Staff, StoredBid};

/// How long a link stays valid: long enough to click, short enough that a
/// link copied out of the browser is useless soon.
pub const LINK_TTL: time::Duration = time::Duration::seconds(60);

/// Domain label under which the link key is derived from the server secret.
const LABEL: &[u8] = b"bidroom/v1/download-link";

/// The server's link-signing key (derived from a secret in the data
/// directory, so every node of a deployment accepts every node's links).
#[derive(Clone)]
pub struct DownloadKey(hmac::Key);

/// What a link grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    /// Tender.
    t: Uuid,
    /// Bid.
    b: Uuid,
    /// Document index.
    i: u32,
    /// Staff account.
    s: Uuid,
    /// Expiry, Unix seconds.
    e: i64,
}

impl DownloadKey {
    /// The key for `secret`: HMAC-SHA256(secret, label).
    pub fn derive(secret: &[u8]) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), LABEL);
        DownloadKey(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    /// `base64url(claims JSON) "." base64url(HMAC)`.
    fn sign(&self, claims: &Claims) -> AppResult<String> {
        let payload = serde_json::to_vec(claims).map_err(AppError::internal)?;
        Ok(format!("{}.{}", b64(&payload), b64(hmac::sign(&self.0, &payload).as_ref())))
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let (payload, tag) = token.split_once('.')?;
        let (payload, tag) = (unb64(payload).ok()?, unb64(tag).ok()?);
        hmac::verify(&self.0, &payload, &tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// A download link.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DownloadLink {
    /// Path to follow (no credentials needed) before `expires_at`.
    pub url: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

fn require_evaluator(role: Role) -> AppResult<()> {
    if matches!(role, Role::Evaluator | Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden("only evaluators read bid documents"))
    }
}

/// Rebuilds a bid's key from its released shares.
async fn bid_key(state: &AppState, tender: Uuid, bid: Uuid) -> AppResult<(Envelope, BidKey, StoredBid)> {
    let bid =
        state.store.get_bid(bid).await?.filter(|b| b.tender_id == tender).ok_or_else(|| AppError::not_found("bid"))?;
    let shares: Vec<Share> = state
        .store
        .shares_of(bid.id)
        .await?
        .iter()
        .filter(|s| s.good)
        .filter_map(|s| Share::from_bytes(&s.share).ok())
        .collect();
    let envelope = load_envelope(state, &bid).await.map_err(AppError::internal)?;
    let key = rebuild_key(&envelope, &shares).map_err(|_| {
        AppError::new(ErrorKind::Conflict, "not_opened", "this bid was not opened; its documents stay sealed")
    })?;
    Ok((envelope, key, bid))
}

/// The names of a bid's documents (evaluators, after the opening).
pub async fn manifest(state: &AppState, me: &Staff, id: Uuid, bid: Uuid) -> AppResult<Manifest> {
    require_evaluator(me.role)?;
    opening_or_later(visible_tender(state, id, Some(me)).await?.tender.state)?;
    let (envelope, key, _) = bid_key(state, id, bid).await?;
    open_manifest(&envelope, &key).map_err(AppError::internal)
}

/// A document an evaluator may read: its envelope, key, bid and manifest entry.
struct Readable {
    envelope: Envelope,
    key: BidKey,
    stored: StoredBid,
    entry: ManifestEntry,
}

/// Every check a download makes: evaluator, opened tender, opened bid,
/// existing document.
async fn readable(state: &AppState, me: &Staff, id: Uuid, bid: Uuid, index: u32) -> AppResult<Readable> {
    require_evaluator(me.role)?;
    opening_or_later(visible_tender(state, id, Some(me)).await?.tender.state)?;
    let (envelope, key, stored) = bid_key(state, id, bid).await?;
    let manifest = open_manifest(&envelope, &key).map_err(AppError::internal)?;
    let entry = usize::try_from(index).ok().and_then(|i| manifest.documents.get(i));
    let entry = entry.ok_or_else(|| AppError::not_found("document"))?.clone();
    Ok(Readable { envelope, key, stored, entry })
}

/// A document being downloaded: its plaintext stream and how to name it.
pub struct Download {
    /// The plaintext, decrypted as the file is read.
    pub body: Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Unpin>,
    /// The media type the bidder declared.
    pub media_type: String,
    /// The bidder's file name.
    pub name: String,
}

/// Logs the download (a `documents.accessed` event naming `me`) and opens
/// the document's decrypting stream, in constant memory.
pub async fn open_document(state: &AppState, me: &Staff, id: Uuid, bid: Uuid, index: u32) -> AppResult<Download> {
    let Readable { envelope, key, stored, entry } = readable(state, me, id, bid, index).await?;
    let blob = usize::try_from(index).ok().and_then(|i| i.checked_add(2)).and_then(|i| stored.blobs.get(i));
    let blob = blob.ok_or_else(|| AppError::not_found("document"))?;
    let decryptor = crate::seal::document_decryptor(&envelope, &key, index).map_err(AppError::internal)?;
    // A document below 64 KiB is a database row, a larger one a file.
    let small = state.store.small_ciphertexts(std::slice::from_ref(blob)).await?.remove(blob);
    let file: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match small {
        Some(bytes) => Box::new(std::io::Cursor::new(bytes)),
        None => Box::new(tokio::fs::File::open(state.blobs.path(blob)).await.map_err(AppError::internal)?),
    };
    let envelope_hash = Digest::from_hex(&stored.envelope_hash)
        .map_err(|e| AppError::internal(format!("stored envelope hash: {e}")))?;
    let draft = EventDraft::of(EventPayload::DocumentsAccessed(DocumentsAccessed {
        envelope_hash,
        document: index,
        by: StaffRef { staff: me.id, name: me.name.clone() },
    }));
    let event = state.store.append_tender_event(id, draft).await?;
    state.after_change(std::slice::from_ref(&event));
    let body = Box::new(Box::pin(decrypting_stream(file, decryptor)));
    Ok(Download { body, media_type: entry.media_type, name: entry.name })
}

/// Issues a one-minute link to a document this evaluator may read now.
pub async fn create_link(state: &AppState, me: &Staff, id: Uuid, bid: Uuid, index: u32) -> AppResult<DownloadLink> {
    readable(state, me, id, bid, index).await?;
    let expires_at = state.store.now().await? + LINK_TTL;
    let claims = Claims { t: id, b: bid, i: index, s: me.id, e: expires_at.unix_timestamp() };
    let url = format!("/api/v1/downloads/{}", state.downloads.sign(&claims)?);
    Ok(DownloadLink { url, expires_at })
}

/// Follows a download link: checks it, then opens the document (its
/// index and stream) as the evaluator who asked for it would get it (and
/// logs the download).
pub async fn follow_link(state: &AppState, token: &str) -> AppResult<(u32, Download)> {
    let claims = state.downloads.verify(token).ok_or_else(|| {
        AppError::new(ErrorKind::Forbidden, "bad_link", "this download link is not valid; ask for a new one")
    })?;
    if state.store.now().await?.unix_timestamp() > claims.e {
        return Err(AppError::new(
            ErrorKind::Gone,
            "link_expired",
            "this download link has expired; ask for a new one",
        ));
    }
    // The account is looked up again: its role now, not when the link was made.
    let me = state
        .store
        .list_staff()
        .await?
        .into_iter()
        .find(|s| s.id == claims.s)
        .ok_or_else(|| AppError::forbidden("the account this link was made for no longer exists"))?;
    Ok((claims.i, open_document(state, &me, claims.t, claims.b, claims.i).await?))
}

/// Read size; one 64 KiB segment plus its tag fits.
const CHUNK: usize = 64 * 1024 + 16;

/// Decrypts `file` as it is read. A tampered or truncated file ends the
/// stream with an error, so the client never receives a silent partial file.
pub fn decrypting_stream<R: tokio::io::AsyncRead + Unpin>(
    file: R,
    decryptor: StreamDecryptor,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(Some((file, decryptor)), |st| async move {
        let (mut file, mut dec) = st?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Some((Err(e), None)),
            };
            if n == 0 {
                return match dec.finish() {
                    Ok(rest) if rest.is_empty() => None,
                    Ok(rest) => Some((Ok(Bytes::from(rest)), None)),
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
                };
            }
            match dec.push(&buf[..n]) {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Some((Ok(Bytes::from(out)), Some((file, dec)))),
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_unaltered() {
        let key = DownloadKey::derive(b"secret");
        let claims = Claims { t: Uuid::nil(), b: Uuid::max(), i: 3, s: Uuid::nil(), e: 1_800_000_000 };
        let token = key.sign(&claims).unwrap();
        assert_eq!(key.verify(&token), Some(claims.clone()));
        assert_eq!(DownloadKey::derive(b"other").verify(&token), None);
        let (payload, tag) = token.split_once('.').unwrap();
        let mut forged = claims;
        forged.i = 4;
        let forged_payload = b64(&serde_json::to_vec(&forged).unwrap());
        assert_eq!(key.verify(&format!("{forged_payload}.{tag}")), None);
        assert_eq!(key.verify(payload), None);
        assert_eq!(key.verify("not.a-token"), None);
    }
}
