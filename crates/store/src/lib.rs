//! Persistence for the support tracker: Diesel over SQLite and PostgreSQL.
//!
//! The [`Store`] API speaks plain Rust and `domain` types; no Diesel type
//! leaves this crate. Every write that a rule guards locks the ticket (or
//! user) row, asks `domain` for the decision and writes, in one transaction.

mod connection;
mod error;
mod report;
mod rows;
mod schema;
#[cfg(feature = "bulk-load")]
mod seed;
mod tickets;
mod users;

#[cfg(feature = "test-support")]
pub mod test_support;

use chrono::{DateTime, SubsecRound, Utc};

pub use connection::{DatabaseUrl, DbConnection, PoolOptions, migrate, run_migrations};
pub use error::{StoreError, StoreResult};
#[cfg(feature = "bulk-load")]
pub use seed::{SeedReply, SeedTicket};
pub use tickets::{NewTicket, ReplyPage, TicketPage};
pub use users::{LoginCandidate, NewUser, UserChange, UserPage};

/// The tracker's database: a pool of connections to one backend.
#[derive(Clone)]
pub struct Store {
    pool: connection::Pool,
    backend: &'static str,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("pool", &self.pool.state())
            .finish()
    }
}

/// How many connections the pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
    pub max_size: u32,
}

impl Store {
    /// Connects (failing now, with the real error, on a bad URL), applies
    /// pending migrations and builds the pool.
    pub fn connect(url: &DatabaseUrl, options: PoolOptions) -> StoreResult<Self> {
        let pool = connection::connect(url, options)?;
        Ok(Self {
            pool,
            backend: url.backend_name(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub fn pool_usage(&self) -> PoolUsage {
        let state = self.pool.state();
        PoolUsage {
            connections: state.connections,
            idle: state.idle_connections,
            max_size: self.pool.max_size(),
        }
    }

    /// Answers when the database does.
    pub fn ping(&self) -> StoreResult<()> {
        use diesel::r2d2::R2D2Connection;
        self.conn()?.ping()?;
        Ok(())
    }

    fn conn(&self) -> StoreResult<connection::PooledConnection> {
        Ok(self.pool.get()?)
    }
}

/// The current time at the precision both databases keep (microseconds), so
/// what a write returns equals what a later read finds.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
