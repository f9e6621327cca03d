//! `bidroom custodian release`: a custodian opens its shares of a tender's
//! bids on this machine and releases them. The private key never leaves
//! the machine; only the 33-byte shares, each checked against its
//! commitment first, are sent. The custodian sees what it is about to
//! release and confirms (unless `--yes`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::common::{KeyArgs, ServerArgs, read_key_file, read_passphrase, sha256_hex};
use crate::client::{PublicBid, ReleaseResult, ReleaseShare};
use crate::seal::{ChallengePurpose, CustodianSecretKey, Envelope, b64, open_share, unb64};

/// Environment variable holding the release token.
pub const TOKEN_ENV: &str = "BIDROOM_RELEASE_TOKEN";

/// `bidroom custodian …`.
#[derive(Debug, Clone, Subcommand)]
pub enum CustodianCommand {
    /// Decrypt this custodian's shares of a tender's bids locally and
    /// release them during the opening.
    Release(ReleaseArgs),
}

/// Flags of `bidroom custodian release`.
#[derive(Debug, Clone, Args)]
pub struct ReleaseArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// The key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The release token issued when the custodian was registered.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true, value_name = "TOKEN", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the release token from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Release without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// Shares per release request: one body stays below the server's 1 MiB
/// JSON limit (about 104 bytes a share), and 100,000 shares take 13 pages,
/// within the 20 challenges a custodian may ask for each minute.
pub const RELEASE_PAGE: usize = 8_000;

/// What a release did.
#[derive(Debug, Clone)]
pub struct Released {
    /// This custodian's index in the tender's custody policy.
    pub index: u8,
    /// Bids whose share was released.
    pub shares: usize,
    /// Bids whose share could not be opened here (envelope hash and why).
    pub unopenable: Vec<(String, String)>,
    /// The server's answer; `None` when the custodian declined.
    pub result: Option<ReleaseResult>,
}

/// Runs a `custodian` subcommand.
pub async fn run(cmd: CustodianCommand) -> anyhow::Result<Released> {
    match cmd {
        CustodianCommand::Release(args) => release(args).await,
    }
}

/// Unlocks a custodian key file.
pub async fn unlock_custodian(key: &KeyArgs) -> anyhow::Result<CustodianSecretKey> {
    let file = read_key_file(&key.key)?;
    let passphrase = read_passphrase(key.passphrase_file.as_deref(), false)?;
    let path = key.key.clone();
    tokio::task::spawn_blocking(move || file.unlock_custodian(&passphrase))
        .await?
        .with_context(|| format!("cannot unlock {}", path.display()))
}

fn token(args: &ReleaseArgs) -> anyhow::Result<String> {
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        (None, None) => anyhow::bail!("give the release token with --token, --token-file or {TOKEN_ENV}"),
    };
    let token = token.trim().to_owned();
    anyhow::ensure!(!token.is_empty(), "the release token is empty");
    Ok(token)
}

/// Opens this custodian's shares locally, shows them, confirms, releases.
pub async fn release(args: ReleaseArgs) -> anyhow::Result<Released> {
    let token = token(&args)?;
    let client = args.server.client()?;
    let tender = client.tender(args.tender).await.context("cannot fetch the tender")?;
    let custody = client.custody(args.tender).await.context("cannot fetch the tender's custody keys")?;
    let key = unlock_custodian(&args.key).await?;
    let me = key.public_key();
    let custodian = custody
        .custodians
        .iter()
        .find(|c| c.public_key == Some(me))
        .with_context(|| format!("this key is not one of the custodians of tender {}", tender.id))?;
    let index = custodian.index;
    // A page of envelopes at a time: only the opened shares (tens of bytes
    // each) are kept, so a tender of any size fits in memory.
    let tender_id = tender.id;
    let (mut shares, mut unopenable, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
    let mut cursor = None;
    loop {
        let page = client
            .envelope_page(tender.id, cursor.as_deref(), None)
            .await
            .context("cannot fetch the envelopes (has the opening started?)")?;
        let key = key.clone();
        let bids = page.bids;
        let (s, u, h) = tokio::task::spawn_blocking(move || open_all(tender_id, index, &key, &bids)).await??;
        shares.extend(s);
        unopenable.extend(u);
        hashes.extend(h);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    println!("tender {} \"{}\" ({}), state {}", tender.id, tender.title, tender.reference, tender.state);
    println!(
        "custodian {} (index {index} of {}, threshold {})",
        custodian.id,
        custody.custodians.len(),
        custody.threshold
    );
    println!("{} bids; shares opened and checked against their commitments: {}", hashes.len(), shares.len());
    for h in &hashes {
        let bad = unopenable.iter().find(|(u, _)| u == h);
        match bad {
            Some((_, why)) => println!("  NOT RELEASED  {h}  ({why})"),
            None => println!("  release       {h}"),
        }
    }
    if shares.is_empty() {
        println!("nothing to release");
        return Ok(Released { index, shares: 0, unopenable, result: None });
    }
    if !args.yes && !confirm(&format!("Release {} share(s) to {}? [y/N] ", shares.len(), client.base()))? {
        println!("not released");
        return Ok(Released { index, shares: shares.len(), unopenable, result: None });
    }
    let count = shares.len();
    let pages = count.div_ceil(RELEASE_PAGE);
    let mut result = ReleaseResult { accepted: 0, bad: Vec::new(), duplicates: 0 };
    let mut shares = shares.into_iter();
    for page in 1..=pages {
        let chunk: Vec<ReleaseShare> = shares.by_ref().take(RELEASE_PAGE).collect();
        // Each page is tied to this key, not only to the token: the server
        // asks for a fresh challenge sealed to the registered key to be opened.
        let proof = client
            .prove_custodian(&custodian.id, &key, ChallengePurpose::Release, Some(tender.id))
            .await
            .context("cannot prove possession of the custodian key")?;
        let done = client
            .release(tender.id, &token, &proof, chunk)
            .await
            .with_context(|| format!("the release failed at page {page} of {pages}"))?;
        if pages > 1 {
            println!("page {page} of {pages}: {} accepted", done.accepted);
        }
        result.accepted += done.accepted;
        result.duplicates += done.duplicates;
        result.bad.extend(done.bad);
    }
    println!(
        "released: {} accepted, {} already released or opened, {} refused as bad",
        result.accepted,
        result.duplicates,
        result.bad.len()
    );
    for h in &result.bad {
        println!("  refused as bad: {h}");
    }
    Ok(Released { index, shares: count, unopenable, result: Some(result) })
}

/// Shares to release, bids whose share cannot be opened, and every
/// envelope hash in order.
type Opened = (Vec<ReleaseShare>, Vec<(String, String)>, Vec<String>);

/// Checks each served envelope (hash, signature, binding) and opens this
/// custodian's share of it.
fn open_all(tender: Uuid, index: u8, key: &CustodianSecretKey, bids: &[PublicBid]) -> anyhow::Result<Opened> {
    let (mut shares, mut unopenable, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
    for pb in bids {
        let bytes =
            unb64(&pb.envelope).map_err(|_| anyhow::anyhow!("bid {}: the envelope is not base64url", pb.bid_id))?;
        let hash = sha256_hex(&bytes);
        hashes.push(hash.clone());
        let signature = unb64(&pb.signature).unwrap_or_default();
        let envelope = match Envelope::parse_signed(&bytes, &signature) {
            Ok(e) if hash == pb.envelope_hash && e.tender_id == tender && e.bid_id == pb.bid_id => e,
            Ok(_) => {
                unopenable.push((hash, "the envelope served is not the one named, or not for this tender".into()));
                continue;
            }
            Err(e) => {
                unopenable.push((hash, format!("the envelope does not verify: {e}")));
                continue;
            }
        };
        match open_share(&envelope, index, key) {
            Ok(share) => shares.push(ReleaseShare { bid_id: pb.bid_id, share: b64(share.to_bytes().as_slice()) }),
            Err(e) => unopenable.push((hash, e.to_string())),
        }
    }
    Ok((shares, unopenable, hashes))
}

/// Asks a yes/no question on the terminal; anything but y/yes is no.
fn confirm(question: &str) -> anyhow::Result<bool> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
