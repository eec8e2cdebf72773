//! Row structs as the database returns them, their conversion into
//! `domain` records, and the reads of one ticket every action starts from.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::{
    DueTimes, EmailAddress, Event, EventKind, Priority, Reply, Role, Tag, TagSet, Ticket, TicketId,
    TicketStatus, User, UserId,
};

use crate::connection::{DbConnection, Locked, lock_rows};
use crate::error::{StoreError, StoreResult};
use crate::schema::{events, replies, tickets, users};

/// Declares a column tuple's type and value from one list.
macro_rules! columns {
    ($name:ident: $ty:ident = ($($column:path),* $(,)?)) => {
        pub(crate) type $ty = ($($column,)*);
        pub(crate) const $name: $ty = ($($column,)*);
    };
}
pub(crate) use columns;

pub(crate) fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

pub(crate) fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::internal(format!("unknown {what} {text:?} in the database")))
}

columns!(USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::role,
    users::active,
    users::email,
    users::created_at,
    users::updated_at,
));

#[derive(Debug, Queryable)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub active: bool,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: UserId(row.id),
            username: row.username,
            role: parse::<Role>(&row.role, "role")?,
            active: row.active,
            email: row
                .email
                .map(|email| {
                    EmailAddress::parse(email).map_err(|_| {
                        StoreError::internal("an unreadable email address in the database")
                    })
                })
                .transpose()?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

columns!(TICKET_COLUMNS: TicketColumns = (
    tickets::id,
    tickets::subject,
    tickets::body,
    tickets::status,
    tickets::author_id,
    tickets::created_at,
    tickets::updated_at,
    tickets::resolved_at,
    tickets::priority,
    tickets::assignee_id,
    tickets::first_response_at,
    tickets::first_response_due_at,
    tickets::resolution_due_at,
    tickets::follow_up_of,
));

#[derive(Debug, Queryable)]
pub(crate) struct TicketRow {
    pub id: i64,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub author_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub priority: i32,
    pub assignee_id: Option<i64>,
    pub first_response_at: Option<NaiveDateTime>,
    pub first_response_due_at: NaiveDateTime,
    pub resolution_due_at: NaiveDateTime,
    pub follow_up_of: Option<i64>,
}

/// The ticket without its tags, which live in a table of their own and are
/// loaded only for staff.
impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;

    fn try_from(row: TicketRow) -> Result<Self, Self::Error> {
        Ok(Ticket {
            id: TicketId(row.id),
            subject: row.subject,
            body: row.body,
            status: parse::<TicketStatus>(&row.status, "status")?,
            author: UserId(row.author_id),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            resolved_at: row.resolved_at.map(utc),
            priority: Priority::from_rank(row.priority).ok_or_else(|| {
                StoreError::internal(format!("unknown priority {} in the database", row.priority))
            })?,
            assignee: row.assignee_id.map(UserId),
            tags: None,
            first_response_at: row.first_response_at.map(utc),
            due: DueTimes {
                first_response: utc(row.first_response_due_at),
                resolution: utc(row.resolution_due_at),
            },
            follow_up_of: row.follow_up_of.map(TicketId),
        })
    }
}

columns!(REPLY_COLUMNS: ReplyColumns = (
    replies::id,
    replies::ticket_id,
    replies::body,
    replies::author_id,
    users::role,
    replies::internal,
    replies::created_at,
    replies::updated_at,
));

#[derive(Debug, Queryable)]
pub(crate) struct ReplyRow {
    pub id: i64,
    pub ticket_id: i64,
    pub body: String,
    pub author_id: i64,
    pub author_role: String,
    pub internal: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TryFrom<ReplyRow> for Reply {
    type Error = StoreError;

    fn try_from(row: ReplyRow) -> Result<Self, Self::Error> {
        Ok(Reply {
            id: row.id,
            ticket_id: TicketId(row.ticket_id),
            body: row.body,
            author: UserId(row.author_id),
            author_role: parse::<Role>(&row.author_role, "role")?,
            internal: row.internal,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

columns!(EVENT_COLUMNS: EventColumns = (
    events::id,
    events::ticket_id,
    events::kind,
    events::actor_id,
    events::at,
    events::data,
));

#[derive(Debug, Queryable)]
pub(crate) struct EventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub at: NaiveDateTime,
    pub data: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        Ok(Event {
            id: row.id,
            ticket_id: TicketId(row.ticket_id),
            kind: decode_event(&row.kind, &row.data)?,
            actor: UserId(row.actor_id),
            at: utc(row.at),
        })
    }
}

/// An event's kind as stored: its type, and its data as JSON.
pub(crate) fn encode_event(kind: &EventKind) -> Result<(&'static str, String), StoreError> {
    let tagged = serde_json::to_value(kind).map_err(StoreError::internal)?;
    let data = tagged.get("data").cloned().unwrap_or_default();
    Ok((kind.event_type().as_str(), data.to_string()))
}

fn decode_event(kind: &str, data: &str) -> Result<EventKind, StoreError> {
    let data: serde_json::Value = serde_json::from_str(data).map_err(StoreError::internal)?;
    serde_json::from_value(serde_json::json!({ "type": kind, "data": data }))
        .map_err(|e| StoreError::internal(format!("unreadable {kind} event in the database: {e}")))
}

/// Converts every row of a page.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

pub(crate) fn tag_set<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> StoreResult<TagSet> {
    let tags = names
        .into_iter()
        .map(|name| Tag::parse(name.as_ref()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::internal(format!("unreadable tag in the database: {e}")))?;
    Ok(TagSet::from_tags(tags))
}

pub(crate) fn load_ticket(conn: &mut DbConnection, ticket_id: TicketId) -> StoreResult<Ticket> {
    let row: TicketRow = tickets::table
        .find(ticket_id.0)
        .select(TICKET_COLUMNS)
        .first(conn)?;
    row.try_into()
}

/// Reads a ticket and holds it until the transaction ends.
pub(crate) fn lock_ticket(conn: &mut DbConnection, ticket_id: TicketId) -> StoreResult<Ticket> {
    lock_rows(conn, Locked::Tickets, &[ticket_id.0])?;
    load_ticket(conn, ticket_id)
}
