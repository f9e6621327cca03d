//! JSON over HTTP to a test server.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::server::TestApp;

/// Sends a JSON request to `url` with an optional bearer token; returns the
/// status and the body (JSON, or the text as a JSON string).
pub async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(method.clone(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: request failed: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_else(|e| panic!("{method} {url}: body: {e}"));
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

impl TestApp {
    /// Sends a JSON request with an optional bearer token; returns status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        call(&self.client, method, &self.url(path), token, body).await
    }

    /// An anonymous GET.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, None).await
    }

    /// A request with the admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.admin_token), body).await
    }

    /// An anonymous GET that must succeed; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (s, v) = self.get(path).await;
        assert!(s.is_success(), "GET {path}: {s} {v}");
        v
    }

    /// An admin request that must succeed; returns the body.
    pub async fn admin_ok(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (s, v) = self.admin(method.clone(), path, body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }

    /// Creates a staff account with `role`; returns its token.
    pub async fn staff(&self, role: &str) -> String {
        let body = json!({"name": format!("{role} user"), "role": role});
        let (s, v) = self.admin(Method::POST, "/api/v1/staff", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().expect("token").to_string()
    }
}
