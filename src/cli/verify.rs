//! `bidroom verify`: re-verify a tender's opening from public data alone
//! and exit non-zero, naming each failed check, on any discrepancy. The
//! checks themselves live in [`crate::verify`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use uuid::Uuid;

use super::common::{ServerArgs, log_verifier};
use crate::verify::{Report, verify_tender};

/// Checkpoint notes are small; refuse anything far bigger.
const MAX_CHECKPOINT_FILE: u64 = 1024 * 1024;

/// Flags of `bidroom verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// The log's verifier key (`name+keyid+base64`) or a file holding it.
    /// Without it the key the server publishes at `/log/key` is trusted.
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
    /// A checkpoint note kept from earlier (e.g. a receipt's): the log must
    /// have grown from it consistently.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The verification found discrepancies (the report names them).
#[derive(Debug, thiserror::Error)]
#[error("verification failed: {}", .0.failed().iter().map(|c| c.name()).collect::<Vec<_>>().join("; "))]
pub struct NotVerified(pub Report);

/// Runs the verification and prints its report; `Err(NotVerified)` when a
/// check failed.
pub async fn run(args: VerifyArgs) -> anyhow::Result<Report> {
    let report = verify(&args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if report.passed() { Ok(report) } else { Err(NotVerified(report).into()) }
}

/// Runs the verification without printing.
pub async fn verify(args: &VerifyArgs) -> anyhow::Result<Report> {
    let client = args.server.client()?;
    let verifier = log_verifier(&client, args.log_key.as_deref()).await?;
    let previous = match &args.checkpoint {
        Some(path) => {
            let len = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
            anyhow::ensure!(len <= MAX_CHECKPOINT_FILE, "{} is too large to be a checkpoint", path.display());
            Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    Ok(verify_tender(&client, args.tender, &verifier, previous.as_deref()).await)
}
