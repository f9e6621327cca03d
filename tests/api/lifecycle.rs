use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Draft, TestApp, parse_time, published_tender, rfc3339};

async fn create_edit_publish_amend_cancel_with_public_history(app: TestApp) {
    let officer = app.staff("officer").await;
    let mut draft = Draft::on(&app, 3600).await.opening_at_deadline().json();
    let (s, v) = app.call(Method::POST, "/api/v1/tenders", Some(&officer), Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["state"], "draft");
    assert_eq!(v["opening_at"], v["deadline"], "opening defaults to the deadline");
    assert_eq!(v["custody"]["threshold"], 1);

    // Drafts are invisible to the public, visible to staff.
    assert_eq!(app.get(&format!("/api/v1/tenders/{id}")).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/v1/tenders").await;
    assert!(list["items"].as_array().unwrap().iter().all(|t| t["id"] != id.as_str()));
    let (s, _) = app.call(Method::GET, &format!("/api/v1/tenders/{id}"), Some(&officer), None).await;
    assert_eq!(s, StatusCode::OK);

    draft["title"] = json!("Road maintenance 2027 (revised)");
    let (s, v) = app.call(Method::PUT, &format!("/api/v1/tenders/{id}"), Some(&officer), Some(&draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["title"], "Road maintenance 2027 (revised)");

    let (s, v) = app.call(Method::POST, &format!("/api/v1/tenders/{id}/publish"), Some(&officer), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "published");
    assert_eq!(v["last_seq"], 1);

    let (s, v) = app.get(&format!("/api/v1/tenders/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["title"], "Road maintenance 2027 (revised)");
    let (_, list) = app.get("/api/v1/tenders?state=published").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["title"].is_string() && t["state"] == "published")
    );

    let new_deadline = parse_time(&v["deadline"]) + time::Duration::hours(24);
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/tenders/{id}/amend"),
            Some(&officer),
            Some(&json!({"deadline": rfc3339(new_deadline), "reason": "Clarification No. 1 issued"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(parse_time(&v["deadline"]), new_deadline);
    assert_eq!(parse_time(&v["opening_at"]), new_deadline);

    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/tenders/{id}/cancel"),
            Some(&officer),
            Some(&json!({"reason": "Budget withdrawn"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "cancelled");

    let (s, v) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    assert_eq!(s, StatusCode::OK);
    let events = v["events"].as_array().unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["tender.published", "tender.amended", "tender.cancelled"]);
    let seqs: Vec<_> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(v["last_seq"], 3);
    assert_eq!(events[0]["data"]["tender"]["reference"], draft["reference"]);
    assert_eq!(events[1]["data"]["reason"], "Clarification No. 1 issued");
    assert_eq!(events[2]["data"]["reason"], "Budget withdrawn");
    let mut log_indices: Vec<_> = events.iter().map(|e| e["log_index"].as_i64().unwrap()).collect();
    assert!(log_indices.windows(2).all(|w| w[0] < w[1]), "{log_indices:?}");
    log_indices.dedup();
    assert_eq!(log_indices.len(), 3);
    assert!(events.iter().all(|e| e["leaf_hash"].as_str().unwrap().len() == 64));

    let (_, v) = app.get(&format!("/api/v1/tenders/{id}/events?after=1")).await;
    let seqs: Vec<_> = v["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [2, 3]);
    let (_, v) = app.get(&format!("/api/v1/tenders/{id}/events?after=1&limit=1")).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
}

async fn list_filters_searches_and_paginates(app: TestApp) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(published_tender(&app, 3600).await);
    }
    let (s, v) = app.get("/api/v1/tenders?limit=2").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v2) = app.get("/api/v1/tenders?limit=2&offset=2").await;
    assert_eq!(v2["items"].as_array().unwrap().len(), 1);
    assert_eq!(v2["items"][0]["id"], ids[0].as_str(), "newest first");
    let (_, one) = app.get(&format!("/api/v1/tenders/{}", ids[1])).await;
    let reference = one["reference"].as_str().unwrap();
    let (_, found) = app.get(&format!("/api/v1/tenders?q={}", &reference[3..12])).await;
    let found: Vec<_> = found["items"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert_eq!(found, [json!(ids[1])]);
    let (_, none) = app.get("/api/v1/tenders?state=closed").await;
    assert!(none["items"].as_array().unwrap().is_empty());
}

crate::on_both_backends!(create_edit_publish_amend_cancel_with_public_history, list_filters_searches_and_paginates);
