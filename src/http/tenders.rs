//! Tender routes: public reads, staff changes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::{MaybeStaff, StaffUser};
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::app::tenders::{self as uc, EventPage, ListRequest, TenderPage, TenderView};
use crate::domain::tender::Amendment;
use crate::domain::{TenderDraft, TenderState};

/// Query of the tender list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only events with a greater sequence number.
    pub after: Option<i64>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<i64>,
}

/// A reason, for cancelling.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why; published.
    pub reason: String,
}

/// List tenders.
#[utoipa::path(get, path = "/api/v1/tenders", params(ListParams), responses((status = 200, body = TenderPage)))]
pub async fn list(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<TenderPage>> {
    let req = ListRequest { state: p.state, q: p.q, limit: p.limit, offset: p.offset };
    Ok(Json(uc::list(&state, staff.as_ref(), req).await?))
}

/// Create a draft tender.
#[utoipa::path(post, path = "/api/v1/tenders", request_body = TenderDraft, responses((status = 201, body = TenderView)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiJson(draft): ApiJson<TenderDraft>,
) -> ApiResult<(StatusCode, Json<TenderView>)> {
    Ok((StatusCode::CREATED, Json(uc::create(&state, &staff, draft).await?)))
}

/// One tender.
#[utoipa::path(get, path = "/api/v1/tenders/{id}", responses((status = 200, body = TenderView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TenderView>> {
    Ok(Json(uc::visible_tender(&state, id, staff.as_ref()).await?.into()))
}

/// Replace a draft's terms.
#[utoipa::path(put, path = "/api/v1/tenders/{id}", request_body = TenderDraft, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(draft): ApiJson<TenderDraft>,
) -> ApiResult<Json<TenderView>> {
    let edit = Box::new(move |t: &mut crate::domain::Tender, c: &crate::store::TransitionContext| {
        t.edit(draft, c.now).map(|()| vec![])
    });
    Ok(Json(uc::transition(&state, &staff, id, "edit", edit).await?))
}

/// Publish a draft.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/publish", responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TenderView>> {
    Ok(Json(uc::publish(&state, &staff, id).await?))
}

/// Move the deadline or opening time, with a reason.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/amend", request_body = Amendment, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn amend(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(a): ApiJson<Amendment>,
) -> ApiResult<Json<TenderView>> {
    Ok(Json(uc::transition(&state, &staff, id, "amend", Box::new(move |t, c| t.amend(a, c.now))).await?))
}

/// Cancel with a reason.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/cancel", request_body = CancelRequest, responses((status = 200, body = TenderView)), security(("staff" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<CancelRequest>,
) -> ApiResult<Json<TenderView>> {
    let cancel = Box::new(move |t: &mut crate::domain::Tender, ctx: &crate::store::TransitionContext| {
        t.cancel(c.reason, ctx.now)
    });
    Ok(Json(uc::transition(&state, &staff, id, "cancel", cancel).await?))
}

/// A tender's public event history.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/events", params(EventParams), responses((status = 200, body = EventPage)))]
pub async fn events(
    State(state): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<EventParams>,
) -> ApiResult<Json<EventPage>> {
    Ok(Json(uc::events(&state, staff.as_ref(), id, p.after, p.limit).await?))
}
