//! Objections (异议), confirmations of the record (签字确认) and the host's
//! announcements. A bidder's statement is signed with its registered key
//! (`domain::objection` gives the bytes); the server checks the key, the
//! time against its clock, the stage and the record, then has the tender's
//! transition record it under the row lock.

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::record_final::{facts, require_host};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::event::{BidderRef, Digest, EventPayload, StaffRef};
use crate::domain::objection::{
    ObjectionRaised, ObjectionRow, QuotedQuestion, RecordConfirmed, check_objection_text, confirm_message,
    objection_message,
};
use crate::domain::record::{Fact, read_bidders, record_hash, record_rows};
use crate::domain::session::Stage;
use crate::domain::text::is_key_id;
use crate::seal::{BidderPublicKey, unb64};
use crate::store::{Event, Staff, StoreError};

/// How far a signed time may be from the server's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Objections one bidder may raise per minute in one tender.
pub const OBJECTIONS_PER_MINUTE: u32 = 5;

type Keyed = RateLimiter<(Uuid, String), DefaultKeyedStateStore<(Uuid, String)>, DefaultClock>;

/// Per bidder and tender, in this process (like the other write limits):
/// enough for a real objection and its follow-ups, not for flooding the room.
static OBJECTION_LIMIT: LazyLock<Keyed> = LazyLock::new(|| {
    let rate = NonZeroU32::new(OBJECTIONS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(rate))
});

/// A bidder's objection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseObjection {
    /// The bidder's key id.
    pub bidder: String,
    /// The objection, 1 to 2,000 characters (line breaks allowed).
    pub text: String,
    /// The record row it is about, if any.
    #[serde(default)]
    pub row: Option<ObjectionRow>,
    /// Raise it as the answer to the record (有异议), in confirmation.
    #[serde(default)]
    pub on_record: bool,
    /// When the bidder signed, Unix seconds (within five minutes of the server's clock).
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/objection" ‖ 0x00 ‖ tender ‖ SHA-256(text) ‖ signed_at (8, big-endian)`.
    pub signature: String,
}

/// A bidder's confirmation of the record (无异议).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRecord {
    /// The bidder's key id.
    pub bidder: String,
    /// The record hash it was shown (`GET …/record`'s `record_hash`), hex.
    pub record_hash: String,
    /// When the bidder signed, Unix seconds.
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/record-confirm" ‖ 0x00 ‖ tender ‖ record hash ‖ signed_at (8, big-endian)`.
    pub signature: String,
}

/// What the server recorded.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Logged {
    /// The objection's or announcement's id (`null` for a confirmation).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub id: Option<Uuid>,
    /// The event's kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its sequence number in the tender's stream.
    pub seq: i64,
    /// Index of its log entry.
    pub log_index: i64,
}

/// Why an objection was not taken.
#[derive(Debug)]
pub enum RaiseError {
    /// A refusal with its code.
    App(AppError),
    /// Over the per-bidder limit: come back after this long.
    Limited(Duration),
}

impl From<AppError> for RaiseError {
    fn from(e: AppError) -> Self {
        RaiseError::App(e)
    }
}

pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::new(ErrorKind::Conflict, code, message)
}

pub(crate) fn logged(events: &[Event], id: Option<Uuid>) -> AppResult<Logged> {
    let e = events.first().ok_or_else(|| AppError::internal("a transition without its event"))?;
    Ok(Logged { id, kind: e.kind.clone(), seq: e.seq, log_index: e.log_index })
}

/// The registered bidder `key_id`, its signature over `msg` checked, and
/// the signed time near the server's clock.
pub(crate) async fn signed_bidder(
    state: &AppState,
    key_id: &str,
    msg: &[u8],
    signature: &str,
    signed_at: i64,
    now: OffsetDateTime,
) -> AppResult<BidderRef> {
    let unknown = || AppError::new(ErrorKind::NotFound, "unknown_bidder", "no bidder is registered under this key id");
    if !is_key_id(key_id) {
        return Err(unknown());
    }
    let bidder = state.store.get_bidder(key_id).await?.ok_or_else(unknown)?;
    let key = BidderPublicKey::from_bytes(&bidder.public_key).map_err(AppError::internal)?;
    let sig = unb64(signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    key.verify(msg, &sig).map_err(|_| {
        AppError::new(ErrorKind::Forbidden, "bad_signature", "the signature is not this bidder's over these bytes")
    })?;
    let near = OffsetDateTime::from_unix_timestamp(signed_at)
        .is_ok_and(|t| (t - now).whole_seconds().abs() <= MAX_CLOCK_SKEW_SECS);
    if !near {
        return Err(AppError::new(
            ErrorKind::Unprocessable,
            "stale_signature",
            format!("the signed time must be within {MAX_CLOCK_SKEW_SECS} seconds of the server's clock; sign again"),
        ));
    }
    Ok(BidderRef { id: bidder.id, name: Some(bidder.name) })
}

/// Has this bidder signed in to the tender's room (`room.signed_in` under its pseudonym)?
pub(crate) fn signed_in(state: &AppState, tender: Uuid, bidder: &str, facts: &[Fact]) -> bool {
    let pseudonym = state.live.pseudonym(tender, bidder);
    facts.iter().any(|f| matches!(&f.payload, EventPayload::RoomSignIn(s) if s.bidder == pseudonym))
}

/// Has `bidder` signed in to the room of `tender`? (`sign_in_required`
/// holds bidder-held decryption to it.)
pub(crate) async fn has_signed_in(state: &AppState, tender: Uuid, bidder: &str) -> AppResult<bool> {
    Ok(signed_in(state, tender, bidder, &facts(state, tender).await?))
}

fn wrong_stage(e: crate::domain::DomainError) -> AppError {
    conflict("wrong_stage", e.to_string())
}

/// Raises an objection of a signed-in bidder.
pub async fn raise(state: &AppState, tender_id: Uuid, req: RaiseObjection) -> Result<Logged, RaiseError> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    tender.objection_stage().map_err(wrong_stage)?;
    check_objection_text(&req.text).map_err(AppError::from)?;
    let now = state.store.now().await.map_err(AppError::from)?;
    let msg = objection_message(tender_id, &req.text, req.signed_at);
    let bidder = signed_bidder(state, &req.bidder, &msg, &req.signature, req.signed_at, now).await?;
    // Counted once the signature proved the key: nobody spends another's allowance.
    if let Err(not_until) = OBJECTION_LIMIT.check_key(&(tender_id, bidder.id.clone())) {
        return Err(RaiseError::Limited(not_until.wait_time_from(DefaultClock::default().now())));
    }
    let facts = facts(state, tender_id).await?;
    if !signed_in(state, tender_id, &bidder.id, &facts) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "not_signed_in",
            "sign in to the room (签到) with this bidder key before raising an objection",
        )
        .into());
    }
    if let Some(row) = &req.row {
        let rows = record_rows(&facts);
        let matches = |r: &serde_json::Value| {
            row.bid_id.is_none_or(|b| r["bid_id"].as_str() == Some(b.to_string().as_str()))
                && row.log_index.is_none_or(|i| r["log_index"].as_i64() == Some(i))
        };
        if (row.bid_id.is_none() && row.log_index.is_none()) || !rows.iter().any(matches) {
            let e = AppError::new(ErrorKind::Unprocessable, "unknown_row", "the record has no such row");
            return Err(AppError { field: Some("row".into()), ..e }.into());
        }
    }
    if req.on_record && !read_bidders(&facts).iter().any(|b| b.id == bidder.id) {
        return Err(not_in_record().into());
    }
    let objection = Uuid::now_v7();
    let raised = ObjectionRaised {
        objection,
        bidder,
        stage: Stage::Announcement,
        at: now,
        signed_at: req.signed_at,
        text: req.text,
        row: req.row,
        signature: req.signature,
        on_record: req.on_record,
    };
    let f = Box::new(move |t: &mut crate::domain::Tender, c: &crate::store::TransitionContext| {
        t.raise_objection(ObjectionRaised { at: c.now, ..raised })
    });
    let (_, events) = state.store.update_tender(tender_id, "bidder", "objection.raise", f).await.map_err(refusal)?;
    state.after_change(&events);
    Ok(logged(&events, Some(objection))?)
}

fn not_in_record() -> AppError {
    AppError::new(
        ErrorKind::Forbidden,
        "not_in_record",
        "only a bidder whose bid was read answers the record; this key's bid was not",
    )
}

/// A transition refused under the lock: the stage moved meanwhile.
fn refusal(e: StoreError) -> AppError {
    match e {
        StoreError::Domain(d @ crate::domain::DomainError::Transition { .. }) => conflict("wrong_stage", d.to_string()),
        other => other.into(),
    }
}

/// The host answers an objection.
pub async fn answer(
    state: &AppState,
    staff: &Staff,
    tender_id: Uuid,
    objection: Uuid,
    text: String,
) -> AppResult<Logged> {
    require_host(staff)?;
    let tender = visible_tender(state, tender_id, Some(staff)).await?.tender;
    if !tender.session_state.open_objections.contains(&objection) {
        let facts = facts(state, tender_id).await?;
        let raised =
            facts.iter().any(|f| matches!(&f.payload, EventPayload::ObjectionRaised(o) if o.objection == objection));
        return Err(if raised {
            conflict("already_answered", "this objection has been answered")
        } else {
            AppError::new(ErrorKind::NotFound, "unknown_objection", "this tender has no such objection")
        });
    }
    let by = StaffRef { staff: staff.id, name: staff.name.clone() };
    let f = Box::new(move |t: &mut crate::domain::Tender, c: &crate::store::TransitionContext| {
        t.answer_objection(objection, text, by, c.now)
    });
    let (_, events) =
        state.store.update_tender(tender_id, &staff.id.to_string(), "objection.answer", f).await.map_err(refusal)?;
    state.after_change(&events);
    logged(&events, Some(objection))
}

/// A bidder whose bid was read confirms the record it was shown.
pub async fn confirm(state: &AppState, tender_id: Uuid, req: ConfirmRecord) -> AppResult<Logged> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    if tender.session_state.stage != Some(Stage::Confirmation) || tender.session_state.terminated.is_some() {
        return Err(conflict("wrong_stage", "the record is confirmed in the confirmation stage (确认) only"));
    }
    let hash = Digest::from_hex(&req.record_hash)
        .map_err(|_| AppError::invalid("record_hash", "must be 64 lower-case hex digits"))?;
    let now = state.store.now().await?;
    let msg = confirm_message(tender_id, &hash.0, req.signed_at);
    let bidder = signed_bidder(state, &req.bidder, &msg, &req.signature, req.signed_at, now).await?;
    let facts = facts(state, tender_id).await?;
    if !read_bidders(&facts).iter().any(|b| b.id == bidder.id) {
        return Err(not_in_record());
    }
    let current = record_hash(tender_id, &record_rows(&facts));
    if current != hash.0 {
        return Err(conflict(
            "record_changed",
            format!("the record's hash is {}; fetch the record again and confirm what it says", hex::encode(current)),
        ));
    }
    if tender.session_state.responded.contains(&bidder.id) {
        return Err(conflict("already_responded", "this bidder has already answered the record"));
    }
    let confirmed =
        RecordConfirmed { bidder, record_hash: hash, at: now, signed_at: req.signed_at, signature: req.signature };
    let f = Box::new(move |t: &mut crate::domain::Tender, c: &crate::store::TransitionContext| {
        t.confirm_record(RecordConfirmed { at: c.now, ..confirmed })
    });
    let (_, events) = state.store.update_tender(tender_id, "bidder", "record.confirm", f).await.map_err(refusal)?;
    state.after_change(&events);
    logged(&events, None)
}

/// The host posts an announcement to the room.
pub async fn announce(state: &AppState, staff: &Staff, tender_id: Uuid, text: String) -> AppResult<Logged> {
    require_host(staff)?;
    visible_tender(state, tender_id, Some(staff)).await?;
    post_announcement(state, staff, tender_id, Uuid::now_v7(), text, None).await
}

/// Logs announcement `id` (a host checked by the caller); `reply_to`
/// quotes the question it answers (`app::questions`).
pub(crate) async fn post_announcement(
    state: &AppState,
    staff: &Staff,
    tender_id: Uuid,
    id: Uuid,
    text: String,
    reply_to: Option<QuotedQuestion>,
) -> AppResult<Logged> {
    let by = StaffRef { staff: staff.id, name: staff.name.clone() };
    let f = Box::new(move |t: &mut crate::domain::Tender, c: &crate::store::TransitionContext| {
        t.post_announcement(id, text, by, reply_to, c.now)
    });
    let (_, events) =
        state.store.update_tender(tender_id, &staff.id.to_string(), "announcement.post", f).await.map_err(
            |e| match e {
                StoreError::Domain(d @ crate::domain::DomainError::Transition { .. }) => {
                    conflict("not_in_session", d.to_string())
                }
                other => other.into(),
            },
        )?;
    state.after_change(&events);
    logged(&events, Some(id))
}
