//! One-click unsubscribe (RFC 8058): the link in every notification's
//! `List-Unsubscribe`. `GET` shows what it turns off, with a button;
//! `POST` (the button, or a mail client's `List-Unsubscribe=One-Click`)
//! turns that kind off for that account. No sign-in and no CSRF token:
//! the link's signed, expiring token is the authority, and it names one
//! account and one kind.

use axum::extract::State;
use axum::response::Response;
use domain::{NotificationKind, Role, UserId};
use edge::App;
use edge::problem::Problem;
use serde::Deserialize;

use super::PageQuery;
use crate::error::PageError;
use crate::views::{Chrome, UnsubscribePage, notification_label, render};

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// What a bad, forged or expired link is told.
const BAD_LINK: &str = "this unsubscribe link is not valid or has expired; \
     sign in and change your notifications on your account page";

fn read(app: &App, token: &str) -> Result<(UserId, NotificationKind), PageError> {
    app.keys
        .read_unsubscribe_token(token)
        .ok_or_else(|| Problem::Invalid(BAD_LINK.to_owned()).into())
}

fn page(kind: NotificationKind, token: String, done: bool) -> Response {
    // The label a customer would read for the kinds both have; the
    // staff-only kinds name themselves.
    let staff = !domain::notify::applies_to(kind, Role::Customer);
    render(&UnsubscribePage {
        chrome: Chrome::new("Unsubscribe", None),
        label: notification_label(kind, staff),
        token,
        done,
    })
}

/// Shows what the link turns off, and the button that does it.
pub async fn confirm(
    State(app): State<App>,
    PageQuery(query): PageQuery<TokenQuery>,
) -> Result<Response, PageError> {
    let (_, kind) = read(&app, &query.token)?;
    Ok(page(kind, query.token, false))
}

/// Turns the link's kind off for its account.
pub async fn unsubscribe(
    State(app): State<App>,
    PageQuery(query): PageQuery<TokenQuery>,
) -> Result<Response, PageError> {
    let (user, kind) = read(&app, &query.token)?;
    app.blocking(move |store| Ok::<_, PageError>(store.unsubscribe(user, kind)?))
        .await?;
    Ok(page(kind, query.token, true))
}
