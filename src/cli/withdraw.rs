//! `bidroom withdraw`: withdraw one's own bid before the deadline.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use uuid::Uuid;

use super::common::{KeyArgs, ServerArgs};
use super::receipt::{check_fresh, save_receipt};
use crate::client::BidReceipt;
use crate::seal::withdraw_message;

/// Flags of `bidroom withdraw`.
#[derive(Debug, Clone, Args)]
pub struct WithdrawArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// The bid's id (from its receipt or `seal`'s output).
    #[arg(long, value_name = "ID")]
    pub bid: Uuid,
    /// The key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Where to save the withdrawal receipt [default: withdrawal-<bid id>.json].
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<PathBuf>,
}

/// Signs the withdrawal, sends it, saves and verifies the receipt.
pub async fn run(args: WithdrawArgs) -> anyhow::Result<BidReceipt> {
    let client = args.server.client()?;
    let path = args.receipt_out.clone().unwrap_or_else(|| format!("withdrawal-{}.json", args.bid).into());
    anyhow::ensure!(!path.exists(), "{} already exists; refusing to overwrite it", path.display());
    let key = args.key.unlock_bidder().await?;
    let signature = key.sign(&withdraw_message(args.tender, args.bid))?;
    let answer = client.withdraw_bid(args.tender, args.bid, &signature).await.context("withdrawal failed")?;
    anyhow::ensure!(answer.bid_id == args.bid, "the server answered for bid {}, not {}", answer.bid_id, args.bid);
    save_receipt(&path, &answer.receipt)?;
    check_fresh(&client, &answer.receipt, None).await?;
    println!(
        "withdrew bid {} at {} (log entry {}); receipt verified and saved to {}",
        args.bid,
        super::common::rfc3339(answer.receipt.received_at),
        answer.receipt.leaf_index,
        path.display()
    );
    Ok(answer)
}
