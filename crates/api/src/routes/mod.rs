//! The HTTP routes, one module per resource, merged in [`crate::router`].

pub mod auth;
pub mod health;
pub mod replies;
pub mod report;
pub mod tickets;
pub mod users;

use domain::ValidationError;

/// A field the request must carry.
fn required(field: &'static str, value: Option<String>) -> Result<String, ValidationError> {
    value.ok_or_else(|| ValidationError::new(field, "is required"))
}
