//! Bidder-held custody: registering a bidder's decryption key and the
//! bidder's release of its own share (the statements it signs are
//! [`crate::seal::decryption_key_message`] and
//! [`crate::seal::bidder_release_message`]).

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Client, ClientError};

/// Body of `PUT /api/v1/bidders/{id}/decryption-key`.
#[derive(Debug, Clone, Serialize)]
pub struct DecryptionKeyRequest {
    /// The HPKE P-256 public key, base64url.
    pub public_key: String,
    /// The key it replaces, base64url (`None` for the first).
    pub previous: Option<String>,
    /// The bidder key's signature over the statement, base64url.
    pub signature: String,
}

/// A bidder's registered decryption key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DecryptionKey {
    /// The bidder's key id.
    pub bidder_id: String,
    /// The HPKE public key, base64url.
    pub public_key: String,
    /// The binding signature, base64url.
    pub signature: String,
    /// Registered at (server clock).
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

/// Body of `POST /api/v1/tenders/{id}/bids/{bid}/bidder-release`.
#[derive(Debug, Clone, Serialize)]
pub struct BidderReleaseRequest {
    /// The 33-byte share, base64url.
    pub share: String,
    /// Unix seconds the statement was signed at.
    pub signed_at: i64,
    /// The bidder key's signature over the statement, base64url.
    pub signature: String,
}

/// What the server made of a bidder's release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BidderReleaseAnswer {
    /// Did the share match its commitment?
    pub good: bool,
    /// The share's index.
    pub index: u8,
    /// Log index of the `bidder.released` event.
    pub log_index: i64,
}

impl Client {
    /// `PUT /api/v1/bidders/{id}/decryption-key`; true when something changed.
    pub async fn register_decryption_key(
        &self,
        bidder: &str,
        body: &DecryptionKeyRequest,
    ) -> Result<(DecryptionKey, bool), ClientError> {
        let req = self.request(Method::PUT, &format!("api/v1/bidders/{bidder}/decryption-key"))?.json(body);
        let (status, key) = self.send(req).await?;
        Ok((key, status == StatusCode::CREATED))
    }

    /// `GET /api/v1/bidders/{id}/decryption-key`.
    pub async fn decryption_key(&self, bidder: &str) -> Result<DecryptionKey, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/bidders/{bidder}/decryption-key"))?).await?.1)
    }

    /// `POST /api/v1/tenders/{id}/bids/{bid}/bidder-release`.
    pub async fn bidder_release(
        &self,
        tender: Uuid,
        bid: Uuid,
        body: &BidderReleaseRequest,
    ) -> Result<BidderReleaseAnswer, ClientError> {
        let path = format!("api/v1/tenders/{tender}/bids/{bid}/bidder-release");
        Ok(self.send(self.request(Method::POST, &path)?.json(body)).await?.1)
    }
}
