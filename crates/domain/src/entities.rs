//! The records the tracker keeps, as plain data.

use chrono::{DateTime, Utc};

use crate::ids::{TicketId, UserId};
use crate::roles::Role;
use crate::sla::{DueTimes, breach_time, is_breached};
use crate::values::EmailAddress;
use crate::workflow::{Priority, TagSet, TicketStatus};

/// An account; the PIN hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub active: bool,
    /// Where the account can be reached; who may see it is
    /// `audience::see_user`'s to say.
    pub email: Option<EmailAddress>,
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
    /// `None` when the viewer may not see tags (a customer): `see_ticket`
    /// drops any the store read with the ticket.
    pub tags: Option<TagSet>,
    /// When the first public reply by a support agent was written.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Stored at creation and recomputed when the priority changes.
    pub due: DueTimes,
    /// The resolved ticket this one follows up (a customer's mail to a
    /// resolved ticket opens a new one).
    pub follow_up_of: Option<TicketId>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::SlaTargets;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    /// An urgent ticket opened at `at(0)`: first response due at 60
    /// minutes, resolution at 240.
    fn urgent(first_response: Option<i64>, resolved: Option<i64>) -> Ticket {
        Ticket {
            id: TicketId(7),
            subject: None,
            body: "printer on fire".to_owned(),
            status: match (first_response, resolved) {
                (_, Some(_)) => TicketStatus::Resolved,
                (Some(_), None) => TicketStatus::Replied,
                (None, None) => TicketStatus::Unattended,
            },
            author: UserId(1),
            created_at: at(0),
            updated_at: at(0),
            resolved_at: resolved.map(at),
            priority: Priority::Urgent,
            assignee: None,
            tags: None,
            first_response_at: first_response.map(at),
            due: SlaTargets::default().due_times(at(0), Priority::Urgent),
            follow_up_of: None,
        }
    }

    #[test]
    fn a_tickets_breach_is_the_sla_rules_verdict_on_its_own_times() {
        let cases = [
            (urgent(None, None), 30, false, Some(at(60))),
            (urgent(None, None), 61, true, Some(at(60))),
            (urgent(Some(20), None), 239, false, Some(at(240))),
            (urgent(Some(20), None), 241, true, Some(at(240))),
            (urgent(Some(90), None), 100, true, Some(at(60))),
            (urgent(Some(20), Some(200)), 10_000, false, None),
            (urgent(None, Some(50)), 10_000, false, None),
            (urgent(Some(20), Some(300)), 10_000, true, Some(at(240))),
        ];
        for (ticket, now, breached, breach_at) in cases {
            let (first, resolved) = (ticket.first_response_at, ticket.resolved_at);
            assert_eq!(
                ticket.sla_breached(at(now)),
                breached,
                "{ticket:?} at {now}"
            );
            assert_eq!(
                ticket.sla_breached(at(now)),
                is_breached(ticket.due, first, resolved, at(now))
            );
            assert_eq!(ticket.sla_breach_time(), breach_at, "{ticket:?}");
            assert_eq!(
                ticket.sla_breach_time(),
                breach_time(ticket.due, first, resolved)
            );
        }
    }

    #[test]
    fn a_tickets_facts_are_its_own() {
        let mut ticket = urgent(Some(20), None);
        ticket.assignee = Some(UserId(3));
        assert_eq!(
            ticket.facts(),
            TicketFacts {
                author: UserId(1),
                status: TicketStatus::Replied,
                assignee: Some(UserId(3)),
                has_first_response: true,
            }
        );
        assert!(!urgent(None, None).facts().has_first_response);
    }
}
