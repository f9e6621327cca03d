//! Ciphertext files: content-addressed by SHA-256 under `blobs/`, written to
//! a temporary file, fsynced, renamed, and the directory fsynced, so a file
//! that has a name is complete and durable. The group committer defers the
//! directory fsync ([`BlobWriter::commit_deferred`]) and syncs each
//! directory a batch touches once ([`BlobStore::sync_dirs`]) before the
//! batch's database commit.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncWriteExt, BufWriter};

/// The blob directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

/// A blob being written; dropped before [`BlobWriter::commit`], it deletes
/// its temporary file, so a cut-off upload leaves nothing behind.
pub struct BlobWriter {
    file: Option<BufWriter<tokio::fs::File>>,
    tmp: PathBuf,
    hasher: ring::digest::Context,
    len: u64,
}

/// A committed blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// Length in bytes.
    pub len: u64,
    /// The same bytes were stored already (nothing new was written).
    pub existed: bool,
}

impl BlobStore {
    /// Opens (creating) `data_dir/blobs` and `data_dir/tmp`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let root = data_dir.join("blobs");
        let tmp = data_dir.join("tmp");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&tmp)?;
        Ok(BlobStore { root, tmp })
    }

    /// Where the blob with this hex hash lives.
    pub fn path(&self, hex_hash: &str) -> PathBuf {
        let prefix = hex_hash.get(..2).unwrap_or("xx");
        self.root.join(prefix).join(hex_hash)
    }

    /// Starts a new blob.
    pub async fn begin(&self) -> std::io::Result<BlobWriter> {
        let tmp = self.tmp.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(BlobWriter {
            // Large buffer: fewer blocking-pool round trips per byte.
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            tmp,
            hasher: ring::digest::Context::new(&ring::digest::SHA256),
            len: 0,
        })
    }

    /// Writes a whole small blob.
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<BlobInfo> {
        let mut w = self.begin().await?;
        w.write(bytes).await?;
        w.commit(self).await
    }

    /// Links an already fsynced file whose SHA-256 the caller verified into
    /// the store under that hash; the source stays (a failed recording can
    /// be retried). Returns whether the blob existed already.
    pub async fn adopt(&self, src: &Path, hex_hash: &str) -> std::io::Result<bool> {
        let dest = self.path(hex_hash);
        if tokio::fs::try_exists(&dest).await? {
            return Ok(true);
        }
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await?;
        match tokio::fs::hard_link(src, &dest).await {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(true),
            // Blobs on another file system: copy, fsync, rename.
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                let tmp = self.tmp.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
                tokio::fs::copy(src, &tmp).await?;
                tokio::fs::File::open(&tmp).await?.sync_all().await?;
                tokio::fs::rename(&tmp, &dest).await?;
            }
            other => other?,
        }
        tokio::fs::File::open(&dir).await?.sync_all().await?;
        Ok(false)
    }

    /// Writes a whole small blob in one trip to the blocking pool (create,
    /// write, fsync, rename: the async writer pays one trip per step); its
    /// name is durable only after [`BlobStore::sync_dirs`].
    pub async fn put_deferred(&self, bytes: Vec<u8>) -> std::io::Result<BlobInfo> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.put_blocking(&bytes)).await.map_err(std::io::Error::other)?
    }

    fn put_blocking(&self, bytes: &[u8]) -> std::io::Result<BlobInfo> {
        use std::io::Write;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
        let hex_hash = hex::encode(sha256);
        let dest = self.path(&hex_hash);
        let len = bytes.len() as u64;
        // A named blob is complete: names appear only after the fsync.
        if dest.try_exists()? {
            return Ok(BlobInfo { sha256, len, existed: true });
        }
        let tmp = self.tmp.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::create_dir_all(dest.parent().unwrap_or(&self.root))?;
            std::fs::rename(&tmp, &dest)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(BlobInfo { sha256, len, existed: false })
    }

    /// Makes the names of these blobs durable: fsyncs each directory that
    /// holds one of them, once, and the blob root (which holds the prefix
    /// directories). Syncing a directory with nothing new is cheap, so
    /// callers pass every blob they rely on, new or not: a blob another
    /// request renamed a moment ago may not be synced yet.
    pub async fn sync_dirs<'a>(&self, hashes: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        let mut dirs: Vec<PathBuf> =
            hashes.into_iter().filter_map(|h| self.path(h).parent().map(Path::to_path_buf)).collect();
        dirs.sort();
        dirs.dedup();
        dirs.push(self.root.clone());
        tokio::task::spawn_blocking(move || sync_all_parallel(&dirs)).await.map_err(std::io::Error::other)?
    }

    /// Deletes a blob (after a failed submission that wrote it).
    pub async fn remove(&self, hex_hash: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(hex_hash)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Most directories synced at once: each fsync waits for the device, and
/// a batch's blobs spread over many prefix directories; overlapping the
/// waits keeps the device queue full instead of paying them one by one.
const SYNC_THREADS: usize = 8;

/// Fsyncs every path (directories), several at a time; fails if any fails.
fn sync_all_parallel(dirs: &[PathBuf]) -> std::io::Result<()> {
    let sync = |dir: &PathBuf| std::fs::File::open(dir)?.sync_all();
    if dirs.len() <= 2 {
        return dirs.iter().try_for_each(sync);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || -> std::io::Result<()> {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match dirs.get(i) {
                Some(dir) => sync(dir)?,
                None => return Ok(()),
            }
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..SYNC_THREADS.min(dirs.len())).map(|_| scope.spawn(work)).collect();
        let mine = work();
        helpers
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| std::io::Error::other("a sync thread panicked"))?)?;
        mine
    })
}

impl BlobWriter {
    /// Appends bytes.
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        let file = self.file.as_mut().ok_or_else(|| std::io::Error::other("blob already committed"))?;
        file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Nothing written yet?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes the blob durable under its hash.
    pub async fn commit(self, store: &BlobStore) -> std::io::Result<BlobInfo> {
        let info = self.commit_deferred(store).await?;
        if !info.existed {
            store.sync_dirs([hex::encode(info.sha256).as_str()]).await?;
        }
        Ok(info)
    }

    /// Makes the blob's bytes durable and names it by its hash, without
    /// syncing the directory: the name is durable only after
    /// [`BlobStore::sync_dirs`] (batched by the group committer).
    pub async fn commit_deferred(mut self, store: &BlobStore) -> std::io::Result<BlobInfo> {
        let mut file = self.file.take().ok_or_else(|| std::io::Error::other("blob already committed"))?;
        file.flush().await?;
        let file = file.into_inner();
        file.sync_all().await?;
        drop(file);
        let digest = self.hasher.clone().finish();
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        let hex_hash = hex::encode(sha256);
        let dest = store.path(&hex_hash);
        let existed = tokio::fs::try_exists(&dest).await.unwrap_or(false);
        if existed {
            tokio::fs::remove_file(&self.tmp).await?;
        } else {
            let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| store.root.clone());
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::rename(&self.tmp, &dest).await?;
        }
        self.tmp = PathBuf::new();
        Ok(BlobInfo { sha256, len: self.len, existed })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commit_names_by_hash_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let info = store.put(b"abc").await.unwrap();
        let hex_hash = hex::encode(info.sha256);
        assert_eq!(hex_hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(std::fs::read(store.path(&hex_hash)).unwrap(), b"abc");
        assert!(store.put(b"abc").await.unwrap().existed);
        let mut w = store.begin().await.unwrap();
        w.write(b"partial upload").await.unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn put_deferred_names_by_hash_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let info = store.put_deferred(b"abc".to_vec()).await.unwrap();
        assert_eq!((info.len, info.existed), (3, false));
        let hex_hash = hex::encode(info.sha256);
        assert_eq!(hex_hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(std::fs::read(store.path(&hex_hash)).unwrap(), b"abc");
        assert!(store.put_deferred(b"abc".to_vec()).await.unwrap().existed);
        store.sync_dirs([hex_hash.as_str()]).await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn parallel_sync_covers_every_directory_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..20).map(|i| dir.path().join(format!("d{i}"))).collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        sync_all_parallel(&dirs).unwrap();
        let mut with_missing = dirs.clone();
        with_missing.insert(13, dir.path().join("missing"));
        assert_eq!(sync_all_parallel(&with_missing).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }
}
