//! Keeps the OpenAPI document honest: every response the HTTP tests
//! receive is checked against the document the server serves. A status the
//! operation does not list, a body its schema rejects, or a route the
//! document does not know fails the test that received it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jsonschema::Validator;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tower::ServiceExt;

/// The served document and the validators compiled from it so far.
pub struct Contract {
    document: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

static CONTRACT: OnceCell<Contract> = OnceCell::const_new();

impl Contract {
    /// The document `router` serves, fetched once per test process.
    pub async fn of(router: &Router) -> &'static Contract {
        CONTRACT
            .get_or_init(|| async {
                let request = Request::get("/api/v1/openapi.json")
                    .body(Body::empty())
                    .expect("request");
                let response = router.clone().oneshot(request).await.expect("infallible");
                assert_eq!(response.status(), StatusCode::OK, "the document is served");
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                let document: Value = serde_json::from_slice(&bytes).expect("the document is JSON");
                Contract {
                    document,
                    validators: Mutex::new(HashMap::new()),
                }
            })
            .await
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Panics unless the document allows this response. `body` is `None`
    /// when the test reads the body itself (a stream).
    #[track_caller]
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) {
        let path = path.split('?').next().unwrap_or(path);
        let path = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        if path == "/docs" || path.starts_with("/docs/") {
            return; // the docs page and its assets: see `docs_page_is_served_offline`
        }
        let Some(template) = self.template_of(path) else {
            // The web pages beside the API are in no API document: they
            // answer pages and redirects (see `web.rs`). Whatever they
            // answer, it is never a server error.
            if !path.starts_with("/api/") && status != StatusCode::NOT_FOUND {
                assert!(
                    !status.is_server_error(),
                    "{method} {path} answered {status}"
                );
                return;
            }
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} is in no documented path"
            );
            return self.check_body(&component("ErrorEnvelope"), "unmatched", headers, body);
        };
        let method_name = method.as_str().to_lowercase();
        let Some(operation) = self.document["paths"][template].get(&method_name) else {
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template} is not documented, yet answered {status}"
            );
            return self.check_body(&component("ErrorEnvelope"), "405", headers, body);
        };
        let Some(response) = operation["responses"].get(status.as_str()) else {
            panic!(
                "{method} {template} answered {status}, a status the document does not list (it lists {:?})",
                operation["responses"]
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>())
            );
        };
        self.check_headers(&format!("{method} {template} {status}"), response, headers);
        let Some(contents) = response["content"].as_object() else {
            assert!(
                body.is_none_or(<[u8]>::is_empty),
                "{method} {template} {status}: undocumented body"
            );
            return;
        };
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        let Some(content) = contents.get(media_type) else {
            panic!(
                "{method} {template} {status} answered {content_type:?}, the document says {:?}",
                contents.keys().collect::<Vec<_>>()
            );
        };
        if media_type == "application/json" {
            let key = format!("{method_name} {template} {status}");
            self.check_body(&content["schema"], &key, headers, body);
        }
    }

    /// The headers of ours a client acts on are documented where they are
    /// sent; an `ETag` the document promises is sent.
    #[track_caller]
    fn check_headers(&self, key: &str, response: &Value, headers: &HeaderMap) {
        let documented = |name: &str| {
            response["headers"].as_object().is_some_and(|listed| {
                listed
                    .keys()
                    .any(|header| header.eq_ignore_ascii_case(name))
            })
        };
        for name in DOCUMENTED_HEADERS {
            if headers.contains_key(*name) {
                assert!(
                    documented(name),
                    "{key} sent {name}, which the document does not list"
                );
            }
        }
        if documented("etag") {
            assert!(
                headers.contains_key(header::ETAG),
                "{key}: the document promises an ETag"
            );
        }
    }

    fn check_body(&self, schema: &Value, key: &str, headers: &HeaderMap, body: Option<&[u8]>) {
        let Some(body) = body else { return };
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        assert!(
            content_type.is_some_and(|ct| ct.starts_with("application/json")),
            "{key}: a JSON body was documented, got {content_type:?}"
        );
        let instance: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{key}: not JSON ({e}): {}", String::from_utf8_lossy(body)));
        let validator = self.validator(key, schema);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|error| format!("{error} at '{}'", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{key}: the body breaks the document's schema: {errors:?}\nbody: {instance}"
        );
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<Validator> {
        let mut cache = self.validators.lock().expect("lock");
        cache
            .entry(key.to_owned())
            .or_insert_with(|| {
                // The schema refers to `#/components/...`: give it the
                // document's components at its root.
                let mut rooted = schema.clone();
                rooted["components"] = self.document["components"].clone();
                Arc::new(jsonschema::validator_for(&rooted).expect("a valid schema"))
            })
            .clone()
    }

    /// The documented path template that `path` falls under; a static
    /// segment beats a parameter (`/users/me` before `/users/{id}`).
    pub fn template_of(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()?
            .keys()
            .filter_map(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut statics = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') && part.ends_with('}') && !segment.is_empty() {
                        continue;
                    }
                    if part != segment {
                        return None;
                    }
                    statics += 1;
                }
                Some((statics, template.as_str()))
            })
            .max_by_key(|(statics, _)| *statics)
            .map(|(_, template)| template)
    }
}

/// Response headers a client acts on: each must be in the document
/// wherever it is sent.
const DOCUMENTED_HEADERS: &[&str] = &["etag", "idempotent-replayed"];

fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}
