//! Shared state and the one door to blocking work.

use std::sync::Arc;
use std::time::Duration;

use store::Store;

use crate::auth::Tokens;
use crate::error::ApiError;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Arc<Tokens>,
}

impl AppState {
    pub fn new(store: Store, tokens: Tokens) -> Self {
        Self {
            store,
            tokens: Arc::new(tokens),
        }
    }

    /// Runs `work` (Diesel queries, Argon2) on tokio's blocking pool with a
    /// clone of the store, so the async workers never wait on it.
    pub async fn blocking<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        run_blocking(move || work(&store).map_err(Into::into)).await
    }
}

/// Runs `work` on the blocking pool; a panic there becomes a 500.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

/// How long a request may wait for the store before the answer is 503.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(5);
