//! `GET …/bids/{bid}/shares`: the shares proving a bidder's fault.

use reqwest::Method;
use serde::Deserialize;
use uuid::Uuid;

use super::{Client, ClientError};

/// One released share, as served.
#[derive(Debug, Clone, Deserialize)]
pub struct FaultShare {
    /// The custodian's index (the share's x).
    pub index: u8,
    /// The custodian's id.
    pub custodian: String,
    /// The 33-byte share, base64url.
    pub share: String,
}

/// The released shares of a bid rejected by its bidder's fault.
#[derive(Debug, Clone, Deserialize)]
pub struct FaultShares {
    /// The bid.
    pub bid_id: Uuid,
    /// SHA-256 of its envelope, hex.
    pub envelope_hash: String,
    /// Every good share released for it.
    pub shares: Vec<FaultShare>,
}

impl Client {
    /// The shares proving the bidder's fault for `bid`; `Ok(None)` when the
    /// server says they are not public (`409 shares_not_public`).
    pub async fn fault_shares(&self, tender: Uuid, bid: Uuid) -> Result<Option<FaultShares>, ClientError> {
        let path = format!("api/v1/tenders/{tender}/bids/{bid}/shares");
        match self.send(self.request(Method::GET, &path)?).await {
            Ok((_, shares)) => Ok(Some(shares)),
            Err(ClientError::Api { code, .. }) if code == "shares_not_public" => Ok(None),
            Err(e) => Err(e),
        }
    }
}
