use crate::common::TestApp;
use reqwest::StatusCode;

async fn health_ready_and_openapi(app: TestApp) {
    let (s, v) = app.get("/healthz").await;
    assert_eq!((s, v.as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = app.get("/readyz").await;
    assert_eq!((s, v.as_str()), (StatusCode::OK, Some("ready")));
    let (s, v) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["openapi"].as_str().unwrap().starts_with('3'), "{v}");
    for path in ["/api/v1/tenders", "/api/v1/tenders/{id}/publish", "/api/v1/tenders/{id}/events"] {
        assert!(v["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}

async fn request_ids_are_returned(app: TestApp) {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = resp.headers().get("x-request-id").expect("x-request-id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let resp = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
}

async fn server_time_is_close_to_ours(app: TestApp) {
    let (s, v) = app.get("/api/v1/time").await;
    assert_eq!(s, StatusCode::OK);
    let server = crate::common::parse_time(&v["now"]);
    let skew = (time::OffsetDateTime::now_utc() - server).abs();
    assert!(skew < time::Duration::seconds(5), "skew {skew}");
    assert!(v["unix_ms"].as_i64().unwrap() > 1_700_000_000_000);
}

crate::on_both_backends!(health_ready_and_openapi, request_ids_are_returned, server_time_is_close_to_ours);
