//! The seed of a tender's draws and the unbiased mappings from it
//! (`docs/DRAWS.md`, byte for byte): the host's commitment, each opened
//! bid's nonce, the seed, the per-draw SHA-256 counter stream, uniform
//! integers by rejection sampling, and Fisher–Yates.

use ring::digest::{SHA256, digest};
use ring::hkdf;
use uuid::Uuid;

/// `L(label)`: the label's ASCII bytes and one 0x00 (as in PROTOCOL.md).
fn labeled(label: &str) -> Vec<u8> {
    let mut out = label.as_bytes().to_vec();
    out.push(0);
    out
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The host's commitment, logged at publish:
/// `SHA-256(L("bidroom/v1/draw-commitment") ‖ secret)`.
pub fn commitment(secret: &[u8; 32]) -> [u8; 32] {
    let mut m = labeled("bidroom/v1/draw-commitment");
    m.extend_from_slice(secret);
    sha256(&m)
}

struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// An opened bid's nonce: HKDF-SHA256 with IKM = its published form key,
/// salt = tender ‖ bid, info = `L("bidroom/v1/draw-nonce")`.
pub fn nonce(tender: Uuid, bid: Uuid, form_key: &[u8; 32]) -> [u8; 32] {
    let mut salt = tender.as_bytes().to_vec();
    salt.extend_from_slice(bid.as_bytes());
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(form_key);
    let info = labeled("bidroom/v1/draw-nonce");
    let info = [info.as_slice()];
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160, so neither step fails.
    if let Ok(okm) = prk.expand(&info, Len32) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// Everything the seed is a function of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedInputs {
    /// The tender.
    pub tender: Uuid,
    /// Log size just after the tender's `record.published` entry.
    pub record_size: u64,
    /// RFC 6962 root of the log at that size.
    pub record_head: [u8; 32],
    /// The host's revealed secret; `None` for the stated fallback.
    pub host_secret: Option<[u8; 32]>,
    /// One nonce per opened bid, in the record's row order.
    pub nonces: Vec<[u8; 32]>,
}

/// `SHA-256(L("bidroom/v1/draw-seed") ‖ tender (16) ‖ u64be(record size) ‖
/// record head (32) ‖ flag (1: 0x01 revealed, 0x00 fallback) ‖ secret (32,
/// zeros in the fallback) ‖ u32be(n) ‖ nonce_1 ‖ … ‖ nonce_n)`.
pub fn seed(inputs: &SeedInputs) -> [u8; 32] {
    let mut m = labeled("bidroom/v1/draw-seed");
    m.extend_from_slice(inputs.tender.as_bytes());
    m.extend_from_slice(&inputs.record_size.to_be_bytes());
    m.extend_from_slice(&inputs.record_head);
    match &inputs.host_secret {
        Some(s) => {
            m.push(1);
            m.extend_from_slice(s);
        }
        None => {
            m.push(0);
            m.extend_from_slice(&[0u8; 32]);
        }
    }
    // More than 2^32 opened bids cannot be stored; saturate rather than wrap.
    let n = u32::try_from(inputs.nonces.len()).unwrap_or(u32::MAX);
    m.extend_from_slice(&n.to_be_bytes());
    for nonce in &inputs.nonces {
        m.extend_from_slice(nonce);
    }
    sha256(&m)
}

/// Draw `index`'s byte stream: blocks
/// `SHA-256(L("bidroom/v1/draw-stream") ‖ seed ‖ u32be(index) ‖ u64be(counter))`
/// for counter 0, 1, 2…, read four bytes at a time as big-endian `u32`s.
pub struct Stream {
    seed: [u8; 32],
    index: u32,
    counter: u64,
    block: [u8; 32],
    at: usize,
}

impl Stream {
    /// The stream of draw `index` (its position in the terms, from 0).
    pub fn new(seed: &[u8; 32], index: u32) -> Stream {
        Stream { seed: *seed, index, counter: 0, block: [0; 32], at: 32 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.at == 32 {
            let mut m = labeled("bidroom/v1/draw-stream");
            m.extend_from_slice(&self.seed);
            m.extend_from_slice(&self.index.to_be_bytes());
            m.extend_from_slice(&self.counter.to_be_bytes());
            self.block = sha256(&m);
            self.counter += 1;
            self.at = 0;
        }
        let b = &self.block[self.at..self.at + 4];
        self.at += 4;
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// A uniform integer in `[0, n)`: take `x`, the next `u32`; accept it
    /// when `x < 2^32 − (2^32 mod n)` and return `x mod n`, else take the
    /// next. `n = 1` gives 0 and reads nothing; `n = 0` is refused by the
    /// terms and gives 0 here.
    pub fn uniform(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let n = u64::from(n);
        let limit = (1u64 << 32) - (1u64 << 32) % n;
        loop {
            let x = u64::from(self.next_u32());
            if x < limit {
                // x mod n < n ≤ u32::MAX.
                return (x % n) as u32;
            }
        }
    }

    /// A permutation of `0..m` by Fisher–Yates: for i from m − 1 down to 1,
    /// j = uniform(i + 1), swap positions i and j.
    pub fn permutation(&mut self, m: u32) -> Vec<u32> {
        let mut a: Vec<u32> = (0..m).collect();
        for i in (1..m).rev() {
            let j = self.uniform(i + 1);
            a.swap(i as usize, j as usize);
        }
        a
    }
}
