//! `POST /pin-resets` (a link to set a new PIN, sent by mail) and
//! `POST /pin-resets/:token` (the link used), for someone signed out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::Pin;
use domain::audience::see_own_user;
use domain::pin_reset::{LINK_LIFETIME_MINUTES, ResetFor};
use edge::App;
use edge::limits::ClientAddress;
use edge::pin_resets;
use edge::problem::{NO_MAIL, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::on_store;
use crate::extract::{JsonBody, PathParam};
use crate::wire::{
    Envelope, ErrorEnvelope, PinResetPath, PinResetRequestedJson, RequestPinResetRequest,
    ResetPinRequest, UserJson,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(post_pin_resets))
        .routes(routes!(post_pin_reset))
}

/// What every request is told.
const REQUESTED: &str =
    "If an account matches, a link to set a new PIN is on its way to its address";

/// Ask for a link to set a new PIN, by the account's address or username.
///
/// The answer is the same whether or not an account matched. An active
/// account with an address is mailed a link that works once, for 30
/// minutes; a newer request, or any PIN change, voids it. An account is
/// mailed at most once every 5 minutes (a request within them sends
/// nothing and is answered alike).
#[utoipa::path(
    post,
    path = "/pin-resets",
    tag = "auth",
    request_body = RequestPinResetRequest,
    responses(
        (status = 202, description = "Taken; if an account matches, a link is mailed to it (the same answer either way)", body = Envelope<PinResetRequestedJson>),
        (status = 400, description = "Both or neither of `email` and `username`, or one that is malformed", body = ErrorEnvelope),
        (status = 429, description = "Too many PIN reset requests from this address; see `Retry-After`", body = ErrorEnvelope),
        (status = 503, description = "This server sends no mail (every request), or the database is unavailable or too busy, or the request ran past `REQUEST_TIMEOUT_SECS`", body = ErrorEnvelope),
    )
)]
async fn post_pin_resets(
    State(app): State<App>,
    client: ClientAddress,
    JsonBody(request): JsonBody<RequestPinResetRequest>,
) -> Result<Response, Problem> {
    if !app.store.sends_mail() {
        return Err(Problem::NotOffered(NO_MAIL));
    }
    app.limits.admit_pin_reset(client)?;
    let who = ResetFor::parse(request.email, request.username)?;
    let link = pin_resets::new_link(&app.keys);
    on_store(&app, move |store| {
        store.request_pin_reset(&who, &link.token_digest, &link.nonce)
    })
    .await?;
    let answer = Envelope::new(
        REQUESTED,
        PinResetRequestedJson {
            link_lifetime_minutes: LINK_LIFETIME_MINUTES,
        },
    );
    Ok((StatusCode::ACCEPTED, answer).into_response())
}

/// Set a new PIN with a reset link's token.
///
/// Every bearer token, browser session and API token of the account
/// issued before ends, its login lock-out is cleared, and the link stops
/// working. A used, voided, expired or unknown token is the same 404.
#[utoipa::path(
    post,
    path = "/pin-resets/{token}",
    tag = "auth",
    params(PinResetPath),
    request_body = ResetPinRequest,
    responses(
        (status = 200, description = "PIN set; sign in with it", body = Envelope<UserJson>),
        (status = 404, description = "The link is used, voided, expired or unknown (one answer for all)", body = ErrorEnvelope),
        (status = 429, description = "Too many PIN reset requests from this address; see `Retry-After`", body = ErrorEnvelope),
        (status = 503, description = "This server sends no mail (every request), the server is busy hashing PINs, or the database is unavailable or too busy, or the request ran past `REQUEST_TIMEOUT_SECS`", body = ErrorEnvelope),
    )
)]
async fn post_pin_reset(
    State(app): State<App>,
    client: ClientAddress,
    PathParam(PinResetPath { token }): PathParam<PinResetPath>,
    JsonBody(request): JsonBody<ResetPinRequest>,
) -> Result<Envelope<UserJson>, Problem> {
    if !app.store.sends_mail() {
        return Err(Problem::NotOffered(NO_MAIL));
    }
    app.limits.admit_pin_reset(client)?;
    let new_pin = Pin::parse(required("newPin", request.new_pin)?)?;
    let digest = pin_resets::link_digest(&token).ok_or(Problem::NotFound)?;
    let hashing = app.store.reserve_hashing()?;
    let user = on_store(&app, move |store| {
        store.reset_pin(hashing, &digest, &new_pin)
    })
    .await?;
    Ok(Envelope::new(
        "PIN changed; sign in with the new PIN",
        see_own_user(user).into(),
    ))
}
