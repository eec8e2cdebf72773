//! Loading that bypasses the rules, for `cargo xtask seed` and tests only
//! (the `bulk-load` feature, which the server never enables): accounts of
//! any role without an admin, and many tickets with their history in one
//! transaction, with multi-row inserts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{Pin, Refusal, Role, TicketStatus, User, UserId, Username};

use crate::Store;
use crate::connection::{DbConnection, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::rows::{USER_COLUMNS, UserRow};
use crate::schema::{replies, tickets, users};
use crate::users::insert_user;

/// A ticket to load as it is, history included.
#[derive(Debug, Clone)]
pub struct SeedTicket {
    pub author: UserId,
    pub subject: Option<String>,
    pub body: String,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub replies: Vec<SeedReply>,
}

/// A reply of a [`SeedTicket`].
#[derive(Debug, Clone)]
pub struct SeedReply {
    pub author: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 500;

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
        match insert_user(&mut *self.conn()?, username, &pin_hash, role) {
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

    /// Inserts `batch` as given, history included, in one transaction: no
    /// rule is asked. Returns the new ticketIds in order.
    pub fn bulk_load_tickets(&self, batch: &[SeedTicket]) -> StoreResult<Vec<i64>> {
        write_transaction(&mut *self.conn()?, |conn| {
            let mut ids = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(ROWS_PER_INSERT) {
                let chunk_ids = insert_tickets(conn, chunk)?;
                let reply_rows: Vec<_> = chunk
                    .iter()
                    .zip(&chunk_ids)
                    .flat_map(|(ticket, id)| ticket.replies.iter().map(move |r| (*id, r)))
                    .map(|(id, reply)| {
                        (
                            replies::ticket_id.eq(id),
                            replies::author_id.eq(reply.author.0),
                            replies::body.eq(reply.body.as_str()),
                            replies::created_at.eq(reply.created_at.naive_utc()),
                            replies::updated_at.eq(reply.created_at.naive_utc()),
                        )
                    })
                    .collect();
                for rows in reply_rows.chunks(ROWS_PER_INSERT) {
                    let insert = diesel::insert_into(replies::table).values(rows);
                    match conn {
                        DbConnection::Pg(pg) => insert.execute(pg)?,
                        DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
                    };
                }
                ids.extend(chunk_ids);
            }
            Ok(ids)
        })
    }
}

/// Multi-row inserts exist only on each concrete backend, not through the
/// multi-backend connection, hence the dispatch.
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
            )
        })
        .collect();
    let insert = diesel::insert_into(tickets::table)
        .values(&rows)
        .returning(tickets::id);
    let mut ids: Vec<i64> = match conn {
        DbConnection::Pg(pg) => insert.get_results(pg)?,
        DbConnection::Sqlite(sqlite) => insert.get_results(sqlite)?,
    };
    // RETURNING promises no order; one statement takes its keys in VALUES
    // order, so ascending ids line up with `chunk`.
    ids.sort_unstable();
    Ok(ids)
}
