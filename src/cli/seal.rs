//! `bidroom seal`: seal a bid on this machine and submit it.
//!
//! Order matters: everything that can be checked locally (the form against
//! the lot's fields, the document files) is checked before the passphrase
//! is asked and before any byte is uploaded. Documents are encrypted once,
//! each to a temporary file, because the envelope must carry their
//! ciphertext hashes before it is signed; the files are then sent with the
//! resumable upload in chunks, a broken request resumed from the server's
//! offset. Memory stays constant whatever the documents' size.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::common::{KeyArgs, ServerArgs, sha256_hex, write_new_file};
use super::receipt::{CheckFailed, check_fresh, save_receipt};
use crate::client::{BidEnded, BidUpload, Client, ClientError, ResumeOptions, Submitted, Tender, UploadEvent};
use crate::ledger::Receipt;
use crate::seal::{BidSealer, Binding, CustodyPolicy};

/// Exit status of `bidroom seal` when the bid was received and its receipt
/// saved, but the receipt could not be checked against the log (the server
/// went away right after answering). Distinct from 1 (the bid may not have
/// been received), because submitting again would replace the bid.
pub const EXIT_RECEIVED_UNCHECKED: u8 = 3;

/// A form is a handful of opening-record values; anything this big is a mistake.
const MAX_FORM_FILE: u64 = 1024 * 1024;

/// Flags of `bidroom seal`.
#[derive(Debug, Clone, Args)]
pub struct SealArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender's id.
    #[arg(long, value_name = "ID")]
    pub tender: Uuid,
    /// The lot to bid on.
    #[arg(long, value_name = "LOT")]
    pub lot: String,
    /// The key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The opening-record values: a JSON object with the lot's field keys.
    #[arg(long, value_name = "FILE")]
    pub form: PathBuf,
    /// A document to attach (repeatable); its name and media type are sealed
    /// too, and only authorised staff can read them after the opening.
    #[arg(long = "doc", value_name = "FILE")]
    pub docs: Vec<PathBuf>,
    /// Where to save the receipt [default: receipt-<bid id>.json].
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<PathBuf>,
    /// Where to save the signed envelope [default: envelope-<bid id>.json].
    #[arg(long, value_name = "FILE")]
    pub envelope_out: Option<PathBuf>,
    /// The bidder's decryption key file (`bidroom keygen --kind decryption`),
    /// for tenders where the bidder holds a share of its own bid: that share
    /// is sealed to the public key in this file (no passphrase needed).
    #[arg(long, value_name = "FILE")]
    pub decryption_key: Option<PathBuf>,
}

/// What a successful `seal` produced.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The new bid's id.
    pub bid_id: Uuid,
    /// Lowercase hex SHA-256 of the envelope.
    pub envelope_hash: String,
    /// The verified receipt.
    pub receipt: Receipt,
    /// Where the receipt was saved.
    pub receipt_path: PathBuf,
    /// Where the envelope was saved.
    pub envelope_path: PathBuf,
    /// `false` if the server already had this exact envelope.
    pub created: bool,
}

/// How long the check of a fresh receipt is retried when the server cannot
/// be reached (it may be restarting right after it answered).
#[derive(Debug, Clone)]
pub struct CheckRetry {
    /// Pause before the first retry; doubled after each one.
    pub first: Duration,
    /// Longest pause between two tries.
    pub max: Duration,
    /// Give up once this much time has passed since the first try.
    pub total: Duration,
}

impl Default for CheckRetry {
    fn default() -> Self {
        CheckRetry { first: Duration::from_millis(250), max: Duration::from_secs(5), total: Duration::from_secs(30) }
    }
}

/// The bid is received (the server issued a receipt, saved to a file) but
/// the receipt could not be checked against the log. `bidroom seal` exits
/// with [`EXIT_RECEIVED_UNCHECKED`] for it.
#[derive(Debug, thiserror::Error)]
#[error(
    "bid {bid_id} IS received: the server issued a receipt, saved to {receipt}. Only checking that receipt \
     against the log failed ({cause}). Do not submit the bid again (that would replace it); check the receipt \
     later with: bidroom receipt verify {receipt} --server {server} --envelope {envelope}",
    receipt = receipt_path.display(),
    envelope = envelope_path.display()
)]
pub struct ReceivedUnchecked {
    /// The bid's id.
    pub bid_id: Uuid,
    /// Where the receipt was saved.
    pub receipt_path: PathBuf,
    /// Where the envelope was saved.
    pub envelope_path: PathBuf,
    /// The server's URL.
    pub server: String,
    /// The last error of the check.
    pub cause: String,
}

/// Seals, submits, saves and verifies the receipt.
pub async fn run(args: SealArgs) -> anyhow::Result<Sealed> {
    run_with(args, &CheckRetry::default()).await
}

/// [`run`] with a chosen retry of the receipt check.
pub async fn run_with(args: SealArgs, retry: &CheckRetry) -> anyhow::Result<Sealed> {
    let client = args.server.client()?;
    let form = read_form(&args.form)?;
    let tender = client.tender(args.tender).await.context("cannot fetch the tender")?;
    check_form(&tender, &args.lot, &form, &args.form)?;
    let documents = documents(&args.docs)?;
    let bid_id = Uuid::new_v4();
    let receipt_path = args.receipt_out.clone().unwrap_or_else(|| format!("receipt-{bid_id}.json").into());
    let envelope_path = args.envelope_out.clone().unwrap_or_else(|| format!("envelope-{bid_id}.json").into());
    for path in [&receipt_path, &envelope_path] {
        anyhow::ensure!(!path.exists(), "{} already exists; refusing to overwrite it", path.display());
    }
    let custody = fetch_custody(&client, &tender).await?;
    let custody = super::bidder_decrypt::bidder_policy(custody, args.decryption_key.as_deref())?;
    let key = args.key.unlock_bidder().await?;

    // Ciphertexts live here until the upload is done; dropped on any error.
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut sealer = BidSealer::new(Binding::new(tender.id, bid_id), &args.lot, &custody)?;
    let mut streams = Vec::with_capacity(documents.len());
    for (i, doc) in documents.into_iter().enumerate() {
        let out = work.path().join(format!("document-{i}.bdrs"));
        sealer = seal_document(sealer, doc, out.clone()).await?;
        streams.push(out);
    }
    let form_json = serde_json::to_vec(&form)?;
    let sealed = sealer.seal(&form_json, &key, OffsetDateTime::now_utc())?;
    let envelope_hash = sha256_hex(&sealed.envelope);
    let envelope = sealed.envelope.clone();
    println!("sealed bid {bid_id} for tender {} lot {} (envelope {envelope_hash})", tender.id, args.lot);

    let upload = BidUpload {
        envelope: sealed.envelope,
        signature: sealed.signature,
        form: sealed.form_ciphertext,
        documents: streams,
    };
    let submitted = submit(&client, tender.id, upload).await?;
    let answer = submitted.answer;
    anyhow::ensure!(answer.bid_id == bid_id, "the server answered for bid {}, not {bid_id}", answer.bid_id);
    // Saved before they are checked: a receipt that fails to verify is
    // evidence too, and the envelope is what the receipt is about.
    write_new_file(&envelope_path, &envelope, false)?;
    save_receipt(&receipt_path, &answer.receipt)?;
    if let Err(e) = check_with_retry(&client, &answer.receipt, &envelope_hash, retry).await {
        // A receipt that fails a check is reported as such; only a check
        // that could not be made at all is "received, check later".
        if e.downcast_ref::<CheckFailed>().is_some() {
            return Err(e);
        }
        return Err(ReceivedUnchecked {
            bid_id,
            receipt_path,
            envelope_path,
            server: args.server.server.clone(),
            cause: format!("{e:#}"),
        }
        .into());
    }
    let r = &answer.receipt;
    println!(
        "received at {} (log entry {} of {}); receipt verified and saved to {}",
        super::common::rfc3339(r.received_at),
        r.leaf_index,
        r.tree_size,
        receipt_path.display()
    );
    Ok(Sealed {
        bid_id,
        envelope_hash,
        receipt: answer.receipt,
        receipt_path,
        envelope_path,
        created: submitted.created,
    })
}

/// Checks the fresh receipt, trying again with doubling pauses while the
/// server cannot be reached or answers that it is unavailable.
async fn check_with_retry(
    client: &Client,
    receipt: &Receipt,
    envelope_hash: &str,
    retry: &CheckRetry,
) -> anyhow::Result<()> {
    let start = tokio::time::Instant::now();
    let mut pause = retry.first;
    let mut attempt = 1u32;
    loop {
        let e = match check_fresh(client, receipt, Some(envelope_hash)).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let transient = e.chain().any(|c| c.downcast_ref::<ClientError>().is_some_and(ClientError::is_transient));
        if !transient || start.elapsed() + pause > retry.total {
            return Err(e);
        }
        eprintln!("the bid is received; checking its receipt failed ({e:#}); retrying (attempt {attempt})");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(retry.max);
        attempt += 1;
    }
}

/// Sends the sealed bid resumably: broken requests are retried from the
/// server's offset; progress of large bids is printed per 10 %.
async fn submit(client: &Client, tender: Uuid, upload: BidUpload) -> anyhow::Result<Submitted> {
    let opts = ResumeOptions::default();
    let mut shown = None;
    let mut on_event = |e: UploadEvent| match e {
        UploadEvent::Progress { done, total } => {
            let tenth = (done * 10).checked_div(total).unwrap_or(10);
            // Small bids go in one request or two: no progress lines then.
            if total > opts.chunk && shown != Some(tenth) {
                shown = Some(tenth);
                println!("uploaded {done} of {total} bytes ({}%)", tenth * 10);
            }
        }
        UploadEvent::Retrying { error, attempt } => {
            eprintln!("upload interrupted ({error}); resuming from the server's offset (attempt {attempt})");
        }
    };
    client.upload_bid(tender, upload, &opts, &mut on_event).await.map_err(|e| match e {
        ClientError::BidEnded { ended, .. } => anyhow::anyhow!(ended_explanation(&ended)),
        e => anyhow::Error::new(e).context("submission failed"),
    })
}

/// Says why a bid the server received does not stand, from the receipt of
/// the entry that ended it.
fn ended_explanation(ended: &BidEnded) -> String {
    let r = &ended.ended_by.receipt;
    let at = super::common::rfc3339(r.received_at);
    if ended.replaced() {
        format!(
            "bid {} was received but does NOT stand: it was replaced by the later bid {} of the same key for this lot \
             (log entry {}, received at {at}). Only the latest bid counts; to change it, seal a new bid",
            ended.bid_id, ended.ended_by.bid_id, r.leaf_index
        )
    } else {
        format!(
            "bid {} was received but does NOT stand: it was withdrawn (log entry {}, at {at}). Seal a new bid to \
             take part",
            ended.bid_id, r.leaf_index
        )
    }
}

/// Reads the form file as a JSON object.
fn read_form(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let len = std::fs::metadata(path).with_context(|| format!("cannot read form {}", path.display()))?.len();
    anyhow::ensure!(len <= MAX_FORM_FILE, "form {} is larger than 1 MiB", path.display());
    let bytes = std::fs::read(path).with_context(|| format!("cannot read form {}", path.display()))?;
    let value: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("form {} is not JSON", path.display()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("form {} must be a JSON object of field values", path.display()),
    }
}

/// Validates the form against the lot's opening-record fields.
fn check_form(tender: &Tender, lot: &str, form: &Map<String, Value>, path: &Path) -> anyhow::Result<()> {
    let Some(l) = tender.lot(lot) else {
        let ids: Vec<&str> = tender.lots.iter().map(|l| l.id.as_str()).collect();
        anyhow::bail!("tender {} has no lot {lot:?} (lots: {})", tender.id, ids.join(", "));
    };
    l.validate_form(form).with_context(|| format!("form {} is not valid for lot {lot}", path.display()))
}

/// A document to seal: its path, the name and media type for the manifest.
struct Document {
    path: PathBuf,
    name: String,
    media_type: String,
}

fn documents(paths: &[PathBuf]) -> anyhow::Result<Vec<Document>> {
    paths
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).with_context(|| format!("cannot read document {}", path.display()))?;
            anyhow::ensure!(meta.is_file(), "document {} is not a file", path.display());
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("document {} has no file name", path.display()))?;
            let media_type = mime_guess::from_path(path).first_or_octet_stream().essence_str().to_owned();
            Ok(Document { path: path.clone(), name, media_type })
        })
        .collect()
}

/// The custody policy to seal to, checked against the tender's summary of it.
async fn fetch_custody(client: &Client, tender: &Tender) -> anyhow::Result<CustodyPolicy> {
    let custody = client.custody(tender.id).await.context("cannot fetch the tender's custody policy")?;
    let ids: Vec<&str> = custody.custodians.iter().map(|c| c.id.as_str()).collect();
    // The keys come from one endpoint and the published terms from another;
    // a bid sealed to keys the terms do not name could never be opened.
    anyhow::ensure!(
        custody.threshold == tender.custody.threshold && ids == tender.custody.custodians,
        "the server's custody keys ({} of {:?}) do not match the tender's published policy ({} of {:?})",
        custody.threshold,
        ids,
        tender.custody.threshold,
        tender.custody.custodians
    );
    Ok(custody)
}

/// Encrypts one document into `out` on a blocking thread.
async fn seal_document(mut sealer: BidSealer, doc: Document, out: PathBuf) -> anyhow::Result<BidSealer> {
    tokio::task::spawn_blocking(move || {
        let reader = std::fs::File::open(&doc.path).with_context(|| format!("cannot open {}", doc.path.display()))?;
        let writer = std::io::BufWriter::new(std::fs::File::create(&out)?);
        sealer
            .seal_document(&doc.name, &doc.media_type, reader, writer)
            .with_context(|| format!("cannot seal {}", doc.path.display()))?;
        Ok(sealer)
    })
    .await?
}
