//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

mod complete;

#[derive(OpenApi)]
#[openapi(
    info(title = "bidroom", description = "Verifiable digital bid-opening room"),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::log::checkpoint,
        super::log::key,
        super::log::tile,
        serve,
        super::health::time,
        super::tenders::list,
        super::tenders::create,
        super::tenders::get,
        super::tenders::edit,
        super::tenders::publish,
        super::tenders::amend,
        super::tenders::cancel,
        super::tenders::events,
        super::live::live,
        super::staff::create,
        super::staff::list,
        super::staff::me,
        super::registry::register_bidder,
        super::registry::get_bidder,
        super::registry::register_custodian,
        super::registry::list_custodians,
        super::registry::challenge,
        super::registry::rotate_token,
        super::registry::custody,
        super::registry::admit,
        super::bids::submit,
        super::bids::withdraw,
        super::bids::summary,
        super::uploads::create,
        super::uploads::status,
        super::uploads::append,
        super::uploads::part_offset,
        super::uploads::commit,
        super::log::checkpoint_json,
        super::log::inclusion,
        super::log::consistency,
        super::log::entry,
        super::opening::envelopes,
        super::opening::envelope_page,
        super::fault_shares::shares,
        super::opening::release,
        super::opening::record,
        super::export::record_csv,
        super::stream::set,
        super::stream::remove,
        super::session::get,
        super::session::control,
        // --- session (issue 12) ---
        super::objections::raise,
        super::objections::answer,
        super::objections::confirm,
        super::objections::announce,
        super::objections::final_record,
        super::questions::ask,
        super::questions::mine,
        super::questions::list,
        super::questions::answer,
        super::opening::documents,
        super::opening::document,
        super::downloads::create,
        super::downloads::follow,
        super::bidder_keys::put_decryption_key,
        super::bidder_keys::get_decryption_key,
        super::bidder_keys::release,
        super::ocds::tender,
        super::ocds::releases,
        super::evidence::bundle,
        // --- draws ---
        super::draws::get,
        super::draws::reveal,
    ),
    components(schemas(super::error::ErrorBody))
)]
struct ApiDoc;

/// The document as JSON: what the annotations generate, completed with
/// what they leave implicit (path parameters, security schemes, error
/// answers, unique operation ids).
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    complete::complete(&mut doc);
    doc
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn serve() -> Json<serde_json::Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::document;

    /// The router's source: the list of routes is read from it, so a route
    /// added there without its annotation fails the test below.
    const ROUTER: &str = include_str!("mod.rs");

    /// Every `(METHOD, path)` the router serves, from the `.route(…)` calls
    /// of `fn router`: those before `let api`'s end are under `/api/v1`.
    /// Pages (`pages::routes()`) are HTML for people, not part of the API.
    fn routes() -> BTreeSet<(String, String)> {
        let body = ROUTER.split("pub fn router(").nth(1).unwrap_or_default();
        let (api, root) = body.split_once(".fallback(").unwrap_or((body, ""));
        let mut out = BTreeSet::new();
        for (prefix, part) in [("/api/v1", api), ("", root)] {
            for call in part.split(".route(").skip(1) {
                let Some(path) = call.split('"').nth(1) else { continue };
                let expr = call_args(call);
                let path = format!("{prefix}{}", path.replace("{*", "{"));
                for method in ["get", "post", "put", "patch", "delete", "head"] {
                    let hit = expr.match_indices(&format!("{method}(")).any(|(i, _)| {
                        // `get(` as a routing function, not the end of `tenders::get(`… or a word.
                        let before = expr[..i].chars().next_back();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') || expr[..i].ends_with("routing::")
                    });
                    if hit {
                        out.insert((method.to_owned(), path.clone()));
                    }
                }
            }
        }
        out
    }

    /// The arguments of a `.route(` call: up to its closing parenthesis.
    fn call_args(call: &str) -> &str {
        let mut depth = 1;
        for (i, c) in call.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return &call[..i];
                    }
                }
                _ => {}
            }
        }
        call
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = document();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
            for (method, _) in item.as_object().cloned().unwrap_or_default() {
                out.insert((method, path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_of_the_router_is_documented() {
        let routes = routes();
        // The parser must have found the router, or the test proves nothing.
        assert!(routes.len() > 40, "only {} routes read from the router", routes.len());
        assert!(routes.contains(&("head".into(), "/api/v1/tenders/{id}/uploads/{upload}/parts/{part}".into())));
        assert!(routes.contains(&("get".into(), "/log/tile/{rest}".into())));
        let documented = documented();
        let missing: Vec<_> = routes.difference(&documented).collect();
        assert!(missing.is_empty(), "routes without an OpenAPI operation: {missing:?}");
        let stale: Vec<_> = documented.difference(&routes).collect();
        assert!(stale.is_empty(), "OpenAPI operations the router does not serve: {stale:?}");
    }

    #[test]
    fn the_document_is_complete() {
        let doc = document();
        assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
        let schemes = &doc["components"]["securitySchemes"];
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
            for (method, op) in item.as_object().cloned().unwrap_or_default() {
                let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                assert!(ids.insert(id.clone()), "operationId {id} twice");
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                for name in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
                    assert!(
                        params.iter().any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                        "{method} {path}: {{{name}}} is not an `in: path` parameter"
                    );
                }
                for p in params.iter().filter(|p| p["in"] == "path") {
                    let name = p["name"].as_str().unwrap_or_default();
                    assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: `{name}` is not in the path");
                }
                for req in op["security"].as_array().cloned().unwrap_or_default() {
                    for (scheme, _) in req.as_object().cloned().unwrap_or_default() {
                        assert!(schemes[&scheme].is_object(), "{method} {path}: security scheme {scheme} not defined");
                    }
                }
                assert!(op["responses"]["default"].is_object(), "{method} {path}: no error answer");
                if ["post", "put", "patch"].contains(&method.as_str()) && !path.ends_with("/publish") {
                    let bodiless = ["/commit", "/link"].iter().any(|s| path.ends_with(s));
                    assert!(bodiless || op["requestBody"].is_object(), "{method} {path}: no request body");
                }
            }
        }
        let submit = &doc["paths"]["/api/v1/tenders/{id}/bids"]["post"]["requestBody"]["content"];
        assert!(submit["multipart/form-data"].is_object());
    }
}
