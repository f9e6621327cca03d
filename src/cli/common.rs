//! Pieces the client subcommands share: the server and key flags, reading
//! passphrases, unlocking key files, writing files that must not be
//! overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use zeroize::Zeroizing;

use crate::client::Client;
use crate::ledger::Verifier;
use crate::seal::{BidderKey, KeyFile};

/// Environment variable holding the key file passphrase.
pub const PASSPHRASE_ENV: &str = "BIDROOM_PASSPHRASE";

/// Key files are small; anything bigger is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// `--server`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Base URL of the bidroom server, e.g. `https://bids.example.org`.
    #[arg(long, env = "BIDROOM_SERVER", value_name = "URL")]
    pub server: String,
}

impl ServerArgs {
    /// A client for that server.
    pub fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.server)?)
    }
}

/// `--key` and where its passphrase comes from.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// The key file (made by `bidroom keygen`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Read the passphrase from the first line of this file instead of
    /// `BIDROOM_PASSPHRASE` or a prompt.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl KeyArgs {
    /// Reads the key file and unlocks the bidder key in it.
    pub async fn unlock_bidder(&self) -> anyhow::Result<BidderKey> {
        let file = read_key_file(&self.key)?;
        let passphrase = read_passphrase(self.passphrase_file.as_deref(), false)?;
        let path = self.key.clone();
        // PBKDF2 with 600 000 iterations takes a while: keep it off the runtime.
        tokio::task::spawn_blocking(move || file.unlock_bidder(&passphrase))
            .await?
            .with_context(|| format!("cannot unlock {}", path.display()))
    }
}

/// Reads and parses a key file.
pub fn read_key_file(path: &Path) -> anyhow::Result<KeyFile> {
    let len = std::fs::metadata(path).with_context(|| format!("cannot read key file {}", path.display()))?.len();
    anyhow::ensure!(len <= MAX_KEY_FILE, "{} is too large to be a key file", path.display());
    let bytes = std::fs::read(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    KeyFile::parse(&bytes).with_context(|| format!("{} is not a bidroom key file", path.display()))
}

/// The passphrase: from `file` if given, else `BIDROOM_PASSPHRASE`, else a
/// prompt on the terminal (asked twice when `confirm`, for new keys).
pub fn read_passphrase(file: Option<&Path>, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    let pass = if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("cannot read passphrase file {}", path.display()))?,
        );
        // Only the line ending an editor or `echo` adds; other spaces count.
        let line = text.split(['\n', '\r']).next().unwrap_or_default();
        Zeroizing::new(line.to_owned())
    } else if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        Zeroizing::new(p)
    } else {
        let first = Zeroizing::new(rpassword::prompt_password("Passphrase: ").context("cannot read the passphrase")?);
        if confirm {
            let again = Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ")?);
            anyhow::ensure!(*first == *again, "the passphrases differ");
        }
        first
    };
    anyhow::ensure!(!pass.is_empty(), "the passphrase must not be empty");
    Ok(pass)
}

/// Creates `path` with `bytes`, refusing to replace an existing file; on
/// Unix the file is readable by its owner only when `private`.
pub fn write_new_file(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{} already exists; refusing to overwrite it", path.display())
        }
        _ => anyhow::Error::new(e).context(format!("cannot create {}", path.display())),
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The log verifier key: `given` (the key text, or a file holding it), or
/// else the one the server publishes at `/log/key`.
pub async fn log_verifier(client: &Client, given: Option<&str>) -> anyhow::Result<Verifier> {
    let text = match given {
        Some(g) if Path::new(g).is_file() => {
            std::fs::read_to_string(g).with_context(|| format!("cannot read log key file {g}"))?
        }
        Some(g) => g.to_owned(),
        None => client.log_key().await.context("cannot fetch the log key")?,
    };
    Verifier::parse(text.trim()).context("not a log verifier key")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// RFC 3339 for people reading the output (time's `Display` is not it).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}
