//! A bid's own bidder releases its share (bidder-held custody, 远程解密):
//! it decrypted the share locally with its decryption key and sends it
//! signed by its bidder key over tender, bid, share and the time. The server
//! checks the signature against the envelope's bidder key, the time against
//! its clock and the window, and the share against its commitment; a bad
//! share is recorded (and published, with the signature) as the bidder's.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use super::work::load_envelope;
use crate::domain::EventDraft;
use crate::domain::TenderState;
use crate::domain::bid::BidStatus;
use crate::domain::event::{BidderReleased, Digest, EventPayload};
use crate::domain::tender::BIDDER_CUSTODIAN;
use crate::seal::{Share, b64, bidder_release_message, unb64, verify_share};
use crate::store::{ReleasedShare, StoreError};

/// How far the signed time may be from the server's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// A bidder's release of its share of one bid.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidderRelease {
    /// The 33-byte share (x ‖ y), base64url, as decrypted from the envelope.
    pub share: String,
    /// When the bidder signed, Unix seconds (within five minutes of the server's clock).
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/bidder-release" ‖ 0x00 ‖ tender ‖ bid ‖ share ‖ signed_at (8, big-endian)`.
    pub signature: String,
}

/// What became of the release.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct BidderReleaseResult {
    /// Did the share match its commitment? (A bad one keeps the bid closed,
    /// by the bidder's fault.)
    pub good: bool,
    /// The share's index in the custody policy.
    pub index: u8,
    /// Log index of the `bidder.released` event.
    pub log_index: i64,
}

fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::new(ErrorKind::Conflict, code, message)
}

/// Releases the bidder's share of `bid_id` in tender `tender_id`.
pub async fn release(
    state: &AppState,
    tender_id: Uuid,
    bid_id: Uuid,
    req: BidderRelease,
) -> AppResult<BidderReleaseResult> {
    let tender = visible_tender(state, tender_id, None).await?.tender;
    let policy = tender.custody_keys.as_ref().ok_or_else(|| AppError::not_found("custody policy"))?;
    let index = policy.bidder_index().ok_or_else(|| {
        conflict("not_bidder_held", "in this tender bidders hold no share of their bids; custodians release them")
    })?;
    if tender.state != TenderState::Opening {
        return Err(conflict(
            "not_opening",
            format!(
                "a bidder releases its share during the decryption window; the tender is {}",
                tender.state.as_str()
            ),
        ));
    }
    let bid = state
        .store
        .get_bid(bid_id)
        .await?
        .filter(|b| b.tender_id == tender_id)
        .ok_or_else(|| AppError::not_found("bid"))?;
    if bid.status != BidStatus::Active {
        return Err(conflict("not_standing", "this bid did not stand at the close; it has nothing to release"));
    }
    let bytes = unb64(&req.share).map_err(|_| AppError::invalid("share", "must be base64url"))?;
    let share = Share::from_bytes(&bytes).map_err(|e| AppError::invalid("share", e.to_string()))?;
    if share.x != index {
        return Err(AppError::invalid("share", format!("share x is {}, the bidder's share index is {index}", share.x)));
    }
    let share_bytes: [u8; 33] =
        bytes.as_slice().try_into().map_err(|_| AppError::invalid("share", "must be 33 bytes"))?;
    let signature = unb64(&req.signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    let envelope = load_envelope(state, &bid).await.map_err(AppError::internal)?;
    // The envelope's signer is the bid's bidder: nobody else can release for it.
    envelope
        .bidder_public_key
        .verify(&bidder_release_message(tender_id, bid_id, &share_bytes, req.signed_at), &signature)
        .map_err(|_| {
            AppError::new(
                ErrorKind::Forbidden,
                "bad_signature",
                "the release is not signed by the key that signed this bid; only the bid's own bidder releases its share",
            )
        })?;
    // The terms may hold bidder-held decryption to a sign-in (签到) first.
    if tender.terms().sign_in_required
        && !super::objections::has_signed_in(state, tender_id, &envelope.bidder_public_key.key_id()).await?
    {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "sign_in_required",
            "this tender requires bidders to sign in to the room (签到) before releasing their share; sign in, then release",
        ));
    }
    if state.store.shares_of(bid_id).await?.iter().any(|s| s.index == index) {
        return Err(conflict("already_released", "the bidder's share of this bid was already released"));
    }
    let now = state.store.now().await?;
    if now >= tender.release_until() {
        return Err(conflict("window_over", "the decryption window has ended; the share can no longer be released"));
    }
    let signed_at = OffsetDateTime::from_unix_timestamp(req.signed_at)
        .ok()
        .filter(|t| (*t - now).whole_seconds().abs() <= MAX_CLOCK_SKEW_SECS)
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::Unprocessable,
                "stale_release",
                format!(
                    "the signed time must be within {MAX_CLOCK_SKEW_SECS} seconds of the server's clock; sign again"
                ),
            )
        })?;
    let good = verify_share(&envelope, &share).is_ok();
    let envelope_hash = Digest::from_hex(&bid.envelope_hash).map_err(AppError::internal)?;
    let draft = EventDraft::of(EventPayload::BidderReleased(BidderReleased {
        bid_id,
        envelope_hash,
        index,
        good,
        signed_at,
        signature: b64(&signature),
        // A bad share opens nothing; published, it proves the bidder's fault.
        share: (!good).then(|| b64(&bytes)),
    }));
    let released = [ReleasedShare { bid_id, share: bytes, good }];
    let event = match state
        .store
        .release_shares(tender_id, BIDDER_CUSTODIAN, index, &released, Box::new(move |_| Ok(draft)))
        .await
    {
        Ok(Some(e)) => e,
        Ok(None) => return Err(conflict("already_released", "the bidder's share of this bid was already released")),
        Err(StoreError::Domain(_)) => {
            return Err(conflict(
                "window_over",
                "the decryption window has ended; the share can no longer be released",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let log_index = event.log_index;
    state.after_change(std::slice::from_ref(&event));
    Ok(BidderReleaseResult { good, index, log_index })
}
