//! A small typed HTTP client for the bidroom API, used by the CLI (and by
//! tests). One method per endpoint; error answers become
//! [`ClientError::Api`] with the server's stable code and message.
//!
//! Nothing here holds secrets: callers sign with their own keys and hand
//! over the signatures (the signed statements are
//! [`crate::seal::register_message`] and [`crate::seal::withdraw_message`]).

mod bidder_keys;
mod error;
mod fault_shares;
mod objections;
mod opening;
mod resumable;
mod types;
mod upload;

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use bidder_keys::{BidderReleaseAnswer, BidderReleaseRequest, DecryptionKey, DecryptionKeyRequest};
pub use error::ClientError;
pub use fault_shares::{FaultShare, FaultShares};
pub use opening::{ChallengeProof, EnvelopePage, Event, PublicBid, Record, ReleaseResult, ReleaseShare};
pub use resumable::{PartStatus, ResumeOptions, UploadEvent, UploadStatus};
pub use types::{BidEnded, BidList, BidReceipt, Bidder, ErrorBody, RegisterRequest, Tender};
pub use upload::BidUpload;

use crate::ledger::Hash;
use crate::seal::CustodyPolicy;
use types::ProofBody;

/// A connection to one bidroom server.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
}

/// The outcome of a submission: the receipt, and whether the server stored
/// a new bid (201) or recognised a retry of one it already had (200).
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The bid id and its receipt.
    pub answer: BidReceipt,
    /// `false` when the identical envelope had already been received.
    pub created: bool,
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let mut base = Url::parse(base).map_err(|e| ClientError::InvalidUrl(format!("{base}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::InvalidUrl(format!("{base}: not an http(s) URL")));
        }
        // Paths are joined relative to the base, which must end with '/'.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        // No overall timeout: a document upload may legitimately take hours.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!("bidroom-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client { base, http })
    }

    /// The server's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        let url = self.base.join(path.trim_start_matches('/')).map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        Ok(self.http.request(method, url))
    }

    /// Sends and decodes a JSON answer, turning error bodies into errors.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<(StatusCode, T), ClientError> {
        let resp = req.send().await?;
        let status = resp.status();
        let url = resp.url().path().to_owned();
        let body = resp.bytes().await?;
        if !status.is_success() {
            return Err(ClientError::from_response(status, &body));
        }
        let value = serde_json::from_slice(&body)
            .map_err(|e| ClientError::Unexpected(format!("{url}: answer is not the expected JSON: {e}")))?;
        Ok((status, value))
    }

    async fn send_text(&self, req: RequestBuilder) -> Result<String, ClientError> {
        let resp = req.send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() {
            return Err(ClientError::from_response(status, &body));
        }
        String::from_utf8(body.to_vec()).map_err(|_| ClientError::Unexpected("text answer is not UTF-8".into()))
    }

    /// `POST /api/v1/bidders`: register (or re-register) an identity key.
    pub async fn register_bidder(&self, body: &RegisterRequest) -> Result<(Bidder, bool), ClientError> {
        let (status, bidder) = self.send(self.request(Method::POST, "api/v1/bidders")?.json(body)).await?;
        Ok((bidder, status == StatusCode::CREATED))
    }

    /// `GET /api/v1/tenders/{id}`.
    pub async fn tender(&self, id: Uuid) -> Result<Tender, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{id}"))?).await?.1)
    }

    /// `GET /api/v1/tenders/{id}/custody`: the custodians' keys bids are sealed to.
    pub async fn custody(&self, id: Uuid) -> Result<CustodyPolicy, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{id}/custody"))?).await?.1)
    }

    /// `POST /api/v1/tenders/{id}/bids`: stream a sealed bid to the server.
    pub async fn submit_bid(&self, tender: Uuid, upload: BidUpload) -> Result<Submitted, ClientError> {
        let form = upload.into_form().await?;
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/bids"))?.multipart(form);
        let (status, answer) = self.send(req).await?;
        Ok(Submitted { answer, created: status == StatusCode::CREATED })
    }

    /// `POST /api/v1/tenders/{id}/bids/{bid}/withdraw` with a signature over
    /// [`crate::seal::withdraw_message`].
    pub async fn withdraw_bid(&self, tender: Uuid, bid: Uuid, signature: &[u8]) -> Result<BidReceipt, ClientError> {
        let body = serde_json::json!({ "signature": crate::seal::b64(signature) });
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/bids/{bid}/withdraw"))?.json(&body);
        Ok(self.send(req).await?.1)
    }

    /// `GET /api/v1/tenders/{id}/bids`: the count and envelope hashes.
    pub async fn bids(&self, tender: Uuid) -> Result<BidList, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{tender}/bids"))?).await?.1)
    }

    /// `GET /log/key`: the log's verifier key (signed-note form).
    pub async fn log_key(&self) -> Result<String, ClientError> {
        Ok(self.send_text(self.request(Method::GET, "log/key")?).await?.trim().to_owned())
    }

    /// `GET /log/checkpoint`: the latest signed checkpoint note.
    pub async fn checkpoint(&self) -> Result<String, ClientError> {
        self.send_text(self.request(Method::GET, "log/checkpoint")?).await
    }

    /// `GET /api/v1/log/consistency?old=&new=`.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, ClientError> {
        let req = self.request(Method::GET, "api/v1/log/consistency")?.query(&[("old", old), ("new", new)]);
        let (_, body): (_, ProofBody) = self.send(req).await?;
        body.hashes().ok_or_else(|| ClientError::Unexpected("consistency proof hash is not 32 bytes of hex".into()))
    }

    /// `GET /api/v1/log/inclusion?index=&size=`.
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, ClientError> {
        let req = self.request(Method::GET, "api/v1/log/inclusion")?.query(&[("index", index), ("size", size)]);
        let (_, body): (_, ProofBody) = self.send(req).await?;
        body.hashes().ok_or_else(|| ClientError::Unexpected("inclusion proof hash is not 32 bytes of hex".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_keep_their_path() {
        let c = Client::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            c.request(Method::GET, "/log/key").unwrap().build().unwrap().url().as_str(),
            "http://127.0.0.1:8080/log/key"
        );
        let c = Client::new("https://bids.example.org/bidroom").unwrap();
        let req = c.request(Method::GET, "api/v1/tenders").unwrap().build().unwrap();
        assert_eq!(req.url().as_str(), "https://bids.example.org/bidroom/api/v1/tenders");
        assert!(Client::new("ftp://example.org").is_err());
        assert!(Client::new("not a url").is_err());
    }
}
