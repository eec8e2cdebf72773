//! The records the tracker keeps, as plain data.

use chrono::{DateTime, Utc};

use crate::roles::{Role, TicketStatus, UserId};

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
    pub id: i64,
    pub subject: Option<String>,
    pub body: String,
    pub status: TicketStatus,
    pub author: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// What the rules need to know about this ticket.
    pub fn facts(&self) -> TicketFacts {
        TicketFacts {
            author: self.author,
            status: self.status,
        }
    }
}

/// A reply on a ticket, with its author's role for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: i64,
    pub ticket_id: i64,
    pub body: String,
    pub author: UserId,
    pub author_role: Role,
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
}
