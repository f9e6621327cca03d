//! The opening session's terms: how long each stage lasts, how many bidders
//! the opening needs, whether bidders must sign in, and the price limits
//! read out at the start of the 唱标. Fixed at publish with the rest of the
//! tender; amendable before the deadline with a reason.
//!
//! The decryption stage is the custody policy's release window
//! (`custody.release_window_minutes`); it has no second setting here.

use serde::{Deserialize, Serialize};

use crate::domain::DomainError;

/// Longest sign-in lead, announcement or confirmation: one week.
pub const MAX_STAGE_MINUTES: u32 = 10_080;
/// Most bidders a tender may require.
pub const MAX_MIN_BIDS: u32 = 1_000;

/// The session's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionTerms {
    /// Minutes before the opening time at which sign-in (签到) opens; 0: no
    /// sign-in stage.
    #[serde(default = "default_sign_in")]
    pub sign_in_minutes: u32,
    /// Planned length of the announcement (唱标), in minutes.
    #[serde(default = "default_stage")]
    pub announcement_minutes: u32,
    /// Length of the confirmation stage (确认) after the record, in minutes.
    #[serde(default = "default_stage")]
    pub confirmation_minutes: u32,
    /// Distinct bidders with a standing bid a lot needs to be opened;
    /// below it the lot fails (流标) and nothing of it is decrypted.
    #[serde(default = "default_min_bids")]
    pub min_bids: u32,
    /// Must a bidder sign in to the room before the opening?
    #[serde(default)]
    pub sign_in_required: bool,
    /// Ceiling (最高投标限价) or reference (标底) prices, per lot.
    #[serde(default)]
    pub prices: Vec<PriceLimit>,
    /// Draws and reference-price formulas (`docs/DRAWS.md`), fixed at publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draws: Option<crate::domain::draw::DrawTerms>,
    /// Does a bidder that neither confirms nor objects within the
    /// confirmation stage accept the record (the Chinese practice)? Written
    /// only when false, so terms logged before it keep their bytes.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub silence_is_acceptance: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

fn default_sign_in() -> u32 {
    30
}

fn default_stage() -> u32 {
    30
}

/// The Chinese rule: fewer than three bidders and the tender fails.
fn default_min_bids() -> u32 {
    3
}

impl Default for SessionTerms {
    fn default() -> Self {
        SessionTerms {
            sign_in_minutes: default_sign_in(),
            announcement_minutes: default_stage(),
            confirmation_minutes: default_stage(),
            min_bids: default_min_bids(),
            sign_in_required: false,
            prices: Vec::new(),
            silence_is_acceptance: true,
            draws: None,
        }
    }
}

/// Which kind of price limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceKind {
    /// 最高投标限价: bids above it are read out and marked.
    Ceiling,
    /// 标底: announced for comparison only.
    Reference,
}

/// A lot's price limit, announced at the start of the 唱标.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceLimit {
    /// The lot's id.
    pub lot: String,
    /// Ceiling or reference.
    pub kind: PriceKind,
    /// The money field it applies to (a key of the lot's fields).
    pub field: String,
    /// The amount, a decimal with at most two fraction digits.
    pub amount: String,
}

impl SessionTerms {
    /// The terms of a tender published before sessions existed: no sign-in,
    /// no minimum beyond one bid, nothing to confirm.
    pub fn legacy() -> Self {
        SessionTerms {
            sign_in_minutes: 0,
            announcement_minutes: default_stage(),
            confirmation_minutes: 0,
            min_bids: 1,
            sign_in_required: false,
            prices: Vec::new(),
            silence_is_acceptance: true,
            draws: None,
        }
    }

    /// Checks the ranges and that each price names a money field of a lot.
    pub fn validate(&self, lots: &[super::Lot]) -> Result<(), DomainError> {
        let minutes = |field: &str, v: u32, min: u32| {
            if (min..=MAX_STAGE_MINUTES).contains(&v) {
                Ok(())
            } else {
                Err(DomainError::invalid(
                    format!("session.{field}"),
                    format!("must be {min} to {MAX_STAGE_MINUTES} minutes"),
                ))
            }
        };
        minutes("sign_in_minutes", self.sign_in_minutes, 0)?;
        minutes("announcement_minutes", self.announcement_minutes, 1)?;
        minutes("confirmation_minutes", self.confirmation_minutes, 0)?;
        if !(1..=MAX_MIN_BIDS).contains(&self.min_bids) {
            return Err(DomainError::invalid("session.min_bids", format!("must be 1 to {MAX_MIN_BIDS}")));
        }
        if let Some(draws) = &self.draws {
            draws.validate(lots)?;
        }
        if self.prices.len() > lots.len() * 2 {
            return Err(DomainError::invalid("session.prices", "give at most a ceiling and a reference per lot"));
        }
        for (i, p) in self.prices.iter().enumerate() {
            let at = format!("session.prices[{i}]");
            let lot = lots
                .iter()
                .find(|l| l.id == p.lot)
                .ok_or_else(|| DomainError::invalid(format!("{at}.lot"), format!("no lot '{}'", p.lot)))?;
            let money = lot.fields.iter().any(|f| f.key == p.field && f.kind == super::FieldKind::Money);
            if !money {
                return Err(DomainError::invalid(
                    format!("{at}.field"),
                    format!("lot '{}' has no money field '{}'", p.lot, p.field),
                ));
            }
            if cents(&p.amount).is_none() {
                return Err(DomainError::invalid(
                    format!("{at}.amount"),
                    "must be a non-negative amount with at most two decimals, e.g. 1000000.00",
                ));
            }
            if self.prices[..i].iter().any(|q| q.lot == p.lot && q.kind == p.kind) {
                return Err(DomainError::invalid(at, format!("lot '{}' has this kind of price twice", p.lot)));
            }
        }
        Ok(())
    }

    /// The ceiling of a lot, if it has one.
    pub fn ceiling(&self, lot: &str) -> Option<&PriceLimit> {
        self.prices.iter().find(|p| p.lot == lot && p.kind == PriceKind::Ceiling)
    }

    /// Is `value` (a money field's string) above the lot's ceiling? `None`
    /// when the lot has no ceiling or the value is not an amount.
    pub fn above_ceiling(&self, lot: &str, fields: &serde_json::Map<String, serde_json::Value>) -> Option<bool> {
        let ceiling = self.ceiling(lot)?;
        let value = fields.get(&ceiling.field)?.as_str()?;
        Some(cents(value)? > cents(&ceiling.amount)?)
    }
}

/// A money amount in hundredths, exactly: digits, optionally a point and one
/// or two digits. Compared as integers so no rounding decides a mark.
pub fn cents(s: &str) -> Option<u128> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 30 || frac.len() > 2 || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    if !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    format!("{whole}{frac}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_exact() {
        assert_eq!(cents("100"), Some(10_000));
        assert_eq!(cents("100.5"), Some(10_050));
        assert_eq!(cents("0.01"), Some(1));
        assert_eq!(cents("1."), None);
        assert_eq!(cents(".5"), None);
        assert_eq!(cents("-1"), None);
        assert_eq!(cents("1.234"), None);
    }

    #[test]
    fn defaults_follow_the_chinese_rule() {
        let t: SessionTerms = serde_json::from_str("{}").unwrap();
        assert_eq!(t.min_bids, 3);
        assert!(!t.sign_in_required);
        assert_eq!(t, SessionTerms::default());
    }
}
