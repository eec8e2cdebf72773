//! One error type for every handler, mapped to its status and our JSON
//! envelope in one place.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Refusal, ValidationError};
use serde_json::json;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Client input failed validation (400).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A rule refused the request.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// axum could not read the request (bad JSON, wrong content type, too
    /// large); its status and text describe the client's mistake.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// No credentials, or credentials that do not hold (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The thing asked for does not exist, or is hidden from the caller (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// A state conflict from the store, such as a taken username (409).
    #[error("{0}")]
    Conflict(&'static str),
    /// The database is unreachable or too busy (503).
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    /// A bug on our side (500); the cause is logged, never sent.
    #[error("internal server error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Refused(refusal) => match refusal {
                Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
                Refusal::Hidden => StatusCode::NOT_FOUND,
                Refusal::Conflict(_) => StatusCode::CONFLICT,
                Refusal::Invalid(_) => StatusCode::BAD_REQUEST,
                Refusal::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            },
            ApiError::Rejected { status, .. } => *status,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A stable machine-readable name for an error status.
fn status_code_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "internal",
    }
}

/// The error envelope: `{"error": true, "message": ..., "code": ...}`.
pub fn error_body(status: StatusCode, message: &str) -> Response {
    let code = status_code_name(status);
    let body = json!({ "error": true, "message": message, "code": code });
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut response = error_body(self.status(), &self.to_string());
        if let ApiError::Refused(Refusal::Throttled { retry_after_secs }) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("not found"),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Refused(refusal) => ApiError::Refused(refusal),
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause),
            StoreError::Internal(cause) | StoreError::Configuration(cause) => {
                ApiError::Internal(cause)
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
                // axum says 422 for well-formed JSON of the wrong shape; our
                // contract calls every invalid field a 400.
                let status = match rejection.status() {
                    StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                    status => status,
                };
                ApiError::Rejected {
                    status,
                    message: rejection.body_text(),
                }
            }
        }
    )*};
}

from_rejection!(JsonRejection, PathRejection, QueryRejection);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error kind answers exactly one status.
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
            (ApiError::Unauthorized("x"), StatusCode::UNAUTHORIZED),
            (Refusal::Forbidden("x").into(), StatusCode::FORBIDDEN),
            (Refusal::Hidden.into(), StatusCode::NOT_FOUND),
            (StoreError::NotFound.into(), StatusCode::NOT_FOUND),
            (Refusal::Conflict("x").into(), StatusCode::CONFLICT),
            (StoreError::Conflict("x").into(), StatusCode::CONFLICT),
            (
                Refusal::Throttled {
                    retry_after_secs: 3,
                }
                .into(),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                StoreError::Unavailable("x".into()).into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::Internal("x".into()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.into_response().status(), status);
        }
    }

    #[test]
    fn internal_causes_never_reach_the_client() {
        let error = ApiError::from(StoreError::Internal("syntax error near SELECT".into()));
        assert_eq!(error.to_string(), "internal server error");
        let error = ApiError::from(StoreError::Unavailable("database is locked".into()));
        assert!(!error.to_string().contains("locked"));
    }

    #[test]
    fn too_many_attempts_says_when_to_retry() {
        let throttled = Refusal::Throttled {
            retry_after_secs: 30,
        };
        let response = ApiError::from(throttled).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
    }
}
