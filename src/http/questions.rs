//! Bidders' private questions to the host over HTTP: extract, call
//! `app::questions`, map the answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::StaffUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::objections::limited;
use crate::app::AppState;
use crate::app::objections::{Logged, RaiseError};
use crate::app::questions::{self, AskQuestion, ReadQuestions};
use crate::store::Question;

/// The host's public answer to a question.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerQuestion {
    /// The announcement's text, 1 to 500 characters; the announcement
    /// quotes the question (not who asked it).
    pub text: String,
}

/// A signed-in bidder asks the host a question, private to staff until
/// answered; at most five a minute per bidder.
#[utoipa::path(post, path = "/api/v1/tenders/{id}/questions", request_body = AskQuestion,
    responses((status = 201, body = Question), (status = 429, description = "too many questions; see Retry-After")))]
pub async fn ask(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<AskQuestion>,
) -> Response {
    match questions::ask(&state, id, req).await {
        Ok(q) => (StatusCode::CREATED, Json(q)).into_response(),
        Err(RaiseError::App(e)) => ApiError::from(e).into_response(),
        Err(RaiseError::Limited(wait)) => limited(wait, "questions", questions::QUESTIONS_PER_MINUTE),
    }
}

/// A bidder reads its own questions and whether each was answered (a
/// signed request: nobody else reads them).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/questions/mine", request_body = ReadQuestions,
    responses((status = 200, body = Vec<Question>)))]
pub async fn mine(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReadQuestions>,
) -> ApiResult<Json<Vec<Question>>> {
    Ok(Json(questions::mine(&state, id, req).await?))
}

/// Every question of the tender, oldest first (staff only).
#[utoipa::path(get, path = "/api/v1/tenders/{id}/questions",
    responses((status = 200, body = Vec<Question>)), security(("staff" = [])))]
pub async fn list(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<Question>>> {
    Ok(Json(questions::list(&state, &staff, id).await?))
}

/// The host answers a question publicly, as an announcement quoting it
/// (officers and admins).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/questions/{question}/answer", request_body = AnswerQuestion,
    responses((status = 201, body = Logged)), security(("staff" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ApiPath((id, question)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<AnswerQuestion>,
) -> ApiResult<(StatusCode, Json<Logged>)> {
    Ok((StatusCode::CREATED, Json(questions::answer(&state, &staff, id, question, req.text).await?)))
}
