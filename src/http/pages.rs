//! The web pages: HTML shells and their static assets (`web/`), embedded in
//! release builds and read from disk in debug builds. The pages are plain ES
//! modules that talk to the JSON API; nothing here renders data.

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

/// Routes of the pages and `/assets/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|h: HeaderMap| async move { serve("index.html", &h) }))
        .route("/staff", get(|h: HeaderMap| async move { serve("staff.html", &h) }))
        .route("/tenders/{id}", get(|h: HeaderMap| async move { serve("room.html", &h) }))
        .route("/tenders/{id}/bid", get(|h: HeaderMap| async move { serve("bid.html", &h) }))
        .route("/tenders/{id}/custodian", get(|h: HeaderMap| async move { serve("custodian.html", &h) }))
        .route("/custodians/new", get(|h: HeaderMap| async move { serve("custodian-key.html", &h) }))
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

/// Serves one file of `web/` with an ETag (its SHA-256), revalidated on
/// every use so a new release is picked up at once.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Web::get(path) else {
        return not_found();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == etag);
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { file.data.into_owned().into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type(path));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if path.ends_with(".html") {
        let csp = if path == "room.html" { ROOM_CSP } else { CSP };
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_its_scripts_exist() {
        for page in ["index.html", "room.html", "bid.html", "custodian.html", "custodian-key.html", "staff.html"] {
            let html = Web::get(page).unwrap_or_else(|| panic!("web/{page} is missing"));
            let text = String::from_utf8(html.data.into_owned()).expect("utf-8");
            for part in text.split("src=\"/assets/").skip(1) {
                let asset = part.split('"').next().unwrap_or_default();
                assert!(Web::get(&format!("assets/{asset}")).is_some(), "{page} loads missing assets/{asset}");
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
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/app.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("assets/js/live.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("assets/unknown.bin"), "application/octet-stream");
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
