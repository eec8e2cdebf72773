//! Connections: one Diesel connection type over both backends, the r2d2
//! pool, SQLite's pragmas, and the transactions reads and writes run in.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::r2d2::R2D2Connection;
use diesel::sql_types::{Array, BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, QueryResult, RunQueryDsl};

use crate::error::{StoreError, StoreResult};
use crate::pin::HashLimits;

/// The `DATABASE_URL` used when none is set: an SQLite file under `data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tracker.db";

/// A connection to either database; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs a statement on the concrete backend: multi-row inserts exist only
/// there, not through the multi-backend connection.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::connection::DbConnection::Pg($c) => $body,
            $crate::connection::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbConnection::Pg(_) => f.write_str("DbConnection::Pg"),
            DbConnection::Sqlite(_) => f.write_str("DbConnection::Sqlite"),
        }
    }
}

pub(crate) type DbBackend = <DbConnection as Connection>::Backend;

/// Which database a `DATABASE_URL` names. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (relative or absolute) from `sqlite://PATH`.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL, passed to libpq as is.
    Postgres(String),
}

impl DatabaseUrl {
    /// Picks the backend from the scheme; an empty or unknown URL is an error,
    /// never a silently created temporary database.
    pub fn parse(url: &str) -> StoreResult<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::configuration(
                    "DATABASE_URL sqlite:// needs a file path",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::configuration(format!(
            "DATABASE_URL must start with sqlite:// or postgres://, got {:?}",
            redact(url)
        )))
    }

    /// `DATABASE_URL` from `var` (an empty value counts as unset), or
    /// [`DEFAULT_DATABASE_URL`]: how the server and `cargo xtask` both read it.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        match var("DATABASE_URL").filter(|url| !url.is_empty()) {
            Some(url) => Self::parse(&url),
            None => Self::parse(DEFAULT_DATABASE_URL),
        }
    }

    /// `DATABASE_URL` from the process environment (load `.env` first).
    pub fn from_env() -> StoreResult<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password hidden, for logs.
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact(url),
        }
    }

    /// Opens a connection; on SQLite, creates the file if it is missing.
    pub(crate) fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.open(SqliteFile::CreateIfMissing)
    }

    fn open(&self, sqlite_file: SqliteFile) -> Result<DbConnection, ConnectionError> {
        match self {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Like SQLite's busy_timeout: a row lock held too long becomes
                // "unavailable" (503), not a request that never answers.
                conn.batch_execute("SET lock_timeout = '5s'")
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Pg(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    ConnectionError::InvalidConnectionUrl("path is not UTF-8".to_owned())
                })?;
                let mut conn = match sqlite_file {
                    SqliteFile::CreateIfMissing => SqliteConnection::establish(path)?,
                    SqliteFile::MustExist => SqliteConnection::establish(&existing_file_uri(path))?,
                };
                // busy_timeout first: switching to WAL itself needs a lock that
                // the pool's other new connections may be holding.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Whether opening an SQLite path may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteFile {
    /// Start-up and migrations: a new deployment starts with no file.
    CreateIfMissing,
    /// The pool, once migrated: a file that went missing must not come
    /// back as a new empty database.
    MustExist,
}

/// An SQLite URI that opens `path` read-write and never creates it. The
/// characters a URI gives a meaning are escaped; an absolute path gets the
/// empty authority, so `//x` stays a path.
fn existing_file_uri(path: &str) -> String {
    let mut uri = String::from(if path.starts_with('/') {
        "file://"
    } else {
        "file:"
    });
    for c in path.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=rw");
    uri
}

/// How long an SQLite statement waits for a lock another connection holds
/// before the request is answered 503.
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The file an SQLite database was found in at start-up. An open
/// connection keeps its file however the path changes (made unreadable,
/// moved, deleted, replaced), and writes into a file nobody will read
/// again are lost, so every checkout checks the path still opens to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// One `stat` of the path, on every checkout: it fails when the file
    /// or its folder can no longer be reached, and names another file when
    /// it was replaced. (Opening it too cost two more system calls a
    /// request and proved nothing more: a connection's open file keeps
    /// working, and a new connection opens the file itself.)
    fn of(path: &std::path::Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let metadata = std::fs::metadata(path)?;
        Ok(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// Loads `.env` from the working directory into the environment, if there
/// is one (a missing file is normal); a malformed one is worth stopping for,
/// rather than quietly using the default database.
pub fn read_dotenv() -> StoreResult<()> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        Err(error) => Err(StoreError::Configuration {
            message: "reading .env".to_owned(),
            source: Some(error.into()),
        }),
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.display())
    }
}

/// Hides the password of `scheme://user:password@host`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The r2d2 manager: connects with the concrete backend type so a bad URL
/// reports the real error. On SQLite it holds the database file's
/// identity, so a connection is only used while the path leads to it.
#[derive(Debug)]
pub(crate) struct Manager {
    url: DatabaseUrl,
    sqlite_file: Option<FileIdentity>,
}

impl Manager {
    /// After migrations, which create a missing SQLite file.
    fn new(url: &DatabaseUrl) -> StoreResult<Self> {
        let sqlite_file = match url {
            DatabaseUrl::Sqlite(path) => {
                Some(
                    FileIdentity::of(path).map_err(|error| StoreError::Configuration {
                        message: format!("cannot open {}", path.display()),
                        source: Some(error.into()),
                    })?,
                )
            }
            DatabaseUrl::Postgres(_) => None,
        };
        Ok(Self {
            url: url.clone(),
            sqlite_file,
        })
    }

    /// Whether the SQLite path still opens to the file found at start-up.
    fn check_file(&self) -> Result<(), ConnectionError> {
        let (Some(expected), DatabaseUrl::Sqlite(path)) = (self.sqlite_file, &self.url) else {
            return Ok(());
        };
        match FileIdentity::of(path) {
            Ok(found) if found == expected => Ok(()),
            Ok(_) => Err(ConnectionError::BadConnection(format!(
                "{} is no longer the file the server started with; restart the server to use the new one",
                path.display()
            ))),
            Err(error) => Err(ConnectionError::BadConnection(format!(
                "cannot open {}: {error}",
                path.display()
            ))),
        }
    }
}

/// How long a connection that answered a ping is handed out without
/// another: under load each connection is checked about once a second
/// rather than on every request (a PostgreSQL round trip each). A
/// connection that died within that second fails its request with a 503
/// and is pinged, and replaced, at a later checkout.
const PINGED_RECENTLY: Duration = Duration::from_secs(1);

/// A pooled connection and when it last answered a ping.
pub(crate) struct Checked {
    conn: DbConnection,
    pinged_at: Instant,
}

impl std::ops::Deref for Checked {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Checked {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Checked;
    type Error = ConnectionError;

    fn connect(&self) -> Result<Checked, ConnectionError> {
        self.check_file()?;
        Ok(Checked {
            conn: self.url.open(SqliteFile::MustExist)?,
            pinged_at: Instant::now(),
        })
    }

    /// The SQLite file is checked on every checkout (a write into a file
    /// replaced meanwhile would be lost); the connection itself when it
    /// has not answered a ping [`PINGED_RECENTLY`].
    fn is_valid(&self, conn: &mut Checked) -> Result<(), ConnectionError> {
        self.check_file()?;
        if conn.pinged_at.elapsed() < PINGED_RECENTLY {
            return Ok(());
        }
        conn.conn
            .ping()
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        conn.pinged_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut Checked) -> bool {
        std::thread::panicking() || conn.conn.is_broken()
    }
}

pub(crate) type Pool = r2d2::Pool<Manager>;
pub(crate) type PooledConnection = r2d2::PooledConnection<Manager>;

/// A connection taken from a pool, as the database connection it is; it
/// goes back to the pool when dropped.
pub(crate) struct Conn(PooledConnection);

impl Conn {
    pub(crate) fn from_pool(pool: &Pool) -> Result<Self, r2d2::Error> {
        pool.get().map(Conn)
    }
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

/// How the pool is sized, how much PIN hashing may run at once, and the
/// SLA targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// At most this many connections; `None` takes the backend's default.
    pub max_size: Option<u32>,
    /// How long a request waits for a free connection before "unavailable".
    pub connection_timeout: Duration,
    pub hashing: HashLimits,
    /// The targets new tickets' due times are computed from.
    pub sla: domain::SlaTargets,
    /// On SQLite, a list filter matching fewer than this many tickets is read
    /// from its own index and its matches sorted, when no index has it in
    /// the list's order; one matching more walks the order's index instead
    /// (see `list_tickets`). Tests set 0 to see every walk.
    pub few_matches: i64,
    /// Whether changes queue mail (notifications, PIN resets): on when
    /// the server has somewhere to send it (`SMTP_URL`).
    pub sends_mail: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_size: None,
            connection_timeout: Duration::from_secs(5),
            hashing: HashLimits::for_this_machine(),
            sla: domain::SlaTargets::default(),
            few_matches: FEW_MATCHES,
            sends_mail: false,
        }
    }
}

/// Either way a page stays cheap: below it, at most this many rows are
/// sorted; above it, a walk of the sort's index passes about
/// `rows wanted × tickets / matches` rows, at most 21,000 for a page of 20
/// at a million tickets (the search's threshold for a common word too;
/// `cargo xtask bench --only queue` measures every list at that size).
pub const FEW_MATCHES: i64 = 1_000;

/// SQLite takes one writer at a time however many connections wait, so a
/// few suffice; PostgreSQL serves more in parallel.
const SQLITE_DEFAULT_POOL: u32 = 8;
const POSTGRES_DEFAULT_POOL: u32 = 16;

/// Builds the pool of a database the migrations have made ready (see
/// `migrations::migrate`).
pub(crate) fn connect(url: &DatabaseUrl, options: StoreOptions) -> StoreResult<Pool> {
    let default_size = match url {
        DatabaseUrl::Sqlite(_) => SQLITE_DEFAULT_POOL,
        DatabaseUrl::Postgres(_) => POSTGRES_DEFAULT_POOL,
    };
    let pool = r2d2::Pool::builder()
        .max_size(options.max_size.unwrap_or(default_size))
        .min_idle(Some(1))
        .connection_timeout(options.connection_timeout)
        .build(Manager::new(url)?)?;
    Ok(pool)
}

/// The connections reports stream from: apart from the request pool, so
/// clients that read a report slowly cannot hold the connections every
/// other request needs. None is opened until a report asks.
pub(crate) fn report_pool(
    url: &DatabaseUrl,
    options: StoreOptions,
    size: u32,
) -> StoreResult<Pool> {
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(options.connection_timeout)
        .build_unchecked(Manager::new(url)?))
}

/// Runs `work` in a transaction that serialises writers of the same rows:
/// `BEGIN IMMEDIATE` on SQLite (a deferred transaction could not upgrade
/// its read lock under contention), a plain transaction on PostgreSQL
/// where `work` takes row locks with [`lock_rows`].
pub(crate) fn write_transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let begin = match conn {
        DbConnection::Pg(_) => "BEGIN",
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    transaction(conn, begin, work)
}

/// Runs `work` in a read-only transaction that sees one snapshot of the
/// database throughout, so what it reads in several queries fits
/// together: `REPEATABLE READ` on PostgreSQL; on SQLite (in WAL mode) a
/// deferred transaction's reads all see the database as its first one did.
pub(crate) fn read_transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let begin = match conn {
        DbConnection::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        DbConnection::Sqlite(_) => "BEGIN DEFERRED",
    };
    transaction(conn, begin, work)
}

/// `work` between `begin` and a commit, or a rollback if it fails.
fn transaction<T>(
    conn: &mut DbConnection,
    begin: &str,
    work: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    on_backend!(&mut *conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, begin)?
    });
    let outcome = work(conn);
    match outcome {
        Ok(value) => {
            on_backend!(&mut *conn, |c| AnsiTransactionManager::commit_transaction(
                c
            )?);
            Ok(value)
        }
        Err(error) => {
            // The work's own error is what the caller needs to see.
            let _ = on_backend!(
                &mut *conn,
                |c| AnsiTransactionManager::rollback_transaction(c)
            );
            Err(error)
        }
    }
}

/// The tables whose rows a write transaction locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    Tickets,
    Users,
}

impl Locked {
    fn table(self) -> &'static str {
        match self {
            Locked::Tickets => "tickets",
            Locked::Users => "users",
        }
    }
}

/// Holds the rows `ids` of `table` until the transaction ends, so no other
/// writer changes them meanwhile. On PostgreSQL through the migrations'
/// `lock_rows` function, which turns a lock wait that timed out or a
/// deadlock into a serialization failure, recognised by its SQLSTATE
/// whatever language the server speaks; on SQLite the `BEGIN IMMEDIATE` of
/// [`write_transaction`] already holds the whole database.
pub(crate) fn lock_rows(conn: &mut DbConnection, table: Locked, ids: &[i64]) -> StoreResult<()> {
    if let DbConnection::Pg(pg) = conn {
        LockRows {
            table: table.table(),
            ids,
        }
        .execute(pg)?;
    }
    Ok(())
}

/// The statement of [`lock_rows`] on PostgreSQL, with a static query id
/// so that Diesel prepares it once per connection (as `sql_query` it was
/// parsed and planned on every write).
#[derive(Debug, Clone, Copy)]
struct LockRows<'a> {
    table: &'static str,
    ids: &'a [i64],
}

impl QueryId for LockRows<'_> {
    type QueryId = LockRows<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for LockRows<'_> {}

impl QueryFragment<diesel::pg::Pg> for LockRows<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("SELECT lock_rows(");
        out.push_bind_param::<Text, _>(&self.table)?;
        out.push_sql("::regclass, ");
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}
