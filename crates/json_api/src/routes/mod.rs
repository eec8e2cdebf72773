//! The JSON door's routes, one module per resource, merged in
//! [`crate::door`].

pub mod auth;
pub mod health;
pub mod held;
pub mod inbound;
pub mod notifications;
pub mod outbox;
pub mod pin_resets;
pub mod replies;
pub mod report;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod webhooks;

use domain::{LoggedIn, ValidationError};
use edge::App;
use edge::problem::Problem;

use crate::wire::SessionEnvelope;

/// A field the request must carry.
fn required(field: &'static str, value: Option<String>) -> Result<String, ValidationError> {
    value.ok_or_else(|| ValidationError::new(field, "is required"))
}

/// The answer to a proven PIN (a login, a PIN change): the user and a
/// token for the session generation it was proven in.
fn signed_in(
    app: &App,
    message: &'static str,
    session: LoggedIn,
) -> Result<SessionEnvelope, Problem> {
    let token = app.keys.issue(&session)?;
    Ok(SessionEnvelope::new(message, session.user, token))
}
