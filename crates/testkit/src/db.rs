//! Fresh databases for tests: a temporary SQLite file, or a new database on
//! the PostgreSQL server named by `TEST_POSTGRES_URL` (which `cargo xtask
//! test` starts). Without that variable a PostgreSQL test fails, so a half
//! that did not run is never counted as passed; only the explicit opt-out
//! [`SKIP_POSTGRES_VAR`]`=1`, which CI never sets, lets it return early.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, pg::PgConnection};

use store::test_hooks::{PooledConnection, RawConnection, take_connection};
use store::{DatabaseUrl, Store, StoreOptions, StoreResult};

/// Set to `1` to let PostgreSQL tests pass without running when no
/// `TEST_POSTGRES_URL` is given (a machine without PostgreSQL).
pub const SKIP_POSTGRES_VAR: &str = "SKIP_POSTGRES_TESTS";

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the test: the file is deleted, or the
/// PostgreSQL database dropped, when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    store: Option<Store>,
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(
        #[expect(dead_code, reason = "held only to delete the directory on drop")]
        tempfile::TempDir,
    ),
    Postgres {
        server_url: String,
        database: String,
    },
}

impl TestDb {
    /// A fresh database of `backend`; `None` only for PostgreSQL when it is
    /// not configured and [`SKIP_POSTGRES_VAR`] says to skip it.
    pub fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let url = DatabaseUrl::Sqlite(dir.path().join("tracker.db"));
        Self::open(url, Cleanup::Sqlite(dir))
    }

    /// A fresh database on the test PostgreSQL server, if there is one.
    pub fn postgres() -> Option<TestDb> {
        let Some(server_url) = std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var(SKIP_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                eprintln!("notice: {SKIP_POSTGRES_VAR}=1: this PostgreSQL test did not run");
                return None;
            }
            panic!(
                "TEST_POSTGRES_URL is not set: run the tests with `cargo xtask test`, \
                 or set {SKIP_POSTGRES_VAR}=1 to skip the PostgreSQL half knowingly"
            );
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let database = format!(
            "tracker_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = PgConnection::establish(&server_url)
            .unwrap_or_else(|e| panic!("cannot reach TEST_POSTGRES_URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("create test database: {e}"));
        let url = DatabaseUrl::Postgres(with_database(&server_url, &database));
        Some(Self::open(
            url,
            Cleanup::Postgres {
                server_url,
                database,
            },
        ))
    }

    fn open(url: DatabaseUrl, cleanup: Cleanup) -> TestDb {
        let store = Store::connect(&url, StoreOptions::default())
            .unwrap_or_else(|e| panic!("open test database: {e}"));
        TestDb {
            store: Some(store),
            url,
            cleanup,
        }
    }

    pub fn store(&self) -> &Store {
        self.store
            .as_ref()
            .unwrap_or_else(|| unreachable!("set until drop"))
    }

    /// The URL a server process would be given for this database.
    pub fn url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection of its own, outside the store's pool: another client of
    /// the same database.
    pub fn other_client(&self) -> OtherClient {
        let connection = match &self.url {
            DatabaseUrl::Sqlite(path) => Client::Sqlite(
                SqliteConnection::establish(&path.to_string_lossy())
                    .unwrap_or_else(|e| panic!("connect: {e}")),
            ),
            DatabaseUrl::Postgres(url) => {
                Client::Pg(PgConnection::establish(url).unwrap_or_else(|e| panic!("connect: {e}")))
            }
        };
        OtherClient(connection)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool before the database goes.
        self.store.take();
        if let Cleanup::Postgres {
            server_url,
            database,
        } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(server_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// Another client of a test database, for doing to it what the store would
/// not: hold its locks, write rows it could not read. Dropping it closes the
/// connection and so ends whatever it held.
#[derive(Debug)]
pub struct OtherClient(Client);

enum Client {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Client::Sqlite(_) => "Sqlite",
            Client::Pg(_) => "Pg",
        })
    }
}

impl OtherClient {
    /// Runs SQL statements as they are.
    pub fn execute(&mut self, sql: &str) {
        let done = match &mut self.0 {
            Client::Sqlite(conn) => conn.batch_execute(sql),
            Client::Pg(conn) => conn.batch_execute(sql),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Opens a transaction that keeps every other client from writing
    /// tickets until this client is dropped: SQLite's exclusive lock, or an
    /// EXCLUSIVE table lock on PostgreSQL (reads still go through there).
    pub fn hold_ticket_writes(&mut self) {
        match self.0 {
            Client::Sqlite(_) => self.execute("BEGIN EXCLUSIVE"),
            Client::Pg(_) => self.execute("BEGIN; LOCK TABLE tickets IN EXCLUSIVE MODE"),
        }
    }
}

impl OtherClient {
    /// The plan this database makes for `sql`, a statement as Diesel sent
    /// it (see [`record_queries`]), one line per row of the plan: SQLite's
    /// `EXPLAIN QUERY PLAN` details, or PostgreSQL's `EXPLAIN` text. The
    /// placeholders stay unbound: SQLite plans before it sees values, and
    /// on PostgreSQL the statement is prepared and its generic plan (made
    /// for any values) explained. Settings such as `enable_sort` are this
    /// client's, set with [`OtherClient::execute`].
    pub fn explain(&mut self, sql: &str) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Detail {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        #[derive(QueryableByName)]
        struct PlanLine {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        #[derive(QueryableByName)]
        struct Parameters {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        let failed = |e: diesel::result::Error| -> ! { panic!("explain {sql}: {e}") };
        match &mut self.0 {
            Client::Sqlite(conn) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<Detail>(conn)
                .unwrap_or_else(|e| failed(e))
                .into_iter()
                .map(|row| row.detail)
                .collect(),
            Client::Pg(conn) => {
                conn.batch_execute(&format!(
                    "SET plan_cache_mode = force_generic_plan; PREPARE explained AS {sql}"
                ))
                .unwrap_or_else(|e| failed(e));
                let parameters: Parameters = diesel::sql_query(
                    "SELECT coalesce(cardinality(parameter_types), 0)::bigint AS count \
                     FROM pg_prepared_statements WHERE name = 'explained'",
                )
                .get_result(conn)
                .unwrap_or_else(|e| failed(e));
                let nulls = vec!["NULL"; usize::try_from(parameters.count).unwrap_or(0)];
                let plan = diesel::sql_query(format!(
                    "EXPLAIN EXECUTE explained{}",
                    if nulls.is_empty() {
                        String::new()
                    } else {
                        format!("({})", nulls.join(", "))
                    }
                ))
                .load::<PlanLine>(conn)
                .unwrap_or_else(|e| failed(e));
                conn.batch_execute("DEALLOCATE explained; RESET plan_cache_mode")
                    .unwrap_or_else(|e| failed(e));
                plan.into_iter().map(|row| row.line).collect()
            }
        }
    }
}

/// The statements a store ran, as Diesel sent them to the database, their
/// values left out (`SELECT ... WHERE "tickets"."status" = $1 ...`).
#[derive(Debug, Clone, Default)]
pub struct QueryLog {
    ran: Arc<Mutex<Vec<String>>>,
    cached: Arc<Mutex<Vec<String>>>,
}

impl QueryLog {
    /// The statements recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.ran.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Every statement Diesel prepared into a connection's statement cache
    /// since recording began (each once per connection): one that ran but
    /// is not among them was parsed and planned on every run.
    pub fn cached(&self) -> Vec<String> {
        self.cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Records every statement `store`'s request pool runs from now on: each
/// of the pool's connections (the missing ones opened) is taken at once,
/// made to report its statements, and put back. The SQL comes from
/// Diesel's debug rendering of the query, which it does not promise to
/// keep stable; tests read it, never the server.
pub fn record_queries(store: &Store) -> QueryLog {
    let log = QueryLog::default();
    let taken: Vec<_> = (0..store.pool_status().max)
        .map(|_| take_connection(store).unwrap_or_else(|e| panic!("take a pooled connection: {e}")))
        .collect();
    for mut conn in taken {
        let log = log.clone();
        let record = move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let shown = query.to_string();
                let sql = shown
                    .split_once(" -- binds: ")
                    .map_or(shown.as_str(), |(sql, _)| sql);
                log.ran
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(sql.to_owned());
            }
            InstrumentationEvent::CacheQuery { sql, .. } => log
                .cached
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sql.to_owned()),
            _ => {}
        };
        match conn.raw() {
            RawConnection::Pg(conn) => conn.set_instrumentation(record),
            RawConnection::Sqlite(conn) => conn.set_instrumentation(record),
        }
    }
    log
}

/// `postgres://host/old?x` with the database name replaced.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

/// Runs one test body on both backends: `both_backends!(name, |store| ...)`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                run($crate::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                run($crate::Backend::Postgres);
            }

            fn run(backend: $crate::Backend) {
                // `None` only under the explicit PostgreSQL opt-out.
                if let Some(db) = $crate::TestDb::new(backend) {
                    let body: fn(&$crate::TestDb) = $body;
                    body(&db);
                }
            }
        }
    };
}

/// One of a store's pooled connections, taken and kept until dropped: what
/// a starved pool looks like to the requests that still need one.
#[derive(Debug)]
pub struct HeldConnection(
    #[expect(dead_code, reason = "held only to keep it from the pool until drop")] PooledConnection,
);

/// Takes a connection from `store`'s request pool and holds it.
pub fn hold_connection(store: &Store) -> StoreResult<HeldConnection> {
    take_connection(store).map(HeldConnection)
}
