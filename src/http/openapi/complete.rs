//! What the handlers' annotations leave implicit, made explicit in the
//! document: every `{name}` of a path as an `in: path` parameter, the
//! security schemes, an error answer with the error schema on every
//! operation, and operation ids unique across the document (OpenAPI
//! requires it; several handlers share a function name).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Completes `doc` (an OpenAPI 3.1 document as JSON) in place.
pub(super) fn complete(doc: &mut Value) {
    security_schemes(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            path_parameters(path, op);
            // A HEAD answer has no body to describe.
            if method == "head" {
                head_errors(op);
            } else {
                error_responses(op);
            }
            describe_responses(op);
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or(method).to_owned();
            *ids.entry(id).or_default() += 1;
        }
    }
    // A second pass renames the ids used more than once: `create` becomes
    // `post_tenders_id_uploads`, derived from the method and the path.
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or(method).to_owned();
            if ids.get(&id).copied().unwrap_or(0) > 1 {
                op.insert("operationId".into(), Value::String(operation_id(method, path)));
            }
        }
    }
}

/// `post` + `/api/v1/tenders/{id}/uploads` → `post_tenders_id_uploads`.
fn operation_id(method: &str, path: &str) -> String {
    let rest = path.strip_prefix("/api/v1").unwrap_or(path);
    let words: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').replace(['.', '-'], "_"))
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// The two bearer schemes the annotations name.
fn security_schemes(doc: &mut Value) {
    let Some(root) = doc.as_object_mut() else { return };
    let components = root.entry("components").or_insert_with(|| json!({}));
    let Some(components) = components.as_object_mut() else { return };
    let schemes = components.entry("securitySchemes").or_insert_with(|| json!({}));
    let Some(schemes) = schemes.as_object_mut() else { return };
    schemes.insert(
        "staff".into(),
        json!({"type": "http", "scheme": "bearer",
               "description": "A staff account's session token (`bidroom staff` prints it), as `Authorization: Bearer <token>`."}),
    );
    schemes.insert(
        "custodian".into(),
        json!({"type": "http", "scheme": "bearer",
               "description": "A custodian's release token (answered at registration or by `POST /api/v1/custodians/{id}/token`), as `Authorization: Bearer <token>`; never in the body or the URL."}),
    );
}

/// The schema of a path parameter, by the name the router gives it.
fn path_schema(name: &str) -> Value {
    match name {
        "id" | "bid" | "upload" => json!({"type": "string", "format": "uuid"}),
        "part" | "index" => json!({"type": "integer", "minimum": 0}),
        _ => json!({"type": "string"}),
    }
}

/// Declares every `{name}` of `path` as a required `in: path` parameter,
/// unless the annotation already does.
fn path_parameters(path: &str, op: &mut Map<String, Value>) {
    let names: Vec<&str> =
        path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
    if names.is_empty() {
        return;
    }
    let params = op.entry("parameters").or_insert_with(|| json!([]));
    let Some(params) = params.as_array_mut() else { return };
    for name in names {
        let declared = params.iter().any(|p| p["in"] == "path" && p["name"] == name);
        if !declared {
            params.push(json!({"name": name, "in": "path", "required": true, "schema": path_schema(name)}));
        }
    }
}

/// A HEAD answer has no body: its errors are a status alone.
fn head_errors(op: &mut Map<String, Value>) {
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    if let Some(responses) = responses.as_object_mut() {
        responses.entry("default").or_insert_with(|| json!({"description": "an error: the status alone (no body)"}));
    }
}

/// OpenAPI requires a description on every answer: the status's reason
/// phrase where the annotation gives none.
fn describe_responses(op: &mut Map<String, Value>) {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
    for (status, r) in responses.iter_mut() {
        let Some(r) = r.as_object_mut() else { continue };
        if !r.contains_key("description") {
            let reason = status.parse::<u16>().ok().and_then(|s| axum::http::StatusCode::from_u16(s).ok());
            let text = reason.and_then(|s| s.canonical_reason()).unwrap_or("answer");
            r.insert("description".into(), Value::String(text.into()));
        }
    }
}

/// Error answers carry the error body: a `default` answer for the codes an
/// operation does not list, and the body on listed 4xx/5xx without one.
fn error_responses(op: &mut Map<String, Value>) {
    let body = json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for (status, r) in responses.iter_mut() {
        let error = status.starts_with('4') || status.starts_with('5');
        let Some(r) = r.as_object_mut() else { continue };
        if error && !r.contains_key("content") {
            r.insert("content".into(), body.clone());
        }
    }
    responses.entry("default").or_insert_with(|| {
        json!({"description": "an error: the status and its `code` are listed in docs/PROTOCOL.md", "content": body})
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_declared_once() {
        let mut doc = json!({"paths": {"/api/v1/tenders/{id}/bids/{bid}": {"get": {"operationId": "a", "responses": {"404": {"description": "x"}}},
                                                                           "post": {"operationId": "a", "responses": {}}}}});
        complete(&mut doc);
        let get = &doc["paths"]["/api/v1/tenders/{id}/bids/{bid}"]["get"];
        let params = get["parameters"].as_array().cloned().unwrap_or_default();
        assert_eq!(params.len(), 2);
        assert_eq!(params[1]["name"], "bid");
        assert_eq!(params[1]["in"], "path");
        assert_eq!(get["operationId"], "get_tenders_id_bids_bid");
        assert_eq!(
            get["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(get["responses"]["default"].is_object());
        assert_eq!(doc["components"]["securitySchemes"]["custodian"]["scheme"], "bearer");
        complete(&mut doc);
        let again = doc["paths"]["/api/v1/tenders/{id}/bids/{bid}"]["get"]["parameters"].as_array().map(Vec::len);
        assert_eq!(again, Some(2));
    }
}
