//! The opening session (开标会) as a pure stage machine.
//!
//! ```text
//! sign_in ──opening time──▶ decryption ──all shares in, or window over──▶ announcement
//!    ──record published──▶ confirmation ──its time over──▶ closed
//! ```
//!
//! Each stage has a planned end on the server clock. The host may pause or
//! suspend the session (the countdown freezes; resuming shifts the end by
//! the time held), extend the current stage once, or terminate it. The
//! state lives in the tender's document; every change is also an event, so
//! the log alone tells the same story (`verify::session` replays it). No
//! clock is read here: every function takes the store's `now`.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::DomainError;

/// A stage of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 签到: bidders sign in to the room before the opening.
    SignIn,
    /// 解密: the custodians' release window.
    Decryption,
    /// 唱标: bids are read out one by one.
    Announcement,
    /// 确认: the record is published and stands for confirmation.
    Confirmation,
    /// 结束: the session is over.
    Closed,
}

impl Stage {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SignIn => "sign_in",
            Stage::Decryption => "decryption",
            Stage::Announcement => "announcement",
            Stage::Confirmation => "confirmation",
            Stage::Closed => "closed",
        }
    }

    /// Stages in order, for checks that a session only moves forward.
    pub fn rank(self) -> u8 {
        match self {
            Stage::SignIn => 0,
            Stage::Decryption => 1,
            Stage::Announcement => 2,
            Stage::Confirmation => 3,
            Stage::Closed => 4,
        }
    }

    /// May the host pause, suspend or extend in this stage? Sign-in ends at
    /// the opening time, a term moved only by an amendment; after the
    /// record nothing is left to hold.
    pub fn controllable(self) -> bool {
        matches!(self, Stage::Decryption | Stage::Announcement)
    }
}

/// Why the session is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// The host paused (暂停).
    Paused,
    /// Suspended for a system failure, with a public notice (暂停开标).
    Suspended,
}

/// A pause or suspension under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hold {
    /// Pause or suspension.
    pub kind: HoldKind,
    /// Since when (server time).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    /// The public notice of a suspension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Where the session is: kept in the tender's document, changed only by
/// the tender's transitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionState {
    /// The current stage (`None` before sign-in opens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// When the stage began.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    /// When it is planned to end, shifted by holds and the extension.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    /// End of the release window, shifted like the decryption stage (kept
    /// after it, as releases are accepted until then).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub release_until: Option<OffsetDateTime>,
    /// A pause or suspension under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// Stages already extended (each at most once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extended: Vec<Stage>,
    /// Why the host terminated the session (终止), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<String>,
    /// Objections raised and not yet answered: while any waits, the
    /// confirmation stage stays open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub open_objections: Vec<uuid::Uuid>,
    /// Bidders (key ids) that answered the record, by confirming or objecting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responded: Vec<String>,
    /// Objections, answers, confirmations and announcements so far: the
    /// final record is sealed only if none came in while it was built.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub acts: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Milliseconds of a duration, never negative.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.whole_milliseconds()).unwrap_or(i64::MAX).max(0)
}

impl SessionState {
    /// Is nothing recorded yet (a tender before its session)?
    pub fn is_empty(&self) -> bool {
        self == &SessionState::default()
    }

    /// Is the session paused or suspended?
    pub fn held(&self) -> bool {
        self.hold.is_some()
    }

    /// Time left in the stage on the server clock: frozen while held, 0
    /// once over, `None` for a stage without an end.
    pub fn time_left_ms(&self, now: OffsetDateTime) -> Option<i64> {
        let ends = self.ends_at?;
        let at = self.hold.as_ref().map_or(now, |h| h.since);
        Some(millis(ends - at))
    }

    /// Enters a stage at `at`, planned to end at `ends_at`.
    pub fn enter(&mut self, stage: Stage, at: OffsetDateTime, ends_at: Option<OffsetDateTime>) {
        self.stage = Some(stage);
        self.started_at = Some(at);
        self.ends_at = ends_at;
        if stage == Stage::Decryption {
            self.release_until = ends_at;
        }
    }

    /// Has the release window ended? Never while held: the window's clock
    /// stands still with the session's.
    pub fn window_over(&self, now: OffsetDateTime, planned: OffsetDateTime) -> bool {
        !self.held() && now >= self.release_until.unwrap_or(planned)
    }

    fn controllable(&self, action: &'static str) -> Result<Stage, DomainError> {
        if self.terminated.is_some() {
            return Err(DomainError::Transition { action, state: "terminated" });
        }
        match self.stage {
            Some(stage) if stage.controllable() => Ok(stage),
            Some(stage) => Err(DomainError::Transition { action, state: stage_state(stage) }),
            None => Err(DomainError::Transition { action, state: "not in session yet" }),
        }
    }

    /// Pauses or suspends; returns the stage and its time left, frozen.
    pub fn hold(
        &mut self,
        kind: HoldKind,
        notice: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(Stage, Option<i64>), DomainError> {
        let action = if kind == HoldKind::Paused { "pause" } else { "suspend" };
        let stage = self.controllable(action)?;
        if let Some(h) = &self.hold {
            let state = if h.kind == HoldKind::Paused { "paused" } else { "suspended" };
            return Err(DomainError::Transition { action, state });
        }
        self.hold = Some(Hold { kind, since: now, notice });
        Ok((stage, self.time_left_ms(now)))
    }

    /// Resumes with the time that was left: every end still ahead moves by
    /// the time held. Returns what was held and for how long.
    pub fn resume(&mut self, now: OffsetDateTime) -> Result<(Hold, Duration), DomainError> {
        let stage = self.controllable("resume")?;
        let hold = self.hold.take().ok_or(DomainError::Transition { action: "resume", state: "running" })?;
        let held = (now - hold.since).max(Duration::ZERO);
        self.ends_at = self.ends_at.map(|t| t + held);
        if stage == Stage::Decryption {
            self.release_until = self.release_until.map(|t| t + held);
        }
        Ok((hold, held))
    }

    /// Extends the current stage once by `minutes`; returns the stage and
    /// its new end.
    pub fn extend(&mut self, minutes: u32, now: OffsetDateTime) -> Result<(Stage, OffsetDateTime), DomainError> {
        let stage = self.controllable("extend")?;
        if self.held() {
            return Err(DomainError::Transition { action: "extend", state: "held; resume it first" });
        }
        if self.extended.contains(&stage) {
            return Err(DomainError::Transition { action: "extend", state: "extended once already in this stage" });
        }
        if !(1..=super::tender::MAX_STAGE_MINUTES).contains(&minutes) {
            return Err(DomainError::invalid("minutes", format!("must be 1 to {}", super::tender::MAX_STAGE_MINUTES)));
        }
        let by = Duration::minutes(i64::from(minutes));
        // A stage already over is extended from now, not from its old end.
        let ends = self.ends_at.map_or(now, |t| t.max(now)) + by;
        self.ends_at = Some(ends);
        if stage == Stage::Decryption {
            self.release_until = Some(ends);
        }
        self.extended.push(stage);
        Ok((stage, ends))
    }

    /// Terminates the session; returns the stage it was in.
    pub fn terminate(&mut self, reason: String) -> Result<Option<Stage>, DomainError> {
        if self.terminated.is_some() {
            return Err(DomainError::Transition { action: "terminate", state: "terminated" });
        }
        if self.stage == Some(Stage::Closed) {
            return Err(DomainError::Transition { action: "terminate", state: "closed" });
        }
        let stage = self.stage;
        self.hold = None;
        self.terminated = Some(reason);
        Ok(stage)
    }
}

fn stage_state(stage: Stage) -> &'static str {
    match stage {
        Stage::SignIn => "in sign-in (the opening time is a term; amend it instead)",
        Stage::Decryption => "in decryption",
        Stage::Announcement => "in the announcement",
        Stage::Confirmation => "in confirmation",
        Stage::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn t(min: i64) -> OffsetDateTime {
        datetime!(2026-12-01 09:00 UTC) + Duration::minutes(min)
    }

    fn decrypting() -> SessionState {
        let mut s = SessionState::default();
        s.enter(Stage::Decryption, t(0), Some(t(10)));
        s
    }

    #[test]
    fn countdown_freezes_while_paused_and_resumes_with_what_was_left() {
        let mut s = decrypting();
        assert_eq!(s.time_left_ms(t(4)), Some(6 * 60_000));
        let (stage, left) = s.hold(HoldKind::Paused, None, t(4)).unwrap();
        assert_eq!((stage, left), (Stage::Decryption, Some(6 * 60_000)));
        assert_eq!(s.time_left_ms(t(9)), Some(6 * 60_000), "frozen");
        assert!(!s.window_over(t(30), t(10)), "never over while held");
        let (hold, held) = s.resume(t(9)).unwrap();
        assert_eq!((hold.kind, held), (HoldKind::Paused, Duration::minutes(5)));
        assert_eq!(s.ends_at, Some(t(15)));
        assert_eq!(s.release_until, Some(t(15)));
        assert_eq!(s.time_left_ms(t(9)), Some(6 * 60_000));
        assert!(!s.window_over(t(14), t(10)));
        assert!(s.window_over(t(15), t(10)));
        assert_eq!(s.time_left_ms(t(20)), Some(0));
    }

    #[test]
    fn holds_do_not_nest_and_resume_needs_a_hold() {
        let mut s = decrypting();
        s.hold(HoldKind::Suspended, Some("power".into()), t(1)).unwrap();
        assert!(s.hold(HoldKind::Paused, None, t(2)).is_err());
        s.resume(t(3)).unwrap();
        assert!(s.resume(t(4)).is_err());
    }

    #[test]
    fn extend_once_per_stage_and_not_while_held() {
        let mut s = decrypting();
        assert_eq!(s.extend(5, t(1)).unwrap(), (Stage::Decryption, t(15)));
        assert!(s.extend(5, t(2)).is_err(), "once");
        s.enter(Stage::Announcement, t(3), Some(t(33)));
        assert_eq!(s.release_until, Some(t(15)), "the window is the decryption stage's");
        s.hold(HoldKind::Paused, None, t(4)).unwrap();
        assert!(s.extend(5, t(5)).is_err(), "held");
        s.resume(t(6)).unwrap();
        assert_eq!(s.release_until, Some(t(15)), "a hold in the announcement leaves the window alone");
        assert_eq!(s.extend(10, t(40)).unwrap(), (Stage::Announcement, t(50)), "an overrun stage extends from now");
        assert!(s.extend(0, t(41)).is_err());
    }

    #[test]
    fn controls_only_in_decryption_and_announcement() {
        let mut s = SessionState::default();
        assert!(s.hold(HoldKind::Paused, None, t(0)).is_err());
        s.enter(Stage::SignIn, t(-30), Some(t(0)));
        assert!(s.hold(HoldKind::Paused, None, t(-10)).is_err());
        assert!(s.extend(5, t(-10)).is_err());
        s.enter(Stage::Confirmation, t(40), Some(t(70)));
        assert!(s.hold(HoldKind::Paused, None, t(41)).is_err());
    }

    #[test]
    fn terminate_once_and_then_nothing() {
        let mut s = decrypting();
        s.hold(HoldKind::Paused, None, t(1)).unwrap();
        assert_eq!(s.terminate("fraud".into()).unwrap(), Some(Stage::Decryption));
        assert!(!s.held(), "a terminated session is not held");
        assert!(s.terminate("again".into()).is_err());
        assert!(s.hold(HoldKind::Paused, None, t(2)).is_err());
        assert!(s.resume(t(2)).is_err());
    }
}
