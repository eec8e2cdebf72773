//! `POST/GET /tickets/:ticketId/replies` and the history at
//! `GET /tickets/:ticketId/events`.

use axum::extract::State;
use axum::response::Response;
use domain::idempotency::StoredAnswer;
use domain::{Actor, Page, PageRequest, Reply, ReplyBody, ReplyKind, TicketId, TicketRecords};
use edge::App;
use edge::problem::Problem;
use store::{Store, StoreResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::{Caller, as_caller};
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::idempotency::{Once, created};
use crate::wire::{
    CreateReplyRequest, Envelope, ErrorEnvelope, EventJson, IdempotencyKeyHeader, PageEnvelope,
    PageQuery, ReplyJson, TicketPath,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_replies, post_replies))
        .routes(routes!(get_events))
}

/// Reply to a ticket: an agent on any open ticket (the reply marks it
/// `REPLIED`, and takes an unassigned ticket for that agent), its author
/// only once an agent has replied. With `internal: true`, an internal
/// note: agents and admins, any status, never shown to the customer, and
/// it changes nothing about the ticket.
#[utoipa::path(
    post,
    path = "/tickets/{ticketId}/replies",
    tag = "replies",
    params(TicketPath, IdempotencyKeyHeader),
    request_body = CreateReplyRequest,
    responses(
        (status = 201, description = "Reply created", body = Envelope<ReplyJson>),
        (status = 403, description = "Admins do not reply in public; customers do not write notes", body = ErrorEnvelope),
        (status = 409, description = "The ticket is resolved, or its customer must wait for an agent's reply", body = ErrorEnvelope),
        (status = 429, description = "Too many new tickets and replies from this account; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_replies(
    State(app): State<App>,
    caller: Caller,
    once: Once,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
    JsonBody(request): JsonBody<CreateReplyRequest>,
) -> Result<Response, Problem> {
    app.limits.admit_write(caller.id())?;
    let id = TicketId::parse("ticketId", &raw_id)?;
    let body = ReplyBody::parse(required("body", request.body)?)?;
    let kind = match request.internal {
        Some(true) => ReplyKind::Internal,
        Some(false) | None => ReplyKind::Public,
    };
    let recording = once.recording(reply_created);
    let reply = as_caller(&app, caller, move |store, caller| {
        store.add_reply_once(caller, id, &body, kind, recording.as_ref())
    })
    .await?;
    Ok(once.respond(reply_created(&reply)))
}

/// A new reply's answer, as sent and as kept for a retry.
fn reply_created(reply: &Reply) -> StoredAnswer {
    created(&Envelope::new(
        "Reply was created successfully",
        ReplyJson::from(reply.clone()),
    ))
}

/// A ticket's replies, oldest first; a customer never sees internal notes.
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}/replies",
    tag = "replies",
    params(TicketPath, PageQuery),
    responses((status = 200, description = "One page of replies", body = PageEnvelope<ReplyJson>)),
    security(("bearer" = []))
)]
async fn get_replies(
    State(app): State<App>,
    caller: Caller,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<PageEnvelope<ReplyJson>, Problem> {
    let (page, replies) = ticket_records(
        &app,
        caller,
        &raw_id,
        query,
        TicketRecords::Replies,
        Store::list_replies,
    )
    .await?;
    Ok(PageEnvelope::new(
        "Replies retrieved successfully",
        page,
        replies,
        &app.keys.cursors,
    ))
}

/// A ticket's history, oldest first. A customer sees its creation,
/// replies, status and priority changes; staff also see notes,
/// assignments and tag changes.
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}/events",
    tag = "history",
    params(TicketPath, PageQuery),
    responses((status = 200, description = "One page of events", body = PageEnvelope<EventJson>)),
    security(("bearer" = []))
)]
async fn get_events(
    State(app): State<App>,
    caller: Caller,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<PageEnvelope<EventJson>, Problem> {
    let (page, events) = ticket_records(
        &app,
        caller,
        &raw_id,
        query,
        TicketRecords::Events,
        Store::list_events,
    )
    .await?;
    Ok(PageEnvelope::new(
        "Events retrieved successfully",
        page,
        events,
        &app.keys.cursors,
    ))
}

/// A page of one ticket's records (`list`: replies or events), oldest
/// first. The paging is parsed once the caller is known: a cursor belongs
/// to its caller and its ticket.
async fn ticket_records<T: Send + 'static>(
    app: &App,
    caller: Caller,
    raw_id: &str,
    query: PageQuery,
    list: TicketRecords,
    read: fn(&Store, Actor, TicketId, PageRequest) -> StoreResult<Page<T>>,
) -> Result<(PageRequest, Page<T>), Problem> {
    let id = TicketId::parse("ticketId", raw_id)?;
    let keys = app.keys.clone();
    as_caller(app, caller, move |store, caller| {
        let page = PageRequest::of_ticket_records(query.paging(), &keys.cursors, list, id, caller)?;
        Ok::<_, Problem>((page, read(store, caller, id, page)?))
    })
    .await
}
