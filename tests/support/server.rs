//! A real server on port 0 with a fresh database: SQLite in a temporary
//! directory, or a fresh PostgreSQL schema that is dropped afterwards.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use bidroom::config::ServeConfig;
use bidroom::launch::App;
use bidroom::store::DynStore;
use futures_util::FutureExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `bidroom.db` in the test's data directory.
    Sqlite,
    /// A fresh schema on the `TEST_DATABASE_URL` server.
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
    /// The server's own store, for what no API does (e.g. custodian tokens).
    pub store: DynStore,
    /// The metrics listener's address, when the tweak asked for one.
    pub metrics: Option<SocketAddr>,
    tweak: Tweak,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Adjusts a test server's configuration (e.g. tighter live-room limits).
pub type Tweak = fn(&mut ServeConfig);

/// The staff admin token every test server is started with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The reason a PostgreSQL variant is reported as ignored; `build.rs` sets
/// `cfg(bidroom_pg)` when `TEST_DATABASE_URL` is set at build time.
pub const PG_IGNORED: &str = "set TEST_DATABASE_URL to run the PostgreSQL variant";

impl TestApp {
    fn config(&self) -> ServeConfig {
        let mut cfg = config_for(self.data_dir.path(), &self.backend);
        (self.tweak)(&mut cfg);
        cfg
    }

    /// Starts a server on `data_dir` and `backend`.
    pub async fn start(data_dir: tempfile::TempDir, backend: Backend, tweak: Tweak) -> TestApp {
        let mut cfg = config_for(data_dir.path(), &backend);
        tweak(&mut cfg);
        let (addr, store, metrics, shutdown, handle) = launch(&cfg).await;
        TestApp {
            metrics,
            addr,
            base: format!("http://{addr}"),
            admin_token: ADMIN_TOKEN.to_string(),
            client: reqwest::Client::new(),
            data_dir,
            backend,
            store,
            tweak,
            shutdown,
            handle: Some(handle),
        }
    }

    /// Starts a server on a fresh SQLite database.
    pub async fn sqlite(tweak: Tweak) -> TestApp {
        TestApp::start(tempfile::tempdir().expect("tempdir"), Backend::Sqlite, tweak).await
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
        let (addr, store, metrics, shutdown, handle) = launch(&self.config()).await;
        self.metrics = metrics;
        // A fresh client: the new server may get the old one's port, and a
        // pooled connection to the stopped server would then be reused.
        self.client = reqwest::Client::new();
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.store = store;
        self.shutdown = shutdown;
        self.handle = Some(handle);
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// The configuration of a test server on `dir` and `backend`.
pub fn config_for(dir: &std::path::Path, backend: &Backend) -> ServeConfig {
    let mut cfg = ServeConfig::for_data_dir(dir.to_path_buf());
    cfg.admin_token = Some(ADMIN_TOKEN.to_string());
    if let Backend::Postgres { url, schema } = backend {
        cfg.database_url = Some(url.clone());
        cfg.database_schema = Some(schema.clone());
    }
    cfg
}

type Launched = (SocketAddr, DynStore, Option<SocketAddr>, CancellationToken, JoinHandle<anyhow::Result<()>>);

async fn launch(cfg: &ServeConfig) -> Launched {
    let app = App::build(cfg).await.expect("server builds");
    let metrics = app.metrics.as_ref().map(|l| l.local_addr().expect("metrics addr"));
    let store = app.state.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(app.serve(listener, shutdown.clone()));
    (addr, store, metrics, shutdown, handle)
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
    test(TestApp::sqlite(tweak).await).await;
}

/// The PostgreSQL server for tests, if the run asks for one.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

/// Runs a test in a fresh PostgreSQL schema, dropped afterwards. Without
/// `TEST_DATABASE_URL` the test fails (the macros below mark these variants
/// ignored unless the variable was set at build time); with it, an
/// unreachable server fails the test.
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
    // A variant that runs must test PostgreSQL: passing without a database
    // would report a test that never ran as passed.
    let Some(url) = postgres_url() else {
        panic!("PostgreSQL variant asked to run but TEST_DATABASE_URL is not set ({PG_IGNORED})");
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

/// Declares each listed `async fn(TestApp)` as a test on SQLite
/// (`sqlite::name`) and on PostgreSQL (`postgres::name`, reported ignored
/// unless `TEST_DATABASE_URL` was set at build time).
///
/// `on_both_backends!(with tweak: a, b)` runs them on servers adjusted by
/// the [`Tweak`] function `tweak`, as `tweak::sqlite::a` and so on.
#[macro_export]
macro_rules! on_both_backends {
    (with $tweak:ident: $($name:ident),* $(,)?) => {
        /// Tests on a server adjusted by the function of this name.
        mod $tweak {
            // The tests and the tweak, one level up.
            #[allow(unused_imports)]
            use super::*;
            $crate::on_both_backends!(@mods (super::$tweak) $($name),*);
        }
    };
    (@mods ($tweak:expr) $($name:ident),*) => {
        /// The SQLite variants.
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::server::run_sqlite_with($tweak, super::$name).await
                }
            )*
        }
        /// The PostgreSQL variants.
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(bidroom_pg), ignore = "set TEST_DATABASE_URL to run the PostgreSQL variant")]
                async fn $name() {
                    $crate::support::server::run_postgres_with($tweak, super::$name).await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@mods (|_| {}) $($name),*);
    };
}

/// Declares each listed `async fn(TestApp)` as a PostgreSQL-only test
/// (`postgres_only::name`), e.g. several nodes on one database; ignored
/// like the PostgreSQL variants of [`on_both_backends!`].
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        /// Tests that need PostgreSQL.
        mod postgres_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(bidroom_pg), ignore = "set TEST_DATABASE_URL to run the PostgreSQL variant")]
                async fn $name() {
                    $crate::support::server::run_postgres(super::$name).await
                }
            )*
        }
    };
}
