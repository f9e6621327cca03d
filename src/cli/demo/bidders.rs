//! The demo's bidders and custodians: real key files in a scratch
//! directory, driven through the same functions as the CLI subcommands.

use std::path::{Path, PathBuf};

use anyhow::Context;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::super::common::{KeyArgs, ServerArgs};
use super::super::keygen::{self, KeygenArgs, KindArg};
use super::super::seal::{self, SealArgs, Sealed};
use super::super::{bidder, withdraw};
use crate::client::Client;
use crate::seal::{KeyFile, b64};

/// Demo keys are protected with few PBKDF2 iterations: they live only as
/// long as the demo's scratch directory.
const ITERATIONS: u32 = 10_000;

/// The scratch directory with its keys and passphrase.
pub struct Scratch {
    dir: tempfile::TempDir,
    passphrase: PathBuf,
    server: ServerArgs,
}

impl Scratch {
    /// A new scratch directory with a random passphrase file.
    pub fn new(server: &str) -> anyhow::Result<Scratch> {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let passphrase = dir.path().join("passphrase");
        let secret = crate::app::tokens::new_token().map_err(|_| anyhow::anyhow!("random generator failed"))?;
        std::fs::write(&passphrase, format!("{secret}\n"))?;
        Ok(Scratch { dir, passphrase, server: ServerArgs { server: server.to_owned() } })
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--key` for a key file made here.
    pub fn key_args(&self, key: &Path) -> KeyArgs {
        KeyArgs { key: key.to_path_buf(), passphrase_file: Some(self.passphrase.clone()) }
    }

    /// `--server`.
    pub fn server(&self) -> ServerArgs {
        self.server.clone()
    }

    async fn keygen(&self, kind: KindArg, name: &str) -> anyhow::Result<PathBuf> {
        let out = self.path(name);
        let args = KeygenArgs {
            kind,
            out: out.clone(),
            iterations: ITERATIONS,
            passphrase_file: Some(self.passphrase.clone()),
        };
        keygen::run(args).await?;
        Ok(out)
    }

    /// Makes a custodian key and registers it (staff token); returns the
    /// key file and the release token.
    pub async fn custodian(
        &self,
        client: &Client,
        token: &str,
        id: &str,
        name: &str,
    ) -> anyhow::Result<(PathBuf, String)> {
        let key = self.keygen(KindArg::Custodian, &format!("{id}.key")).await?;
        let bytes = std::fs::read(&key)?;
        let public = KeyFile::parse(&bytes)?.public;
        let body = json!({ "id": id, "name": name, "public_key": b64(&public) });
        let answer = client
            .staff_call(Method::POST, "api/v1/custodians", token, Some(&body))
            .await
            .with_context(|| format!("cannot register custodian {id}"))?;
        let release = answer["release_token"].as_str().context("no release token in the answer")?.to_owned();
        println!("registered custodian {id} ({name})");
        Ok((key, release))
    }

    /// Makes a bidder key and registers it under `name`.
    pub async fn bidder(&self, name: &str, file: &str) -> anyhow::Result<PathBuf> {
        let key = self.keygen(KindArg::Bidder, file).await?;
        let args = bidder::RegisterArgs { server: self.server(), key: self.key_args(&key), name: name.to_owned() };
        bidder::register(args).await?;
        Ok(key)
    }

    /// Seals and submits a bid with `price` and `days`.
    pub async fn seal(&self, tender: Uuid, key: &Path, price: &str, days: u32, tag: &str) -> anyhow::Result<Sealed> {
        let form = self.path(&format!("form-{tag}.json"));
        std::fs::write(&form, json!({ "price": price, "days": days }).to_string())?;
        let doc = self.path(&format!("offer-{tag}.txt"));
        std::fs::write(&doc, format!("Technical offer {tag}: only evaluators read this after the opening.\n"))?;
        let args = SealArgs {
            server: self.server(),
            tender,
            lot: "1".into(),
            key: self.key_args(key),
            form,
            docs: vec![doc],
            receipt_out: Some(self.path(&format!("receipt-{tag}.json"))),
            envelope_out: Some(self.path(&format!("envelope-{tag}.json"))),
            decryption_key: None,
        };
        seal::run(args).await
    }

    /// Withdraws a bid.
    pub async fn withdraw(&self, tender: Uuid, bid: Uuid, key: &Path) -> anyhow::Result<()> {
        let args = withdraw::WithdrawArgs {
            server: self.server(),
            tender,
            bid,
            key: self.key_args(key),
            receipt_out: Some(self.path(&format!("withdrawal-{bid}.json"))),
        };
        withdraw::run(args).await.map(drop)
    }
}
