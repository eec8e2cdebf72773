//! `POST /users` (sign-up, or staff accounts by an admin), the caller's own
//! `GET /users/me`, `PATCH /users/me` and `PUT /users/me/pin`, one account at `GET /users/:id`
//! (its owner or an admin), and the admin's `GET /users` and
//! `PATCH /users/:id`.

use axum::extract::State;
use axum::response::Response;
use domain::audience::{see_own_user, see_user};
use domain::idempotency::StoredAnswer;
use domain::login::WRONG_CURRENT_PIN;
use domain::values::parse_id;
use domain::{
    EmailAddress, EntityTag, ListUsers, Page, Pin, Refusal, SeenUser, User, UserChange, UserId,
    Username,
};
use edge::App;
use edge::limits::ClientAddress;
use edge::problem::Problem;
use store::NewAccount;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{required, signed_in};
use crate::auth::{Caller, MaybeCaller, as_caller, on_store};
use crate::conditional::{IfMatch, IfNoneMatch, read_answer, tagged};
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::idempotency::{Once, created};
use crate::wire::{
    ChangePinRequest, CreateUserRequest, Envelope, ErrorEnvelope, IdempotencyKeyHeader,
    IfMatchHeader, IfNoneMatchHeader, PageEnvelope, PageQuery, SessionEnvelope, UpdateMeRequest,
    UpdateUserRequest, UserFilters, UserJson, UserPath,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_users, post_users))
        .routes(routes!(get_me, patch_me))
        .routes(routes!(put_my_pin))
        .routes(routes!(get_user, patch_user))
}

/// Sign up as a customer (no token), or create any account with an
/// admin's token.
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    params(IdempotencyKeyHeader),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Account created", body = Envelope<UserJson>),
        (status = 401, description = "A staff role was asked for without a token, or the token does not hold", body = ErrorEnvelope),
        (status = 403, description = "Only admins create staff accounts", body = ErrorEnvelope),
        (status = 400, description = "A field is missing or malformed (a bad `email` included)", body = ErrorEnvelope),
        (status = 409, description = "The username is taken, or the address belongs to another account", body = ErrorEnvelope),
        (status = 429, description = "Too many accounts created from this address (a signed-in customer's or agent's creations count too; an admin's do not); see `Retry-After`", body = ErrorEnvelope),
    ),
    security((), ("bearer" = []))
)]
async fn post_users(
    State(app): State<App>,
    MaybeCaller(creator): MaybeCaller,
    client: ClientAddress,
    once: Once,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> Result<Response, Problem> {
    app.limits.admit_account_creation(client, creator.into())?;
    let new = NewAccount {
        username: Username::parse(required("username", request.username)?)?,
        pin: Pin::parse(required("pin", request.pin)?)?,
        role: request.role.as_deref().map(str::parse).transpose()?,
        email: request.email.map(EmailAddress::parse).transpose()?,
    };
    let hashing = app.store.reserve_hashing()?;
    let recording = once.recording(user_created);
    let user = on_store(&app, move |store| {
        store.create_user_once(hashing, creator.into(), &new, recording.as_ref())
    })
    .await?;
    Ok(once.respond(user_created(&user)))
}

/// A new account's answer, as sent and as kept for a retry; its creator
/// gave it its address, so sees it.
fn user_created(user: &User) -> StoredAnswer {
    created(&Envelope::new(
        "User was created successfully",
        UserJson::from(see_own_user(user.clone())),
    ))
}

/// List accounts in id order (admins only).
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(PageQuery, UserFilters),
    responses(
        (status = 200, description = "One page of users", body = PageEnvelope<UserJson>),
        (status = 403, description = "Only admins manage users", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_users(
    State(app): State<App>,
    caller: Caller,
    QueryParams(paging): QueryParams<PageQuery>,
    QueryParams(query): QueryParams<UserFilters>,
) -> Result<PageEnvelope<UserJson>, Problem> {
    let keys = app.keys.clone();
    let (page_request, page) = as_caller(&app, caller, move |store, caller| {
        let request = ListUsers::parse(
            paging.paging(),
            query.role.as_deref(),
            caller,
            &keys.cursors,
        )?;
        let page = store.list_users(caller, &request)?;
        let page: Page<SeenUser> = page.map(|user| see_user(caller, user));
        Ok::<_, Problem>((request.page, page))
    })
    .await?;
    Ok(PageEnvelope::new(
        "Users retrieved successfully",
        page_request,
        page,
        &app.keys.cursors,
    ))
}

/// Change an account's role, standing, PIN or address (admins only). A PIN reset
/// or a deactivation ends every token issued to the user before it; the
/// last active admin cannot be demoted or deactivated.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    params(UserPath, IfMatchHeader),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The account after the change", body = Envelope<UserJson>,
            headers(("ETag" = String, description = "The account's new version"))),
        (status = 400, description = "A field is malformed (a bad `email` included)", body = ErrorEnvelope),
        (status = 403, description = "Only admins manage users", body = ErrorEnvelope),
        (status = 409, description = "The change would leave no active admin, or the address belongs to another account", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn patch_user(
    State(app): State<App>,
    caller: Caller,
    IfMatch(precondition): IfMatch,
    PathParam(UserPath { id }): PathParam<UserPath>,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<Response, Problem> {
    let id = UserId(parse_id("id", &id)?);
    let change = UserChange {
        role: request.role.as_deref().map(str::parse).transpose()?,
        active: request.active,
        pin: request.pin.map(Pin::parse).transpose()?,
        email: request
            .email
            .map(|email| email.map(EmailAddress::parse).transpose())
            .transpose()?,
    };
    let seen = as_caller(&app, caller, move |store, caller| {
        let user = store.update_user_if(caller, id, &change, &precondition)?;
        Ok::<_, Problem>(see_user(caller, user))
    })
    .await?;
    let tag = EntityTag::of_user(&seen);
    Ok(tagged(
        &tag,
        Envelope::new("User updated successfully", UserJson::from(seen)),
    ))
}

/// One account: the caller's own, or any for an admin; anyone else's is
/// 404, like a missing one.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(UserPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The account", body = Envelope<UserJson>,
            headers(("ETag" = String, description = "The account's version (strong)"))),
        (status = 304, description = "The copy named by `If-None-Match` is current; no body",
            headers(("ETag" = String, description = "The current version"))),
    ),
    security(("bearer" = []))
)]
async fn get_user(
    State(app): State<App>,
    caller: Caller,
    if_none_match: IfNoneMatch,
    PathParam(UserPath { id }): PathParam<UserPath>,
) -> Result<Response, Problem> {
    let id = UserId(parse_id("id", &id)?);
    let seen = as_caller(&app, caller, move |store, caller| {
        Ok::<_, Problem>(see_user(caller, store.read_user(caller, id)?))
    })
    .await?;
    Ok(read_account(seen, &if_none_match))
}

/// The caller's own account.
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    params(IfNoneMatchHeader),
    responses(
        (status = 200, description = "The caller's account", body = Envelope<UserJson>,
            headers(("ETag" = String, description = "The account's version (strong)"))),
        (status = 304, description = "The copy named by `If-None-Match` is current; no body",
            headers(("ETag" = String, description = "The current version"))),
    ),
    security(("bearer" = []))
)]
async fn get_me(
    State(app): State<App>,
    caller: Caller,
    if_none_match: IfNoneMatch,
) -> Result<Response, Problem> {
    let seen = as_caller(&app, caller, move |store, caller| {
        Ok::<_, Problem>(see_user(caller, store.read_user(caller, caller.id())?))
    })
    .await?;
    Ok(read_account(seen, &if_none_match))
}

/// Change the caller's own account: its address (`null` clears it).
#[utoipa::path(
    patch,
    path = "/users/me",
    tag = "users",
    params(IfMatchHeader),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The caller's account after the change", body = Envelope<UserJson>,
            headers(("ETag" = String, description = "The account's new version"))),
        (status = 400, description = "A bad `email`", body = ErrorEnvelope),
        (status = 409, description = "The address belongs to another account", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn patch_me(
    State(app): State<App>,
    caller: Caller,
    IfMatch(precondition): IfMatch,
    JsonBody(request): JsonBody<UpdateMeRequest>,
) -> Result<Response, Problem> {
    let email = request
        .email
        .map(|email| email.map(EmailAddress::parse).transpose())
        .transpose()?;
    let seen = as_caller(&app, caller, move |store, caller| {
        let user = match email {
            Some(email) => store.change_own_email(caller, email.as_ref(), &precondition)?,
            None => store.read_user(caller, caller.id())?,
        };
        Ok::<_, Problem>(see_user(caller, user))
    })
    .await?;
    let tag = EntityTag::of_user(&seen);
    Ok(tagged(
        &tag,
        Envelope::new("User updated successfully", UserJson::from(seen)),
    ))
}

/// An account read: the envelope with its `ETag`, or 304.
fn read_account(seen: SeenUser, if_none_match: &IfNoneMatch) -> Response {
    let tag = EntityTag::of_user(&seen);
    read_answer(
        &tag,
        if_none_match,
        Envelope::new("User retrieved successfully", UserJson::from(seen)),
    )
}

/// Change the caller's own PIN. The current PIN is checked like a login
/// (wrong ones count towards the lock); on success every token issued
/// before, this one included, stops working, and the answer carries a
/// fresh one.
#[utoipa::path(
    put,
    path = "/users/me/pin",
    tag = "users",
    request_body = ChangePinRequest,
    responses(
        (status = 200, description = "PIN changed; a fresh token", body = SessionEnvelope),
        (status = 403, description = "The current PIN is wrong", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong PINs for this account, or too many PIN changes from this address; see `Retry-After`", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn put_my_pin(
    State(app): State<App>,
    caller: Caller,
    client: ClientAddress,
    JsonBody(request): JsonBody<ChangePinRequest>,
) -> Result<SessionEnvelope, Problem> {
    app.limits.admit_pin_change(client)?;
    let current_pin = required("currentPin", request.current_pin)?;
    let new_pin = Pin::parse(required("newPin", request.new_pin)?)?;
    // A malformed current PIN cannot be anyone's: the same 403 as a wrong one.
    let current_pin = Pin::parse(current_pin).map_err(|_| Refusal::Forbidden(WRONG_CURRENT_PIN))?;
    let hashing = app.store.reserve_hashing()?;
    let session = as_caller(&app, caller, move |store, caller| {
        store.change_own_pin(hashing, caller, &current_pin, &new_pin)
    })
    .await?;
    signed_in(&app, "PIN changed successfully", session)
}
