//! The JSON door's answer to every failure: the envelope
//! `{"error": true, "message", "code", "requestId"}`. Handlers and the
//! shared guards answer a bare [`edge::problem::Problem`]; this layer
//! writes its words (or, for what axum answers itself, such as a 405, the
//! status's own) as the envelope, with the request's id, keeping every
//! header.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;
use edge::observe::REQUEST_ID;
use edge::problem::Said;

use crate::wire::ErrorEnvelope;

/// Writes every error answer of the routes it wraps as the envelope; an
/// answer that is JSON already (the readiness check's) is left as it is.
pub async fn json_errors(request: Request<Body>, next: Next) -> Response {
    let request_id = request_id(request.headers());
    let response = next.run(request).await;
    write_envelope(response, request_id)
}

/// `response` with an error status written as the envelope naming
/// `request_id` (unless it is JSON already and says no words of a
/// [`Said`]); any other response as it is.
pub fn write_envelope(response: Response, request_id: Option<String>) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let said = response.extensions().get::<Said>().cloned();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if said.is_none() && is_json {
        return response;
    }
    let message = said.map_or_else(
        || status.canonical_reason().unwrap_or("error").to_lowercase(),
        |Said(words)| words,
    );
    let envelope = ErrorEnvelope::new(status, &message).with_request_id(request_id);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// The request's `x-request-id`, as the outer layer set or kept it.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
