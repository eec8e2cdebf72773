//! `POST/GET /tickets`, `GET/PUT /tickets/:ticketId`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use domain::values::parse_id;
use domain::{ListTickets, Subject, TicketBody, TicketStatus};
use serde::Deserialize;
use store::NewTicket;

use super::required;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;
use crate::wire::{Envelope, PageMeta, TicketJson, all};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(get_tickets).post(post_tickets))
        .route("/tickets/{ticketId}", get(get_ticket).put(put_ticket))
}

#[derive(Debug, Deserialize)]
struct CreateTicketRequest {
    subject: Option<String>,
    body: Option<String>,
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

async fn post_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<CreateTicketRequest>,
) -> Result<Response, ApiError> {
    let new = NewTicket::try_from(request)?;
    let ticket = state
        .blocking(move |store| store.create_ticket(caller, &new))
        .await?;
    Ok(Envelope::new("Ticket was created successfully", TicketJson::from(ticket)).created())
}

#[derive(Debug, Deserialize)]
struct ListTicketsQuery {
    page: Option<String>,
    limit: Option<String>,
    sort: Option<String>,
    direction: Option<String>,
    status: Option<String>,
}

async fn get_tickets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<ListTicketsQuery>,
) -> Result<Envelope<Vec<TicketJson>>, ApiError> {
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
    Ok(Envelope::page(
        "Tickets retrieved successfully",
        all(page.tickets),
        meta,
    ))
}

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

#[derive(Debug, Deserialize)]
struct UpdateTicketRequest {
    status: Option<String>,
}

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
