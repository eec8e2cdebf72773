//! `POST /login`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use domain::throttle::BAD_CREDENTIALS;
use domain::{Pin, Username};
use serde::Deserialize;

use super::required;
use crate::auth;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::wire::{Envelope, UserJson};

pub fn router() -> Router<AppState> {
    Router::new().route("/login", post(login))
}

#[derive(Debug, Deserialize)]
struct LoginRequest {
    username: Option<String>,
    pin: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Envelope<UserJson>, ApiError> {
    let username = required("username", request.username)?;
    let pin = required("pin", request.pin)?;
    // A malformed name or PIN cannot belong to anyone: same 401 as a wrong one.
    let (Ok(username), Ok(pin)) = (Username::parse(username), Pin::parse(pin)) else {
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    let (user, token) = auth::login(&state, username, pin).await?;
    Ok(Envelope::new("Login successful", UserJson::from(user)).with_token(token))
}
