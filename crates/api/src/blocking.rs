//! The one door to blocking work (Diesel queries, Argon2): tokio's blocking
//! pool, so the async workers never wait on it.

use crate::error::ApiError;

/// Runs `work` on the blocking pool; a panic there becomes a 500.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}
