//! Rules for sealed bids that need no cryptography: when a tender accepts
//! them, what a submission may contain, and how bids replace each other.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::tender::rfc3339;
use super::{DomainError, Tender, TenderState};

/// Where a bid stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BidStatus {
    /// The bidder's current bid for its lot.
    Active,
    /// Superseded by a later bid of the same bidder for the same lot.
    Replaced,
    /// Withdrawn by the bidder before the deadline.
    Withdrawn,
}

impl BidStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BidStatus::Active => "active",
            BidStatus::Replaced => "replaced",
            BidStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(BidStatus::Active),
            "replaced" => Some(BidStatus::Replaced),
            "withdrawn" => Some(BidStatus::Withdrawn),
            _ => None,
        }
    }
}

/// Is the tender accepting bids at `now` (server time)? The deadline is
/// exclusive: a bid received at the deadline instant is late.
pub fn check_accepting(tender: &Tender, now: OffsetDateTime) -> Result<(), DomainError> {
    match tender.state {
        TenderState::Published if now < tender.deadline => Ok(()),
        TenderState::Published | TenderState::Closed => {
            Err(DomainError::DeadlinePassed { deadline: rfc3339(tender.deadline), now: rfc3339(now) })
        }
        other => Err(DomainError::NotAcceptingBids { state: other.as_str() }),
    }
}

/// What the envelope declares, checked against the tender before any
/// ciphertext is accepted.
pub fn check_declared(tender: &Tender, lot: &str, documents: usize, total_bytes: u64) -> Result<(), DomainError> {
    if !tender.lots.iter().any(|l| l.id == lot) {
        return Err(DomainError::invalid("envelope.lot", format!("tender has no lot '{lot}'")));
    }
    if documents > tender.limits.max_documents as usize {
        return Err(DomainError::invalid(
            "envelope.documents",
            format!("{documents} documents; this tender allows at most {}", tender.limits.max_documents),
        ));
    }
    if total_bytes > tender.limits.max_bid_bytes {
        return Err(DomainError::invalid(
            "envelope",
            format!("{total_bytes} bytes of ciphertext; this tender allows at most {}", tender.limits.max_bid_bytes),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tender(state: TenderState) -> Tender {
        let draft: super::super::TenderDraft = serde_json::from_value(serde_json::json!({
            "title": "t", "reference": "r", "buyer": "b", "currency": "EUR",
            "lots": [{"id": "1", "title": "l", "fields": [{"key": "price", "label": {"zh": "价", "en": "Price"}, "type": "money", "required": true}]}],
            "deadline": "2026-11-27T10:00:00Z",
            "limits": {"max_documents": 2, "max_bid_bytes": 10000}
        }))
        .unwrap();
        let mut t = Tender::create(uuid::Uuid::nil(), draft, time::macros::datetime!(2026-11-27 08:00 UTC)).unwrap();
        t.state = state;
        t
    }

    #[test]
    fn accepting_only_while_published_and_before_deadline() {
        let t = tender(TenderState::Published);
        check_accepting(&t, t.deadline - time::Duration::microseconds(1)).unwrap();
        assert!(matches!(check_accepting(&t, t.deadline), Err(DomainError::DeadlinePassed { .. })));
        assert!(matches!(
            check_accepting(&tender(TenderState::Closed), t.deadline),
            Err(DomainError::DeadlinePassed { .. })
        ));
        for s in [TenderState::Draft, TenderState::Cancelled] {
            assert!(matches!(
                check_accepting(&tender(s), t.deadline - time::Duration::hours(1)),
                Err(DomainError::NotAcceptingBids { .. })
            ));
        }
    }

    #[test]
    fn declared_lot_documents_and_size() {
        let t = tender(TenderState::Published);
        check_declared(&t, "1", 2, 10000).unwrap();
        assert!(check_declared(&t, "2", 0, 10).is_err());
        assert!(check_declared(&t, "1", 3, 10).is_err());
        assert!(check_declared(&t, "1", 0, 10001).is_err());
    }

    #[test]
    fn status_round_trip() {
        for s in [BidStatus::Active, BidStatus::Replaced, BidStatus::Withdrawn] {
            assert_eq!(BidStatus::parse(s.as_str()), Some(s));
        }
    }
}
