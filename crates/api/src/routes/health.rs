//! `GET /health/live`, `GET /health` (readiness) and `GET /metrics`: for
//! load balancers, orchestrators and Prometheus, not for users.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::observe::render_metrics;
use crate::state::AppState;
use crate::wire::{Health, Liveness, Unready};

/// The longest a readiness check waits for the database.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_live))
        .routes(routes!(get_health))
        .routes(routes!(get_metrics))
}

/// Liveness: the process runs and answers.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Liveness))
)]
async fn get_live() -> axum::Json<Liveness> {
    axum::Json(Liveness { status: "ok" })
}

/// Readiness: the database answers a trivial query within 2 s.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer; `database` says why", body = Unready),
    )
)]
async fn get_health(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let probe = tokio::task::spawn_blocking(move || store.ping(READINESS_TIMEOUT));
    let reason = match tokio::time::timeout(READINESS_TIMEOUT, probe).await {
        Ok(Ok(Ok(()))) => {
            let ready = Health {
                status: "ok",
                database: "ok",
            };
            return axum::Json(ready).into_response();
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
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(Unready::because(reason)),
    )
        .into_response()
}

/// Prometheus metrics (text exposition format 0.0.4): requests by method,
/// route template and status, their latency, the database pool, logins by
/// outcome, open tickets in SLA breach.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text", content_type = "text/plain", body = String))
)]
async fn get_metrics(State(state): State<AppState>) -> Response {
    let in_breach = state.blocking(|store| store.open_tickets_in_breach()).await;
    let text = render_metrics(&state.metrics, &state.store, in_breach);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
