//! Tender use cases: public reads, staff changes (create, edit, publish,
//! amend, cancel, the room's stream) and the event history.

use serde::Serialize;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use super::registry::resolve_custody;
use super::state::AppState;
use crate::domain::{Tender, TenderDraft, TenderState, Text};
use crate::store::{Event, Staff, StoredTender, TenderQuery, Transition};

/// A tender as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenderView {
    /// The tender.
    #[serde(flatten)]
    pub tender: Tender,
    /// Sequence number of its latest event (0 before publication).
    pub last_seq: i64,
}

impl From<StoredTender> for TenderView {
    fn from(s: StoredTender) -> Self {
        TenderView { tender: s.tender, last_seq: s.last_seq }
    }
}

/// A page of tenders.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenderPage {
    /// The tenders, newest first.
    pub items: Vec<TenderView>,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// A tender's events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Events in sequence order.
    pub events: Vec<Event>,
    /// The tender's latest sequence number.
    pub last_seq: i64,
}

/// Longest search query, in characters: enough for any title or reference,
/// and far below what makes a `LIKE` pattern too complex for SQLite.
pub const MAX_QUERY_CHARS: usize = 200;

/// What to list.
pub struct ListRequest {
    /// Only tenders in this state.
    pub state: Option<TenderState>,
    /// Search in title, reference, buyer and description.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// Staff who may change tenders: officers and admins.
pub fn require_manager(staff: &Staff) -> AppResult<()> {
    if staff.role.manages_tenders() {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("a {} cannot change tenders; an officer or admin can", staff.role.as_str())))
    }
}

/// Loads a tender the caller may see: drafts exist only for staff.
pub async fn visible_tender(state: &AppState, id: Uuid, staff: Option<&Staff>) -> AppResult<StoredTender> {
    match state.store.get_tender(id).await? {
        Some(t) if t.tender.is_public() || staff.is_some() => Ok(t),
        _ => Err(AppError::not_found("tender")),
    }
}

/// Lists tenders (drafts for staff only).
pub async fn list(state: &AppState, staff: Option<&Staff>, req: ListRequest) -> AppResult<TenderPage> {
    let limit = req.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    let offset = req.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::invalid("offset", "must not be negative"));
    }
    if req.state == Some(TenderState::Draft) && staff.is_none() {
        return Err(AppError::unauthenticated("drafts are visible to staff only"));
    }
    if let Some(q) = &req.q {
        Text::parse("q", q, MAX_QUERY_CHARS)?;
    }
    let query = TenderQuery {
        state: req.state,
        include_drafts: staff.is_some(),
        search: req.q.filter(|q| !q.trim().is_empty()).map(|q| q.trim().to_string()),
        limit,
        offset,
    };
    let items = state.store.list_tenders(&query).await?.into_iter().map(TenderView::from).collect();
    Ok(TenderPage { items, limit, offset })
}

/// Creates a draft tender.
pub async fn create(state: &AppState, staff: &Staff, draft: TenderDraft) -> AppResult<TenderView> {
    require_manager(staff)?;
    let now = state.store.now().await?;
    let tender = Tender::create(Uuid::now_v7(), draft, now)?;
    state.store.insert_tender(&tender, &staff.id.to_string()).await?;
    Ok(TenderView { tender, last_seq: 0 })
}

/// Runs a staff transition and announces its events.
pub async fn transition(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    action: &'static str,
    f: Transition,
) -> AppResult<TenderView> {
    require_manager(staff)?;
    visible_tender(state, id, Some(staff)).await?;
    let (tender, events) = state.store.update_tender(id, &staff.id.to_string(), action, f).await?;
    state.after_change(&events);
    let last_seq = state.store.get_tender(id).await?.map(|t| t.last_seq).unwrap_or_default();
    Ok(TenderView { tender, last_seq })
}

/// Publishes a draft, freezing its custodians' keys as registered now (bids
/// are sealed to them).
pub async fn publish(state: &AppState, staff: &Staff, id: Uuid) -> AppResult<TenderView> {
    require_manager(staff)?;
    let current = visible_tender(state, id, Some(staff)).await?;
    let keys = resolve_custody(state, &current.tender).await?;
    transition(state, staff, id, "publish", Box::new(move |t, c| t.publish(c.now, keys))).await
}

/// A tender's event history after `after`, at most `limit` events.
pub async fn events(
    state: &AppState,
    staff: Option<&Staff>,
    id: Uuid,
    after: Option<i64>,
    limit: Option<i64>,
) -> AppResult<EventPage> {
    let tender = visible_tender(state, id, staff).await?;
    let after = after.unwrap_or(0);
    if after < 0 {
        return Err(AppError::invalid("after", "must not be negative"));
    }
    let limit = limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 1000"));
    }
    let events = state.store.events(id, after, limit).await?;
    Ok(EventPage { events, last_seq: tender.last_seq })
}
