//! The SLA as stored: each ticket's breach time, kept beside the fields it
//! follows from, and the gauge of open tickets in breach.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use domain::Ticket;

use crate::connection::DbConnection;
use crate::error::StoreResult;
use crate::schema::tickets;
use crate::{Store, now};

/// The breach time column's value for a ticket as it now stands.
pub(crate) fn breach_column(ticket: &Ticket) -> Option<NaiveDateTime> {
    ticket.sla_breach_time().map(|at| at.naive_utc())
}

impl Store {
    /// How many unresolved tickets are in SLA breach now: a count over an
    /// index of the open tickets' breach times.
    pub fn open_tickets_in_breach(&self) -> StoreResult<u64> {
        let now = now().naive_utc();
        let count: i64 = match &mut *self.conn()? {
            // Named: SQLite's planner, without statistics, prefers the
            // equality on `resolved_at` (the list index `tickets_resolved_at`)
            // and looked up every open ticket (197 ms at a million tickets,
            // against 11 ms over the partial index).
            DbConnection::Sqlite(sqlite) => diesel::select(
                sql::<BigInt>(
                    "(SELECT COUNT(*) FROM tickets INDEXED BY tickets_open_sla_breach_at \
                     WHERE resolved_at IS NULL AND sla_breach_at < ",
                )
                .bind::<Timestamp, _>(now)
                .sql(")"),
            )
            .get_result(sqlite)?,
            DbConnection::Pg(pg) => tickets::table
                .filter(tickets::resolved_at.is_null())
                .filter(tickets::sla_breach_at.lt(now))
                .count()
                .get_result(pg)?,
        };
        Ok(count.unsigned_abs())
    }
}
