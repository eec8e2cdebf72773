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

/// The mail waiting in `store`'s outbox, oldest first: each row's address
/// and what it says. For tests of who is told what, without sending.
pub fn pending_mail(store: &Store) -> StoreResult<Vec<(String, domain::OutgoingMail)>> {
    use diesel::prelude::*;

    use crate::error::StoreError;
    use crate::schema::outbox;

    let rows: Vec<(String, String)> = outbox::table
        .filter(outbox::channel.eq(crate::MAIL_CHANNEL))
        .filter(outbox::state.eq(crate::outbox::PENDING))
        .order_by(outbox::id.asc())
        .select((outbox::recipient, outbox::payload))
        .load(&mut *store.conn()?)?;
    rows.into_iter()
        .map(|(to, payload)| {
            let mail = serde_json::from_str(&payload).map_err(StoreError::internal)?;
            Ok((to, mail))
        })
        .collect()
}

/// Queues `mail` to `address` as a change would, in a write of its own:
/// for the mail worker's tests while no change of the tests' choosing
/// queues the mail they need. Answers the row's message id.
pub fn queue_mail(
    store: &Store,
    address: &domain::EmailAddress,
    mail: &domain::OutgoingMail,
) -> StoreResult<String> {
    use diesel::prelude::*;

    use crate::schema::outbox;

    store.write(|conn| {
        crate::mail::queue_mail(conn, &[(address, mail)])?;
        Ok(outbox::table
            .filter(outbox::channel.eq(crate::MAIL_CHANNEL))
            .order_by(outbox::id.desc())
            .select(outbox::message_id)
            .first::<String>(conn)?)
    })
}
