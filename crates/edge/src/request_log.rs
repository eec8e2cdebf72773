//! The request being answered, as its log lines name it: its method,
//! route template and id, kept for the task that answers it, so that a
//! WARN or ERROR line logged on its way (by any module) names the request
//! without a span made for every request.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `route` label of a request no route matched: one value for every
/// unknown path, so a scanner cannot grow the label set.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What a log line says of the request it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RequestFields {
    pub(crate) method: &'static str,
    route: Option<MatchedPath>,
    /// Set by the id layer around the doors; sane (see
    /// [`crate::observe::is_sane_request_id`]), so it is written as it is.
    id: Option<HeaderValue>,
}

impl RequestFields {
    pub(crate) fn of(request: &Request) -> Self {
        RequestFields {
            method: method_label(request.method()),
            route: request.extensions().get::<MatchedPath>().cloned(),
            id: request.headers().get(&REQUEST_ID).cloned(),
        }
    }

    pub(crate) fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
    }

    pub(crate) fn id(&self) -> &str {
        self.id
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }
}

tokio::task_local! {
    /// The request the running task answers, while [`crate::observe::record_request`]
    /// awaits it.
    pub(crate) static CURRENT_REQUEST: RequestFields;
}

/// Runs `log` (a WARN or ERROR line) inside a `request` span with the
/// method, route and id of the request being answered, when there is one,
/// so the line names it. The span is made only here: a request that logs
/// nothing but its own line makes none. At ERROR level, so any filter that
/// lets the line through keeps the span too.
pub fn in_request_span<T>(log: impl FnOnce() -> T) -> T {
    match CURRENT_REQUEST.try_with(|fields| {
        tracing::error_span!(
            "request",
            method = %fields.method,
            route = fields.route(),
            request_id = %fields.id(),
        )
    }) {
        Ok(span) => span.in_scope(log),
        Err(_) => log(),
    }
}

/// The method as a label; any method beyond the standard ones is one
/// value, so made-up methods cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
