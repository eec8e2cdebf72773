//! The resolved report: who may read it, and its rows streamed as the
//! database yields them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{And, Eq, Filter, GtEq, LtEq, Order, Select};
use diesel::helper_types::Asc;
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;
use domain::report::{decide_report_window, may_read_report};
use domain::{Actor, Ticket, TicketStatus};

use crate::connection::{Conn, DatabaseUrl, DbConnection, Pool, StoreOptions, report_pool};
use crate::error::{StoreError, StoreResult};
use crate::rows::{TICKET_COLUMNS, TicketColumns, TicketRow};
use crate::schema::tickets;
use crate::slots::{Slot, Slots};
use crate::{Store, now};

/// Reports read at once. Each holds a connection of its own (outside the
/// request pool) for as long as its client takes to read it.
pub const REPORTS_AT_ONCE: u32 = 2;
/// Seconds a client refused a report is asked to wait: about what a
/// report takes to stream.
const REPORT_RETRY_AFTER_SECS: u64 = 10;

/// The places and connections reports are read with.
#[derive(Debug, Clone)]
pub(crate) struct ReportConnections {
    places: Slots,
    pool: Pool,
}

impl ReportConnections {
    pub(crate) fn new(url: &DatabaseUrl, options: StoreOptions) -> StoreResult<Self> {
        Ok(Self {
            places: Slots::new(REPORTS_AT_ONCE as usize),
            pool: report_pool(url, options, REPORTS_AT_ONCE)?,
        })
    }
}

/// A report that `actor` may read, with its window fixed and its connection
/// in hand: once this exists, nothing but the database failing mid-stream
/// can stop the rows, so a caller can commit to a 200 before the first one.
pub struct ResolvedReport {
    conn: Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    _place: Slot,
}

impl std::fmt::Debug for ResolvedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedReport")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the resolved report for `actor` (agents and admins only): the
    /// last calendar month up to now. Beyond [`REPORTS_AT_ONCE`] reports
    /// being read, the answer is [`StoreError::TooManyReports`] at once.
    pub fn open_resolved_report(&self, actor: Actor) -> StoreResult<ResolvedReport> {
        may_read_report(actor)?;
        let place = self
            .reports
            .places
            .try_take()
            .ok_or(StoreError::TooManyReports {
                retry_after_secs: REPORT_RETRY_AFTER_SECS,
            })?;
        let conn = Conn::from_pool(&self.reports.pool)?;
        let (from, to) = decide_report_window(now());
        Ok(ResolvedReport {
            conn,
            from,
            to,
            _place: place,
        })
    }
}

impl ResolvedReport {
    /// The report's rows as a query over its window.
    fn query(&self) -> ResolvedBetween {
        resolved_between(self.from.naive_utc(), self.to.naive_utc())
    }

    /// The window the report covers, both ends included.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.from, self.to)
    }

    /// Calls `on_row` with every ticket resolved within the window, in
    /// `resolvedAt` order (then `ticketId`), as the database yields them:
    /// nothing collects the rows. `on_row` returns `false` to stop early
    /// (the client went away). Returns how many rows were passed on.
    pub fn for_each_row(mut self, mut on_row: impl FnMut(Ticket) -> bool) -> StoreResult<u64> {
        let query = self.query();
        let mut sent = 0;
        let mut pass_on = |row: QueryResult<TicketRow>| -> StoreResult<bool> {
            let keep_going = on_row(Ticket::try_from(row?)?);
            sent += 1;
            Ok(keep_going)
        };
        // The multi-backend iterator buffers PostgreSQL's whole result, so
        // each backend is asked directly, PostgreSQL row by row.
        match &mut *self.conn {
            DbConnection::Pg(pg) => {
                for row in query.load_iter::<TicketRow, PgRowByRowLoadingMode>(pg)? {
                    if !pass_on(row)? {
                        break;
                    }
                }
            }
            DbConnection::Sqlite(sqlite) => {
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

#[cfg(feature = "bulk-load")]
impl ResolvedReport {
    /// The report's query as SQLite runs it, with its three values written
    /// in: for timing the `sqlite3` shell on the very same query
    /// (`cargo xtask bench`). The SQL text is Diesel's, from the one
    /// definition in `resolved_between`.
    pub fn sqlite_sql(&self) -> String {
        let rendered = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&self.query()).to_string();
        let sql = rendered
            .split_once(" -- binds: ")
            .map_or(rendered.as_str(), |(sql, _)| sql);
        // The values in bind order, as Diesel stores them in SQLite.
        let timestamp = |at: DateTime<Utc>| at.naive_utc().format("%Y-%m-%d %H:%M:%S%.f");
        let values = [
            TicketStatus::Resolved.as_str().to_owned(),
            timestamp(self.from).to_string(),
            timestamp(self.to).to_string(),
        ];
        let mut pieces = sql.split('?');
        let mut written = pieces.next().unwrap_or_default().to_owned();
        for (value, piece) in values.iter().zip(pieces) {
            written.push_str(&format!("'{value}'{piece}"));
        }
        written
    }
}

type ResolvedBetween = Select<
    Order<
        Filter<
            tickets::table,
            And<
                And<Eq<tickets::status, &'static str>, GtEq<tickets::resolved_at, NaiveDateTime>>,
                LtEq<tickets::resolved_at, NaiveDateTime>,
            >,
        >,
        (Asc<tickets::resolved_at>, Asc<tickets::id>),
    >,
    TicketColumns,
>;

/// The report's query: the one definition the stream and the benchmark's
/// `sqlite3` comparison both use.
fn resolved_between(from: NaiveDateTime, to: NaiveDateTime) -> ResolvedBetween {
    tickets::table
        .filter(
            tickets::status
                .eq(TicketStatus::Resolved.as_str())
                .and(tickets::resolved_at.ge(from))
                .and(tickets::resolved_at.le(to)),
        )
        .order_by((tickets::resolved_at.asc(), tickets::id.asc()))
        .select(TICKET_COLUMNS)
}
