//! `POST /login`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, header};
use domain::Credentials;
use edge::App;
use edge::device::{device_cookie, known_device};
use edge::limits::ClientAddress;
use edge::observe::record_login;
use edge::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{required, signed_in};
use crate::auth::on_store;
use crate::extract::JsonBody;
use crate::wire::{ErrorEnvelope, LoginRequest, SessionEnvelope};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(post_login))
}

/// Log in with a username and PIN; answers the user and a bearer token.
///
/// After 5 failed logins in a row a username, whether an account has it or
/// not, is locked for 30 s, doubling with each lock up to 15 min. One
/// address may fail 10 times in 10 minutes across all usernames (a client
/// sending its device cookie back is not counted there).
#[utoipa::path(
    post,
    path = "/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in. Also sets the `tracker_device` cookie: a client that sends it back logs in on a failure count of its own, which strangers' wrong PINs cannot lock", body = SessionEnvelope,
            headers(("set-cookie" = String, description = "`tracker_device`, HttpOnly, Secure, SameSite=Strict, for 180 days"))),
        (status = 401, description = "Wrong, malformed or deactivated credentials (one answer for all)", body = ErrorEnvelope),
        (status = 429, description = "Too many failed logins for this username or from this address, or too many attempts from this address; see `Retry-After`", body = ErrorEnvelope),
    )
)]
async fn post_login(
    State(app): State<App>,
    client: ClientAddress,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<([(HeaderName, String); 1], SessionEnvelope), Problem> {
    let outcome = match app.limits.admit_login(client) {
        Ok(()) => log_in(&app, client, &headers, request).await,
        Err(refused) => Err(refused),
    };
    record_login(&outcome);
    outcome
}

async fn log_in(
    app: &App,
    client: ClientAddress,
    headers: &HeaderMap,
    request: LoginRequest,
) -> Result<([(HeaderName, String); 1], SessionEnvelope), Problem> {
    let credentials = Credentials::parse(
        required("username", request.username)?,
        required("pin", request.pin)?,
    )?;
    let device_of = known_device(&app.keys, headers);
    let from = app.limits.login_from(client);
    // Reserved here, so a flood's refusals never reach the blocking pool.
    let hashing = app.store.reserve_hashing()?;
    let session = on_store(app, move |store| {
        store.log_in(hashing, &credentials, device_of, from)
    })
    .await?;
    // Known from now on (or for longer): the cookie is renewed.
    let device = device_cookie(&app.keys, session.user.id, LOGIN_PATH, true)?;
    let session = signed_in(app, "Login successful", session)?;
    Ok(([(header::SET_COOKIE, device.to_string())], session))
}

/// Where the API's device cookie is sent back.
const LOGIN_PATH: &str = "/api/v1/login";
