//! Rules the store keeps on both backends: tender search looks only at the
//! title, reference and buyer, with `%` and `_` taken literally, and
//! identical bidder registrations at the same moment all succeed.

use std::sync::Arc;

use bidroom::seal::{BidderKey, b64, register_message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, draft_json, server_now};

/// Creates and publishes a tender with these title, buyer and description.
async fn tender(app: &TestApp, title: &str, buyer: &str, description: &str) -> String {
    let mut draft = draft_json(server_now(app).await, 3600);
    draft["title"] = json!(title);
    draft["buyer"] = json!(buyer);
    draft["description"] = json!(description);
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

/// The ids a search finds, sorted.
async fn search(app: &TestApp, q: &str) -> Vec<String> {
    let url = reqwest::Url::parse_with_params(&app.url("/api/v1/tenders"), &[("q", q), ("limit", "100")]).unwrap();
    let resp = app.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    let mut ids: Vec<String> =
        v["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}

async fn search_looks_at_title_reference_and_buyer_only(app: TestApp) {
    let percent = tender(&app, "Bridge repair 100% funded", "Harbour Authority", "quartzite gravel").await;
    let thousand = tender(&app, "Bridge repair 1000 m", "Harbour Authority", "plain").await;
    let underscore = tender(&app, "Lighting lot_7", "City of Example", "plain").await;
    let letter = tender(&app, "Lighting lotA7", "City of Example", "plain").await;
    let buyer = tender(&app, "Parks", "Waterworks Cooperative", "plain").await;

    // Only the description (and the lot titles and field labels every
    // tender here has) contain these: the document is not searched.
    assert!(search(&app, "quartzite").await.is_empty(), "the description is not searched");
    assert!(search(&app, "North district").await.is_empty(), "lot titles are not searched");
    assert!(search(&app, "投标报价").await.is_empty(), "field labels are not searched");
    assert!(search(&app, "\"title\"").await.is_empty(), "the JSON keys are not searched");

    // Title, reference and buyer are, case-insensitively.
    assert_eq!(search(&app, "bridge REPAIR").await, sorted(&[&percent, &thousand]));
    assert_eq!(search(&app, "waterworks").await, sorted(&[&buyer]));
    let (_, one) = app.get(&format!("/api/v1/tenders/{underscore}")).await;
    let reference = one["reference"].as_str().unwrap().to_string();
    assert_eq!(search(&app, &reference).await, sorted(&[&underscore]));

    // `%` and `_` match only themselves.
    assert_eq!(search(&app, "100%").await, sorted(&[&percent]), "% is literal");
    assert_eq!(search(&app, "lot_7").await, sorted(&[&underscore]), "_ is literal");
    assert_eq!(search(&app, "lotA7").await, sorted(&[&letter]));
    assert_eq!(search(&app, "%").await, sorted(&[&percent]), "a lone % matches only a literal %");
    assert!(search(&app, "\\").await.is_empty(), "the escape character is literal too");
}

/// 20 identical registrations at once, for each of several keys (one burst
/// rarely hits the moment two transactions both find no row yet).
async fn identical_registrations_at_the_same_moment_all_succeed(app: TestApp) {
    let app = Arc::new(app);
    for round in 0..8 {
        let key = BidderKey::generate().unwrap();
        let pk = key.public_key();
        let proof = key.sign(&register_message(pk.as_bytes())).unwrap();
        let name = format!("Concurrent {round} Ltd");
        let body = json!({"name": name, "public_key": b64(pk.as_bytes()), "proof": b64(&proof)});
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (app, body) = (app.clone(), body.clone());
                tokio::spawn(async move { app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            let (s, v) = t.await.unwrap();
            assert!(s == StatusCode::CREATED || s == StatusCode::OK, "round {round}: {s}: {v}");
            assert_eq!(v["id"], pk.key_id(), "{v}");
            created += usize::from(s == StatusCode::CREATED);
        }
        assert_eq!(created, 1, "exactly one registration creates the bidder");
        let (s, v) = app.get(&format!("/api/v1/bidders/{}", pk.key_id())).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["name"], name);
    }
}

crate::on_both_backends!(
    search_looks_at_title_reference_and_buyer_only,
    identical_registrations_at_the_same_moment_all_succeed,
);
