//! The evidence bundle of a tender: one tar file holding every public
//! artifact a verifier reads (docs/EVIDENCE.md), so the opening can be
//! checked offline, years later, without the server. The members are the
//! same JSON the API serves; `manifest.json` lists each with its SHA-256.

use serde::Serialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use super::opening::{envelopes, load_record, opening_or_later};
use super::state::AppState;
use super::tenders::{EventPage, TenderView, visible_tender};
use super::{log, registry};
use crate::domain::event::EventPayload;

/// The bundle format this server writes.
pub const FORMAT: &str = "bidroom-evidence/1";

/// Adds members to the archive and remembers them for the manifest.
struct Writer {
    tar: tar::Builder<Vec<u8>>,
    members: Vec<Value>,
}

impl Writer {
    fn add(&mut self, path: &str, bytes: &[u8]) -> AppResult<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        // A fixed time: the same data gives the same archive.
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut header, path, bytes).map_err(AppError::internal)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        self.members.push(json!({"path": path, "sha256": hex::encode(digest.as_ref()), "size": bytes.len()}));
        Ok(())
    }

    fn add_json(&mut self, path: &str, value: &impl Serialize) -> AppResult<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(AppError::internal)?;
        self.add(path, &bytes)
    }
}

/// The bundle of tender `id` as tar bytes. Public from publication on;
/// envelopes and the record from the opening on, as the API serves them.
pub async fn bundle(state: &AppState, id: Uuid) -> AppResult<Vec<u8>> {
    let stored = visible_tender(state, id, None).await?;
    let tender_state = stored.tender.state;
    let mut w = Writer { tar: tar::Builder::new(Vec::new()), members: Vec::new() };
    w.add_json("tender.json", &TenderView::from(stored))?;
    let events = state.store.events(id, 0, i64::MAX).await?;
    let last_seq = events.last().map(|e| e.seq).unwrap_or(0);
    // Taken after the events, so it covers every one of them; its size is
    // the note's own (the log may grow meanwhile).
    let latest = state.store.latest_checkpoint().await?.ok_or_else(|| AppError::internal("the log is empty"))?;
    let size = u64::try_from(latest.size).map_err(AppError::internal)?;
    w.add("log/key", format!("{}\n", state.log.signer.verifier_key()).as_bytes())?;
    w.add("log/checkpoint", latest.note.as_bytes())?;
    let mut bidders: Vec<String> = Vec::new();
    for e in &events {
        let index = u64::try_from(e.log_index).map_err(AppError::internal)?;
        w.add(&format!("entries/{index}"), &log::entry(state, index).await?)?;
        let proof: Vec<String> = log::inclusion(state, index, size).await?.iter().map(hex::encode).collect();
        w.add_json(&format!("proofs/inclusion/{index}.json"), &json!({"proof": proof}))?;
        // The checkpoint signed with this event, when its transaction ended
        // with it, and its consistency with the bundle's: the chain a
        // receipt's checkpoint can be matched against.
        let at = index.saturating_add(1);
        if at < size
            && let Some(cp) = state.store.checkpoint_at(at).await?
        {
            w.add(&format!("log/checkpoints/{at}"), cp.note.as_bytes())?;
            let proof: Vec<String> = log::consistency(state, at, size).await?.iter().map(hex::encode).collect();
            w.add_json(&format!("proofs/consistency/{at}-{size}.json"), &json!({"proof": proof}))?;
        }
        // A draw's record head is the root at the record's size: the
        // record entry's inclusion in that tree, and that tree's
        // consistency with the bundle's checkpoint.
        if let Ok(EventPayload::DrawResult(r)) = EventPayload::from_data(&e.kind, e.data.clone())
            && r.record_size >= 1
            && r.record_size <= size
        {
            let at = r.record_size;
            let proof: Vec<String> = log::inclusion(state, at - 1, at).await?.iter().map(hex::encode).collect();
            w.add_json(&format!("proofs/inclusion/{}-{at}.json", at - 1), &json!({"proof": proof}))?;
            let name = format!("proofs/consistency/{at}-{size}.json");
            if !w.members.iter().any(|m| m["path"] == name.as_str()) {
                let proof: Vec<String> = if at == size {
                    Vec::new()
                } else {
                    log::consistency(state, at, size).await?.iter().map(hex::encode).collect()
                };
                w.add_json(&name, &json!({"proof": proof}))?;
            }
        }
        if let Ok(payload) = EventPayload::from_data(&e.kind, e.data.clone())
            && let Some(row) = payload.bid_row()
            && !bidders.contains(&row.bidder.id)
        {
            bidders.push(row.bidder.id.clone());
        }
    }
    w.add_json("events.json", &EventPage { events, last_seq })?;
    if opening_or_later(tender_state).is_ok() {
        w.add_json("envelopes.json", &envelopes(state, id).await?)?;
        w.add_json("record.json", &load_record(state, id).await?.1)?;
    }
    // The sealed final record, once the session ended (issue 12).
    match super::record_final::load(state, id).await {
        Ok((_, sealed)) => w.add_json("record_final.json", &sealed)?,
        Err(e) if e.code == "not_final" => {}
        Err(e) => return Err(e),
    }
    for b in &bidders {
        w.add_json(&format!("bidders/{b}.json"), &registry::bidder(state, b).await?)?;
    }
    let now = state.store.now().await?.format(&Rfc3339).map_err(AppError::internal)?;
    let manifest = json!({"format": FORMAT, "tender": id, "created_at": now, "tree_size": size, "members": w.members});
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(AppError::internal)?;
    // The manifest goes last, so a reader streaming the file has every
    // member's bytes before their digests; it is not in its own list.
    let mut header = tar::Header::new_ustar();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    w.tar.append_data(&mut header, "manifest.json", bytes.as_slice()).map_err(AppError::internal)?;
    w.tar.into_inner().map_err(AppError::internal)
}
