//! What the workspace's test kit (`crates/testkit`) needs from inside a
//! [`Store`], behind the `test-hooks` feature, which the server never
//! enables: a connection of its request pool, taken and held, and the
//! Diesel connection inside it. No test logic lives here.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use crate::connection::{Conn, DbConnection};
use crate::{Store, StoreResult};

/// One of a store's pooled connections, taken until dropped, when it goes
/// back to the pool.
pub struct PooledConnection(Conn);

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PooledConnection")
    }
}

/// The Diesel connection of a [`PooledConnection`], of its backend.
pub enum RawConnection<'a> {
    Pg(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

impl std::fmt::Debug for RawConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RawConnection::Pg(_) => "RawConnection::Pg",
            RawConnection::Sqlite(_) => "RawConnection::Sqlite",
        })
    }
}

/// Takes a connection from `store`'s request pool, as a request does
/// (waiting at most the pool's connection timeout).
pub fn take_connection(store: &Store) -> StoreResult<PooledConnection> {
    store.conn().map(PooledConnection)
}

impl PooledConnection {
    /// The Diesel connection itself.
    pub fn raw(&mut self) -> RawConnection<'_> {
        match &mut *self.0 {
            DbConnection::Pg(conn) => RawConnection::Pg(conn),
            DbConnection::Sqlite(conn) => RawConnection::Sqlite(conn),
        }
    }
}
