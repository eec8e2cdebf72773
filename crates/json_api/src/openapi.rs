//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! and the wire types, served at `/api/v1/openapi.json` and behind `/docs`.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::wire::ErrorEnvelope;
use edge::App;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Support tracker API",
        description = "Customers open tickets, support agents answer them, customers resolve them; \
            agents export a CSV of what was resolved in the last month; admins manage accounts. \
            Every answer is a JSON envelope: `error: false` with `data`, or `error: true` with \
            `message`, `code` and `requestId`."
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Logging in"),
        (name = "users", description = "Accounts"),
        (name = "tickets", description = "Support tickets"),
        (name = "replies", description = "Replies and internal notes on a ticket"),
        (name = "history", description = "What happened to a ticket, who did it and when"),
        (name = "reports", description = "Exports"),
        (name = "webhooks", description = "Signed notices of changes, sent to endpoints admins register"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// The bearer-JWT scheme that `security(("bearer" = []))` refers to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// An empty router carrying the document's base (info, components, tags).
pub fn base() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}

/// The route that serves the document itself.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_openapi))
}

/// The finished document as the bytes served.
#[derive(Debug, Clone)]
pub struct DocumentJson(pub Bytes);

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn get_openapi(Extension(document): Extension<DocumentJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.0).into_response()
}

/// Adds the statuses every operation of a kind can answer, from what the
/// operation takes, so no handler has to repeat them:
/// - a bearer token: 401;
/// - a JSON body: 400 (malformed or invalid), 413, 415;
/// - parameters: 400; a path parameter: 404 (missing, or hidden from the caller);
/// - anything under `/api/v1` but this document: 500 and 503 (database
///   unavailable).
///
/// Statuses a handler lists itself keep its description.
pub fn add_shared_responses(document: &mut Document) {
    for (path, item) in document.paths.paths.iter_mut() {
        let touches_the_store = path.starts_with("/api/v1/") && path != DOCUMENT_PATH;
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_shared_to(operation, touches_the_store);
        }
    }
}

fn add_shared_to(operation: &mut Operation, touches_the_store: bool) {
    let needs_token = operation.security.as_ref().is_some_and(|requirements| {
        let text = serde_json::to_string(requirements).unwrap_or_default();
        text.contains("\"bearer\"")
    });
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path_parameter = parameters
        .iter()
        .any(|parameter| matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let mut bad_request: Vec<&str> = Vec::new();
    let mut shared: Vec<(&str, String)> = Vec::new();
    if needs_token {
        bad_request.push("two `Authorization` headers");
        shared.push(("401", "Missing, invalid or expired token".to_owned()));
    }
    if operation.request_body.is_some() {
        bad_request.push("malformed JSON, or a missing or invalid field");
        shared.push(("415", "The body is not `application/json`".to_owned()));
    }
    if !parameters.is_empty() {
        bad_request.push("an invalid parameter");
    }
    if !bad_request.is_empty() {
        shared.push(("400", capitalised(&bad_request.join("; "))));
    }
    // Every route refuses a declared oversize body before reading it.
    shared.push(("413", "The body is, or is declared, over 64 KiB".to_owned()));
    if has_path_parameter {
        shared.push((
            "404",
            "No such record, or not visible to the caller".to_owned(),
        ));
    }
    if touches_the_store {
        shared.extend([
            ("500", "A bug on our side; the cause is logged".to_owned()),
            (
                "503",
                "The database is unavailable or too busy, or the request ran past `REQUEST_TIMEOUT_SECS`; retry"
                    .to_owned(),
            ),
        ]);
    } else {
        shared.push((
            "503",
            "The request ran past `REQUEST_TIMEOUT_SECS`; retry".to_owned(),
        ));
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(&description));
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let schema = RefOr::Ref(Ref::from_schema_name("ErrorEnvelope"));
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(schema)))
            .build(),
    )
}
