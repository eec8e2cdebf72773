//! One error type for every page, mirroring the API's: each refusal kind
//! is one status, shown as a readable page (or, for an ended session, a
//! trip to the sign-in page and back).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Refusal, ValidationError};
use store::{BoxError, StoreError, with_causes};

use crate::views::{ErrorPage, query_value, render};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A field or parameter that does not parse, or a request the rules do
    /// not offer (400).
    #[error("{0}")]
    BadRequest(String),
    /// No session, or one that ended: sign in, then come back to `next`.
    #[error("sign in to continue")]
    SignIn { next: String },
    /// The account may not do this (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A form without its session's token, or posted from another site
    /// (403); nothing was changed.
    #[error(
        "this form has expired or was sent from another site, so nothing was changed; reload the page and try again"
    )]
    CrossSite,
    /// Missing, or hidden from the viewer: the same answer (404).
    #[error("there is nothing here, or it is not yours to see")]
    NotFound,
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(&'static str),
    /// Too many attempts or writes; retry after this many seconds (429).
    #[error("{message}")]
    TooMany {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// Too much work of one kind under way (PIN hashing, reports) (503).
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// The database is unreachable (503); the cause is logged.
    #[error("the service is temporarily unavailable; try again in a moment")]
    Unavailable(#[source] BoxError),
    /// A bug on our side (500); the cause is logged, never shown.
    #[error("something went wrong on our side; it has been logged")]
    Internal(#[source] BoxError),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) | PageError::CrossSite => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            PageError::Busy { .. } | PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn internal(error: impl Into<BoxError>) -> Self {
        PageError::Internal(error.into())
    }

    /// `response` with this refusal's `Retry-After`, if it has one.
    pub fn with_retry_after(&self, mut response: Response) -> Response {
        if let Some(seconds) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    /// Seconds to wait before trying again, for the refusals that say.
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            PageError::TooMany {
                retry_after_secs, ..
            }
            | PageError::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// The answer when the PIN hashing queue is full.
pub const BUSY_HASHING: &str = "too many sign-ins at once; try again in a moment";
/// The answer when every report place is taken.
pub const TOO_MANY_REPORTS: &str = "too many reports are being read at once; try again shortly";

impl From<Refusal> for PageError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(message) => PageError::BadRequest(message.to_owned()),
            // A page that finds its session ended sends the browser to sign
            // in; where it came from is filled in by the caller.
            Refusal::Unauthenticated(_) => PageError::SignIn {
                next: "/".to_owned(),
            },
            Refusal::Forbidden(message) => PageError::Forbidden(message),
            Refusal::NotFound => PageError::NotFound,
            Refusal::Conflict(message) => PageError::Conflict(message),
            Refusal::Throttled { retry_after_secs } => PageError::TooMany {
                message: domain::login::TOO_MANY_FAILED_LOGINS,
                retry_after_secs,
            },
        }
    }
}

impl From<ValidationError> for PageError {
    fn from(error: ValidationError) -> Self {
        PageError::BadRequest(error.to_string())
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Unavailable(cause) => PageError::Unavailable(cause),
            StoreError::Busy { retry_after_secs } => PageError::Busy {
                message: BUSY_HASHING,
                retry_after_secs,
            },
            StoreError::TooManyReports { retry_after_secs } => PageError::TooMany {
                message: TOO_MANY_REPORTS,
                retry_after_secs,
            },
            other @ (StoreError::Configuration { .. } | StoreError::Internal(_)) => {
                PageError::Internal(other.into())
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            PageError::SignIn { next } => {
                return Redirect::to(&sign_in_then(next)).into_response();
            }
            PageError::Internal(cause) => {
                tracing::error!(cause = %with_causes(cause.as_ref()), "page failed")
            }
            PageError::Unavailable(cause) => {
                tracing::warn!(cause = %with_causes(cause.as_ref()), "database unavailable")
            }
            _ => {}
        }
        let status = self.status();
        let page = ErrorPage::new(status, self.to_string());
        self.with_retry_after((status, render(&page)).into_response())
    }
}

/// The sign-in page, set to come back to `next`.
pub fn sign_in_then(next: &str) -> String {
    if next == "/" {
        return "/login".to_owned();
    }
    format!("/login?next={}", query_value(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_kind_is_one_status() {
        let cases = [
            (
                PageError::from(Refusal::Invalid("x")),
                StatusCode::BAD_REQUEST,
            ),
            (Refusal::Forbidden("x").into(), StatusCode::FORBIDDEN),
            (Refusal::NotFound.into(), StatusCode::NOT_FOUND),
            (Refusal::Conflict("x").into(), StatusCode::CONFLICT),
            (
                Refusal::Throttled {
                    retry_after_secs: 3,
                }
                .into(),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (Refusal::Unauthenticated("x").into(), StatusCode::SEE_OTHER),
            (PageError::CrossSite, StatusCode::FORBIDDEN),
            (
                StoreError::Busy {
                    retry_after_secs: 1,
                }
                .into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::Unavailable("down".into()).into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::Internal("bug".into()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn an_internal_error_shows_no_cause() {
        let response = PageError::internal("secret table name").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn signing_in_comes_back_to_the_page_asked_for() {
        assert_eq!(sign_in_then("/"), "/login");
        assert_eq!(
            sign_in_then("/tickets?status=REPLIED&q=a b"),
            "/login?next=/tickets%3Fstatus%3DREPLIED%26q%3Da%20b"
        );
    }
}
