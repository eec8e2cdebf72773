//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! and the wire types, served at `/api/v1/openapi.json` and behind `/docs`.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
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
        (name = "tokens", description = "API tokens for programs"),
        (name = "tickets", description = "Support tickets"),
        (name = "replies", description = "Replies and internal notes on a ticket"),
        (name = "history", description = "What happened to a ticket, who did it and when"),
        (name = "reports", description = "Exports"),
        (name = "webhooks", description = "Signed notices of changes, sent to endpoints admins register"),
        (name = "mail", description = "Mail coming in: tickets and replies by mail, and the messages held for staff"),
        (name = "outbox", description = "What the server has to send, by mail or webhook, and what became of it"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// The bearer scheme (a JWT or an API token) that `security(("bearer" = []))` refers to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session's JWT from `POST /login` (24 hours), or a program's API \
                         token (`trk_...`, from `POST /users/me/tokens`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "inbound_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The server's `INBOUND_TOKEN`, held by the mail server that hands \
                         messages over",
                    ))
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
/// - a bearer token: 401, and on anything but `GET` 403 (a read-only API
///   token);
/// - a JSON body: 400 (malformed or invalid), 413, 415;
/// - parameters: 400; a path parameter: 404 (missing, or hidden from the caller);
/// - an `If-Match` header: 412 and 428;
/// - an `Idempotency-Key` header: 409 and 422;
/// - anything under `/api/v1` but this document: 500 and 503 (database
///   unavailable).
///
/// Statuses a handler lists itself keep its description.
pub fn add_shared_responses(document: &mut Document) {
    for (path, item) in document.paths.paths.iter_mut() {
        let touches_the_store = path.starts_with("/api/v1/") && path != DOCUMENT_PATH;
        if let Some(get) = &mut item.get {
            add_shared_to(get, touches_the_store, false);
        }
        let writes = [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in writes.into_iter().flatten() {
            add_shared_to(operation, touches_the_store, true);
        }
    }
}

fn add_shared_to(operation: &mut Operation, touches_the_store: bool, writes: bool) {
    let needs_token = operation.security.as_ref().is_some_and(|requirements| {
        let text = serde_json::to_string(requirements).unwrap_or_default();
        text.contains("\"bearer\"")
    });
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path_parameter = parameters
        .iter()
        .any(|parameter| matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let has_header = |name: &str| {
        parameters.iter().any(|parameter| {
            matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name == name)
        })
    };
    let (takes_if_match, takes_idempotency_key) =
        (has_header("If-Match"), has_header("Idempotency-Key"));
    let has_parameters = !parameters.is_empty();
    let mut bad_request: Vec<&str> = Vec::new();
    let mut shared: Vec<(&str, String)> = Vec::new();
    if takes_if_match {
        shared.extend([
            (
                "412",
                "`If-Match` names no current version: it changed since; nothing was changed"
                    .to_owned(),
            ),
            (
                "428",
                "No `If-Match`, and the server requires one (`REQUIRE_IF_MATCH`)".to_owned(),
            ),
        ]);
    }
    if takes_idempotency_key {
        add_to_description(
            operation,
            "409",
            "or a request with the same `Idempotency-Key` is still being answered; retry shortly",
        );
        shared.extend([
            (
                "409",
                "A request with the same `Idempotency-Key` is still being answered; retry shortly"
                    .to_owned(),
            ),
            (
                "422",
                "The `Idempotency-Key` was used for a request with another body".to_owned(),
            ),
        ]);
    }
    if needs_token {
        bad_request.push("two `Authorization` headers");
        shared.push(("401", "Missing, invalid or expired token".to_owned()));
        if writes {
            shared.push((
                "403",
                "A read-only API token may only read (`GET`, `HEAD`)".to_owned(),
            ));
        }
    }
    if operation.request_body.is_some() {
        bad_request.push("malformed JSON, or a missing or invalid field");
        shared.push(("415", "The body is not `application/json`".to_owned()));
    }
    if has_parameters {
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
    if takes_idempotency_key {
        mark_replayable(operation);
    }
}

/// Every answer of an operation that takes `Idempotency-Key` that is kept
/// for retries may come again, marked `Idempotent-Replayed`.
fn mark_replayable(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let kept = status
            .parse::<u16>()
            .is_ok_and(domain::idempotency::keeps_answer);
        if let (true, RefOr::T(response)) = (kept, response) {
            response.headers.insert(
                "Idempotent-Replayed".to_owned(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["true"])),
                        ))
                        .description(Some(
                            "`true` on an answer given again for a retry with the same `Idempotency-Key`; nothing was done this time",
                        ))
                        .build(),
                ),
            );
        }
    }
}

/// Adds `more` to the description of a status the handler lists itself.
fn add_to_description(operation: &mut Operation, status: &str, more: &str) {
    if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
        response.description = format!("{}; {more}", response.description);
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
