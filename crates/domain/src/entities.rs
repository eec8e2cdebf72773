//! The records the tracker keeps, as plain data.

use chrono::{DateTime, Utc};

use crate::ids::{TicketId, UserId};
use crate::roles::Role;
use crate::sla::{DueTimes, breach_time, is_breached};
use crate::workflow::{Priority, TagSet, TicketStatus};

/// An account; the PIN hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A support ticket; `id` is the public `ticketId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: Option<String>,
    pub body: String,
    pub status: TicketStatus,
    pub author: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub priority: Priority,
    /// The agent or admin who owns the ticket.
    pub assignee: Option<UserId>,
    /// `None` when the viewer may not see tags (a customer): the store does
    /// not even load them then.
    pub tags: Option<TagSet>,
    /// When the first public reply by a support agent was written.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Stored at creation and recomputed when the priority changes.
    pub due: DueTimes,
}

impl Ticket {
    /// What the rules need to know about this ticket.
    pub fn facts(&self) -> TicketFacts {
        TicketFacts {
            author: self.author,
            status: self.status,
            assignee: self.assignee,
            has_first_response: self.first_response_at.is_some(),
        }
    }

    /// Whether the ticket missed an SLA target as of `now`.
    pub fn sla_breached(&self, now: DateTime<Utc>) -> bool {
        is_breached(self.due, self.first_response_at, self.resolved_at, now)
    }

    /// When the ticket falls in breach as things stand (`None`: it met both
    /// targets); the store keeps it beside the fields it follows from.
    pub fn sla_breach_time(&self) -> Option<DateTime<Utc>> {
        breach_time(self.due, self.first_response_at, self.resolved_at)
    }
}

/// A reply on a ticket, with its author's role for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: i64,
    pub ticket_id: TicketId,
    pub body: String,
    pub author: UserId,
    pub author_role: Role,
    /// An internal note: staff only, never shown to a customer.
    pub internal: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The facts about a ticket that the rules decide on.
///
/// Whether an agent has replied is not stored apart: only an agent's reply
/// moves a ticket out of `UNATTENDED`, so an unresolved ticket has an agent
/// reply exactly when its status is `REPLIED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketFacts {
    pub author: UserId,
    pub status: TicketStatus,
    pub assignee: Option<UserId>,
    pub has_first_response: bool,
}
