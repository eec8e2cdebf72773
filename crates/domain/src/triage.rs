//! Triage: staff setting a ticket's priority, assignee and tags
//! (`PATCH /tickets/:ticketId`).

use chrono::{DateTime, Utc};

use crate::entities::Ticket;
use crate::history::{EventKind, NewEvent};
use crate::roles::{Actor, Role, UserId};
use crate::rules::{Audience, Refusal, Standing, may_view_ticket};
use crate::sla::{DueTimes, SlaTargets};
use crate::workflow::{Priority, TagSet};

/// The fields a PATCH asks to set; `None` leaves one as it is, and
/// `assignee: Some(None)` unassigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub priority: Option<Priority>,
    pub assignee: Option<Option<UserId>>,
    pub tags: Option<TagSet>,
}

/// What an allowed change writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketUpdate {
    pub priority: Priority,
    /// Recomputed from `createdAt` whenever the priority changes.
    pub due: DueTimes,
    pub assignee: Option<UserId>,
    /// The new set, when the tags change.
    pub tags: Option<TagSet>,
    /// The new `updatedAt` when a field a customer sees changed (priority,
    /// assignee); a tag change alone leaves it, so it reveals nothing.
    pub updated_at: Option<DateTime<Utc>>,
    /// `priority_changed`, `assigned`, `tags_changed`, in that order, for
    /// the fields that changed.
    pub events: Vec<NewEvent>,
}

/// Who may be given a ticket: an active support agent or admin. `None` is
/// a user id that names no account.
pub fn may_be_assigned(assignee: Option<Standing>) -> Result<(), Refusal> {
    match assignee {
        Some(Standing {
            role: Role::SupportAgent | Role::Admin,
            active: true,
        }) => Ok(()),
        _ => Err(Refusal::Invalid(
            "assignee must be an active support agent or admin",
        )),
    }
}

/// Staff change a ticket's priority, assignee and tags, in any status: a
/// customer gets 403 on their own ticket and 404 on another's. The
/// assignee must pass [`may_be_assigned`] (`assignee` is what the store
/// found for the requested id). A change to what already is answers
/// `None`: nothing is written, no event, `updatedAt` stays.
pub fn decide_ticket_change(
    actor: Actor,
    ticket: &Ticket,
    tags: &TagSet,
    change: &TicketChange,
    assignee: Option<Standing>,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) -> Result<Option<TicketUpdate>, Refusal> {
    may_view_ticket(actor, ticket.facts())?;
    if Audience::of(actor) != Audience::Staff {
        return Err(Refusal::Forbidden(
            "only support agents and admins change a ticket's priority, assignee or tags",
        ));
    }
    if let Some(Some(_)) = change.assignee {
        may_be_assigned(assignee)?;
    }
    let mut kinds = Vec::new();
    let priority = change.priority.unwrap_or(ticket.priority);
    if priority != ticket.priority {
        kinds.push(EventKind::PriorityChanged {
            from: ticket.priority,
            to: priority,
        });
    }
    let assignee = change.assignee.unwrap_or(ticket.assignee);
    if assignee != ticket.assignee {
        kinds.push(EventKind::Assigned {
            from: ticket.assignee,
            to: assignee,
        });
    }
    let customer_sees_a_change = !kinds.is_empty();
    let new_tags = change.tags.as_ref().filter(|new| *new != tags);
    if let Some(new) = new_tags {
        let (added, removed) = tags.difference(new);
        kinds.push(EventKind::TagsChanged { added, removed });
    }
    if kinds.is_empty() {
        return Ok(None);
    }
    Ok(Some(TicketUpdate {
        priority,
        due: targets.due_times(ticket.created_at, priority),
        assignee,
        tags: new_tags.cloned(),
        updated_at: customer_sees_a_change.then_some(now),
        events: kinds
            .into_iter()
            .map(|kind| NewEvent {
                kind,
                actor: actor.id,
                at: now,
            })
            .collect(),
    }))
}
