//! Verifiable draws (issue 13, `docs/DRAWS.md`): what a tender declares at
//! publish — draws of one value, one method or an order, and reference-price
//! formulas — and the pure computation of their results from a seed nobody
//! controls. No I/O: the application layer gathers the inputs (the log's
//! head after the record, the opened bids' form keys, the host's secret).

mod price;
mod run;
pub mod seed;
mod tender;

use serde::{Deserialize, Serialize};

use crate::domain::DomainError;
use crate::domain::tender::{FieldKind, Label, Lot};
use crate::domain::text::{Lines, Text};

pub use price::{PriceResult, Rounding, coefficient_units, format_cents};
pub use run::{DrawOutcome, DrawResult, OpenedBid, outcome};
pub use tender::{DrawRun, DrawState, earliest};

/// Most draws a tender may declare.
pub const MAX_DRAWS: usize = 16;
/// Most values, methods or items one draw may list.
pub const MAX_CHOICES: usize = 1_000;
/// Most reference-price formulas.
pub const MAX_FORMULAS: usize = 32;
/// Longest time the host may be given to reveal, in minutes (one week).
pub const MAX_REVEAL_MINUTES: u32 = 10_080;

/// The draws and formulas of a tender, fixed at publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawTerms {
    /// The declared draws, in order (a draw's position picks its stream).
    #[serde(default)]
    pub draws: Vec<DrawSpec>,
    /// Reference-price formulas (评标基准价), computed after the draws.
    #[serde(default)]
    pub formulas: Vec<PriceFormula>,
    /// The host's commitment: SHA-256(L("bidroom/v1/draw-commitment") ‖
    /// secret), 64 lower-case hex digits, made where the secret was drawn
    /// (the host's browser or CLI).
    pub commitment: String,
    /// Minutes after the record within which the host must reveal; then the
    /// stated fallback runs, logged as `draw.failed`.
    #[serde(default = "default_reveal")]
    pub reveal_minutes: u32,
}

fn default_reveal() -> u32 {
    30
}

/// One declared draw. (Not `deny_unknown_fields`: serde cannot combine it
/// with the flattened kind.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawSpec {
    /// Machine id, `[a-z][a-z0-9_]*`, at most 40 characters.
    pub id: String,
    /// What it is called in the room.
    pub label: Label,
    /// What is drawn.
    #[serde(flatten)]
    pub kind: DrawKind,
}

/// What a draw picks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DrawKind {
    /// One value of a listed set, e.g. K ∈ {0.92, …, 0.98}: decimals with
    /// at most four fraction digits, above 0 and at most 10.
    Value {
        /// The set, in the order the index refers to.
        values: Vec<String>,
    },
    /// One method of a listed set, e.g. 评标基准价 method A/B/C.
    Method {
        /// The methods' names.
        methods: Vec<String>,
    },
    /// A random order of a list (tie-breaks, the order of the 唱标).
    Order {
        /// The items in their listed order.
        items: Vec<String>,
    },
}

impl DrawKind {
    /// The listed choices.
    pub fn choices(&self) -> &[String] {
        match self {
            DrawKind::Value { values } => values,
            DrawKind::Method { methods } => methods,
            DrawKind::Order { items } => items,
        }
    }
}

/// How a drawn coefficient applies to the mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// mean × K.
    Times,
    /// mean × (1 − K) (下浮率).
    OneMinus,
}

/// A drawn coefficient a formula uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoefficientRef {
    /// The id of a `value` draw.
    pub draw: String,
    /// Times K or times (1 − K).
    pub apply: Apply,
}

/// Compute a formula only when a method draw picked this method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodGate {
    /// The id of a `method` draw.
    pub draw: String,
    /// The method that selects this formula.
    pub method: String,
}

/// A reference-price formula from the fixed menu: the arithmetic mean of a
/// lot's valid prices, optionally without the highest and the lowest, times
/// an optional drawn coefficient, rounded to cents by a stated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFormula {
    /// Machine id, like a draw's.
    pub id: String,
    /// What it is called in the room.
    pub label: Label,
    /// The lot.
    pub lot: String,
    /// The lot's money field whose opened values are averaged.
    pub field: String,
    /// Drop one highest and one lowest price when at least this many are
    /// valid (3 or more); absent: never drop.
    #[serde(default)]
    pub drop_extremes_from: Option<u32>,
    /// The drawn coefficient, if any.
    #[serde(default)]
    pub coefficient: Option<CoefficientRef>,
    /// How the exact result is rounded to cents.
    #[serde(default)]
    pub rounding: Rounding,
    /// Only when a method draw picked this method.
    #[serde(default)]
    pub when: Option<MethodGate>,
}

fn check_id(field: &str, id: &str) -> Result<(), DomainError> {
    let ok = id.len() <= 40
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(DomainError::invalid(field, "must match [a-z][a-z0-9_]* (at most 40 characters)")) }
}

fn check_label(field: &str, label: &Label) -> Result<(), DomainError> {
    Text::required(&format!("{field}.zh"), &label.zh, 100, Lines::Single)?;
    Text::required(&format!("{field}.en"), &label.en, 100, Lines::Single)
}

impl DrawTerms {
    /// Checks every draw and formula against the lots.
    pub fn validate(&self, lots: &[Lot]) -> Result<(), DomainError> {
        let at = "session.draws";
        if self.draws.is_empty() && self.formulas.is_empty() {
            return Err(DomainError::invalid(at, "declare at least one draw or formula, or leave draws out"));
        }
        let hex_ok =
            self.commitment.len() == 64 && self.commitment.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex_ok {
            return Err(DomainError::invalid(
                format!("{at}.commitment"),
                "must be the host's SHA-256 commitment, 64 lower-case hex digits",
            ));
        }
        if !(1..=MAX_REVEAL_MINUTES).contains(&self.reveal_minutes) {
            return Err(DomainError::invalid(
                format!("{at}.reveal_minutes"),
                format!("must be 1 to {MAX_REVEAL_MINUTES} minutes"),
            ));
        }
        if self.draws.len() > MAX_DRAWS {
            return Err(DomainError::invalid(format!("{at}.draws"), format!("at most {MAX_DRAWS} draws")));
        }
        for (i, d) in self.draws.iter().enumerate() {
            let f = format!("{at}.draws[{i}]");
            check_id(&format!("{f}.id"), &d.id)?;
            check_label(&format!("{f}.label"), &d.label)?;
            if self.draws[..i].iter().any(|e| e.id == d.id) {
                return Err(DomainError::invalid(format!("{f}.id"), format!("'{}' is declared twice", d.id)));
            }
            let choices = d.kind.choices();
            let min = if matches!(d.kind, DrawKind::Order { .. }) { 2 } else { 1 };
            if !(min..=MAX_CHOICES).contains(&choices.len()) {
                return Err(DomainError::invalid(f, format!("list {min} to {MAX_CHOICES} choices")));
            }
            for (j, c) in choices.iter().enumerate() {
                Text::required(&format!("{f}.choices[{j}]"), c, 100, Lines::Single)?;
                if choices[..j].contains(c) {
                    return Err(DomainError::invalid(format!("{f}.choices[{j}]"), format!("'{c}' is listed twice")));
                }
                if matches!(d.kind, DrawKind::Value { .. }) && coefficient_units(c).is_none_or(|u| u == 0) {
                    return Err(DomainError::invalid(
                        format!("{f}.values[{j}]"),
                        "must be a decimal above 0 and at most 10 with at most four fraction digits, e.g. 0.95",
                    ));
                }
            }
        }
        if self.formulas.len() > MAX_FORMULAS {
            return Err(DomainError::invalid(format!("{at}.formulas"), format!("at most {MAX_FORMULAS} formulas")));
        }
        for (i, p) in self.formulas.iter().enumerate() {
            self.validate_formula(&format!("{at}.formulas[{i}]"), p, lots)?;
            if self.formulas[..i].iter().any(|q| q.id == p.id) || self.draws.iter().any(|d| d.id == p.id) {
                return Err(DomainError::invalid(
                    format!("{at}.formulas[{i}].id"),
                    format!("'{}' is used twice", p.id),
                ));
            }
        }
        Ok(())
    }

    fn validate_formula(&self, f: &str, p: &PriceFormula, lots: &[Lot]) -> Result<(), DomainError> {
        check_id(&format!("{f}.id"), &p.id)?;
        check_label(&format!("{f}.label"), &p.label)?;
        let lot = lots
            .iter()
            .find(|l| l.id == p.lot)
            .ok_or_else(|| DomainError::invalid(format!("{f}.lot"), format!("no lot '{}'", p.lot)))?;
        if !lot.fields.iter().any(|d| d.key == p.field && d.kind == FieldKind::Money) {
            return Err(DomainError::invalid(
                format!("{f}.field"),
                format!("lot '{}' has no money field '{}'", p.lot, p.field),
            ));
        }
        if let Some(n) = p.drop_extremes_from
            && !(3..=1_000_000).contains(&n)
        {
            return Err(DomainError::invalid(format!("{f}.drop_extremes_from"), "must be at least 3"));
        }
        if let Some(c) = &p.coefficient {
            let draw = self.draws.iter().find(|d| d.id == c.draw);
            let Some(DrawSpec { kind: DrawKind::Value { values }, .. }) = draw else {
                return Err(DomainError::invalid(
                    format!("{f}.coefficient.draw"),
                    format!("'{}' is not a value draw declared here", c.draw),
                ));
            };
            if c.apply == Apply::OneMinus && values.iter().any(|v| coefficient_units(v).is_none_or(|u| u > 10_000)) {
                return Err(DomainError::invalid(
                    format!("{f}.coefficient.apply"),
                    "one_minus needs every value of the draw to be at most 1",
                ));
            }
        }
        if let Some(g) = &p.when {
            let draw = self.draws.iter().find(|d| d.id == g.draw);
            let Some(DrawSpec { kind: DrawKind::Method { methods }, .. }) = draw else {
                return Err(DomainError::invalid(
                    format!("{f}.when.draw"),
                    format!("'{}' is not a method draw declared here", g.draw),
                ));
            };
            if !methods.contains(&g.method) {
                return Err(DomainError::invalid(
                    format!("{f}.when.method"),
                    format!("'{}' is not a method of '{}'", g.method, g.draw),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
