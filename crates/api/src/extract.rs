//! Request extractors whose rejections answer our JSON envelope.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts};

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
