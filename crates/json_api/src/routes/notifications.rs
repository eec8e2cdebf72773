//! The caller's notification preferences: which kinds of mail they get
//! (`GET`/`PUT /users/me/notifications`). A customer has three kinds,
//! staff all seven; `PUT` changes only the kinds it names.

use axum::extract::State;
use domain::NotificationKind;
use edge::App;
use edge::problem::Problem;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, as_caller};
use crate::extract::JsonBody;
use crate::wire::{Envelope, ErrorEnvelope, NotificationPreferencesJson};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_my_notifications, put_my_notifications))
}

/// Which notifications the caller gets by mail: a customer's three kinds
/// (`ticketCreated`, the acknowledgement of their own ticket;
/// `publicReply`; `statusChanged`), or a staff member's seven.
#[utoipa::path(
    get,
    path = "/users/me/notifications",
    tag = "users",
    responses(
        (status = 200, description = "Each kind the caller can get, and whether it is on", body = Envelope<NotificationPreferencesJson>),
    ),
    security(("bearer" = []))
)]
async fn get_my_notifications(
    State(app): State<App>,
    caller: Caller,
) -> Result<Envelope<NotificationPreferencesJson>, Problem> {
    let shown = as_caller(&app, caller, |store, caller| {
        store.notification_preferences(caller)
    })
    .await?;
    Ok(Envelope::new(
        "Notification preferences retrieved successfully",
        NotificationPreferencesJson::from_shown(&shown),
    ))
}

/// Turn kinds of notification on or off: each key named is set, the
/// others keep their values. A key that is no kind, a value that is not
/// `true` or `false`, or (for a customer) a staff member's kind is a 400.
#[utoipa::path(
    put,
    path = "/users/me/notifications",
    tag = "users",
    request_body = NotificationPreferencesJson,
    responses(
        (status = 200, description = "The caller's preferences after the change", body = Envelope<NotificationPreferencesJson>),
        (status = 400, description = "An unknown key, a value that is not a boolean, or a staff-only kind from a customer", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn put_my_notifications(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Envelope<NotificationPreferencesJson>, Problem> {
    let changes = read_changes(&body)?;
    let shown = as_caller(&app, caller, move |store, caller| {
        store.change_notification_preferences(caller, &changes)
    })
    .await?;
    Ok(Envelope::new(
        "Notification preferences updated successfully",
        NotificationPreferencesJson::from_shown(&shown),
    ))
}

/// The kinds a body names, each with its new value.
fn read_changes(body: &Map<String, Value>) -> Result<Vec<(NotificationKind, bool)>, Problem> {
    body.iter()
        .map(|(key, value)| {
            let kind = NotificationKind::from_name(key).ok_or_else(|| {
                Problem::Invalid(format!(
                    "{key} is not a kind of notification (they are {})",
                    NotificationKind::ALL.map(NotificationKind::name).join(", ")
                ))
            })?;
            let on = value.as_bool().ok_or_else(|| {
                Problem::Invalid(format!(
                    "{key} must be true or false, not {}",
                    json_kind(value)
                ))
            })?;
            Ok((kind, on))
        })
        .collect()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
