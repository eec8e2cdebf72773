//! Row structs as the database returns them, and their conversion into
//! `domain` records.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Queryable;
use domain::{Reply, Role, Ticket, TicketStatus, User, UserId};

use crate::error::StoreError;
use crate::schema::{replies, tickets, users};

/// Declares a column tuple's type and value from one list.
macro_rules! columns {
    ($name:ident: $ty:ident = ($($column:path),* $(,)?)) => {
        pub(crate) type $ty = ($($column,)*);
        pub(crate) const $name: $ty = ($($column,)*);
    };
}

pub(crate) fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::internal(format!("unknown {what} {text:?} in the database")))
}

columns!(USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::role,
    users::active,
    users::created_at,
    users::updated_at,
));

#[derive(Debug, Queryable)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub active: bool,
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
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;

    fn try_from(row: TicketRow) -> Result<Self, Self::Error> {
        Ok(Ticket {
            id: row.id,
            subject: row.subject,
            body: row.body,
            status: parse::<TicketStatus>(&row.status, "status")?,
            author: UserId(row.author_id),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            resolved_at: row.resolved_at.map(utc),
        })
    }
}

columns!(REPLY_COLUMNS: ReplyColumns = (
    replies::id,
    replies::ticket_id,
    replies::body,
    replies::author_id,
    users::role,
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
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TryFrom<ReplyRow> for Reply {
    type Error = StoreError;

    fn try_from(row: ReplyRow) -> Result<Self, Self::Error> {
        Ok(Reply {
            id: row.id,
            ticket_id: row.ticket_id,
            body: row.body,
            author: UserId(row.author_id),
            author_role: parse::<Role>(&row.author_role, "role")?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// How many rows come before `page`, as SQL's OFFSET takes it.
pub(crate) fn page_offset(page: domain::PageRequest) -> i64 {
    i64::try_from(page.offset()).unwrap_or(i64::MAX)
}

/// A `COUNT(*)` result as the page's total.
pub(crate) fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// Converts every row of a page.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
