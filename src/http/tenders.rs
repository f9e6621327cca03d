//! Tender routes: public reads, staff changes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::{MaybeStaff, StaffUser};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::domain::tender::Amendment;
use crate::domain::{Tender, TenderDraft, TenderState};
use crate::store::{Event, Staff, StoredTender, TenderQuery};

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

/// Query of the tender list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only tenders in this state.
    pub state: Option<TenderState>,
    /// Search in title, reference, buyer and description.
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// Query of the event history.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only events with a greater sequence number.
    pub after: Option<i64>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<i64>,
}

/// A tender's events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Events in sequence order.
    pub events: Vec<Event>,
    /// The tender's latest sequence number.
    pub last_seq: i64,
}

/// A reason, for cancelling.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why; published.
    pub reason: String,
}

fn require_manager(staff: &Staff) -> ApiResult<()> {
    if staff.role.manages_tenders() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("a {} cannot change tenders; an officer or admin can", staff.role.as_str())))
    }
}

/// Loads a tender the caller may see: drafts exist only for staff.
pub(crate) async fn visible_tender(state: &AppState, id: Uuid, staff: Option<&Staff>) -> ApiResult<StoredTender> {
    match state.store.get_tender(id).await? {
        Some(t) if t.tender.is_public() || staff.is_some() => Ok(t),
        _ => Err(ApiError::not_found("tender")),
    }
}

/// List tenders.
#[utoipa::path(get, path = "/api/v1/tenders", params(ListParams), responses((status = 200, body = TenderPage)))]
pub async fn list(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<TenderPage>> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let offset = p.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("offset", "must not be negative"));
    }
    if p.state == Some(TenderState::Draft) && staff.is_none() {
        return Err(ApiError::unauthenticated("drafts are visible to staff only"));
    }
    let query = TenderQuery {
        state: p.state,
        include_drafts: staff.is_some(),
        search: p.q.filter(|q| !q.trim().is_empty()).map(|q| q.trim().to_string()),
        limit,
        offset,
    };
    let items = state.store.list_tenders(&query).await?.into_iter().map(TenderView::from).collect();
    Ok(Json(TenderPage { items, limit, offset }))
}

/// Create a draft tender.
#[utoipa::path(post, path = "/api/v1/tenders", request_body = TenderDraft, responses((status = 201, body = TenderView)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiJson(draft): ApiJson<TenderDraft>,
) -> ApiResult<(StatusCode, Json<TenderView>)> {
    require_manager(&staff)?;
    let now = state.store.now().await?;
    let tender = Tender::create(Uuid::now_v7(), draft, now)?;
    state.store.insert_tender(&tender, &staff.id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(TenderView { tender, last_seq: 0 })))
}

/// One tender.
#[utoipa::path(get, path = "/api/v1/tenders/{id}", responses((status = 200, body = TenderView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TenderView>> {
    Ok(Json(visible_tender(&state, id, staff.as_ref()).await?.into()))
}

/// Runs a transition and hands its events to the live room and scheduler.
pub(crate) async fn transition(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    action: &'static str,
    f: crate::store::Transition,
) -> ApiResult<Json<TenderView>> {
    require_manager(staff)?;
    visible_tender(state, id, Some(staff)).await?;
    let (tender, events) = state.store.update_tender(id, &staff.id.to_string(), action, f).await?;
    state.after_change(&events);
    let last_seq = state.store.get_tender(id).await?.map(|t| t.last_seq).unwrap_or_default();
    Ok(Json(TenderView { tender, last_seq }))
}

/// Replace a draft's terms.
#[utoipa::path(put, path = "/api/v1/tenders/{id}", request_body = TenderDraft, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(draft): ApiJson<TenderDraft>,
) -> ApiResult<Json<TenderView>> {
    transition(&state, &staff, id, "edit", Box::new(move |t, c| t.edit(draft, c.now).map(|()| vec![]))).await
}

/// Publish a draft.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/publish", responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TenderView>> {
    require_manager(&staff)?;
    let current = visible_tender(&state, id, Some(&staff)).await?;
    // Freeze the custodians' keys as registered now; bids are sealed to them.
    let keys = super::registry::resolve_custody(&state, &current.tender).await?;
    transition(&state, &staff, id, "publish", Box::new(move |t, c| t.publish(c.now, keys))).await
}

/// Move the deadline or opening time, with a reason.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/amend", request_body = Amendment, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn amend(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(a): ApiJson<Amendment>,
) -> ApiResult<Json<TenderView>> {
    transition(&state, &staff, id, "amend", Box::new(move |t, c| t.amend(a, c.now))).await
}

/// Cancel with a reason.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/cancel", request_body = CancelRequest, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<CancelRequest>,
) -> ApiResult<Json<TenderView>> {
    transition(&state, &staff, id, "cancel", Box::new(move |t, ctx| t.cancel(c.reason, ctx.now))).await
}

/// A tender's public event history.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/events", params(EventParams), responses((status = 200, body = EventPage)))]
pub async fn events(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<EventParams>,
) -> ApiResult<Json<EventPage>> {
    let tender = visible_tender(&state, id, staff.as_ref()).await?;
    let after = p.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid("after", "must not be negative"));
    }
    let limit = p.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let events = state.store.events(id, after, limit).await?;
    Ok(Json(EventPage { events, last_seq: tender.last_seq }))
}
