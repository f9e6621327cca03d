//! The custody policy (who must release key shares for bids to open) and
//! bidder admission.

use serde::{Deserialize, Serialize};

use crate::domain::DomainError;

/// The id under which the server itself is a custodian.
pub const SERVER_CUSTODIAN: &str = "server";

/// The id of "the bid's own bidder" as a custodian: each bid's share in that
/// slot is sealed to the decryption key its bidder registered.
pub use crate::seal::BIDDER_CUSTODIAN;

/// Custodians and threshold k: bids open when k of them release their shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyPolicy {
    /// How many custodians must release (1 ≤ k ≤ n).
    pub threshold: u8,
    /// Custodian ids, in share order; `server` is the server's own key.
    pub custodians: Vec<String>,
    /// Minutes after the opening time during which custodians may release.
    #[serde(default = "default_window")]
    pub release_window_minutes: u32,
}

fn default_window() -> u32 {
    60
}

impl Default for CustodyPolicy {
    /// The server alone, k = 1.
    fn default() -> Self {
        CustodyPolicy {
            threshold: 1,
            custodians: vec![SERVER_CUSTODIAN.to_string()],
            release_window_minutes: default_window(),
        }
    }
}

impl CustodyPolicy {
    /// Does each bid's own bidder hold a share?
    pub fn bidder_held(&self) -> bool {
        self.custodians.iter().any(|c| c == BIDDER_CUSTODIAN)
    }

    /// Checks 1 ≤ k ≤ n, distinct custodians and a sane window; the bidder
    /// (`bidder`) is listed once at most and then every share is required
    /// (k = n: with Shamir k-of-n a share is required only when the others
    /// are fewer than k).
    pub fn validate(&self) -> Result<(), DomainError> {
        let n = self.custodians.len();
        if n == 0 || n > 16 {
            return Err(DomainError::invalid("custody.custodians", "list 1 to 16 custodians"));
        }
        if self.threshold == 0 || usize::from(self.threshold) > n {
            return Err(DomainError::invalid(
                "custody.threshold",
                format!("must be between 1 and the number of custodians ({n})"),
            ));
        }
        for (i, c) in self.custodians.iter().enumerate() {
            if c.trim().is_empty() || c.len() > 64 || c.chars().any(char::is_control) {
                return Err(DomainError::invalid(format!("custody.custodians[{i}]"), "must be a custodian id"));
            }
            if self.custodians[..i].contains(c) {
                return Err(DomainError::invalid(format!("custody.custodians[{i}]"), format!("'{c}' is listed twice")));
            }
        }
        if self.custodians.iter().any(|c| c == BIDDER_CUSTODIAN) && usize::from(self.threshold) != n {
            return Err(DomainError::invalid(
                "custody.threshold",
                format!(
                    "with the bidder as a custodian every share is required: the threshold must be {n} (all custodians)"
                ),
            ));
        }
        if !(1..=10_080).contains(&self.release_window_minutes) {
            return Err(DomainError::invalid("custody.release_window_minutes", "must be 1 to 10080 minutes"));
        }
        Ok(())
    }
}

/// How bidders are admitted to bid on a tender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Any registered bidder identity may bid.
    #[default]
    Open,
    /// Only identities approved by staff may bid.
    Approved,
}

/// Limits on each bid of a tender, checked from the envelope before any
/// ciphertext is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidLimits {
    /// Most documents one bid may attach.
    pub max_documents: u32,
    /// Most ciphertext bytes one bid may upload (form and documents).
    pub max_bid_bytes: u64,
}

impl Default for BidLimits {
    fn default() -> Self {
        BidLimits { max_documents: 32, max_bid_bytes: 4 * 1024 * 1024 * 1024 }
    }
}

impl BidLimits {
    /// Sane bounds.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !(0..=1000).contains(&self.max_documents) {
            return Err(DomainError::invalid("limits.max_documents", "must be 0 to 1000"));
        }
        if !(1024..=64 * 1024 * 1024 * 1024).contains(&self.max_bid_bytes) {
            return Err(DomainError::invalid("limits.max_bid_bytes", "must be 1 KiB to 64 GiB"));
        }
        Ok(())
    }
}
