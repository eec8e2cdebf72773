//! Request extractors whose rejections answer our JSON envelope.

use axum::extract::{FromRequest, FromRequestParts};
use edge::problem::Problem;

/// `axum::Json`, rejecting with a [`Problem`] (400, 413, 415 as axum decides).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct JsonBody<T>(pub T);

/// `axum::extract::Query`, rejecting with a [`Problem`]; unknown
/// parameters are ignored.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct QueryParams<T>(pub T);

/// `axum::extract::Path`, rejecting with a [`Problem`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct PathParam<T>(pub T);
