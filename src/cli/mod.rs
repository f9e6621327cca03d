//! The `bidroom` command line: one module per subcommand.

use clap::{Parser, Subcommand, ValueEnum};

pub mod backup;
pub mod bidder;
pub mod bidder_decrypt;
pub mod common;
pub mod custodian;
pub mod demo;
pub mod evidence;
pub mod keygen;
pub mod receipt;
pub mod seal;
pub mod serve;
pub mod sign_in;
pub mod verify;
pub mod withdraw;

/// bidroom: a livestreamed, cryptographically verifiable bid-opening room.
#[derive(Debug, Parser)]
#[command(name = "bidroom", version, about)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, env = "BIDROOM_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(crate::config::ServeConfig),
    /// Make a passphrase-protected bidder or custodian key file.
    Keygen(keygen::KeygenArgs),
    /// Bidder identity: register a key with a server.
    #[command(subcommand)]
    Bidder(bidder::BidderCommand),
    /// Seal a bid (form and documents) on this machine, submit it, and
    /// save its receipt.
    Seal(seal::SealArgs),
    /// Withdraw one's own bid before the deadline.
    Withdraw(withdraw::WithdrawArgs),
    /// Submission receipts.
    #[command(subcommand)]
    Receipt(receipt::ReceiptCommand),
    /// Custodians: release key shares at the opening.
    #[command(subcommand)]
    Custodian(custodian::CustodianCommand),
    /// Re-verify a tender's opening from public data alone; exits non-zero
    /// naming each check that failed.
    Verify(verify::VerifyArgs),
    /// Download a tender's evidence bundle: one file that `bidroom verify
    /// --bundle FILE` checks with no server.
    Evidence(evidence::EvidenceArgs),
    /// Copy a running SQLite deployment's data directory into one archive.
    Backup(backup::BackupArgs),
    /// Unpack a backup archive into an empty data directory.
    Restore(backup::RestoreArgs),
    /// Run a whole demo session against a running server: custodians, a
    /// 2-of-3 tender, bidders, the opening, the record, and verify.
    Demo(demo::DemoArgs),
}

/// Sets up tracing; `RUST_LOG` overrides the default level.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(cfg) => serve::run(cfg).await,
        Command::Keygen(args) => keygen::run(args).await.map(drop),
        Command::Bidder(cmd) => bidder::run(cmd).await.map(drop),
        Command::Seal(args) => seal::run(args).await.map(drop),
        Command::Withdraw(args) => withdraw::run(args).await.map(drop),
        Command::Receipt(cmd) => receipt::run(cmd).await.map(drop),
        Command::Custodian(cmd) => custodian::run(cmd).await.map(drop),
        Command::Verify(args) => verify::run(args).await.map(drop),
        Command::Evidence(args) => evidence::run(args).await.map(drop),
        Command::Backup(args) => {
            let m = backup::backup(args).await?;
            println!("backup written: the database, {} files, {} ciphertext files", m.files.len(), m.blobs);
            Ok(())
        }
        Command::Restore(args) => {
            let m = backup::restore(args).await?;
            println!("restored the backup of {}: {} files, {} ciphertext files", m.created, m.files.len(), m.blobs);
            Ok(())
        }
        Command::Demo(args) => demo::run(args).await.map(drop),
    }
}
