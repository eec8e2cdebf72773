//! Triage: staff changing a ticket's priority, assignee and tags.

use diesel::prelude::*;
use domain::accounts::Standing;
use domain::audience::see_ticket;
use domain::conditional::decide_precondition;
use domain::triage::{decide_ticket_change, may_triage};
use domain::{
    Actor, EntityTag, Precondition, Role, SeenTicket, Ticket, TicketChange, TicketId, UserId,
};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreResult;
use crate::events::record_events;
use crate::notify::notify_ticket_events;
use crate::prepared::load_requester_and_tags;
use crate::rows::{lock_ticket, parse};
use crate::schema::{ticket_tags, users};
use crate::sla::breach_column;
use crate::tickets::TicketChanges;
use crate::webhooks::announce_ticket_events;
use crate::{Store, now};

impl Store {
    /// Changes a ticket's priority, assignee and tags as `domain` decides,
    /// with the ticket locked and the change's events written in the same
    /// transaction; a change to what already is writes nothing.
    pub fn change_ticket(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        change: &TicketChange,
    ) -> StoreResult<SeenTicket> {
        self.change_ticket_if(actor, ticket_id, change, &Precondition::None)
    }

    /// [`Store::change_ticket`], if the ticket as `actor` sees it, read
    /// with the ticket locked, is still the version `precondition` names
    /// (`If-Match`); otherwise nothing is changed. Whether the caller may
    /// triage at all is answered first.
    pub fn change_ticket_if(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        change: &TicketChange,
        precondition: &Precondition,
    ) -> StoreResult<SeenTicket> {
        self.write(|conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            may_triage(actor, ticket.facts())?;
            let (author, tags) = load_requester_and_tags(conn, ticket_id)?;
            let now = now();
            let current = see_ticket(
                actor,
                Ticket {
                    tags: Some(tags.clone()),
                    ..ticket.clone()
                },
                Some(author.clone()),
                now,
            );
            decide_precondition(precondition, &EntityTag::of_ticket(&current))?;
            // Not locked: an assignee deactivated right after this read is
            // the same as one deactivated right after the assignment.
            let assignee = match change.assignee {
                Some(Some(user)) => load_standing(conn, user)?,
                _ => None,
            };
            let decided =
                decide_ticket_change(actor, &ticket, &tags, change, assignee, &self.sla, now)?;
            // Only staff get this far, and staff see the tags.
            let Some(update) = decided else {
                return Ok(current);
            };
            if let Some(at) = update.updated_at {
                let due_now = Ticket {
                    due: update.due,
                    ..ticket.clone()
                };
                let changes = TicketChanges {
                    sla_breach_at: Some(breach_column(&due_now)),
                    priority: Some(update.priority.rank()),
                    first_response_due_at: Some(update.due.first_response.naive_utc()),
                    resolution_due_at: Some(update.due.resolution.naive_utc()),
                    assignee_id: Some(update.assignee.map(|user| user.0)),
                    updated_at: Some(at.naive_utc()),
                    ..TicketChanges::default()
                };
                changes.apply(conn, ticket_id)?;
            }
            if let Some(new_tags) = &update.tags {
                replace_tags(conn, ticket_id, new_tags)?;
            }
            let recorded = record_events(conn, ticket_id, &update.events)?;
            announce_ticket_events(conn, ticket_id, &recorded)?;
            if self.sends_mail {
                notify_ticket_events(conn, actor, ticket_id, &recorded, None)?;
            }
            // What was just written, without reading it back.
            let changed = Ticket {
                priority: update.priority,
                due: update.due,
                assignee: update.assignee,
                updated_at: update.updated_at.unwrap_or(ticket.updated_at),
                tags: Some(update.tags.unwrap_or(tags)),
                ..ticket
            };
            Ok(see_ticket(actor, changed, Some(author), now))
        })
    }
}

/// A user's role and whether it is active; `None` when no user has the id.
fn load_standing(conn: &mut DbConnection, user: UserId) -> StoreResult<Option<Standing>> {
    let found: Option<(String, bool)> = users::table
        .find(user.0)
        .select((users::role, users::active))
        .first(conn)
        .optional()?;
    found
        .map(|(role, active)| {
            Ok(Standing {
                role: parse::<Role>(&role, "role")?,
                active,
            })
        })
        .transpose()
}

fn replace_tags(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    new_tags: &domain::TagSet,
) -> StoreResult<()> {
    diesel::delete(ticket_tags::table.filter(ticket_tags::ticket_id.eq(ticket_id.0)))
        .execute(conn)?;
    let rows: Vec<_> = new_tags
        .iter()
        .map(|tag| {
            (
                ticket_tags::ticket_id.eq(ticket_id.0),
                ticket_tags::tag.eq(tag.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        let insert = diesel::insert_into(ticket_tags::table).values(&rows);
        on_backend!(conn, |c| insert.execute(c)?);
    }
    Ok(())
}
