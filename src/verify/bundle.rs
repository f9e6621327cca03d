//! An evidence bundle as a verification [`Source`]: the tar file a server's
//! `GET /api/v1/tenders/{id}/evidence` (or `bidroom evidence`) wrote,
//! read with no server and no network (format: docs/EVIDENCE.md). Every
//! member must be listed in `manifest.json` with its SHA-256, and every
//! listed member present; past that the bundle is trusted for nothing the
//! checks do not establish from the signed checkpoint.

use std::collections::BTreeMap;
use std::io::Read;

use async_trait::async_trait;
use serde::Deserialize;
use uuid::Uuid;

use super::source::Source;
use crate::client::{Bidder, Event, PublicBid, Record};
use crate::ledger::Hash;

/// The format this reader knows.
pub const FORMAT: &str = "bidroom-evidence/1";

/// Largest bundle member read (a member past it is refused, not truncated).
const MAX_MEMBER: u64 = 1 << 30;

#[derive(Deserialize)]
struct Member {
    path: String,
    sha256: String,
    size: u64,
}

#[derive(Deserialize)]
struct Manifest {
    format: String,
    tender: Uuid,
    members: Vec<Member>,
}

#[derive(Deserialize)]
struct EventPage {
    events: Vec<Event>,
    last_seq: i64,
}

#[derive(Deserialize)]
struct Proof {
    proof: Vec<String>,
}

/// A bundle whose members all match its manifest.
pub struct Bundle {
    /// The tender it is the evidence of.
    pub tender: Uuid,
    members: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// Reads and checks a bundle: a tar of regular files, `manifest.json`
    /// naming each other member once with its size and SHA-256.
    pub fn read(bytes: &[u8]) -> Result<Bundle, String> {
        let mut members = BTreeMap::new();
        let mut archive = tar::Archive::new(bytes);
        for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
            let mut entry = entry.map_err(|e| format!("a damaged tar member: {e}"))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                return Err("the bundle holds something other than regular files".into());
            }
            let path = entry.path().map_err(|e| format!("a member's name: {e}"))?.to_string_lossy().into_owned();
            if entry.size() > MAX_MEMBER {
                return Err(format!("{path}: larger than {MAX_MEMBER} bytes"));
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(|e| format!("{path}: {e}"))?;
            if members.insert(path.clone(), data).is_some() {
                return Err(format!("{path} is in the bundle twice"));
            }
        }
        let manifest = members.remove("manifest.json").ok_or("the bundle has no manifest.json")?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest).map_err(|e| format!("manifest.json cannot be read: {e}"))?;
        if manifest.format != FORMAT {
            return Err(format!("bundle format {:?}; this verifier reads {FORMAT}", manifest.format));
        }
        let mut problems = Vec::new();
        for m in &manifest.members {
            match members.get(&m.path) {
                None => problems.push(format!("{} is in the manifest but not in the bundle", m.path)),
                Some(data) => {
                    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
                    if data.len() as u64 != m.size || digest != m.sha256 {
                        problems.push(format!("{} does not match its manifest entry (SHA-256 {digest})", m.path));
                    }
                }
            }
        }
        for path in members.keys() {
            if !manifest.members.iter().any(|m| &m.path == path) {
                problems.push(format!("{path} is in the bundle but not in the manifest"));
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Bundle { tender: manifest.tender, members })
    }

    fn member(&self, path: &str) -> Result<&[u8], String> {
        self.members.get(path).map(Vec::as_slice).ok_or_else(|| format!("{path} is not in the bundle"))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        serde_json::from_slice(self.member(path)?).map_err(|e| format!("{path} cannot be read: {e}"))
    }

    fn text(&self, path: &str) -> Result<String, String> {
        String::from_utf8(self.member(path)?.to_vec()).map_err(|_| format!("{path} is not UTF-8"))
    }

    /// The log key the bundle carries (`log/key`).
    pub fn log_key(&self) -> Result<String, String> {
        Ok(self.text("log/key")?.trim().to_owned())
    }

    fn tender_only(&self, tender: Uuid) -> Result<(), String> {
        if tender == self.tender {
            Ok(())
        } else {
            Err(format!("the bundle is the evidence of {}, not {tender}", self.tender))
        }
    }
}

fn hashes(proof: Proof) -> Result<Vec<Hash>, String> {
    proof
        .proof
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out)
                .map(|()| out)
                .map_err(|_| "a proof hash is not 32 bytes of hex".to_string())
        })
        .collect()
}

#[async_trait]
impl Source for Bundle {
    async fn events(&self, tender: Uuid) -> Result<(Vec<Event>, i64), String> {
        self.tender_only(tender)?;
        let page: EventPage = self.json("events.json")?;
        Ok((page.events, page.last_seq))
    }
    async fn checkpoint(&self) -> Result<String, String> {
        self.text("log/checkpoint")
    }
    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        hashes(self.json(&format!("proofs/consistency/{old}-{new}.json"))?)
    }
    async fn log_entry(&self, index: u64) -> Result<Vec<u8>, String> {
        self.member(&format!("entries/{index}")).map(<[u8]>::to_vec)
    }
    async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, String> {
        // Proofs are against the bundle's own checkpoint, except the ones
        // named with their tree size (a draw's record head).
        let sized = format!("proofs/inclusion/{index}-{size}.json");
        if self.members.contains_key(&sized) {
            return hashes(self.json(&sized)?);
        }
        hashes(self.json(&format!("proofs/inclusion/{index}.json"))?)
    }
    async fn tender_json(&self, tender: Uuid) -> Result<serde_json::Value, String> {
        self.tender_only(tender)?;
        self.json("tender.json")
    }
    async fn envelopes(&self, tender: Uuid) -> Result<Vec<PublicBid>, String> {
        self.tender_only(tender)?;
        self.json("envelopes.json")
    }
    async fn record(&self, tender: Uuid) -> Result<Record, String> {
        self.tender_only(tender)?;
        self.json("record.json")
    }
    async fn final_record(&self, tender: Uuid) -> Result<Option<serde_json::Value>, String> {
        self.tender_only(tender)?;
        if self.members.contains_key("record_final.json") { self.json("record_final.json").map(Some) } else { Ok(None) }
    }
    fn earlier_checkpoints(&self) -> Vec<String> {
        let notes = self.members.iter().filter(|(p, _)| p.starts_with("log/checkpoints/"));
        notes.map(|(_, d)| String::from_utf8_lossy(d).into_owned()).collect()
    }
    async fn bidder(&self, id: &str) -> Result<Bidder, String> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{id:?} is not a key id"));
        }
        self.json(&format!("bidders/{id}.json"))
    }
}
