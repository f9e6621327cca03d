//! Opening one bid from its envelope, its good shares and its form
//! ciphertext: pure, so the engine can retry it and tests can drive it.

use serde_json::{Map, Value};

use crate::domain::tender::Lot;
use crate::seal::{Envelope, SealError, Share, SymmetricKey, form_key, open_form, rebuild_key};

/// What came of opening a bid.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    /// Opened: the declared fields and the form key to publish.
    Opened {
        /// The opening-record values.
        fields: Map<String, Value>,
        /// The form key (published so anyone can re-decrypt the form).
        form_key: [u8; 32],
    },
    /// The bidder's envelope is at fault (it is signed, so the blame holds).
    Rejected {
        /// Why, for the record.
        reason: String,
    },
}

/// Opens a bid given at least k shares that matched their commitments.
pub fn evaluate(envelope: &Envelope, good_shares: &[Share], form_ciphertext: &[u8], lot: Option<&Lot>) -> Evaluation {
    let reject = |reason: String| Evaluation::Rejected { reason };
    let key = match rebuild_key(envelope, good_shares) {
        Ok(k) => k,
        Err(SealError::KeyCommitmentMismatch) => {
            return reject(
                "the released shares match their commitments but do not rebuild the committed bid key".into(),
            );
        }
        Err(e) => return reject(format!("the bid key cannot be rebuilt: {e}")),
    };
    let fk: SymmetricKey = match form_key(&envelope.binding(), &key) {
        Ok(k) => k,
        Err(e) => return reject(format!("the form key cannot be derived: {e}")),
    };
    let plaintext = match open_form(envelope, &fk, form_ciphertext) {
        Ok(p) => p,
        Err(SealError::FormKeyCommitmentMismatch) => {
            return reject("the form key does not match its commitment".into());
        }
        Err(SealError::CiphertextHashMismatch) => return reject("the stored form does not match the envelope".into()),
        Err(_) => return reject("the form does not decrypt".into()),
    };
    let fields = match serde_json::from_slice::<Value>(&plaintext) {
        Ok(Value::Object(m)) => m,
        _ => return reject("the decrypted form is not a JSON object".into()),
    };
    let Some(lot) = lot else {
        return reject(format!("the tender has no lot '{}'", envelope.lot));
    };
    if let Err(e) = lot.validate_form(&fields) {
        return reject(format!("the form does not fit the lot's fields: {e}"));
    }
    Evaluation::Opened { fields, form_key: *fk.as_bytes() }
}
