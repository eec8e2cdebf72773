//! The extractors that tell a handler who is calling: a bearer token our
//! keys signed, whose account the store still holds active.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::login::BAD_TOKEN;
use domain::{Actor, Refusal};

use crate::error::ApiError;
use crate::state::AppState;

pub const ONE_AUTHORIZATION: &str = "send one Authorization header, not several";

/// The caller, authenticated: its token is valid and its account exists and
/// is active. The role is the one in the database now, not in the token.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Actor);

/// The caller if a token was sent, `None` if none was. A token that was
/// sent but does not hold is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(actor)) => Ok(Caller(actor)),
            MaybeCaller(None) => Err(Refusal::Unauthenticated(BAD_TOKEN).into()),
        }
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut sent = parts.headers.get_all(AUTHORIZATION).iter();
        let Some(header) = sent.next() else {
            return Ok(MaybeCaller(None));
        };
        // Which one would count is a guess two servers on the way might
        // make differently.
        if sent.next().is_some() {
            return Err(ApiError::BadRequest(ONE_AUTHORIZATION.to_owned()));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Refusal::Unauthenticated(BAD_TOKEN))?;
        let (subject, epoch) = state.tokens.verify(token)?;
        let actor = state
            .blocking(move |store| store.authenticate(subject, epoch))
            .await?;
        Ok(MaybeCaller(Some(actor)))
    }
}
