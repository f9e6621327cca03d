//! The sealed form: AES-256-GCM under the form key,
//! `nonce (12) ‖ ct ‖ tag (16)`, AAD `"bidroom/v1/form" ‖ 0x00 ‖ tender ‖ bid`.

use super::binding::{Binding, LABEL_FORM_AAD};
use super::kdf::SymmetricKey;
use super::{SealError, aead};

/// Encrypt the form JSON bytes.
pub fn seal_form(binding: &Binding, form_key: &SymmetricKey, form: &[u8]) -> Result<Vec<u8>, SealError> {
    aead::seal(form_key.as_bytes(), &binding.labeled(LABEL_FORM_AAD, &[]), form)
}

/// Decrypt the form ciphertext (no commitment or hash checks: see
/// [`super::open_form`] for the checked version).
pub fn open_form_raw(binding: &Binding, form_key: &SymmetricKey, ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    aead::open(form_key.as_bytes(), &binding.labeled(LABEL_FORM_AAD, &[]), ciphertext)
        .ok_or(SealError::FormDecryptFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn round_trip_and_binding() {
        let b = Binding::new(Uuid::new_v4(), Uuid::new_v4());
        let key = SymmetricKey::from_bytes(&[7u8; 32]).unwrap();
        let ct = seal_form(&b, &key, b"{\"price\":\"100\"}").unwrap();
        assert_eq!(ct.len(), 15 + aead::OVERHEAD);
        assert_eq!(open_form_raw(&b, &key, &ct).unwrap(), b"{\"price\":\"100\"}");
        let other = Binding::new(Uuid::new_v4(), b.bid_id);
        assert_eq!(open_form_raw(&other, &key, &ct), Err(SealError::FormDecryptFailed));
        let mut bad = ct.clone();
        bad[20] ^= 1;
        assert_eq!(open_form_raw(&b, &key, &bad), Err(SealError::FormDecryptFailed));
        assert_eq!(open_form_raw(&b, &key, &ct[..10]), Err(SealError::FormDecryptFailed));
    }
}
