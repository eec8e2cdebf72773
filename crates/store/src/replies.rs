//! A ticket's replies and internal notes: writing one, with what it does to
//! the ticket, and the page of them a viewer may see.

use diesel::prelude::*;
use domain::audience::{Audience, may_view_ticket};
use domain::tickets::{ReplyKind, decide_reply};
use domain::{Actor, Page, PageRequest, Reply, ReplyBody, Ticket, TicketId};

use crate::connection::{DbBackend, DbConnection, Locked, lock_rows};
use crate::error::StoreResult;
use crate::events::record_events;
use crate::idempotency::{Recording, record_if_held};
use crate::notify::notify_ticket_events;
use crate::paging::page_in_id_order;
use crate::rows::{REPLY_COLUMNS, ReplyRow, TICKET_COLUMNS, TicketRow, load_ticket};
use crate::schema::{replies, ticket_search_words, tickets, users};
use crate::search::add_reply_words;
use crate::sla::breach_column;
use crate::tickets::TicketChanges;
use crate::webhooks::announce_ticket_events;
use crate::{Store, now};

impl Store {
    /// Adds a reply or an internal note (rules 3, 4, 6, 7 and the note
    /// rules) and applies what `domain` decides to the ticket (status,
    /// assignment on an agent's first reply, first response, `updatedAt`),
    /// with its events, the ticket locked: a reply can never land on a
    /// ticket resolved concurrently, nor carry a time after `resolvedAt`.
    pub fn add_reply(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        body: &ReplyBody,
        kind: ReplyKind,
    ) -> StoreResult<Reply> {
        self.add_reply_once(actor, ticket_id, body, kind, None)
    }

    /// [`Store::add_reply`] for a request that holds an idempotency key:
    /// its answer is recorded as the key's in the same transaction.
    pub fn add_reply_once(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        body: &ReplyBody,
        kind: ReplyKind,
        recording: Option<&Recording<Reply>>,
    ) -> StoreResult<Reply> {
        self.write(|conn| {
            let reply = self.write_reply(conn, actor, ticket_id, body, kind)?;
            record_if_held(conn, recording, &reply)?;
            Ok(reply)
        })
    }

    /// The reply of [`Store::add_reply`] inside the caller's write
    /// transaction (inbound mail's, too): the ticket locked, the rule
    /// asked, the reply, the ticket's changes, events, webhooks and mail.
    pub(crate) fn write_reply(
        &self,
        conn: &mut DbConnection,
        actor: Actor,
        ticket_id: TicketId,
        body: &ReplyBody,
        kind: ReplyKind,
    ) -> StoreResult<Reply> {
        let (ticket, words) = lock_ticket_with_words(conn, ticket_id)?;
        let decision = decide_reply(actor, ticket.facts(), kind, now())?;
        let at = decision.at.naive_utc();
        let internal = kind == ReplyKind::Internal;
        let id: i64 = diesel::insert_into(replies::table)
            .values((
                replies::ticket_id.eq(ticket_id.0),
                replies::author_id.eq(actor.id().0),
                replies::body.eq(body.as_str()),
                replies::created_at.eq(at),
                replies::updated_at.eq(at),
                replies::internal.eq(internal),
            ))
            .returning(replies::id)
            .get_result(conn)?;
        let changes = TicketChanges {
            status: (decision.status != ticket.status).then_some(decision.status.as_str()),
            assignee_id: (decision.assignee != ticket.assignee)
                .then_some(decision.assignee.map(|user| user.0)),
            first_response_at: decision.first_response.then_some(Some(at)),
            sla_breach_at: decision.first_response.then(|| {
                breach_column(&Ticket {
                    first_response_at: Some(decision.at),
                    ..ticket.clone()
                })
            }),
            updated_at: decision.updated_at.map(|at| at.naive_utc()),
            ..TicketChanges::default()
        };
        changes.apply(conn, ticket_id)?;
        add_reply_words(conn, ticket_id.0, words, body.as_str(), internal)?;
        let recorded = record_events(conn, ticket_id, &decision.events(id))?;
        announce_ticket_events(conn, ticket_id, &recorded)?;
        if self.sends_mail {
            notify_ticket_events(conn, actor, ticket_id, &recorded, Some(body.as_str()))?;
        }
        let reply = Reply {
            id,
            ticket_id,
            body: body.as_str().to_owned(),
            author: actor.id(),
            author_role: actor.role(),
            internal,
            created_at: decision.at,
            updated_at: decision.at,
        };
        Ok(reply)
    }

    /// A page of a ticket's replies, oldest first, if `actor` may see it; a
    /// customer's page and count never include internal notes.
    pub fn list_replies(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<Reply>> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        replies_page(conn, actor, ticket_id, page)
    }
}

/// Reads a ticket with its stored search words (`None` if it has none
/// yet) in one query, and holds it until the transaction ends.
fn lock_ticket_with_words(
    conn: &mut DbConnection,
    ticket_id: TicketId,
) -> StoreResult<(Ticket, Option<(String, String)>)> {
    lock_rows(conn, Locked::Tickets, &[ticket_id.0])?;
    let (row, words): (TicketRow, Option<(String, String)>) = tickets::table
        .left_join(ticket_search_words::table)
        .filter(tickets::id.eq(ticket_id.0))
        .select((
            TICKET_COLUMNS,
            (
                ticket_search_words::public_words,
                ticket_search_words::note_words,
            )
                .nullable(),
        ))
        .first(conn)?;
    Ok((row.try_into()?, words))
}

/// The page of a ticket's thread `actor` sees (the ticket already shown to
/// be theirs to see).
pub(crate) fn replies_page(
    conn: &mut DbConnection,
    actor: Actor,
    ticket_id: TicketId,
    page: PageRequest,
) -> StoreResult<Page<Reply>> {
    let with_notes = Audience::of(actor).sees_notes();
    let visible = || {
        let mut of_ticket = replies::table
            .inner_join(users::table)
            .filter(replies::ticket_id.eq(ticket_id.0))
            .into_boxed::<DbBackend>();
        if !with_notes {
            of_ticket = of_ticket.filter(replies::internal.eq(false));
        }
        of_ticket
    };
    Ok(page_in_id_order!(
        conn,
        page,
        visible,
        REPLY_COLUMNS => ReplyRow,
        replies::id,
        |reply: &Reply| reply.id,
    ))
}
