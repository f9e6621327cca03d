//! The one error type of the sealing core.
//!
//! Variants are deliberately specific: at an opening every failure is
//! published together with whose fault it is, so "decryption failed" alone
//! would not do.

use uuid::Uuid;

/// Everything that can go wrong while sealing, checking or opening a bid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The bidder's ECDSA signature over the envelope bytes does not verify.
    #[error("envelope signature does not verify")]
    BadSignature,
    /// The envelope names another tender than the one it was submitted to.
    #[error("envelope belongs to tender {found}, expected {expected}")]
    WrongTender {
        /// Tender the caller expected.
        expected: Uuid,
        /// Tender named in the envelope.
        found: Uuid,
    },
    /// The envelope names another bid id than the one it was filed under.
    #[error("envelope belongs to bid {found}, expected {expected}")]
    WrongBid {
        /// Bid the caller expected.
        expected: Uuid,
        /// Bid named in the envelope.
        found: Uuid,
    },
    /// The envelope's custody policy differs from the tender's.
    #[error("envelope custody policy differs from the tender's")]
    CustodyPolicyMismatch,
    /// HPKE could not open the share sealed to this custodian (wrong key,
    /// share moved from another bid or custodian, or corrupted ciphertext).
    #[error("share for custodian {custodian} does not decrypt")]
    ShareDecryptFailed {
        /// Custodian index (1-based).
        custodian: u8,
    },
    /// A released share does not match its commitment: the custodian's fault.
    #[error("share of custodian {custodian} does not match its commitment")]
    ShareCommitmentMismatch {
        /// Custodian index (1-based).
        custodian: u8,
    },
    /// Fewer good shares than the threshold.
    #[error("{have} shares available, threshold is {need}")]
    NotEnoughShares {
        /// Distinct shares supplied.
        have: usize,
        /// Threshold k.
        need: usize,
    },
    /// Shares match their commitments but rebuild another key: the bidder's fault.
    #[error("shares rebuild a key that does not match the key commitment")]
    KeyCommitmentMismatch,
    /// The published form key does not match its commitment.
    #[error("form key does not match the form key commitment")]
    FormKeyCommitmentMismatch,
    /// The form ciphertext failed authentication.
    #[error("form ciphertext does not decrypt")]
    FormDecryptFailed,
    /// A ciphertext's SHA-256 or length differs from the envelope's record.
    #[error("ciphertext hash or length differs from the envelope")]
    CiphertextHashMismatch,
    /// A document stream ended before its final segment.
    #[error("document stream is truncated")]
    StreamTruncated,
    /// A document segment authenticates, but at another position.
    #[error("document segment {found} found at position {expected}")]
    StreamReordered {
        /// Position where the segment was found.
        expected: u32,
        /// Position the segment was sealed for.
        found: u32,
    },
    /// Data follows the final segment of a document stream.
    #[error("data follows the final document segment")]
    StreamExtended,
    /// A document segment failed authentication (flipped bytes).
    #[error("document segment {segment} fails authentication")]
    StreamTampered {
        /// Position of the bad segment.
        segment: u32,
    },
    /// A key file did not unlock: wrong passphrase (or a corrupted file).
    #[error("wrong passphrase or corrupted key file")]
    WrongPassphrase,
    /// Input is not well-formed (bad JSON, wrong lengths, bad encodings...).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The operating system's random generator or a primitive failed.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
    /// Reading or writing a stream failed.
    #[error("i/o error: {0}")]
    Io(String),
}

impl SealError {
    /// Shorthand for [`SealError::Malformed`].
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        SealError::Malformed(what.into())
    }
}

impl From<std::io::Error> for SealError {
    fn from(e: std::io::Error) -> Self {
        SealError::Io(e.to_string())
    }
}
