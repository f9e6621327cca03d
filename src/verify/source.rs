//! Where verification reads public data from: a live server over HTTP
//! ([`Client`]) or an evidence bundle on disk ([`super::bundle::Bundle`]).
//! The checks are the same either way; only the reads differ.

use async_trait::async_trait;
use uuid::Uuid;

use crate::client::{Bidder, Client, Event, FaultShares, PublicBid, Record};
use crate::ledger::Hash;

/// The public reads verification needs. Errors are sentences for the
/// report ("not in the bundle", the server's answer…).
#[async_trait]
pub trait Source: Sync {
    /// The tender's events in sequence order, and its last sequence number.
    async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), String>;
    /// The latest checkpoint note.
    async fn checkpoint(&self) -> Result<String, String>;
    /// A consistency proof from tree size `old` to `new`.
    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String>;
    /// The exact bytes of log entry `index`.
    async fn log_entry(&self, index: u64) -> Result<Vec<u8>, String>;
    /// An inclusion proof of entry `index` in the tree of `size`.
    async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, String>;
    /// The terms as served, every field kept.
    async fn tender_json(&self, tender: Uuid) -> Result<serde_json::Value, String>;
    /// The envelopes made public at the opening.
    async fn envelopes(&self, tender: Uuid) -> Result<Vec<PublicBid>, String>;
    /// The opening record.
    async fn record(&self, tender: Uuid) -> Result<Record, String>;
    /// A bidder's registration.
    async fn bidder(&self, id: &str) -> Result<Bidder, String>;
    /// The sealed final record (`GET …/record/final`); `Ok(None)` when the
    /// source has none.
    async fn final_record(&self, _tender: Uuid) -> Result<Option<serde_json::Value>, String> {
        Ok(None)
    }
    /// The shares proving a bidder's fault for `bid` (`Ok(None)`: the
    /// source says they are not public). Sources without them say so.
    async fn fault_shares(&self, _tender: Uuid, _bid: Uuid) -> Result<Option<FaultShares>, String> {
        Err("this source does not hold released shares".into())
    }
    /// Earlier signed checkpoints the source holds, each to be checked
    /// against the latest (a live server keeps none to offer).
    fn earlier_checkpoints(&self) -> Vec<String> {
        Vec::new()
    }
}

#[async_trait]
impl Source for Client {
    async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), String> {
        Client::events(self, tender).await.map_err(|e| e.to_string())
    }
    async fn checkpoint(&self) -> Result<String, String> {
        Client::checkpoint(self).await.map_err(|e| e.to_string())
    }
    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        Client::consistency(self, old, new).await.map_err(|e| e.to_string())
    }
    async fn log_entry(&self, index: u64) -> Result<Vec<u8>, String> {
        Client::log_entry(self, index).await.map_err(|e| e.to_string())
    }
    async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, String> {
        Client::inclusion(self, index, size).await.map_err(|e| e.to_string())
    }
    async fn tender_json(&self, tender: Uuid) -> Result<serde_json::Value, String> {
        Client::tender_json(self, tender).await.map_err(|e| e.to_string())
    }
    async fn envelopes(&self, tender: Uuid) -> Result<Vec<PublicBid>, String> {
        Client::envelopes(self, tender).await.map_err(|e| e.to_string())
    }
    async fn record(&self, tender: Uuid) -> Result<Record, String> {
        Client::record(self, tender).await.map_err(|e| e.to_string())
    }
    async fn bidder(&self, id: &str) -> Result<Bidder, String> {
        Client::bidder(self, id).await.map_err(|e| e.to_string())
    }
    async fn final_record(&self, tender: Uuid) -> Result<Option<serde_json::Value>, String> {
        Client::final_record(self, tender).await.map(Some).map_err(|e| e.to_string())
    }
    async fn fault_shares(&self, tender: Uuid, bid: Uuid) -> Result<Option<FaultShares>, String> {
        Client::fault_shares(self, tender, bid).await.map_err(|e| e.to_string())
    }
}
