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

/// Label of a bidder's decryption-key registration.
pub const LABEL_DECRYPTION_KEY: &str = "bidroom/v1/bidder-decryption-key";
/// Label of a bidder's release of its own share.
pub const LABEL_BIDDER_RELEASE: &str = "bidroom/v1/bidder-release";

/// `"bidroom/v1/bidder-decryption-key" ‖ 0x00 ‖ bidder public key (65) ‖
/// new decryption public key (65) ‖ previous decryption public key (65, or
/// 65 zero bytes for the first)`: the bidder binds its HPKE decryption key
/// to its identity; naming the key it replaces makes an old statement
/// useless once the key has changed (no rollback by replay).
pub fn decryption_key_message(bidder: &[u8; 65], key: &[u8; 65], previous: Option<&[u8; 65]>) -> Vec<u8> {
    labeled(LABEL_DECRYPTION_KEY, &[bidder, key, previous.unwrap_or(&[0; 65])])
}

/// `"bidroom/v1/bidder-release" ‖ 0x00 ‖ tender (16) ‖ bid (16) ‖ share (33)
/// ‖ signed at (8, big-endian two's-complement Unix seconds)`: the bidder
/// releases its share of one bid; the server takes it only near its own
/// clock, and a share is released once.
pub fn bidder_release_message(tender: Uuid, bid: Uuid, share: &[u8; 33], signed_at: i64) -> Vec<u8> {
    labeled(LABEL_BIDDER_RELEASE, &[tender.as_bytes(), bid.as_bytes(), share, &signed_at.to_be_bytes()])
}

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
        let d = decryption_key_message(&[4; 65], &[5; 65], None);
        assert_eq!(&d[..33], b"bidroom/v1/bidder-decryption-key\0");
        assert_eq!(d.len(), 33 + 195);
        assert_eq!(&d[33 + 130..], &[0; 65]);
        assert_ne!(d, decryption_key_message(&[4; 65], &[5; 65], Some(&[6; 65])));
        let r = bidder_release_message(t, b, &[3; 33], -1);
        assert_eq!(&r[..26], b"bidroom/v1/bidder-release\0");
        assert_eq!(r.len(), 26 + 32 + 33 + 8);
        assert_eq!(&r[26 + 32 + 33..], &[0xff; 8]);
    }
}
