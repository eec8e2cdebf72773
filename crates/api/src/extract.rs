//! Request extractors whose rejections answer our JSON envelope.

use axum::extract::{FromRequest, FromRequestParts};
use domain::ValidationError;

use crate::error::ApiError;

/// `axum::Json`, rejecting with [`ApiError`] (400, 413, 415 as axum decides).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// `axum::extract::Query`, rejecting with [`ApiError`]; unknown parameters
/// are ignored.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// `axum::extract::Path`, rejecting with [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParam<T>(pub T);

/// The `:ticketId` of a ticket URL: a positive integer, else 400.
pub fn ticket_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ValidationError::new("ticketId", "must be a positive integer").into())
}
