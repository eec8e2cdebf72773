//! The JSON every door writes of the tracker's records: a ticket, a reply,
//! an event and an account, as their viewer sees them. Defined once here,
//! so the API's answers and the webhooks' payloads (written by the store,
//! which knows no door) cannot differ. The API's OpenAPI document describes
//! these same shapes, and the API's tests check every answer against it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::audience::{SeenTicket, SeenUser};
use crate::entities::Reply;
use crate::history::{Event, EventKind};
use crate::ids::UserId;
use crate::roles::Role;
use crate::workflow::{Priority, Tag, TicketStatus};

/// A time as every door writes it for programs (JSON, CSV, webhooks):
/// RFC 3339 in UTC with milliseconds and `Z`, e.g. `2021-04-13T01:56:44.234Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An account as the API shows it (never its PIN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserJson {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    pub role: Role,
    pub active: bool,
    /// The address (`null`: none) to those who see it, absent to others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<SeenUser> for UserJson {
    fn from(seen: SeenUser) -> Self {
        let SeenUser { user, shows_email } = seen;
        Self {
            id: user.id.to_string(),
            username: user.username,
            role: user.role,
            active: user.active,
            email: shows_email.then(|| user.email.map(|address| address.as_str().to_owned())),
            created_at: timestamp(user.created_at),
            updated_at: timestamp(user.updated_at),
        }
    }
}

/// Who opened a ticket, as staff see it beside the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequesterJson {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    /// The address (`null`: none) to those who see it, absent to others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
}

impl From<SeenUser> for RequesterJson {
    fn from(seen: SeenUser) -> Self {
        let SeenUser { user, shows_email } = seen;
        Self {
            id: user.id.to_string(),
            username: user.username,
            email: shows_email.then(|| user.email.map(|address| address.as_str().to_owned())),
        }
    }
}

/// A ticket as its viewer sees it (tags and the requester only for
/// staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketJson {
    #[serde(rename = "_id")]
    pub id: String,
    pub ticket_id: i64,
    pub subject: Option<String>,
    pub body: String,
    pub status: TicketStatus,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub priority: Priority,
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub first_response_at: Option<String>,
    pub first_response_due_at: String,
    pub resolution_due_at: String,
    pub sla_breached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<RequesterJson>,
    /// The resolved ticket this one follows up; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<i64>,
}

impl From<SeenTicket> for TicketJson {
    fn from(seen: SeenTicket) -> Self {
        let SeenTicket {
            ticket,
            sla_breached,
            requester,
        } = seen;
        Self {
            id: ticket.id.to_string(),
            ticket_id: ticket.id.0,
            subject: ticket.subject,
            body: ticket.body,
            status: ticket.status,
            author: ticket.author.to_string(),
            created_at: timestamp(ticket.created_at),
            updated_at: timestamp(ticket.updated_at),
            resolved_at: ticket.resolved_at.map(timestamp),
            priority: ticket.priority,
            assignee: ticket.assignee.map(|user| user.to_string()),
            tags: ticket
                .tags
                .map(|tags| tags.into_iter().map(String::from).collect()),
            first_response_at: ticket.first_response_at.map(timestamp),
            first_response_due_at: timestamp(ticket.due.first_response),
            resolution_due_at: timestamp(ticket.due.resolution),
            sla_breached,
            requester: requester.map(RequesterJson::from),
            follow_up_of: ticket.follow_up_of.map(|of| of.0),
        }
    }
}

/// A reply or an internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyJson {
    #[serde(rename = "_id")]
    pub id: String,
    pub body: String,
    pub author: String,
    pub role: Role,
    pub internal: bool,
    pub ticket_id: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Reply> for ReplyJson {
    fn from(reply: Reply) -> Self {
        Self {
            id: reply.id.to_string(),
            body: reply.body,
            author: reply.author.to_string(),
            role: reply.author_role,
            internal: reply.internal,
            ticket_id: reply.ticket_id.0,
            created_at: timestamp(reply.created_at),
            updated_at: timestamp(reply.updated_at),
        }
    }
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventJson {
    #[serde(rename = "_id")]
    pub id: String,
    pub ticket_id: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: String,
    pub at: String,
    pub data: EventData,
}

/// An event's data: `{}` for `created`; `{replyId}` for `replied` and
/// `noted`; `{from, to}` for the status, the priority and the assignee
/// (user ids or null); `{added, removed}` for tags; `{heldId}` for a held
/// message dismissed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum EventData {
    Nothing {},
    Reply {
        reply_id: String,
    },
    Status {
        from: TicketStatus,
        to: TicketStatus,
    },
    Priority {
        from: Priority,
        to: Priority,
    },
    Assignee {
        from: Option<String>,
        to: Option<String>,
    },
    Tags {
        added: Vec<Tag>,
        removed: Vec<Tag>,
    },
    Held {
        held_id: String,
    },
}

impl From<Event> for EventJson {
    fn from(event: Event) -> Self {
        let user = |id: Option<UserId>| id.map(|user| user.to_string());
        let kind = event.kind.event_type().as_str();
        let data = match event.kind {
            EventKind::Created {} => EventData::Nothing {},
            EventKind::Replied { reply_id } | EventKind::Noted { reply_id } => EventData::Reply {
                reply_id: reply_id.to_string(),
            },
            EventKind::StatusChanged { from, to } => EventData::Status { from, to },
            EventKind::PriorityChanged { from, to } => EventData::Priority { from, to },
            EventKind::Assigned { from, to } => EventData::Assignee {
                from: user(from),
                to: user(to),
            },
            EventKind::TagsChanged { added, removed } => EventData::Tags { added, removed },
            EventKind::HeldDismissed { held_id } => EventData::Held {
                held_id: held_id.to_string(),
            },
        };
        Self {
            id: event.id.to_string(),
            ticket_id: event.ticket_id.0,
            kind,
            actor: event.actor.to_string(),
            at: timestamp(event.at),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TicketId;

    fn event(kind: EventKind) -> serde_json::Value {
        let at = DateTime::parse_from_rfc3339("2021-04-13T01:56:44.234567Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid");
        let json = EventJson::from(Event {
            id: 7,
            ticket_id: TicketId(3),
            kind,
            actor: UserId(2),
            at,
        });
        serde_json::to_value(json).expect("json")
    }

    #[test]
    fn an_events_data_is_written_in_its_own_shape() {
        assert_eq!(event(EventKind::Created {})["data"], serde_json::json!({}));
        assert_eq!(
            event(EventKind::Noted { reply_id: 9 })["data"],
            serde_json::json!({"replyId": "9"})
        );
        assert_eq!(
            event(EventKind::Assigned {
                from: None,
                to: Some(UserId(4))
            })["data"],
            serde_json::json!({"from": null, "to": "4"})
        );
        let dismissed = event(EventKind::HeldDismissed { held_id: 12 });
        assert_eq!(dismissed["type"], "held_dismissed");
        assert_eq!(dismissed["data"], serde_json::json!({"heldId": "12"}));
        let whole = event(EventKind::StatusChanged {
            from: TicketStatus::Unattended,
            to: TicketStatus::Resolved,
        });
        assert_eq!(
            whole,
            serde_json::json!({"_id": "7", "ticketId": 3, "type": "status_changed", "actor": "2",
                "at": "2021-04-13T01:56:44.234Z", "data": {"from": "UNATTENDED", "to": "RESOLVED"}})
        );
    }
}
