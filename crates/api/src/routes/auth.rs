//! `POST /login`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, header};
use cookie::{Cookie, SameSite};
use domain::{Credentials, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{required, signed_in};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::limits::ClientAddress;
use crate::observe::record_login;
use crate::state::AppState;
use crate::tokens::DEVICE_LIFETIME;
use crate::tokens::Tokens;
use crate::wire::{ErrorEnvelope, LoginRequest, SessionEnvelope};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_login))
}

/// Log in with a username and PIN; answers the user and a bearer token.
///
/// After 5 failed logins in a row a username is locked for 30 s, doubling
/// with each lock up to 15 min.
#[utoipa::path(
    post,
    path = "/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in. Also sets the `tracker_device` cookie: a client that sends it back logs in on a failure count of its own, which strangers' wrong PINs cannot lock", body = SessionEnvelope,
            headers(("set-cookie" = String, description = "`tracker_device`, HttpOnly, Secure, SameSite=Strict, for 180 days"))),
        (status = 401, description = "Wrong, malformed or deactivated credentials (one answer for all)", body = ErrorEnvelope),
        (status = 429, description = "Too many failed logins for this username, or too many attempts from this address; see `Retry-After`", body = ErrorEnvelope),
    )
)]
async fn post_login(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<([(HeaderName, String); 1], SessionEnvelope), ApiError> {
    let outcome = match state.limits.admit_login(client) {
        Ok(()) => log_in(&state, &headers, request).await,
        Err(refused) => Err(refused),
    };
    record_login(&outcome);
    outcome
}

async fn log_in(
    state: &AppState,
    headers: &HeaderMap,
    request: LoginRequest,
) -> Result<([(HeaderName, String); 1], SessionEnvelope), ApiError> {
    let credentials = Credentials::parse(
        required("username", request.username)?,
        required("pin", request.pin)?,
    )?;
    let device_of = known_device(&state.tokens, headers);
    // Reserved here, so a flood's refusals never reach the blocking pool.
    let hashing = state.store.reserve_hashing()?;
    let session = state
        .blocking(move |store| store.log_in(hashing, &credentials, device_of))
        .await?;
    // Known from now on (or for longer): the cookie is renewed.
    let device = device_cookie(&state.tokens, session.user.id, LOGIN_PATH, true)?;
    let session = signed_in(state, "Login successful", session)?;
    Ok(([(header::SET_COOKIE, device.to_string())], session))
}

/// The cookie that marks a client as one that logged in to an account
/// before (see `domain::login::LoginLane`).
pub const DEVICE_COOKIE: &str = "tracker_device";
const LOGIN_PATH: &str = "/api/v1/login";

/// The device cookie that marks a client as one that logged in to `user`,
/// sent back only to the login at `path`.
pub(crate) fn device_cookie(
    tokens: &Tokens,
    user: UserId,
    path: &'static str,
    secure: bool,
) -> Result<Cookie<'static>, ApiError> {
    Ok(Cookie::build((DEVICE_COOKIE, tokens.issue_device(user)?))
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(DEVICE_LIFETIME.as_secs()).unwrap_or(i64::MAX),
        ))
        .build())
}

/// The account the client's device cookie (verified) was issued to.
pub(crate) fn known_device(tokens: &Tokens, headers: &HeaderMap) -> Option<UserId> {
    device_cookie_value(headers).and_then(|value| tokens.verify_device(value))
}

/// The device cookie's value, if the client sent one.
fn device_cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == DEVICE_COOKIE)
        .and_then(|cookie| cookie.value_raw())
}
