//! `GET /health/live`, `GET /health` (readiness) and `GET /metrics`: for
//! load balancers, orchestrators and Prometheus, not for users.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::error_json;
use crate::observe::render_metrics;
use crate::state::AppState;

/// The longest a readiness check waits for the database.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(get_live))
        .route("/health", get(get_health))
        .route("/metrics", get(get_metrics))
}

/// The process runs and answers.
async fn get_live() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Ready when the database answers a trivial query within
/// [`READINESS_TIMEOUT`]; otherwise 503 with the reason.
async fn get_health(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let probe = tokio::task::spawn_blocking(move || store.ping(READINESS_TIMEOUT));
    let failure = match tokio::time::timeout(READINESS_TIMEOUT, probe).await {
        Ok(Ok(Ok(()))) => {
            return axum::Json(json!({"status": "ok", "database": "ok"})).into_response();
        }
        Ok(Ok(Err(error))) => {
            tracing::warn!(cause = %error, "readiness check failed");
            match error {
                store::StoreError::Unavailable(_) => "unreachable or busy",
                _ => "query failed",
            }
        }
        Ok(Err(_)) => "check failed",
        Err(_) => "no answer within 2 s",
    };
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let mut body = error_json(status, "the database is not ready");
    body["status"] = json!("unavailable");
    body["database"] = json!(failure);
    (status, axum::Json(body)).into_response()
}

async fn get_metrics(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let text = render_metrics(&state.metrics, &store);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
