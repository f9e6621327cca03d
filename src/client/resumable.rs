//! The resumable upload (`docs/PROTOCOL.md`, "Resumable upload"): open a
//! session with the signed envelope, send each ciphertext in chunks at the
//! server's offset, commit. A broken request or a server error is retried
//! from the offset the server reports, so a cut at 90 % costs one chunk,
//! not the upload.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use uuid::Uuid;

use super::{BidUpload, Client, ClientError, Submitted};
use crate::seal::b64;

/// A session as the server reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct UploadStatus {
    /// The session id.
    pub upload_id: Uuid,
    /// The bid the envelope names.
    pub bid_id: Uuid,
    /// `open`, `complete` or `committed`.
    pub state: String,
    /// Most bytes one request may carry.
    pub max_request_bytes: u64,
    /// Bytes held over all parts.
    pub received: u64,
    /// Bytes declared over all parts.
    pub total: u64,
    /// Part 0 is the form, part i + 1 document i.
    pub parts: Vec<PartStatus>,
}

/// One part as the server reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct PartStatus {
    /// Its number.
    pub part: usize,
    /// Declared length.
    pub length: u64,
    /// Bytes held: the next offset.
    pub received: u64,
    /// All bytes held and verified.
    pub complete: bool,
}

/// How the upload chunks and retries.
#[derive(Debug, Clone)]
pub struct ResumeOptions {
    /// Bytes per request.
    pub chunk: u64,
    /// Failures in a row before giving up.
    pub retries: u32,
    /// First pause after a failure; doubled each time, at most 30 s.
    pub backoff: Duration,
}

impl Default for ResumeOptions {
    fn default() -> Self {
        ResumeOptions { chunk: 8 * 1024 * 1024, retries: 10, backoff: Duration::from_millis(500) }
    }
}

/// What the upload reports as it goes.
#[derive(Debug, Clone)]
pub enum UploadEvent {
    /// Bytes held by the server so far, of the total.
    Progress {
        /// Bytes held.
        done: u64,
        /// Bytes declared.
        total: u64,
    },
    /// A request failed; the upload resumes from the server's offset.
    Retrying {
        /// The failure.
        error: String,
        /// Failures in a row.
        attempt: u32,
    },
}

/// A failure worth retrying: the connection, the server, or a race with
/// our own earlier request.
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Http(_) => true,
        ClientError::Status { status, .. } => status.is_server_error() || *status == StatusCode::BAD_GATEWAY,
        ClientError::Api { status, code, .. } => {
            status.is_server_error() || matches!(code.as_str(), "offset_mismatch" | "part_busy" | "malformed_upload")
        }
        _ => false,
    }
}

impl Client {
    /// `POST /api/v1/tenders/{id}/uploads`: opens (or finds) the session.
    pub async fn create_upload(
        &self,
        tender: Uuid,
        envelope: &[u8],
        signature: &[u8],
    ) -> Result<UploadStatus, ClientError> {
        let body = serde_json::json!({ "envelope": b64(envelope), "signature": b64(signature) });
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/uploads"))?.json(&body);
        Ok(self.send(req).await?.1)
    }

    /// `GET /api/v1/tenders/{id}/uploads/{upload}`.
    pub async fn upload_status(&self, tender: Uuid, upload: Uuid) -> Result<UploadStatus, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{tender}/uploads/{upload}"))?).await?.1)
    }

    /// `PATCH …/parts/{part}` with `Upload-Offset`; returns the bytes held after it.
    pub async fn append_part(
        &self,
        tender: Uuid,
        upload: Uuid,
        part: usize,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<u64, ClientError> {
        let req = self
            .request(Method::PATCH, &format!("api/v1/tenders/{tender}/uploads/{upload}/parts/{part}"))?
            .header("upload-offset", offset)
            .header("content-type", "application/offset+octet-stream")
            .body(bytes);
        let (_, p): (_, PartStatus) = self.send(req).await?;
        Ok(p.received)
    }

    /// `POST …/uploads/{upload}/commit`: the receipt.
    pub async fn commit_upload(&self, tender: Uuid, upload: Uuid) -> Result<Submitted, ClientError> {
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/uploads/{upload}/commit"))?;
        let (status, answer) = self.send(req).await?;
        Ok(Submitted { answer, created: status == StatusCode::CREATED })
    }

    /// Uploads a sealed bid resumably and commits it. Memory stays at one
    /// chunk whatever the documents' size.
    pub async fn upload_bid(
        &self,
        tender: Uuid,
        upload: BidUpload,
        opts: &ResumeOptions,
        on_event: &mut (dyn FnMut(UploadEvent) + Send),
    ) -> Result<Submitted, ClientError> {
        let mut retry = Retry { opts, failures: 0 };
        let status = loop {
            match self.create_upload(tender, &upload.envelope, &upload.signature).await {
                Ok(s) => break s,
                Err(e) => retry.failed(e, on_event).await?,
            }
        };
        let id = status.upload_id;
        if status.state != "committed" {
            let mut sources = vec![Source::Memory(upload.form)];
            sources.extend(upload.documents.into_iter().map(Source::File));
            if sources.len() != status.parts.len() {
                return Err(ClientError::Unexpected("the server lists another number of parts".into()));
            }
            let chunk = opts.chunk.clamp(1, status.max_request_bytes.max(1));
            let mut done = status.received;
            on_event(UploadEvent::Progress { done, total: status.total });
            for (p, source) in status.parts.iter().zip(&sources) {
                let mut offset = p.received;
                let mut complete = p.complete;
                while !complete {
                    let len = chunk.min(p.length - offset);
                    let bytes = source.read(offset, len).await?;
                    match self.append_part(tender, id, p.part, offset, bytes).await {
                        Ok(held) => {
                            retry.failures = 0;
                            done = done - offset + held;
                            offset = held;
                            complete = held == p.length;
                            on_event(UploadEvent::Progress { done, total: status.total });
                        }
                        Err(e) => {
                            retry.failed(e, on_event).await?;
                            // Resume from what the server holds, not what we sent.
                            let now = self.status_retrying(tender, id, &mut retry, on_event).await?;
                            let q =
                                now.parts.get(p.part).ok_or_else(|| ClientError::Unexpected("part vanished".into()))?;
                            done = now.received;
                            offset = q.received;
                            complete = q.complete;
                        }
                    }
                }
            }
        }
        loop {
            match self.commit_upload(tender, id).await {
                Ok(s) => return Ok(s),
                Err(e) => retry.failed(e, on_event).await?,
            }
        }
    }

    async fn status_retrying(
        &self,
        tender: Uuid,
        id: Uuid,
        retry: &mut Retry<'_>,
        on_event: &mut (dyn FnMut(UploadEvent) + Send),
    ) -> Result<UploadStatus, ClientError> {
        loop {
            match self.upload_status(tender, id).await {
                Ok(s) => return Ok(s),
                Err(e) => retry.failed(e, on_event).await?,
            }
        }
    }
}

/// Counts failures in a row and pauses between attempts.
struct Retry<'a> {
    opts: &'a ResumeOptions,
    failures: u32,
}

impl Retry<'_> {
    /// Passes a final error through; for a transient one, waits and returns Ok.
    async fn failed(
        &mut self,
        e: ClientError,
        on_event: &mut (dyn FnMut(UploadEvent) + Send),
    ) -> Result<(), ClientError> {
        self.failures += 1;
        if !transient(&e) || self.failures > self.opts.retries {
            return Err(e);
        }
        on_event(UploadEvent::Retrying { error: e.to_string(), attempt: self.failures });
        let pause = self.opts.backoff.saturating_mul(1 << (self.failures - 1).min(6));
        tokio::time::sleep(pause.min(Duration::from_secs(30))).await;
        Ok(())
    }
}

/// Where a part's bytes come from.
enum Source {
    Memory(Vec<u8>),
    File(PathBuf),
}

impl Source {
    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ClientError> {
        match self {
            Source::Memory(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
                let end = usize::try_from(offset + len).unwrap_or(usize::MAX).min(bytes.len());
                Ok(bytes[start..end].to_vec())
            }
            Source::File(path) => {
                let mut f = tokio::fs::File::open(path).await?;
                f.seek(SeekFrom::Start(offset)).await?;
                let mut buf = Vec::with_capacity(len as usize);
                (&mut f).take(len).read_to_end(&mut buf).await?;
                if (buf.len() as u64) < len {
                    return Err(ClientError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{} is shorter than its sealed length", path.display()),
                    )));
                }
                Ok(buf)
            }
        }
    }
}
