//! The client side of the opening and of public verification: events, log
//! entries, the envelopes made public at the opening, custodian releases
//! and the opening record.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Client, ClientError};
use crate::seal::{ChallengePurpose, CustodianSecretKey, answer_challenge, b64, challenge_info, unb64};

/// One public event of a tender, as `/events` serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The tender.
    pub tender_id: Uuid,
    /// Position in the tender's stream, from 1.
    pub seq: i64,
    /// Event type, e.g. `bid.opened`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Server time, RFC 3339.
    pub at: String,
    /// Details.
    pub data: serde_json::Value,
    /// Index of its log entry.
    pub log_index: u64,
    /// RFC 6962 leaf hash of that entry, hex.
    pub leaf_hash: String,
}

/// A page of `/events`.
#[derive(Debug, Clone, Deserialize)]
struct EventPage {
    events: Vec<Event>,
    last_seq: i64,
}

/// A page of `/envelopes/page`.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopePage {
    /// The bids of this page, in order of receipt.
    pub bids: Vec<PublicBid>,
    /// The cursor of the next page; none on the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// One bid's public material from the opening on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicBid {
    /// Bid id.
    pub bid_id: Uuid,
    /// SHA-256 of the envelope as the server names it, hex.
    pub envelope_hash: String,
    /// The exact envelope bytes, base64url.
    pub envelope: String,
    /// The bidder's signature, base64url.
    pub signature: String,
    /// The form ciphertext, base64url.
    pub form: String,
    /// Log index of its `bid.received` event.
    pub log_index: u64,
}

/// `GET /api/v1/log/entries/{i}`.
#[derive(Debug, Clone, Deserialize)]
struct EntryView {
    entry: String,
}

/// One share a custodian releases.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseShare {
    /// The bid.
    pub bid_id: Uuid,
    /// The 33-byte share, base64url.
    pub share: String,
}

/// A challenge as served.
#[derive(Debug, Clone, Deserialize)]
struct ChallengeView {
    challenge_id: Uuid,
    enc: String,
    ciphertext: String,
}

/// An answered challenge: proof that the caller holds a custodian's key.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengeProof {
    /// The challenge answered.
    pub challenge_id: Uuid,
    /// The nonce it sealed, base64url.
    pub response: String,
}

/// What the server made of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseResult {
    /// Shares that matched their commitments.
    pub accepted: usize,
    /// Envelope hashes of bids whose share did not match.
    pub bad: Vec<String>,
    /// Shares ignored: released before by this custodian, twice in the
    /// request, or for a bid no longer waiting for shares.
    pub duplicates: usize,
}

/// The opening record (开标记录表) as served.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Tender state.
    pub state: String,
    /// Final?
    pub complete: bool,
    /// One row per bid: its outcome event's data, `status`, `log_index`.
    pub rows: Vec<serde_json::Value>,
    /// Bids still waiting for an outcome.
    pub pending: usize,
    /// Staff warnings.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Client {
    /// `GET /api/v1/tenders/{id}/events`, every page, in sequence order.
    /// Returns the events and the tender's last sequence number.
    pub async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), ClientError> {
        let mut all: Vec<Event> = Vec::new();
        loop {
            let after = all.last().map_or(0, |e| e.seq);
            let req = self
                .request(Method::GET, &format!("api/v1/tenders/{tender}/events"))?
                .query(&[("after", after), ("limit", 1000)]);
            let (_, page): (_, EventPage) = self.send(req).await?;
            let done = page.events.is_empty() || page.events.last().is_some_and(|e| e.seq >= page.last_seq);
            let last_seq = page.last_seq;
            if page.events.iter().any(|e| e.seq <= after) {
                return Err(ClientError::Unexpected("the event pages go backwards".into()));
            }
            all.extend(page.events);
            if done {
                return Ok((all, last_seq));
            }
        }
    }

    /// `GET /api/v1/log/entries/{index}`: the exact entry bytes.
    pub async fn log_entry(&self, index: u64) -> Result<Vec<u8>, ClientError> {
        use base64::Engine;
        let (_, view): (_, EntryView) =
            self.send(self.request(Method::GET, &format!("api/v1/log/entries/{index}"))?).await?;
        base64::engine::general_purpose::STANDARD
            .decode(view.entry.as_bytes())
            .map_err(|_| ClientError::Unexpected(format!("log entry {index} is not base64")))
    }

    /// Every public bid (from the opening on), read a page at a time.
    pub async fn envelopes(&self, tender: Uuid) -> Result<Vec<PublicBid>, ClientError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let mut page = self.envelope_page(tender, cursor.as_deref(), None).await?;
            out.append(&mut page.bids);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// `GET /api/v1/tenders/{id}/envelopes/page`: one page of the public
    /// bids after `cursor` (a page's `next`), at most `limit` (server
    /// default without).
    pub async fn envelope_page(
        &self,
        tender: Uuid,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<EnvelopePage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        let req = self.request(Method::GET, &format!("api/v1/tenders/{tender}/envelopes/page"))?.query(&query);
        Ok(self.send(req).await?.1)
    }

    /// Proves possession of a custodian's key: fetches a challenge
    /// (`POST /api/v1/custodians/{id}/challenges`) and opens it with `key`.
    pub async fn prove_custodian(
        &self,
        custodian: &str,
        key: &CustodianSecretKey,
        purpose: ChallengePurpose,
        tender: Option<Uuid>,
    ) -> Result<ChallengeProof, ClientError> {
        let body = serde_json::json!({ "purpose": purpose, "tender": tender });
        let req = self.request(Method::POST, &format!("api/v1/custodians/{custodian}/challenges"))?.json(&body);
        let (_, ch): (_, ChallengeView) = self.send(req).await?;
        let unb = |s: &str| unb64(s).map_err(|_| ClientError::Unexpected("the challenge is not base64url".into()));
        let (enc, ct) = (unb(&ch.enc)?, unb(&ch.ciphertext)?);
        let nonce = answer_challenge(key, &challenge_info(custodian, purpose, tender), &enc, &ct).ok_or_else(|| {
            ClientError::Unexpected("the challenge does not open with this key: it is not the registered one".into())
        })?;
        Ok(ChallengeProof { challenge_id: ch.challenge_id, response: b64(&nonce) })
    }

    /// `POST /api/v1/custodians/{id}/token`: the custodian's new release
    /// token (the old one stops working), proven with its key.
    pub async fn rotate_release_token(&self, custodian: &str, key: &CustodianSecretKey) -> Result<String, ClientError> {
        let proof = self.prove_custodian(custodian, key, ChallengePurpose::Rotate, None).await?;
        let req = self.request(Method::POST, &format!("api/v1/custodians/{custodian}/token"))?.json(&proof);
        let (_, v): (_, serde_json::Value) = self.send(req).await?;
        v["release_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Unexpected("no release token in the answer".into()))
    }

    /// `POST /api/v1/tenders/{id}/opening/release` with a custodian's token
    /// and a proof of its key (from [`Client::prove_custodian`], purpose `release`).
    pub async fn release(
        &self,
        tender: Uuid,
        token: &str,
        proof: &ChallengeProof,
        shares: Vec<ReleaseShare>,
    ) -> Result<ReleaseResult, ClientError> {
        // Serialized straight from the shares: a `serde_json::Value` of a
        // page of 8,000 shares held about 5 MiB more than the body.
        #[derive(Serialize)]
        struct Body<'a> {
            shares: &'a [ReleaseShare],
            proof: &'a ChallengeProof,
        }
        let body = Body { shares: &shares, proof };
        let req = self
            .request(Method::POST, &format!("api/v1/tenders/{tender}/opening/release"))?
            .bearer_auth(token)
            .json(&body);
        Ok(self.send(req).await?.1)
    }

    /// `GET /api/v1/tenders/{id}/record`.
    pub async fn record(&self, tender: Uuid) -> Result<Record, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{tender}/record"))?).await?.1)
    }

    /// `GET /api/v1/tenders/{id}` as served, every field kept, for comparing
    /// the served terms with the logged ones.
    pub async fn tender_json(&self, tender: Uuid) -> Result<serde_json::Value, ClientError> {
        Ok(self.send(self.request(Method::GET, &format!("api/v1/tenders/{tender}"))?).await?.1)
    }

    /// `GET /api/v1/tenders/{id}/evidence`: the evidence bundle's bytes.
    pub async fn evidence(&self, tender: Uuid) -> Result<Vec<u8>, ClientError> {
        let resp = self.request(Method::GET, &format!("api/v1/tenders/{tender}/evidence"))?.send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() {
            return Err(ClientError::from_response(status, &body));
        }
        Ok(body.to_vec())
    }

    /// `GET /api/v1/bidders/{id}`: a bidder's registration as served.
    pub async fn bidder(&self, id: &str) -> Result<super::Bidder, ClientError> {
        let path =
            format!("api/v1/bidders/{}", url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
        Ok(self.send(self.request(Method::GET, &path)?).await?.1)
    }

    /// `GET /api/v1/time`: the server clock, RFC 3339.
    pub async fn server_time(&self) -> Result<time::OffsetDateTime, ClientError> {
        let (_, v): (_, serde_json::Value) = self.send(self.request(Method::GET, "api/v1/time")?).await?;
        v["now"]
            .as_str()
            .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
            .ok_or_else(|| ClientError::Unexpected("the server time is not RFC 3339".into()))
    }

    /// A staff call: `method path` with a bearer token and an optional JSON body.
    pub async fn staff_call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        let mut req = self.request(method, path)?.bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        Ok(self.send(req).await?.1)
    }
}
