//! The opening record as CSV for auditors and spreadsheets:
//! `GET /api/v1/tenders/{id}/record.csv`. UTF-8 with a byte-order mark so
//! Excel shows Chinese, CRLF line ends (RFC 4180), bilingual headers, one
//! column per record field in the lots' order. The JSON form is
//! `GET /api/v1/tenders/{id}/record`.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use crate::app::AppState;
use crate::domain::Tender;
use crate::domain::event::{PayloadError, RecordRow};

/// The opening record as CSV.
#[utoipa::path(get, path = "/api/v1/tenders/{id}/record.csv", responses((status = 200, content_type = "text/csv")))]
pub async fn record_csv(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let (tender, record) = crate::app::opening::load_record(&state, id).await?;
    let body = to_csv(&tender, &record.rows).map_err(ApiError::internal)?;
    let name = format!("attachment; filename=\"record-{}.csv\"", sanitize(&tender.reference));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).map_err(ApiError::internal)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Rows are added until the record is published; say which this is.
    h.insert("x-bidroom-record", HeaderValue::from_static(if record.complete { "final" } else { "provisional" }));
    Ok(resp)
}

/// A file name part from a reference: ASCII letters, digits, `-`, `_` and `.`.
fn sanitize(s: &str) -> String {
    let out: String =
        s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(60).collect();
    if out.is_empty() { "tender".into() } else { out }
}

/// Quotes a cell when needed. Text a spreadsheet would run as a formula
/// (starting `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, unless it
/// is a plain number such as `-12.50`.
fn cell(v: &str) -> String {
    let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.parse::<f64>().is_err();
    let v = if risky { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds the CSV; `rows` are the record rows of `GET …/record` (a row
/// that is not an outcome is an error: the server built them).
pub fn to_csv(tender: &Tender, rows: &[Value]) -> Result<String, PayloadError> {
    let rows: Vec<RecordRow> = rows.iter().map(RecordRow::from_value).collect::<Result<_, _>>()?;
    // Field columns: every lot's fields in order, each key once.
    let mut keys: Vec<(&str, String)> = Vec::new();
    for lot in &tender.lots {
        for f in &lot.fields {
            if !keys.iter().any(|(k, _)| *k == f.key) {
                keys.push((&f.key, format!("{} / {}", f.label.zh, f.label.en)));
            }
        }
    }
    let mut header: Vec<String> =
        ["序号 No.", "投标人 Bidder", "投标人密钥 Bidder key", "标段 Lot", "递交时间 Received (UTC)", "状态 Status"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    header.extend(keys.iter().map(|(_, label)| label.clone()));
    header.extend(["原因 Reason", "信封哈希 Envelope SHA-256", "日志序号 Log index"].map(String::from));
    let mut out = String::from("\u{feff}");
    let mut line = |cells: Vec<String>| {
        out.push_str(&cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    };
    line(header);
    for row in rows {
        let bid = &row.row;
        let mut cells = vec![
            bid.position.to_string(),
            bid.bidder.name.clone().unwrap_or_default(),
            bid.bidder.id.clone(),
            bid.lot.clone(),
            crate::domain::tender::rfc3339(bid.received_at),
            row.status().to_string(),
        ];
        cells.extend(keys.iter().map(|(k, _)| row.fields().and_then(|f| f.get(*k)).map(text).unwrap_or_default()));
        cells.extend([
            row.reason().unwrap_or_default().to_string(),
            bid.envelope_hash.to_hex(),
            row.log_index.to_string(),
        ]);
        line(cells);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tender() -> Tender {
        let draft: crate::domain::TenderDraft = serde_json::from_value(json!({
            "title": "Roads", "reference": "ZB/2027 #1", "buyer": "City", "currency": "CNY",
            "lots": [
                {"id": "1", "title": "North", "fields": [
                    {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
                    {"key": "days", "label": {"zh": "工期", "en": "Days"}, "type": "integer", "required": false}]},
                {"id": "2", "title": "South", "fields": [
                    {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
                    {"key": "note", "label": {"zh": "备注", "en": "Note"}, "type": "text", "required": false}]}],
            "deadline": "2026-11-27T10:00:00Z"
        }))
        .expect("draft");
        Tender::create(Uuid::nil(), draft, time::macros::datetime!(2026-11-27 08:00 UTC)).expect("tender")
    }

    #[test]
    fn bom_bilingual_header_fields_in_lot_order_and_escaping() {
        let (ab, cd) = ("ab".repeat(32), "cd".repeat(32));
        let rows = vec![
            json!({"position": 1, "bidder": {"id": "k1", "name": "甲公司, Ltd"}, "lot": "1", "status": "opened",
                   "received_at": "2026-11-27T09:00:00Z", "fields": {"days": 90, "price": "-12.50"},
                   "envelope_hash": ab, "log_index": 7, "bid_id": Uuid::nil(), "form_key": "k"}),
            json!({"position": 2, "bidder": {"id": "k2", "name": "=HYPERLINK(\"x\")"}, "lot": "2", "status": "rejected",
                   "received_at": "2026-11-27T09:01:00Z", "reason": "line1\nline2", "envelope_hash": cd, "log_index": 8,
                   "bid_id": Uuid::nil(), "blame": "bidder"}),
        ];
        let csv = to_csv(&tender(), &rows).expect("csv");
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "序号 No.,投标人 Bidder,投标人密钥 Bidder key,标段 Lot,递交时间 Received (UTC),状态 Status,\
             投标报价 / Price,工期 / Days,备注 / Note,原因 Reason,信封哈希 Envelope SHA-256,日志序号 Log index"
        );
        assert_eq!(lines[1], format!("1,\"甲公司, Ltd\",k1,1,2026-11-27T09:00:00Z,opened,-12.50,90,,,{ab},7"));
        assert!(lines[2].starts_with("2,\"'=HYPERLINK(\"\"x\"\")\",k2,2,"), "{}", lines[2]);
        assert!(lines[2].contains(&format!(",\"line1\nline2\",{cd},8")), "{}", lines[2]);
        assert!(to_csv(&tender(), &[json!({"status": "opened"})]).is_err(), "not a record row");
        assert_eq!(lines.len(), 4, "ends with CRLF");
        assert_eq!(sanitize("ZB/2027 #1"), "ZB20271");
    }
}
