//! Programs' API tokens: the caller's own (`/users/me/tokens`: create,
//! list, revoke) and, for admins, any account's (`/users/:id/tokens`:
//! list, revoke).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::api_tokens::{ExpiresInDays, TokenName};
use domain::values::parse_id;
use domain::{ApiTokenId, NewApiToken, UserId};
use edge::App;
use edge::api_tokens::ApiTokenSecret;
use edge::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::{Caller, as_caller};
use crate::extract::{JsonBody, PathParam};
use crate::wire::{
    ApiTokenJson, CreateApiTokenRequest, CreatedApiTokenJson, Envelope, ErrorEnvelope,
    OwnTokenPath, UserPath, UserTokenPath,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_my_tokens, post_my_tokens))
        .routes(routes!(delete_my_token))
        .routes(routes!(get_user_tokens))
        .routes(routes!(delete_user_token))
}

/// Create an API token for the caller's own account: a credential for a
/// program, acting as the account with its current role. The token is in
/// this answer only. At most 20 live tokens an account.
#[utoipa::path(
    post,
    path = "/users/me/tokens",
    tag = "tokens",
    request_body = CreateApiTokenRequest,
    responses(
        (status = 201, description = "The token, shown only here", body = Envelope<CreatedApiTokenJson>),
        (status = 409, description = "The account holds 20 live tokens already", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_my_tokens(
    State(app): State<App>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateApiTokenRequest>,
) -> Result<Response, Problem> {
    // A field of the wrong kind is named before a missing one, as every
    // body's deserialization does.
    let expires_in = request
        .expires_in_days
        .map(|days| Ok::<_, Problem>(ExpiresInDays::parse(whole_days(&days)?)?))
        .transpose()?;
    let new = NewApiToken {
        name: TokenName::parse(required("name", request.name)?)?,
        expires_in,
        read_only: request.read_only.unwrap_or(false),
    };
    let token = ApiTokenSecret::generate();
    let digest = token.digest();
    let created = as_caller(&app, caller, move |store, caller| {
        store.create_api_token(caller, &new, &digest)
    })
    .await?;
    let envelope = Envelope::new(
        "API token created; it is shown only this once",
        CreatedApiTokenJson::new(created, token.expose()),
    );
    Ok(no_store(envelope.created()))
}

/// The caller's own API tokens, oldest first (never the tokens
/// themselves). An expired token is listed until the account next creates
/// one.
#[utoipa::path(
    get,
    path = "/users/me/tokens",
    tag = "tokens",
    responses((status = 200, description = "The caller's tokens", body = Envelope<Vec<ApiTokenJson>>)),
    security(("bearer" = []))
)]
async fn get_my_tokens(
    State(app): State<App>,
    caller: Caller,
) -> Result<Envelope<Vec<ApiTokenJson>>, Problem> {
    let tokens = as_caller(&app, caller, move |store, caller| {
        store.list_api_tokens(caller, caller.id())
    })
    .await?;
    Ok(listed(tokens))
}

/// Revoke one of the caller's own API tokens: it opens nothing from the
/// next request on.
#[utoipa::path(
    delete,
    path = "/users/me/tokens/{tokenId}",
    tag = "tokens",
    params(OwnTokenPath),
    responses((status = 200, description = "The token revoked", body = Envelope<ApiTokenJson>)),
    security(("bearer" = []))
)]
async fn delete_my_token(
    State(app): State<App>,
    caller: Caller,
    PathParam(OwnTokenPath { token_id }): PathParam<OwnTokenPath>,
) -> Result<Envelope<ApiTokenJson>, Problem> {
    let token = ApiTokenId(parse_id("tokenId", &token_id)?);
    let revoked = as_caller(&app, caller, move |store, caller| {
        store.revoke_api_token(caller, caller.id(), token)
    })
    .await?;
    Ok(Envelope::new("API token revoked", revoked.into()))
}

/// An account's API tokens, oldest first (admins, or the account itself;
/// anyone else's are not found).
#[utoipa::path(
    get,
    path = "/users/{id}/tokens",
    tag = "tokens",
    params(UserPath),
    responses((status = 200, description = "The account's tokens", body = Envelope<Vec<ApiTokenJson>>)),
    security(("bearer" = []))
)]
async fn get_user_tokens(
    State(app): State<App>,
    caller: Caller,
    PathParam(UserPath { id }): PathParam<UserPath>,
) -> Result<Envelope<Vec<ApiTokenJson>>, Problem> {
    let owner = UserId(parse_id("id", &id)?);
    let tokens = as_caller(&app, caller, move |store, caller| {
        store.list_api_tokens(caller, owner)
    })
    .await?;
    Ok(listed(tokens))
}

/// Revoke one of an account's API tokens (admins, or the account itself;
/// anyone else's are not found).
#[utoipa::path(
    delete,
    path = "/users/{id}/tokens/{tokenId}",
    tag = "tokens",
    params(UserTokenPath),
    responses((status = 200, description = "The token revoked", body = Envelope<ApiTokenJson>)),
    security(("bearer" = []))
)]
async fn delete_user_token(
    State(app): State<App>,
    caller: Caller,
    PathParam(UserTokenPath { id, token_id }): PathParam<UserTokenPath>,
) -> Result<Envelope<ApiTokenJson>, Problem> {
    let owner = UserId(parse_id("id", &id)?);
    let token = ApiTokenId(parse_id("tokenId", &token_id)?);
    let revoked = as_caller(&app, caller, move |store, caller| {
        store.revoke_api_token(caller, owner, token)
    })
    .await?;
    Ok(Envelope::new("API token revoked", revoked.into()))
}

fn listed(tokens: Vec<domain::ApiToken>) -> Envelope<Vec<ApiTokenJson>> {
    Envelope::new(
        "API tokens retrieved successfully",
        tokens.into_iter().map(ApiTokenJson::from).collect(),
    )
}

/// A token is a credential: no cache, shared or private, may keep the
/// answer that shows it.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response.into_response()
}

/// `expiresInDays` as a whole number: `30.0` is 30, as JSON Schema's
/// `integer` says; one too large for an `i64` becomes `i64::MAX` (a float's
/// `as` saturates), which the range check then refuses in its own words.
fn whole_days(days: &serde_json::Number) -> Result<i64, Problem> {
    match (days.as_i64(), days.as_f64()) {
        (Some(whole), _) => Ok(whole),
        (None, Some(float)) if float.fract() == 0.0 => Ok(float as i64),
        _ => Err(Problem::Invalid(
            "expiresInDays must be a whole number of days".to_owned(),
        )),
    }
}
