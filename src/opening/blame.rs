//! The outcome of a bid still without k good shares when the release
//! window ended: the pure decision of `evaluate::window_ended` turned into
//! the event the store writes (`bid.rejected` for the bidder's own share,
//! `bid.unopened` for custodians).

use crate::domain::event::{BidRejected, BidRow, BidUnopened, Blame, EventPayload};
use crate::seal::CustodyPolicy;
use crate::store::{Outcome, StoredShare};

use super::evaluate::{WindowEnded, window_ended};

/// The outcome of `row`'s bid given the shares released for it.
pub(super) fn after_window(row: BidRow, shares: &[StoredShare], policy: &CustodyPolicy) -> Outcome {
    let released: Vec<_> = shares.iter().map(|s| (s.index, s.custodian.as_str(), s.good)).collect();
    let bid = row.bid_id;
    match window_ended(policy, &released) {
        WindowEnded::Bidder { share, reason } => Outcome {
            bid,
            outcome: "rejected",
            form_key: None,
            make: Box::new(move |position| {
                let row = BidRow { position, ..row };
                EventPayload::BidRejected(BidRejected { row, blame: Blame::Bidder, reason, bidder_share: Some(share) })
                    .into()
            }),
        },
        WindowEnded::Custodians { blame, not_released_by, bad_shares_from, reason } => Outcome {
            bid,
            outcome: "unopened",
            form_key: None,
            make: Box::new(move |position| {
                let row = BidRow { position, ..row };
                let unopened = BidUnopened { row, reason, blame, not_released_by, bad_shares_from };
                EventPayload::BidUnopened(unopened).into()
            }),
        },
    }
}
