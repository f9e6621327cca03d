//! Scratch directories for the CLI: a passphrase file, key files, forms,
//! receipts, and the argument structs the commands take.

use std::path::{Path, PathBuf};

use bidroom::cli::bidder;
use bidroom::cli::common::{KeyArgs, ServerArgs};
use bidroom::cli::custodian::ReleaseArgs;
use bidroom::cli::keygen::{self, KeygenArgs, KindArg};
use bidroom::cli::receipt::VerifyArgs;
use bidroom::cli::seal::{self, SealArgs, Sealed};
use bidroom::seal::{KeyFile, b64};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::server::TestApp;

/// Test keys use few PBKDF2 iterations; the default is for real keys.
pub const ITERATIONS: u32 = 1_000;

/// The passphrase in every scratch directory's passphrase file.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A scratch directory with a passphrase file.
pub struct Scratch {
    dir: tempfile::TempDir,
    pub passphrase: PathBuf,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Scratch {
    /// A fresh directory holding the passphrase file.
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        let passphrase = dir.path().join("passphrase");
        std::fs::write(&passphrase, format!("{PASSPHRASE}\n")).expect("write passphrase");
        Scratch { dir, passphrase }
    }

    /// `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The key file `key` unlocked with the passphrase file.
    pub fn key_args(&self, key: &Path) -> KeyArgs {
        KeyArgs { key: key.to_path_buf(), passphrase_file: Some(self.passphrase.clone()) }
    }

    /// The keygen arguments for a key file `name` of `kind`.
    pub fn keygen_args(&self, kind: KindArg, name: &str) -> KeygenArgs {
        KeygenArgs {
            kind,
            out: self.path(name),
            iterations: ITERATIONS,
            passphrase_file: Some(self.passphrase.clone()),
        }
    }

    /// Makes a key file `name` of `kind`.
    pub async fn keygen(&self, kind: KindArg, name: &str) -> PathBuf {
        let args = self.keygen_args(kind, name);
        let out = args.out.clone();
        keygen::run(args).await.expect("keygen");
        out
    }

    /// Makes and registers (`bidroom bidder register`) a bidder key `<name>.key`.
    pub async fn bidder(&self, app: &TestApp, name: &str) -> PathBuf {
        let key = self.keygen(KindArg::Bidder, &format!("{name}.key")).await;
        let args = bidder::RegisterArgs { server: server(app), key: self.key_args(&key), name: name.into() };
        bidder::register(args).await.expect("register");
        key
    }

    /// A registered custodian: its key file and release token.
    pub async fn custodian(&self, app: &TestApp, id: &str) -> (PathBuf, String) {
        let key = self.keygen(KindArg::Custodian, &format!("{id}.key")).await;
        let public = KeyFile::parse(&std::fs::read(&key).expect("read key")).expect("key file").public;
        let body = json!({"id": id, "name": format!("Custodian {id}"), "public_key": b64(&public)});
        let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (key, v["release_token"].as_str().expect("token").to_owned())
    }

    /// Writes a form file `name`.
    pub fn write_form(&self, name: &str, form: &Value) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, form.to_string()).expect("write form");
        path
    }

    /// `bidroom seal` arguments for lot 1; receipt and envelope go to
    /// `receipt-<tag>.json` and `envelope-<tag>.json`.
    pub fn seal_args(&self, app: &TestApp, tender: &str, key: &Path, form: &Path, tag: &str) -> SealArgs {
        SealArgs {
            server: server(app),
            tender: tender.parse().expect("uuid"),
            lot: "1".into(),
            key: self.key_args(key),
            form: form.to_path_buf(),
            docs: Vec::new(),
            receipt_out: Some(self.path(&format!("receipt-{tag}.json"))),
            envelope_out: Some(self.path(&format!("envelope-{tag}.json"))),
            decryption_key: None,
        }
    }

    /// Seals and submits `{"price": price, "days": 90}` with `bidroom seal`.
    pub async fn seal(
        &self,
        app: &TestApp,
        tender: &str,
        key: &Path,
        price: &str,
        tag: &str,
    ) -> anyhow::Result<Sealed> {
        let form = self.write_form(&format!("form-{tag}.json"), &json!({"price": price, "days": 90}));
        seal::run(self.seal_args(app, tender, key, &form, tag)).await
    }

    /// `bidroom receipt verify` arguments for a saved receipt.
    pub fn verify_args(&self, app: &TestApp, receipt: &Path) -> VerifyArgs {
        VerifyArgs { file: receipt.to_path_buf(), server: server(app), log_key: None, envelope: None }
    }

    /// `bidroom custodian release` arguments, confirmed in advance.
    pub fn release_args(&self, app: &TestApp, tender: &str, key: &Path, token: &str) -> ReleaseArgs {
        ReleaseArgs {
            server: server(app),
            tender: tender.parse().expect("uuid"),
            key: self.key_args(key),
            token: Some(token.to_owned()),
            token_file: None,
            yes: true,
        }
    }
}

/// The CLI's `--server` for a test server.
pub fn server(app: &TestApp) -> ServerArgs {
    ServerArgs { server: app.base.clone() }
}
