//! The opening record (开标记录表) as a plain-text table.

use serde_json::Value;

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

/// Renders the record's rows; field columns follow the lots' field
/// definitions (labels in Chinese and English).
pub fn render(rows: &[Value], lots: &[Lot]) -> String {
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
    for row in rows {
        let mut cells = vec![text(&row["position"]), text(&row["bidder"]["name"]), text(&row["lot"])];
        cells.extend(fields.iter().map(|(k, _)| text(&row["fields"][k])));
        cells.push(text(&row["received_at"]));
        let status = match row["status"].as_str() {
            Some("opened") => "开标 opened".to_string(),
            Some("rejected") => format!("拒绝 rejected: {}", text(&row["reason"])),
            Some("unopened") => format!("未开 unopened: {}", text(&row["reason"])),
            other => other.unwrap_or("?").to_string(),
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
    out
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
        let rows = vec![serde_json::json!({"position": 1, "bidder": {"name": "华东路桥"}, "lot": "1",
            "fields": {"price": "100.00"}, "received_at": "2027-01-01T00:00:00Z", "status": "opened"})];
        let out = render(&rows, &lots);
        let widths: Vec<usize> = out.lines().map(width).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{out}");
        assert!(out.contains("华东路桥") && out.contains("100.00") && out.contains("开标 opened"), "{out}");
    }
}
