//! Objections, confirmations and the final record, from the bidder's and
//! the verifier's side.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Client, ClientError};
use crate::domain::objection::{confirm_message, objection_message};
use crate::seal::{BidderKey, b64};

impl Client {
    /// `GET /api/v1/tenders/{id}/record/final`: the sealed final record as served.
    pub async fn final_record(&self, tender: Uuid) -> Result<Value, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{tender}/record/final"))?).await?.1)
    }

    /// Raises an objection signed with `key` at `signed_at` (Unix seconds).
    pub async fn raise_objection(
        &self,
        tender: Uuid,
        key: &BidderKey,
        text: &str,
        on_record: bool,
        signed_at: i64,
    ) -> Result<Value, ClientError> {
        let sig = key
            .sign(&objection_message(tender, text, signed_at))
            .map_err(|e| ClientError::Unexpected(format!("cannot sign: {e}")))?;
        let body = json!({
            "bidder": key.public_key().key_id(), "text": text, "on_record": on_record,
            "signed_at": signed_at, "signature": b64(&sig),
        });
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/objections"))?.json(&body);
        Ok(self.send(req).await?.1)
    }

    /// Confirms the record whose hash is `record_hash` (hex), signed with `key`.
    pub async fn confirm_record(
        &self,
        tender: Uuid,
        key: &BidderKey,
        record_hash: &[u8; 32],
        signed_at: i64,
    ) -> Result<Value, ClientError> {
        let sig = key
            .sign(&confirm_message(tender, record_hash, signed_at))
            .map_err(|e| ClientError::Unexpected(format!("cannot sign: {e}")))?;
        let body = json!({
            "bidder": key.public_key().key_id(), "record_hash": hex::encode(record_hash),
            "signed_at": signed_at, "signature": b64(&sig),
        });
        let req = self.request(Method::POST, &format!("api/v1/tenders/{tender}/record/confirm"))?.json(&body);
        Ok(self.send(req).await?.1)
    }
}
