//! `POST /users` (sign-up, or staff accounts by an admin), and the admin's
//! `GET /users` and `PATCH /users/:id`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{patch, post};
use domain::values::parse_id;
use domain::{ListUsers, Pin, UserChange, UserId, Username};
use serde::Deserialize;
use store::NewAccount;

use super::required;
use crate::auth::{Caller, MaybeCaller};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;
use crate::wire::{Envelope, PageMeta, UserJson, all};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", post(post_users).get(get_users))
        .route("/users/{id}", patch(patch_user))
}

#[derive(Debug, Deserialize)]
struct CreateUserRequest {
    username: Option<String>,
    pin: Option<String>,
    /// Absent means a customer's own sign-up.
    role: Option<String>,
}

async fn post_users(
    State(state): State<AppState>,
    MaybeCaller(creator): MaybeCaller,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let new = NewAccount {
        username: Username::parse(required("username", request.username)?)?,
        pin: Pin::parse(required("pin", request.pin)?)?,
        role: request.role.as_deref().map(str::parse).transpose()?,
    };
    let user = state
        .blocking(move |store| store.create_user(creator, &new))
        .await?;
    Ok(Envelope::new("User was created successfully", UserJson::from(user)).created())
}

#[derive(Debug, Deserialize)]
struct ListUsersQuery {
    page: Option<String>,
    limit: Option<String>,
    role: Option<String>,
}

async fn get_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<ListUsersQuery>,
) -> Result<Envelope<Vec<UserJson>>, ApiError> {
    let request = ListUsers::parse(
        query.page.as_deref(),
        query.limit.as_deref(),
        query.role.as_deref(),
    )?;
    let page = state
        .blocking(move |store| store.list_users(caller, &request))
        .await?;
    let meta = PageMeta::of(request.page, page.total);
    Ok(Envelope::page(
        "Users retrieved successfully",
        all(page.users),
        meta,
    ))
}

#[derive(Debug, Deserialize)]
struct UpdateUserRequest {
    role: Option<String>,
    active: Option<bool>,
}

async fn patch_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<Envelope<UserJson>, ApiError> {
    let id = UserId(parse_id("id", &id)?);
    let change = UserChange {
        role: request.role.as_deref().map(str::parse).transpose()?,
        active: request.active,
    };
    let user = state
        .blocking(move |store| store.update_user(caller, id, change))
        .await?;
    Ok(Envelope::new(
        "User updated successfully",
        UserJson::from(user),
    ))
}
