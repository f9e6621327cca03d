//! The server, the browser, and helpers to wait for the pages.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bidroom::app::App;
use bidroom::config::ServeConfig;
use bidroom::seal::{BidderKey, Binding, CustodianSecretKey, CustodyPolicy, b64, register_message, seal_bid};
use bidroom::store::DynStore;
use fantoccini::{Client, ClientBuilder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "browser-test-admin-token-0123456789";

/// One browser at a time: the machine is small and Chromium is heavy.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running server.
pub struct Server {
    pub base: String,
    pub data_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub store: DynStore,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Server {
    pub async fn start() -> Server {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ServeConfig::for_data_dir(data_dir.path().to_path_buf());
        cfg.admin_token = Some(ADMIN_TOKEN.to_string());
        // Open bids one by one, as a person watching would see them.
        cfg.opening_pace_ms = 300;
        let app = App::build(&cfg).await.expect("server builds");
        let store = app.state.store.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.serve(listener, shutdown.clone()));
        Server {
            base: format!("http://{addr}"),
            data_dir,
            http: reqwest::Client::new(),
            store,
            shutdown,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A JSON call; `token` defaults to none.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(Method::GET, path, None, None).await;
        assert!(s.is_success(), "GET {path}: {s} {v}");
        v
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (s, v) = self.call(method.clone(), path, Some(ADMIN_TOKEN), body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }

    pub async fn now(&self) -> time::OffsetDateTime {
        let v = self.get("/api/v1/time").await;
        time::OffsetDateTime::parse(v["now"].as_str().expect("now"), &time::format_description::well_known::Rfc3339)
            .expect("rfc3339")
    }

    /// Registers a custodian with a fresh key; returns the key.
    pub async fn custodian(&self, id: &str, name: &str) -> CustodianSecretKey {
        let key = CustodianSecretKey::generate().expect("key");
        let body = json!({"id": id, "name": name, "public_key": b64(key.public_key().as_bytes())});
        self.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
        key
    }

    /// Gives a custodian a release token (staff hand these out; no API yet).
    pub async fn release_token(&self, custodian: &str) -> String {
        let token = format!("release-{custodian}-{}", uuid::Uuid::new_v4().simple());
        self.store
            .set_custodian_token(custodian, &bidroom::http::auth::token_hash(&token))
            .await
            .expect("set custodian token");
        token
    }

    /// Submits a bid sealed by the Rust code (as the CLI would); returns the bidder's key.
    pub async fn rust_bid(&self, id: &str, name: &str, form: &str) -> BidderKey {
        let key = self.bidder(name).await;
        let custody: CustodyPolicy =
            serde_json::from_value(self.get(&format!("/api/v1/tenders/{id}/custody")).await).expect("policy");
        let tender_id: uuid::Uuid = id.parse().expect("uuid");
        let sealed = seal_bid(
            Binding::new(tender_id, uuid::Uuid::new_v4()),
            "1",
            form.as_bytes(),
            &custody,
            &key,
            time::OffsetDateTime::now_utc(),
        )
        .expect("seal");
        let form = reqwest::multipart::Form::new()
            .part("envelope", reqwest::multipart::Part::bytes(sealed.envelope.clone()))
            .part("signature", reqwest::multipart::Part::bytes(sealed.signature.to_vec()))
            .part("form", reqwest::multipart::Part::bytes(sealed.form_ciphertext.clone()));
        let resp = self
            .http
            .post(self.url(&format!("/api/v1/tenders/{id}/bids")))
            .multipart(form)
            .send()
            .await
            .expect("submit");
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap_or_default());
        key
    }

    /// The server's own custodian key, from its data directory.
    pub fn server_custodian_key(&self) -> CustodianSecretKey {
        let bytes = std::fs::read(self.data_dir.path().join("custodian-key.bin")).expect("custodian-key.bin");
        CustodianSecretKey::from_bytes(&bytes).expect("32-byte scalar")
    }

    /// A stored blob by its hex hash.
    pub fn blob(&self, hash: &str) -> Vec<u8> {
        std::fs::read(self.data_dir.path().join("blobs").join(&hash[..2]).join(hash)).expect("blob file")
    }

    /// Creates and publishes a tender; `deadline_secs` from now on the server clock.
    pub async fn tender(&self, title: &str, deadline_secs: i64, custody: Option<Value>) -> Value {
        let now = self.now().await;
        let deadline = now + time::Duration::seconds(deadline_secs);
        let mut draft = json!({
            "title": title,
            "reference": format!("ZB-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            "description": "Resurfacing of municipal roads",
            "buyer": "City of Example",
            "currency": "CNY",
            "lots": [{"id": "1", "title": "North district", "fields": [
                {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
                {"key": "days", "label": {"zh": "工期", "en": "Duration (days)"}, "type": "integer", "required": true}
            ]}],
            "deadline": deadline.format(&time::format_description::well_known::Rfc3339).expect("format"),
        });
        if let Some(c) = custody {
            draft["custody"] = c;
        }
        let created = self.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
        let id = created["id"].as_str().expect("id").to_string();
        self.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await
    }

    /// Registers a bidder identity made in Rust.
    pub async fn bidder(&self, name: &str) -> BidderKey {
        let key = BidderKey::generate().expect("key");
        let pk = key.public_key();
        let proof = key.sign(&register_message(pk.as_bytes())).expect("sign");
        let body = json!({"name": name, "public_key": b64(pk.as_bytes()), "proof": b64(&proof)});
        let (s, v) = self.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
        assert!(s.is_success(), "{v}");
        key
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server");
        }
    }
}

/// Chromium under chromedriver, with a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _lock: tokio::sync::MutexGuard<'static, ()>,
    name: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Where screenshots go: `<target>/test-output/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(Path::new(".")).join("test-output").join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Browser {
    /// Starts a browser. Without Chromium or chromedriver the test fails:
    /// a skipped browser test would pass without testing anything.
    pub async fn start(name: &str, lang: &str) -> Browser {
        let lock = BROWSER_LOCK.lock().await;
        let chromium = find_program("BIDROOM_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
        let driver = find_program("BIDROOM_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            panic!(
                "browser test {name}: Chromium or chromedriver not found \
                 (apt-get install chromium chromium-driver, or set BIDROOM_CHROMIUM / BIDROOM_CHROMEDRIVER)"
            );
        };
        let port = free_port();
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,1000", format!("--lang={lang}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {"intl.accept_languages": lang},
            }
        });
        let caps = caps.as_object().expect("object").clone();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::native().capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("chromedriver at {url} did not start a session: {e}");
                }
            }
        };
        Browser { client, driver: child, _profile: profile, _lock: lock, name: name.to_string() }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    /// Evaluates `script` (a function body) with `args`.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async function body; its result is what it returns (errors become `{error}`).
    pub async fn js_async(&self, body: &str, args: Vec<Value>) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; const args = Array.from(arguments).slice(0, -1);\n\
             (async () => {{ {body} }})().then(done, (e) => done({{error: String(e && e.stack || e)}}));"
        );
        self.client.execute_async(&script, args).await.unwrap_or_else(|e| panic!("async script failed: {e}"))
    }

    /// Waits until the expression is truthy; returns its value. Fails with the page text.
    pub async fn wait_for(&self, expr: &str, secs: u64) -> Value {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.js(&format!("try {{ return ({expr}); }} catch (e) {{ return null; }}"), vec![]).await;
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > until {
                let text = self.js("return document.body.innerText", vec![]).await;
                self.screenshot("timeout").await;
                panic!("timed out after {secs}s waiting for `{expr}`; page says:\n{}", text.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the element `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        let e = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        let v = self
            .js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", vec![json!(css)])
            .await;
        v.as_str().unwrap_or_else(|| panic!("no element {css}")).to_string()
    }

    /// Saves a screenshot as `<test name>-<label>.png`.
    pub async fn screenshot(&self, label: &str) {
        match self.client.screenshot().await {
            Ok(png) => {
                let path = screenshot_dir().join(format!("{}-{label}.png", self.name));
                std::fs::write(&path, png).expect("write screenshot");
            }
            Err(e) => eprintln!("screenshot {label} failed: {e}"),
        }
    }

    /// Screenshot at phone size (390×844), then back.
    pub async fn phone_screenshot(&self, label: &str) {
        self.client.set_window_size(390, 844).await.expect("resize");
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.screenshot(&format!("{label}-phone")).await;
        self.client.set_window_size(1280, 1000).await.expect("resize");
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
    }
}
