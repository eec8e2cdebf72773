//! Tickets: opening one, reading one as a viewer sees it, resolving it.
//! Every rule-guarded write locks the ticket, asks `domain`, and writes in
//! one transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::audience::{Audience, may_view_ticket, see_ticket};
use domain::conditional::decide_precondition;
use domain::tickets::{Opening, Resolution, decide_new_ticket, decide_status_change};
use domain::{
    Actor, EntityTag, Precondition, Refusal, SeenTicket, SessionEpoch, Subject, Ticket, TicketBody,
    TicketDocuments, TicketId, TicketStatus, User, UserId,
};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreResult;
use crate::events::record_events;
use crate::idempotency::{Recording, record_if_held};
use crate::notify::notify_ticket_events;
use crate::prepared::{AccountAndTicket, OpenTicket, load_requester_and_tags};
use crate::rows::{
    TICKET_COLUMNS, TicketRow, UserRow, encode_event, load_ticket, lock_ticket, tag_set,
};
use crate::schema::tickets;
use crate::search::insert_document;
use crate::sla::breach_column;
use crate::users::token_session;
use crate::webhooks::announce_ticket_events;
use crate::{Store, now};

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: Option<Subject>,
    pub body: TicketBody,
}

impl Store {
    /// Opens a ticket (rule 1) with its `created` event and its search
    /// words; the database hands out its `ticketId`. On SQLite in a write
    /// transaction; on PostgreSQL one statement, atomic by itself.
    pub fn create_ticket(&self, actor: Actor, new: &NewTicket) -> StoreResult<SeenTicket> {
        self.create_ticket_once(actor, new, None)
    }

    /// [`Store::create_ticket`] for a request that holds an idempotency
    /// key: its answer is recorded as the key's in the same transaction
    /// (on PostgreSQL too, where the ticket's statement then runs in one).
    pub fn create_ticket_once(
        &self,
        actor: Actor,
        new: &NewTicket,
        recording: Option<&Recording<SeenTicket>>,
    ) -> StoreResult<SeenTicket> {
        // A subscribed endpoint, or mail, needs the events' ids and a
        // transaction around the ticket and its outbox rows: on
        // PostgreSQL the one-statement write is kept for when nobody
        // listens.
        let notify = self.sends_mail;
        let announced = self.backend == "postgres"
            && (notify || self.anyone_receives(domain::WebhookEvent::TicketCreated)?);
        let open = |conn: &mut DbConnection| {
            let opening = decide_new_ticket(actor, &self.sla, now())?;
            let id = insert_ticket(conn, actor, new, &opening, announced, notify)?;
            // A new ticket's tags are none; `see_ticket` drops them for a
            // viewer who does not see tags. Only a customer opens a
            // ticket, and is its requester: no one to show beside it.
            let ticket = opening.ticket(
                TicketId(id),
                actor.id(),
                new.subject
                    .as_ref()
                    .map(|subject| subject.as_str().to_owned()),
                new.body.as_str().to_owned(),
            );
            let seen = see_ticket(actor, ticket, None, opening.at);
            record_if_held(conn, recording, &seen)?;
            Ok(seen)
        };
        match (self.backend, recording) {
            ("postgres", None) if !announced => open(&mut *self.conn()?),
            _ => self.write(open),
        }
    }

    /// One ticket as the holder of a verified token sees it now: the
    /// token's account (as [`Store::authenticate`] would take it, refused
    /// when gone, deactivated or its sessions ended) and the ticket with
    /// its tags read in one query on one connection, then the same rules
    /// as [`Store::read_ticket`]. An unauthenticated token is refused
    /// before whether the ticket exists is told.
    pub fn read_ticket_with_token(
        &self,
        subject: UserId,
        token_epoch: SessionEpoch,
        ticket_id: TicketId,
    ) -> StoreResult<SeenTicket> {
        type Found = (
            UserRow,
            i64,
            Option<TicketRow>,
            Option<String>,
            Option<UserRow>,
        );
        let query = AccountAndTicket {
            account: subject.0,
            ticket: ticket_id.0,
        };
        let conn = &mut *self.conn()?;
        let found: Option<Found> = on_backend!(conn, |c| query.get_result(c).optional()?);
        let (account, ticket) = match found {
            Some((user, epoch, ticket, tags, author)) => {
                (Some((user, epoch)), ticket.map(|t| (t, tags, author)))
            }
            None => (None, None),
        };
        let actor = token_session(account, token_epoch)?;
        let (row, tags, author) = ticket.ok_or(Refusal::NotFound)?;
        let tags = tag_set(tags.as_deref().unwrap_or("").split_whitespace())?;
        let ticket = Ticket {
            tags: Some(tags),
            ..row.try_into()?
        };
        may_view_ticket(actor, ticket.facts())?;
        let author = author.map(User::try_from).transpose()?;
        Ok(see_ticket(actor, ticket, author, now()))
    }

    /// One ticket as `actor` sees it now: another customer's is not found.
    pub fn read_ticket(&self, actor: Actor, ticket_id: TicketId) -> StoreResult<SeenTicket> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        seen(conn, actor, ticket, now())
    }

    /// Sets the status (rule 5: only `RESOLVED`, only by the owner; twice is
    /// a no-op), with the ticket locked and `resolvedAt` read after the lock.
    pub fn change_ticket_status(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        requested: TicketStatus,
    ) -> StoreResult<SeenTicket> {
        self.change_ticket_status_if(actor, ticket_id, requested, &Precondition::None)
    }

    /// [`Store::change_ticket_status`], if the ticket as `actor` sees it,
    /// read with the ticket locked, is still the version `precondition`
    /// names (`If-Match`); otherwise nothing is changed. The rule's own
    /// refusal (not theirs, not a status one may set) is answered first.
    pub fn change_ticket_status_if(
        &self,
        actor: Actor,
        ticket_id: TicketId,
        requested: TicketStatus,
        precondition: &Precondition,
    ) -> StoreResult<SeenTicket> {
        self.write(|conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            let now = now();
            let resolution = decide_status_change(actor, ticket.facts(), requested, now)?;
            let current = seen(conn, actor, ticket, now)?;
            decide_precondition(precondition, &EntityTag::of_ticket(&current))?;
            match resolution {
                Resolution::AlreadyResolved => Ok(current),
                Resolution::Resolve { at, events } => {
                    let ticket = current.ticket;
                    let resolved = Ticket {
                        resolved_at: Some(at),
                        ..ticket
                    };
                    let row: TicketRow = diesel::update(tickets::table.find(ticket_id.0))
                        .set((
                            tickets::status.eq(TicketStatus::Resolved.as_str()),
                            tickets::resolved_at.eq(at.naive_utc()),
                            tickets::updated_at.eq(at.naive_utc()),
                            tickets::sla_breach_at.eq(breach_column(&resolved)),
                        ))
                        .returning(TICKET_COLUMNS)
                        .get_result(conn)?;
                    let recorded = record_events(conn, ticket_id, &events)?;
                    announce_ticket_events(conn, ticket_id, &recorded)?;
                    if self.sends_mail {
                        notify_ticket_events(conn, actor, ticket_id, &recorded, None)?;
                    }
                    seen(conn, actor, row.try_into()?, at)
                }
            }
        })
    }
}

/// Writes a new ticket as `opening` decided, with its words and events;
/// answers its id, the one column not known before (the rest is not read
/// back). On SQLite three single-row `INSERT`s, each prepared once per
/// connection, in the caller's write transaction; on PostgreSQL one
/// statement ([`OpenTicket`]), unless the opening is `announced` to a
/// webhook or by mail, when it takes the same steps as on SQLite and
/// queues the announcement (and, when `notify`, the mail), in the
/// caller's transaction.
fn insert_ticket(
    conn: &mut DbConnection,
    actor: Actor,
    new: &NewTicket,
    opening: &Opening,
    announced: bool,
    notify: bool,
) -> StoreResult<i64> {
    match conn {
        DbConnection::Pg(pg) if !announced => {
            let parts = RowParts::of(new, opening);
            let (public_words, note_words) = (
                parts.documents.public.as_text(),
                parts.documents.notes.as_text(),
            );
            let events = opening
                .events
                .iter()
                .map(|event| Ok((event, encode_event(&event.kind)?)))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(OpenTicket {
                subject: parts.subject,
                body: new.body.as_str(),
                status: opening.status.as_str(),
                author: actor.id().0,
                at: parts.at,
                priority: opening.priority.rank(),
                first_response_due: opening.due.first_response.naive_utc(),
                resolution_due: opening.due.resolution.naive_utc(),
                breach: parts.breach,
                public_words: &public_words,
                note_words: &note_words,
                event_kinds: events.iter().map(|(_, (kind, _))| *kind).collect(),
                event_actors: events.iter().map(|(event, _)| event.actor.0).collect(),
                event_ats: events
                    .iter()
                    .map(|(event, _)| event.at.naive_utc())
                    .collect(),
                event_data: events.iter().map(|(_, (_, data))| data.as_str()).collect(),
            }
            .get_result(pg)?)
        }
        _ => insert_ticket_row(conn, actor, new, opening, None, notify),
    }
}

/// What a new ticket's row and search words are made of.
struct RowParts<'a> {
    subject: Option<&'a str>,
    documents: TicketDocuments,
    at: NaiveDateTime,
    /// Nothing done yet: due at the earlier target.
    breach: Option<NaiveDateTime>,
}

impl<'a> RowParts<'a> {
    fn of(new: &'a NewTicket, opening: &Opening) -> Self {
        let subject = new.subject.as_ref().map(Subject::as_str);
        Self {
            subject,
            documents: TicketDocuments::of_ticket(subject, new.body.as_str()),
            at: opening.at.naive_utc(),
            breach: domain::sla::breach_time(opening.due, None, None).map(|at| at.naive_utc()),
        }
    }
}

/// Writes a new ticket's row, search words, events, webhooks and (with
/// `notify`) mail in the caller's transaction; `follow_up_of` names the
/// resolved ticket a follow-up follows. Its `ticketId`.
pub(crate) fn insert_ticket_row(
    conn: &mut DbConnection,
    actor: Actor,
    new: &NewTicket,
    opening: &Opening,
    follow_up_of: Option<TicketId>,
    notify: bool,
) -> StoreResult<i64> {
    let parts = RowParts::of(new, opening);
    let id: i64 = diesel::insert_into(tickets::table)
        .values((
            tickets::subject.eq(parts.subject),
            tickets::body.eq(new.body.as_str()),
            tickets::status.eq(opening.status.as_str()),
            tickets::author_id.eq(actor.id().0),
            tickets::created_at.eq(parts.at),
            tickets::updated_at.eq(parts.at),
            tickets::priority.eq(opening.priority.rank()),
            tickets::first_response_due_at.eq(opening.due.first_response.naive_utc()),
            tickets::resolution_due_at.eq(opening.due.resolution.naive_utc()),
            tickets::sla_breach_at.eq(parts.breach),
            tickets::follow_up_of.eq(follow_up_of.map(|of| of.0)),
        ))
        .returning(tickets::id)
        .get_result(conn)?;
    insert_document(conn, id, &parts.documents)?;
    let recorded = record_events(conn, TicketId(id), &opening.events)?;
    announce_ticket_events(conn, TicketId(id), &recorded)?;
    if notify {
        notify_ticket_events(conn, actor, TicketId(id), &recorded, None)?;
    }
    Ok(id)
}

/// The ticket columns a change writes; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tickets)]
pub(crate) struct TicketChanges<'a> {
    pub status: Option<&'a str>,
    pub assignee_id: Option<Option<i64>>,
    pub priority: Option<i32>,
    pub first_response_at: Option<Option<NaiveDateTime>>,
    pub first_response_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    /// Whenever the due times or the first response change.
    pub sla_breach_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

impl TicketChanges<'_> {
    /// Writes the changes, if there are any.
    pub(crate) fn apply(self, conn: &mut DbConnection, ticket_id: TicketId) -> StoreResult<()> {
        let nothing = self.status.is_none()
            && self.assignee_id.is_none()
            && self.priority.is_none()
            && self.first_response_at.is_none()
            && self.first_response_due_at.is_none()
            && self.resolution_due_at.is_none()
            && self.sla_breach_at.is_none()
            && self.updated_at.is_none();
        if !nothing {
            diesel::update(tickets::table.find(ticket_id.0))
                .set(self)
                .execute(conn)?;
        }
        Ok(())
    }
}

/// The ticket as `actor` sees it at `at`, its tags and its requester
/// loaded (in one query) only for those who see them.
pub(crate) fn seen(
    conn: &mut DbConnection,
    actor: Actor,
    ticket: Ticket,
    at: DateTime<Utc>,
) -> StoreResult<SeenTicket> {
    let audience = Audience::of(actor);
    let (tags, author) = match audience.sees_tags() || audience.sees_requester() {
        true => {
            let (author, tags) = load_requester_and_tags(conn, ticket.id)?;
            (Some(tags), Some(author))
        }
        false => (None, None),
    };
    Ok(see_ticket(actor, Ticket { tags, ..ticket }, author, at))
}
