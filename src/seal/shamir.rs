//! The bid key K and its Shamir shares over the P-256 scalar field.
//!
//! Plain Shamir, so that the browser can reimplement it with BigInt:
//! the polynomial is `f(x) = K + a1·x + … + a(k-1)·x^(k-1) mod n`
//! (n = the P-256 group order), and custodian i (1-based) receives
//! `(i, f(i))`. Shares are encoded as 33 bytes: `x (1 byte) ‖ f(x) (32 bytes,
//! big-endian, < n)`. Splitting and interpolation use `vsss-rs`.

use p256::Scalar;
use p256::elliptic_curve::ff::{Field as _, PrimeField};
use vsss_rs::{IdentifierPrimeField, ReadableShareSet};
use zeroize::{Zeroize, Zeroizing};

use super::SealError;
use super::rng::{random, system_rng};

/// Encoded share length: x (1) ‖ y (32).
pub const SHARE_LEN: usize = 33;

type FieldElem = IdentifierPrimeField<Scalar>;
type VShare = (FieldElem, FieldElem);

/// The 32-byte bid key K: a nonzero P-256 scalar, big-endian.
#[derive(Clone, PartialEq, Eq)]
pub struct BidKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for BidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BidKey(..)")
    }
}

impl BidKey {
    /// Draw a uniformly random nonzero scalar (rejection sampling).
    pub fn generate() -> Result<Self, SealError> {
        loop {
            let candidate = Zeroizing::new(random::<32>()?);
            if let Ok(k) = Self::from_bytes(candidate.as_ref()) {
                return Ok(k);
            }
        }
    }

    /// Accept 32 big-endian bytes that form a nonzero scalar below n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let s = scalar_from_bytes(bytes)?;
        if bool::from(s.is_zero()) {
            return Err(SealError::malformed("bid key must be nonzero"));
        }
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(bytes);
        Ok(BidKey(out))
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn scalar(&self) -> Result<Scalar, SealError> {
        scalar_from_bytes(self.0.as_ref())
    }
}

/// One Shamir share `(x, y)`; x is the custodian index.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// x coordinate, 1..=255, equal to the custodian index.
    pub x: u8,
    y: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Share(x={}, ..)", self.x)
    }
}

impl Share {
    /// Encode as `x ‖ y` (33 bytes).
    pub fn to_bytes(&self) -> Zeroizing<[u8; SHARE_LEN]> {
        let mut out = Zeroizing::new([0u8; SHARE_LEN]);
        out[0] = self.x;
        out[1..].copy_from_slice(self.y.as_ref());
        out
    }

    /// Decode 33 bytes; x must be nonzero and y a canonical scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != SHARE_LEN {
            return Err(SealError::malformed("share must be 33 bytes"));
        }
        if bytes[0] == 0 {
            return Err(SealError::malformed("share x must be nonzero"));
        }
        scalar_from_bytes(&bytes[1..])?;
        let mut y = Zeroizing::new([0u8; 32]);
        y.copy_from_slice(&bytes[1..]);
        Ok(Share { x: bytes[0], y })
    }

    /// The y coordinate, 32 bytes big-endian.
    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }
}

pub(crate) fn scalar_from_bytes(bytes: &[u8]) -> Result<Scalar, SealError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| SealError::malformed("scalar must be 32 bytes"))?;
    Option::from(Scalar::from_repr(arr.into()))
        .ok_or_else(|| SealError::malformed("scalar is not below the P-256 group order"))
}

fn scalar_to_bytes(s: &Scalar) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&s.to_repr());
    out
}

/// Split K into `n` shares with threshold `k` (1 ≤ k ≤ n ≤ 255).
///
/// Share i has x = i for i in 1..=n.
pub fn split(key: &BidKey, k: u8, n: u8) -> Result<Vec<Share>, SealError> {
    if k == 0 || k > n {
        return Err(SealError::malformed("threshold must satisfy 1 <= k <= n"));
    }
    let secret = key.scalar()?;
    if k == 1 {
        // A degree-0 polynomial: every share is K itself. vsss-rs refuses
        // k = 1, and the math is trivial.
        return Ok((1..=n).map(|x| Share { x, y: scalar_to_bytes(&secret) }).collect());
    }
    let rng = system_rng()?;
    let ids = (1..=n).map(|i| IdentifierPrimeField(Scalar::from(u64::from(i))));
    let mut shares: Vec<VShare> = vsss_rs::shamir::split_secret_with_participant_ids_iter(
        usize::from(k),
        usize::from(n),
        &IdentifierPrimeField(secret),
        rng,
        ids,
    )
    .map_err(|_| SealError::Crypto("Shamir split failed"))?;
    let out = shares.iter().zip(1..=n).map(|((_, y), x)| Share { x, y: scalar_to_bytes(&y.0) }).collect();
    for (_, y) in shares.iter_mut() {
        y.0 = Scalar::ZERO;
    }
    Ok(out)
}

/// Interpolate f(0) from shares with distinct x (at least one).
///
/// With more shares than the threshold, all of them are used, so shares
/// that do not lie on one polynomial yield a wrong K (caught by the key
/// commitment) rather than depending on which custodians showed up.
pub fn combine(shares: &[Share]) -> Result<BidKey, SealError> {
    let mut xs: Vec<u8> = shares.iter().map(|s| s.x).collect();
    xs.sort_unstable();
    xs.dedup();
    if xs.len() != shares.len() || shares.is_empty() {
        return Err(SealError::malformed("shares must be distinct and non-empty"));
    }
    if let [only] = shares {
        return BidKey::from_bytes(only.y.as_ref());
    }
    let mut set = Vec::with_capacity(shares.len());
    for s in shares {
        set.push((
            IdentifierPrimeField(Scalar::from(u64::from(s.x))),
            IdentifierPrimeField(scalar_from_bytes(s.y.as_ref())?),
        ));
    }
    let secret: FieldElem = set.combine().map_err(|_| SealError::malformed("shares do not combine"))?;
    let mut bytes = scalar_to_bytes(&secret.0);
    for (_, y) in set.iter_mut() {
        y.0 = Scalar::ZERO;
    }
    // A zero result means the shares are inconsistent; report it the same
    // way as any other wrong key.
    let key = BidKey::from_bytes(bytes.as_ref()).map_err(|_| SealError::KeyCommitmentMismatch);
    bytes.zeroize();
    key
}

#[cfg(test)]
#[path = "shamir_tests.rs"]
mod tests;
