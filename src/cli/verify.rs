//! `bidroom verify`: re-verify a tender's opening from public data alone
//! and exit non-zero, naming each failed check, on any discrepancy. The
//! checks themselves live in [`crate::verify`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use uuid::Uuid;

use super::common::{ServerArgs, log_verifier};
use crate::ledger::Verifier;
use crate::verify::bundle::Bundle;
use crate::verify::{Report, verify_tender};

/// Checkpoint notes are small; refuse anything far bigger.
const MAX_CHECKPOINT_FILE: u64 = 1024 * 1024;

/// Flags of `bidroom verify`.
#[derive(Debug, Clone, Args)]
// With `--bundle` there is no server to name, and the tender is the bundle's.
#[command(mut_arg("server", |a| a.required(false).default_value("").hide_default_value(true)))]
pub struct VerifyArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id (with `--bundle`, the bundle's tender).
    #[arg(long, value_name = "ID", default_value = "00000000-0000-0000-0000-000000000000", hide_default_value = true)]
    pub tender: Uuid,
    /// Verify an evidence bundle (`bidroom evidence`) instead of a server:
    /// no server and no network. The log key is the bundle's unless
    /// `--log-key` pins one.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
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
    if let Some(path) = &args.bundle {
        return verify_bundle(args, path).await;
    }
    anyhow::ensure!(!args.server.server.is_empty(), "--server is required (or --bundle FILE)");
    anyhow::ensure!(!args.tender.is_nil(), "--tender is required");
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

/// Verifies a bundle file offline, with the same checks.
async fn verify_bundle(args: &VerifyArgs, path: &std::path::Path) -> anyhow::Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bundle =
        Bundle::read(&bytes).map_err(|e| anyhow::anyhow!("{}: not a valid evidence bundle: {e}", path.display()))?;
    anyhow::ensure!(
        args.tender.is_nil() || args.tender == bundle.tender,
        "the bundle is the evidence of tender {}, not {}",
        bundle.tender,
        args.tender
    );
    let key = match &args.log_key {
        Some(g) if std::path::Path::new(g).is_file() => {
            std::fs::read_to_string(g).with_context(|| format!("cannot read log key file {g}"))?
        }
        Some(g) => g.clone(),
        None => bundle.log_key().map_err(|e| anyhow::anyhow!(e))?,
    };
    let verifier = Verifier::parse(key.trim()).context("not a log verifier key")?;
    let previous = match &args.checkpoint {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    Ok(verify_tender(&bundle, bundle.tender, &verifier, previous.as_deref()).await)
}
