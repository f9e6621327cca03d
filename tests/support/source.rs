//! A verification source that is the test server with one answer altered:
//! what a dishonest server would show, to see `verify` catch it.

use async_trait::async_trait;
use bidroom::client::{Bidder, Client, Event, FaultShares, PublicBid, Record};
use bidroom::ledger::Hash;
use bidroom::verify::source::Source;
use serde_json::Value;
use uuid::Uuid;

type Edit<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// The server's public data, with the envelopes or the fault shares edited.
pub struct Altered {
    /// The real server.
    pub client: Client,
    /// Applied to the served envelopes.
    pub envelopes: Option<Edit<Vec<PublicBid>>>,
    /// Applied to every served set of fault shares.
    pub fault_shares: Option<Edit<FaultShares>>,
}

impl Altered {
    /// The server behind `base`, nothing altered yet.
    pub fn new(base: &str) -> Altered {
        Altered { client: Client::new(base).expect("client"), envelopes: None, fault_shares: None }
    }
}

#[async_trait]
impl Source for Altered {
    async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), String> {
        Source::events(&self.client, tender).await
    }
    async fn checkpoint(&self) -> Result<String, String> {
        Source::checkpoint(&self.client).await
    }
    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        Source::consistency(&self.client, old, new).await
    }
    async fn log_entry(&self, index: u64) -> Result<Vec<u8>, String> {
        Source::log_entry(&self.client, index).await
    }
    async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, String> {
        Source::inclusion(&self.client, index, size).await
    }
    async fn tender_json(&self, tender: Uuid) -> Result<Value, String> {
        Source::tender_json(&self.client, tender).await
    }
    async fn envelopes(&self, tender: Uuid) -> Result<Vec<PublicBid>, String> {
        let mut served = Source::envelopes(&self.client, tender).await?;
        if let Some(edit) = &self.envelopes {
            edit(&mut served);
        }
        Ok(served)
    }
    async fn record(&self, tender: Uuid) -> Result<Record, String> {
        Source::record(&self.client, tender).await
    }
    async fn bidder(&self, id: &str) -> Result<Bidder, String> {
        Source::bidder(&self.client, id).await
    }
    async fn fault_shares(&self, tender: Uuid, bid: Uuid) -> Result<Option<FaultShares>, String> {
        let mut served = Source::fault_shares(&self.client, tender, bid).await?;
        if let (Some(edit), Some(s)) = (&self.fault_shares, served.as_mut()) {
            edit(s);
        }
        Ok(served)
    }
}
