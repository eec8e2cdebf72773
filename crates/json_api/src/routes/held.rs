//! What inbound mail leaves for staff: the messages it held (`/held`) and
//! the original message a ticket or reply came from
//! (`/tickets/{ticketId}/original`, `/replies/{id}/original`). Staff only:
//! to a customer, held messages and originals do not exist.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::values::parse_id;
use domain::{Actor, PageRequest, TicketId};
use edge::App;
use edge::problem::Problem;
use store::{HeldMessage, Store, StoreResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, as_caller};
use crate::extract::{PathParam, QueryParams};
use crate::wire::{
    Envelope, ErrorEnvelope, HeldMessageJson, HeldPath, PageEnvelope, PageQuery, ReplyPath,
    TicketPath,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_held))
        .routes(routes!(get_held_message, dismiss_held_message))
        .routes(routes!(get_ticket_original))
        .routes(routes!(get_reply_original))
}

/// The held messages staff have not dismissed, newest first (agents and
/// admins).
#[utoipa::path(
    get,
    path = "/held",
    tag = "mail",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of held messages", body = PageEnvelope<HeldMessageJson>),
        (status = 403, description = "Only support agents and admins see held mail", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_held(
    State(app): State<App>,
    caller: Caller,
    QueryParams(paging): QueryParams<PageQuery>,
) -> Result<PageEnvelope<HeldMessageJson>, Problem> {
    let keys = app.keys.clone();
    let (page, held, viewer) = as_caller(&app, caller, move |store, caller| {
        let page = PageRequest::of_held(paging.paging(), &keys.cursors, caller)?;
        Ok::<_, Problem>((page, store.list_held(caller, page)?, caller))
    })
    .await?;
    let seen = held.map(|held| HeldMessageJson::seen_by(viewer, held));
    Ok(PageEnvelope::new(
        "Held messages retrieved successfully",
        page,
        seen,
        &app.keys.cursors,
    ))
}

/// One held message, dismissed or not (agents and admins).
#[utoipa::path(
    get,
    path = "/held/{id}",
    tag = "mail",
    params(HeldPath),
    responses(
        (status = 200, description = "The held message", body = Envelope<HeldMessageJson>),
        (status = 404, description = "No such held message (or the caller is a customer)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_held_message(
    State(app): State<App>,
    caller: Caller,
    PathParam(HeldPath { id }): PathParam<HeldPath>,
) -> Result<Envelope<HeldMessageJson>, Problem> {
    let held = one_held(&app, caller, &id, Store::read_held).await?;
    Ok(Envelope::new("Held message retrieved successfully", held))
}

/// Dismiss a held message (agents and admins): it leaves the list, stays
/// readable here, and its ticket's history records the dismissal
/// (`held_dismissed`). Dismissing it again changes nothing.
#[utoipa::path(
    delete,
    path = "/held/{id}",
    tag = "mail",
    params(HeldPath),
    responses(
        (status = 200, description = "The held message, dismissed", body = Envelope<HeldMessageJson>),
        (status = 404, description = "No such held message (or the caller is a customer)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn dismiss_held_message(
    State(app): State<App>,
    caller: Caller,
    PathParam(HeldPath { id }): PathParam<HeldPath>,
) -> Result<Envelope<HeldMessageJson>, Problem> {
    let held = one_held(&app, caller, &id, Store::dismiss_held).await?;
    Ok(Envelope::new("Held message dismissed", held))
}

/// The message that opened a ticket, byte for byte as received (agents
/// and admins).
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}/original",
    tag = "mail",
    params(TicketPath),
    responses(
        (status = 200, description = "The raw message", content_type = "message/rfc822", body = String),
        (status = 404, description = "The ticket was not opened by mail, does not exist, or the caller is a customer", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_ticket_original(
    State(app): State<App>,
    caller: Caller,
    PathParam(TicketPath { ticket_id }): PathParam<TicketPath>,
) -> Result<Response, Problem> {
    let id = TicketId::parse("ticketId", &ticket_id)?;
    let raw = as_caller(&app, caller, move |store, caller| {
        store.ticket_original(caller, id)
    })
    .await?;
    Ok(message(raw))
}

/// The message a reply came from, byte for byte as received (agents and
/// admins).
#[utoipa::path(
    get,
    path = "/replies/{id}/original",
    tag = "mail",
    params(ReplyPath),
    responses(
        (status = 200, description = "The raw message", content_type = "message/rfc822", body = String),
        (status = 404, description = "The reply did not come by mail, does not exist, or the caller is a customer", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_reply_original(
    State(app): State<App>,
    caller: Caller,
    PathParam(ReplyPath { id }): PathParam<ReplyPath>,
) -> Result<Response, Problem> {
    let id = parse_id("id", &id)?;
    let raw = as_caller(&app, caller, move |store, caller| {
        store.reply_original(caller, id)
    })
    .await?;
    Ok(message(raw))
}

/// What `act` (a read or a dismissal) answers for the held message `id`,
/// as the caller sees it.
async fn one_held(
    app: &App,
    caller: Caller,
    id: &str,
    act: fn(&Store, Actor, i64) -> StoreResult<HeldMessage>,
) -> Result<HeldMessageJson, Problem> {
    let id = parse_id("id", id)?;
    as_caller(app, caller, move |store, caller| {
        Ok::<_, Problem>(HeldMessageJson::seen_by(caller, act(store, caller, id)?))
    })
    .await
}

/// A raw message as the answer's body.
fn message(raw: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "message/rfc822")], raw).into_response()
}
