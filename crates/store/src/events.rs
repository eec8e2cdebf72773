//! A ticket's history: the events each change writes in its own
//! transaction, and the page of them a viewer may see.

use diesel::prelude::*;
use domain::audience::{Audience, may_view_ticket};
use domain::{Actor, Event, NewEvent, Page, PageRequest, TicketId};

use crate::Store;
use crate::connection::{DbBackend, DbConnection, on_backend};
use crate::error::StoreResult;
use crate::paging::page_in_id_order;
use crate::rows::{EVENT_COLUMNS, EventRow, encode_event, load_ticket};
use crate::schema::events;

impl Store {
    /// A page of the ticket's history that `actor` may see, oldest first: a
    /// customer's never holds notes, assignments or tag changes, nor counts
    /// them.
    pub fn list_events(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<Event>> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        events_page(conn, actor, ticket_id, page)
    }
}

/// The page of a ticket's history `actor` sees (the ticket already shown
/// to be theirs to see).
pub(crate) fn events_page(
    conn: &mut DbConnection,
    actor: Actor,
    ticket_id: TicketId,
    page: PageRequest,
) -> StoreResult<Page<Event>> {
    let kinds: Vec<&str> = Audience::of(actor)
        .event_types()
        .into_iter()
        .map(|kind| kind.as_str())
        .collect();
    let visible = || {
        events::table
            .filter(events::ticket_id.eq(ticket_id.0))
            .filter(events::kind.eq_any(kinds.clone()))
            .into_boxed::<DbBackend>()
    };
    Ok(page_in_id_order!(
        conn,
        page,
        visible,
        EVENT_COLUMNS => EventRow,
        events::id,
        |event: &Event| event.id,
    ))
}

/// Writes the events a rule produced, in the caller's transaction: a
/// change and its history commit or roll back together; answers them as
/// recorded, with their ids. A single-row `INSERT` is prepared once per
/// connection and reused, a multi-row one prepared on every run: SQLite
/// (no round trips) writes the events one row at a time, PostgreSQL a
/// single event alone and several in one statement.
pub(crate) fn record_events(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    new_events: &[NewEvent],
) -> StoreResult<Vec<Event>> {
    let encoded = new_events
        .iter()
        .map(|event| encode_event(&event.kind).map(|kind_and_data| (event, kind_and_data)))
        .collect::<StoreResult<Vec<_>>>()?;
    let row = |(event, (kind, data)): &(&NewEvent, (&'static str, String))| {
        (
            events::ticket_id.eq(ticket_id.0),
            events::kind.eq(*kind),
            events::actor_id.eq(event.actor.0),
            events::at.eq(event.at.naive_utc()),
            events::data.eq(data.clone()),
        )
    };
    let mut ids: Vec<i64> = Vec::with_capacity(encoded.len());
    if encoded.len() == 1 || matches!(conn, DbConnection::Sqlite(_)) {
        for event in &encoded {
            ids.push(
                diesel::insert_into(events::table)
                    .values(row(event))
                    .returning(events::id)
                    .get_result(conn)?,
            );
        }
    } else if !encoded.is_empty() {
        let rows: Vec<_> = encoded.iter().map(row).collect();
        let insert = diesel::insert_into(events::table)
            .values(&rows)
            .returning(events::id);
        ids = on_backend!(conn, |c| insert.get_results(c)?);
    }
    Ok(new_events
        .iter()
        .zip(ids)
        .map(|(event, id)| Event {
            id,
            ticket_id,
            kind: event.kind.clone(),
            actor: event.actor,
            at: event.at,
        })
        .collect())
}
