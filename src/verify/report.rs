//! The verification report: one result per named check.

use std::fmt;

use serde::Serialize;

/// The checks `bidroom verify` runs, in order. Their names are what a
/// failure reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The checkpoints are signed by the log key.
    CheckpointSignature,
    /// The later checkpoints extend the earlier ones (no rewritten history).
    CheckpointConsistency,
    /// Each event is exactly its log entry (same leaf hash, same content).
    EventEntries,
    /// Each event's entry is included under the verified checkpoint.
    EventInclusion,
    /// Sequence numbers run 1, 2, 3… without gaps.
    EventSequence,
    /// The close's count and root equal those recomputed from the logged
    /// receipts and withdrawals, and every bid was received before the close.
    CloseRootFromEvents,
    /// The envelopes served are exactly the bids that stood at the close.
    CloseRootFromEnvelopes,
    /// Each envelope verifies under its bidder's key and is bound to this
    /// tender, bid, lot, custody policy and bidder.
    EnvelopeSignatures,
    /// Each published form key matches its envelope's commitment.
    FormKeys,
    /// Each form ciphertext matches its envelope and decrypts to exactly the
    /// published fields.
    FormCiphertexts,
    /// Every bid that stood at the close has exactly one outcome; no other
    /// bid has one; the record's summary agrees.
    RecordComplete,
    /// The record the server serves is the logged outcomes.
    RecordServed,
    /// Each unopened bid blames the custodians the release events show
    /// did not release, or released a bad share.
    UnopenedBlame,
    /// With a bidder-held policy: each bidder release is signed by the bid's
    /// bidder (a bad share is published and fails its commitment), and each
    /// bid the bidder kept closed is rejected for exactly that reason.
    BidderBlame,
    /// Each bid rejected because its shares do not rebuild its key has its
    /// shares published: each matches its commitment, and no k of them
    /// rebuild the key.
    FaultShares,
    /// The terms served are the logged `tender.published` with its logged
    /// amendments applied.
    TermsServed,
    /// Each bidder named in the logged record is the bidder registered
    /// under that key id: same name, and a key with that id.
    BidderNames,
    /// The session's stages follow the terms, the server times and the
    /// host's logged controls; nothing opens while held or before the 唱标.
    SessionStages,
    /// Lots below the minimum of bidders failed (流标) and stayed sealed;
    /// no lot above it did.
    MinimumBidders,
    /// Every objection and confirmation is signed by its registered bidder
    /// key over its exact bytes; each confirmation signs the logged record's hash.
    ObjectionSignatures,
    /// Every answer answers an earlier objection once; none is left open at the end.
    ObjectionAnswers,
    /// The served final record is what `session.ended` sealed and what the log says.
    FinalRecord,
    /// The draws: the commitment, the reveal (or the overt fallback), the
    /// nonces from the form keys, the seed, each result and reference price.
    DrawResults,
    /// The draws' record head is the log's root just after `record.published`.
    DrawRecordHead,
    /// Each custodian release's list of the bids it covers is well formed
    /// (inside the bids standing at the close, as many as its shares, its
    /// bad shares among them, no bid twice), and every opened bid was
    /// covered by k good shares before it opened.
    ReleaseCoverage,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 25] = [
        Check::CheckpointSignature,
        Check::CheckpointConsistency,
        Check::EventEntries,
        Check::EventInclusion,
        Check::EventSequence,
        Check::CloseRootFromEvents,
        Check::CloseRootFromEnvelopes,
        Check::EnvelopeSignatures,
        Check::FormKeys,
        Check::FormCiphertexts,
        Check::RecordComplete,
        Check::RecordServed,
        Check::UnopenedBlame,
        Check::BidderBlame,
        Check::FaultShares,
        Check::TermsServed,
        Check::BidderNames,
        Check::SessionStages,
        Check::MinimumBidders,
        Check::ObjectionSignatures,
        Check::ObjectionAnswers,
        Check::FinalRecord,
        Check::DrawResults,
        Check::DrawRecordHead,
        Check::ReleaseCoverage,
    ];

    /// The name shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Check::CheckpointSignature => "checkpoint signatures",
            Check::CheckpointConsistency => "checkpoint consistency",
            Check::EventEntries => "events are their log entries",
            Check::EventInclusion => "inclusion of every event",
            Check::EventSequence => "event sequence without gaps",
            Check::CloseRootFromEvents => "close root from logged receipts",
            Check::CloseRootFromEnvelopes => "close root from served envelopes",
            Check::EnvelopeSignatures => "envelope signatures and binding",
            Check::FormKeys => "form keys against commitments",
            Check::FormCiphertexts => "forms decrypt to the published fields",
            Check::RecordComplete => "every bid in the record exactly once",
            Check::RecordServed => "served record equals the logged one",
            Check::UnopenedBlame => "unopened bids blame the right custodians",
            Check::BidderBlame => "bidder-held shares blame the right bidders",
            Check::FaultShares => "inconsistent shares are published and prove it",
            Check::TermsServed => "served terms equal the logged ones",
            Check::BidderNames => "bidder names equal their registrations",
            Check::SessionStages => "session stages follow the terms and the clock",
            Check::MinimumBidders => "the minimum of bidders was applied",
            Check::ObjectionSignatures => "objection and confirmation signatures",
            Check::ObjectionAnswers => "every objection answered once",
            Check::FinalRecord => "the final record equals the log",
            Check::DrawResults => "draws and reference prices recomputed",
            Check::DrawRecordHead => "the draws' record head is the log's",
            Check::ReleaseCoverage => "releases list the bids they cover",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything checked held.
    Passed,
    /// At least one discrepancy.
    Failed,
    /// Nothing to check yet (e.g. before the opening), with the reason.
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// Its outcome.
    pub status: Status,
    /// What was checked, or why it was skipped.
    pub summary: String,
    /// Each discrepancy found.
    pub problems: Vec<String>,
}

/// The outcome of verifying one tender.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tender.
    pub tender: uuid::Uuid,
    /// Its state as the logged events tell it.
    pub state: String,
    /// The size of the verified checkpoint the proofs are against.
    pub tree_size: u64,
    /// One result per check, in [`Check::ALL`] order.
    pub results: Vec<CheckResult>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.status != Status::Failed)
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<Check> {
        self.results.iter().filter(|r| r.status == Status::Failed).map(|r| r.check).collect()
    }

    /// The result of one check.
    pub fn result(&self, check: Check) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.check == check)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "verification of tender {} ({}; log tree size {})", self.tender, self.state, self.tree_size)?;
        for r in &self.results {
            let mark = match r.status {
                Status::Passed => "  ok  ",
                Status::Failed => "  FAIL",
                Status::Skipped => "  skip",
            };
            writeln!(f, "{mark} {}: {}", r.check, r.summary)?;
            for p in &r.problems {
                writeln!(f, "         - {p}")?;
            }
        }
        let failed = self.failed();
        if failed.is_empty() {
            writeln!(f, "verified: every check passed")
        } else {
            let names: Vec<&str> = failed.iter().map(|c| c.name()).collect();
            writeln!(f, "NOT VERIFIED: {} check(s) failed: {}", failed.len(), names.join("; "))
        }
    }
}

/// Collects results as the checks run.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    results: Vec<CheckResult>,
}

impl Collector {
    /// Records `check` as passed when `problems` is empty, else failed.
    pub fn record(&mut self, check: Check, summary: impl Into<String>, problems: Vec<String>) {
        let status = if problems.is_empty() { Status::Passed } else { Status::Failed };
        self.results.push(CheckResult { check, status, summary: summary.into(), problems });
    }

    /// Records a failure with one problem.
    pub fn fail(&mut self, check: Check, problem: impl Into<String>) {
        let problem = problem.into();
        self.results.push(CheckResult {
            check,
            status: Status::Failed,
            summary: problem.clone(),
            problems: vec![problem],
        });
    }

    /// Records `check` as skipped.
    pub fn skip(&mut self, check: Check, why: impl Into<String>) {
        self.results.push(CheckResult { check, status: Status::Skipped, summary: why.into(), problems: Vec::new() });
    }

    /// Marks every check not yet recorded as skipped for `why`.
    pub fn skip_rest(&mut self, why: &str) {
        for c in Check::ALL {
            if !self.results.iter().any(|r| r.check == c) {
                self.skip(c, why);
            }
        }
    }

    /// The results in [`Check::ALL`] order.
    pub fn finish(mut self) -> Vec<CheckResult> {
        self.skip_rest("not reached");
        self.results.sort_by_key(|r| Check::ALL.iter().position(|c| *c == r.check));
        self.results
    }
}
