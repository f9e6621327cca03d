//! Payloads of the draws: the host's commitment and reveal, the nonces, the result.

// The wire vocabulary (Digest, serde, times, ids) is the parent's, shared by every part.
use super::*;

/// `draw.committed`: the host's commitment, logged with the publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawCommitted {
    /// SHA-256(L("bidroom/v1/draw-commitment") ‖ secret).
    pub commitment: Digest,
    /// Minutes after the record the host has to reveal.
    pub reveal_minutes: u32,
    /// The declared draws' ids, in order.
    pub draws: Vec<String>,
    /// The formulas' ids.
    pub formulas: Vec<String>,
}

/// `draw.revealed`: the host's secret, after the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRevealed {
    /// The 32-byte secret, hex.
    pub secret: Digest,
    /// Who revealed it.
    pub by: StaffRef,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Whose secret went into the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawHost {
    /// The host's revealed secret.
    Revealed,
    /// The stated fallback: no secret (flag 0x00).
    Fallback,
}

/// An opened bid's draw nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawNonce {
    /// The bid.
    pub bid_id: Uuid,
    /// HKDF(form key, L("bidroom/v1/draw-nonce")).
    pub nonce: Digest,
}

/// `draw.result`: the inputs by reference, the seed, every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawResultLogged {
    /// Log size just after `record.published`.
    pub record_size: u64,
    /// The log's root at that size.
    pub record_head: Digest,
    /// Revealed secret or fallback.
    pub host: DrawHost,
    /// One nonce per opened bid, in row order.
    pub nonces: Vec<DrawNonce>,
    /// The seed.
    pub seed: Digest,
    /// One result per declared draw.
    pub draws: Vec<DrawResult>,
    /// One result per formula.
    pub prices: Vec<PriceResult>,
}

/// `draw.failed`: the host did not reveal in time; the fallback follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawFailed {
    /// Why, for the record.
    pub reason: String,
    /// When the reveal was due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
