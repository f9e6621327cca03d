//! Streaming a document's plaintext from its ciphertext file in constant
//! memory: read a chunk, decrypt what completes a segment, send it on.

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncReadExt;

use crate::seal::StreamDecryptor;

/// Read size; one 64 KiB segment plus its tag fits.
const CHUNK: usize = 64 * 1024 + 16;

/// Decrypts `file` as it is read. A tampered or truncated file ends the
/// stream with an error, so the client never receives a silent partial file.
pub fn decrypting_stream(
    file: tokio::fs::File,
    decryptor: StreamDecryptor,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(Some((file, decryptor)), |st| async move {
        let (mut file, mut dec) = st?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Some((Err(e), None)),
            };
            if n == 0 {
                return match dec.finish() {
                    Ok(rest) if rest.is_empty() => None,
                    Ok(rest) => Some((Ok(Bytes::from(rest)), None)),
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
                };
            }
            match dec.push(&buf[..n]) {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Some((Ok(Bytes::from(out)), Some((file, dec)))),
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    })
}
