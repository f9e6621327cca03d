//! Lots and the opening-record fields each lot's bids must fill, with the
//! validation of a bid's form against them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::DomainError;
use crate::domain::text::{Lines, Text};

/// A lot of a tender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lot {
    /// Short identifier unique within the tender, e.g. `1` or `A`.
    pub id: String,
    /// Title of the lot.
    pub title: String,
    /// The opening-record fields (开标记录表 columns) every bid must fill.
    pub fields: Vec<FieldDef>,
}

/// A label in both languages of the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

/// One opening-record field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Machine key, `[a-z][a-z0-9_]*`, at most 40 characters.
    pub key: String,
    /// Human label.
    pub label: Label,
    /// Value type.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Must a bid fill it?
    #[serde(default)]
    pub required: bool,
}

/// The type of a field's value. Money and decimals travel as strings so no
/// binary floating point ever touches a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Non-negative amount with at most two decimals, as a string: `"1234.50"`.
    Money,
    /// A JSON integer.
    Integer,
    /// A decimal number as a string: `"-3.1415"`.
    Decimal,
    /// Free text up to 2000 characters.
    Text,
    /// A calendar date `YYYY-MM-DD`.
    Date,
}

fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && key.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Validates the lots of a tender draft.
pub(crate) fn validate_lots(lots: &[Lot]) -> Result<(), DomainError> {
    if lots.is_empty() {
        return Err(DomainError::invalid("lots", "a tender needs at least one lot"));
    }
    if lots.len() > 200 {
        return Err(DomainError::invalid("lots", "at most 200 lots"));
    }
    for (i, lot) in lots.iter().enumerate() {
        let at = format!("lots[{i}]");
        if lot.id.is_empty() || lot.id.len() > 20 || !lot.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(DomainError::invalid(format!("{at}.id"), "must be 1-20 letters, digits or '-'"));
        }
        if lots[..i].iter().any(|l| l.id == lot.id) {
            return Err(DomainError::invalid(format!("{at}.id"), format!("duplicate lot id '{}'", lot.id)));
        }
        Text::required(&format!("{at}.title"), &lot.title, 300, Lines::Single)?;
        if lot.fields.is_empty() || lot.fields.len() > 50 {
            return Err(DomainError::invalid(format!("{at}.fields"), "a lot needs 1 to 50 opening-record fields"));
        }
        for (j, f) in lot.fields.iter().enumerate() {
            let fat = format!("{at}.fields[{j}]");
            if !valid_key(&f.key) {
                return Err(DomainError::invalid(
                    format!("{fat}.key"),
                    "must start with a-z and contain only a-z, 0-9 and '_' (at most 40)",
                ));
            }
            if lot.fields[..j].iter().any(|g| g.key == f.key) {
                return Err(DomainError::invalid(format!("{fat}.key"), format!("duplicate field key '{}'", f.key)));
            }
            if f.label.zh.trim().is_empty() || f.label.en.trim().is_empty() {
                return Err(DomainError::invalid(format!("{fat}.label"), "needs both a Chinese and an English label"));
            }
            Text::check(&format!("{fat}.label.zh"), &f.label.zh, 200, Lines::Single)?;
            Text::check(&format!("{fat}.label.en"), &f.label.en, 200, Lines::Single)?;
        }
    }
    Ok(())
}

fn decimal_ok(s: &str, max_fraction: Option<usize>, allow_negative: bool) -> bool {
    let body = match s.strip_prefix('-') {
        Some(rest) if allow_negative => rest,
        Some(_) => return false,
        None => s,
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let int_ok = !int.is_empty() && int.len() <= 18 && int.bytes().all(|b| b.is_ascii_digit());
    let frac_ok = match frac {
        None => true,
        Some(f) => {
            !f.is_empty()
                && f.bytes().all(|b| b.is_ascii_digit())
                && max_fraction.is_none_or(|m| f.len() <= m)
                && f.len() <= 18
        }
    };
    int_ok && frac_ok
}

impl FieldKind {
    /// Checks one value; returns what is wrong with it.
    pub fn check(self, value: &Value) -> Result<(), &'static str> {
        match (self, value) {
            (FieldKind::Money, Value::String(s)) if decimal_ok(s, Some(2), false) => Ok(()),
            (FieldKind::Money, _) => {
                Err("must be a non-negative amount as a string with at most two decimals, e.g. \"1234.50\"")
            }
            (FieldKind::Integer, Value::Number(n)) if n.is_i64() => Ok(()),
            (FieldKind::Integer, _) => Err("must be a whole number"),
            (FieldKind::Decimal, Value::String(s)) if decimal_ok(s, None, true) => Ok(()),
            (FieldKind::Decimal, _) => Err("must be a decimal number as a string, e.g. \"12.5\""),
            (FieldKind::Text, Value::String(s)) if Text::check("", s, 2000, Lines::Multi).is_ok() => Ok(()),
            (FieldKind::Text, _) => {
                Err("must be text of at most 2000 characters, without NUL or other control characters")
            }
            (FieldKind::Date, Value::String(s)) if valid_date(s) => Ok(()),
            (FieldKind::Date, _) => Err("must be a date YYYY-MM-DD"),
        }
    }
}

fn valid_date(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, &fmt).is_ok()
}

impl Lot {
    /// Validates a bid's form (the opening-record values) against this lot.
    pub fn validate_form(&self, form: &Map<String, Value>) -> Result<(), DomainError> {
        for key in form.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                return Err(DomainError::invalid(format!("form.{key}"), format!("lot {} has no such field", self.id)));
            }
        }
        for f in &self.fields {
            match form.get(&f.key) {
                None | Some(Value::Null) if f.required => {
                    return Err(DomainError::invalid(format!("form.{}", f.key), "is required"));
                }
                None | Some(Value::Null) => {}
                Some(v) => f.kind.check(v).map_err(|m| DomainError::invalid(format!("form.{}", f.key), m))?,
            }
        }
        Ok(())
    }
}
