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
//! - `POST /tickets/with-history`, the same body: the same work as our
//!   create, without our layers: in one transaction (`BEGIN IMMEDIATE` on
//!   SQLite) the ticket row, its search words and its `created` event.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use chrono::{NaiveDateTime, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError};
use diesel::sqlite::SqliteConnection;
use domain::{Priority, SlaTargets, TicketDocuments, TicketStatus};
use serde::{Deserialize, Serialize};
use store::DatabaseUrl;
use store::schema::{events, ticket_search_words, tickets};

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
        let row = new_ticket_row(new);
        on_connection!(pools, |conn| diesel::insert_into(tickets::table)
            .values(&row)
            .returning(TicketRow::as_returning())
            .get_result(conn))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// A new ticket's row.
#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
struct NewTicketRow {
    subject: Option<String>,
    body: String,
    status: &'static str,
    author_id: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    priority: i32,
    first_response_due_at: NaiveDateTime,
    resolution_due_at: NaiveDateTime,
    sla_breach_at: Option<NaiveDateTime>,
}

/// What our create stores for a customer's ticket: unattended, at the
/// default priority, due by the default SLA targets.
fn new_ticket_row(new: NewTicket) -> NewTicketRow {
    let now = Utc::now();
    let due = SlaTargets::default().due_times(now, Priority::Normal);
    NewTicketRow {
        subject: new.subject,
        body: new.body,
        status: TicketStatus::Unattended.as_str(),
        author_id: new.author_id,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        priority: Priority::Normal.rank(),
        first_response_due_at: due.first_response.naive_utc(),
        resolution_due_at: due.resolution.naive_utc(),
        sla_breach_at: domain::sla::breach_time(due, None, None).map(|at| at.naive_utc()),
    }
}

async fn create_ticket_with_history(
    State(pools): State<Pools>,
    Json(new): Json<NewTicket>,
) -> Result<(StatusCode, Json<TicketRow>), Failure> {
    let row = blocking(move || {
        let new = new_ticket_row(new);
        let documents = TicketDocuments::of_ticket(new.subject.as_deref(), &new.body);
        let (public_words, note_words) = (documents.public.as_text(), documents.notes.as_text());
        macro_rules! the_work {
            ($conn:expr) => {{
                let row: TicketRow = diesel::insert_into(tickets::table)
                    .values(&new)
                    .returning(TicketRow::as_returning())
                    .get_result($conn)?;
                diesel::insert_into(ticket_search_words::table)
                    .values((
                        ticket_search_words::ticket_id.eq(row.ticket_id),
                        ticket_search_words::public_words.eq(&public_words),
                        ticket_search_words::note_words.eq(&note_words),
                    ))
                    .execute($conn)?;
                diesel::insert_into(events::table)
                    .values((
                        events::ticket_id.eq(row.ticket_id),
                        events::kind.eq("created"),
                        events::actor_id.eq(new.author_id),
                        events::at.eq(new.created_at),
                        events::data.eq("{}"),
                    ))
                    .execute($conn)?;
                Ok::<_, diesel::result::Error>(row)
            }};
        }
        let row = match &pools {
            Pools::Sqlite(pool) => pool.get()?.immediate_transaction(|conn| the_work!(conn))?,
            Pools::Postgres(pool) => pool.get()?.transaction(|conn| the_work!(conn))?,
        };
        Ok(row)
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
        .route("/tickets/with-history", post(create_ticket_with_history))
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
