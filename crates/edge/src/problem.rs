//! The one vocabulary every door answers a failure in. Each kind has one
//! status and, when it says when to come back, one `Retry-After`; the words
//! are written once, for people, and fit any door. A door chooses only the
//! body: a handler or a shared layer answers a [`Problem`] as a bare
//! response (its status, its `Retry-After`, and the [`Said`] words in its
//! extensions), and the door's own layer writes those words as the JSON
//! envelope or as a page.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::refusal::TOO_MANY_FAILED_LOGINS;
use domain::{Refusal, ValidationError};
use store::{BoxError, StoreError, with_causes};

/// The answer when the PIN hashing queue is full.
pub const BUSY_HASHING: &str = "too many PIN checks at once; try again in a moment";
/// The answer when every report place is taken.
pub const TOO_MANY_REPORTS: &str = "too many reports are being read at once; try again shortly";
/// The answer when the database cannot be reached in time.
pub const UNAVAILABLE: &str = "the service is temporarily unavailable; try again in a moment";
/// The answer to a bug of ours.
pub const INTERNAL: &str = "something went wrong on our side; it has been logged";
/// The answer to a write without `If-Match` when `REQUIRE_IF_MATCH` is on.
pub const PRECONDITION_REQUIRED: &str =
    "this server requires If-Match on this write: read the current version's ETag and send it";
/// The answer to a PIN reset on a server that sends no mail.
pub const NO_MAIL: &str =
    "this server sends no mail, so it cannot reset a PIN by mail; ask an admin to reset it";
/// What a missing or hidden thing is called, to a person.
pub const NOTHING_HERE: &str = "there is nothing here, or it is not yours to see";

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A field or parameter that does not parse, or a request the rules do
    /// not offer (400).
    #[error("{0}")]
    Invalid(String),
    /// No credentials, or credentials that do not hold (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Missing, or hidden from the caller: the same answer (404).
    #[error("{NOTHING_HERE}")]
    NotFound,
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(&'static str),
    /// The thing changed since the version the request's `If-Match`
    /// named; nothing was changed (412).
    #[error("{0}")]
    PreconditionFailed(&'static str),
    /// A write without `If-Match` where the server requires one (428).
    #[error("{PRECONDITION_REQUIRED}")]
    PreconditionRequired,
    /// Well formed, but not to be taken as it stands (422): an
    /// idempotency key reused for a different request.
    #[error("{0}")]
    Unprocessable(&'static str),
    /// The body is over the size limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A body of a type the route does not take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts, requests or reports; retry after this many
    /// seconds (429).
    #[error("{message}")]
    TooMany {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// Too much work of one kind under way (PIN hashing); retry after this
    /// many seconds (503).
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// Something this server, as configured, does not offer (503): a PIN
    /// reset by mail without a mail server. Nothing is said of the
    /// request, so the answer reveals nothing.
    #[error("{0}")]
    NotOffered(&'static str),
    /// The database is unreachable or too busy (503); the cause is logged.
    #[error("{UNAVAILABLE}")]
    Unavailable(#[source] BoxError),
    /// A bug on our side (500); the cause is logged, never shown.
    #[error("{INTERNAL}")]
    Internal(#[source] BoxError),
}

impl Problem {
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Problem::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Problem::Invalid(_) => StatusCode::BAD_REQUEST,
            Problem::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Problem::Forbidden(_) => StatusCode::FORBIDDEN,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::Conflict(_) => StatusCode::CONFLICT,
            Problem::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Problem::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Problem::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Problem::Busy { .. } | Problem::NotOffered(_) | Problem::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Problem::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds to wait before trying again, for the problems that say.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Problem::TooMany {
                retry_after_secs, ..
            }
            | Problem::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Logs the cause of a failure of ours, once, where it is answered.
    /// The line names the request (see [`crate::request_log::in_request_span`]).
    fn log(&self) {
        match self {
            Problem::Internal(cause) => crate::request_log::in_request_span(|| {
                tracing::error!(cause = with_causes(cause.as_ref()), "request failed")
            }),
            Problem::Unavailable(cause) => crate::request_log::in_request_span(|| {
                tracing::warn!(cause = with_causes(cause.as_ref()), "database unavailable")
            }),
            _ => {}
        }
    }

    /// `response` with this problem's status and `Retry-After`, for a door
    /// that writes its own body (a form shown again with the refusal).
    pub fn with_status(&self, mut response: Response) -> Response {
        *response.status_mut() = self.status();
        if let Some(seconds) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The words of a failure, carried by its bare response to the door's
/// layer that writes them in the door's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said(pub String);

impl IntoResponse for Problem {
    /// A bare response: the status, `Retry-After` and [`Said`] only; the
    /// door's layer writes the body.
    fn into_response(self) -> Response {
        self.log();
        let mut response = self.with_status(Response::default());
        response.extensions_mut().insert(Said(self.to_string()));
        response
    }
}

/// Each kind of refusal is one problem: the mapping is here and nowhere else.
impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(message) => Problem::Invalid(message.to_owned()),
            Refusal::Unauthenticated(message) => Problem::Unauthenticated(message),
            Refusal::Forbidden(message) => Problem::Forbidden(message),
            Refusal::NotFound => Problem::NotFound,
            Refusal::Conflict(message) => Problem::Conflict(message),
            Refusal::Changed(message) => Problem::PreconditionFailed(message),
            Refusal::Mismatch(message) => Problem::Unprocessable(message),
            Refusal::Throttled { retry_after_secs } => Problem::TooMany {
                message: TOO_MANY_FAILED_LOGINS,
                retry_after_secs,
            },
        }
    }
}

impl From<ValidationError> for Problem {
    fn from(error: ValidationError) -> Self {
        Problem::Invalid(error.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Unavailable(_) => Problem::Unavailable(error.into()),
            StoreError::Busy { retry_after_secs } => Problem::Busy {
                message: BUSY_HASHING,
                retry_after_secs,
            },
            StoreError::TooManyReports { retry_after_secs } => Problem::TooMany {
                message: TOO_MANY_REPORTS,
                retry_after_secs,
            },
            StoreError::Configuration { .. } | StoreError::Internal(_) => {
                Problem::Internal(error.into())
            }
        }
    }
}

/// axum's rejections carry a status that already says whose fault it was
/// (400, 413, 415, ...) and a text meant for the client.
macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for Problem {
            fn from(rejection: $rejection) -> Self {
                match rejection.status() {
                    // axum says 422 for well-formed input of the wrong
                    // shape; every invalid field is a 400 to us.
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                        Problem::Invalid(rejection.body_text())
                    }
                    StatusCode::PAYLOAD_TOO_LARGE => Problem::TooLarge(rejection.body_text()),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        Problem::UnsupportedMediaType(rejection.body_text())
                    }
                    // Anything else is a route written wrong, not the client.
                    _ => Problem::internal(rejection),
                }
            }
        }
    )*};
}

from_rejection!(JsonRejection, PathRejection, QueryRejection, FormRejection);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal, store error and rejection answers exactly one status,
    /// and the ones that say when to come back say it.
    #[test]
    fn each_problem_is_one_status() {
        let cases: Vec<(Problem, StatusCode, Option<u64>)> = vec![
            (
                ValidationError::new("body", "must not be blank").into(),
                StatusCode::BAD_REQUEST,
                None,
            ),
            (Refusal::Invalid("x").into(), StatusCode::BAD_REQUEST, None),
            (
                Refusal::Unauthenticated("x").into(),
                StatusCode::UNAUTHORIZED,
                None,
            ),
            (Refusal::Forbidden("x").into(), StatusCode::FORBIDDEN, None),
            (Refusal::NotFound.into(), StatusCode::NOT_FOUND, None),
            (Refusal::Conflict("x").into(), StatusCode::CONFLICT, None),
            (
                Refusal::Changed("x").into(),
                StatusCode::PRECONDITION_FAILED,
                None,
            ),
            (
                Refusal::Mismatch("x").into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ),
            (
                Problem::PreconditionRequired,
                StatusCode::PRECONDITION_REQUIRED,
                None,
            ),
            (
                Refusal::Throttled {
                    retry_after_secs: 3,
                }
                .into(),
                StatusCode::TOO_MANY_REQUESTS,
                Some(3),
            ),
            (
                StoreError::Refused(Refusal::NotFound).into(),
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                StoreError::Busy {
                    retry_after_secs: 1,
                }
                .into(),
                StatusCode::SERVICE_UNAVAILABLE,
                Some(1),
            ),
            (
                StoreError::TooManyReports {
                    retry_after_secs: 2,
                }
                .into(),
                StatusCode::TOO_MANY_REQUESTS,
                Some(2),
            ),
            (
                StoreError::Unavailable("x".into()).into(),
                StatusCode::SERVICE_UNAVAILABLE,
                None,
            ),
            (
                StoreError::Internal("x".into()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
            ),
            (
                Problem::NotOffered(NO_MAIL),
                StatusCode::SERVICE_UNAVAILABLE,
                None,
            ),
            (
                Problem::TooLarge("x".into()),
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
            ),
            (
                Problem::UnsupportedMediaType("x".into()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
            ),
        ];
        for (problem, status, retry_after) in cases {
            assert_eq!(problem.status(), status, "{problem:?}");
            assert_eq!(problem.retry_after_secs(), retry_after, "{problem:?}");
            let response = problem.into_response();
            assert_eq!(response.status(), status);
            let header = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok()?.parse().ok());
            assert_eq!(header, retry_after);
            assert!(response.extensions().get::<Said>().is_some());
        }
    }

    #[test]
    fn internal_causes_are_never_said_but_stay_the_source() {
        let problem = Problem::from(StoreError::Internal("syntax error near SELECT".into()));
        assert_eq!(problem.to_string(), INTERNAL);
        assert!(with_causes(&problem).contains("syntax error near SELECT"));
        let problem = Problem::from(StoreError::Unavailable("database is locked".into()));
        assert!(!problem.to_string().contains("locked"));
        assert!(with_causes(&problem).contains("database is locked"));
        let said = Problem::internal("secret table name").into_response();
        assert_eq!(
            said.extensions().get::<Said>(),
            Some(&Said(INTERNAL.to_owned()))
        );
    }
}
