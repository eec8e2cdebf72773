//! `GET /tickets/resolved-report`: the last month's resolved tickets as a
//! CSV download (see `edge::report`).

use axum::extract::State;
use axum::response::Response;
use edge::App;
use edge::problem::Problem;
use edge::report::download;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, as_caller};
use crate::wire::ErrorEnvelope;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_resolved_report))
}

/// The tickets resolved in the last calendar month, as CSV (agents and
/// admins): `ticketId,subject,body,status,resolvedAt,createdAt`, streamed.
#[utoipa::path(
    get,
    path = "/tickets/resolved-report",
    tag = "reports",
    responses(
        (status = 200, description = "The report, one row per ticket", content_type = "text/csv", body = String),
        (status = 403, description = "Only support agents and admins read the report", body = ErrorEnvelope),
        (status = 429, description = "As many reports are being read as may be at once; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_resolved_report(State(app): State<App>, caller: Caller) -> Result<Response, Problem> {
    // Everything that can fail before the first byte fails here (the rule,
    // the connection): once the 200 is sent, an error can only cut the
    // body short.
    let report = as_caller(&app, caller, move |store, caller| {
        store.open_resolved_report(caller)
    })
    .await?;
    Ok(download(report, app.limits.request_timeout()))
}
