//! Opening one bid from its envelope, its good shares and its form
//! ciphertext: pure, so the engine can retry it and tests can drive it.

use serde_json::{Map, Value};

use crate::domain::event::{BidderShare, Blame, REASON_INCONSISTENT_SHARES};
use crate::domain::tender::Lot;
use crate::seal::{CustodyPolicy, Envelope, SealError, Share, SymmetricKey, form_key, open_form, rebuild_key};

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
        Err(SealError::KeyCommitmentMismatch) => return reject(REASON_INCONSISTENT_SHARES.into()),
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

/// Whose fault it is that a bid had fewer than k good shares when the
/// release window ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowEnded {
    /// The bid's own bidder did not release its share, or released a bad
    /// one: `bid.rejected` (the law treats the bid as withdrawn).
    Bidder {
        /// How its share failed.
        share: BidderShare,
        /// Why, for the record.
        reason: String,
    },
    /// Custodians failed: `bid.unopened`, kept sealed.
    Custodians {
        /// [`Blame::Custodians`] when some share was bad, else not released.
        blame: Blame,
        /// Custodians that released no share of this bid.
        not_released_by: Vec<String>,
        /// Custodians whose share of this bid was bad.
        bad_shares_from: Vec<String>,
        /// Why, for the record.
        reason: String,
    },
}

/// One released share as the decision sees it: index, custodian id, good.
pub type ReleasedSlot<'a> = (u8, &'a str, bool);

/// Decides the blame for a bid without k good shares at the window's end.
///
/// The bidder's own share is decided first: with a bidder-held policy
/// every share is required (k = n), so a bidder that did not release a good
/// share kept its bid closed by itself, whatever the custodians did.
pub fn window_ended(policy: &CustodyPolicy, released: &[ReleasedSlot<'_>]) -> WindowEnded {
    if let Some(index) = policy.bidder_index() {
        match released.iter().find(|(i, _, _)| *i == index) {
            None => {
                return WindowEnded::Bidder {
                    share: BidderShare::NotReleased,
                    reason: "the bidder did not decrypt and release its share before the decryption window ended"
                        .into(),
                };
            }
            Some((_, _, false)) => {
                return WindowEnded::Bidder {
                    share: BidderShare::Bad,
                    reason: "the share the bidder released does not match its commitment".into(),
                };
            }
            Some(_) => {}
        }
    }
    let not_released_by: Vec<String> = policy
        .custodians
        .iter()
        .filter(|c| !released.iter().any(|(i, _, _)| *i == c.index))
        .map(|c| c.id.clone())
        .collect();
    let bad_shares_from: Vec<String> =
        released.iter().filter(|(_, _, good)| !good).map(|(_, c, _)| (*c).to_string()).collect();
    let blame = if bad_shares_from.is_empty() { Blame::CustodiansNotReleased } else { Blame::Custodians };
    let reason = format!("fewer than {} good shares when the release window ended", policy.threshold);
    WindowEnded::Custodians { blame, not_released_by, bad_shares_from, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{Custodian, CustodianSecretKey};

    fn policy(ids: &[&str]) -> CustodyPolicy {
        let custodians = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Custodian {
                index: i as u8 + 1,
                id: (*id).into(),
                public_key: (*id != "bidder").then(|| CustodianSecretKey::generate().unwrap().public_key()),
            })
            .collect();
        CustodyPolicy { threshold: ids.len() as u8, custodians }
    }

    #[test]
    fn the_bidders_own_share_decides_first() {
        let p = policy(&["server", "bidder"]);
        let missing = window_ended(&p, &[(1, "server", true)]);
        assert!(matches!(missing, WindowEnded::Bidder { share: BidderShare::NotReleased, .. }), "{missing:?}");
        let bad = window_ended(&p, &[(1, "server", true), (2, "bidder", false)]);
        assert!(matches!(bad, WindowEnded::Bidder { share: BidderShare::Bad, .. }), "{bad:?}");
        // A silent committee does not excuse a silent bidder.
        let p = policy(&["server", "notary", "bidder"]);
        let both = window_ended(&p, &[(1, "server", true)]);
        assert!(matches!(both, WindowEnded::Bidder { share: BidderShare::NotReleased, .. }), "{both:?}");
    }

    #[test]
    fn a_failing_custodian_is_blamed_when_the_bidder_released() {
        let p = policy(&["server", "notary", "bidder"]);
        let silent = window_ended(&p, &[(1, "server", true), (3, "bidder", true)]);
        assert_eq!(
            silent,
            WindowEnded::Custodians {
                blame: Blame::CustodiansNotReleased,
                not_released_by: vec!["notary".into()],
                bad_shares_from: vec![],
                reason: "fewer than 3 good shares when the release window ended".into(),
            }
        );
        let bad = window_ended(&p, &[(1, "server", true), (2, "notary", false), (3, "bidder", true)]);
        assert!(
            matches!(bad, WindowEnded::Custodians { blame: Blame::Custodians, ref bad_shares_from, .. } if bad_shares_from == &["notary"])
        );
        // Without a bidder slot, nothing changes from before.
        let p = policy(&["server", "notary"]);
        assert!(matches!(window_ended(&p, &[]), WindowEnded::Custodians { .. }));
    }
}
