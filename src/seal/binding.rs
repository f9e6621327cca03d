//! Domain-separation labels and the tender/bid binding.
//!
//! Every byte string that is hashed, used as HKDF info, HPKE info or AEAD
//! associated data starts with an ASCII label followed by one 0x00 byte.
//! The terminator makes the labels prefix-free, and every field after it
//! has a fixed length, so no two different inputs can produce the same
//! bytes.

use uuid::Uuid;

/// Version prefix shared by all labels.
pub const VERSION_LABEL: &str = "bidroom/v1";

/// Label of the key commitment.
pub const LABEL_KEY_COMMITMENT: &str = "bidroom/v1/key-commitment";
/// Label of the form key commitment.
pub const LABEL_FORM_KEY_COMMITMENT: &str = "bidroom/v1/form-key-commitment";
/// Label of a share commitment.
pub const LABEL_SHARE_COMMITMENT: &str = "bidroom/v1/share-commitment";
/// Label of the HPKE `info` for a share.
pub const LABEL_SHARE_INFO: &str = "bidroom/v1/share-info";
/// Label of the HPKE `aad` for a share.
pub const LABEL_SHARE_AAD: &str = "bidroom/v1/share-aad";
/// HKDF info label of the form key.
pub const LABEL_FORM_KEY: &str = "bidroom/v1/form-key";
/// HKDF info label of the documents key.
pub const LABEL_DOCUMENTS_KEY: &str = "bidroom/v1/documents-key";
/// HKDF info label of a per-document key.
pub const LABEL_DOCUMENT_KEY: &str = "bidroom/v1/document-key";
/// HKDF info label of the manifest key.
pub const LABEL_MANIFEST_KEY: &str = "bidroom/v1/manifest-key";
/// AEAD associated-data label of the form.
pub const LABEL_FORM_AAD: &str = "bidroom/v1/form";
/// AEAD associated-data label of the document manifest.
pub const LABEL_MANIFEST_AAD: &str = "bidroom/v1/manifest";
/// AEAD associated-data label of a key file.
pub const LABEL_KEY_FILE_AAD: &str = "bidroom/v1/key-file";

/// The tender and bid a sealed object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// Tender id.
    pub tender_id: Uuid,
    /// Bid id.
    pub bid_id: Uuid,
}

impl Binding {
    /// Bind to a tender and a bid.
    pub fn new(tender_id: Uuid, bid_id: Uuid) -> Self {
        Binding { tender_id, bid_id }
    }

    /// `label ‖ 0x00 ‖ tender (16) ‖ bid (16) ‖ extra`.
    pub(crate) fn labeled(&self, label: &str, extra: &[&[u8]]) -> Vec<u8> {
        let mut out = labeled(label, &[self.tender_id.as_bytes(), self.bid_id.as_bytes()]);
        for part in extra {
            out.extend_from_slice(part);
        }
        out
    }

    /// `tender (16) ‖ bid (16)`, the HKDF salt.
    pub(crate) fn salt(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(self.tender_id.as_bytes());
        out[16..].copy_from_slice(self.bid_id.as_bytes());
        out
    }
}

/// `label ‖ 0x00 ‖ parts…`.
pub(crate) fn labeled(label: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(label.as_bytes());
    out.push(0);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_versioned_and_distinct() {
        let all = [
            LABEL_KEY_COMMITMENT,
            LABEL_FORM_KEY_COMMITMENT,
            LABEL_SHARE_COMMITMENT,
            LABEL_SHARE_INFO,
            LABEL_SHARE_AAD,
            LABEL_FORM_KEY,
            LABEL_DOCUMENTS_KEY,
            LABEL_DOCUMENT_KEY,
            LABEL_MANIFEST_KEY,
            LABEL_FORM_AAD,
            LABEL_MANIFEST_AAD,
            LABEL_KEY_FILE_AAD,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.starts_with(VERSION_LABEL) && a.is_ascii() && !a.contains('\0'));
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let b = Binding::new(Uuid::from_u128(1), Uuid::from_u128(2));
        let bytes = b.labeled("x", &[&[9]]);
        assert_eq!(bytes.len(), 1 + 1 + 32 + 1);
        assert_eq!(bytes[1], 0);
        assert_eq!(bytes[17], 1);
        assert_eq!(bytes[33], 2);
    }
}
