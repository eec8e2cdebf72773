//! `POST/GET /tickets/:ticketId/replies`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use domain::values::parse_id;
use domain::{PageRequest, ReplyBody};
use serde::Deserialize;

use super::required;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;
use crate::wire::{Envelope, PageMeta, ReplyJson, all};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/tickets/{ticketId}/replies",
        get(get_replies).post(post_replies),
    )
}

#[derive(Debug, Deserialize)]
struct CreateReplyRequest {
    body: Option<String>,
}

async fn post_replies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
    JsonBody(request): JsonBody<CreateReplyRequest>,
) -> Result<Response, ApiError> {
    let id = parse_id("ticketId", &raw_id)?;
    let body = ReplyBody::parse(required("body", request.body)?)?;
    let reply = state
        .blocking(move |store| store.add_reply(caller, id, &body))
        .await?;
    Ok(Envelope::new("Reply was created successfully", ReplyJson::from(reply)).created())
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<String>,
    limit: Option<String>,
}

async fn get_replies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(raw_id): PathParam<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Envelope<Vec<ReplyJson>>, ApiError> {
    let id = parse_id("ticketId", &raw_id)?;
    let page = PageRequest::parse(query.page.as_deref(), query.limit.as_deref())?;
    let replies = state
        .blocking(move |store| store.list_replies(caller, id, page))
        .await?;
    let meta = PageMeta::of(page, replies.total);
    Ok(Envelope::page(
        "Replies retrieved successfully",
        all(replies.replies),
        meta,
    ))
}
