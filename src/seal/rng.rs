//! Randomness adapters.
//!
//! ring's `SystemRandom` is fallible, while `hpke` and `vsss-rs` want an
//! infallible `rand_core` generator. We draw a seed from ring (and report
//! failure as an error instead of panicking inside a dependency), then
//! expand it with HMAC-SHA256 in counter mode.

use hpke::rand_core::{TryCryptoRng, TryRng};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

use super::SealError;

/// Fill `buf` from the operating system generator.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), SealError> {
    SystemRandom::new().fill(buf).map_err(|_| SealError::Crypto("system random generator failed"))
}

/// Random fixed-size array from the operating system generator.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Deterministic generator: yields `prefix` verbatim first, then
/// HMAC-SHA256(seed, counter) blocks.
///
/// The verbatim prefix lets HPKE's ephemeral key be exactly
/// `DeriveKeyPair(ikmE)` (needed to reproduce test vectors).
pub(crate) struct SeededRng {
    prefix: [u8; 32],
    prefix_left: usize,
    key: hmac::Key,
    counter: u64,
    block: [u8; 32],
    block_left: usize,
}

impl SeededRng {
    /// Generator whose first 32 bytes are `seed` itself.
    pub(crate) fn with_prefix(seed: [u8; 32]) -> Self {
        SeededRng {
            prefix: seed,
            prefix_left: 32,
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            counter: 0,
            block: [0; 32],
            block_left: 0,
        }
    }

    /// Generator seeded from the operating system (no verbatim prefix).
    pub(crate) fn from_system() -> Result<Self, SealError> {
        let mut seed = random::<32>()?;
        let mut rng = Self::with_prefix(seed);
        rng.prefix_left = 0;
        rng.prefix.zeroize();
        seed.zeroize();
        Ok(rng)
    }

    fn next_byte(&mut self) -> u8 {
        if self.prefix_left > 0 {
            let b = self.prefix[32 - self.prefix_left];
            self.prefix_left -= 1;
            return b;
        }
        if self.block_left == 0 {
            let tag = hmac::sign(&self.key, &self.counter.to_be_bytes());
            self.counter += 1;
            self.block.copy_from_slice(tag.as_ref());
            self.block_left = 32;
        }
        let b = self.block[32 - self.block_left];
        self.block_left -= 1;
        b
    }
}

impl Drop for SeededRng {
    fn drop(&mut self) {
        self.prefix.zeroize();
        self.block.zeroize();
    }
}

impl TryRng for SeededRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst.iter_mut() {
            *d = self.next_byte();
        }
        Ok(())
    }
}

impl TryCryptoRng for SeededRng {}
