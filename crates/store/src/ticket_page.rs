//! A ticket's page: everything a viewer sees of one ticket, read on one
//! connection in one read transaction, and assembled by `domain`'s view
//! with the decisions made (may reply and why not, may resolve, the breach
//! verdict) at one clock.

use domain::audience::{Audience, may_view_ticket};
use domain::view::{people_on, view_ticket};
use domain::{Actor, Directory, PageRequest, Ticket, TicketId, TicketView};

use crate::connection::read_transaction;
use crate::directory::{assignable_staff, usernames};
use crate::error::StoreResult;
use crate::events::events_page;
use crate::prepared::load_requester_and_tags;
use crate::replies::replies_page;
use crate::rows::load_ticket;
use crate::{Store, now};

impl Store {
    /// The ticket `ticket_id` as `actor` sees it, with the page `replies`
    /// of its thread and the page `events` of its history, and for staff
    /// the names on them and the staff it can be given to. Another
    /// customer's ticket is not found, and nothing else is read for them.
    pub fn read_ticket_page(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        replies: PageRequest,
        events: PageRequest,
    ) -> StoreResult<TicketView> {
        read_transaction(&mut *self.conn()?, |conn| {
            let ticket = load_ticket(conn, ticket_id)?;
            may_view_ticket(actor, ticket.facts())?;
            let audience = Audience::of(actor);
            let (tags, requester) = match audience.sees_tags() || audience.sees_requester() {
                true => {
                    let (author, tags) = load_requester_and_tags(conn, ticket_id)?;
                    (Some(tags), Some(author))
                }
                false => (None, None),
            };
            let ticket = Ticket { tags, ..ticket };
            let replies = replies_page(conn, actor, ticket_id, replies)?;
            let events = events_page(conn, actor, ticket_id, events)?;
            let directory = match audience.sees_usernames() {
                true => Directory {
                    usernames: usernames(conn, &people_on(&ticket, &replies.items, &events.items))?,
                    assignable: assignable_staff(conn)?,
                    requester,
                },
                false => Directory::default(),
            };
            Ok(view_ticket(
                actor,
                ticket,
                replies,
                events,
                directory,
                now(),
            )?)
        })
    }
}
