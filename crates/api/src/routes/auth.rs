//! `POST /login`.

use axum::extract::State;
use domain::Credentials;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{required, signed_in};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::limits::ClientAddress;
use crate::observe::record_login;
use crate::state::AppState;
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
        (status = 200, description = "Logged in", body = SessionEnvelope),
        (status = 401, description = "Wrong, malformed or deactivated credentials (one answer for all)", body = ErrorEnvelope),
        (status = 429, description = "Too many failed logins for this username, or too many attempts from this address; see `Retry-After`", body = ErrorEnvelope),
    )
)]
async fn post_login(
    State(state): State<AppState>,
    client: ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<SessionEnvelope, ApiError> {
    let outcome = match state.limits.admit_login(client) {
        Ok(()) => log_in(&state, request).await,
        Err(refused) => Err(refused),
    };
    record_login(&outcome);
    outcome
}

async fn log_in(state: &AppState, request: LoginRequest) -> Result<SessionEnvelope, ApiError> {
    let credentials = Credentials::parse(
        required("username", request.username)?,
        required("pin", request.pin)?,
    )?;
    let session = state
        .blocking(move |store| store.log_in(&credentials))
        .await?;
    signed_in(state, "Login successful", session)
}
