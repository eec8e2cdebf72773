//! One error type for every handler, one variant per status, mapped to our
//! JSON envelope in one place.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Refusal, ValidationError};
use serde_json::json;
pub(crate) use store::with_causes;
use store::{BoxError, StoreError};

use crate::wire::ErrorEnvelope;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a missing or invalid field or parameter, or a
    /// request the rules do not offer (400).
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or credentials that do not hold (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The caller's role may not do this (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Missing, or hidden from the caller: the same answer (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(&'static str),
    /// The body is over the size limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body that is not JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed logins, or requests from one address or account;
    /// retry after this many seconds (429).
    #[error("{message}")]
    TooManyRequests {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// The database is unreachable or too busy (503); the cause is logged.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// Too much work of one kind under way (PIN hashing, reports, a request
    /// past its time); retry after this many seconds (503).
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// A bug on our side (500); the cause is logged, never sent.
    #[error("internal server error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn internal(error: impl Into<BoxError>) -> Self {
        ApiError::Internal(error.into())
    }
}

/// The answer when the PIN hashing queue is full.
pub const BUSY_HASHING: &str = "too many logins at once; try again in a moment";

/// The answer when every report place is taken.
pub const TOO_MANY_REPORTS: &str = "too many reports are being read at once; try again shortly";

/// The error envelope as JSON (the request id is added on the way out,
/// see [`crate::json_errors`]).
pub fn error_json(status: StatusCode, message: &str) -> serde_json::Value {
    json!(ErrorEnvelope::new(status, message))
}

/// The error envelope as a response.
pub fn error_body(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(ErrorEnvelope::new(status, message))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(cause = with_causes(cause.as_ref()), "request failed")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(cause = with_causes(cause.as_ref()), "database unavailable")
            }
            _ => {}
        }
        let mut response = error_body(self.status(), &self.to_string());
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Each kind of refusal is one status: the mapping is here and nowhere else.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(message) => ApiError::BadRequest(message.to_owned()),
            Refusal::Unauthenticated(message) => ApiError::Unauthorized(message),
            Refusal::Forbidden(message) => ApiError::Forbidden(message),
            Refusal::NotFound => ApiError::NotFound("not found"),
            Refusal::Conflict(message) => ApiError::Conflict(message),
            Refusal::Throttled { retry_after_secs } => ApiError::TooManyRequests {
                message: domain::login::TOO_MANY_FAILED_LOGINS,
                retry_after_secs,
            },
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::BadRequest(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Unavailable(_) => ApiError::Unavailable(error.into()),
            StoreError::Busy { retry_after_secs } => ApiError::Busy {
                message: BUSY_HASHING,
                retry_after_secs,
            },
            StoreError::TooManyReports { retry_after_secs } => ApiError::TooManyRequests {
                message: TOO_MANY_REPORTS,
                retry_after_secs,
            },
            StoreError::Configuration { .. } | StoreError::Internal(_) => {
                ApiError::Internal(error.into())
            }
        }
    }
}

/// axum's rejections carry a status that already says whose fault it was
/// (400, 413, 415, ...) and a text meant for the client.
macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                match rejection.status() {
                    // axum says 422 for well-formed JSON of the wrong shape;
                    // our contract calls every invalid field a 400.
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                        ApiError::BadRequest(rejection.body_text())
                    }
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        ApiError::PayloadTooLarge(rejection.body_text())
                    }
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        ApiError::UnsupportedMediaType(rejection.body_text())
                    }
                    // Anything else is a route written wrong, not the client.
                    _ => ApiError::internal(rejection),
                }
            }
        }
    )*};
}

from_rejection!(JsonRejection, PathRejection, QueryRejection);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal, store error and rejection answers exactly one status.
    #[test]
    fn each_error_maps_to_its_status() {
        let cases: Vec<(ApiError, StatusCode)> = vec![
            (
                ValidationError::new("body", "must not be blank").into(),
                StatusCode::BAD_REQUEST,
            ),
            (Refusal::Invalid("x").into(), StatusCode::BAD_REQUEST),
            (
                Refusal::Unauthenticated("x").into(),
                StatusCode::UNAUTHORIZED,
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
            (
                StoreError::Refused(Refusal::NotFound).into(),
                StatusCode::NOT_FOUND,
            ),
            (
                StoreError::Unavailable("x".into()).into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::Internal("x".into()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                ApiError::PayloadTooLarge("x".into()),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                ApiError::UnsupportedMediaType("x".into()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.into_response().status(), status);
        }
    }

    #[test]
    fn internal_causes_never_reach_the_client_but_stay_the_source() {
        let error = ApiError::from(StoreError::Internal("syntax error near SELECT".into()));
        assert_eq!(error.to_string(), "internal server error");
        assert!(with_causes(&error).contains("syntax error near SELECT"));
        let error = ApiError::from(StoreError::Unavailable("database is locked".into()));
        assert!(!error.to_string().contains("locked"));
        assert!(with_causes(&error).contains("database is locked"));
    }

    #[test]
    fn too_many_attempts_says_when_to_retry() {
        let throttled = Refusal::Throttled {
            retry_after_secs: 30,
        };
        let response = ApiError::from(throttled).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
        let busy = ApiError::from(StoreError::Busy {
            retry_after_secs: 1,
        })
        .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
    }
}
