//! The guards every request of every door passes, inside that door's error
//! layer: the body's size and time limits, the request's time limit, and a
//! handler's panic caught. What they refuse they answer as a bare
//! [`Problem`] (or, for the time limit, a bare 503), which the door writes
//! in its own format.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};

use crate::problem::Problem;

/// Largest request body accepted (413 above it).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// How long a request body may take to arrive, whole.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a mail may take to arrive, whole, at the inbound endpoint.
pub const MAIL_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// How long taking one message may take, waiting for its turn to be read
/// included.
pub const MAIL_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// `routes` behind every guard; `request_timeout` is the longest a request
/// may take before it answers 503.
pub fn guarded(routes: Router, request_timeout: Duration) -> Router {
    // A body trickled in byte by byte fails when its time is up.
    let routes = routes
        .layer(RequestBodyDeadlineLayer::new(BODY_READ_TIMEOUT))
        .layer(middleware::from_fn(refuse_declared_oversize));
    timed_and_caught(routes, request_timeout).layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}

/// The inbound mail endpoint behind the same guards, but for mail: its
/// handler checks the body against `MAX_EMAIL_BYTES` while reading it, and
/// a message may take longer to arrive and to be taken.
pub fn guarded_for_mail(routes: Router) -> Router {
    let routes = routes.layer(RequestBodyDeadlineLayer::new(MAIL_READ_TIMEOUT));
    timed_and_caught(routes, MAIL_REQUEST_TIMEOUT).layer(DefaultBodyLimit::disable())
}

fn timed_and_caught(routes: Router, request_timeout: Duration) -> Router {
    routes
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        // Inside the door's error layer and the trace span, so the answer
        // is the door's and the log line names the request.
        .layer(CatchPanicLayer::custom(answer_panic))
}

/// A handler that panicked answers 500 and is logged as one; the
/// connection stays usable.
fn answer_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    Problem::internal(format!("handler panicked: {message}")).into_response()
}

/// A body declared larger than [`BODY_LIMIT_BYTES`] is refused before a
/// byte of it is read (and, on `Expect: 100-continue`, before the client
/// is told to send it).
async fn refuse_declared_oversize(request: Request<Body>, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT_BYTES as u64 => {
            Problem::TooLarge(format!("the body may be at most {BODY_LIMIT_BYTES} bytes"))
                .into_response()
        }
        _ => next.run(request).await,
    }
}
