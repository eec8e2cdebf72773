//! Triage and history: staff changing a ticket's priority, assignee and
//! tags, and anyone reading the history they may see.

use diesel::prelude::*;
use domain::rules::{Audience, Standing, may_view_ticket};
use domain::triage::decide_ticket_change;
use domain::{Actor, Event, Page, PageRequest, Position, Role, Ticket, TicketChange, UserId};

use crate::connection::{DbBackend, DbConnection, on_backend};
use crate::error::StoreResult;
use crate::rows::{
    EVENT_COLUMNS, EventRow, after_id, convert_all, page_offset, parse, rows_to_read, total,
};
use crate::schema::{events, ticket_tags, users};
use crate::search::breach_column;
use crate::tickets::{TicketChanges, load_tags, load_ticket, lock_ticket, record_events};
use crate::{Store, now};

impl Store {
    /// Changes a ticket's priority, assignee and tags as `domain` decides,
    /// with the ticket locked and the change's events written in the same
    /// transaction; a change to what already is writes nothing.
    pub fn change_ticket(
        &self,
        actor: Actor,
        ticket_id: i64,
        change: &TicketChange,
    ) -> StoreResult<Ticket> {
        self.write(|conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            let tags = load_tags(conn, ticket_id)?;
            // Not locked: an assignee deactivated right after this read is
            // the same as one deactivated right after the assignment.
            let assignee = match change.assignee {
                Some(Some(user)) => load_standing(conn, user)?,
                _ => None,
            };
            let decided =
                decide_ticket_change(actor, &ticket, &tags, change, assignee, &self.sla, now())?;
            // Only staff get this far, and staff see the tags.
            let Some(update) = decided else {
                return Ok(Ticket {
                    tags: Some(tags),
                    ..ticket
                });
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
            record_events(conn, ticket_id, &update.events)?;
            // What was just written, without reading it back.
            Ok(Ticket {
                priority: update.priority,
                due: update.due,
                assignee: update.assignee,
                updated_at: update.updated_at.unwrap_or(ticket.updated_at),
                tags: Some(update.tags.unwrap_or(tags)),
                ..ticket
            })
        })
    }

    /// A page of the ticket's history that `actor` may see, oldest first: a
    /// customer's never holds notes, assignments or tag changes, nor counts
    /// them.
    pub fn list_events(
        &self,
        actor: Actor,
        ticket_id: i64,
        page: PageRequest,
    ) -> StoreResult<Page<Event>> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        let kinds: Vec<&str> = Audience::of(actor)
            .event_types()
            .into_iter()
            .map(|kind| kind.as_str())
            .collect();
        let visible = || {
            events::table
                .filter(events::ticket_id.eq(ticket_id))
                .filter(events::kind.eq_any(kinds.clone()))
        };
        let total = match page.counts() {
            true => Some(total(visible().count().get_result(conn)?)),
            false => None,
        };
        let mut query = visible()
            .select(EVENT_COLUMNS)
            .order_by(events::id.asc())
            .limit(rows_to_read(page))
            .offset(page_offset(page))
            .into_boxed::<DbBackend>();
        if let Some(after) = after_id(page) {
            query = query.filter(events::id.gt(after));
        }
        let rows: Vec<EventRow> = query.load(conn)?;
        Ok(Page::of_rows(
            convert_all(rows)?,
            page,
            |event: &Event| Position::after_id(event.id),
            total,
        ))
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
    ticket_id: i64,
    new_tags: &domain::TagSet,
) -> StoreResult<()> {
    diesel::delete(ticket_tags::table.filter(ticket_tags::ticket_id.eq(ticket_id)))
        .execute(conn)?;
    let rows: Vec<_> = new_tags
        .iter()
        .map(|tag| {
            (
                ticket_tags::ticket_id.eq(ticket_id),
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
