//! `POST/GET /tickets`, `GET/PUT /tickets/:ticketId`.

use axum::extract::State;
use axum::response::Response;
use domain::values::parse_id;
use domain::{ListTickets, Subject, TicketBody, TicketStatus};
use store::NewTicket;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;
use crate::wire::{
    CreateTicketRequest, Envelope, ErrorEnvelope, ListTicketsQuery, PageEnvelope, PageMeta,
    TicketJson, UpdateTicketRequest,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tickets, post_tickets))
        .routes(routes!(get_ticket, put_ticket))
}

impl TryFrom<CreateTicketRequest> for NewTicket {
    type Error = ApiError;

    fn try_from(request: CreateTicketRequest) -> Result<Self, ApiError> {
        Ok(NewTicket {
            subject: request.subject.map(Subject::parse).transpose()?,
            body: TicketBody::parse(required("body", request.body)?)?,
        })
    }
}

/// Open a ticket (customers only); it starts `UNATTENDED`.
#[utoipa::path(
    post,
    path = "/tickets",
    tag = "tickets",
    request_body = CreateTicketRequest,
    responses(
        (status = 201, description = "Ticket created", body = Envelope<TicketJson>),
        (status = 403, description = "Only customers open tickets", body = ErrorEnvelope),
        (status = 429, description = "Too many new tickets and replies from this account; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<CreateTicketRequest>,
) -> Result<Response, ApiError> {
    state.limits.admit_write(caller.id)?;
    let new = NewTicket::try_from(request)?;
    let ticket = state
        .blocking(move |store| store.create_ticket(caller, &new))
        .await?;
    Ok(Envelope::new("Ticket was created successfully", TicketJson::from(ticket)).created())
}

/// List tickets: a customer's own, or every ticket for staff.
#[utoipa::path(
    get,
    path = "/tickets",
    tag = "tickets",
    params(ListTicketsQuery),
    responses((status = 200, description = "One page of tickets", body = PageEnvelope<TicketJson>)),
    security(("bearer" = []))
)]
async fn get_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<ListTicketsQuery>,
) -> Result<PageEnvelope<TicketJson>, ApiError> {
    let request = ListTickets::parse(
        query.page.as_deref(),
        query.limit.as_deref(),
        query.sort.as_deref(),
        query.direction.as_deref(),
        query.status.as_deref(),
    )?;
    let page = state
        .blocking(move |store| store.list_tickets(caller, &request))
        .await?;
    let meta = PageMeta::of(request.page, page.total);
    Ok(PageEnvelope::new(
        "Tickets retrieved successfully",
        page.tickets,
        meta,
    ))
}

/// One ticket; another customer's ticket is 404, like a missing one.
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}",
    tag = "tickets",
    params(("ticketId" = i64, Path, description = "The ticket's `ticketId`")),
    responses((status = 200, description = "The ticket", body = Envelope<TicketJson>)),
    security(("bearer" = []))
)]
async fn get_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
) -> Result<Envelope<TicketJson>, ApiError> {
    let id = parse_id("ticketId", &raw_id)?;
    let ticket = state
        .blocking(move |store| store.read_ticket(caller, id))
        .await?;
    Ok(Envelope::new(
        "Ticket retrieved successfully",
        TicketJson::from(ticket),
    ))
}

/// Resolve a ticket (its own customer only); resolving twice changes
/// nothing.
#[utoipa::path(
    put,
    path = "/tickets/{ticketId}",
    tag = "tickets",
    params(("ticketId" = i64, Path, description = "The ticket's `ticketId`")),
    request_body = UpdateTicketRequest,
    responses(
        (status = 200, description = "The ticket, resolved", body = Envelope<TicketJson>),
        (status = 403, description = "Only the ticket's customer resolves it", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn put_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
    JsonBody(request): JsonBody<UpdateTicketRequest>,
) -> Result<Envelope<TicketJson>, ApiError> {
    let id = parse_id("ticketId", &raw_id)?;
    let status: TicketStatus = required("status", request.status)?.parse()?;
    let ticket = state
        .blocking(move |store| store.change_ticket_status(caller, id, status))
        .await?;
    Ok(Envelope::new(
        "Ticket updated successfully",
        TicketJson::from(ticket),
    ))
}
