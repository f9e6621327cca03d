//! The browser, the server it talks to, and helpers to wait for the pages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bidroom::seal::{BidderKey, CustodianSecretKey};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::support::bids;
use crate::support::drafts::{Draft, server_now};
pub use crate::support::server::ADMIN_TOKEN;
/// The server the browser tests run against: the shared test server.
pub use crate::support::server::TestApp as Server;

/// A host name the browser resolves to the test server: an origin that is
/// neither HTTPS nor localhost, hence not secure.
pub const INSECURE_HOST: &str = "bidroom-insecure.test";

/// One browser at a time: the machine is small and Chromium is heavy.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Server {
    /// A server on a fresh SQLite database that opens bids one by one, as
    /// a person watching would see them.
    pub async fn for_browser() -> Server {
        Server::sqlite(|cfg| cfg.opening_pace_ms = 300).await
    }

    /// The server's clock.
    pub async fn now(&self) -> time::OffsetDateTime {
        server_now(self).await
    }

    /// Registers a custodian with a fresh key; returns the key.
    pub async fn custodian(&self, id: &str, name: &str) -> CustodianSecretKey {
        bids::custodian(self, id, name).await
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
        let key = bids::register(self, name).await;
        let form: Value = serde_json::from_str(form).expect("form json");
        let sealed = bids::seal_form(self, id, &key, &form, &[]).await;
        let (s, v) = bids::submit(self, id, &sealed).await;
        assert!(s.is_success(), "{s} {v}");
        key
    }

    /// The server's own custodian key, from its data directory.
    pub fn server_custodian_key(&self) -> CustodianSecretKey {
        bids::server_custodian_key(self)
    }

    /// A stored blob by its hex hash.
    pub fn blob(&self, hash: &str) -> Vec<u8> {
        bids::blob(self, hash)
    }

    /// Creates and publishes a tender opening at its deadline,
    /// `deadline_secs` from now on the server clock; returns it.
    pub async fn tender(&self, title: &str, deadline_secs: i64, custody: Option<Value>) -> Value {
        let mut draft = Draft::on(self, deadline_secs).await.title(title).opening_at_deadline();
        if let Some(c) = custody {
            draft = draft.custody(c);
        }
        draft.publish(self).await
    }

    /// A tender of two lots whose fields are declared out of alphabetical
    /// order, closing in `secs` seconds and opening at once.
    pub async fn two_lot_tender(&self, secs: i64) -> String {
        let mut draft = Draft::on(self, secs).await.title("Harbour dredging").opening_at_deadline().json();
        draft["lots"] = json!([
            {"id": "1", "title": "North basin", "fields": [
                {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
                {"key": "days", "label": {"zh": "工期（日历天）", "en": "Duration (days)"}, "type": "integer", "required": true}
            ]},
            {"id": "2", "title": "South basin", "fields": [
                {"key": "warranty", "label": {"zh": "质保期（月）", "en": "Warranty (months)"}, "type": "integer", "required": true},
                {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true}
            ]}
        ]);
        let (s, v) = self.admin(reqwest::Method::POST, "/api/v1/tenders", Some(&draft)).await;
        assert!(s.is_success(), "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        self.admin_ok(reqwest::Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
        id
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
                    // A name for the test server that is not localhost, so
                    // a page seen through it is not a secure context.
                    format!("--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"),
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

    /// All the text under `css`, also what is folded away (`<details>`).
    pub async fn all_text(&self, css: &str) -> String {
        let v = self
            .js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", vec![json!(css)])
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
        // Two animation frames: the page has laid itself out at the new size.
        self.js_async("await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));", vec![]).await;
        self.screenshot(&format!("{label}-phone")).await;
        self.client.set_window_size(1280, 1000).await.expect("resize");
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
    }
}
