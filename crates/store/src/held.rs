//! What inbound mail leaves for staff: the messages a rule held (listed
//! until dismissed, readable by id for good) and the original message a
//! ticket or reply came from. Who may see them is `domain::held`'s.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::audience::{TicketScope, decide_ticket_scope, may_view_ticket};
use domain::held::{Dismissal, HeldFacts, decide_dismiss, may_list_held, may_open_mail};
use domain::inbound::Outcome;
use domain::{Actor, Page, PageRequest, TicketId, User, UserId};

use crate::connection::{DbBackend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::events::record_events;
use crate::originals::read_original;
use crate::paging::page_in_id_order;
use crate::rows::{USER_COLUMNS, UserRow, columns, load_ticket, utc};
use crate::schema::{inbound_messages, tickets, users};
use crate::webhooks::announce_ticket_events;
use crate::{Store, now};

/// A message inbound mail held for staff: who sent it, the ticket it was
/// for (if one), why it was held, and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// The `From` address, as the message gave it.
    pub sender_address: String,
    /// The account with that address, when there was one.
    pub sender: Option<User>,
    pub ticket_id: Option<TicketId>,
    pub subject: String,
    /// The text taken from the message (the whole of it is the original).
    pub body: String,
    /// The refusal that held it.
    pub reason: String,
    /// When, and by whom, staff dismissed it.
    pub dismissed: Option<(DateTime<Utc>, UserId)>,
}

impl HeldMessage {
    fn facts(&self) -> HeldFacts {
        HeldFacts {
            id: self.id,
            ticket: self.ticket_id,
            dismissed: self.dismissed,
        }
    }
}

type HeldRow = (
    i64,
    NaiveDateTime,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<i64>,
);

columns!(HELD_COLUMNS: HeldColumns = (
    inbound_messages::id,
    inbound_messages::received_at,
    inbound_messages::sender_address,
    inbound_messages::sender_id,
    inbound_messages::ticket_id,
    inbound_messages::subject,
    inbound_messages::body,
    inbound_messages::reason,
    inbound_messages::dismissed_at,
    inbound_messages::dismissed_by,
));

/// A row as read, with its sender's id until the account is added.
#[derive(Debug)]
struct ReadHeld(HeldMessage, Option<i64>);

impl TryFrom<HeldRow> for ReadHeld {
    type Error = StoreError;

    fn try_from(row: HeldRow) -> Result<Self, StoreError> {
        let (id, received_at, sender_address, sender_id, ticket_id, subject, body, reason) =
            (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
        let dismissed = match (row.8, row.9) {
            (Some(at), Some(by)) => Some((utc(at), UserId(by))),
            _ => None,
        };
        Ok(Self(
            HeldMessage {
                id,
                received_at: utc(received_at),
                sender_address,
                sender: None,
                ticket_id: ticket_id.map(TicketId),
                subject,
                body,
                reason: reason.unwrap_or_default(),
                dismissed,
            },
            sender_id,
        ))
    }
}

/// Adds each message's sender account.
fn with_senders(conn: &mut DbConnection, read: Vec<ReadHeld>) -> StoreResult<Vec<HeldMessage>> {
    let ids: Vec<i64> = read.iter().filter_map(|held| held.1).collect();
    let mut accounts: HashMap<i64, User> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<UserRow> = users::table
            .filter(users::id.eq_any(&ids))
            .select(USER_COLUMNS)
            .load(conn)?;
        for row in rows {
            accounts.insert(row.id, row.try_into()?);
        }
    }
    Ok(read
        .into_iter()
        .map(|ReadHeld(mut held, sender)| {
            held.sender = sender.and_then(|id| accounts.get(&id).cloned());
            held
        })
        .collect())
}

fn read_one(conn: &mut DbConnection, id: i64) -> StoreResult<HeldMessage> {
    let row: HeldRow = inbound_messages::table
        .find(id)
        .filter(inbound_messages::outcome.eq(Outcome::HELD))
        .select(HELD_COLUMNS)
        .first(conn)?;
    with_senders(conn, vec![ReadHeld::try_from(row)?])?
        .pop()
        .ok_or_else(|| StoreError::internal("the held message went missing"))
}

impl Store {
    /// A page of the held messages not dismissed, newest first (staff
    /// only).
    pub fn list_held(&self, actor: Actor, page: PageRequest) -> StoreResult<Page<HeldMessage>> {
        may_list_held(actor)?;
        let conn = &mut *self.conn()?;
        let waiting = || {
            inbound_messages::table
                .filter(inbound_messages::outcome.eq(Outcome::HELD))
                .filter(inbound_messages::dismissed_at.is_null())
                .into_boxed::<DbBackend>()
        };
        let read: Page<ReadHeld> = page_in_id_order!(
            conn,
            page,
            waiting,
            HELD_COLUMNS => HeldRow,
            inbound_messages::id,
            desc,
            |held: &ReadHeld| held.0.id,
        );
        read.try_map_items(|items| with_senders(conn, items))
    }

    /// The messages held for `ticket` and not dismissed, oldest first
    /// (staff only).
    pub fn ticket_held(&self, actor: Actor, ticket: TicketId) -> StoreResult<Vec<HeldMessage>> {
        may_list_held(actor)?;
        let conn = &mut *self.conn()?;
        load_ticket(conn, ticket)?;
        let rows: Vec<HeldRow> = inbound_messages::table
            .filter(inbound_messages::ticket_id.eq(ticket.0))
            .filter(inbound_messages::outcome.eq(Outcome::HELD))
            .filter(inbound_messages::dismissed_at.is_null())
            .order_by(inbound_messages::id.asc())
            .select(HELD_COLUMNS)
            .load(conn)?;
        let read = rows
            .into_iter()
            .map(ReadHeld::try_from)
            .collect::<StoreResult<_>>()?;
        with_senders(conn, read)
    }

    /// One held message, dismissed or not (staff only; to anyone else, and
    /// for a message that was not held, it does not exist).
    pub fn read_held(&self, actor: Actor, id: i64) -> StoreResult<HeldMessage> {
        may_open_mail(actor)?;
        read_one(&mut *self.conn()?, id)
    }

    /// Dismisses a held message (staff only): it leaves the lists, stays
    /// readable by id with its dismissal, and the dismissal goes on its
    /// ticket's history. Dismissing it again changes nothing.
    pub fn dismiss_held(&self, actor: Actor, id: i64) -> StoreResult<HeldMessage> {
        may_open_mail(actor)?;
        self.write(|conn| {
            let held = read_one(conn, id)?;
            let Dismissal::Dismiss { at, by, event } = decide_dismiss(actor, held.facts(), now())?
            else {
                return Ok(held);
            };
            // Only the first of two dismissals at once marks it; the other
            // finds it dismissed.
            let marked = diesel::update(
                inbound_messages::table
                    .find(id)
                    .filter(inbound_messages::dismissed_at.is_null()),
            )
            .set((
                inbound_messages::dismissed_at.eq(at.naive_utc()),
                inbound_messages::dismissed_by.eq(by.0),
            ))
            .execute(conn)?;
            if marked == 1
                && let Some((ticket, event)) = event
            {
                let recorded = record_events(conn, ticket, &[event])?;
                announce_ticket_events(conn, ticket, &recorded)?;
            }
            read_one(conn, id)
        })
    }

    /// The raw message the reply `reply` came from (staff only; 404 for a
    /// reply that did not come by mail).
    pub fn reply_original(&self, actor: Actor, reply: i64) -> StoreResult<Vec<u8>> {
        may_open_mail(actor)?;
        let conn = &mut *self.conn()?;
        let message: i64 = inbound_messages::table
            .filter(inbound_messages::reply_id.eq(reply))
            .select(inbound_messages::id)
            .first(conn)?;
        read_original(conn, message)
    }

    /// The raw message held as `id`, dismissed or not (staff only; to
    /// anyone else, and for a message that was not held, it does not
    /// exist).
    pub fn held_original(&self, actor: Actor, id: i64) -> StoreResult<Vec<u8>> {
        may_open_mail(actor)?;
        let conn = &mut *self.conn()?;
        let message: i64 = inbound_messages::table
            .find(id)
            .filter(inbound_messages::outcome.eq(Outcome::HELD))
            .select(inbound_messages::id)
            .first(conn)?;
        read_original(conn, message)
    }

    /// The raw message that opened `ticket` (staff only; 404 for a ticket
    /// not opened by mail).
    pub fn ticket_original(&self, actor: Actor, ticket: TicketId) -> StoreResult<Vec<u8>> {
        may_open_mail(actor)?;
        let conn = &mut *self.conn()?;
        let message: i64 = inbound_messages::table
            .filter(inbound_messages::ticket_id.eq(ticket.0))
            .filter(inbound_messages::outcome.eq(Outcome::CREATED))
            .select(inbound_messages::id)
            .first(conn)?;
        read_original(conn, message)
    }

    /// The ids of `ticket`'s replies that came by mail, oldest first
    /// (staff only), for links to their originals.
    pub fn replies_from_mail(&self, actor: Actor, ticket: TicketId) -> StoreResult<Vec<i64>> {
        may_list_held(actor)?;
        let conn = &mut *self.conn()?;
        load_ticket(conn, ticket)?;
        Ok(inbound_messages::table
            .filter(inbound_messages::ticket_id.eq(ticket.0))
            .filter(inbound_messages::reply_id.is_not_null())
            .order_by(inbound_messages::reply_id.asc())
            .select(inbound_messages::reply_id.assume_not_null())
            .load(conn)?)
    }

    /// The tickets opened as follow-ups of `ticket`, oldest first, for
    /// whoever may see it: of them, those the actor may see.
    pub fn follow_ups(&self, actor: Actor, ticket: TicketId) -> StoreResult<Vec<TicketId>> {
        let conn = &mut *self.conn()?;
        may_view_ticket(actor, load_ticket(conn, ticket)?.facts())?;
        let mut query = tickets::table
            .filter(tickets::follow_up_of.eq(ticket.0))
            .into_boxed::<DbBackend>();
        if let TicketScope::AuthoredBy(author) = decide_ticket_scope(actor) {
            query = query.filter(tickets::author_id.eq(author.0));
        }
        let ids: Vec<i64> = query
            .order_by(tickets::id.asc())
            .select(tickets::id)
            .load(conn)?;
        Ok(ids.into_iter().map(TicketId).collect())
    }
}
