//! The resolved report's rows, streamed as the database yields them.

use chrono::{DateTime, Utc};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use domain::{Ticket, TicketStatus};

use crate::Store;
use crate::connection::DbConnection;
use crate::error::StoreResult;
use crate::rows::{TICKET_COLUMNS, TicketRow};
use crate::schema::tickets;

impl Store {
    /// Calls `on_row` with every ticket resolved within `[from, to]`, in
    /// `resolvedAt` order (then `ticketId`), as the database yields them:
    /// nothing collects the rows. `on_row` returns `false` to stop early
    /// (the client went away). Returns how many rows were passed on.
    pub fn for_each_resolved(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut on_row: impl FnMut(Ticket) -> bool,
    ) -> StoreResult<u64> {
        let query = tickets::table
            .filter(tickets::status.eq(TicketStatus::Resolved.as_str()))
            .filter(tickets::resolved_at.ge(from.naive_utc()))
            .filter(tickets::resolved_at.le(to.naive_utc()))
            .order_by((tickets::resolved_at.asc(), tickets::id.asc()))
            .select(TICKET_COLUMNS);
        let mut conn = self.conn()?;
        let mut sent = 0;
        let mut pass_on = |row: QueryResult<TicketRow>| -> StoreResult<bool> {
            let keep_going = on_row(Ticket::try_from(row?)?);
            sent += 1;
            Ok(keep_going)
        };
        // The multi-backend iterator buffers PostgreSQL's whole result, so
        // each backend is asked directly, PostgreSQL row by row.
        match &mut *conn {
            DbConnection::Pg(pg) => {
                for row in query.load_iter::<TicketRow, PgRowByRowLoadingMode>(pg)? {
                    if !pass_on(row)? {
                        break;
                    }
                }
            }
            DbConnection::Sqlite(sqlite) => {
                let sqlite: &mut SqliteConnection = sqlite;
                for row in
                    query.load_iter::<TicketRow, diesel::connection::DefaultLoadingMode>(sqlite)?
                {
                    if !pass_on(row)? {
                        break;
                    }
                }
            }
        }
        Ok(sent)
    }
}
