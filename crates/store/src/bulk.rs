//! Loading that bypasses the rules, for `cargo xtask seed` and tests only
//! (the `bulk-load` feature, which the server never enables): accounts of
//! any role without an admin, and many tickets with their history in one
//! transaction, with multi-row inserts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::sla::breach_time;
use domain::{
    DueTimes, EventKind, NewEvent, Pin, Priority, Refusal, Role, TagSet, TicketDocuments,
    TicketStatus, User, UserId, Username,
};

use crate::Store;
use crate::connection::{DbConnection, on_backend};
use crate::error::{StoreError, StoreResult};
use crate::rows::{USER_COLUMNS, UserRow, encode_event};
use crate::schema::{events, replies, ticket_tags, tickets, users};
use crate::search::insert_documents;
use crate::users::insert_user;

/// A ticket to load as it is, history included. Nothing is checked against
/// the rules: the loader trusts that `events` replays to the ticket's
/// fields, which is what a generator gets by driving the `domain` decisions.
#[derive(Debug, Clone)]
pub struct SeedTicket {
    pub author: UserId,
    pub subject: Option<String>,
    pub body: String,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub assignee: Option<UserId>,
    pub tags: TagSet,
    pub first_response_at: Option<DateTime<Utc>>,
    pub due: DueTimes,
    /// The replies and internal notes, oldest first.
    pub replies: Vec<SeedReply>,
    /// The ticket's history, oldest first (`created` first). The replies
    /// have no ids before they are inserted, so the `reply_id` of a
    /// `replied` or `noted` event here is the INDEX of its reply in
    /// [`SeedTicket::replies`]; the loader writes the real id in its place.
    pub events: Vec<NewEvent>,
}

/// A reply of a [`SeedTicket`], or an internal note.
#[derive(Debug, Clone)]
pub struct SeedReply {
    pub author: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub internal: bool,
}

/// Bound parameters per INSERT: under SQLite's 32,766 (and PostgreSQL's
/// 65,535); each table's rows per INSERT follow from its column count.
const PARAMETERS_PER_INSERT: usize = 24_000;

/// SQLite's page cache of a loading connection, in KiB.
const LOAD_CACHE_KIB: u32 = 256 * 1024;

/// Tickets per chunk: the unit whose tickets, replies, tags and events are
/// inserted together (the tickets in one INSERT of 13 columns).
const TICKETS_PER_CHUNK: usize = PARAMETERS_PER_INSERT / 13;
/// Rows per INSERT of 6, 2 and 5 columns.
const REPLIES_PER_INSERT: usize = PARAMETERS_PER_INSERT / 6;
const TAGS_PER_INSERT: usize = PARAMETERS_PER_INSERT / 2;
const EVENTS_PER_INSERT: usize = PARAMETERS_PER_INSERT / 5;

impl Store {
    /// The account named `username`, created with `role` and `pin` unless it
    /// exists (whatever its role and PIN then): no rule is asked.
    pub fn bulk_ensure_user(
        &self,
        username: &Username,
        pin: &Pin,
        role: Role,
    ) -> StoreResult<User> {
        if let Some(found) = self.bulk_find_user(username)? {
            return Ok(found);
        }
        let pin_hash = self.hasher.hash(pin)?;
        match insert_user(&mut *self.conn()?, username, &pin_hash, role, None) {
            // Another loader won the race: the account exists, which is all we want.
            Err(StoreError::Refused(Refusal::Conflict(_))) => self
                .bulk_find_user(username)?
                .ok_or(StoreError::Refused(Refusal::NotFound)),
            created => created,
        }
    }

    fn bulk_find_user(&self, username: &Username) -> StoreResult<Option<User>> {
        let row = users::table
            .filter(users::username.eq(username.as_str()))
            .select(USER_COLUMNS)
            .first::<UserRow>(&mut *self.conn()?)
            .optional()?;
        row.map(User::try_from).transpose()
    }

    /// Inserts `batch` as given, replies, tags, history and search words
    /// included, in one transaction: no rule is asked. Returns the new
    /// ticketIds in order. A `replied` or `noted` event whose index names no
    /// reply of its ticket fails the whole batch.
    pub fn bulk_load_tickets(&self, batch: &[SeedTicket]) -> StoreResult<Vec<i64>> {
        self.bulk_load(batch, true)
    }

    /// The same without search words, so those tickets cannot be found: for
    /// the benchmark that measures what the search index costs a load.
    pub fn bulk_load_tickets_unsearchable(&self, batch: &[SeedTicket]) -> StoreResult<Vec<i64>> {
        self.bulk_load(batch, false)
    }

    fn bulk_load(&self, batch: &[SeedTicket], searchable: bool) -> StoreResult<Vec<i64>> {
        self.write(|conn| {
            if let DbConnection::Sqlite(sqlite) = conn {
                // A load adds to every index at every chunk: with SQLite's
                // default 2 MiB of pages per connection, each insert reads
                // its index's pages back from the OS. This connection
                // serves a loader (never the server) and keeps the setting.
                diesel::sql_query(format!("PRAGMA cache_size = -{LOAD_CACHE_KIB}"))
                    .execute(sqlite)?;
            }
            let mut ids = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(TICKETS_PER_CHUNK) {
                let ticket_ids = insert_tickets(conn, chunk)?;
                let reply_ids = insert_replies(conn, chunk, &ticket_ids)?;
                insert_tags(conn, chunk, &ticket_ids)?;
                insert_events(conn, chunk, &ticket_ids, &reply_ids)?;
                if searchable {
                    insert_documents(conn, &documents(chunk, &ticket_ids))?;
                }
                ids.extend(ticket_ids);
            }
            Ok(ids)
        })
    }
}

/// Ids of a multi-row INSERT in VALUES order. RETURNING promises no order;
/// one statement takes its keys in VALUES order, so ascending ids line up
/// with the rows.
fn in_values_order(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

fn insert_tickets(conn: &mut DbConnection, chunk: &[SeedTicket]) -> StoreResult<Vec<i64>> {
    let rows: Vec<_> = chunk
        .iter()
        .map(|t| {
            (
                tickets::subject.eq(t.subject.as_deref()),
                tickets::body.eq(t.body.as_str()),
                tickets::status.eq(t.status.as_str()),
                tickets::author_id.eq(t.author.0),
                tickets::created_at.eq(t.created_at.naive_utc()),
                tickets::updated_at.eq(t.updated_at.naive_utc()),
                tickets::resolved_at.eq(t.resolved_at.map(|at| at.naive_utc())),
                tickets::priority.eq(t.priority.rank()),
                tickets::assignee_id.eq(t.assignee.map(|user| user.0)),
                tickets::first_response_at.eq(t.first_response_at.map(|at| at.naive_utc())),
                tickets::first_response_due_at.eq(t.due.first_response.naive_utc()),
                tickets::resolution_due_at.eq(t.due.resolution.naive_utc()),
                tickets::sla_breach_at
                    .eq(breach_time(t.due, t.first_response_at, t.resolved_at)
                        .map(|at| at.naive_utc())),
            )
        })
        .collect();
    let insert = diesel::insert_into(tickets::table)
        .values(&rows)
        .returning(tickets::id);
    let ids = on_backend!(conn, |c| insert.get_results(c)?);
    Ok(in_values_order(ids))
}

/// Inserts the chunk's replies, ticket by ticket; returns for each ticket
/// the ids of its replies, in the order of [`SeedTicket::replies`].
fn insert_replies(
    conn: &mut DbConnection,
    chunk: &[SeedTicket],
    ticket_ids: &[i64],
) -> StoreResult<Vec<Vec<i64>>> {
    let rows: Vec<_> = chunk
        .iter()
        .zip(ticket_ids)
        .flat_map(|(ticket, &id)| ticket.replies.iter().map(move |r| (id, r)))
        .map(|(id, reply)| {
            (
                replies::ticket_id.eq(id),
                replies::author_id.eq(reply.author.0),
                replies::body.eq(reply.body.as_str()),
                replies::created_at.eq(reply.created_at.naive_utc()),
                replies::updated_at.eq(reply.created_at.naive_utc()),
                replies::internal.eq(reply.internal),
            )
        })
        .collect();
    let mut ids = Vec::with_capacity(rows.len());
    for part in rows.chunks(REPLIES_PER_INSERT) {
        let insert = diesel::insert_into(replies::table)
            .values(part)
            .returning(replies::id);
        let part_ids = on_backend!(&mut *conn, |c| insert.get_results(c)?);
        ids.extend(in_values_order(part_ids));
    }
    let mut ids = ids.into_iter();
    Ok(chunk
        .iter()
        .map(|ticket| ids.by_ref().take(ticket.replies.len()).collect())
        .collect())
}

/// The search words of the chunk's tickets, replies and notes included.
fn documents(chunk: &[SeedTicket], ticket_ids: &[i64]) -> Vec<(i64, TicketDocuments)> {
    chunk
        .iter()
        .zip(ticket_ids)
        .map(|(ticket, &id)| {
            let mut documents = TicketDocuments::of_ticket(ticket.subject.as_deref(), &ticket.body);
            for reply in &ticket.replies {
                documents.add_reply(&reply.body, reply.internal);
            }
            (id, documents)
        })
        .collect()
}

fn insert_tags(
    conn: &mut DbConnection,
    chunk: &[SeedTicket],
    ticket_ids: &[i64],
) -> StoreResult<()> {
    let rows: Vec<_> = chunk
        .iter()
        .zip(ticket_ids)
        .flat_map(|(ticket, &id)| {
            ticket.tags.iter().map(move |tag| {
                (
                    ticket_tags::ticket_id.eq(id),
                    ticket_tags::tag.eq(tag.as_str()),
                )
            })
        })
        .collect();
    for part in rows.chunks(TAGS_PER_INSERT) {
        let insert = diesel::insert_into(ticket_tags::table).values(part);
        on_backend!(&mut *conn, |c| insert.execute(c)?);
    }
    Ok(())
}

/// Inserts the chunk's events in order, each `replied` or `noted` event's
/// reply index replaced by the reply's id.
fn insert_events(
    conn: &mut DbConnection,
    chunk: &[SeedTicket],
    ticket_ids: &[i64],
    reply_ids: &[Vec<i64>],
) -> StoreResult<()> {
    let mut encoded = Vec::new();
    for ((ticket, &ticket_id), reply_ids) in chunk.iter().zip(ticket_ids).zip(reply_ids) {
        for event in &ticket.events {
            let kind = with_reply_id(&event.kind, reply_ids)?;
            let (kind, data) = encode_event(&kind)?;
            encoded.push((ticket_id, kind, event.actor.0, event.at.naive_utc(), data));
        }
    }
    let rows: Vec<_> = encoded
        .iter()
        .map(|(ticket_id, kind, actor, at, data)| {
            (
                events::ticket_id.eq(*ticket_id),
                events::kind.eq(*kind),
                events::actor_id.eq(*actor),
                events::at.eq(*at),
                events::data.eq(data.as_str()),
            )
        })
        .collect();
    for part in rows.chunks(EVENTS_PER_INSERT) {
        let insert = diesel::insert_into(events::table).values(part);
        on_backend!(&mut *conn, |c| insert.execute(c)?);
    }
    Ok(())
}

/// `kind` with the reply index of a `replied` or `noted` event replaced by
/// the id of that reply.
fn with_reply_id(kind: &EventKind, reply_ids: &[i64]) -> StoreResult<EventKind> {
    let id_of = |index: i64| {
        usize::try_from(index)
            .ok()
            .and_then(|i| reply_ids.get(i).copied())
            .ok_or_else(|| {
                StoreError::internal(format!(
                    "a seeded event names reply {index} of a ticket with {} replies",
                    reply_ids.len()
                ))
            })
    };
    Ok(match kind {
        EventKind::Replied { reply_id } => EventKind::Replied {
            reply_id: id_of(*reply_id)?,
        },
        EventKind::Noted { reply_id } => EventKind::Noted {
            reply_id: id_of(*reply_id)?,
        },
        other => other.clone(),
    })
}
