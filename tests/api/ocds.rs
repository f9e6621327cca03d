//! Open data: `GET /api/v1/tenders/{id}/ocds` and `GET /api/v1/ocds/releases`
//! answer OCDS 1.1 release packages that validate against the release
//! package schema with the bids, location and bidOpening extensions merged
//! in (JSON Merge Patch, RFC 7386), from the copies in `tests/data/ocds/`
//! (no network), with a standard Draft 4 validator checking formats.

use std::path::PathBuf;

use jsonschema::Draft;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Draft as TenderDraft, TestApp};
use crate::opening::honest_opening;

fn data(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ocds").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).expect("schema JSON")
}

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Value::Object(map) = target else { return };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[test]
fn merge_patch_follows_rfc_7386() {
    // The RFC's own example (section 3).
    let mut doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"], "content": "This will be unchanged"});
    let patch = json!({"title": "Hello!", "phoneNumber": "+01-234-567-8901", "author": {"familyName": null}, "tags": ["example"]});
    merge_patch(&mut doc, &patch);
    assert_eq!(
        doc,
        json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"], "content": "This will be unchanged", "phoneNumber": "+01-234-567-8901"})
    );
}

/// Problems of `package` against the package schema, its releases against
/// the release schema with the extensions merged in that order.
fn problems(package: &Value) -> Vec<String> {
    let mut release = data("standard/schema/release-schema.json");
    for ext in ["ocds_bid_extension", "ocds_location_extension", "ocds_bidOpening_extension"] {
        merge_patch(&mut release, &data(&format!("{ext}/release-schema.json")));
    }
    let mut pkg_schema = data("standard/schema/release-package-schema.json");
    // Its `releases.items` is a `$ref` to the release schema's URL: that one
    // is checked below against the merged copy instead of fetched.
    pkg_schema["properties"]["releases"]["items"] = json!({});
    let build = |schema: &Value| {
        jsonschema::options().with_draft(Draft::Draft4).should_validate_formats(true).build(schema).expect("schema")
    };
    let mut out: Vec<String> =
        build(&pkg_schema).iter_errors(package).map(|e| format!("{}: {e}", e.instance_path)).collect();
    let release_validator = build(&release);
    for (i, r) in package["releases"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        out.extend(release_validator.iter_errors(r).map(|e| format!("releases/{i}{}: {e}", e.instance_path)));
    }
    out
}

#[test]
fn the_validator_catches_what_the_schema_forbids() {
    // A package the schemas must refuse, so a passing test means something.
    let bad = json!({"uri": "not a uri", "version": "1.1", "publishedDate": "yesterday", "publisher": {"name": "x"},
                     "releases": [{"ocid": "ocds-000000-1", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["nonsense"],
                                   "initiationType": "tender", "bids": {"details": [{"id": "b", "status": "lost"}]}}]});
    let p = problems(&bad);
    assert!(p.iter().any(|p| p.contains("publishedDate")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("releases/0/tag")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("bids/details/0/status")), "{p:?}");
}

async fn ocds_packages_validate_and_follow_the_record(app: TestApp) {
    // A draft is not open data; an unknown tender neither.
    let draft = TenderDraft::on(&app, 3600).await.create(&app).await;
    let (s, v) = app.get(&format!("/api/v1/tenders/{draft}/ocds")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");

    // Published, before the opening: terms, no bids.
    let early = TenderDraft::on(&app, 3600).await.published(&app).await;
    let pkg = app.get_ok(&format!("/api/v1/tenders/{early}/ocds")).await;
    assert_eq!(problems(&pkg), Vec::<String>::new(), "{pkg:#}");
    let r = &pkg["releases"][0];
    assert_eq!(r["ocid"], format!("ocds-000000-{early}"));
    assert_eq!(r["tag"], json!(["tender"]));
    assert_eq!(r["tender"]["status"], "active");
    assert!(r["tender"]["bidOpening"]["date"].is_string());
    assert!(r["tender"]["tenderPeriod"]["endDate"].is_string());
    assert!(r.get("bids").is_none(), "sealed bids are not open data before the opening: {r:#}");

    // Opened: bids from the record, statistics per lot.
    let (tender, _) = honest_opening(&app).await;
    let pkg = app.get_ok(&format!("/api/v1/tenders/{tender}/ocds")).await;
    assert_eq!(problems(&pkg), Vec::<String>::new(), "{pkg:#}");
    let r = &pkg["releases"][0];
    assert_eq!(r["tender"]["status"], "complete");
    let record = app.get_ok(&format!("/api/v1/tenders/{tender}/record")).await;
    let rows = record["rows"].as_array().expect("rows");
    let details = r["bids"]["details"].as_array().expect("details");
    for row in rows {
        let d = details.iter().find(|d| d["id"] == row["bid_id"]).unwrap_or_else(|| panic!("no detail for {row}"));
        assert_eq!(d["status"], "valid");
        assert_eq!(d["tenderers"][0]["name"], row["bidder"]["name"]);
        let price: f64 = row["fields"]["price"].as_str().expect("price").parse().expect("number");
        assert_eq!(d["value"]["amount"].as_f64(), Some(price));
    }
    assert_eq!(details.iter().filter(|d| d["status"] == "withdrawn").count(), 1, "Gamma withdrew: {details:#?}");
    let stat =
        |m: &str| r["bids"]["statistics"].as_array().expect("statistics").iter().find(|s| s["measure"] == m).cloned();
    assert_eq!(stat("bids").map(|s| s["value"].clone()), Some(json!(rows.len())));
    assert_eq!(stat("validBids").map(|s| s["value"].clone()), Some(json!(rows.len())));
    assert_eq!(stat("lowestValidBidValue").map(|s| s["value"].clone()), Some(json!(90.5)));
    assert_eq!(stat("highestValidBidValue").map(|s| s["value"].clone()), Some(json!(110.0)));

    // The harvest feed: every public tender, paged, never a draft.
    let all = app.get_ok("/api/v1/ocds/releases").await;
    assert_eq!(problems(&all), Vec::<String>::new());
    let ocids: Vec<String> =
        all["releases"].as_array().expect("releases").iter().map(|r| r["ocid"].to_string()).collect();
    assert_eq!(ocids.len(), 2, "{ocids:?}");
    assert!(!ocids.iter().any(|o| o.contains(&draft)));
    let first = app.get_ok("/api/v1/ocds/releases?limit=1").await;
    assert_eq!(first["releases"].as_array().map(Vec::len), Some(1));
    let next = first["links"]["next"].as_str().expect("a next page");
    let path = &next[next.find("/api/").expect("path")..];
    let second = app.get_ok(path).await;
    assert_eq!(second["releases"].as_array().map(Vec::len), Some(1));
    assert_ne!(first["releases"][0]["ocid"], second["releases"][0]["ocid"]);
    let newest =
        all["releases"].as_array().expect("releases").iter().filter_map(|r| r["date"].as_str()).max().expect("dates");
    let after = app.get_ok(&format!("/api/v1/ocds/releases?since={}", newest.replace('+', "%2B"))).await;
    assert_eq!(after["releases"], json!([]), "nothing dated after the newest release");
    let (s, v) = app.get("/api/v1/ocds/releases?since=yesterday").await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("since")), "{v}");
    let (s, _) = app.get("/api/v1/ocds/releases?limit=101").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

crate::on_both_backends!(ocds_packages_validate_and_follow_the_record);
