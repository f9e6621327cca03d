//! A verification source that is the test server with one answer altered:
//! what a dishonest server would show, to see `verify` catch it.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bidroom::client::{Bidder, Client, Event, FaultShares, PublicBid, Record};
use bidroom::domain::event::{EventPayload, encode_entry};
use bidroom::ledger::{Hash, leaf_hash};
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
    /// Applied to the tender's events; each event it changes is served
    /// with a log entry (and leaf hash) that says the same, as a server
    /// that logged the lie would (its inclusion proof then fails, as it
    /// must: the checkpoints were signed over the true entries).
    pub events: Option<Edit<Vec<Event>>>,
    /// The rewritten entries, by log index.
    entries: Mutex<HashMap<u64, Vec<u8>>>,
}

impl Altered {
    /// The server behind `base`, nothing altered yet.
    pub fn new(base: &str) -> Altered {
        Altered {
            client: Client::new(base).expect("client"),
            envelopes: None,
            fault_shares: None,
            events: None,
            entries: Mutex::default(),
        }
    }
}

#[async_trait]
impl Source for Altered {
    async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), String> {
        let (mut served, last) = Source::events(&self.client, tender).await?;
        let Some(edit) = &self.events else { return Ok((served, last)) };
        let before: HashMap<u64, Value> = served.iter().map(|e| (e.log_index, e.data.clone())).collect();
        edit(&mut served);
        for e in served.iter_mut().filter(|e| before.get(&e.log_index) != Some(&e.data)) {
            let payload = EventPayload::from_data(&e.kind, e.data.clone()).map_err(|e| e.to_string())?;
            let at = time::OffsetDateTime::parse(&e.at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| e.to_string())?;
            let entry = encode_entry(tender, e.seq, at, &payload).map_err(|e| e.to_string())?;
            e.leaf_hash = hex::encode(leaf_hash(&entry));
            self.entries.lock().expect("entries").insert(e.log_index, entry);
        }
        Ok((served, last))
    }
    async fn checkpoint(&self) -> Result<String, String> {
        Source::checkpoint(&self.client).await
    }
    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        Source::consistency(&self.client, old, new).await
    }
    async fn log_entry(&self, index: u64) -> Result<Vec<u8>, String> {
        if let Some(entry) = self.entries.lock().expect("entries").get(&index) {
            return Ok(entry.clone());
        }
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
