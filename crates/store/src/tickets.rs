//! Tickets and their replies: every rule-guarded write locks the ticket,
//! asks `domain`, and writes in one transaction.

use diesel::prelude::*;
use domain::rules::{
    Resolution, TicketScope, decide_new_ticket, decide_reply, decide_status_change,
    decide_ticket_scope, may_view_ticket,
};
use domain::{
    Actor, Direction, ListTickets, PageRequest, Reply, ReplyBody, SortField, Subject, Ticket,
    TicketBody, TicketStatus,
};

use crate::connection::{DbBackend, DbConnection, Locked, lock_rows, write_transaction};
use crate::error::StoreResult;
use crate::rows::{
    REPLY_COLUMNS, ReplyRow, TICKET_COLUMNS, TicketRow, convert_all, page_offset, total,
};
use crate::schema::{replies, tickets, users};
use crate::{Store, now};

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: Option<Subject>,
    pub body: TicketBody,
}

/// One page of tickets and how many match in all.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub total: u64,
}

/// One page of a ticket's replies and how many it has in all.
#[derive(Debug, Clone)]
pub struct ReplyPage {
    pub replies: Vec<Reply>,
    pub total: u64,
}

impl Store {
    /// Opens a ticket (rule 1); the database hands out its `ticketId`.
    pub fn create_ticket(&self, actor: Actor, new: &NewTicket) -> StoreResult<Ticket> {
        let status = decide_new_ticket(actor)?;
        let at = now().naive_utc();
        let row: TicketRow = diesel::insert_into(tickets::table)
            .values((
                tickets::subject.eq(new.subject.as_ref().map(Subject::as_str)),
                tickets::body.eq(new.body.as_str()),
                tickets::status.eq(status.as_str()),
                tickets::author_id.eq(actor.id.0),
                tickets::created_at.eq(at),
                tickets::updated_at.eq(at),
            ))
            .returning(TICKET_COLUMNS)
            .get_result(&mut *self.conn()?)?;
        row.try_into()
    }

    /// The page of tickets `actor` may see (rule 2), filtered and sorted as
    /// asked; ties are broken by `ticketId` so pages never overlap.
    pub fn list_tickets(&self, actor: Actor, request: &ListTickets) -> StoreResult<TicketPage> {
        let filtered = || {
            let mut query = tickets::table.into_boxed::<DbBackend>();
            if let TicketScope::AuthoredBy(author) = decide_ticket_scope(actor) {
                query = query.filter(tickets::author_id.eq(author.0));
            }
            if let Some(status) = request.status {
                query = query.filter(tickets::status.eq(status.as_str()));
            }
            query
        };
        let conn = &mut *self.conn()?;
        let count: i64 = filtered().count().get_result(conn)?;
        let rows: Vec<TicketRow> = sorted(filtered(), request.sort, request.direction)
            .select(TICKET_COLUMNS)
            .limit(i64::from(request.page.limit()))
            .offset(page_offset(request.page))
            .load(conn)?;
        Ok(TicketPage {
            tickets: convert_all(rows)?,
            total: total(count),
        })
    }

    /// One ticket as `actor` sees it: another customer's is not found.
    pub fn read_ticket(&self, actor: Actor, ticket_id: i64) -> StoreResult<Ticket> {
        let ticket = load_ticket(&mut *self.conn()?, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        Ok(ticket)
    }

    /// Sets the status (rule 5: only `RESOLVED`, only by the owner; twice is
    /// a no-op), with the ticket locked and `resolvedAt` read after the lock.
    pub fn change_ticket_status(
        &self,
        actor: Actor,
        ticket_id: i64,
        requested: TicketStatus,
    ) -> StoreResult<Ticket> {
        write_transaction(&mut *self.conn()?, |conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            match decide_status_change(actor, ticket.facts(), requested, now())? {
                Resolution::AlreadyResolved => Ok(ticket),
                Resolution::ResolveAt(at) => {
                    let row: TicketRow = diesel::update(tickets::table.find(ticket_id))
                        .set((
                            tickets::status.eq(TicketStatus::Resolved.as_str()),
                            tickets::resolved_at.eq(at.naive_utc()),
                            tickets::updated_at.eq(at.naive_utc()),
                        ))
                        .returning(TICKET_COLUMNS)
                        .get_result(conn)?;
                    row.try_into()
                }
            }
        })
    }

    /// Adds a reply (rules 3, 4, 6, 7) and moves the ticket to the status
    /// `domain` decides, with the ticket locked: a reply can never land on
    /// a ticket resolved concurrently, nor carry a time after `resolvedAt`.
    pub fn add_reply(&self, actor: Actor, ticket_id: i64, body: &ReplyBody) -> StoreResult<Reply> {
        write_transaction(&mut *self.conn()?, |conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            let next_status = decide_reply(actor, ticket.facts())?;
            let at = now();
            let naive_at = at.naive_utc();
            let id: i64 = diesel::insert_into(replies::table)
                .values((
                    replies::ticket_id.eq(ticket_id),
                    replies::author_id.eq(actor.id.0),
                    replies::body.eq(body.as_str()),
                    replies::created_at.eq(naive_at),
                    replies::updated_at.eq(naive_at),
                ))
                .returning(replies::id)
                .get_result(conn)?;
            diesel::update(tickets::table.find(ticket_id))
                .set((
                    tickets::status.eq(next_status.as_str()),
                    tickets::updated_at.eq(naive_at),
                ))
                .execute(conn)?;
            Ok(Reply {
                id,
                ticket_id,
                body: body.as_str().to_owned(),
                author: actor.id,
                author_role: actor.role,
                created_at: at,
                updated_at: at,
            })
        })
    }

    /// A page of a ticket's replies, oldest first, if `actor` may see it.
    pub fn list_replies(
        &self,
        actor: Actor,
        ticket_id: i64,
        page: PageRequest,
    ) -> StoreResult<ReplyPage> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        let of_ticket = replies::table.filter(replies::ticket_id.eq(ticket_id));
        let count: i64 = of_ticket.count().get_result(conn)?;
        let rows: Vec<ReplyRow> = of_ticket
            .inner_join(users::table)
            .select(REPLY_COLUMNS)
            .order_by(replies::id.asc())
            .limit(i64::from(page.limit()))
            .offset(page_offset(page))
            .load(conn)?;
        Ok(ReplyPage {
            replies: convert_all(rows)?,
            total: total(count),
        })
    }
}

type BoxedTickets = tickets::BoxedQuery<'static, DbBackend>;

/// Orders by the requested field, then by `ticketId` in the same direction.
/// Unresolved tickets have no `resolvedAt`; they come last either way, on
/// both backends (which disagree on where NULL sorts by default).
fn sorted(query: BoxedTickets, field: SortField, direction: Direction) -> BoxedTickets {
    macro_rules! by {
        ($query:expr, $column:expr) => {
            match direction {
                Direction::Ascending => $query.then_order_by($column.asc()),
                Direction::Descending => $query.then_order_by($column.desc()),
            }
        };
    }
    let query = match field {
        SortField::TicketId => query,
        SortField::CreatedAt => by!(query, tickets::created_at),
        SortField::UpdatedAt => by!(query, tickets::updated_at),
        SortField::Status => by!(query, tickets::status),
        SortField::ResolvedAt => {
            by!(
                query.then_order_by(tickets::resolved_at.is_null().asc()),
                tickets::resolved_at
            )
        }
    };
    by!(query, tickets::id)
}

fn load_ticket(conn: &mut DbConnection, ticket_id: i64) -> StoreResult<Ticket> {
    let row: TicketRow = tickets::table
        .find(ticket_id)
        .select(TICKET_COLUMNS)
        .first(conn)?;
    row.try_into()
}

/// Reads a ticket and holds it until the transaction ends.
fn lock_ticket(conn: &mut DbConnection, ticket_id: i64) -> StoreResult<Ticket> {
    lock_rows(conn, Locked::Tickets, &[ticket_id])?;
    load_ticket(conn, ticket_id)
}
