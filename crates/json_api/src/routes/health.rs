//! `GET /health/live`, `GET /health` (readiness) and `GET /metrics`: for
//! load balancers, orchestrators and Prometheus, not for users.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edge::App;
use edge::observe::{metrics_handle, render_metrics};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::on_store;
use crate::error::request_id;
use crate::wire::{Health, Liveness, Unready};

/// The longest a readiness check waits for the database.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<App> {
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
async fn get_health(State(app): State<App>, headers: HeaderMap) -> Response {
    let store = app.store.clone();
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
            edge::observe::in_request_span(
                || tracing::warn!(cause = %error, "readiness check failed"),
            );
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
        axum::Json(Unready::because(reason, request_id(&headers))),
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
async fn get_metrics(State(app): State<App>) -> Response {
    let in_breach = on_store(&app, |store| store.open_tickets_in_breach()).await;
    let text = render_metrics(&metrics_handle(), &app.store, in_breach);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
