//! The opening session's use cases: its state on the server clock, for
//! everyone, and the host's controls — pause, resume, extend once, suspend
//! with a public notice, terminate — for officers and admins. Supervisors
//! see everything and act on nothing.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::event::StaffRef;
use crate::domain::session::{HoldKind, Stage, millis};
use crate::domain::tender::SessionTerms;
use crate::domain::{Tender, TenderState};
use crate::store::{Staff, Transition};

/// The session as everyone sees it, on the server clock.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The tender.
    #[schema(value_type = String, format = Uuid)]
    pub tender: Uuid,
    /// The tender's state.
    pub state: TenderState,
    /// The current stage (`null` before sign-in or the opening).
    pub stage: Option<Stage>,
    /// When it began.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    /// When it is planned to end (shifted by holds and an extension).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    /// Milliseconds left in the stage, frozen while held; before the
    /// session, until its first stage.
    pub time_left_ms: Option<i64>,
    /// The next stage before the session begins, and when.
    pub next_stage: Option<Stage>,
    /// When the next stage begins, before the session.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_at: Option<OffsetDateTime>,
    /// Paused by the host.
    pub paused: bool,
    /// Suspended for a system failure.
    pub suspended: bool,
    /// Since when it is held.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub held_since: Option<OffsetDateTime>,
    /// The public notice of the hold.
    pub notice: Option<String>,
    /// Stages extended so far (each at most once).
    pub extended: Vec<Stage>,
    /// Why it was terminated, if it was.
    pub terminated: Option<String>,
    /// Lots that failed for too few bidders (流标).
    pub failed_lots: Vec<String>,
    /// Objections waiting for the host's answer (the session cannot end meanwhile).
    #[schema(value_type = Vec<String>)]
    pub open_objections: Vec<Uuid>,
    /// Bidders (key ids) that answered the record so far.
    pub responded: Vec<String>,
    /// End of the release window (shifted like the decryption stage).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub release_until: OffsetDateTime,
    /// The session's terms.
    pub terms: SessionTerms,
    /// The server's time the view was computed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub now: OffsetDateTime,
}

impl SessionView {
    /// The view of a tender's session at `now`.
    pub fn of(t: &Tender, now: OffsetDateTime) -> SessionView {
        let s = &t.session_state;
        let (next_stage, next_at) = match (s.stage, t.state) {
            (None, TenderState::Published | TenderState::Closed) => match t.sign_in_at() {
                Some(at) if now < at => (Some(Stage::SignIn), Some(at)),
                _ => (Some(Stage::Decryption), Some(t.opening_at)),
            },
            _ => (None, None),
        };
        let time_left_ms = match (s.stage, next_at) {
            (None, Some(at)) => Some(millis(at - now)),
            _ => s.time_left_ms(now),
        };
        let hold = s.hold.as_ref();
        SessionView {
            tender: t.id,
            state: t.state,
            stage: s.stage,
            started_at: s.started_at,
            ends_at: s.ends_at,
            time_left_ms,
            next_stage,
            next_at,
            paused: hold.is_some_and(|h| h.kind == HoldKind::Paused),
            suspended: hold.is_some_and(|h| h.kind == HoldKind::Suspended),
            held_since: hold.map(|h| h.since),
            notice: hold.and_then(|h| h.notice.clone()),
            extended: s.extended.clone(),
            terminated: s.terminated.clone(),
            failed_lots: t.failed_lots.clone(),
            open_objections: s.open_objections.clone(),
            responded: s.responded.clone(),
            release_until: s.release_until.unwrap_or_else(|| t.release_until()),
            terms: t.terms(),
            now,
        }
    }
}

/// The session's state now (public once the tender is).
pub async fn view(state: &AppState, staff: Option<&Staff>, id: Uuid) -> AppResult<SessionView> {
    let tender = visible_tender(state, id, staff).await?.tender;
    Ok(SessionView::of(&tender, state.store.now().await?))
}

/// What the host does.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    /// Freeze the countdown (暂停); an optional public note.
    Pause {
        /// Shown to everyone with the pause.
        #[serde(default)]
        notice: Option<String>,
    },
    /// Continue with the time that was left.
    Resume,
    /// Give the current stage more time, once.
    Extend {
        /// Minutes, 1 to 10080.
        minutes: u32,
        /// Why, in public.
        reason: String,
    },
    /// Suspend for a system failure (暂停开标), with a public notice.
    Suspend {
        /// The public notice.
        notice: String,
    },
    /// End the session for good (终止).
    Terminate {
        /// Why, in public.
        reason: String,
    },
    /// End the confirmation stage now and seal the final record (结束);
    /// refused while an objection waits for its answer.
    End,
}

impl Control {
    fn name(&self) -> &'static str {
        match self {
            Control::Pause { .. } => "session.pause",
            Control::Resume => "session.resume",
            Control::Extend { .. } => "session.extend",
            Control::Suspend { .. } => "session.suspend",
            Control::Terminate { .. } => "session.terminate",
            Control::End => "session.end",
        }
    }
}

/// Only the host's roles act on a session.
fn require_host(staff: &Staff) -> AppResult<()> {
    if staff.role.manages_tenders() {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "a {} can watch the session but not run it; an officer or admin hosts it",
        staff.role.as_str()
    )))
}

/// Applies a host's control and announces its events; returns the session after it.
pub async fn control(state: &AppState, staff: &Staff, id: Uuid, control: Control) -> AppResult<SessionView> {
    require_host(staff)?;
    visible_tender(state, id, Some(staff)).await?;
    let by = StaffRef { staff: staff.id, name: staff.name.clone() };
    if let Control::End = control {
        super::record_final::end(state, id, Some(by)).await?;
        let tender = visible_tender(state, id, Some(staff)).await?.tender;
        return Ok(SessionView::of(&tender, state.store.now().await?));
    }
    let action = control.name();
    let f: Transition = Box::new(move |t, c| match control {
        Control::Pause { notice } => t.hold_session(HoldKind::Paused, notice, by, c.now),
        Control::Suspend { notice } => t.hold_session(HoldKind::Suspended, Some(notice), by, c.now),
        Control::Resume => t.resume_session(by, c.now),
        Control::Extend { minutes, reason } => t.extend_session(minutes, reason, by, c.now),
        Control::Terminate { reason } => t.terminate_session(reason, by, c.now),
        Control::End => Err(crate::domain::DomainError::Transition { action: "end", state: "handled above" }),
    });
    let (tender, events) = state.store.update_tender(id, &staff.id.to_string(), action, f).await?;
    state.after_change(&events);
    Ok(SessionView::of(&tender, state.store.now().await?))
}
