//! `bidroom keygen`: a new passphrase-protected bidder or custodian key.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::common::{read_passphrase, write_new_file};
use crate::seal::{BidderKey, CustodianSecretKey, DEFAULT_ITERATIONS, KeyFile, KeyKind, b64};

/// Which kind of key to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// An ECDSA P-256 identity key that signs bids.
    Bidder,
    /// An HPKE P-256 key that receives key shares.
    Custodian,
    /// A bidder's HPKE P-256 decryption key, for tenders where the bidder
    /// holds a share of its own bid (`bidroom bidder decryption-key`).
    Decryption,
}

/// Flags of `bidroom keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Bidder identity key or custodian key.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// Where to write the key file (must not exist; created with mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// PBKDF2 iterations protecting the file.
    #[arg(long, default_value_t = DEFAULT_ITERATIONS, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub iterations: u32,
    /// Read the passphrase from the first line of this file instead of
    /// `BIDROOM_PASSPHRASE` or a prompt.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// What `keygen` made.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Bidder or custodian.
    pub kind: KeyKind,
    /// Key id (hex of SHA-256(public key)[..8]).
    pub key_id: String,
    /// The 65-byte SEC1 public key, base64url.
    pub public_key: String,
    /// The file written.
    pub path: PathBuf,
}

/// Makes the key, writes the file, prints the key id and public key.
pub async fn run(args: KeygenArgs) -> anyhow::Result<Generated> {
    // Fail before asking for a passphrase if the file is already there.
    anyhow::ensure!(!args.out.exists(), "{} already exists; refusing to overwrite it", args.out.display());
    let passphrase = read_passphrase(args.passphrase_file.as_deref(), true)?;
    let (kind, iterations) = (args.kind, args.iterations);
    let file = tokio::task::spawn_blocking(move || match kind {
        KindArg::Bidder => KeyFile::seal_bidder(&BidderKey::generate()?, &passphrase, iterations),
        KindArg::Custodian => KeyFile::seal_custodian(&CustodianSecretKey::generate()?, &passphrase, iterations),
        KindArg::Decryption => KeyFile::seal_decryption(&CustodianSecretKey::generate()?, &passphrase, iterations),
    })
    .await?
    .context("cannot make the key")?;
    write_new_file(&args.out, &file.to_json()?, true)?;
    let generated = Generated { kind: file.kind, key_id: file.key_id(), public_key: b64(&file.public), path: args.out };
    println!("wrote {} key {}", kind_name(generated.kind), generated.path.display());
    println!("key id:     {}", generated.key_id);
    println!("public key: {}", generated.public_key);
    Ok(generated)
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Bidder => "bidder",
        KeyKind::Custodian => "custodian",
        KeyKind::Decryption => "decryption",
    }
}
