//! Documents as an AES-256-GCM STREAM (Hoang–Reyhanitabar–Rogaway–Vizár).
//!
//! Layout: `header (12) ‖ segment 0 ‖ segment 1 ‖ … ‖ final segment`.
//!
//! - header = `"BDRS"` ‖ version `0x01` ‖ nonce prefix (7 random bytes)
//! - every segment but the last carries exactly 65 536 plaintext bytes; the
//!   last carries 0..=65 536 (0 only for an empty document), so a document
//!   of L bytes has `max(1, ceil(L / 65536))` segments
//! - segment i = AES-256-GCM(document key, nonce = prefix ‖ u32be(i) ‖ last,
//!   aad = header) with `last` = 0x01 on the final segment, else 0x00;
//!   ciphertext ‖ 16-byte tag
//!
//! [`StreamEncryptor`] and [`StreamDecryptor`] are incremental (push bytes,
//! get bytes back) for async callers; [`encrypt_stream`] and
//! [`decrypt_stream`] drive them over `std::io`. Memory stays constant.

use std::io::{Read, Write};

use ring::aead::{Aad, LessSafeKey, Nonce};
use ring::digest;

use super::kdf::SymmetricKey;
use super::rng::random;
use super::{SealError, aead};

/// Stream magic.
pub const MAGIC: &[u8; 4] = b"BDRS";
/// Stream format version.
pub const VERSION: u8 = 1;
/// Header length: magic (4) ‖ version (1) ‖ prefix (7).
pub const HEADER_LEN: usize = 12;
/// Plaintext bytes per segment.
pub const SEGMENT_LEN: usize = 64 * 1024;
/// Ciphertext bytes per full segment (plaintext plus the GCM tag).
pub const SEGMENT_CT_LEN: usize = SEGMENT_LEN + TAG_LEN;
const TAG_LEN: usize = 16;
/// How many other positions are tried to tell reordering from tampering.
const REORDER_SEARCH: u32 = 256;

/// What the encryptor produced: enough for the envelope's document entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSummary {
    /// Plaintext bytes consumed.
    pub plaintext_len: u64,
    /// Ciphertext bytes produced, header included.
    pub ciphertext_len: u64,
    /// SHA-256 of the whole ciphertext, header included.
    pub ciphertext_sha256: [u8; 32],
}

fn nonce(header: &[u8; HEADER_LEN], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(&header[5..]);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Try to open one segment; `None` if it does not authenticate.
fn open_segment(key: &LessSafeKey, header: &[u8; HEADER_LEN], counter: u32, last: bool, ct: &[u8]) -> Option<Vec<u8>> {
    let mut buf = ct.to_vec();
    let n = key.open_in_place(nonce(header, counter, last), Aad::from(&header[..]), &mut buf).ok()?.len();
    buf.truncate(n);
    Some(buf)
}

/// Incremental encryptor: feed plaintext with [`push`](Self::push), end with
/// [`finish`](Self::finish); the concatenated outputs are the stream.
pub struct StreamEncryptor {
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    header_sent: bool,
    counter: u32,
    buf: Vec<u8>,
    hash: digest::Context,
    plaintext_len: u64,
    ciphertext_len: u64,
}

impl StreamEncryptor {
    /// New stream under a document key, with a fresh random nonce prefix.
    pub fn new(key: &SymmetricKey) -> Result<Self, SealError> {
        Self::with_prefix(key, random::<7>()?)
    }

    pub(crate) fn with_prefix(key: &SymmetricKey, prefix: [u8; 7]) -> Result<Self, SealError> {
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5..].copy_from_slice(&prefix);
        Ok(StreamEncryptor {
            key: aead::key(key.as_bytes())?,
            header,
            header_sent: false,
            counter: 0,
            buf: Vec::with_capacity(SEGMENT_LEN),
            hash: digest::Context::new(&digest::SHA256),
            plaintext_len: 0,
            ciphertext_len: 0,
        })
    }

    fn emit(&mut self, out: &mut Vec<u8>, last: bool) -> Result<(), SealError> {
        if !self.header_sent {
            out.extend_from_slice(&self.header);
            self.header_sent = true;
        }
        let start = out.len();
        out.extend_from_slice(&self.buf);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(&self.header, self.counter, last),
                Aad::from(&self.header[..]),
                &mut out[start..],
            )
            .map_err(|_| SealError::Crypto("segment seal failed"))?;
        out.extend_from_slice(tag.as_ref());
        self.buf.clear();
        if !last {
            self.counter = self.counter.checked_add(1).ok_or_else(|| SealError::malformed("document too large"))?;
        }
        Ok(())
    }

    /// Add plaintext; returns the ciphertext that is ready (maybe empty).
    ///
    /// A full segment is held back until more data arrives, because only
    /// then is it known not to be the last one.
    pub fn push(&mut self, mut data: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::new();
        if !self.header_sent {
            out.extend_from_slice(&self.header);
            self.header_sent = true;
        }
        self.plaintext_len += data.len() as u64;
        while !data.is_empty() {
            if self.buf.len() == SEGMENT_LEN {
                self.emit(&mut out, false)?;
            }
            let take = (SEGMENT_LEN - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.hash.update(&out);
        self.ciphertext_len += out.len() as u64;
        Ok(out)
    }

    /// Seal the final segment; returns the last ciphertext bytes and the summary.
    pub fn finish(mut self) -> Result<(Vec<u8>, StreamSummary), SealError> {
        let mut out = Vec::new();
        self.emit(&mut out, true)?;
        self.hash.update(&out);
        self.ciphertext_len += out.len() as u64;
        let mut sha = [0u8; 32];
        sha.copy_from_slice(self.hash.finish().as_ref());
        Ok((
            out,
            StreamSummary {
                plaintext_len: self.plaintext_len,
                ciphertext_len: self.ciphertext_len,
                ciphertext_sha256: sha,
            },
        ))
    }
}

/// Incremental decryptor: feed ciphertext with [`push`](Self::push), end
/// with [`finish`](Self::finish). Plaintext is only released once its
/// segment has authenticated.
pub struct StreamDecryptor {
    key: LessSafeKey,
    header: Option<[u8; HEADER_LEN]>,
    counter: u32,
    buf: Vec<u8>,
    expected_len: Option<u64>,
    seen: u64,
}

impl StreamDecryptor {
    /// New decryptor. `expected_len` (ciphertext bytes incl. header, e.g.
    /// from the envelope) lets truncation and appended data be told apart
    /// from tampering wherever the stream is cut.
    pub fn new(key: &SymmetricKey, expected_len: Option<u64>) -> Result<Self, SealError> {
        Ok(StreamDecryptor {
            key: aead::key(key.as_bytes())?,
            header: None,
            counter: 0,
            buf: Vec::with_capacity(2 * SEGMENT_CT_LEN),
            expected_len,
            seen: 0,
        })
    }

    /// Why a chunk at the current position failed (it never opens here).
    fn diagnose(&self, header: &[u8; HEADER_LEN], chunk: &[u8], at_end: bool) -> SealError {
        // The right position with the other `last` flag: the stream was
        // cut after a middle segment, or goes on after the final one.
        if open_segment(&self.key, header, self.counter, !at_end, chunk).is_some() {
            return if at_end { SealError::StreamTruncated } else { SealError::StreamExtended };
        }
        let hi = self.counter.saturating_add(REORDER_SEARCH);
        let lo = self.counter.saturating_sub(REORDER_SEARCH);
        for other in (lo..=hi).filter(|c| *c != self.counter) {
            for last in [false, true] {
                if open_segment(&self.key, header, other, last, chunk).is_some() {
                    return SealError::StreamReordered { expected: self.counter, found: other };
                }
            }
        }
        if at_end && self.expected_len.is_some_and(|e| self.seen < e) {
            return SealError::StreamTruncated;
        }
        SealError::StreamTampered { segment: self.counter }
    }

    /// Add ciphertext; returns the plaintext that authenticated so far.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, SealError> {
        self.seen += data.len() as u64;
        if self.expected_len.is_some_and(|e| self.seen > e) {
            return Err(SealError::StreamExtended);
        }
        self.buf.extend_from_slice(data);
        let header = match self.header {
            Some(h) => h,
            None if self.buf.len() < HEADER_LEN => return Ok(Vec::new()),
            None => {
                let h = parse_header(&self.buf[..HEADER_LEN])?;
                self.buf.drain(..HEADER_LEN);
                self.header = Some(h);
                h
            }
        };
        let mut out = Vec::new();
        let mut used = 0;
        // Strictly more than a segment: the one in front is not the last.
        while self.buf.len() - used > SEGMENT_CT_LEN {
            let chunk = &self.buf[used..used + SEGMENT_CT_LEN];
            match open_segment(&self.key, &header, self.counter, false, chunk) {
                Some(pt) => out.extend_from_slice(&pt),
                None => return Err(self.diagnose(&header, chunk, false)),
            }
            used += SEGMENT_CT_LEN;
            self.counter = self.counter.checked_add(1).ok_or_else(|| SealError::malformed("document too large"))?;
        }
        self.buf.drain(..used);
        Ok(out)
    }

    /// End of input: open the final segment and return its plaintext.
    pub fn finish(self) -> Result<Vec<u8>, SealError> {
        let Some(header) = self.header else {
            return Err(SealError::StreamTruncated);
        };
        if self.buf.is_empty() {
            return Err(SealError::StreamTruncated);
        }
        open_segment(&self.key, &header, self.counter, true, &self.buf)
            .ok_or_else(|| self.diagnose(&header, &self.buf, true))
    }
}

fn parse_header(bytes: &[u8]) -> Result<[u8; HEADER_LEN], SealError> {
    let h: [u8; HEADER_LEN] = bytes.try_into().map_err(|_| SealError::StreamTruncated)?;
    if &h[..4] != MAGIC || h[4] != VERSION {
        return Err(SealError::malformed("not a bidroom document stream"));
    }
    Ok(h)
}

/// Encrypt everything from `reader` to `writer` in constant memory.
pub fn encrypt_stream<R: Read, W: Write>(
    key: &SymmetricKey,
    mut reader: R,
    mut writer: W,
) -> Result<StreamSummary, SealError> {
    let mut enc = StreamEncryptor::new(key)?;
    let mut buf = vec![0u8; SEGMENT_LEN];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        writer.write_all(&enc.push(&buf[..n])?)?;
    }
    let (tail, summary) = enc.finish()?;
    writer.write_all(&tail)?;
    writer.flush()?;
    Ok(summary)
}

/// Decrypt everything from `reader` to `writer` in constant memory;
/// returns the plaintext length.
///
/// On error, `writer` may already hold authenticated plaintext of the
/// segments before the failure: callers should discard it.
pub fn decrypt_stream<R: Read, W: Write>(
    key: &SymmetricKey,
    mut reader: R,
    mut writer: W,
    expected_len: Option<u64>,
) -> Result<u64, SealError> {
    let mut dec = StreamDecryptor::new(key, expected_len)?;
    let mut buf = vec![0u8; SEGMENT_CT_LEN];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let pt = dec.push(&buf[..n])?;
        total += pt.len() as u64;
        writer.write_all(&pt)?;
    }
    let pt = dec.finish()?;
    total += pt.len() as u64;
    writer.write_all(&pt)?;
    writer.flush()?;
    Ok(total)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
