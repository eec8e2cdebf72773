//! `POST /users` (sign-up, or staff accounts by an admin), and the admin's
//! `GET /users` and `PATCH /users/:id`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
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
        .route("/users/me", get(get_me))
        .route("/users/me/pin", put(put_my_pin))
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
        .blocking(move |store| store.create_user(creator.into(), &new))
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
    /// An admin's reset of a forgotten PIN.
    pin: Option<String>,
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
        pin: request.pin.map(Pin::parse).transpose()?,
    };
    let user = state
        .blocking(move |store| store.update_user(caller, id, &change))
        .await?;
    Ok(Envelope::new(
        "User updated successfully",
        UserJson::from(user),
    ))
}

async fn get_me(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Envelope<UserJson>, ApiError> {
    let user = state
        .blocking(move |store| store.read_user(caller, caller.id))
        .await?;
    Ok(Envelope::new(
        "User retrieved successfully",
        UserJson::from(user),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePinRequest {
    current_pin: Option<String>,
    new_pin: Option<String>,
}

/// Answers the user and a fresh token: every token issued before the
/// change, the caller's own included, has stopped working.
async fn put_my_pin(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<ChangePinRequest>,
) -> Result<Envelope<UserJson>, ApiError> {
    let current_pin = required("currentPin", request.current_pin)?;
    let new_pin = Pin::parse(required("newPin", request.new_pin)?)?;
    // A malformed current PIN cannot be anyone's: the same 403 as a wrong one.
    let current_pin = Pin::parse(current_pin)
        .map_err(|_| domain::Refusal::Forbidden(domain::login::WRONG_CURRENT_PIN))?;
    let session = state
        .blocking(move |store| store.change_own_pin(caller, &current_pin, &new_pin))
        .await?;
    let token = state.tokens.issue(&session)?;
    Ok(Envelope::new("PIN changed successfully", UserJson::from(session.user)).with_token(token))
}
