//! Reference prices in exact decimal arithmetic: prices are integer cents
//! (`tender::cents`), coefficients integer ten-thousandths, and the one
//! division happens last, rounded by the formula's stated rule.

use serde::{Deserialize, Serialize};

use super::{Apply, PriceFormula};
use crate::domain::tender::cents;

/// Units of a coefficient: 1 = 10 000.
pub const COEFFICIENT_SCALE: u128 = 10_000;

/// How the exact result becomes cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// 四舍五入: to the nearest cent, halves away from zero.
    #[default]
    HalfUp,
    /// 舍去: down to the cent below.
    Down,
}

/// A coefficient in ten-thousandths: digits, optionally a point and one to
/// four digits, at most 10. `None` for anything else.
pub fn coefficient_units(s: &str) -> Option<u128> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 2 || frac.len() > 4 || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    if !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: u128 = format!("{whole}{frac:0<4}").parse().ok()?;
    (units <= 10 * COEFFICIENT_SCALE).then_some(units)
}

/// Cents as an amount with two decimals, e.g. `123456` → `"1234.56"`.
pub fn format_cents(c: u128) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// A coefficient's units as a decimal with four fraction digits.
fn format_units(u: u128) -> String {
    format!("{}.{:04}", u / COEFFICIENT_SCALE, u % COEFFICIENT_SCALE)
}

/// A formula's result, as logged in `draw.result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceResult {
    /// The formula's id.
    pub id: String,
    /// Its lot.
    pub lot: String,
    /// Valid prices of the lot (opened, an amount, not above its ceiling).
    pub valid: u64,
    /// Prices averaged (after dropping the extremes).
    pub used: u64,
    /// Were the highest and lowest dropped?
    pub dropped_extremes: bool,
    /// Sum of the averaged prices, exact.
    pub sum: String,
    /// The factor applied to the mean (four fraction digits), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<String>,
    /// The reference price; `null` when no price is valid or the formula's
    /// method was not drawn.
    pub amount: Option<String>,
    /// Why there is no amount, if there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Computes `formula` from the lot's valid prices in cents; `drawn` is the
/// coefficient draw's value (units), if the formula has one.
pub(super) fn compute(formula: &PriceFormula, prices: &[u128], drawn: Option<u128>) -> PriceResult {
    let mut used: Vec<u128> = prices.to_vec();
    used.sort_unstable();
    let dropped = formula.drop_extremes_from.is_some_and(|n| used.len() >= n as usize && used.len() >= 3);
    if dropped {
        used.pop();
        used.remove(0);
    }
    // Amounts have at most 30 whole digits, so only absurd inputs overflow.
    let sum: Option<u128> = used.iter().try_fold(0u128, |a, &b| a.checked_add(b));
    let factor = match (&formula.coefficient, drawn) {
        (Some(c), Some(k)) => Some(match c.apply {
            Apply::Times => k,
            Apply::OneMinus => COEFFICIENT_SCALE.saturating_sub(k),
        }),
        _ => None,
    };
    let mut result = PriceResult {
        id: formula.id.clone(),
        lot: formula.lot.clone(),
        valid: prices.len() as u64,
        used: used.len() as u64,
        dropped_extremes: dropped,
        sum: sum.map(format_cents).unwrap_or_default(),
        factor: factor.map(format_units),
        amount: None,
        note: None,
    };
    if used.is_empty() {
        result.note = Some("no valid price".into());
        return result;
    }
    // amount = sum × factor / (count × scale), one exact division, rounded.
    let Some(num) = sum.and_then(|s| s.checked_mul(factor.unwrap_or(COEFFICIENT_SCALE))) else {
        result.note = Some("the prices are too large to compute".into());
        return result;
    };
    let den = used.len() as u128 * COEFFICIENT_SCALE;
    let cents = match formula.rounding {
        // Up when the remainder is at least half of the divisor (2r ≥ den,
        // written without doubling so it cannot overflow).
        Rounding::HalfUp => num / den + u128::from(num % den >= den - num % den),
        Rounding::Down => num / den,
    };
    result.amount = Some(format_cents(cents));
    result
}

/// The lot's valid price of one opened bid, in cents.
pub(super) fn valid_price(
    formula: &PriceFormula,
    fields: &serde_json::Map<String, serde_json::Value>,
    above_ceiling: Option<bool>,
) -> Option<u128> {
    if above_ceiling == Some(true) {
        return None;
    }
    cents(fields.get(&formula.field)?.as_str()?)
}
