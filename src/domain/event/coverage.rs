//! Which bids a `custodian.released` covers, compactly: a bitmap over the
//! bids that stood at the close, in order of receipt (the leaf order of the
//! close's `envelope_root`), starting at the first covered bid and cut
//! after the last one. PROTOCOL.md ("Release coverage") has the bytes.

use serde::{Deserialize, Serialize};

use crate::seal::{b64, unb64};

/// The widest bitmap a release may carry, in positions: 32 KiB of bits,
/// about 43,700 base64url characters, so a release event stays well inside
/// a log entry's 65,535 bytes.
pub const MAX_COVERAGE_SPAN: u64 = 32 * 1024 * 8;

/// The bids one release covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Position (from 0, in order of receipt among the bids standing at
    /// the close) of the first covered bid.
    pub from: u64,
    /// base64url (no padding) of the bitmap: bit `j` (byte `j / 8`, most
    /// significant bit first) stands for position `from + j`.
    pub bits: String,
}

/// Why a coverage does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageError {
    /// `bits` is not base64url without padding.
    #[error("the coverage bitmap is not base64url")]
    Encoding,
    /// Not the one canonical form: first bit set, no trailing zero byte.
    #[error("the coverage is not in its canonical form (first bit set, last byte not zero)")]
    NotCanonical,
    /// Wider than [`MAX_COVERAGE_SPAN`].
    #[error("the coverage spans {0} positions, more than {MAX_COVERAGE_SPAN}")]
    TooWide(u64),
}

impl Coverage {
    /// The coverage of `positions` (any order, repeats ignored); `None`
    /// when there are none.
    pub fn of(positions: impl IntoIterator<Item = u64>) -> Result<Option<Coverage>, CoverageError> {
        let mut positions: Vec<u64> = positions.into_iter().collect();
        positions.sort_unstable();
        positions.dedup();
        let (Some(&from), Some(&last)) = (positions.first(), positions.last()) else { return Ok(None) };
        let span = last - from + 1;
        if span > MAX_COVERAGE_SPAN {
            return Err(CoverageError::TooWide(span));
        }
        // The span is bounded above, so it fits in memory and in usize.
        let mut bytes = vec![0u8; span.div_ceil(8) as usize];
        for p in positions {
            let j = (p - from) as usize;
            bytes[j / 8] |= 0x80 >> (j % 8);
        }
        Ok(Some(Coverage { from, bits: b64(&bytes) }))
    }

    /// The covered positions, ascending; only the canonical form reads,
    /// so one set of bids has exactly one coverage.
    pub fn positions(&self) -> Result<Vec<u64>, CoverageError> {
        let bytes = unb64(&self.bits).map_err(|_| CoverageError::Encoding)?;
        let span = bytes.len() as u64 * 8;
        if span > MAX_COVERAGE_SPAN {
            return Err(CoverageError::TooWide(span));
        }
        if bytes.first().is_none_or(|b| b & 0x80 == 0) || bytes.last().is_none_or(|b| *b == 0) {
            return Err(CoverageError::NotCanonical);
        }
        let mut out = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.push(self.from + (i * 8 + bit) as u64);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_the_documented_bytes() {
        // Positions 3, 4 and 12: from 3, bits 0, 1 and 9 → 0xC0 0x40.
        let c = Coverage::of([12, 3, 4, 4]).unwrap().unwrap();
        assert_eq!(c, Coverage { from: 3, bits: b64(&[0xC0, 0x40]) });
        assert_eq!(c.bits, "wEA");
        assert_eq!(c.positions().unwrap(), [3, 4, 12]);
        assert_eq!(Coverage::of([]).unwrap(), None);
    }

    #[test]
    fn a_page_of_contiguous_bids_stays_small() {
        let c = Coverage::of(4096..4096 + 2048).unwrap().unwrap();
        assert_eq!((c.from, c.bits.len()), (4096, 342));
        let c = Coverage::of(0..8000).unwrap().unwrap();
        assert_eq!(c.bits.len(), 1334);
        assert_eq!(c.positions().unwrap().len(), 8000);
    }

    #[test]
    fn only_the_canonical_form_reads() {
        let at = |from, bytes: &[u8]| Coverage { from, bits: b64(bytes) }.positions();
        assert_eq!(at(0, &[0x40]), Err(CoverageError::NotCanonical), "first bit not set");
        assert_eq!(at(0, &[0x80, 0]), Err(CoverageError::NotCanonical), "trailing zero byte");
        assert_eq!(at(0, &[]), Err(CoverageError::NotCanonical), "empty");
        assert_eq!(Coverage { from: 0, bits: "wEA=".into() }.positions(), Err(CoverageError::Encoding));
        assert_eq!(at(7, &[0x81]).unwrap(), [7, 14]);
        let wide = vec![0xFF; (MAX_COVERAGE_SPAN / 8) as usize + 1];
        assert!(matches!(at(0, &wide), Err(CoverageError::TooWide(_))));
        assert!(matches!(Coverage::of([0, MAX_COVERAGE_SPAN]), Err(CoverageError::TooWide(_))));
        assert!(Coverage::of([0, MAX_COVERAGE_SPAN - 1]).is_ok());
    }
}
