//! `bidroom backup` and `bidroom restore`: a consistent copy of a SQLite
//! deployment's data directory, taken while the server runs.
//!
//! The archive is a tar file (ustar) holding, at its top level:
//! `bidroom-backup.json` (format version and what was copied), `bidroom.db`
//! (a `VACUUM INTO` snapshot: one read transaction, so one consistent state
//! of the database), every other top-level file of the data directory (the
//! server's keys: log key, custodian key, pseudonym key, download-link key)
//! and `blobs/` (the ciphertext files). The snapshot is taken first and the
//! blobs copied after: a blob is written, fsynced and renamed before the row
//! that refers to it, and blobs are never changed, so every blob the
//! snapshot refers to is in the archive (later ones may be too, unreferenced
//! and harmless). Unfinished resumable uploads (`staging/`) and temporary
//! files are not copied: their bidders resume or start again.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The database file of a SQLite data directory.
const DB_FILE: &str = "bidroom.db";
/// The archive's description of itself.
const MANIFEST: &str = "bidroom-backup.json";
/// Directories that are not copied: in-progress uploads and temporary files.
const SKIPPED: [&str; 2] = ["staging", "tmp"];

/// `bidroom backup`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The running (or stopped) server's data directory.
    #[arg(long, env = "BIDROOM_DATA_DIR", default_value = "./bidroom-data")]
    pub data_dir: PathBuf,
    /// The archive to write (it must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `bidroom restore`.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// An archive written by `bidroom backup`.
    #[arg(long = "from", value_name = "FILE")]
    pub archive: PathBuf,
    /// The data directory to restore into: absent or empty.
    #[arg(long, env = "BIDROOM_DATA_DIR", default_value = "./bidroom-data")]
    pub data_dir: PathBuf,
}

/// What a backup holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Archive format version (1).
    pub format: u32,
    /// When the snapshot was taken (RFC 3339, this machine's clock).
    pub created: String,
    /// The top-level files copied besides the database.
    pub files: Vec<String>,
    /// Number of ciphertext files copied.
    pub blobs: u64,
}

/// Writes the archive; returns its manifest.
pub async fn backup(args: BackupArgs) -> anyhow::Result<Manifest> {
    let db = args.data_dir.join(DB_FILE);
    anyhow::ensure!(
        db.exists(),
        "{} has no SQLite database ({DB_FILE}); for PostgreSQL see docs/DEPLOY.md",
        args.data_dir.display()
    );
    anyhow::ensure!(!args.out.exists(), "{} exists already", args.out.display());
    let work = tempfile::tempdir_in(args.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
        .context("making a scratch directory beside the archive")?;
    let snapshot = work.path().join(DB_FILE);
    {
        use sqlx::ConnectOptions;
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true);
        let mut conn = opts.connect().await.context("opening the database")?;
        let target = snapshot.to_str().context("the scratch path is not UTF-8")?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(&mut conn).await.context("VACUUM INTO")?;
        use sqlx::Connection;
        conn.close().await?;
    }
    let created = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let data_dir = args.data_dir.clone();
    let out = args.out.clone();
    tokio::task::spawn_blocking(move || write_archive(&data_dir, &snapshot, &out, created)).await?
}

fn write_archive(data_dir: &Path, snapshot: &Path, out: &Path, created: String) -> anyhow::Result<Manifest> {
    let partial = out.with_extension("partial");
    let mut tar = tar::Builder::new(File::create(&partial).with_context(|| format!("creating {}", partial.display()))?);
    tar.mode(tar::HeaderMode::Complete);
    tar.append_path_with_name(snapshot, DB_FILE)?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(data_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        // The live database and its WAL are replaced by the snapshot.
        if entry.file_type()?.is_file() && !name.starts_with(DB_FILE) && !name.contains(".tmp-") {
            tar.append_path_with_name(entry.path(), &name)?;
            files.push(name);
        }
    }
    let mut blobs = 0u64;
    let root = data_dir.join("blobs");
    if root.is_dir() {
        for prefix in std::fs::read_dir(&root)? {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(prefix.path())? {
                let blob = blob?;
                let name = Path::new("blobs").join(prefix.file_name()).join(blob.file_name());
                tar.append_path_with_name(blob.path(), name)?;
                blobs += 1;
            }
        }
    }
    files.sort();
    let manifest = Manifest { format: 1, created, files, blobs };
    let json = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_ustar();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, json.as_slice())?;
    let file = tar.into_inner()?;
    file.sync_all()?;
    std::fs::rename(&partial, out)?;
    sync_parent(out);
    Ok(manifest)
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).ok();
    }
}

/// Unpacks an archive into an empty data directory; returns its manifest.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<Manifest> {
    tokio::task::spawn_blocking(move || {
        if args.data_dir.exists() {
            let mut entries = std::fs::read_dir(&args.data_dir)?;
            anyhow::ensure!(
                entries.next().is_none(),
                "{} is not empty: restore only into an empty directory",
                args.data_dir.display()
            );
        }
        std::fs::create_dir_all(&args.data_dir)?;
        let file = File::open(&args.archive).with_context(|| format!("opening {}", args.archive.display()))?;
        let mut archive = tar::Archive::new(file);
        archive.set_preserve_permissions(true);
        // `unpack` refuses entries that would land outside the directory.
        archive.unpack(&args.data_dir).context("unpacking the archive")?;
        let manifest_path = args.data_dir.join(MANIFEST);
        let manifest: Manifest =
            serde_json::from_slice(&std::fs::read(&manifest_path).context("the archive has no manifest")?)?;
        anyhow::ensure!(manifest.format == 1, "archive format {} is not known to this version", manifest.format);
        std::fs::remove_file(&manifest_path)?;
        for skipped in SKIPPED {
            std::fs::create_dir_all(args.data_dir.join(skipped))?;
        }
        File::open(&args.data_dir).and_then(|d| d.sync_all()).ok();
        Ok(manifest)
    })
    .await?
}
