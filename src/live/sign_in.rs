//! Bidder sign-in to the room: the bidder signs the hello's nonce with its
//! registered identity key. The room then counts it, and the tender's stream
//! records the sign-in under a pseudonym only — identities stay hidden until
//! the opening.

use ring::hmac;
use serde::Deserialize;
use uuid::Uuid;

use super::Hub;
use crate::domain::EventDraft;
use crate::domain::event::{EventPayload, RoomSignIn};
use crate::seal::{BidderPublicKey, room_sign_in_message, unb64};

/// The one message a client may send: `{"type":"sign_in",…}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    /// Always `"sign_in"`.
    r#type: String,
    /// The bidder's key id.
    bidder: String,
    /// base64url `r ‖ s` over [`room_sign_in_message`].
    signature: String,
}

impl SignIn {
    /// Parses a client message; `None` for anything that is not a sign-in.
    pub(crate) fn parse(text: &str) -> Option<SignIn> {
        serde_json::from_str::<SignIn>(text).ok().filter(|s| s.r#type == "sign_in")
    }
}

/// Why a sign-in was refused (told to the client; the connection stays).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignInError {
    /// Unknown bidder or bad signature (not told apart, on purpose).
    #[error("unknown bidder or bad signature")]
    Refused,
    /// The store failed.
    #[error("the sign-in could not be recorded")]
    Store,
}

/// The per-server secret behind pseudonyms.
pub(crate) struct PseudonymKey(hmac::Key);

impl PseudonymKey {
    /// A key from secret bytes (kept in the data directory).
    pub(crate) fn new(secret: &[u8]) -> Self {
        PseudonymKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// HMAC-SHA256(secret, tender ‖ key id), first 8 bytes, hex: stable for
    /// one bidder in one tender, unlinkable across tenders.
    pub(crate) fn pseudonym(&self, tender: Uuid, key_id: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(tender.as_bytes());
        ctx.update(key_id.as_bytes());
        hex::encode(&ctx.sign().as_ref()[..8])
    }
}

/// Checks a sign-in against the bidder registry; returns the pseudonym.
pub(crate) async fn verify(hub: &Hub, tender: Uuid, nonce: &[u8; 32], req: &SignIn) -> Result<String, SignInError> {
    let bidder = hub.store().get_bidder(&req.bidder).await.map_err(|_| SignInError::Store)?;
    let bidder = bidder.ok_or(SignInError::Refused)?;
    let key = BidderPublicKey::from_bytes(&bidder.public_key).map_err(|_| SignInError::Refused)?;
    let sig = unb64(&req.signature).map_err(|_| SignInError::Refused)?;
    key.verify(&room_sign_in_message(tender, nonce), &sig).map_err(|_| SignInError::Refused)?;
    Ok(hub.pseudonym(tender, &bidder.id))
}

/// Records a new bidder in the room as an event (pseudonym and count only).
pub(crate) async fn record(hub: &Hub, tender: Uuid, pseudonym: &str, signed_in: usize) -> Result<(), SignInError> {
    let data = EventPayload::RoomSignIn(RoomSignIn { bidder: pseudonym.to_string(), signed_in: signed_in as u64 });
    let (_, events) = hub
        .store()
        .update_tender(tender, "room", "room_sign_in", Box::new(move |_, _| Ok(vec![EventDraft::of(data)])))
        .await
        .map_err(|e| {
            tracing::warn!(%tender, error = %e, "room sign-in not recorded");
            SignInError::Store
        })?;
    hub.publish(&events);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_per_tender_and_short() {
        let k = PseudonymKey::new(b"secret");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(k.pseudonym(a, "00aa").len(), 16);
        assert_eq!(k.pseudonym(a, "00aa"), k.pseudonym(a, "00aa"));
        assert_ne!(k.pseudonym(a, "00aa"), k.pseudonym(b, "00aa"));
    }

    #[test]
    fn only_a_well_formed_sign_in_parses() {
        assert!(SignIn::parse(r#"{"type":"sign_in","bidder":"ab","signature":"cd"}"#).is_some());
        assert!(SignIn::parse(r#"{"type":"sign_in","bidder":"ab","signature":"cd","x":1}"#).is_none());
        assert!(SignIn::parse(r#"{"type":"chat","text":"hi"}"#).is_none());
        assert!(SignIn::parse("hello").is_none());
    }
}
