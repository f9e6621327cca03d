//! The web pages: one HTML shell (`web/page.html`) that loads each page's
//! script, and the static assets (`web/assets/`), embedded in release builds
//! and read from disk in debug builds. The pages are plain ES modules that
//! talk to the JSON API; nothing here renders data.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

/// The `web/` folder.
#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Web;

/// Content-Security-Policy of every page: own origin only, no inline code,
/// no media and no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   connect-src 'self'; media-src 'none'; frame-src 'none'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The public room's policy: the same, except that the video stream staff
/// set (any https origin, changeable live) may play in `<video>` or a
/// sandboxed `<iframe>`. The pages holding keys (bidder, custodian, staff)
/// keep `'none'`.
const ROOM_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                        connect-src 'self'; media-src 'self' blob: https:; frame-src https:; object-src 'none'; \
                        base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages: each is the shell with its own script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    List,
    Staff,
    Room,
    Bid,
    Custodian,
    CustodianKey,
}

impl Page {
    #[cfg(test)]
    const ALL: [Page; 6] = [Page::List, Page::Staff, Page::Room, Page::Bid, Page::Custodian, Page::CustodianKey];

    /// Its script, `web/assets/js/<name>.js`.
    fn script(self) -> &'static str {
        match self {
            Page::List => "list",
            Page::Staff => "staff",
            Page::Room => "room",
            Page::Bid => "bid",
            Page::Custodian => "custodian",
            Page::CustodianKey => "custodian_key",
        }
    }

    /// Only the public room may show the staff's video stream.
    fn csp(self) -> &'static str {
        if self == Page::Room { ROOM_CSP } else { CSP }
    }
}

/// Where the shell names the page's script.
const SCRIPT_SLOT: &str = "__SCRIPT__";

/// Routes of the pages and `/assets/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|h: HeaderMap| async move { page(Page::List, &h) }))
        .route("/staff", get(|h: HeaderMap| async move { page(Page::Staff, &h) }))
        .route("/tenders/{id}", get(|h: HeaderMap| async move { page(Page::Room, &h) }))
        .route("/tenders/{id}/bid", get(|h: HeaderMap| async move { page(Page::Bid, &h) }))
        .route("/tenders/{id}/custodian", get(|h: HeaderMap| async move { page(Page::Custodian, &h) }))
        .route("/custodians/new", get(|h: HeaderMap| async move { page(Page::CustodianKey, &h) }))
        .route("/assets/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.split('/').any(|p| p.is_empty() || p.starts_with('.')) {
        return not_found();
    }
    serve(&format!("assets/{path}"), &headers)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The media type of a file of `web/`, by its extension (the same table
/// the CLI uses for bidders' documents); text is UTF-8.
fn content_type(path: &str) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let value = if mime.type_() == mime_guess::mime::TEXT {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

/// Serves one file of `web/assets/`.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Web::get(path) else {
        return not_found();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    respond(file.data.into_owned(), &etag, content_type(path), None, headers)
}

/// Serves a page: the shell with the page's script.
fn page(page: Page, headers: &HeaderMap) -> Response {
    let Some((html, etag)) = shell(page) else {
        return not_found();
    };
    respond(html.into_bytes(), &etag, content_type("page.html"), Some(page.csp()), headers)
}

/// The page's HTML and its ETag (the shell's hash and the script).
fn shell(page: Page) -> Option<(String, String)> {
    let file = Web::get("page.html")?;
    let html = String::from_utf8_lossy(&file.data).replace(SCRIPT_SLOT, page.script());
    Some((html, format!("\"{}-{}\"", hex::encode(&file.metadata.sha256_hash()[..12]), page.script())))
}

/// The answer with an ETag, revalidated on every use so a new release is
/// picked up at once.
fn respond(body: Vec<u8>, etag: &str, kind: HeaderValue, csp: Option<&'static str>, headers: &HeaderMap) -> Response {
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == etag);
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, kind);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if let Some(csp) = csp {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_its_scripts_exist() {
        let file = Web::get("page.html").expect("web/page.html");
        let template = String::from_utf8(file.data.into_owned()).expect("utf-8");
        assert_eq!(template.matches(SCRIPT_SLOT).count(), 1, "the shell names the script once");
        for p in Page::ALL {
            let (html, _) = shell(p).expect("the shell");
            assert!(!html.contains(SCRIPT_SLOT), "{p:?}");
            let scripts: Vec<&str> = html.split("src=\"/assets/").skip(1).filter_map(|x| x.split('"').next()).collect();
            assert_eq!(scripts, [format!("js/{}.js", p.script())], "{p:?}");
            for asset in scripts {
                assert!(Web::get(&format!("assets/{asset}")).is_some(), "{p:?} loads missing assets/{asset}");
            }
        }
    }

    #[test]
    fn only_the_room_may_show_media_and_frames() {
        for csp in [CSP, ROOM_CSP] {
            for strict in ["script-src 'self';", "connect-src 'self';", "object-src 'none';", "frame-ancestors 'none'"]
            {
                assert!(csp.contains(strict), "{csp} lacks {strict}");
            }
            assert!(!csp.contains("http:") && !csp.contains("unsafe"), "{csp}");
        }
        assert!(CSP.contains("media-src 'none'; frame-src 'none';"));
        assert!(ROOM_CSP.contains("media-src 'self' blob: https:; frame-src https:;"));
    }

    #[test]
    fn pages_and_scripts_get_their_media_types() {
        assert_eq!(content_type("page.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/app.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("assets/js/live.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("assets/unknown.bin"), "application/octet-stream");
    }

    #[test]
    fn protocol_modules_import_no_page_code() {
        let protocol: Vec<_> = Web::iter().filter(|n| n.starts_with("assets/js/protocol/")).collect();
        assert!(protocol.len() >= 8, "{protocol:?}");
        for name in protocol {
            let file = Web::get(&name).expect("listed file");
            let text = String::from_utf8_lossy(&file.data);
            assert!(!text.contains("from \"../") && !text.contains("import(\"../"), "web/{name} imports page code");
        }
    }

    #[test]
    fn no_external_resources() {
        for name in Web::iter() {
            let file = Web::get(&name).expect("listed file");
            let text = String::from_utf8_lossy(&file.data);
            for bad in ["http://", "https://", "//cdn", "@import url("] {
                assert!(!text.contains(bad), "web/{name} refers to an external resource ({bad})");
            }
        }
    }
}
