//! The bench's baseline server (`cargo xtask bench`, its list section): the
//! ticket queries our server runs, written with plain Diesel over an r2d2
//! pool behind plain axum handlers that return the rows as JSON and nothing
//! else: no authentication, no rules, no envelope, no count, no
//! instrumentation. What our server costs above it is what our layers cost.
//!
//! Reads `DATABASE_URL` (an already migrated `sqlite://PATH` or
//! `postgres://...`), `HOST` and `PORT`, like the server; stops on SIGTERM.
//!
//! - `GET /tickets/{id}`: one ticket.
//! - `GET /tickets?limit=L&offset=N`: `L` tickets by id after skipping `N`.
//! - `GET /tickets?limit=L&after=ID`: `L` tickets by id after `ID` (a keyset).
//! - `POST /tickets` `{"subject","body","authorId"}`: one new ticket row, as
//!   our create fills it (the row only: no search words, no events).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use chrono::{NaiveDateTime, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError};
use diesel::sqlite::SqliteConnection;
use domain::{Priority, SlaTargets, TicketStatus};
use serde::{Deserialize, Serialize};
use store::DatabaseUrl;
use store::schema::tickets;

/// Pool sizes as the store's defaults, so both servers wait alike: SQLite
/// takes one writer at a time anyway, PostgreSQL serves more in parallel.
const SQLITE_POOL: u32 = 8;
const POSTGRES_POOL: u32 = 16;
/// How long a request waits for a connection, as in the store.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The ticket columns our store selects, as JSON.
#[derive(Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = tickets)]
#[serde(rename_all = "camelCase")]
struct TicketRow {
    #[diesel(column_name = id)]
    ticket_id: i64,
    subject: Option<String>,
    body: String,
    status: String,
    author_id: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    resolved_at: Option<NaiveDateTime>,
    priority: i32,
    assignee_id: Option<i64>,
    first_response_at: Option<NaiveDateTime>,
    first_response_due_at: NaiveDateTime,
    resolution_due_at: NaiveDateTime,
}

/// One pool of the concrete connection type: no multi-backend dispatch.
#[derive(Debug, Clone)]
enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// Runs `$query` on a connection of whichever pool there is; the query is
/// written once and compiled for each backend.
macro_rules! on_connection {
    ($pools:expr, |$conn:ident| $query:expr) => {
        match &$pools {
            Pools::Sqlite(pool) => {
                let $conn = &mut *pool.get()?;
                Ok($query?)
            }
            Pools::Postgres(pool) => {
                let $conn = &mut *pool.get()?;
                Ok($query?)
            }
        }
    };
}

/// The same pragmas as the store sets on each connection
/// (`crates/store/src/connection.rs`).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Pools {
    fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or_else(|| anyhow::anyhow!("path is not UTF-8"))?;
                Pools::Sqlite(
                    Pool::builder()
                        .max_size(SQLITE_POOL)
                        .connection_timeout(CONNECTION_TIMEOUT)
                        .connection_customizer(Box::new(SqlitePragmas))
                        .build(ConnectionManager::new(path))?,
                )
            }
            DatabaseUrl::Postgres(url) => Pools::Postgres(
                Pool::builder()
                    .max_size(POSTGRES_POOL)
                    .connection_timeout(CONNECTION_TIMEOUT)
                    .build(ConnectionManager::new(url))?,
            ),
        })
    }
}

/// A failure, answered with its bare status.
#[derive(Debug)]
struct Failure(StatusCode);

impl From<diesel::result::Error> for Failure {
    fn from(error: diesel::result::Error) -> Self {
        Failure(match error {
            diesel::result::Error::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        })
    }
}

impl From<PoolError> for Failure {
    fn from(_: PoolError) -> Self {
        Failure(StatusCode::SERVICE_UNAVAILABLE)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// Diesel blocks, so it runs on tokio's blocking pool, as in our server.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Failure(StatusCode::INTERNAL_SERVER_ERROR))?
}

async fn get_ticket(
    State(pools): State<Pools>,
    Path(id): Path<i64>,
) -> Result<Json<TicketRow>, Failure> {
    let row = blocking(move || {
        on_connection!(pools, |conn| tickets::table
            .filter(tickets::id.eq(id))
            .select(TicketRow::as_select())
            .get_result(conn))
    })
    .await?;
    Ok(Json(row))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: i64,
    offset: Option<i64>,
    after: Option<i64>,
}

async fn list_tickets(
    State(pools): State<Pools>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Vec<TicketRow>>, Failure> {
    let rows = blocking(move || {
        on_connection!(pools, |conn| {
            let query = tickets::table
                .select(TicketRow::as_select())
                .order(tickets::id)
                .limit(page.limit)
                .into_boxed();
            match page.after {
                Some(after) => query.filter(tickets::id.gt(after)).load(conn),
                None => query.offset(page.offset.unwrap_or(0)).load(conn),
            }
        })
    })
    .await?;
    Ok(Json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewTicket {
    subject: Option<String>,
    body: String,
    author_id: i64,
}

async fn create_ticket(
    State(pools): State<Pools>,
    Json(new): Json<NewTicket>,
) -> Result<(StatusCode, Json<TicketRow>), Failure> {
    let row = blocking(move || {
        // What our create stores for a customer's ticket: unattended, at
        // the default priority, due by the default SLA targets.
        let now = Utc::now();
        let due = SlaTargets::default().due_times(now, Priority::Normal);
        let breach_at = domain::sla::breach_time(due, None, None);
        let at = now.naive_utc();
        on_connection!(pools, |conn| diesel::insert_into(tickets::table)
            .values((
                tickets::subject.eq(&new.subject),
                tickets::body.eq(&new.body),
                tickets::status.eq(TicketStatus::Unattended.as_str()),
                tickets::author_id.eq(new.author_id),
                tickets::created_at.eq(at),
                tickets::updated_at.eq(at),
                tickets::priority.eq(Priority::Normal.rank()),
                tickets::first_response_due_at.eq(due.first_response.naive_utc()),
                tickets::resolution_due_at.eq(due.resolution.naive_utc()),
                tickets::sla_breach_at.eq(breach_at.map(|at| at.naive_utc())),
            ))
            .returning(TicketRow::as_returning())
            .get_result(conn))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = DatabaseUrl::from_env()?;
    let pools = Pools::connect(&url)?;
    let app = Router::new()
        .route("/tickets", get(list_tickets).post(create_ticket))
        .route("/tickets/{id}", get(get_ticket))
        .with_state(pools);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = std::env::var("PORT").unwrap_or_else(|_| "9004".to_owned());
    // No delay on small answers, as our server sets it too.
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}"))
        .await?
        .tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            terminate.recv().await;
        })
        .await?;
    Ok(())
}
