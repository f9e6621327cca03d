//! The exact bytes a bidder signs outside the envelope: registering its key,
//! withdrawing a bid, signing in to the live room. Same label convention as
//! everything else (`label ‖ 0x00 ‖ fixed-length fields`), so a signature for
//! one purpose can never be replayed for another.

use uuid::Uuid;

use super::binding::labeled;

/// Label of the registration proof.
pub const LABEL_REGISTER: &str = "bidroom/v1/register";
/// Label of a withdrawal.
pub const LABEL_WITHDRAW: &str = "bidroom/v1/withdraw";
/// Label of a live-room sign-in.
pub const LABEL_ROOM_SIGN_IN: &str = "bidroom/v1/room-sign-in";

/// `"bidroom/v1/register" ‖ 0x00 ‖ public key (65)`: proves possession of the
/// identity key being registered.
pub fn register_message(public_key: &[u8]) -> Vec<u8> {
    labeled(LABEL_REGISTER, &[public_key])
}

/// `"bidroom/v1/withdraw" ‖ 0x00 ‖ tender (16) ‖ bid (16)`.
pub fn withdraw_message(tender: Uuid, bid: Uuid) -> Vec<u8> {
    labeled(LABEL_WITHDRAW, &[tender.as_bytes(), bid.as_bytes()])
}

/// `"bidroom/v1/room-sign-in" ‖ 0x00 ‖ tender (16) ‖ nonce (32)`: the nonce
/// comes from the room's hello, so a sign-in cannot be replayed.
pub fn room_sign_in_message(tender: Uuid, nonce: &[u8; 32]) -> Vec<u8> {
    labeled(LABEL_ROOM_SIGN_IN, &[tender.as_bytes(), nonce])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_label_nul_fields() {
        let t = Uuid::from_bytes([1; 16]);
        let b = Uuid::from_bytes([2; 16]);
        let m = withdraw_message(t, b);
        assert_eq!(&m[..20], b"bidroom/v1/withdraw\0");
        assert_eq!(m.len(), 20 + 32);
        assert_eq!(&m[20..36], &[1; 16]);
        let r = register_message(&[4; 65]);
        assert_eq!(&r[..20], b"bidroom/v1/register\0");
        assert_eq!(r.len(), 85);
        let s = room_sign_in_message(t, &[9; 32]);
        assert_eq!(&s[..24], b"bidroom/v1/room-sign-in\0");
        assert_eq!(s.len(), 24 + 16 + 32);
    }
}
