//! The opening record (开标记录表) as a plain-text table.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::domain::event::{EventKind, PayloadError, RecordRow};
use crate::domain::tender::Lot;

/// Display width of a string: CJK and other wide characters count two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c), 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// A field value as text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Is an opened bid marked above its lot's ceiling price?
fn above_ceiling(outcome: &crate::domain::event::EventPayload) -> bool {
    matches!(outcome, crate::domain::event::EventPayload::BidOpened(o) if o.above_ceiling == Some(true))
}

/// Renders the record's rows as served; field columns follow the lots'
/// field definitions (labels in Chinese and English).
pub fn render(rows: &[Value], lots: &[Lot]) -> Result<String, PayloadError> {
    let rows = rows.iter().map(RecordRow::from_value).collect::<Result<Vec<_>, _>>()?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for lot in lots {
        for f in &lot.fields {
            if !fields.iter().any(|(k, _)| k == &f.key) {
                fields.push((f.key.clone(), format!("{} {}", f.label.zh, f.label.en)));
            }
        }
    }
    let mut header = vec!["# 序号".to_string(), "投标人 Bidder".into(), "标段 Lot".into()];
    header.extend(fields.iter().map(|(_, l)| l.clone()));
    header.extend(["递交时间 Received (UTC)".to_string(), "状态 Status".into()]);
    let mut table = vec![header];
    for row in &rows {
        let bid = &row.row;
        let mut cells = vec![bid.position.to_string(), bid.bidder.name.clone().unwrap_or_default(), bid.lot.clone()];
        cells.extend(fields.iter().map(|(k, _)| row.fields().and_then(|f| f.get(k)).map(text).unwrap_or_default()));
        cells.push(bid.received_at.format(&Rfc3339).unwrap_or_default());
        let reason = row.reason().unwrap_or_default();
        let status = match row.outcome.kind() {
            EventKind::BidOpened if above_ceiling(&row.outcome) => {
                "开标，超过最高投标限价 opened, above the ceiling".to_string()
            }
            EventKind::BidOpened => "开标 opened".to_string(),
            EventKind::BidRejected => format!("拒绝 rejected: {reason}"),
            _ => format!("未开 unopened: {reason}"),
        };
        cells.push(status);
        table.push(cells);
    }
    let columns = table.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|i| table.iter().map(|r| r.get(i).map_or(0, |c| width(c))).max().unwrap_or(0)).collect();
    let line = |r: &[String]| {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let rule = format!("+{}+\n", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    let mut out = rule.clone();
    for (i, r) in table.iter().enumerate() {
        out.push_str(&line(r));
        if i == 0 {
            out.push_str(&rule);
        }
    }
    out.push_str(&rule);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("投标人"), 6);
        assert_eq!(pad("投标", 6), "投标  ");
    }

    #[test]
    fn rows_line_up() {
        let lots: Vec<Lot> = serde_json::from_value(serde_json::json!([{"id": "1", "title": "North", "fields": [
            {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true}
        ]}]))
        .expect("lots");
        let rows = vec![serde_json::json!({"position": 1, "bidder": {"id": "k1", "name": "华东路桥"}, "lot": "1",
            "bid_id": "0190b5a0-0000-7000-8000-000000000001", "envelope_hash": "ab".repeat(32),
            "fields": {"price": "100.00"}, "form_key": "a2V5", "received_at": "2027-01-01T00:00:00Z",
            "status": "opened", "log_index": 7})];
        let out = render(&rows, &lots).expect("a record row");
        let widths: Vec<usize> = out.lines().map(width).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{out}");
        assert!(out.contains("华东路桥") && out.contains("100.00") && out.contains("开标 opened"), "{out}");
        assert!(render(&[serde_json::json!({"status": "opened"})], &lots).is_err(), "not a record row");
    }
}
