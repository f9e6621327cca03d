//! `bidroom evidence`: download a tender's evidence bundle to a file and
//! check it reads (its members match its manifest) before keeping it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use uuid::Uuid;

use super::common::ServerArgs;
use crate::verify::bundle::Bundle;

/// Flags of `bidroom evidence`.
#[derive(Debug, Clone, Args)]
pub struct EvidenceArgs {
    /// The server to fetch from.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// Where to write the bundle (a tar file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Downloads, checks and writes the bundle; returns its size in bytes.
pub async fn run(args: EvidenceArgs) -> anyhow::Result<usize> {
    let client = args.server.client()?;
    let bytes = client.evidence(args.tender).await.context("cannot fetch the evidence bundle")?;
    let bundle = Bundle::read(&bytes).map_err(|e| anyhow::anyhow!("the server's bundle is not valid: {e}"))?;
    anyhow::ensure!(bundle.tender == args.tender, "the server sent the bundle of tender {}", bundle.tender);
    // Written whole to a temporary name first, so a cut-off run leaves no
    // half bundle under the name asked for.
    let tmp = args.out.with_extension("part");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({} bytes); check it with: bidroom verify --bundle {}",
        args.out.display(),
        bytes.len(),
        args.out.display()
    );
    Ok(bytes.len())
}
