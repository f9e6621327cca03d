//! The draws' use cases (`docs/DRAWS.md`): their public view, the host's
//! reveal (officers and admins) and the scheduler's fallback. Both write
//! through one domain transition under the tender's row lock, which logs
//! the results once whichever node or request gets there first.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::draw::{DrawRun, DrawState, DrawTerms, OpenedBid};
use crate::domain::event::{EventKind, EventPayload, StaffRef};
use crate::domain::tender::{BIDDER_CUSTODIAN, SERVER_CUSTODIAN};
use crate::domain::{DomainError, Tender};
use crate::ledger::{root, root_plan};
use crate::store::{Staff, StoreError};

/// Who could have known the inputs early, by the tender's custody policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrawTrust {
    /// The server alone opens bids: its operator could know every nonce early.
    ServerOnly,
    /// k people must release: nobody knows a nonce before the opening.
    Custodians,
    /// Each bidder holds a share of its own bid.
    BidderHeld,
}

/// The tender's draws as everyone sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DrawsView {
    /// The tender.
    #[schema(value_type = String, format = Uuid)]
    pub tender: Uuid,
    /// The declared draws and formulas (`null`: none).
    pub terms: Option<DrawTerms>,
    /// The reveal deadline and when the results were logged (set by the record).
    pub state: Option<DrawState>,
    /// Who could have predicted a draw under this custody policy.
    pub trust: DrawTrust,
    /// The draw events logged so far (`draw.committed`, `draw.revealed`,
    /// `draw.failed`, `draw.result`), as `GET …/events` serves them.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<crate::store::Event>,
}

/// The trust class of a tender's policy.
pub fn trust(t: &Tender) -> DrawTrust {
    let c = &t.custody;
    if c.custodians.iter().any(|id| id == BIDDER_CUSTODIAN) {
        DrawTrust::BidderHeld
    } else if c.threshold <= 1 && c.custodians.iter().any(|id| id == SERVER_CUSTODIAN) {
        DrawTrust::ServerOnly
    } else {
        DrawTrust::Custodians
    }
}

fn is_draw(kind: &str) -> bool {
    matches!(
        EventKind::parse(kind),
        Some(EventKind::DrawCommitted | EventKind::DrawRevealed | EventKind::DrawResult | EventKind::DrawFailed)
    )
}

/// The draws of a public tender.
pub async fn view(state: &AppState, staff: Option<&Staff>, id: Uuid) -> AppResult<DrawsView> {
    let tender = visible_tender(state, id, staff).await?.tender;
    let events = state.store.events(id, 0, i64::MAX).await?.into_iter().filter(|e| is_draw(&e.kind)).collect();
    Ok(DrawsView {
        tender: id,
        terms: tender.draw_terms().cloned(),
        state: tender.draw_state.clone(),
        trust: trust(&tender),
        events,
    })
}

/// The host's reveal.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reveal {
    /// The 32-byte secret whose commitment was logged at publish, 64
    /// lower-case hex digits.
    pub secret: String,
}

fn draw_done() -> AppError {
    AppError::new(ErrorKind::Conflict, "draw_done", "the draws of this tender were already made")
}

/// The host reveals the secret after the record; the results are logged
/// with it. Returns the draws after.
pub async fn reveal(state: &AppState, staff: &Staff, id: Uuid, req: Reveal) -> AppResult<DrawsView> {
    super::tenders::require_manager(staff)?;
    let tender = visible_tender(state, id, Some(staff)).await?.tender;
    let terms = tender
        .draw_terms()
        .ok_or_else(|| AppError::new(ErrorKind::Conflict, "no_draws", "this tender declared no draws"))?;
    let secret: [u8; 32] = hex::decode(&req.secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .filter(|_| req.secret.bytes().all(|b| !b.is_ascii_uppercase()))
        .ok_or_else(|| AppError::invalid("secret", "must be 32 bytes as 64 lower-case hex digits"))?;
    if hex::encode(crate::domain::draw::seed::commitment(&secret)) != terms.commitment {
        let mut e = AppError::new(
            ErrorKind::Unprocessable,
            "draw_secret_mismatch",
            "this secret does not match the commitment logged at publish",
        );
        e.field = Some("secret".into());
        return Err(e);
    }
    match &tender.draw_state {
        None => {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "record_not_final",
                "the secret is revealed after the opening record is published",
            ));
        }
        Some(s) if s.drawn_at.is_some() => return Err(draw_done()),
        Some(_) => {}
    }
    let mut run = inputs(state, &tender).await?;
    run.reveal = Some((secret, StaffRef { staff: staff.id, name: staff.name.clone() }));
    let f = Box::new(move |t: &mut Tender, c: &crate::store::TransitionContext| t.run_draws(run, c.now));
    match state.store.update_tender(id, &staff.id.to_string(), "draws.reveal", f).await {
        Ok((_, events)) => state.after_change(&events),
        // Another request or node logged the results meanwhile.
        Err(StoreError::Domain(DomainError::Transition { .. })) => return Err(draw_done()),
        Err(e) => return Err(e.into()),
    }
    view(state, Some(staff), id).await
}

/// The stated fallback, when the reveal is overdue: run by the scheduler
/// for each tender whose `session_due` has come. Returns whether it logged.
pub async fn fallback(state: &AppState, id: Uuid, now: OffsetDateTime) -> AppResult<bool> {
    let Some(tender) = state.store.get_tender(id).await?.map(|t| t.tender) else { return Ok(false) };
    if tender.draws_due().is_none_or(|due| due > now) {
        return Ok(false);
    }
    let run = inputs(state, &tender).await?;
    let f = Box::new(move |t: &mut Tender, c: &crate::store::TransitionContext| t.run_draws(run, c.now));
    match state.store.update_tender(id, "scheduler", "draws.fallback", f).await {
        Ok((_, events)) => {
            tracing::warn!(tender = %id, "the host did not reveal the draw secret; fallback logged");
            state.after_change(&events);
            Ok(true)
        }
        Err(StoreError::Domain(DomainError::Transition { .. })) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The record's log head and the opened bids in row order. Both are fixed
/// once `record.published` is logged, so reading them outside the write's
/// lock is safe.
async fn inputs(state: &AppState, tender: &Tender) -> AppResult<DrawRun> {
    let events = state.store.events(tender.id, 0, i64::MAX).await?;
    let record = events
        .iter()
        .find(|e| e.kind == EventKind::RecordPublished.as_str())
        .ok_or_else(|| AppError::internal("draws armed without a record.published event"))?;
    let record_size = u64::try_from(record.log_index).map_err(AppError::internal)? + 1;
    let nodes = state.store.log_nodes(&root_plan(record_size)).await?;
    let record_head = root(record_size, &nodes).map_err(AppError::internal)?;
    let mut opened = Vec::new();
    for e in events.iter().filter(|e| e.kind == EventKind::BidOpened.as_str()) {
        let EventPayload::BidOpened(o) =
            EventPayload::from_data(&e.kind, e.data.clone()).map_err(AppError::internal)?
        else {
            continue;
        };
        let form_key: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&o.form_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| AppError::internal("a logged form key is not 32 bytes"))?;
        opened.push((
            o.row.position,
            OpenedBid {
                bid_id: o.row.bid_id,
                lot: o.row.lot,
                form_key,
                fields: o.fields,
                above_ceiling: o.above_ceiling,
            },
        ));
    }
    opened.sort_by_key(|(position, _)| *position);
    Ok(DrawRun { record_size, record_head, opened: opened.into_iter().map(|(_, b)| b).collect(), reveal: None })
}
