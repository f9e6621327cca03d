//! Payloads of the opening session's stages and holds, and of a failed tender.

// The wire vocabulary (Digest, serde, times, ids) is the parent's, shared by every part.
use super::*;

/// `session.stage`: the session entered a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStageEntered {
    /// The stage entered.
    pub stage: Stage,
    /// When it began by the terms (the opening time, the sign-in lead
    /// before it, the end of the stage before), even if processed late.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Its planned end (`null`: none, as for `closed`).
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// When the server wrote it.
    #[serde(with = "time::serde::rfc3339")]
    pub processed_at: OffsetDateTime,
    /// The ceiling and reference prices, announced at the start of the 唱标.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<PriceLimit>,
}

/// `session.paused` and `session.suspended`: the countdown froze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHeld {
    /// The stage held.
    pub stage: Stage,
    /// Server time of the hold.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The stage's time left, frozen (`null`: the stage has no end).
    pub time_left_ms: Option<i64>,
    /// The public notice (a suspension's; a pause's is optional).
    pub notice: Option<String>,
    /// Who held it.
    pub by: StaffRef,
}

/// `session.resumed`: the countdown runs again with the time that was left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResumed {
    /// The stage resumed.
    pub stage: Stage,
    /// Server time of the resumption.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What was held: a pause or a suspension.
    pub from: HoldKind,
    /// How long it was held, in milliseconds; every end ahead moved by it.
    pub held_ms: i64,
    /// The stage's new end.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Who resumed it.
    pub by: StaffRef,
}

/// `session.extended`: the current stage got more time, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionExtended {
    /// The stage extended.
    pub stage: Stage,
    /// By how many minutes.
    pub minutes: u32,
    /// Why, in public.
    pub reason: String,
    /// The stage's new end.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Who extended it.
    pub by: StaffRef,
}

/// `session.terminated`: the host ended the session (终止); nothing more opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTerminated {
    /// The stage it was in (`null`: before sign-in).
    pub stage: Option<Stage>,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why, in public.
    pub reason: String,
    /// The tender's state before.
    pub previous_state: TenderState,
    /// Who terminated it.
    pub by: StaffRef,
}

/// A lot's count of bidders against the minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotCount {
    /// The lot's id.
    pub lot: String,
    /// Distinct bidders with a standing bid at the close.
    pub bidders: u64,
}

/// `tender.failed` (流标): too few bidders; nothing is decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderFailed {
    /// The lots that failed, each with its count. When every lot of the
    /// tender is here the whole tender failed; otherwise the others open.
    pub lots: Vec<LotCount>,
    /// The terms' minimum of distinct bidders per lot.
    pub min_bids: u32,
    /// Did every lot fail (the tender moves to `failed`)?
    pub whole: bool,
    /// The rule, in words, for the record.
    pub rule: String,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

// --- draws ---
