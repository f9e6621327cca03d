//! Bidders' private questions to the host (issue 12). A signed-in bidder
//! asks, signed with its key like an objection; the question is kept apart
//! from the log, readable by staff and by its asker only, until the host
//! answers it publicly: an announcement that quotes it (docs/LIVE.md,
//! "Questions to the host").

use std::num::NonZeroU32;
use std::sync::LazyLock;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::objections::{Logged, RaiseError, conflict, post_announcement, signed_bidder, signed_in};
use super::record_final::{facts, require_host};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::Tender;
use crate::domain::objection::{QuotedQuestion, check_question_text, question_message, questions_read_message};
use crate::domain::session::Stage;
use crate::seal::unb64;
use crate::store::{Question, Staff};

/// Questions one bidder may ask per minute in one tender.
pub const QUESTIONS_PER_MINUTE: u32 = 5;

type Keyed = RateLimiter<(Uuid, String), DefaultKeyedStateStore<(Uuid, String)>, DefaultClock>;

/// Per bidder and tender, in this process, as for objections.
static QUESTION_LIMIT: LazyLock<Keyed> = LazyLock::new(|| {
    let rate = NonZeroU32::new(QUESTIONS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(rate))
});

/// A bidder's question to the host.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskQuestion {
    /// The bidder's key id.
    pub bidder: String,
    /// The question, 1 to 2,000 characters (line breaks allowed).
    pub text: String,
    /// When the bidder signed, Unix seconds (within five minutes of the server's clock).
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/question" ‖ 0x00 ‖ tender ‖ SHA-256(text) ‖ signed_at (8, big-endian)`.
    pub signature: String,
}

/// A bidder asks for its own questions.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadQuestions {
    /// The bidder's key id.
    pub bidder: String,
    /// When the bidder signed, Unix seconds.
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/questions-read" ‖ 0x00 ‖ tender ‖ signed_at (8, big-endian)`.
    pub signature: String,
}

/// Is the session running (from sign-in to the end of confirmation)?
fn in_session(t: &Tender) -> bool {
    let s = &t.session_state;
    s.terminated.is_none() && s.stage.is_some_and(|st| st != Stage::Closed)
}

fn not_in_session() -> AppError {
    conflict("not_in_session", "questions are asked while the session runs (from 签到 to the end of 确认)")
}

/// A signed-in bidder asks the host a question, during the session.
pub async fn ask(state: &AppState, tender_id: Uuid, req: AskQuestion) -> Result<Question, RaiseError> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    if !in_session(&tender) {
        return Err(not_in_session().into());
    }
    check_question_text(&req.text).map_err(AppError::from)?;
    let now = state.store.now().await.map_err(AppError::from)?;
    let msg = question_message(tender_id, &req.text, req.signed_at);
    let bidder = signed_bidder(state, &req.bidder, &msg, &req.signature, req.signed_at, now).await?;
    // Counted once the signature proved the key: nobody spends another's allowance.
    if let Err(not_until) = QUESTION_LIMIT.check_key(&(tender_id, bidder.id.clone())) {
        return Err(RaiseError::Limited(not_until.wait_time_from(DefaultClock::default().now())));
    }
    if !signed_in(state, tender_id, &bidder.id, &facts(state, tender_id).await?) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "not_signed_in",
            "sign in to the room (签到) with this bidder key before asking the host",
        )
        .into());
    }
    let signature = unb64(&req.signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    let q = Question {
        id: Uuid::now_v7(),
        tender: tender_id,
        bidder: bidder.id,
        text: req.text,
        signed_at: req.signed_at,
        signature,
        asked_at: now,
        answer: None,
        answered_at: None,
    };
    state.store.insert_question(&q).await.map_err(AppError::from)?;
    Ok(q)
}

/// The bidder's own questions, for its signed request.
pub async fn mine(state: &AppState, tender_id: Uuid, req: ReadQuestions) -> AppResult<Vec<Question>> {
    visible_tender(state, tender_id, None).await?;
    let now = state.store.now().await?;
    let msg = questions_read_message(tender_id, req.signed_at);
    let bidder = signed_bidder(state, &req.bidder, &msg, &req.signature, req.signed_at, now).await?;
    Ok(state.store.questions(tender_id, Some(&bidder.id)).await?)
}

/// Every question of the tender, for staff.
pub async fn list(state: &AppState, staff: &Staff, tender_id: Uuid) -> AppResult<Vec<Question>> {
    visible_tender(state, tender_id, Some(staff)).await?;
    Ok(state.store.questions(tender_id, None).await?)
}

/// The host answers a question publicly: an announcement quoting it.
pub async fn answer(
    state: &AppState,
    staff: &Staff,
    tender_id: Uuid,
    question: Uuid,
    text: String,
) -> AppResult<Logged> {
    require_host(staff)?;
    visible_tender(state, tender_id, Some(staff)).await?;
    let unknown = || AppError::new(ErrorKind::NotFound, "unknown_question", "this tender has no such question");
    let q = state.store.question(tender_id, question).await?.ok_or_else(unknown)?;
    let answered = || conflict("question_answered", "this question has been answered");
    if q.answer.is_some() {
        return Err(answered());
    }
    // Claimed before the announcement, so two hosts answering at once post
    // one answer; given back if the announcement is refused.
    let id = Uuid::now_v7();
    if !state.store.claim_answer(q.id, id, state.store.now().await?).await? {
        return Err(answered());
    }
    let quoted = QuotedQuestion { question: q.id, text: q.text, asked_at: q.asked_at };
    match post_announcement(state, staff, tender_id, id, text, Some(quoted)).await {
        Ok(logged) => Ok(logged),
        Err(e) => {
            state.store.release_answer(q.id, id).await?;
            Err(e)
        }
    }
}
