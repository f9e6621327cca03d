//! The opening session against its terms, from the logged events alone:
//! the stages move forward at the times the terms and the host's logged
//! controls give; nothing opens while the session is held, before the 唱标
//! or after a termination; and the minimum of bidders (流标) was applied
//! to the bids that stood at the close. Pure: the caller fetches.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::close::Close;
use super::log::LoggedEvent;
use crate::domain::event::EventPayload;
use crate::domain::session::{HoldKind, Stage, millis};
use crate::domain::tender::{SessionTerms, Tender};

/// The terms in force: as published, then as amended.
struct Terms {
    session: Option<SessionTerms>,
    opening_at: OffsetDateTime,
    lots: Vec<String>,
}

fn terms_at_close(events: &[LoggedEvent]) -> Option<Terms> {
    let tender: &Tender = events.iter().find_map(|e| match &e.payload {
        EventPayload::TenderPublished(p) => Some(&p.tender),
        _ => None,
    })?;
    let mut terms = Terms {
        session: tender.session.clone(),
        opening_at: tender.opening_at,
        lots: tender.lots.iter().map(|l| l.id.clone()).collect(),
    };
    for e in events {
        if let EventPayload::TenderAmended(a) = &e.payload {
            terms.opening_at = a.opening_at.to;
            if let Some(s) = &a.session {
                terms.session = Some(s.clone());
            }
        }
    }
    Some(terms)
}

fn minutes(m: u32) -> Duration {
    Duration::minutes(i64::from(m))
}

/// The replay's state: the current stage, its end, and the holds.
#[derive(Default)]
struct Replay {
    stage: Option<Stage>,
    ends: Option<OffsetDateTime>,
    hold: Option<(HoldKind, OffsetDateTime)>,
    extended: BTreeSet<Stage>,
    terminated: bool,
    failed_whole: bool,
    record: Option<OffsetDateTime>,
    release_until: Option<OffsetDateTime>,
    /// The host ended the confirmation stage early (`session.ended` with `by`), at this time.
    ended_early: Option<OffsetDateTime>,
}

/// Problems with the stage events and the host's controls; the summary says
/// what was replayed.
pub fn stages(events: &[LoggedEvent]) -> (String, Vec<String>) {
    let Some(terms) = terms_at_close(events) else {
        return ("no published terms".into(), vec!["the log has no tender.published event".into()]);
    };
    let mut problems = Vec::new();
    let Some(session) = terms.session.clone() else {
        let any = events.iter().any(|e| e.kind().as_str().starts_with("session."));
        if any {
            problems.push("session events in a tender published without session terms".into());
        }
        return ("a tender without session terms".into(), problems);
    };
    let (count, _) = replay(events, &session, &terms, &mut problems);
    (format!("{count} stage changes replayed against the terms"), problems)
}

/// When the release window ended, as the session moved it: the opening's
/// `release_until`, then the decryption stage's end as holds and the one
/// extension shifted it. What the blame checks count releases against.
pub(crate) fn window_end(events: &[LoggedEvent]) -> Option<OffsetDateTime> {
    let opening = events.iter().find_map(|e| match &e.payload {
        EventPayload::OpeningStarted(s) => Some(s.release_until),
        _ => None,
    });
    let Some(terms) = terms_at_close(events) else { return opening };
    let Some(session) = terms.session.clone() else { return opening };
    let (_, r) = replay(events, &session, &terms, &mut Vec::new());
    r.release_until.or(opening)
}

/// Replays the session events, noting every problem; returns the number of
/// stage changes and the final state.
fn replay(
    events: &[LoggedEvent],
    session: &SessionTerms,
    terms: &Terms,
    problems: &mut Vec<String>,
) -> (usize, Replay) {
    let mut r = Replay::default();
    let mut count = 0;
    for e in events {
        let at = format!("event {} ({})", e.seq, e.kind().as_str());
        let mut bad = |p: String| problems.push(format!("{at}: {p}"));
        match &e.payload {
            EventPayload::OpeningStarted(s) => r.release_until = Some(s.release_until),
            EventPayload::TenderFailed(f) => r.failed_whole = f.whole,
            EventPayload::RecordPublished(p) => {
                if r.hold.is_some() {
                    bad("the record was published while the session was held".into());
                }
                r.record = Some(p.published_at);
            }
            EventPayload::BidOpened(o) if o.above_ceiling != session.above_ceiling(&o.row.lot, &o.fields) => {
                bad(format!("marked above_ceiling = {:?}, the ceiling of the terms says otherwise", o.above_ceiling));
            }
            EventPayload::BidOpened(_) | EventPayload::BidRejected(_) | EventPayload::BidUnopened(_) => {
                if r.hold.is_some() {
                    bad("a bid's outcome was written while the session was held".into());
                }
                if r.terminated {
                    bad("a bid's outcome was written after the session was terminated".into());
                }
                if r.stage != Some(Stage::Announcement) {
                    bad(format!("a bid's outcome outside the announcement (stage {:?})", r.stage.map(Stage::as_str)));
                }
            }
            EventPayload::SessionStage(s) => {
                count += 1;
                if r.stage.is_some_and(|old| old.rank() >= s.stage.rank()) {
                    bad(format!("stage {} after {}", s.stage.as_str(), r.stage.map_or("", Stage::as_str)));
                }
                if s.processed_at != e.at {
                    bad("processed_at is not the event's time".into());
                }
                if s.at > e.at {
                    bad("the stage begins after it was written".into());
                }
                if r.hold.is_some() {
                    bad("the stage changed while the session was held".into());
                }
                let prices = if s.stage == Stage::Announcement { session.prices.clone() } else { Vec::new() };
                if s.prices != prices {
                    bad("announces other prices than the terms".into());
                }
                let expect = expected_stage(&r, session, terms, s.stage, e.at);
                match expect {
                    Ok((start, ends)) => {
                        if s.at != start {
                            bad(format!("begins at {}, the terms say {}", s.at, start));
                        }
                        if s.ends_at != ends {
                            bad(format!("ends at {:?}, the terms say {ends:?}", s.ends_at));
                        }
                    }
                    Err(p) => bad(p),
                }
                r.stage = Some(s.stage);
                r.ends = s.ends_at;
                if s.stage == Stage::Decryption {
                    r.release_until = s.ends_at;
                }
            }
            EventPayload::SessionPaused(h) | EventPayload::SessionSuspended(h) => {
                let kind = if e.kind().as_str() == "session.paused" { HoldKind::Paused } else { HoldKind::Suspended };
                if r.hold.is_some() || r.terminated || !r.stage.is_some_and(Stage::controllable) {
                    bad("a hold outside a running decryption or announcement".into());
                }
                if Some(h.stage) != r.stage || h.at != e.at {
                    bad("names another stage or time than the log's".into());
                }
                if h.time_left_ms != r.ends.map(|t| millis(t - e.at)) {
                    bad(format!("time left {:?} ms does not match the stage's end", h.time_left_ms));
                }
                if kind == HoldKind::Suspended && h.notice.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    bad("a suspension without a public notice".into());
                }
                r.hold = Some((kind, e.at));
            }
            EventPayload::SessionResumed(s) => {
                let Some((kind, since)) = r.hold.take() else {
                    bad("a resumption of a session that was not held".into());
                    continue;
                };
                let held = (e.at - since).max(Duration::ZERO);
                if s.from != kind || s.held_ms != millis(held) || s.at != e.at || Some(s.stage) != r.stage {
                    bad(format!(
                        "says {:?} held {} ms; the log says {kind:?} held {} ms",
                        s.from,
                        s.held_ms,
                        millis(held)
                    ));
                }
                r.ends = r.ends.map(|t| t + held);
                if r.stage == Some(Stage::Decryption) {
                    r.release_until = r.release_until.map(|t| t + held);
                }
                if s.ends_at != r.ends {
                    bad(format!("new end {:?}, the hold shifts it to {:?}", s.ends_at, r.ends));
                }
            }
            EventPayload::SessionExtended(x) => {
                let fine = r.hold.is_none() && !r.terminated && r.stage == Some(x.stage) && x.stage.controllable();
                if !fine || !r.extended.insert(x.stage) {
                    bad("an extension outside a running stage, or a second one".into());
                }
                let ends = r.ends.map_or(e.at, |t| t.max(e.at)) + minutes(x.minutes);
                if x.ends_at != ends {
                    bad(format!("new end {}, {} minutes give {ends}", x.ends_at, x.minutes));
                }
                r.ends = Some(ends);
                if x.stage == Stage::Decryption {
                    r.release_until = Some(ends);
                }
            }
            EventPayload::SessionEnded(x) if x.by.is_some() => {
                if r.stage != Some(Stage::Confirmation) {
                    bad("the host ended the session outside its confirmation stage".into());
                }
                r.ended_early = Some(x.at);
            }
            EventPayload::SessionTerminated(t) => {
                if r.terminated || t.stage != r.stage || t.at != e.at || t.reason.trim().is_empty() {
                    bad("a second termination, or one naming another stage or time".into());
                }
                r.terminated = true;
                r.hold = None;
            }
            EventPayload::CustodianReleased(_) => {
                if let Some(until) = r.release_until
                    && r.hold.is_none()
                    && e.at >= until
                {
                    bad(format!("a release after the window ended at {until}"));
                }
            }
            _ => {}
        }
    }
    (count, r)
}

/// Where a stage must begin and end, given the replay so far.
fn expected_stage(
    r: &Replay,
    session: &SessionTerms,
    terms: &Terms,
    stage: Stage,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, Option<OffsetDateTime>), String> {
    match stage {
        Stage::SignIn if session.sign_in_minutes > 0 => {
            Ok((terms.opening_at - minutes(session.sign_in_minutes), Some(terms.opening_at)))
        }
        Stage::SignIn => Err("a sign-in stage the terms do not have".into()),
        Stage::Decryption => {
            let until = r.release_until.ok_or("decryption before the opening started")?;
            Ok((terms.opening_at, Some(until.max(now))))
        }
        Stage::Announcement if r.stage == Some(Stage::Decryption) => {
            Ok((now, Some(now + minutes(session.announcement_minutes))))
        }
        Stage::Announcement => Err("the announcement must follow the decryption".into()),
        Stage::Confirmation => {
            let at = r.record.ok_or("confirmation before the record")?;
            Ok((at, Some(at + minutes(session.confirmation_minutes))))
        }
        Stage::Closed if r.terminated || r.failed_whole => Ok((now, None)),
        Stage::Closed if r.stage == Some(Stage::Confirmation) && r.ended_early.is_some() => {
            Ok((r.ended_early.ok_or("no end")?, None))
        }
        Stage::Closed if r.stage == Some(Stage::Confirmation) => Ok((r.ends.ok_or("no confirmation end")?, None)),
        Stage::Closed if session.confirmation_minutes == 0 && r.record.is_some() => Ok((now, None)),
        Stage::Closed => Err("closed before its confirmation ended".into()),
    }
}

/// Problems with the minimum of bidders: every lot below the minimum
/// failed and none above it did, judged by the bids that stood at the close
/// (distinct bidders can be at most the bids; once the outcomes name the
/// bidders, their count decides); nothing of a failed lot was opened.
pub fn minimum(events: &[LoggedEvent], close: &Close) -> (String, Vec<String>) {
    let Some(terms) = terms_at_close(events) else { return ("no published terms".into(), vec![]) };
    let min = terms.session.as_ref().map_or(1, |s| s.min_bids);
    let mut problems = Vec::new();
    let mut bids: BTreeMap<&str, u64> = terms.lots.iter().map(|l| (l.as_str(), 0)).collect();
    for s in &close.standing {
        *bids.entry(s.lot.as_str()).or_default() += 1;
    }
    let mut bidders: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    for e in events {
        if let Some(row) = e.payload.bid_row() {
            bidders.entry(row.lot.as_str()).or_default().insert(row.bidder.id.as_str());
            *outcomes.entry(row.lot.as_str()).or_default() += 1;
        }
    }
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::TenderFailed(f) => Some((e, f)),
            _ => None,
        })
        .collect();
    if failures.len() > 1 {
        problems.push(format!("{} tender.failed events; the minimum is applied once", failures.len()));
    }
    let failed: BTreeMap<&str, u64> =
        failures.iter().flat_map(|(_, f)| f.lots.iter().map(|c| (c.lot.as_str(), c.bidders))).collect();
    for (e, f) in &failures {
        if f.min_bids != min {
            problems.push(format!("event {}: minimum {} named, the terms say {min}", e.seq, f.min_bids));
        }
        if f.whole != (failed.len() == terms.lots.len()) {
            problems.push(format!(
                "event {}: says whole = {}, {} of {} lots failed",
                e.seq,
                f.whole,
                failed.len(),
                terms.lots.len()
            ));
        }
    }
    let started = events.iter().any(|e| e.kind().as_str() == "opening.started");
    let whole = failures.iter().any(|(_, f)| f.whole);
    if whole && (started || events.iter().any(|e| e.kind().as_str() == "custodian.released")) {
        problems.push("the whole tender failed, yet its opening started".into());
    }
    for (lot, n) in &bids {
        match failed.get(lot) {
            Some(named) => {
                if *named > *n {
                    problems.push(format!("lot {lot}: {named} bidders named, only {n} bids stood"));
                }
                if *named >= u64::from(min) {
                    problems.push(format!("lot {lot} failed with {named} bidders, the minimum is {min}"));
                }
                if outcomes.get(lot).is_some_and(|o| *o > 0) {
                    problems.push(format!("lot {lot} failed, yet bids of it have outcomes"));
                }
            }
            None if started || whole => {
                if *n < u64::from(min) {
                    problems.push(format!("lot {lot} went ahead with {n} bids, the minimum is {min} bidders"));
                } else if outcomes.get(lot) == Some(n) {
                    let distinct = bidders.get(lot).map_or(0, BTreeSet::len) as u64;
                    if distinct < u64::from(min) {
                        problems.push(format!(
                            "lot {lot} went ahead with {distinct} distinct bidders, the minimum is {min}"
                        ));
                    }
                }
            }
            None => {}
        }
    }
    for lot in failed.keys() {
        if !bids.contains_key(lot) {
            problems.push(format!("lot {lot} failed but is not a lot of the tender"));
        }
    }
    let summary = format!("{} lot(s), {} failed, minimum {min} bidder(s)", bids.len(), failed.len());
    (summary, problems)
}
