//! Test harness: a real server on port 0 with a fresh database (SQLite in a
//! temporary directory, or a fresh PostgreSQL schema), driven over HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use bidroom::app::App;
use bidroom::config::ServeConfig;
use futures_util::FutureExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { url: String, schema: String },
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub backend: Backend,
    tweak: Tweak,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Adjusts a test server's configuration (e.g. tighter live-room limits).
pub type Tweak = fn(&mut ServeConfig);

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

impl TestApp {
    fn config(&self) -> ServeConfig {
        let mut cfg = config_for(self.data_dir.path(), &self.backend);
        (self.tweak)(&mut cfg);
        cfg
    }

    /// Starts a server on `data_dir` and `backend`.
    async fn start(data_dir: tempfile::TempDir, backend: Backend, tweak: Tweak) -> TestApp {
        let mut cfg = config_for(data_dir.path(), &backend);
        tweak(&mut cfg);
        let (addr, shutdown, handle) = launch(&cfg).await;
        TestApp {
            addr,
            base: format!("http://{addr}"),
            admin_token: ADMIN_TOKEN.to_string(),
            client: reqwest::Client::new(),
            data_dir,
            backend,
            tweak,
            shutdown,
            handle: Some(handle),
        }
    }

    /// Stops the server (graceful shutdown) and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.expect("server task panicked").expect("server failed");
        }
    }

    /// Starts again after [`stop`](Self::stop).
    pub async fn start_again(&mut self) {
        let (addr, shutdown, handle) = launch(&self.config()).await;
        // A fresh client: the new server may get the old one's port, and a
        // pooled connection to the stopped server would then be reused.
        self.client = reqwest::Client::new();
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.shutdown = shutdown;
        self.handle = Some(handle);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a JSON request with an optional bearer token; returns status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request failed");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.admin_token), body).await
    }

    /// Creates a staff account with `role`; returns its token.
    pub async fn staff(&self, role: &str) -> String {
        let (s, v) = self
            .admin(
                Method::POST,
                "/api/v1/staff",
                Some(&serde_json::json!({"name": format!("{role} user"), "role": role})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().expect("token").to_string()
    }
}

fn config_for(dir: &std::path::Path, backend: &Backend) -> ServeConfig {
    let mut cfg = ServeConfig::for_data_dir(dir.to_path_buf());
    cfg.admin_token = Some(ADMIN_TOKEN.to_string());
    if let Backend::Postgres { url, schema } = backend {
        cfg.database_url = Some(url.clone());
        cfg.database_schema = Some(schema.clone());
    }
    cfg
}

async fn launch(cfg: &ServeConfig) -> (SocketAddr, CancellationToken, JoinHandle<anyhow::Result<()>>) {
    let app = App::build(cfg).await.expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(app.serve(listener, shutdown.clone()));
    (addr, shutdown, handle)
}

/// Runs a test on a fresh SQLite database.
pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    run_sqlite_with(|_| {}, test).await
}

/// [`run_sqlite`] with an adjusted configuration.
pub async fn run_sqlite_with<F, Fut>(tweak: Tweak, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let app = TestApp::start(dir, Backend::Sqlite, tweak).await;
    test(app).await;
}

/// The PostgreSQL server for tests, if the run asks for one.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

/// Runs a test in a fresh PostgreSQL schema, dropped afterwards. Without
/// `TEST_DATABASE_URL` the PostgreSQL variant is not run (and says so); with
/// it, an unreachable server fails the test.
pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    run_postgres_with(|_| {}, test).await
}

/// [`run_postgres`] with an adjusted configuration.
pub async fn run_postgres_with<F, Fut>(tweak: Tweak, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(url) = postgres_url() else {
        eprintln!("PostgreSQL variant not run: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.expect("create schema");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = TestApp::start(dir, Backend::Postgres { url: url.clone(), schema: schema.clone() }, tweak).await;
    let outcome = AssertUnwindSafe(test(app)).catch_unwind().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .expect("drop schema");
    admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each listed `async fn(TestApp)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run_postgres(super::$name).await
                }
            )*
        }
    };
}

/// A valid tender draft whose deadline is `secs` seconds after `now` and
/// whose opening is an hour later (tests of the opening set their own).
pub fn draft_json(now: time::OffsetDateTime, secs: i64) -> Value {
    let deadline = now + time::Duration::seconds(secs);
    let opening = deadline + time::Duration::hours(1);
    serde_json::json!({
        "title": "Road maintenance 2027",
        "reference": format!("ZB-{}", uuid::Uuid::new_v4().simple()),
        "description": "Resurfacing of municipal roads",
        "buyer": "City of Example",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "North district", "fields": [
            {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
            {"key": "days", "label": {"zh": "工期", "en": "Duration (days)"}, "type": "integer", "required": true}
        ]}],
        "deadline": rfc3339(deadline),
        "opening_at": rfc3339(opening),
    })
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("format")
}

pub fn parse_time(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().expect("time string"), &time::format_description::well_known::Rfc3339)
        .expect("rfc3339")
}

/// The server's clock.
pub async fn server_now(app: &TestApp) -> time::OffsetDateTime {
    let (_, v) = app.get("/api/v1/time").await;
    parse_time(&v["now"])
}

/// Creates and publishes a tender closing `secs` seconds from now; returns its id.
pub async fn published_tender(app: &TestApp, secs: i64) -> String {
    let now = server_now(app).await;
    let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft_json(now, secs))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

/// Polls until the tender reaches `state` or `secs` pass.
pub async fn wait_for_state(app: &TestApp, id: &str, state: &str, secs: u64) -> Value {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (_, v) = app.get(&format!("/api/v1/tenders/{id}")).await;
        if v["state"] == state {
            return v;
        }
        assert!(std::time::Instant::now() < until, "tender {id} did not reach {state} within {secs}s: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
