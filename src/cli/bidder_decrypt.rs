//! Bidder-held custody on the command line: `bidroom bidder decryption-key`
//! binds the bidder's HPKE decryption key to its identity, and `bidroom
//! bidder decrypt` opens the bidder's own shares locally during the
//! decryption window and releases them signed (the private keys never
//! leave this machine).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use uuid::Uuid;

use super::common::{KeyArgs, ServerArgs, read_key_file, read_passphrase};
use crate::client::{BidderReleaseAnswer, BidderReleaseRequest, ClientError, DecryptionKey, DecryptionKeyRequest};
use crate::seal::{
    BIDDER_CUSTODIAN, CustodianPublicKey, CustodianSecretKey, CustodyPolicy, Envelope, KeyKind, b64,
    bidder_release_message, decryption_key_message, open_share, unb64,
};

/// Flags of `bidroom bidder decryption-key`.
#[derive(Debug, Clone, Args)]
pub struct DecryptionKeyArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The bidder's identity key file and its passphrase (which also opens
    /// nothing else: the decryption key's public half is read unencrypted).
    #[command(flatten)]
    pub key: KeyArgs,
    /// The decryption key file (`bidroom keygen --kind decryption`).
    #[arg(long, value_name = "FILE")]
    pub decryption_key: PathBuf,
}

/// Flags of `bidroom bidder decrypt`.
#[derive(Debug, Clone, Args)]
pub struct DecryptArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender under opening.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// The bidder's identity key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The decryption key file; unlocked with the same passphrase source
    /// unless `--decryption-passphrase-file` is given.
    #[arg(long, value_name = "FILE")]
    pub decryption_key: PathBuf,
    /// Read the decryption key's passphrase from this file.
    #[arg(long, value_name = "FILE")]
    pub decryption_passphrase_file: Option<PathBuf>,
    /// Only this bid (default: every bid of this bidder in the tender).
    #[arg(long, value_name = "ID")]
    pub bid: Option<Uuid>,
}

/// The public half of a decryption key file (no passphrase needed).
pub fn decryption_public_key(path: &Path) -> anyhow::Result<CustodianPublicKey> {
    let file = read_key_file(path)?;
    anyhow::ensure!(
        file.kind == KeyKind::Decryption,
        "{} is not a decryption key file (make one with `bidroom keygen --kind decryption`)",
        path.display()
    );
    CustodianPublicKey::from_bytes(&file.public).with_context(|| format!("{}: bad public key", path.display()))
}

/// The policy to seal to: the tender's, with the bidder's slot (if any)
/// taking the public key of the bidder's own decryption key file.
pub fn bidder_policy(custody: CustodyPolicy, decryption_key: Option<&Path>) -> anyhow::Result<CustodyPolicy> {
    if custody.bidder_index().is_none() {
        return Ok(custody);
    }
    let path = decryption_key.context(
        "in this tender the bidder holds a share of its own bid: pass --decryption-key (the file registered with \
         `bidroom bidder decryption-key`)",
    )?;
    Ok(custody.with_bidder_key(&decryption_public_key(path)?))
}

/// Signs and registers the decryption key, replacing the current one if the
/// server has another (the statement names it, so only this bidder can).
pub async fn register_decryption_key(args: DecryptionKeyArgs) -> anyhow::Result<DecryptionKey> {
    let client = args.server.client()?;
    let public = decryption_public_key(&args.decryption_key)?;
    let key = args.key.unlock_bidder().await?;
    let me = key.public_key();
    let current = match client.decryption_key(&me.key_id()).await {
        Ok(k) => Some(k),
        Err(ClientError::Api { code, .. }) if code == "not_found" => None,
        Err(e) => return Err(e).context("cannot read the current decryption key"),
    };
    let previous = match &current {
        Some(c) if c.public_key == b64(public.as_bytes()) => {
            println!("already registered: decryption key of {}", me.key_id());
            return Ok(c.clone());
        }
        Some(c) => {
            let bytes = unb64(&c.public_key).context("the server's current key is not base64url")?;
            Some(<[u8; 65]>::try_from(bytes.as_slice()).context("the server's current key is not 65 bytes")?)
        }
        None => None,
    };
    let signature = key.sign(&decryption_key_message(me.as_bytes(), public.as_bytes(), previous.as_ref()))?;
    let body = DecryptionKeyRequest {
        public_key: b64(public.as_bytes()),
        previous: previous.map(|p| b64(&p)),
        signature: b64(&signature),
    };
    let (record, _) =
        client.register_decryption_key(&me.key_id(), &body).await.context("registering the decryption key failed")?;
    println!("registered decryption key of {} ({})", record.bidder_id, record.public_key);
    Ok(record)
}

/// What became of one bid in `bidder decrypt`.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The bid.
    pub bid_id: Uuid,
    /// The server's answer.
    pub answer: BidderReleaseAnswer,
}

async fn unlock_decryption(path: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<CustodianSecretKey> {
    let file = read_key_file(path)?;
    let passphrase = read_passphrase(passphrase_file, false)?;
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || file.unlock_decryption(&passphrase))
        .await?
        .with_context(|| format!("cannot unlock {shown}"))
}

/// Opens this bidder's shares of the tender's bids and releases them.
pub async fn decrypt(args: DecryptArgs) -> anyhow::Result<Vec<Decrypted>> {
    let client = args.server.client()?;
    let key = args.key.unlock_bidder().await?;
    let pass_file = args.decryption_passphrase_file.as_deref().or(args.key.passphrase_file.as_deref());
    let secret = unlock_decryption(&args.decryption_key, pass_file).await?;
    let me = key.public_key();
    let bids = client.envelopes(args.tender).await.context("cannot fetch the envelopes (has the opening started?)")?;
    let mut out = Vec::new();
    for pb in bids {
        if args.bid.is_some_and(|b| b != pb.bid_id) {
            continue;
        }
        let bytes = unb64(&pb.envelope).context("a served envelope is not base64url")?;
        let env =
            Envelope::parse(&bytes).with_context(|| format!("the envelope of bid {} does not parse", pb.bid_id))?;
        if env.bidder_public_key != me {
            continue;
        }
        let slot = env.custody.custodians.iter().find(|c| c.id == BIDDER_CUSTODIAN);
        let Some(slot) = slot else { anyhow::bail!("tender {} has no bidder-held share", args.tender) };
        anyhow::ensure!(
            slot.public_key == Some(secret.public_key()),
            "bid {} was sealed to another decryption key than {}",
            pb.bid_id,
            args.decryption_key.display()
        );
        let share = open_share(&env, slot.index, &secret)
            .with_context(|| format!("bid {}: this bidder's share does not open or match its commitment", pb.bid_id))?;
        let share_bytes = share.to_bytes();
        // The server's clock decides the window; sign its time, not ours.
        let signed_at = client.server_time().await.context("cannot read the server's clock")?.unix_timestamp();
        let signature = key.sign(&bidder_release_message(env.tender_id, env.bid_id, &share_bytes, signed_at))?;
        let body = BidderReleaseRequest { share: b64(share_bytes.as_ref()), signed_at, signature: b64(&signature) };
        let answer = client
            .bidder_release(args.tender, pb.bid_id, &body)
            .await
            .with_context(|| format!("releasing the share of bid {} failed", pb.bid_id))?;
        println!("bid {}: share {} released ({})", pb.bid_id, answer.index, if answer.good { "good" } else { "BAD" });
        out.push(Decrypted { bid_id: pb.bid_id, answer });
    }
    anyhow::ensure!(!out.is_empty() || args.bid.is_none(), "bid {:?} is not one of this bidder's bids", args.bid);
    if out.is_empty() {
        println!("no bid of {} in tender {}", me.key_id(), args.tender);
    }
    Ok(out)
}
