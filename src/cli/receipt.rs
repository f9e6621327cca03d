//! `bidroom receipt verify`: hold the server to a receipt.
//!
//! Checks, in order, each named in a failure: the receipt checkpoint's
//! signature, the entry's inclusion under it, the envelope hash, the
//! signature of the server's latest checkpoint, and consistency from the
//! receipt's tree to that latest one (so the entry is still in the log).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::common::{ServerArgs, log_verifier, sha256_hex, write_new_file};
use crate::client::Client;
use crate::ledger::{Checkpoint, Receipt, ReceiptError, Verifier, open_checkpoint};

/// Receipts are a few kilobytes; refuse to parse anything far bigger.
const MAX_RECEIPT_FILE: u64 = 1024 * 1024;

/// `bidroom receipt …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ReceiptCommand {
    /// Verify a receipt against the log, including consistency with the
    /// server's latest checkpoint.
    Verify(VerifyArgs),
}

/// Flags of `bidroom receipt verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The receipt file (JSON, as saved by `bidroom seal`).
    pub file: PathBuf,
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The log's verifier key (`name+keyid+base64`) or a file holding it.
    /// Without it the key the server publishes at `/log/key` is trusted.
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
    /// The envelope the receipt is for: its SHA-256 must be the receipt's
    /// envelope hash.
    #[arg(long, value_name = "FILE")]
    pub envelope: Option<PathBuf>,
}

/// The checks a receipt goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The receipt's checkpoint is signed by the log key.
    CheckpointSignature,
    /// The entry is included at its index under the checkpoint's root.
    Inclusion,
    /// The entry names the receipt's envelope hash (and the envelope file's).
    EnvelopeHash,
    /// The server's latest checkpoint is signed by the log key.
    LatestCheckpoint,
    /// The latest tree extends the receipt's tree.
    Consistency,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::CheckpointSignature => "checkpoint signature",
            Check::Inclusion => "inclusion",
            Check::EnvelopeHash => "envelope hash",
            Check::LatestCheckpoint => "latest checkpoint signature",
            Check::Consistency => "consistency with the latest checkpoint",
        })
    }
}

/// A receipt check that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("receipt check failed: {check}: {reason}")]
pub struct CheckFailed {
    /// Which check.
    pub check: Check,
    /// Why.
    pub reason: String,
}

fn failed(check: Check, reason: impl fmt::Display) -> anyhow::Error {
    CheckFailed { check, reason: reason.to_string() }.into()
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The receipt.
    pub receipt: Receipt,
    /// Its verified checkpoint.
    pub checkpoint: Checkpoint,
    /// The server's latest verified checkpoint, consistent with it.
    pub latest: Checkpoint,
}

/// Runs a `receipt` subcommand.
pub async fn run(cmd: ReceiptCommand) -> anyhow::Result<Verified> {
    match cmd {
        ReceiptCommand::Verify(args) => verify(args).await,
    }
}

/// Verifies a receipt file; errors name the failed [`Check`].
pub async fn verify(args: VerifyArgs) -> anyhow::Result<Verified> {
    let receipt = read_receipt(&args.file)?;
    let client = args.server.client()?;
    let verifier = log_verifier(&client, args.log_key.as_deref()).await?;
    let source = if args.log_key.is_some() { "given" } else { "fetched from the server" };
    println!("receipt {}", args.file.display());

    let checkpoint = verify_offline(&receipt, &verifier)?;
    println!("  ok  checkpoint signature ({}, key {:08x} {source})", checkpoint.origin, verifier.key_id());
    println!("  ok  inclusion of entry {} in tree of size {}", receipt.leaf_index, receipt.tree_size);
    if let Some(path) = &args.envelope {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read envelope {}", path.display()))?;
        let actual = sha256_hex(&bytes);
        if actual != receipt.envelope_hash {
            return Err(failed(
                Check::EnvelopeHash,
                format!("{} hashes to {actual}, the receipt names {}", path.display(), receipt.envelope_hash),
            ));
        }
    }
    println!("  ok  envelope hash {}", receipt.envelope_hash);

    let latest = latest_consistent(&client, &verifier, &receipt, &checkpoint).await?;
    println!("  ok  latest checkpoint signature (tree size {})", latest.size);
    println!("  ok  consistency from tree size {} to {}", checkpoint.size, latest.size);
    Ok(Verified { receipt, checkpoint, latest })
}

/// Reads a receipt JSON file.
pub fn read_receipt(path: &Path) -> anyhow::Result<Receipt> {
    let len = std::fs::metadata(path).with_context(|| format!("cannot read receipt {}", path.display()))?.len();
    anyhow::ensure!(len <= MAX_RECEIPT_FILE, "{} is too large to be a receipt", path.display());
    let bytes = std::fs::read(path).with_context(|| format!("cannot read receipt {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a receipt", path.display()))
}

/// Checkpoint signature, inclusion and the entry's envelope hash.
pub fn verify_offline(receipt: &Receipt, verifier: &Verifier) -> anyhow::Result<Checkpoint> {
    receipt.verify(verifier).map_err(|e| match e {
        ReceiptError::Checkpoint(_) | ReceiptError::OriginMismatch(_) => failed(Check::CheckpointSignature, e),
        ReceiptError::Proof(_) | ReceiptError::SizeMismatch { .. } => failed(Check::Inclusion, e),
        ReceiptError::BadEntry(_) | ReceiptError::EnvelopeMismatch { .. } => failed(Check::EnvelopeHash, e),
    })
}

/// Fetches and verifies the latest checkpoint, then the consistency proof
/// from the receipt's tree to it.
async fn latest_consistent(
    client: &Client,
    verifier: &Verifier,
    receipt: &Receipt,
    ours: &Checkpoint,
) -> anyhow::Result<Checkpoint> {
    let note = client.checkpoint().await.context("cannot fetch the latest checkpoint")?;
    let latest = open_checkpoint(&note, verifier).map_err(|e| failed(Check::LatestCheckpoint, e))?;
    if latest.origin != ours.origin {
        return Err(failed(
            Check::Consistency,
            format!("the server's log is {:?}, the receipt's is {:?}", latest.origin, ours.origin),
        ));
    }
    if latest.size < ours.size {
        // A log only grows: a smaller tree means history was rolled back.
        return Err(failed(
            Check::Consistency,
            format!("the server's log has {} entries, fewer than the receipt's {}", latest.size, ours.size),
        ));
    }
    let proof = if latest.size == ours.size {
        Vec::new()
    } else {
        client.consistency(ours.size, latest.size).await.context("cannot fetch the consistency proof")?
    };
    receipt.verify_consistent_with(verifier, &latest, &proof).map_err(|e| failed(Check::Consistency, e))?;
    Ok(latest)
}

/// Verifies a receipt the server just issued against its published log key
/// and, when given, the hash of the envelope that was sent.
pub async fn check_fresh(client: &Client, receipt: &Receipt, envelope_hash: Option<&str>) -> anyhow::Result<()> {
    let verifier = log_verifier(client, None).await?;
    verify_offline(receipt, &verifier)?;
    if let Some(expected) = envelope_hash
        && receipt.envelope_hash != expected
    {
        return Err(failed(
            Check::EnvelopeHash,
            format!("the receipt names envelope {}, the one sent hashes to {expected}", receipt.envelope_hash),
        ));
    }
    Ok(())
}

/// Writes a receipt as pretty JSON to a new file.
pub fn save_receipt(path: &Path, receipt: &Receipt) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(receipt)?;
    json.push(b'\n');
    write_new_file(path, &json, false)
}
