//! What every handler can reach: the store and the token keys.

use std::sync::Arc;

use domain::Actor;
use metrics_exporter_prometheus::PrometheusHandle;
use store::Store;

use crate::auth::Caller;
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

    /// Runs `work` on the blocking pool as `caller`, authenticated there
    /// first (see [`Caller`]): one trip to the pool for both.
    pub async fn as_caller<T, E>(
        &self,
        caller: Caller,
        work: impl FnOnce(&Store, Actor) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        self.blocking(move |store| {
            let actor = caller.authenticate(store)?;
            work(store, actor).map_err(Into::into)
        })
        .await
    }
}
