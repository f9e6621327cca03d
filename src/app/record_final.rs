//! The end of the session and the final record (开标记录表): built from the
//! logged events (`domain::record`), sealed by its hash in `session.ended`,
//! and served with the entry and checkpoint that cover it.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::event::{BidderRef, Digest, EventPayload, StaffRef};
use crate::domain::objection::SessionEnded;
use crate::domain::record::{Fact, Header, final_hash, final_record, record_hash, record_rows, responses};
use crate::domain::session::Stage;
use crate::domain::{DomainError, Tender};
use crate::store::{Event, Staff, StoreError};

/// Only the host's roles act on a session; supervisors watch.
pub(crate) fn require_host(staff: &Staff) -> AppResult<()> {
    if staff.role.manages_tenders() {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "a {} can watch the session but not run it; an officer or admin hosts it",
        staff.role.as_str()
    )))
}

/// The tender's logged events, typed.
pub(crate) async fn facts(state: &AppState, id: Uuid) -> AppResult<Vec<Fact>> {
    let events = state.store.events(id, 0, i64::MAX).await?;
    events.iter().map(fact).collect()
}

fn fact(e: &Event) -> AppResult<Fact> {
    let payload = EventPayload::from_data(&e.kind, e.data.clone()).map_err(AppError::internal)?;
    Ok(Fact { seq: e.seq, log_index: e.log_index, at: e.at, payload })
}

/// The pseudonyms of the record's bidders, named: from the opening on the
/// attendance is public (issue 11).
fn names(state: &AppState, tender: Uuid, facts: &[Fact]) -> BTreeMap<String, BidderRef> {
    let mut out = BTreeMap::new();
    for f in facts {
        if let Some(row) = f.payload.bid_row() {
            out.insert(state.live.pseudonym(tender, &row.bidder.id), row.bidder.clone());
        }
    }
    out
}

fn header(t: &Tender) -> Header {
    Header {
        tender: t.id,
        title: t.title.clone(),
        reference: t.reference.clone(),
        buyer: t.buyer.clone(),
        lots: t.lots.iter().map(|l| l.id.clone()).collect(),
    }
}

/// Ends the confirmation stage and seals the final record: the host's
/// `end` (with `by`), or the scheduler at the stage's end.
pub async fn end(state: &AppState, id: Uuid, by: Option<StaffRef>) -> AppResult<Vec<Event>> {
    // Built outside the transaction; refused under the lock if anything
    // was said meanwhile, then built again.
    let mut tries = 0;
    loop {
        tries += 1;
        let tender = visible_tender(state, id, None).await?.tender;
        let s = &tender.session_state;
        if s.stage != Some(Stage::Confirmation) {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "wrong_stage",
                "the session ends from the confirmation stage (确认) only",
            ));
        }
        if !s.open_objections.is_empty() {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "objections_open",
                format!(
                    "{} objection(s) wait for an answer; answer them before ending the session",
                    s.open_objections.len()
                ),
            ));
        }
        let facts = facts(state, id).await?;
        let doc = final_record(&header(&tender), &facts, &names(state, id, &facts));
        let silence = tender.terms().silence_is_acceptance;
        let ended = SessionEnded {
            final_hash: Digest(final_hash(id, &doc)),
            record_hash: Digest(record_hash(id, &record_rows(&facts))),
            through_seq: facts.last().map_or(0, |f| f.seq),
            responses: responses(&facts),
            silence_is_acceptance: silence,
            at: state.store.now().await?,
            by: by.clone(),
        };
        let acts = s.acts;
        let actor = by.as_ref().map_or_else(|| "scheduler".to_string(), |b| b.staff.to_string());
        let f = Box::new(move |t: &mut Tender, c: &crate::store::TransitionContext| t.end_session(ended, acts, c.now));
        match state.store.update_tender(id, &actor, "session.end", f).await {
            Ok((_, events)) => {
                state.after_change(&events);
                return Ok(events);
            }
            Err(StoreError::Domain(DomainError::Transition { .. })) if tries < 3 => continue,
            Err(StoreError::Domain(d @ DomainError::Transition { .. })) => {
                return Err(AppError::new(ErrorKind::Conflict, "wrong_stage", d.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The sealed final record as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FinalRecord {
    /// The record (format `bidroom.final-record.v1`), rebuilt from the log.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    /// SHA-256 of its canonical bytes, as `session.ended` seals it.
    pub final_hash: String,
    /// Every bidder of the record and its answer, as sealed.
    pub responses: Vec<crate::domain::objection::BidderResponse>,
    /// Does silence count as acceptance under these terms?
    pub silence_is_acceptance: bool,
    /// The `session.ended` event's sequence number.
    pub ended_seq: i64,
    /// Index of its log entry: the entry that seals the record.
    pub log_index: i64,
    /// RFC 6962 leaf hash of that entry, hex.
    pub leaf_hash: String,
    /// Where the entry is served.
    pub entry_url: String,
    /// A signed checkpoint covering the entry (C2SP signed note).
    pub checkpoint: String,
    /// Size of the log at that checkpoint.
    pub tree_size: i64,
}

/// The final record of an ended session.
pub async fn load(state: &AppState, id: Uuid) -> AppResult<(Tender, FinalRecord)> {
    let tender = visible_tender(state, id, None).await?.tender;
    let events = state.store.events(id, 0, i64::MAX).await?;
    let facts: Vec<Fact> = events.iter().map(fact).collect::<AppResult<_>>()?;
    let (ended_event, ended) = events
        .iter()
        .zip(&facts)
        .find_map(|(e, f)| match &f.payload {
            EventPayload::SessionEnded(s) => Some((e, s.clone())),
            _ => None,
        })
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Conflict,
                "not_final",
                "the session has not ended; the final record is not sealed yet",
            )
        })?;
    let covered: Vec<Fact> = facts.iter().filter(|f| f.seq <= ended.through_seq).cloned().collect();
    let record = final_record(&header(&tender), &covered, &names(state, id, &covered));
    let checkpoint = state.store.latest_checkpoint().await?.ok_or_else(|| AppError::internal("an empty log"))?;
    let silence_is_acceptance = ended.silence_is_acceptance;
    let responses = ended.responses.clone();
    Ok((
        tender,
        FinalRecord {
            record,
            final_hash: ended.final_hash.to_hex(),
            responses,
            silence_is_acceptance,
            ended_seq: ended_event.seq,
            log_index: ended_event.log_index,
            leaf_hash: ended_event.leaf_hash.clone(),
            entry_url: format!("/api/v1/log/entries/{}", ended_event.log_index),
            checkpoint: checkpoint.note.clone(),
            tree_size: checkpoint.size,
        },
    ))
}

/// The absolute link to the log entry that seals the record, as the printed
/// page's QR code carries it: `origin` is where the client reached the server.
pub fn entry_link(origin: &str, fin: &FinalRecord) -> String {
    format!("{origin}{}", fin.entry_url)
}

/// An SVG QR code of `link` (no external resources: the page embeds it).
pub fn qr_svg(link: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).map_err(AppError::internal)?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).quiet_zone(true).build())
}
