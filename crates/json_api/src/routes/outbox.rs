//! The outbox: what the server has to send, by mail or webhook, and what
//! became of it (`/outbox`, admins only).

use axum::extract::State;
use domain::values::parse_id;
use domain::{OutboxFilter, PageRequest};
use edge::App;
use edge::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, as_caller};
use crate::extract::{PathParam, QueryParams};
use crate::wire::{
    Envelope, ErrorEnvelope, OutboxMessageJson, OutboxPath, OutboxQuery, PageEnvelope, PageQuery,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_outbox))
        .routes(routes!(retry_outbox))
}

/// The outbox's messages, oldest first, of one status or channel or all
/// (admins only). A store's `delivered` shows as `sent`.
#[utoipa::path(
    get,
    path = "/outbox",
    tag = "outbox",
    params(OutboxQuery, PageQuery),
    responses(
        (status = 200, description = "One page of messages", body = PageEnvelope<OutboxMessageJson>),
        (status = 403, description = "Only admins see the outbox", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_outbox(
    State(app): State<App>,
    caller: Caller,
    QueryParams(query): QueryParams<OutboxQuery>,
    QueryParams(paging): QueryParams<PageQuery>,
) -> Result<PageEnvelope<OutboxMessageJson>, Problem> {
    let filter = OutboxFilter::parse(query.status.as_deref(), query.channel.as_deref())?;
    let keys = app.keys.clone();
    let (page, messages) = as_caller(&app, caller, move |store, caller| {
        let page = PageRequest::of_outbox(paging.paging(), &keys.cursors, filter, caller)?;
        Ok::<_, Problem>((page, store.list_outbox(caller, filter, page)?))
    })
    .await?;
    Ok(PageEnvelope::new(
        "Outbox retrieved successfully",
        page,
        messages,
        &app.keys.cursors,
    ))
}

/// Queue a failed message again, due now, with its whole retry schedule
/// before it and the same message id (admins only).
#[utoipa::path(
    post,
    path = "/outbox/{id}/retry",
    tag = "outbox",
    params(OutboxPath),
    responses(
        (status = 200, description = "The message, pending again", body = Envelope<OutboxMessageJson>),
        (status = 403, description = "Only admins see the outbox", body = ErrorEnvelope),
        (status = 404, description = "No such message", body = ErrorEnvelope),
        (status = 409, description = "The message has not failed", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn retry_outbox(
    State(app): State<App>,
    caller: Caller,
    PathParam(OutboxPath { id }): PathParam<OutboxPath>,
) -> Result<Envelope<OutboxMessageJson>, Problem> {
    let id = parse_id("id", &id)?;
    let message = as_caller(&app, caller, move |store, caller| {
        store.retry_outbox(caller, id)
    })
    .await?;
    Ok(Envelope::new(
        "Message queued again",
        OutboxMessageJson::from(message),
    ))
}
