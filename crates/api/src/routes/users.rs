//! `POST /users` (sign-up, or staff accounts by an admin), and the admin's
//! `GET /users` and `PATCH /users/:id`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{patch, post};
use domain::values::parse_id;
use domain::{ListUsers, Pin, Role, UserId, Username, rules};
use serde::Deserialize;
use store::{NewUser, UserChange};

use super::required;
use crate::auth::{Caller, MaybeCaller, hash_pin};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::{AppState, run_blocking};
use crate::wire::{Envelope, PageMeta, UserJson, all};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", post(create_user).get(list_users))
        .route("/users/{id}", patch(update_user))
}

#[derive(Debug, Deserialize)]
struct CreateUserRequest {
    username: Option<String>,
    pin: Option<String>,
    /// Absent means a customer's own sign-up.
    role: Option<String>,
}

async fn create_user(
    State(state): State<AppState>,
    MaybeCaller(creator): MaybeCaller,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let username = Username::parse(required("username", request.username)?)?;
    let pin = Pin::parse(required("pin", request.pin)?)?;
    let role = match request.role {
        Some(role) => role.parse::<Role>()?,
        None => Role::Customer,
    };
    rules::create_user(creator, role)?;
    let pin_hash = run_blocking(move || hash_pin(&pin)).await?;
    let new = NewUser {
        username,
        pin_hash,
        role,
    };
    let user = state.blocking(move |store| store.create_user(&new)).await?;
    Ok(Envelope::new("User was created successfully", UserJson::from(user)).created())
}

#[derive(Debug, Deserialize)]
struct ListUsersQuery {
    page: Option<String>,
    limit: Option<String>,
    role: Option<String>,
}

async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<ListUsersQuery>,
) -> Result<Envelope<Vec<UserJson>>, ApiError> {
    rules::manage_users(caller)?;
    let request = ListUsers::parse(
        query.page.as_deref(),
        query.limit.as_deref(),
        query.role.as_deref(),
    )?;
    let page = state
        .blocking(move |store| store.list_users(&request))
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

async fn update_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<Envelope<UserJson>, ApiError> {
    rules::manage_users(caller)?;
    let id = UserId(parse_id("id", &id)?);
    let change = UserChange {
        role: request.role.as_deref().map(str::parse).transpose()?,
        active: request.active,
    };
    let user = state
        .blocking(move |store| store.update_user(id, change))
        .await?;
    Ok(Envelope::new(
        "User updated successfully",
        UserJson::from(user),
    ))
}
