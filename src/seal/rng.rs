//! Randomness.
//!
//! Every random byte starts in ring's `SystemRandom` (the operating
//! system's generator). `hpke` and `vsss-rs` draw from an infallible
//! `rand_core` generator instead; handing them the OS generator itself
//! (`getrandom::SysRng` behind `rand_core::UnwrapErr`) would panic inside
//! the dependency if the OS ever failed. So they get a ChaCha20 generator
//! (the RustCrypto `chacha20` crate) seeded with 32 bytes from ring: an OS
//! failure is an error here, before any dependency runs.

use chacha20::ChaCha20Rng;
use hpke::rand_core::SeedableRng;
#[cfg(test)]
use hpke::rand_core::{TryCryptoRng, TryRng};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

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

/// A cryptographic generator seeded from the operating system, for the
/// dependencies that draw from a `rand_core` generator.
pub(crate) fn system_rng() -> Result<ChaCha20Rng, SealError> {
    let seed = Zeroizing::new(random::<32>()?);
    Ok(ChaCha20Rng::from_seed(*seed))
}

/// Yields `ikm` verbatim, then ChaCha20 output seeded by it: HPKE draws its
/// ephemeral key's 32 input bytes from the generator, so this makes the
/// key exactly `DeriveKeyPair(ikm)`, as RFC 9180's test vectors need.
/// Never for real seals: reusing `ikm` breaks confidentiality.
#[cfg(test)]
pub(crate) struct FixedIkm {
    ikm: Zeroizing<[u8; 32]>,
    used: usize,
    rest: ChaCha20Rng,
}

#[cfg(test)]
impl FixedIkm {
    /// A generator starting with `ikm`.
    pub(crate) fn new(ikm: [u8; 32]) -> Self {
        FixedIkm { rest: ChaCha20Rng::from_seed(ikm), ikm: Zeroizing::new(ikm), used: 0 }
    }
}

#[cfg(test)]
impl TryRng for FixedIkm {
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
        let n = dst.len().min(32 - self.used);
        dst[..n].copy_from_slice(&self.ikm[self.used..self.used + n]);
        self.used += n;
        self.rest.try_fill_bytes(&mut dst[n..])
    }
}

#[cfg(test)]
impl TryCryptoRng for FixedIkm {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ikm_comes_first_then_the_stream() {
        let mut rng = FixedIkm::new([7; 32]);
        let mut head = [0u8; 20];
        rng.try_fill_bytes(&mut head).unwrap();
        let mut tail = [0u8; 20];
        rng.try_fill_bytes(&mut tail).unwrap();
        assert_eq!(head, [7; 20]);
        assert_eq!(tail[..12], [7; 12]);
        let mut expected = [0u8; 8];
        ChaCha20Rng::from_seed([7; 32]).try_fill_bytes(&mut expected).unwrap();
        assert_eq!(tail[12..], expected);
    }

    #[test]
    fn system_generators_differ() {
        let (mut a, mut b) = (system_rng().unwrap(), system_rng().unwrap());
        assert_ne!(a.try_next_u64().unwrap(), b.try_next_u64().unwrap());
    }
}
