//! A snapshot of every row a request can change, for tests that prove a
//! refused request changed nothing: take one before, one after, compare.
//!
//! The login-tracking columns of `users` (`failed_logins`, `locked_until`,
//! `device_failed_logins`, `device_locked_until`) are left out: a wrong PIN
//! is refused *and* counted, by design, so that guesses lock the username.
//! Nor are `idempotency_keys`: a refusal's answer is kept there for
//! retries, by design; it is a record of requests, not of the tracker's
//! data.

use chrono::NaiveDateTime;
use diesel::{QueryDsl, Queryable, RunQueryDsl};
use store::schema::{
    events, inbound_messages, outbox, replies, ticket_search_words, ticket_tags, tickets, users,
    webhook_endpoints,
};
use store::test_hooks::{RawConnection, take_connection};
use store::{Store, StoreResult};

/// Every user (but its login-tracking columns), ticket, reply, tag, event,
/// breach time, search word, webhook endpoint and outbox row, in key order. Two fingerprints are equal
/// when the database holds the same data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub users: Vec<UserPrint>,
    pub tickets: Vec<TicketPrint>,
    pub replies: Vec<ReplyPrint>,
    /// `(ticket_id, tag)`.
    pub tags: Vec<(i64, String)>,
    pub events: Vec<EventPrint>,
    /// `(ticket_id, sla_breach_at)`.
    pub breach_times: Vec<(i64, Option<NaiveDateTime>)>,
    /// `(ticket_id, public_words, note_words)`: what search finds.
    pub search_words: Vec<(i64, String, String)>,
    /// `(id, url, description, events, enabled, secret)`.
    pub webhooks: Vec<(i64, String, String, String, bool, String)>,
    /// `(id, channel, recipient, message_id, payload)`: what is to be
    /// delivered (a refused change announces nothing).
    pub outbox: Vec<(i64, String, String, String, String)>,
    /// Inbound mail taken: what became of each message.
    pub inbound: Vec<InboundPrint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct InboundPrint {
    pub id: i64,
    pub message_key: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub ticket_id: Option<i64>,
    pub reply_id: Option<i64>,
    pub dismissed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct UserPrint {
    pub id: i64,
    pub username: String,
    pub pin_hash: String,
    pub role: String,
    pub active: bool,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns the store reads a ticket with, in its order.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct TicketPrint {
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

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ReplyPrint {
    pub id: i64,
    pub ticket_id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub internal: bool,
}

/// The columns the store reads an event with, in its order.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct EventPrint {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub at: NaiveDateTime,
    pub data: String,
}

/// The queries of [`fingerprint`], written once for both backends' Diesel
/// connections.
macro_rules! read_tables {
    ($conn:ident) => {
        (|| -> diesel::QueryResult<Fingerprint> {
            let users = users::table
                .select((
                    users::id,
                    users::username,
                    users::pin_hash,
                    users::role,
                    users::active,
                    users::session_epoch,
                    users::created_at,
                    users::updated_at,
                ))
                .order_by(users::id)
                .load($conn)?;
            let tickets = tickets::table
                .select((
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
                ))
                .order_by(tickets::id)
                .load($conn)?;
            let replies = replies::table
                .select((
                    replies::id,
                    replies::ticket_id,
                    replies::author_id,
                    replies::body,
                    replies::created_at,
                    replies::updated_at,
                    replies::internal,
                ))
                .order_by(replies::id)
                .load($conn)?;
            let tags = ticket_tags::table
                .select((ticket_tags::ticket_id, ticket_tags::tag))
                .order_by((ticket_tags::ticket_id, ticket_tags::tag))
                .load($conn)?;
            let events = events::table
                .select((
                    events::id,
                    events::ticket_id,
                    events::kind,
                    events::actor_id,
                    events::at,
                    events::data,
                ))
                .order_by(events::id)
                .load($conn)?;
            let breach_times = tickets::table
                .select((tickets::id, tickets::sla_breach_at))
                .order_by(tickets::id)
                .load($conn)?;
            let search_words = ticket_search_words::table
                .select((
                    ticket_search_words::ticket_id,
                    ticket_search_words::public_words,
                    ticket_search_words::note_words,
                ))
                .order_by(ticket_search_words::ticket_id)
                .load($conn)?;
            let webhooks = webhook_endpoints::table
                .select((
                    webhook_endpoints::id,
                    webhook_endpoints::url,
                    webhook_endpoints::description,
                    webhook_endpoints::events,
                    webhook_endpoints::enabled,
                    webhook_endpoints::secret,
                ))
                .order_by(webhook_endpoints::id)
                .load($conn)?;
            let outbox = outbox::table
                .select((
                    outbox::id,
                    outbox::channel,
                    outbox::recipient,
                    outbox::message_id,
                    outbox::payload,
                ))
                .order_by(outbox::id)
                .load($conn)?;
            let inbound = inbound_messages::table
                .select((
                    inbound_messages::id,
                    inbound_messages::message_key,
                    inbound_messages::outcome,
                    inbound_messages::reason,
                    inbound_messages::ticket_id,
                    inbound_messages::reply_id,
                    inbound_messages::dismissed_at,
                ))
                .order_by(inbound_messages::id)
                .load($conn)?;
            Ok(Fingerprint {
                inbound,
                webhooks,
                outbox,
                users,
                tickets,
                replies,
                tags,
                events,
                breach_times,
                search_words,
            })
        })()
    };
}

/// Reads the tables whole, on one connection of the store's pool, in key
/// order (the same order on both backends).
pub fn fingerprint(store: &Store) -> StoreResult<Fingerprint> {
    let mut pooled = take_connection(store)?;
    let read = match pooled.raw() {
        RawConnection::Pg(conn) => read_tables!(conn),
        RawConnection::Sqlite(conn) => read_tables!(conn),
    };
    Ok(read?)
}
