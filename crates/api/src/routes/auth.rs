//! `POST /login`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use domain::Credentials;
use serde::Deserialize;

use super::required;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::observe::record_login;
use crate::state::AppState;
use crate::wire::{Envelope, UserJson};

pub fn router() -> Router<AppState> {
    Router::new().route("/login", post(post_login))
}

#[derive(Debug, Deserialize)]
struct LoginRequest {
    username: Option<String>,
    pin: Option<String>,
}

async fn post_login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Envelope<UserJson>, ApiError> {
    let outcome = log_in(&state, request).await;
    record_login(&outcome);
    outcome
}

async fn log_in(state: &AppState, request: LoginRequest) -> Result<Envelope<UserJson>, ApiError> {
    let credentials = Credentials::parse(
        required("username", request.username)?,
        required("pin", request.pin)?,
    )?;
    let session = state
        .blocking(move |store| store.log_in(&credentials))
        .await?;
    let token = state.tokens.issue(&session)?;
    Ok(Envelope::new("Login successful", UserJson::from(session.user)).with_token(token))
}
