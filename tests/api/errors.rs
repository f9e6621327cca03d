use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, draft_json, published_tender, rfc3339, server_now};

async fn count_tenders(app: &TestApp) -> usize {
    let (_, v) = app.admin(Method::GET, "/api/v1/tenders?limit=200", None).await;
    v["items"].as_array().unwrap().len()
}

async fn raw(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn bad_input_gets_clear_errors_and_changes_nothing(app: TestApp) {
    let now = server_now(&app).await;
    let before = count_tenders(&app).await;

    let (s, v) = raw(&app, "/api/v1/tenders", "application/json", b"{\"title\": ".to_vec()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{v}");
    let (s, v) = raw(&app, "/api/v1/tenders", "text/plain", b"{}".to_vec()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));

    let mut unknown = draft_json(now, 3600);
    unknown["colour"] = json!("red");
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&unknown)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("colour"));

    let mut missing = draft_json(now, 3600);
    missing.as_object_mut().unwrap().remove("buyer");
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&missing)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_field")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("buyer"));

    let mut past = draft_json(now, -60);
    past["opening_at"] = past["deadline"].clone();
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&past)).await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("time_in_past"), Some("deadline")),
        "{v}"
    );

    let mut early = draft_json(now, 3600);
    early["opening_at"] = json!(rfc3339(now + time::Duration::seconds(60)));
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&early)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("opening_before_deadline")), "{v}");

    let mut bad_field = draft_json(now, 3600);
    bad_field["lots"][0]["fields"][0]["type"] = json!("colour");
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&bad_field)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{v}");

    let mut bad_policy = draft_json(now, 3600);
    bad_policy["custody"] = json!({"threshold": 3, "custodians": ["server", "notary"]});
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&bad_policy)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("custody.threshold")), "{v}");

    // An oversized body is refused from its declared length, before it is
    // read; a raw socket makes the exchange deterministic.
    let answer = raw_http(
        &app,
        &format!(
            "POST /api/v1/tenders HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{{",
            app.admin_token,
            4 * 1024 * 1024
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");

    assert_eq!(count_tenders(&app).await, before, "failed requests created nothing");
}

async fn wrong_state_and_unknown_ids(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let now = server_now(&app).await;
    let (s, v) = app.admin(Method::PUT, &format!("/api/v1/tenders/{id}"), Some(&draft_json(now, 7200))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("transition_not_allowed")), "{v}");
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("transition_not_allowed")));
    let (s, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{id}/amend"), Some(&json!({"reason": "no change"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{v}");
    let (s, v) = app
        .admin(
            Method::POST,
            &format!("/api/v1/tenders/{id}/amend"),
            Some(&json!({"deadline": rfc3339(now - time::Duration::hours(1)), "reason": "x"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("time_in_past")));
    let (_, events) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    assert_eq!(events["last_seq"], 1, "refused changes leave no event: {events}");

    let unknown = uuid::Uuid::new_v4();
    let (s, v) = app.get(&format!("/api/v1/tenders/{unknown}")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{unknown}/publish"), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (s, v) = app.get("/api/v1/tenders/not-a-uuid").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
    let (s, v) = app.get("/api/v1/tenders?limit=0").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    let (s, v) = app.get("/api/v1/tenders?state=sideways").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let (s, v) = app.get("/api/v1/nothing-here").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

crate::on_both_backends!(bad_input_gets_clear_errors_and_changes_nothing, wrong_state_and_unknown_ids);

async fn raw_http(app: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}
