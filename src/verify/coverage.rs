//! Which bids each `custodian.released` covers (its optional `covers`, a
//! bitmap over the bids standing at the close in order of receipt): read
//! against the close, checked for what an honest server cannot write, and
//! handed to the blame of unopened bids so it can be checked bid by bid.
//! Pure: the caller fetches.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::close::StandingBid;
use super::log::LoggedEvent;
use crate::domain::event::{CustodianReleased, EventPayload};
use crate::seal::CustodyPolicy;

/// What the releases in the release window say each custodian covered.
#[derive(Debug, Default)]
pub(crate) struct Covered {
    /// Per custodian: the standing bids (positions) its releases covered,
    /// or `None` when one of them carries no coverage (logged before the
    /// field existed), so nothing is known bid by bid.
    by: HashMap<String, Option<BTreeSet<usize>>>,
    /// Position of each standing bid, by envelope hash (hex).
    position: HashMap<String, usize>,
}

impl Covered {
    /// Did `custodian` release a share of the bid with envelope hash
    /// `hash` in the window? `None`: not known (a release without coverage).
    pub fn released(&self, custodian: &str, hash: &str) -> Option<bool> {
        match self.by.get(custodian) {
            None => Some(false),
            Some(None) => None,
            Some(Some(set)) => Some(self.position.get(hash).is_some_and(|p| set.contains(p))),
        }
    }
}

/// The covered positions of one release, checked on their own: canonical,
/// inside the standing bids, as many as `shares`, every bad share among them.
fn positions(r: &CustodianReleased, standing: &[StandingBid]) -> Result<Option<Vec<usize>>, String> {
    let Some(covers) = &r.covers else { return Ok(None) };
    let positions = covers.positions().map_err(|e| e.to_string())?;
    if let Some(p) = positions.iter().find(|p| **p >= standing.len() as u64) {
        return Err(format!("covers position {p}, but {} bids stood at the close", standing.len()));
    }
    if positions.len() as u64 != r.shares {
        return Err(format!("counts {} shares but covers {} bids", r.shares, positions.len()));
    }
    // Below the standing count, so each fits in usize.
    let positions: Vec<usize> = positions.into_iter().map(|p| p as usize).collect();
    let covered: BTreeSet<&str> = positions.iter().map(|p| standing[*p].envelope_hash.as_str()).collect();
    for bad in &r.bad_shares {
        if !covered.contains(bad.to_hex().as_str()) {
            return Err(format!("lists {bad} as a bad share, a bid it does not cover"));
        }
    }
    Ok(Some(positions))
}

/// Reads the coverage of the releases logged before `until` (the window's
/// end; `None`: no window known), and checks every release's coverage.
///
/// Checked: each coverage is in its canonical form, inside the bids that
/// stood at the close, covers as many bids as the release counts shares and
/// every bid it lists as bad; the release is by one of the policy's
/// custodians with its index; no custodian covers a
/// bid twice (the first share is final); every `bid.opened` was covered by
/// at least k good releases before it (a custodian's release without
/// coverage, or the bid's own bidder's good `bidder.released`, counts as
/// one). Releases without coverage are counted in the summary.
pub(crate) fn check(
    policy: &CustodyPolicy,
    standing: &[StandingBid],
    events: &[LoggedEvent],
    until: Option<time::OffsetDateTime>,
) -> (Covered, String, Vec<String>) {
    let threshold = policy.threshold;
    let position: HashMap<String, usize> =
        standing.iter().enumerate().map(|(i, s)| (s.envelope_hash.clone(), i)).collect();
    let mut covered = Covered { by: HashMap::new(), position };
    // Everything covered so far, per custodian: (position → the share was good).
    let mut so_far: BTreeMap<&str, Option<HashMap<usize, bool>>> = BTreeMap::new();
    let mut bidder_good: BTreeSet<String> = BTreeSet::new();
    let (mut releases, mut without, mut problems) = (0, 0, Vec::new());
    for e in events {
        let at = format!("event {}", e.seq);
        match &e.payload {
            EventPayload::CustodianReleased(r) => {
                releases += 1;
                match policy.custodians.iter().find(|c| c.id == r.custodian) {
                    Some(c) if c.index == r.index => {}
                    Some(_) => problems.push(format!("{at}: {:?} released as share {}", r.custodian, r.index)),
                    None => problems.push(format!("{at}: {:?} is not a custodian of this tender", r.custodian)),
                }
                let positions = match positions(r, standing) {
                    Ok(p) => p,
                    Err(p) => {
                        problems.push(format!("{at} ({}): {p}", r.custodian));
                        continue;
                    }
                };
                let in_window = until.is_none_or(|u| e.at < u);
                let seen = so_far.entry(r.custodian.as_str()).or_insert_with(|| Some(HashMap::new()));
                let Some(positions) = positions else {
                    without += 1;
                    *seen = None;
                    if in_window {
                        covered.by.insert(r.custodian.clone(), None);
                    }
                    continue;
                };
                let bad: BTreeSet<String> = r.bad_shares.iter().map(|d| d.to_hex()).collect();
                for p in &positions {
                    let hash = &standing[*p].envelope_hash;
                    if seen.as_mut().is_some_and(|s| s.insert(*p, !bad.contains(hash)).is_some()) {
                        problems.push(format!(
                            "{at} ({}): covers {hash} a second time; its first share is final",
                            r.custodian
                        ));
                    }
                }
                if in_window {
                    let set = covered.by.entry(r.custodian.clone()).or_insert_with(|| Some(BTreeSet::new()));
                    if let Some(set) = set.as_mut() {
                        set.extend(positions);
                    }
                }
            }
            EventPayload::BidderReleased(r) if r.good => {
                bidder_good.insert(r.envelope_hash.to_hex());
            }
            EventPayload::BidOpened(o) => {
                let hash = o.row.envelope_hash.to_hex();
                let Some(p) = covered.position.get(&hash) else { continue };
                let good = so_far.values().filter(|seen| seen.as_ref().is_none_or(|s| s.get(p) == Some(&true))).count()
                    + usize::from(bidder_good.contains(&hash));
                if good < usize::from(threshold) {
                    problems.push(format!(
                        "{at} ({hash}): opened with {good} good shares released before it, k is {threshold}"
                    ));
                }
            }
            _ => {}
        }
    }
    let summary = if without == 0 {
        format!("{releases} releases, each listing the bids it covers")
    } else {
        format!(
            "{releases} releases, {without} without the bids they cover (logged before the field existed): those custodians' releases are checked by count only"
        )
    };
    (covered, summary, problems)
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;
    use crate::domain::event::{BidOpened, BidRow, BidderRef, Coverage, Digest};
    use crate::seal::Custodian;

    fn hash(i: u8) -> [u8; 32] {
        [i; 32]
    }

    /// Bids 0, 1, 2 stood at the close; server and notary, k = 2.
    fn setup() -> (CustodyPolicy, Vec<StandingBid>) {
        let custodians = ["server", "notary"]
            .iter()
            .enumerate()
            .map(|(i, id)| Custodian { index: i as u8 + 1, id: id.to_string(), public_key: None })
            .collect();
        let standing = (0..3)
            .map(|i| StandingBid {
                envelope_hash: hex::encode(hash(i)),
                lot: "1".into(),
                received_at: OffsetDateTime::UNIX_EPOCH,
            })
            .collect();
        (CustodyPolicy { threshold: 2, custodians }, standing)
    }

    fn release(custodian: &str, index: u8, positions: &[u64], bad: &[u8]) -> CustodianReleased {
        CustodianReleased {
            custodian: custodian.into(),
            index,
            shares: positions.len() as u64,
            bad_shares: bad.iter().map(|i| Digest(hash(*i))).collect(),
            proof: None,
            covers: Coverage::of(positions.iter().copied()).unwrap(),
        }
    }

    fn opened(i: u8) -> EventPayload {
        let row = BidRow {
            bid_id: Uuid::nil(),
            envelope_hash: Digest(hash(i)),
            received_at: OffsetDateTime::UNIX_EPOCH,
            bidder: BidderRef { id: "b".into(), name: None },
            lot: "1".into(),
            position: 1,
        };
        EventPayload::BidOpened(BidOpened {
            row,
            fields: Default::default(),
            form_key: String::new(),
            above_ceiling: None,
        })
    }

    fn run(payloads: Vec<EventPayload>) -> (Covered, Vec<String>) {
        let (policy, standing) = setup();
        let at = OffsetDateTime::UNIX_EPOCH;
        let events: Vec<LoggedEvent> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| LoggedEvent { seq: i as i64 + 1, at, payload, log_index: i as u64 })
            .collect();
        let (covered, _, problems) = check(&policy, &standing, &events, None);
        (covered, problems)
    }

    #[test]
    fn an_honest_opening_passes_and_is_known_bid_by_bid() {
        let (covered, problems) = run(vec![
            EventPayload::CustodianReleased(release("server", 1, &[0, 1, 2], &[])),
            EventPayload::CustodianReleased(release("notary", 2, &[0, 2], &[2])),
            opened(0),
        ]);
        assert_eq!(problems, Vec::<String>::new());
        let h = |i| hex::encode(hash(i));
        assert_eq!(covered.released("notary", &h(0)), Some(true));
        assert_eq!(covered.released("notary", &h(1)), Some(false));
        assert_eq!(covered.released("nobody", &h(1)), Some(false));
    }

    #[test]
    fn doctored_coverage_fails() {
        let mut short = release("notary", 2, &[0, 1], &[]);
        short.shares = 3;
        let mut outside = release("notary", 2, &[0], &[]);
        outside.covers = Coverage::of([3]).unwrap();
        let cases = [
            (vec![EventPayload::CustodianReleased(short)], "counts 3 shares but covers 2"),
            (vec![EventPayload::CustodianReleased(outside)], "but 3 bids stood"),
            (vec![EventPayload::CustodianReleased(release("notary", 2, &[0], &[1]))], "a bid it does not cover"),
            (vec![EventPayload::CustodianReleased(release("notary", 1, &[0], &[]))], "released as share 1"),
            (
                vec![
                    EventPayload::CustodianReleased(release("notary", 2, &[0], &[])),
                    EventPayload::CustodianReleased(release("notary", 2, &[0, 1], &[])),
                ],
                "a second time",
            ),
            // Only the server covered bid 1 (the notary's share of it was bad).
            (
                vec![
                    EventPayload::CustodianReleased(release("server", 1, &[0, 1, 2], &[])),
                    EventPayload::CustodianReleased(release("notary", 2, &[1], &[1])),
                    opened(1),
                ],
                "opened with 1 good shares",
            ),
        ];
        for (payloads, expected) in cases {
            let (_, problems) = run(payloads);
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
        }
    }

    #[test]
    fn a_release_without_coverage_is_unknown_bid_by_bid() {
        let mut old = release("notary", 2, &[0], &[]);
        old.covers = None;
        let (covered, problems) = run(vec![
            EventPayload::CustodianReleased(release("server", 1, &[0, 1, 2], &[])),
            EventPayload::CustodianReleased(old),
            opened(0),
            opened(1),
        ]);
        assert_eq!(problems, Vec::<String>::new(), "it may have covered both");
        assert_eq!(covered.released("notary", &hex::encode(hash(1))), None);
    }
}
