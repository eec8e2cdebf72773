//! `POST/GET /tickets/:ticketId/replies`.

use axum::extract::State;
use axum::response::Response;
use domain::values::parse_id;
use domain::{PageRequest, ReplyBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;
use crate::wire::{
    CreateReplyRequest, Envelope, ErrorEnvelope, PageEnvelope, PageMeta, PageQuery, ReplyJson,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_replies, post_replies))
}

/// Reply to a ticket: staff on any open ticket (an agent's reply marks it
/// `REPLIED`), its author only once an agent has replied.
#[utoipa::path(
    post,
    path = "/tickets/{ticketId}/replies",
    tag = "replies",
    params(("ticketId" = i64, Path, description = "The ticket's `ticketId`")),
    request_body = CreateReplyRequest,
    responses(
        (status = 201, description = "Reply created", body = Envelope<ReplyJson>),
        (status = 403, description = "Admins do not reply", body = ErrorEnvelope),
        (status = 409, description = "The ticket is resolved, or its customer must wait for an agent's reply", body = ErrorEnvelope),
        (status = 429, description = "Too many new tickets and replies from this account; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_replies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
    JsonBody(request): JsonBody<CreateReplyRequest>,
) -> Result<Response, ApiError> {
    state.limits.admit_write(caller.id)?;
    let id = parse_id("ticketId", &raw_id)?;
    let body = ReplyBody::parse(required("body", request.body)?)?;
    let reply = state
        .blocking(move |store| store.add_reply(caller, id, &body))
        .await?;
    Ok(Envelope::new("Reply was created successfully", ReplyJson::from(reply)).created())
}

/// A ticket's replies, oldest first.
#[utoipa::path(
    get,
    path = "/tickets/{ticketId}/replies",
    tag = "replies",
    params(("ticketId" = i64, Path, description = "The ticket's `ticketId`"), PageQuery),
    responses((status = 200, description = "One page of replies", body = PageEnvelope<ReplyJson>)),
    security(("bearer" = []))
)]
async fn get_replies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<PageEnvelope<ReplyJson>, ApiError> {
    let id = parse_id("ticketId", &raw_id)?;
    let page = PageRequest::parse(query.page.as_deref(), query.limit.as_deref())?;
    let replies = state
        .blocking(move |store| store.list_replies(caller, id, page))
        .await?;
    let meta = PageMeta::of(page, replies.total);
    Ok(PageEnvelope::new(
        "Replies retrieved successfully",
        replies.replies,
        meta,
    ))
}
