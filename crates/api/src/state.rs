//! What every handler can reach: the store and the token keys.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use store::Store;

use crate::blocking::run_blocking;
use crate::error::ApiError;
use crate::limits::Limits;
use crate::tokens::Tokens;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Arc<Tokens>,
    /// Per-address and per-account request budgets.
    pub limits: Arc<Limits>,
    /// Renders `/metrics`; the recorder behind it is process-wide.
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(store: Store, tokens: Tokens, limits: Limits) -> Self {
        Self {
            store,
            tokens: Arc::new(tokens),
            limits: Arc::new(limits),
            metrics: crate::observe::metrics_handle(),
        }
    }

    /// Runs `work` with a clone of the store on the blocking pool.
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
