//! `bidroom bidder register`: register an identity key with a server;
//! `bidroom bidder sign-in` (in `sign_in.rs`): sign in to a tender's room.

use anyhow::Context;
use clap::{Args, Subcommand};

use super::common::{KeyArgs, ServerArgs};
use crate::client::{Bidder, RegisterRequest};
use crate::seal::{b64, register_message};

/// `bidroom bidder …`.
#[derive(Debug, Clone, Subcommand)]
pub enum BidderCommand {
    /// Register a bidder identity key (proving possession of it).
    Register(RegisterArgs),
    /// Bind a decryption key to this bidder's identity (bidder-held custody).
    DecryptionKey(super::bidder_decrypt::DecryptionKeyArgs),
    /// Decrypt this bidder's own shares of a tender under opening and release them.
    Decrypt(super::bidder_decrypt::DecryptArgs),
    /// Sign in to a tender's live room (签到) with the identity key.
    SignIn(super::sign_in::SignInArgs),
}

/// Flags of `bidroom bidder register`.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The bidder's name as it appears at the opening.
    #[arg(long)]
    pub name: String,
}

/// Runs a `bidder` subcommand.
pub async fn run(cmd: BidderCommand) -> anyhow::Result<()> {
    match cmd {
        BidderCommand::Register(args) => register(args).await.map(drop),
        BidderCommand::DecryptionKey(args) => super::bidder_decrypt::register_decryption_key(args).await.map(drop),
        BidderCommand::Decrypt(args) => super::bidder_decrypt::decrypt(args).await.map(drop),
        BidderCommand::SignIn(args) => super::sign_in::sign_in(args).await.map(drop),
    }
}

/// Signs the registration statement and registers the key.
pub async fn register(args: RegisterArgs) -> anyhow::Result<Bidder> {
    let client = args.server.client()?;
    let key = args.key.unlock_bidder().await?;
    let public = key.public_key();
    let proof = key.sign(&register_message(public.as_bytes()))?;
    let request = RegisterRequest { name: args.name, public_key: b64(public.as_bytes()), proof: b64(&proof) };
    let (bidder, created) = client.register_bidder(&request).await.context("registration failed")?;
    anyhow::ensure!(
        bidder.id == public.key_id(),
        "the server registered key id {} but this key's id is {}",
        bidder.id,
        public.key_id()
    );
    let what = if created { "registered" } else { "already registered" };
    println!("{what}: {} as {:?} (key id {})", client.base(), bidder.name, bidder.id);
    Ok(bidder)
}
