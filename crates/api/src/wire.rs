//! The wire format: the success envelope and the JSON shapes of users,
//! tickets and replies, as the original service wrote them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Reply, Ticket, User};
use serde::Serialize;

/// RFC 3339 UTC with milliseconds and `Z`, e.g. `2021-04-13T01:56:44.234Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `{"error": false, "message", "data"}`, plus `meta` on lists and
/// `token` on login.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    error: bool,
    message: &'static str,
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<PageMeta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// Where a page sits in its list.
#[derive(Debug, Serialize)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
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

impl<T: Serialize> Envelope<T> {
    pub fn new(message: &'static str, data: T) -> Self {
        Self {
            error: false,
            message,
            data,
            meta: None,
            token: None,
        }
    }

    pub fn page(message: &'static str, data: T, meta: PageMeta) -> Self {
        Self {
            meta: Some(meta),
            ..Self::new(message, data)
        }
    }

    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserJson {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    role: domain::Role,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketJson {
    #[serde(rename = "_id")]
    id: String,
    ticket_id: i64,
    subject: Option<String>,
    body: String,
    status: domain::TicketStatus,
    author: String,
    created_at: String,
    updated_at: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyJson {
    #[serde(rename = "_id")]
    id: String,
    body: String,
    author: String,
    /// The author's role, so a client can tell agent from customer.
    role: domain::Role,
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

/// Converts a page of records into their JSON shapes.
pub fn all<T, J: From<T>>(items: Vec<T>) -> Vec<J> {
    items.into_iter().map(J::from).collect()
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
}
