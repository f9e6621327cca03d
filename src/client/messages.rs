//! The byte strings a bidder signs besides the envelope itself.
//!
//! Both follow the protocol's label convention (`label ‖ 0x00 ‖ fixed-length
//! fields`), so a signature made for one purpose can never be replayed for
//! another: an envelope is JSON and never starts with these labels.
//! The server verifies with the same functions.

use uuid::Uuid;

/// Label of the proof of possession sent when registering an identity key.
pub const REGISTER_LABEL: &str = "bidroom/v1 register";
/// Label of a bid withdrawal.
pub const WITHDRAW_LABEL: &str = "bidroom/v1 withdraw";

fn labeled(label: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(label.as_bytes());
    out.push(0);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// `"bidroom/v1 register" ‖ 0x00 ‖ public key (65 bytes SEC1)`: signed with
/// the key being registered, proving the registrant holds it.
pub fn register_message(public_key: &[u8]) -> Vec<u8> {
    labeled(REGISTER_LABEL, &[public_key])
}

/// `"bidroom/v1 withdraw" ‖ 0x00 ‖ tender (16 bytes) ‖ bid (16 bytes)`:
/// signed by the bid's signer to withdraw it.
pub fn withdraw_message(tender_id: Uuid, bid_id: Uuid) -> Vec<u8> {
    labeled(WITHDRAW_LABEL, &[tender_id.as_bytes(), bid_id.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_exact() {
        let pk = [4u8; 65];
        let m = register_message(&pk);
        assert_eq!(&m[..19], b"bidroom/v1 register");
        assert_eq!(m[19], 0);
        assert_eq!(&m[20..], &pk[..]);

        let t = Uuid::from_u128(0x0102);
        let b = Uuid::from_u128(0x0304);
        let m = withdraw_message(t, b);
        assert_eq!(&m[..19], b"bidroom/v1 withdraw");
        assert_eq!(m[19], 0);
        assert_eq!(&m[20..36], t.as_bytes());
        assert_eq!(&m[36..], b.as_bytes());
    }
}
