//! Statements of one fixed shape that Diesel's query builder cannot write
//! (a correlated aggregate, a data-modifying `WITH`, a PostgreSQL
//! function call) or would not cache (an `UPDATE`), written here once per
//! engine with a static query id, so that each is prepared once per
//! connection and reused from Diesel's statement cache.
//!
//! Diesel caches a query built with its DSL by its type, but never one
//! from `sql_query` or `sql`, an `UPDATE`, or a multi-row `INSERT` of a
//! `Vec`: those are parsed and planned on every run (SQLite compiles them
//! again, triggers included; PostgreSQL parses and plans them again, in
//! the same single round trip). A type here stands for
//! exactly one SQL text per engine: two statements must never share a
//! type, since the type is the cache's key.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::dsl::SqlTypeOf;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, HasSqlType, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use domain::{TagSet, TicketId, User};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreResult;
use crate::rows::{TICKET_COLUMNS, TicketColumns, USER_COLUMNS, UserColumns, UserRow, tag_set};

/// An account with its session generation and, on the same row, one
/// ticket (`NULL`s when there is no such ticket) with its tags separated
/// by spaces (a tag holds none) and the account that opened it: what
/// reading a ticket with a token needs, in one query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountAndTicket {
    pub account: i64,
    pub ticket: i64,
}

impl QueryId for AccountAndTicket {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for AccountAndTicket {
    type SqlType = (
        SqlTypeOf<UserColumns>,
        BigInt,
        Nullable<SqlTypeOf<TicketColumns>>,
        Nullable<Text>,
        Nullable<SqlTypeOf<UserColumns>>,
    );
}

impl<Conn> RunQueryDsl<Conn> for AccountAndTicket {}

/// [`USER_COLUMNS`] of the account `requesters`, the alias under which a
/// ticket's author is joined beside another account.
const REQUESTER_COLUMNS: &str = "requesters.id, requesters.username, requesters.role, \
     requesters.active, requesters.email, requesters.created_at, requesters.updated_at";

impl AccountAndTicket {
    fn walk<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>, tags: &'static str) -> QueryResult<()>
    where
        DB: Backend + HasSqlType<BigInt>,
        UserColumns: QueryFragment<DB>,
        TicketColumns: QueryFragment<DB>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
    {
        out.push_sql("SELECT ");
        USER_COLUMNS.walk_ast(out.reborrow())?;
        out.push_sql(", users.session_epoch, ");
        TICKET_COLUMNS.walk_ast(out.reborrow())?;
        out.push_sql(", (SELECT ");
        out.push_sql(tags);
        out.push_sql(" FROM ticket_tags WHERE ticket_tags.ticket_id = tickets.id), ");
        out.push_sql(REQUESTER_COLUMNS);
        out.push_sql(" FROM users LEFT JOIN tickets ON tickets.id = ");
        out.push_bind_param::<BigInt, _>(&self.ticket)?;
        out.push_sql(
            " LEFT JOIN users AS requesters ON requesters.id = tickets.author_id \
             WHERE users.id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.account)?;
        Ok(())
    }
}

impl QueryFragment<Sqlite> for AccountAndTicket {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, "group_concat(tag, ' ')")
    }
}

impl QueryFragment<Pg> for AccountAndTicket {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, "string_agg(tag, ' ')")
    }
}

/// What staff see beside a ticket, in one query: the account that opened
/// it and its tags separated by spaces (`NULL`: none). No row when there
/// is no such ticket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequesterAndTags {
    pub ticket: i64,
}

impl QueryId for RequesterAndTags {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RequesterAndTags {
    type SqlType = (SqlTypeOf<UserColumns>, Nullable<Text>);
}

impl<Conn> RunQueryDsl<Conn> for RequesterAndTags {}

impl RequesterAndTags {
    fn walk<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>, tags: &'static str) -> QueryResult<()>
    where
        DB: Backend + HasSqlType<BigInt>,
        UserColumns: QueryFragment<DB>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
    {
        out.push_sql("SELECT ");
        USER_COLUMNS.walk_ast(out.reborrow())?;
        out.push_sql(", (SELECT ");
        out.push_sql(tags);
        out.push_sql(
            " FROM ticket_tags WHERE ticket_tags.ticket_id = tickets.id) \
             FROM tickets INNER JOIN users ON users.id = tickets.author_id \
             WHERE tickets.id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.ticket)?;
        Ok(())
    }
}

impl QueryFragment<Sqlite> for RequesterAndTags {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, "group_concat(tag, ' ')")
    }
}

impl QueryFragment<Pg> for RequesterAndTags {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, "string_agg(tag, ' ')")
    }
}

/// What staff see beside a ticket: the account that opened it, and its
/// tags, in one query.
pub(crate) fn load_requester_and_tags(
    conn: &mut DbConnection,
    ticket_id: TicketId,
) -> StoreResult<(User, TagSet)> {
    let query = RequesterAndTags {
        ticket: ticket_id.0,
    };
    let (user, tags): (UserRow, Option<String>) = on_backend!(conn, |c| query.get_result(c)?);
    Ok((
        user.try_into()?,
        tag_set(tags.as_deref().unwrap_or("").split_whitespace())?,
    ))
}

/// A ticket's search words replaced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplaceWords<'a> {
    pub ticket: i64,
    pub public: &'a str,
    pub notes: &'a str,
}

impl QueryId for ReplaceWords<'_> {
    type QueryId = ReplaceWords<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for ReplaceWords<'_> {}

impl<DB> QueryFragment<DB> for ReplaceWords<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ticket_search_words SET public_words = ");
        out.push_bind_param::<Text, _>(self.public)?;
        out.push_sql(", note_words = ");
        out.push_bind_param::<Text, _>(self.notes)?;
        out.push_sql(" WHERE ticket_id = ");
        out.push_bind_param::<BigInt, _>(&self.ticket)?;
        Ok(())
    }
}

/// A new ticket with its search words and its events, in one PostgreSQL
/// statement (data-modifying `WITH`), which commits or rolls back as a
/// whole on its own: no transaction to begin and commit around it, one
/// round trip. The events keep their order (`WITH ORDINALITY`), as ids.
#[derive(Debug)]
pub(crate) struct OpenTicket<'a> {
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub status: &'a str,
    pub author: i64,
    pub at: NaiveDateTime,
    pub priority: i32,
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
    pub breach: Option<NaiveDateTime>,
    pub public_words: &'a str,
    pub note_words: &'a str,
    pub event_kinds: Vec<&'a str>,
    pub event_actors: Vec<i64>,
    pub event_ats: Vec<NaiveDateTime>,
    pub event_data: Vec<&'a str>,
}

impl QueryId for OpenTicket<'_> {
    type QueryId = OpenTicket<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for OpenTicket<'_> {
    type SqlType = BigInt;
}

impl<Conn> RunQueryDsl<Conn> for OpenTicket<'_> {}

impl QueryFragment<Pg> for OpenTicket<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH ticket AS (INSERT INTO tickets (subject, body, status, author_id, \
             created_at, updated_at, priority, first_response_due_at, resolution_due_at, \
             sla_breach_at) VALUES (",
        );
        out.push_bind_param::<Nullable<Text>, _>(&self.subject)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.body)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.author)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.priority)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.first_response_due)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.resolution_due)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.breach)?;
        out.push_sql(
            ") RETURNING id), \
             words AS (INSERT INTO ticket_search_words (ticket_id, public_words, note_words) \
             SELECT id, ",
        );
        out.push_bind_param::<Text, _>(self.public_words)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.note_words)?;
        out.push_sql(
            " FROM ticket), \
             history AS (INSERT INTO events (ticket_id, kind, actor_id, at, data) \
             SELECT ticket.id, e.kind, e.actor_id, e.at, e.data FROM ticket, unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.event_kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.event_actors)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.event_ats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.event_data)?;
        out.push_sql(
            ") WITH ORDINALITY AS e(kind, actor_id, at, data, n) ORDER BY e.n) \
             SELECT id FROM ticket",
        );
        Ok(())
    }
}
