//! The opening record as CSV (`GET /api/v1/tenders/{id}/record.csv`):
//! public once the opening started, UTF-8 with a BOM for Excel, one row
//! per bid in the record, the same rows as the JSON record.

use reqwest::StatusCode;

use crate::common::{TestApp, published_tender};
use crate::opening::honest_opening;

async fn record_csv_matches_the_json_record(app: TestApp) {
    let early = published_tender(&app, 3600).await;
    let (s, v) = app.get(&format!("/api/v1/tenders/{early}/record.csv")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_opened_yet")), "{v}");
    let (s, v) = app.get(&format!("/api/v1/tenders/{}/record.csv", uuid::Uuid::new_v4())).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");

    let (tender, _) = honest_opening(&app).await;
    let r = app.client.get(app.url(&format!("/api/v1/tenders/{tender}/record.csv"))).send().await.expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/csv; charset=utf-8; header=present");
    assert!(h["content-disposition"].to_str().expect("ascii").starts_with("attachment; filename=\"record-ZB-"));
    assert_eq!(h["x-bidroom-record"], "final");
    let bytes = r.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xef\xbb\xbf", "UTF-8 byte-order mark for Excel");
    let text = std::str::from_utf8(&bytes[3..]).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("序号 No.,投标人 Bidder,") && lines[0].contains("投标报价 / Price,工期 / Duration (days)")
    );
    let (_, json) = app.get(&format!("/api/v1/tenders/{tender}/record")).await;
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(lines.len(), 1 + rows.len(), "{text}");
    for (line, row) in lines[1..].iter().zip(rows) {
        let price = row["fields"]["price"].as_str().expect("price");
        let name = row["bidder"]["name"].as_str().expect("name");
        let hash = row["envelope_hash"].as_str().expect("hash");
        assert!(line.starts_with(&format!("{},{name},", row["position"])), "{line}");
        assert!(line.contains(&format!(",opened,{price},90,,{hash},")), "{line}");
    }
}

crate::on_both_backends!(record_csv_matches_the_json_record);
