//! The pages and forms, one module per area, merged here.

mod account;
mod held;
mod reset_pin;
mod sign_in;
mod ticket;
mod tickets;
mod unsubscribe;
mod users;
mod webhooks;

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post};
use domain::accounts::may_manage_users;
use domain::{Audience, TicketId};
use edge::App;
use edge::problem::Problem;
use serde::de::DeserializeOwned;
use store::SignedInUser;

use crate::SessionCookie;
use crate::error::PageError;
use crate::views::Viewer;

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(sign_in::start))
        .route("/login", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/signup", get(sign_in::sign_up_page).post(sign_in::sign_up))
        .route("/logout", post(sign_in::sign_out))
        .route(
            "/reset-pin",
            get(reset_pin::page).post(reset_pin::request_link),
        )
        .route("/reset-pin/new-pin", post(reset_pin::set_pin))
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/new", get(tickets::new_form))
        .route("/report.csv", get(tickets::report))
        .route("/tickets/{ticket_id}", get(ticket::show))
        .route("/tickets/{ticket_id}/replies", post(ticket::reply))
        .route("/tickets/{ticket_id}/resolve", post(ticket::resolve))
        .route("/tickets/{ticket_id}/triage", post(ticket::triage))
        .route(
            "/tickets/{ticket_id}/replies/{reply_id}/original",
            get(held::reply_original),
        )
        .route("/held", get(held::list))
        .route("/held/{held_id}", get(held::show))
        .route("/held/{held_id}/dismiss", post(held::dismiss))
        .route("/held/{held_id}/original", get(held::held_original))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/{user_id}/role", post(users::change_role))
        .route(
            "/admin/users/{user_id}/active",
            post(users::change_standing),
        )
        .route("/admin/users/{user_id}/pin", post(users::reset_pin))
        .route("/account", get(account::show))
        .route("/account/tokens", post(account::create_token))
        .route("/account/email", post(account::change_email))
        .route(
            "/account/notifications",
            post(account::change_notifications),
        )
        .route(
            "/unsubscribe",
            get(unsubscribe::confirm).post(unsubscribe::unsubscribe),
        )
        .route(
            "/account/tokens/{token_id}/revoke",
            post(account::revoke_token),
        )
        .route("/admin/webhooks", get(webhooks::list))
        .route("/admin/webhooks/{webhook_id}/test", post(webhooks::test))
        .route(
            "/admin/webhooks/{webhook_id}/deliveries/{attempt_id}/redeliver",
            post(webhooks::redeliver),
        )
}

/// The signed-in user as the frame shows them, with their forms' token.
fn viewer(app: &App, session: &SessionCookie, user: &SignedInUser) -> Viewer {
    Viewer {
        username: user.username.clone(),
        role: user.actor.role(),
        staff: Audience::of(user.actor) == Audience::Staff,
        manages_users: may_manage_users(user.actor).is_ok(),
        csrf: app.keys.csrf.token(session.secret().as_str()),
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
            .map_err(|rejection| PageError::Problem(Problem::from(rejection)))
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
        "link-sent" => {
            "If an account matches and has an address, a link to choose a new PIN is on its way. Check your mail."
        }
        "pin-set" => "Your new PIN is set, and every earlier session has ended. Sign in with it.",
        "email-changed" => "Email address saved.",
        "notifications" => "Notification preferences saved.",
        "token-revoked" => "API token revoked; it opens nothing from now on.",
        "ping" => "Test ping queued.",
        "redelivered" => "Delivery queued again.",
        "dismissed" => "Held message dismissed; it stays readable by its link.",
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
    domain::values::parse_id("id", raw).map_err(|_| Problem::NotFound.into())
}

/// A ticket's number from its page's path.
fn ticket_id(raw: &str) -> Result<TicketId, PageError> {
    path_id(raw).map(TicketId)
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
