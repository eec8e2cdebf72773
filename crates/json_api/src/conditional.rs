//! Conditional requests at the JSON door: the `If-Match` a write is made
//! on (handed to the store action, which compares it inside its locked
//! transaction) and the `If-None-Match` a read is made with, and the
//! `ETag` a versioned answer carries. The tags themselves are computed by
//! `domain::conditional` from what the caller sees.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::conditional::is_not_modified;
use domain::{EntityTag, Precondition, TagList};
use edge::App;
use edge::problem::Problem;

/// The precondition of a write: its `If-Match`, or none. Without one,
/// where the server requires it (`REQUIRE_IF_MATCH`), a 428; a header
/// that is not `*` or a list of quoted tags, a 400.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Precondition);

impl FromRequestParts<App> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        match joined(&parts.headers, &header::IF_MATCH)? {
            Some(value) => Ok(IfMatch(Precondition::IfMatch(TagList::parse(
                "If-Match", &value,
            )?))),
            None if app.require_if_match => Err(Problem::PreconditionRequired),
            None => Ok(IfMatch(Precondition::None)),
        }
    }
}

/// A read's `If-None-Match`, if it sent one that parses. One that does not
/// is ignored, as if not sent: the read answers in full.
#[derive(Debug, Clone)]
pub struct IfNoneMatch(pub Option<TagList>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let value = joined(&parts.headers, &header::IF_NONE_MATCH).unwrap_or(None);
        Ok(IfNoneMatch(value.and_then(|value| {
            TagList::parse("If-None-Match", &value).ok()
        })))
    }
}

/// Every line of header `name` as one list (RFC 9110 allows a list to be
/// split over lines); `None` when none was sent.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Result<Option<String>, Problem> {
    let mut lines = Vec::new();
    for value in headers.get_all(name) {
        let text = value
            .to_str()
            .map_err(|_| Problem::Invalid(format!("{name} must be visible ASCII")))?;
        lines.push(text);
    }
    Ok((!lines.is_empty()).then(|| lines.join(", ")))
}

/// `answer` with its version's `ETag`.
pub fn tagged(tag: &EntityTag, answer: impl IntoResponse) -> Response {
    let mut response = answer.into_response();
    if let Ok(value) = HeaderValue::from_str(&tag.header_value()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The answer of a read of a versioned thing: 304 with no body but its
/// `ETag` when the client's copy (`If-None-Match`) is current, else
/// `answer` with its `ETag`.
pub fn read_answer(
    tag: &EntityTag,
    if_none_match: &IfNoneMatch,
    answer: impl IntoResponse,
) -> Response {
    match &if_none_match.0 {
        Some(list) if is_not_modified(list, tag) => tagged(tag, StatusCode::NOT_MODIFIED),
        _ => tagged(tag, answer),
    }
}
