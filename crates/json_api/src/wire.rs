//! The wire format, in one place: every JSON shape the API reads or writes
//! (envelopes, users, tickets, replies, request bodies and query
//! parameters). The OpenAPI document is derived from these same types, so
//! the schema and the JSON cannot drift.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::audience::see_own_user;
use domain::json::timestamp;
use domain::{
    ApiToken, CursorKey, Event, Priority, Reply, Role, SeenTicket, SeenUser, TicketStatus, User,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::schemas;

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
    /// The answer of `request`: the page's records and its meta.
    pub fn new<R: Into<T>>(
        message: &'static str,
        request: domain::PageRequest,
        page: domain::Page<R>,
        key: &CursorKey,
    ) -> Self {
        let meta = PageMeta::of(request, &page, key);
        Self {
            error: false,
            message,
            data: page.items.into_iter().map(Into::into).collect(),
            meta,
        }
    }
}

impl<T: Serialize> IntoResponse for PageEnvelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// Where a page sits in its list, and how to get the next one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageMeta {
    /// The page number asked for; absent on a page a cursor started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    pub limit: u32,
    /// Whether records follow this page.
    pub has_more: bool,
    /// The `cursor` of the next page of the same query; null exactly when
    /// no records follow.
    pub next_cursor: Option<String>,
    /// How many records match in all; only with `count=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl PageMeta {
    /// The meta of `page`, answering `request`; the next page's cursor is
    /// sealed with `key` for the same query.
    pub fn of<T>(request: domain::PageRequest, page: &domain::Page<T>, key: &CursorKey) -> Self {
        Self {
            page: request.page(),
            limit: request.limit(),
            has_more: page.next.is_some(),
            next_cursor: page
                .next
                .map(|position| key.seal(request.binding(), position)),
            total: page.total,
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
    /// The answer to `user` themself, who sees their own account whole.
    pub fn new(message: &'static str, user: User, token: String) -> Self {
        Self {
            error: false,
            message,
            data: see_own_user(user).into(),
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
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    UnprocessableContent,
    PreconditionRequired,
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
            StatusCode::PRECONDITION_FAILED => ErrorCode::PreconditionFailed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::UnprocessableContent,
            StatusCode::PRECONDITION_REQUIRED => ErrorCode::PreconditionRequired,
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

    /// The envelope naming the request it answers.
    pub fn with_request_id(self, request_id: Option<String>) -> Self {
        Self { request_id, ..self }
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
    pub fn because(reason: &'static str, request_id: Option<String>) -> Self {
        Self {
            error: true,
            message: "the database is not ready",
            code: ErrorCode::Unavailable,
            request_id,
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

/// A record's JSON as `domain::json` defines it for every door and the
/// webhooks (`$name` wraps `domain::json::$name`, made from a `$record`),
/// documented in the OpenAPI document by the schema of `$shape`.
macro_rules! json_documented_as {
    ($name:ident, $record:ty, $shape:ty) => {
        #[derive(Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(domain::json::$name);

        impl From<$record> for $name {
            fn from(record: $record) -> Self {
                Self(record.into())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <$shape as utoipa::PartialSchema>::schema()
            }
        }

        impl ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                <$shape as ToSchema>::name()
            }

            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$shape as ToSchema>::schemas(schemas);
            }
        }
    };
}

json_documented_as!(UserJson, SeenUser, UserShape);

// The schema of [`UserJson`] in the OpenAPI document; the API's tests
// check every answer against it, so it cannot drift from the JSON.
/// An account as the API shows it (never its PIN).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = User)]
#[expect(dead_code, reason = "a description for the document, never built")]
struct UserShape {
    /// The user's id, as a string of digits.
    #[serde(rename = "_id")]
    id: String,
    username: String,
    #[schema(schema_with = schemas::role)]
    role: Role,
    active: bool,
    /// The account's address (`null`: none). Present only to those who see
    /// it: the account itself, admins, and staff looking at a customer; a
    /// customer never sees a staff member's.
    #[schema(format = Email)]
    email: Option<String>,
    created_at: String,
    updated_at: String,
}

/// A program's API token as its owner (or an admin) lists it; never the
/// token itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ApiToken)]
pub struct ApiTokenJson {
    /// The token's id, as a string of digits.
    #[serde(rename = "_id")]
    id: String,
    name: String,
    /// `true`: it may only read (`GET`, `HEAD`).
    read_only: bool,
    created_at: String,
    /// `null`: it lasts until revoked.
    expires_at: Option<String>,
    /// When it was last used, to within a minute; `null`: never.
    last_used_at: Option<String>,
}

impl From<ApiToken> for ApiTokenJson {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id.to_string(),
            name: token.name,
            read_only: token.read_only,
            created_at: timestamp(token.created_at),
            expires_at: token.expires_at.map(timestamp),
            last_used_at: token.last_used_at.map(timestamp),
        }
    }
}

/// A token just created: as listed, and the token itself, which no other
/// answer shows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreatedApiToken)]
pub struct CreatedApiTokenJson {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    read_only: bool,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    /// `trk_` and 43 base64url characters, for `Authorization: Bearer
    /// ...`. Shown only here: the server keeps only its SHA-256.
    token: String,
}

impl CreatedApiTokenJson {
    pub fn new(created: ApiToken, token: &str) -> Self {
        let listed = ApiTokenJson::from(created);
        Self {
            id: listed.id,
            name: listed.name,
            read_only: listed.read_only,
            created_at: listed.created_at,
            expires_at: listed.expires_at,
            last_used_at: listed.last_used_at,
            token: token.to_owned(),
        }
    }
}

json_documented_as!(TicketJson, SeenTicket, TicketShape);

// The schema of [`TicketJson`] in the OpenAPI document; the API's tests
// check every answer against it, so it cannot drift from the JSON.
/// A support ticket.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Ticket)]
#[expect(dead_code, reason = "a description for the document, never built")]
struct TicketShape {
    /// The `ticketId`, as a string (the original's document id).
    #[serde(rename = "_id")]
    id: String,
    ticket_id: i64,
    #[schema(required = true)]
    subject: Option<String>,
    body: String,
    #[schema(schema_with = schemas::status)]
    status: TicketStatus,
    /// The author's user id.
    author: String,
    created_at: String,
    updated_at: String,
    #[schema(required = true)]
    resolved_at: Option<String>,
    #[schema(schema_with = schemas::priority)]
    priority: Priority,
    /// The user id of the agent or admin who owns the ticket.
    #[schema(required = true)]
    assignee: Option<String>,
    /// Sorted labels; staff only (absent for a customer).
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    /// When a support agent first replied in public.
    #[schema(required = true)]
    first_response_at: Option<String>,
    first_response_due_at: String,
    resolution_due_at: String,
    /// The first response or the resolution came, or is still missing,
    /// after its due time (evaluated when the ticket was read, at the same
    /// instant as a list's `breached` filter).
    sla_breached: bool,
    /// Who opened the ticket; staff only (absent for a customer, who is the
    /// requester).
    #[serde(skip_serializing_if = "Option::is_none")]
    requester: Option<RequesterShape>,
    /// The `ticketId` of the resolved ticket this one follows up (opened by
    /// the customer's mail to it); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    follow_up_of: Option<i64>,
}

/// The account that opened a ticket, as staff see it beside the ticket.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Requester)]
#[expect(dead_code, reason = "a description for the document, never built")]
struct RequesterShape {
    /// The user's id, as a string of digits (the ticket's `author`).
    #[serde(rename = "_id")]
    id: String,
    username: String,
    /// The account's address (`null`: none). Present only to those who see
    /// it: every member of staff for a customer's account; for a staff
    /// member's, the account itself and admins.
    #[schema(format = Email)]
    email: Option<String>,
}

json_documented_as!(ReplyJson, Reply, ReplyShape);

// The schema of [`ReplyJson`] in the OpenAPI document; the API's tests
// check every answer against it, so it cannot drift from the JSON.
/// A reply on a ticket.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Reply)]
#[expect(dead_code, reason = "a description for the document, never built")]
struct ReplyShape {
    #[serde(rename = "_id")]
    id: String,
    body: String,
    /// The author's user id.
    author: String,
    /// The author's role, so a client can tell agent from customer.
    #[schema(schema_with = schemas::role)]
    role: Role,
    /// An internal note: only staff see it.
    internal: bool,
    ticket_id: i64,
    created_at: String,
    updated_at: String,
}

json_documented_as!(EventJson, Event, EventShape);

// The schema of [`EventJson`] in the OpenAPI document; the API's tests
// check every answer against it, so it cannot drift from the JSON.
/// One entry of a ticket's history.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Event)]
#[expect(dead_code, reason = "a description for the document, never built")]
struct EventShape {
    #[serde(rename = "_id")]
    id: String,
    ticket_id: i64,
    /// `created`, `replied`, `noted`, `status_changed`, `priority_changed`,
    /// `assigned`, `tags_changed` or `held_dismissed`; a customer sees only
    /// the first, second, fourth and fifth.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The user id of who made the change.
    actor: String,
    at: String,
    /// `{}` for `created`; `{replyId}` for `replied` and `noted`; `{from, to}`
    /// for the status, the priority and the assignee (user ids or null);
    /// `{added, removed}` for tags; `{heldId}` for a held message staff
    /// dismissed.
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

// Request bodies. Every field is optional to serde, so a missing one is our
// own 400 naming the field; the document says which are required. `null`
// is a value, never a way of leaving a field out: a field takes it only
// where null is one of its values (a ticket's `subject`, which a ticket
// shows as null, and `assignee`, where it unassigns); anywhere else it is a
// 400 (`#[serde(deserialize_with = "sent")]`). Each field's schema is
// built from the `domain` constants and types that check it (see
// `schemas`), so the document and the server cannot disagree.

/// A username or PIN that cannot exist is answered like a wrong one
/// (401).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::username, required = true)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin, required = true)]
    pub pin: Option<String>,
}

/// Without `role`, or with `CUSTOMER`, a sign-up (no token needed); a
/// staff role needs an admin's token.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::username, required = true)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin, required = true)]
    pub pin: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::role)]
    pub role: Option<String>,
    /// Where the account can be reached; absent or `null` for none. One
    /// another account has (in any case) is 409.
    #[serde(default)]
    #[schema(schema_with = schemas::email)]
    pub email: Option<String>,
}

/// Any of the fields; the ones left out stay as they are. A `pin` is a
/// reset for a user who forgot theirs, and ends the user's sessions.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::role)]
    pub role: Option<String>,
    /// `false` stops the account's logins and every token it holds.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = bool)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin)]
    pub pin: Option<String>,
    /// A new address, or `null` to clear it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::email)]
    pub email: Option<Option<String>>,
}

/// The caller's own changes to their account: `email` (a new address, or
/// `null` to clear it); left out, it stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMeRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::email)]
    pub email: Option<Option<String>>,
}

/// A `currentPin` that cannot be anyone's is answered like a wrong one
/// (403).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePinRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin, required = true)]
    pub current_pin: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin, required = true)]
    pub new_pin: Option<String>,
}

/// Who a PIN reset link is for: `email` or `username`, exactly one (both
/// or neither is 400).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestPinResetRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::lookup_email)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::username)]
    pub username: Option<String>,
}

/// The new PIN a reset link sets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPinRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::pin, required = true)]
    pub new_pin: Option<String>,
}

/// What became of an inbound message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboundOutcomeJson {
    /// `created`, `appended`, `held`, `duplicate` or `ignored`.
    #[schema(pattern = "^(created|appended|held|duplicate|ignored)$")]
    pub outcome: &'static str,
    /// The ticket it made, was added to or was held for (a duplicate: the
    /// first delivery's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
    /// The held message's id (`GET /held/{id}`), when it was held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_id: Option<String>,
}

impl From<store::Taken> for InboundOutcomeJson {
    fn from(taken: store::Taken) -> Self {
        Self {
            outcome: taken.outcome,
            ticket_id: taken.ticket_id.map(|id| id.0),
            held_id: taken.held_id.map(|id| id.to_string()),
        }
    }
}

/// What every PIN reset request is told, whether or not an account
/// matched.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinResetRequestedJson {
    /// How long a link sent now works, in minutes.
    pub link_lifetime_minutes: i64,
}

/// A PIN reset link's URL: `/pin-resets/{token}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PinResetPath {
    /// The token of the link the mail carried (base64url of 32 bytes).
    #[param(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

/// A token for the caller's own account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiTokenRequest {
    /// What the token is for, as its owner will recognise it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::token_name, required = true)]
    pub name: Option<String>,
    /// Absent: the token lasts until revoked. A JSON number, so `30.0` is
    /// 30 days, as the schema's `integer` says.
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::expires_in_days)]
    pub expires_in_days: Option<serde_json::Number>,
    /// `true`: it may only read (`GET`, `HEAD`); default `false`.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = bool)]
    pub read_only: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTicketRequest {
    /// Absent or `null` for none.
    #[schema(schema_with = schemas::subject)]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::body, required = true)]
    pub body: Option<String>,
}

/// Only `RESOLVED` is offered: a customer resolves their own ticket.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTicketRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::resolved, required = true)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateReplyRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::body, required = true)]
    pub body: Option<String>,
    /// `true` for an internal note (support agents and admins only; any
    /// status, resolved included; never shown to the customer).
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = bool)]
    pub internal: Option<bool>,
}

/// Staff triage: any of the three fields; the ones left out stay as they
/// are. Only `assignee` may be `null`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeTicketRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::priority)]
    pub priority: Option<String>,
    /// An active support agent's or admin's user id, or `null` to unassign.
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::assignee)]
    pub assignee: Option<Option<serde_json::Value>>,
    /// The whole new set (replaces the old one), lower-cased and
    /// de-duplicated.
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::tags)]
    pub tags: Option<Vec<String>>,
}

/// A field that was sent (with `#[serde(default)]`, `None` is one left
/// out). For a plain `T`, `null` is refused as a value of the wrong type;
/// for `T = Option<_>`, `null` is `Some(None)`, told apart from absence.
fn sent<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

// Query parameters, kept as text so a bad value is our own 400; their
// schemas say what `domain` accepts.

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1); `page` x `limit` at most 10,000
    /// (deeper lists follow `cursor`).
    #[param(schema_with = schemas::page)]
    pub page: Option<String>,
    /// Page size (default 20).
    #[param(schema_with = schemas::limit)]
    pub limit: Option<String>,
    /// The `meta.nextCursor` of the previous page, for the page after it:
    /// with the same query (filters, sort, direction, limit), without
    /// `page`.
    pub cursor: Option<String>,
    /// `true` adds `meta.total`, the number of matching records, which
    /// costs a count of them.
    #[param(value_type = Option<bool>)]
    pub count: Option<String>,
}

/// What a list's query asks besides its paging ([`PageQuery`]): the
/// tickets' filters and order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilters {
    /// The order (default `ticketId`; `priority` puts `LOW` first).
    #[param(schema_with = schemas::sort)]
    pub sort: Option<String>,
    /// `asc` (default) or `desc`; `1` and `-1` as in the original.
    #[param(schema_with = schemas::direction)]
    pub direction: Option<String>,
    /// Only tickets of this status.
    #[param(schema_with = schemas::status)]
    pub status: Option<String>,
    /// Only tickets of this priority.
    #[param(schema_with = schemas::priority)]
    pub priority: Option<String>,
    /// Staff only: `me`, `none` (unassigned) or a user id.
    #[param(schema_with = schemas::assignee_filter)]
    pub assignee: Option<String>,
    /// Staff only: tickets carrying this tag (lower-cased first).
    #[param(schema_with = schemas::tag_filter)]
    pub tag: Option<String>,
    /// Full-text search: tickets with every word (runs of letters and
    /// digits, any case, accents kept) in their subject, body or replies,
    /// and for staff their internal notes. Punctuation only separates
    /// words; a `q` without words is no filter; at most 32 words.
    pub q: Option<String>,
    /// `true`: only tickets in SLA breach at the moment of the request
    /// (what their `slaBreached` says); `false`: only those not.
    #[param(value_type = Option<bool>)]
    pub breached: Option<String>,
}

/// The accounts' filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilters {
    /// Only users of this role.
    #[param(schema_with = schemas::role)]
    pub role: Option<String>,
}

/// A ticket's URL: `/tickets/{ticketId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TicketPath {
    /// The ticket's `ticketId`.
    #[serde(rename = "ticketId")]
    #[param(value_type = i64, minimum = 1)]
    pub ticket_id: String,
}

/// `If-Match` on a write that can be made conditional.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The `ETag` of the version the write is made against (or `*`: any
    /// version). Compared with the current version as the caller sees
    /// it, with the record locked: if none matches, 412 and nothing
    /// changes. A weak tag (`W/"..."`) never matches. Required when the
    /// server runs with `REQUIRE_IF_MATCH=true` (else 428).
    #[serde(rename = "If-Match")]
    #[param(
        pattern = r#"^[ \t]*\*[ \t]*$|^[ \t,]*(W/)?"[^"\x00-\x20\x7f]*"([ \t]*,[ \t,]*(W/)?"[^"\x00-\x20\x7f]*")*[ \t,]*$"#
    )]
    pub if_match: Option<String>,
}

/// `If-None-Match` on a read of a versioned record.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatchHeader {
    /// The `ETag` (or tags) of the copy the client holds: if one is the
    /// current version, 304 with no body. A value that is not a list of
    /// tags is ignored.
    #[serde(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
}

/// `Idempotency-Key` on a creating request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// A key the client makes up for this request (a UUID, say) and sends
    /// again on every retry of it: 1 to 255 visible ASCII characters. For
    /// 24 hours a retry with the same key and body gets the first answer
    /// again (with `Idempotent-Replayed: true`) and changes nothing; the
    /// same key with another body is 422, and while the first is still
    /// being answered, 409. Keys are the caller's own (signed out: the
    /// client address's), per method and path.
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    pub idempotency_key: Option<String>,
}

/// A user's URL: `/users/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
}

/// One of the caller's own tokens: `/users/me/tokens/{tokenId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OwnTokenPath {
    /// The token's `_id`.
    #[serde(rename = "tokenId")]
    #[param(value_type = i64, minimum = 1)]
    pub token_id: String,
}

/// One of a user's tokens: `/users/{id}/tokens/{tokenId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserTokenPath {
    /// The user's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
    /// The token's `_id`.
    #[serde(rename = "tokenId")]
    #[param(value_type = i64, minimum = 1)]
    pub token_id: String,
}

impl PageQuery {
    /// The paging values, as the domain parses them.
    pub fn paging(&self) -> domain::Paging<'_> {
        domain::Paging {
            page: self.page.as_deref(),
            limit: self.limit.as_deref(),
            cursor: self.cursor.as_deref(),
            count: self.count.as_deref(),
        }
    }
}

// Webhooks (admins only).

/// A webhook endpoint (never its secret, which only its creation and a
/// rotation show).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = Webhook)]
pub struct WebhookJson {
    #[serde(rename = "_id")]
    id: String,
    url: String,
    description: String,
    /// The event types it receives (and `ping`).
    events: Vec<String>,
    /// `false` when an admin turned it off, or it failed every delivery
    /// for five days.
    enabled: bool,
    /// Its first failed delivery since its last success.
    #[schema(required = true)]
    failing_since: Option<String>,
    /// Until when the secret of before the last rotation also signs.
    #[schema(required = true)]
    previous_secret_expires_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<store::Webhook> for WebhookJson {
    fn from(webhook: store::Webhook) -> Self {
        Self {
            id: webhook.id.to_string(),
            url: webhook.url,
            description: webhook.description,
            events: webhook.events.names().map(str::to_owned).collect(),
            enabled: webhook.enabled,
            failing_since: webhook.failing_since.map(timestamp),
            previous_secret_expires_at: webhook.previous_secret_until.map(timestamp),
            created_at: timestamp(webhook.created_at),
            updated_at: timestamp(webhook.updated_at),
        }
    }
}

/// A webhook endpoint with its signing secret, shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = WebhookWithSecret)]
pub struct WebhookWithSecretJson {
    #[serde(rename = "_id")]
    id: String,
    url: String,
    description: String,
    events: Vec<String>,
    enabled: bool,
    #[schema(required = true)]
    failing_since: Option<String>,
    #[schema(required = true)]
    previous_secret_expires_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// `whsec_` and the base64 of 32 random bytes: the key of the
    /// `webhook-signature` HMAC. Shown once; keep it.
    secret: String,
}

impl From<store::WithSecret> for WebhookWithSecretJson {
    fn from(created: store::WithSecret) -> Self {
        let WebhookJson {
            id,
            url,
            description,
            events,
            enabled,
            failing_since,
            previous_secret_expires_at,
            created_at,
            updated_at,
        } = created.webhook.into();
        Self {
            id,
            url,
            description,
            events,
            enabled,
            failing_since,
            previous_secret_expires_at,
            created_at,
            updated_at,
            secret: created.secret,
        }
    }
}

/// One attempt to deliver a message to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryJson {
    /// The attempt's id (what `redeliver` takes).
    #[serde(rename = "_id")]
    id: String,
    /// The message's `webhook-id`, the same on every attempt and
    /// redelivery.
    webhook_id: String,
    /// The event type.
    #[serde(rename = "type")]
    kind: String,
    at: String,
    /// The answer's status; null when none came.
    #[schema(required = true)]
    status_code: Option<i32>,
    duration_ms: i64,
    /// What went wrong; null on success.
    #[schema(required = true)]
    error: Option<String>,
    /// The first KiB of the answer.
    #[schema(required = true)]
    response: Option<String>,
    /// A 2xx came within the timeout.
    succeeded: bool,
}

impl From<store::DeliveryAttempt> for DeliveryJson {
    fn from(attempt: store::DeliveryAttempt) -> Self {
        Self {
            id: attempt.id.to_string(),
            webhook_id: attempt.message_id,
            kind: attempt.event_type,
            at: timestamp(attempt.at),
            status_code: attempt.status_code,
            duration_ms: attempt.duration_ms,
            error: attempt.error,
            response: attempt.response,
            succeeded: attempt.succeeded,
        }
    }
}

/// A message queued for delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = QueuedWebhook)]
pub struct QueuedJson {
    /// Its `webhook-id`.
    pub webhook_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_url, required = true)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_events, required = true)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_description)]
    pub description: Option<String>,
}

/// Any of the fields; the ones left out stay as they are. `enabled: true`
/// turns a disabled endpoint on again with its failures forgotten.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhookRequest {
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_url)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_events)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = bool)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(schema_with = schemas::webhook_description)]
    pub description: Option<String>,
}

/// A webhook endpoint's URL: `/webhooks/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The endpoint's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
}

/// One delivery attempt's URL: `/webhooks/{id}/deliveries/{deliveryId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// The endpoint's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
    /// The attempt's `_id`.
    #[serde(rename = "deliveryId")]
    #[param(value_type = i64, minimum = 1)]
    pub delivery_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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

// The outbox (admins only).

/// A message of the outbox, of any channel.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = OutboxMessage)]
pub struct OutboxMessageJson {
    /// The message's id (what `retry` takes).
    #[serde(rename = "_id")]
    id: String,
    /// `mail` or `webhook`.
    channel: String,
    /// The notification kind (`publicReply`, ...), `pinReset`, or the
    /// webhook event type; null when the payload says none.
    #[schema(required = true)]
    kind: Option<String>,
    /// The address (mail) or the endpoint's `_id` (webhooks).
    recipient: String,
    /// The ticket it is about; null when none.
    #[schema(required = true)]
    ticket_id: Option<i64>,
    /// `pending` (perhaps after failed attempts), `sent` or `failed`.
    #[schema(pattern = "^(pending|sent|failed)$")]
    status: String,
    /// Attempts made.
    attempts: i32,
    /// What went wrong at the latest attempt; null if it did not fail.
    #[schema(required = true)]
    last_error: Option<String>,
    /// When it is tried next; null unless pending.
    #[schema(required = true)]
    next_attempt_at: Option<String>,
    created_at: String,
}

impl From<store::OutboxMessage> for OutboxMessageJson {
    fn from(message: store::OutboxMessage) -> Self {
        Self {
            id: message.id.to_string(),
            channel: message.channel,
            kind: message.kind,
            recipient: message.recipient,
            ticket_id: message.ticket_id,
            status: message.status.name().to_owned(),
            attempts: message.attempts,
            last_error: message.last_error,
            next_attempt_at: message.next_attempt_at.map(timestamp),
            created_at: timestamp(message.created_at),
        }
    }
}

/// Which messages `GET /outbox` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages of this status: `pending`, `sent` or `failed`.
    #[param(pattern = "^(pending|sent|failed)$")]
    pub status: Option<String>,
    /// Only messages of this channel: `mail` or `webhook`.
    #[param(pattern = "^(mail|webhook)$")]
    pub channel: Option<String>,
}

/// One outbox message's URL: `/outbox/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OutboxPath {
    /// The message's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
}

/// Notification preferences: each kind of mail, on or off. A customer's
/// have `ticketCreated` (the acknowledgement of their own ticket),
/// `publicReply` and `statusChanged` only; staff have all seven. As a
/// request body every key is optional, and only the keys sent change.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationPreferencesJson {
    /// A new ticket: for a customer, the acknowledgement of their own;
    /// for staff, every new ticket (and a customer's reply or a missed
    /// target on an unassigned one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub ticket_created: Option<bool>,
    /// A staff member's public reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub public_reply: Option<bool>,
    /// The customer's reply (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub customer_reply: Option<bool>,
    /// An internal note (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub internal_note: Option<bool>,
    /// The status moved without a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub status_changed: Option<bool>,
    /// A ticket handed to the recipient (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub assigned: Option<bool>,
    /// A missed SLA target (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool, required = false)]
    pub sla_breached: Option<bool>,
}

impl NotificationPreferencesJson {
    /// The kinds an account has, each with whether it is on.
    pub fn from_shown(shown: &[(domain::NotificationKind, bool)]) -> Self {
        use domain::NotificationKind as K;
        let mut json = Self::default();
        for (kind, on) in shown {
            let slot = match kind {
                K::TicketCreated => &mut json.ticket_created,
                K::PublicReply => &mut json.public_reply,
                K::CustomerReply => &mut json.customer_reply,
                K::InternalNote => &mut json.internal_note,
                K::StatusChanged => &mut json.status_changed,
                K::Assigned => &mut json.assigned,
                K::SlaBreached => &mut json.sla_breached,
            };
            *slot = Some(*on);
        }
        json
    }
}

// Held inbound mail (staff only).

/// Who sent a held message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = HeldSender)]
pub struct HeldSenderJson {
    /// The `From` address, as the message gave it.
    address: String,
    /// The account with that address, as the caller sees accounts; null
    /// when no account had it.
    #[schema(required = true)]
    user: Option<UserJson>,
}

/// A message inbound mail held for staff instead of taking it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = HeldMessage)]
pub struct HeldMessageJson {
    /// The held message's id (the `heldId` of `POST /inbound/email`).
    #[serde(rename = "_id")]
    id: String,
    sender: HeldSenderJson,
    /// The ticket it was for; null when it answered none.
    #[schema(required = true)]
    ticket_id: Option<i64>,
    /// Why it was held: the rule that refused it.
    reason: String,
    subject: String,
    /// The text taken from it (the whole message is kept as received).
    text: String,
    received_at: String,
    /// When staff dismissed it; null while it waits.
    #[schema(required = true)]
    dismissed_at: Option<String>,
    /// The user id of who dismissed it; null while it waits.
    #[schema(required = true)]
    dismissed_by: Option<String>,
}

impl HeldMessageJson {
    /// `held` as `viewer` sees it (the sender's account as accounts are
    /// seen).
    pub fn seen_by(viewer: domain::Actor, held: store::HeldMessage) -> Self {
        let (dismissed_at, dismissed_by) = match held.dismissed {
            Some((at, by)) => (Some(timestamp(at)), Some(by.to_string())),
            None => (None, None),
        };
        Self {
            id: held.id.to_string(),
            sender: HeldSenderJson {
                address: held.sender_address,
                user: held
                    .sender
                    .map(|user| UserJson::from(domain::audience::see_user(viewer, user))),
            },
            ticket_id: held.ticket_id.map(|id| id.0),
            reason: held.reason,
            subject: held.subject,
            text: held.body,
            received_at: timestamp(held.received_at),
            dismissed_at,
            dismissed_by,
        }
    }
}

/// One held message's URL: `/held/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HeldPath {
    /// The held message's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
}

/// One reply's URL: `/replies/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReplyPath {
    /// The reply's `_id`.
    #[param(value_type = i64, minimum = 1)]
    pub id: String,
}
