//! Bidders' decryption keys (the registry's part for bidder-held custody):
//! a bidder binds an HPKE key to its identity with a signature of its own
//! bidder key, and each of its bids seals the policy's `bidder` slot to it.

use serde::{Deserialize, Serialize};

use super::error::{AppError, AppResult, ErrorKind};
use super::registry::bidder;
use super::state::AppState;
use crate::domain::tender::SealedCustody;
use crate::seal::{BidderPublicKey, CustodianPublicKey, b64, decryption_key_message, unb64};
use crate::store::{DecryptionKeyRecord, KeySet};

/// A bidder binding its HPKE decryption key to its identity.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDecryptionKey {
    /// HPKE P-256 public key, SEC1 uncompressed, base64url.
    pub public_key: String,
    /// The key it replaces, base64url; absent or null for the first.
    #[serde(default)]
    pub previous: Option<String>,
    /// The bidder key's signature (r‖s, base64url) over
    /// `"bidroom/v1/bidder-decryption-key" ‖ 0x00 ‖ bidder public key ‖
    /// this key ‖ previous key (or 65 zero bytes)`.
    pub signature: String,
}

/// A 65-byte SEC1 key sent as base64url.
fn key65(field: &str, text: &str) -> AppResult<[u8; 65]> {
    let bytes = unb64(text).map_err(|_| AppError::invalid(field, "must be base64url"))?;
    let key = CustodianPublicKey::from_bytes(&bytes).map_err(|e| AppError::invalid(field, e.to_string()))?;
    Ok(*key.as_bytes())
}

/// Registers (or, with the previous key named, replaces) a bidder's
/// decryption key. Only a signature of the bidder's own key does it, so
/// nobody registers a key for someone else; true when something changed.
pub async fn register_decryption_key(
    state: &AppState,
    bidder_id: &str,
    req: RegisterDecryptionKey,
) -> AppResult<(DecryptionKeyRecord, bool)> {
    let owner = bidder(state, bidder_id).await?;
    let bidder_key = BidderPublicKey::from_bytes(&owner.public_key).map_err(AppError::internal)?;
    let key = key65("public_key", &req.public_key)?;
    let previous = req.previous.as_deref().map(|p| key65("previous", p)).transpose()?;
    let signature = unb64(&req.signature).map_err(|_| AppError::invalid("signature", "must be base64url"))?;
    bidder_key.verify(&decryption_key_message(bidder_key.as_bytes(), &key, previous.as_ref()), &signature).map_err(
        |_| {
            AppError::new(
                ErrorKind::Forbidden,
                "bad_signature",
                "the signature is not this bidder's key signing the decryption-key statement; only the bidder \
                 itself registers its decryption key",
            )
        },
    )?;
    // A custodian's key in the bidder's slot would put two shares under one key.
    if state.store.list_custodians().await?.iter().any(|c| c.public_key == key) {
        return Err(AppError::invalid("public_key", "this is a custodian's key; use a key of your own"));
    }
    let record = DecryptionKeyRecord {
        bidder_id: owner.id.clone(),
        public_key: key.to_vec(),
        signature,
        registered_at: state.store.now().await?,
    };
    match state.store.set_decryption_key(&record, previous.as_ref().map(|p| p.as_slice())).await? {
        KeySet::Stored(r) => Ok((r, true)),
        KeySet::Unchanged(r) => Ok((r, false)),
        KeySet::Taken => Err(AppError::new(
            ErrorKind::Conflict,
            "decryption_key_taken",
            "another bidder registered this decryption key; make a new one",
        )),
        KeySet::Stale(current) => Err(AppError::new(
            ErrorKind::Conflict,
            "stale_decryption_key",
            match current {
                None => "the bidder has no decryption key yet; the first statement names no previous key".to_string(),
                Some(c) => format!(
                    "the statement replaces another key than the bidder's current one ({}); sign a statement \
                     naming the current key as previous",
                    b64(&c.public_key)
                ),
            },
        )),
    }
}

/// A bidder's registered decryption key (public: bids are sealed to it).
pub async fn decryption_key(state: &AppState, bidder_id: &str) -> AppResult<DecryptionKeyRecord> {
    bidder(state, bidder_id).await?;
    state.store.decryption_key(bidder_id).await?.ok_or_else(|| AppError::not_found("decryption key"))
}

/// The policy `bidder_id`'s bids must be sealed to: the tender's, with the
/// bidder's slot (if any) holding that bidder's registered decryption key.
pub async fn policy_for_bidder(state: &AppState, policy: &SealedCustody, bidder_id: &str) -> AppResult<SealedCustody> {
    if policy.bidder_index().is_none() {
        return Ok(policy.clone());
    }
    let record = state.store.decryption_key(bidder_id).await?.ok_or_else(|| {
        AppError::new(
            ErrorKind::Unprocessable,
            "no_decryption_key",
            "in this tender the bidder holds a share of its own bid: register a decryption key first",
        )
    })?;
    let key = CustodianPublicKey::from_bytes(&record.public_key).map_err(AppError::internal)?;
    Ok(policy.with_bidder_key(&key))
}
