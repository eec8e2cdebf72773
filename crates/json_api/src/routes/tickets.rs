//! `POST/GET /tickets`, `GET/PUT/PATCH /tickets/:ticketId`.

use axum::extract::State;
use axum::response::Response;
use domain::idempotency::StoredAnswer;
use domain::ticket_list::TicketQuery;
use domain::values::parse_id;
use domain::{
    EntityTag, ListTickets, Priority, SeenTicket, Subject, TagSet, TicketBody, TicketChange,
    TicketId, TicketStatus, UserId, ValidationError,
};
use edge::App;
use edge::problem::Problem;
use store::NewTicket;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::{Caller, as_caller, on_store};
use crate::conditional::{IfMatch, IfNoneMatch, read_answer, tagged};
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::idempotency::{Once, created};
use crate::wire::{
    ChangeTicketRequest, CreateTicketRequest, Envelope, ErrorEnvelope, IdempotencyKeyHeader,
    IfMatchHeader, IfNoneMatchHeader, PageEnvelope, PageQuery, TicketFilters, TicketJson,
    TicketPath, UpdateTicketRequest,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_tickets, post_tickets))
        .routes(routes!(get_ticket, put_ticket, patch_ticket))
}

impl TryFrom<CreateTicketRequest> for NewTicket {
    type Error = Problem;

    fn try_from(request: CreateTicketRequest) -> Result<Self, Problem> {
        Ok(NewTicket {
            subject: request.subject.map(Subject::parse).transpose()?,
            body: TicketBody::parse(required("body", request.body)?)?,
        })
    }
}

impl TryFrom<ChangeTicketRequest> for TicketChange {
    type Error = Problem;

    fn try_from(request: ChangeTicketRequest) -> Result<Self, Problem> {
        let assignee = request
            .assignee
            .map(|value| value.map(parse_user_id).transpose())
            .transpose()?;
        Ok(TicketChange {
            priority: request
                .priority
                .as_deref()
                .map(str::parse::<Priority>)
                .transpose()?,
            assignee,
            tags: request.tags.map(TagSet::parse).transpose()?,
        })
    }
}

/// A user `_id`: its digits as a string, as the API writes it, or as a
/// JSON number; `5.0` is the number 5, as JSON Schema's `integer` says.
fn parse_user_id(value: serde_json::Value) -> Result<UserId, ValidationError> {
    let digits = match &value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) => match number.as_f64() {
            // Up to 2^53, where a float still holds every integer exactly.
            Some(float)
                if number.is_f64()
                    && float.fract() == 0.0
                    && float.abs() <= 9_007_199_254_740_992.0 =>
            {
                format!("{float:.0}")
            }
            _ => number.to_string(),
        },
        _ => String::new(),
    };
    parse_id("assignee", &digits)
        .map(UserId)
        .map_err(|_| ValidationError::new("assignee", "must be a user _id or null"))
}

/// Open a ticket (customers only); it starts `UNATTENDED`.
#[utoipa::path(
    post,
    path = "/tickets",
    tag = "tickets",
    params(IdempotencyKeyHeader),
    request_body = CreateTicketRequest,
    responses(
        (status = 201, description = "Ticket created", body = Envelope<TicketJson>),
        (status = 403, description = "Only customers open tickets", body = ErrorEnvelope),
        (status = 429, description = "Too many new tickets and replies from this account; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_tickets(
    State(app): State<App>,
    caller: Caller,
    once: Once,
    JsonBody(request): JsonBody<CreateTicketRequest>,
) -> Result<Response, Problem> {
    app.limits.admit_write(caller.id())?;
    let new = NewTicket::try_from(request)?;
    let recording = once.recording(ticket_created);
    let ticket = as_caller(&app, caller, move |store, caller| {
        store.create_ticket_once(caller, &new, recording.as_ref())
    })
    .await?;
    Ok(once.respond(ticket_created(&ticket)))
}

/// A new ticket's answer, as sent and as kept for a retry.
fn ticket_created(ticket: &SeenTicket) -> StoredAnswer {
    created(&Envelope::new(
        "Ticket was created successfully",
        TicketJson::from(ticket.clone()),
    ))
}

/// List tickets: a customer's own, or every ticket for staff.
#[utoipa::path(
    get,
    path = "/tickets",
    tag = "tickets",
    params(PageQuery, TicketFilters),
    responses(
        (status = 200, description = "One page of tickets", body = PageEnvelope<TicketJson>),
        (status = 403, description = "A customer filtered by `assignee` or `tag`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_tickets(
    State(app): State<App>,
    caller: Caller,
    QueryParams(paging): QueryParams<PageQuery>,
    QueryParams(query): QueryParams<TicketFilters>,
) -> Result<PageEnvelope<TicketJson>, Problem> {
    let keys = app.keys.clone();
    let (page_request, page) = as_caller(&app, caller, move |store, caller| {
        // Parsed once the caller is known: a cursor is theirs alone.
        let request = ListTickets::parse(
            TicketQuery {
                paging: paging.paging(),
                sort: query.sort.as_deref(),
                direction: query.direction.as_deref(),
                status: query.status.as_deref(),
                priority: query.priority.as_deref(),
                assignee: query.assignee.as_deref(),
                tag: query.tag.as_deref(),
                q: query.q.as_deref(),
                breached: query.breached.as_deref(),
            },
            caller,
            &keys.cursors,
        )?;
        let page = store.list_tickets(caller, &request)?;
        Ok::<_, Problem>((request.page, page))
    })
    .await?;
    Ok(PageEnvelope::new(
        "Tickets retrieved successfully",
        page_request,
        page,
        &app.keys.cursors,
    ))
}

/// One ticket; another customer's ticket is 404, like a missing one. Its
/// `ETag` is the version of the ticket as the caller sees it: a customer's
/// does not change on a note or a tag change, which they do not see.
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}",
    tag = "tickets",
    params(TicketPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The ticket", body = Envelope<TicketJson>,
            headers(("ETag" = String, description = "The version of the ticket as the caller sees it (strong)"))),
        (status = 304, description = "The copy named by `If-None-Match` is current; no body",
            headers(("ETag" = String, description = "The current version"))),
    ),
    security(("bearer" = []))
)]
async fn get_ticket(
    State(app): State<App>,
    caller: Caller,
    if_none_match: IfNoneMatch,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
) -> Result<Response, Problem> {
    let id = TicketId::parse("ticketId", &raw_id)?;
    // A session's account and the ticket in one query (`Caller::read_ticket`).
    let ticket = on_store(&app, move |store| caller.read_ticket(store, id)).await?;
    let tag = EntityTag::of_ticket(&ticket);
    Ok(read_answer(
        &tag,
        &if_none_match,
        Envelope::new("Ticket retrieved successfully", TicketJson::from(ticket)),
    ))
}

/// A changed ticket's answer, with its new `ETag`.
fn changed_ticket(ticket: SeenTicket) -> Response {
    let tag = EntityTag::of_ticket(&ticket);
    tagged(
        &tag,
        Envelope::new("Ticket updated successfully", TicketJson::from(ticket)),
    )
}

/// Resolve a ticket (its own customer only); resolving twice changes
/// nothing.
#[utoipa::path(
    put,
    path = "/tickets/{ticketId}",
    tag = "tickets",
    params(TicketPath, IfMatchHeader),
    request_body = UpdateTicketRequest,
    responses(
        (status = 200, description = "The ticket, resolved", body = Envelope<TicketJson>,
            headers(("ETag" = String, description = "The ticket's new version as the caller sees it"))),
        (status = 403, description = "Only the ticket's customer resolves it", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn put_ticket(
    State(app): State<App>,
    caller: Caller,
    IfMatch(precondition): IfMatch,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
    JsonBody(request): JsonBody<UpdateTicketRequest>,
) -> Result<Response, Problem> {
    let id = TicketId::parse("ticketId", &raw_id)?;
    let status: TicketStatus = required("status", request.status)?.parse()?;
    let ticket = as_caller(&app, caller, move |store, caller| {
        store.change_ticket_status_if(caller, id, status, &precondition)
    })
    .await?;
    Ok(changed_ticket(ticket))
}

/// Triage (support agents and admins): set the priority, the assignee or
/// the tags, in any status. A change to what already is records nothing
/// and leaves `updatedAt`; so does a change of tags alone.
#[utoipa::path(
    patch,
    path = "/tickets/{ticketId}",
    tag = "tickets",
    params(TicketPath, IfMatchHeader),
    request_body = ChangeTicketRequest,
    responses(
        (status = 200, description = "The ticket, changed", body = Envelope<TicketJson>,
            headers(("ETag" = String, description = "The ticket's new version as the caller sees it"))),
        (status = 403, description = "Customers do not triage tickets", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn patch_ticket(
    State(app): State<App>,
    caller: Caller,
    IfMatch(precondition): IfMatch,
    PathParam(TicketPath { ticket_id: raw_id }): PathParam<TicketPath>,
    JsonBody(request): JsonBody<ChangeTicketRequest>,
) -> Result<Response, Problem> {
    let id = TicketId::parse("ticketId", &raw_id)?;
    let change = TicketChange::try_from(request)?;
    let ticket = as_caller(&app, caller, move |store, caller| {
        store.change_ticket_if(caller, id, &change, &precondition)
    })
    .await?;
    Ok(changed_ticket(ticket))
}
