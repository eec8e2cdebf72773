//! The pages and forms, one module per area, merged here.

mod sign_in;
mod ticket;
mod tickets;
mod users;

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use store::SignedInUser;

use crate::error::PageError;
use crate::views::Viewer;
use crate::{Host, SessionCookie};

pub fn router<H: Host>() -> Router<H> {
    Router::new()
        .route("/", get(sign_in::start))
        .route(
            "/login",
            get(sign_in::sign_in_page).post(sign_in::sign_in::<H>),
        )
        .route(
            "/signup",
            get(sign_in::sign_up_page).post(sign_in::sign_up::<H>),
        )
        .route("/logout", post(sign_in::sign_out::<H>))
        .route(
            "/tickets",
            get(tickets::list::<H>).post(tickets::create::<H>),
        )
        .route("/tickets/new", get(tickets::new_form::<H>))
        .route("/report.csv", get(tickets::report::<H>))
        .route("/tickets/{ticket_id}", get(ticket::show::<H>))
        .route("/tickets/{ticket_id}/replies", post(ticket::reply::<H>))
        .route("/tickets/{ticket_id}/resolve", post(ticket::resolve::<H>))
        .route("/tickets/{ticket_id}/triage", post(ticket::triage::<H>))
        .route(
            "/admin/users",
            get(users::list::<H>).post(users::create::<H>),
        )
        .route("/admin/users/{user_id}/role", post(users::change_role::<H>))
        .route(
            "/admin/users/{user_id}/active",
            post(users::change_standing::<H>),
        )
        .route("/admin/users/{user_id}/pin", post(users::reset_pin::<H>))
}

/// The signed-in user as the frame shows them, with their forms' token.
fn viewer<H: Host>(host: &H, session: &SessionCookie, user: &SignedInUser) -> Viewer {
    Viewer {
        username: user.username.clone(),
        role: user.actor.role,
        csrf: host.web().csrf.token(session.secret()),
    }
}

/// A page's query string; one that does not parse is a 400 page.
#[derive(Debug)]
struct PageQuery<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| PageQuery(query))
            .map_err(|rejection| PageError::BadRequest(rejection.body_text()))
    }
}

/// The notice a redirect after a change asks for (`?done=`): fixed words
/// only, so a link cannot make the page say anything.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "Your ticket is open. An agent will reply soon.",
        "replied" => "Reply sent.",
        "noted" => "Internal note added.",
        "resolved" => "The ticket is resolved.",
        "saved" => "Changes saved.",
        "user-created" => "Account created.",
        "role" => "Role changed.",
        "deactivated" => "Account deactivated; its sessions have ended.",
        "reactivated" => "Account reactivated.",
        "pin" => "PIN reset; the account's sessions have ended.",
        "signed-out" => "You are signed out.",
        _ => return None,
    })
}

/// A form value, `None` when left empty.
fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Parses a path id; anything but digits is a page that does not exist.
fn path_id(raw: &str) -> Result<i64, PageError> {
    domain::values::parse_id("id", raw).map_err(|_| PageError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notices_are_shown() {
        assert_eq!(notice(Some("replied")), Some("Reply sent."));
        assert_eq!(notice(Some("<script>alert(1)</script>")), None);
        assert_eq!(notice(None), None);
    }
}
