use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, draft_json, published_tender, server_now};

async fn staff_tokens_and_roles(app: TestApp) {
    let now = server_now(&app).await;
    let draft = draft_json(now, 3600);
    // No token, malformed header, unknown token.
    let (s, v) = app.call(Method::POST, "/api/v1/tenders", None, Some(&draft)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let (s, v) = app.call(Method::POST, "/api/v1/tenders", Some("not-a-real-token"), Some(&draft)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let resp =
        app.client.get(app.url("/api/v1/staff/me")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let officer = app.staff("officer").await;
    let supervisor = app.staff("supervisor").await;
    let evaluator = app.staff("evaluator").await;
    let (s, v) = app.call(Method::GET, "/api/v1/staff/me", Some(&officer), None).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("officer")));

    // Only managers change tenders.
    for token in [&supervisor, &evaluator] {
        let (s, v) = app.call(Method::POST, "/api/v1/tenders", Some(token), Some(&draft)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    }
    let (s, v) = app.call(Method::POST, "/api/v1/tenders", Some(&officer), Some(&draft)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap();
    // Supervisors read drafts but cannot publish them.
    let (s, _) = app.call(Method::GET, &format!("/api/v1/tenders/{id}"), Some(&supervisor), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call(Method::POST, &format!("/api/v1/tenders/{id}/publish"), Some(&supervisor), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, t) = app.call(Method::GET, &format!("/api/v1/tenders/{id}"), Some(&officer), None).await;
    assert_eq!(t["state"], "draft", "a refused publish changes nothing");

    // Only admins manage staff; the token is never listed.
    let (s, _) =
        app.call(Method::POST, "/api/v1/staff", Some(&officer), Some(&json!({"name": "x", "role": "admin"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(Method::GET, "/api/v1/staff", Some(&officer), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.admin(Method::GET, "/api/v1/staff", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert!(!v.to_string().contains(&officer));
    let (s, v) = app.admin(Method::POST, "/api/v1/staff", Some(&json!({"name": "x", "role": "king"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
}

async fn public_reads_need_no_token_but_writes_do(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    for path in ["/api/v1/tenders".to_string(), format!("/api/v1/tenders/{id}"), format!("/api/v1/tenders/{id}/events")]
    {
        assert_eq!(app.get(&path).await.0, StatusCode::OK, "{path}");
    }
    let (s, _) =
        app.call(Method::POST, &format!("/api/v1/tenders/{id}/cancel"), None, Some(&json!({"reason": "x"}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get("/api/v1/tenders?state=draft").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn admin_token_from_env_and_first_start(app: TestApp) {
    // The harness sets BIDROOM_ADMIN_TOKEN's equivalent; it works.
    let (s, v) = app.admin(Method::GET, "/api/v1/staff/me", None).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("admin")));
    // A first start without it generates a token once, then never again.
    if matches!(app.backend, crate::common::Backend::Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = bidroom::config::ServeConfig::for_data_dir(dir.path().to_path_buf());
        let first = bidroom::launch::App::build(&cfg).await.unwrap();
        let token = first.new_admin_token.clone().expect("first start prints a token");
        assert!(token.starts_with("brs_") && token.len() > 40);
        let hash = bidroom::http::auth::token_hash(&token);
        assert_eq!(
            first.state.store.staff_by_token_hash(&hash).await.unwrap().unwrap().role,
            bidroom::domain::Role::Admin
        );
        drop(first);
        let second = bidroom::launch::App::build(&cfg).await.unwrap();
        assert!(second.new_admin_token.is_none());
        let db = std::fs::read(dir.path().join("bidroom.db")).unwrap();
        assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()), "token stored in clear");
    }
}

crate::on_both_backends!(
    staff_tokens_and_roles,
    public_reads_need_no_token_but_writes_do,
    admin_token_from_env_and_first_start
);
