//! The wire format, in one place: every JSON shape the API reads or writes
//! (envelopes, users, tickets, replies, request bodies and query
//! parameters). The OpenAPI document is derived from these same types, so
//! the schema and the JSON cannot drift.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Reply, Role, Ticket, TicketStatus, User};
use serde::{Deserialize, Serialize};
use utoipa::openapi::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 UTC with milliseconds and `Z`, e.g. `2021-04-13T01:56:44.234Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A role's schema, listed from `domain` so the two cannot differ.
fn role_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Role::ALL.map(Role::as_str)))
        .build()
}

/// A status's schema, listed from `domain` so the two cannot differ.
fn status_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(TicketStatus::ALL.map(TicketStatus::as_str)))
        .build()
}

/// `{"error": false, "message", "data"}`: the answer of every success that
/// is not a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope<T> {
    error: bool,
    message: &'static str,
    data: T,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(message: &'static str, data: T) -> Self {
        Self {
            error: false,
            message,
            data,
        }
    }

    /// The envelope with 201 Created.
    pub fn created(self) -> Response {
        (StatusCode::CREATED, Json(self)).into_response()
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A list's answer: one page of `data` and where it sits in `meta`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageEnvelope<T> {
    error: bool,
    message: &'static str,
    data: Vec<T>,
    meta: PageMeta,
}

impl<T: Serialize> PageEnvelope<T> {
    pub fn new<R: Into<T>>(message: &'static str, records: Vec<R>, meta: PageMeta) -> Self {
        Self {
            error: false,
            message,
            data: records.into_iter().map(Into::into).collect(),
            meta,
        }
    }
}

impl<T: Serialize> IntoResponse for PageEnvelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// Where a page sits in its list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    /// How many records match, on every page.
    pub total: u64,
}

impl PageMeta {
    pub fn of(request: domain::PageRequest, total: u64) -> Self {
        Self {
            page: request.page(),
            limit: request.limit(),
            total,
        }
    }
}

/// The answer of a login or a PIN change: the user and a bearer token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEnvelope {
    error: bool,
    message: &'static str,
    data: UserJson,
    /// A JWT for `Authorization: Bearer ...`.
    token: String,
}

impl SessionEnvelope {
    pub fn new(message: &'static str, user: User, token: String) -> Self {
        Self {
            error: false,
            message,
            data: user.into(),
            token,
        }
    }
}

impl IntoResponse for SessionEnvelope {
    /// A token is a credential: no cache, shared or private, may keep it.
    fn into_response(self) -> Response {
        let no_store = (
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        ([no_store], Json(self)).into_response()
    }
}

/// The machine-readable kind of an error; one per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => ErrorCode::InvalidRequest,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// `{"error": true, "message", "code", "requestId"}`: the answer of every
/// error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorEnvelope {
    error: bool,
    /// For people; may change between versions.
    message: String,
    /// For programs; stable.
    code: ErrorCode,
    /// The request's `x-request-id`, added on the way out, so a complaint
    /// leads to the log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = true)]
    request_id: Option<String>,
}

impl ErrorEnvelope {
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            error: true,
            message: message.to_owned(),
            code: ErrorCode::for_status(status),
            request_id: None,
        }
    }
}

/// `/health`'s answer while ready.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// `ok`.
    pub database: &'static str,
}

/// `/health`'s answer while not ready: the error envelope's fields, plus
/// why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Unready {
    error: bool,
    message: &'static str,
    code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = true)]
    request_id: Option<String>,
    /// `unavailable`.
    status: &'static str,
    /// A short reason, e.g. `no answer within 2 s`.
    database: &'static str,
}

impl Unready {
    pub fn because(reason: &'static str) -> Self {
        Self {
            error: true,
            message: "the database is not ready",
            code: ErrorCode::Unavailable,
            request_id: None,
            status: "unavailable",
            database: reason,
        }
    }
}

/// `/health/live`'s answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Liveness {
    /// `ok`.
    pub status: &'static str,
}

/// An account as the API shows it (never its PIN).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = User)]
pub struct UserJson {
    /// The user's id, as a string of digits.
    #[serde(rename = "_id")]
    id: String,
    username: String,
    #[schema(schema_with = role_schema)]
    role: Role,
    active: bool,
    created_at: String,
    updated_at: String,
}

impl From<User> for UserJson {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            username: user.username,
            role: user.role,
            active: user.active,
            created_at: timestamp(user.created_at),
            updated_at: timestamp(user.updated_at),
        }
    }
}

/// A support ticket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Ticket)]
pub struct TicketJson {
    /// The `ticketId`, as a string (the original's document id).
    #[serde(rename = "_id")]
    id: String,
    ticket_id: i64,
    #[schema(required = true)]
    subject: Option<String>,
    body: String,
    #[schema(schema_with = status_schema)]
    status: TicketStatus,
    /// The author's user id.
    author: String,
    created_at: String,
    updated_at: String,
    #[schema(required = true)]
    resolved_at: Option<String>,
}

impl From<Ticket> for TicketJson {
    fn from(ticket: Ticket) -> Self {
        Self {
            id: ticket.id.to_string(),
            ticket_id: ticket.id,
            subject: ticket.subject,
            body: ticket.body,
            status: ticket.status,
            author: ticket.author.to_string(),
            created_at: timestamp(ticket.created_at),
            updated_at: timestamp(ticket.updated_at),
            resolved_at: ticket.resolved_at.map(timestamp),
        }
    }
}

/// A reply on a ticket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Reply)]
pub struct ReplyJson {
    #[serde(rename = "_id")]
    id: String,
    body: String,
    /// The author's user id.
    author: String,
    /// The author's role, so a client can tell agent from customer.
    #[schema(schema_with = role_schema)]
    role: Role,
    ticket_id: i64,
    created_at: String,
    updated_at: String,
}

impl From<Reply> for ReplyJson {
    fn from(reply: Reply) -> Self {
        Self {
            id: reply.id.to_string(),
            body: reply.body,
            author: reply.author.to_string(),
            role: reply.author_role,
            ticket_id: reply.ticket_id,
            created_at: timestamp(reply.created_at),
            updated_at: timestamp(reply.updated_at),
        }
    }
}

// Request bodies. Every field is optional to serde, so a missing one is our
// own 400 naming the field; the document says which are required.

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(value_type = String, required = true)]
    pub username: Option<String>,
    /// 4 to 12 digits, as a string.
    #[schema(value_type = String, required = true, example = "0000")]
    pub pin: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// 1 to 64 letters, digits, `.`, `_` or `-`.
    #[schema(value_type = String, required = true)]
    pub username: Option<String>,
    /// 4 to 12 digits, as a string.
    #[schema(value_type = String, required = true)]
    pub pin: Option<String>,
    /// Absent or `CUSTOMER` for a sign-up; staff roles need an admin's token.
    #[schema(schema_with = role_schema)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[schema(schema_with = role_schema)]
    pub role: Option<String>,
    pub active: Option<bool>,
    /// A new PIN for a user who forgot theirs; ends the user's sessions.
    #[schema(value_type = String)]
    pub pin: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePinRequest {
    #[schema(value_type = String, required = true)]
    pub current_pin: Option<String>,
    #[schema(value_type = String, required = true)]
    pub new_pin: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTicketRequest {
    /// Up to 200 characters.
    #[schema(value_type = String)]
    pub subject: Option<String>,
    /// Up to 20,000 characters, not blank.
    #[schema(value_type = String, required = true)]
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTicketRequest {
    /// Only `RESOLVED` is accepted.
    #[schema(value_type = String, required = true, example = "RESOLVED")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateReplyRequest {
    /// Up to 20,000 characters, not blank.
    #[schema(value_type = String, required = true)]
    pub body: Option<String>,
}

// Query parameters, kept as text so a bad value is our own 400.

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTicketsQuery {
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `ticketId` (default), `createdAt`, `updatedAt`, `status` or `resolvedAt`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub direction: Option<String>,
    /// Only tickets of this status.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// Only users of this role.
    pub role: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let at = DateTime::parse_from_rfc3339("2021-04-13T01:56:44.234567Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid");
        assert_eq!(timestamp(at), "2021-04-13T01:56:44.234Z");
    }

    #[test]
    fn each_error_status_has_its_own_code() {
        let statuses = [400, 401, 403, 404, 405, 409, 413, 415, 429, 503, 500];
        let codes: std::collections::HashSet<_> = statuses
            .iter()
            .map(|&s| ErrorCode::for_status(StatusCode::from_u16(s).expect("status")))
            .collect();
        assert_eq!(codes.len(), statuses.len());
        let json = serde_json::to_value(ErrorCode::InvalidRequest).expect("json");
        assert_eq!(json, "invalid_request", "the original's spelling is kept");
    }
}
