//! Inbound mail: taking one message, whichever door it came by, in one
//! transaction: its record first (so the same message taken twice at once,
//! by two doors or processes, waits on the first and then changes nothing),
//! then what `domain::inbound` decides, through the same writes as the API.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use domain::inbound::{
    InboundMail, Known, Outcome, Sender, decide_inbound, new_customer_actor, usernames_for,
};
use domain::tickets::{ReplyKind, decide_new_ticket};
use domain::{Refusal, ReplyBody, Role, Subject, TicketBody, TicketId, User, UserId, WebhookEvent};

use crate::connection::{DbConnection, Locked, lock_rows, on_backend};
use crate::error::{StoreError, StoreResult};
use crate::originals::write_original;
use crate::rows::{TICKET_COLUMNS, TicketRow, USER_COLUMNS, UserRow};
use crate::schema::{inbound_messages, tickets, users};
use crate::tickets::{NewTicket, insert_ticket_row};
use crate::users::insert_user;
use crate::webhooks::announce_user;
use crate::{Store, now};

/// What became of a message taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// `created`, `appended`, `held`, `duplicate` or `ignored`.
    pub outcome: &'static str,
    /// The ticket it made, was added to, or was held for (a duplicate: the
    /// first taking's).
    pub ticket_id: Option<TicketId>,
    /// The record's id when it was held (the held message's id).
    pub held_id: Option<i64>,
    /// The reply it became.
    pub reply_id: Option<i64>,
}

/// A ticket made from mail has no PIN: the account cannot sign in until it
/// sets one by a PIN reset. No PHC string is empty, so none matches it.
const NO_PIN: &str = "";

impl Store {
    /// Takes one inbound message: records it with its `original` bytes and
    /// acts on it as `domain::inbound` decides, all in one transaction.
    /// `sender_limit` is the messages an address may send an hour.
    pub fn take_inbound_mail(
        &self,
        mail: &InboundMail,
        original: &[u8],
        sender_limit: u32,
    ) -> StoreResult<Taken> {
        let taken = self.write(|conn| {
            let at = now();
            let Some(record) = insert_record(conn, mail, at.naive_utc())? else {
                return duplicate_of(conn, &mail.message_key);
            };
            let known = Known {
                already_taken: false,
                sender: sender_account(conn, mail)?,
                sent_last_hour: sent_since(conn, mail, record, at.naive_utc())?,
                sender_limit,
                tickets: lock_candidates(conn, &mail.candidate_tickets())?,
            };
            let outcome = decide_inbound(mail, &known, at);
            let sender = known.sender.map(|user| user.id);
            self.act_on(conn, mail, record, original, sender, outcome)
        });
        // Two messages from one new address at once: the second meets the
        // first's account; taking it again finds the account.
        match taken {
            Err(StoreError::Refused(Refusal::Conflict(_))) => Err(StoreError::Unavailable(
                "another message made this sender's account at the same moment; try again".into(),
            )),
            other => other,
        }
    }

    fn act_on(
        &self,
        conn: &mut DbConnection,
        mail: &InboundMail,
        record: i64,
        original: &[u8],
        sender: Option<UserId>,
        outcome: Outcome,
    ) -> StoreResult<Taken> {
        let word = outcome.as_str();
        let mut taken = Taken {
            outcome: word,
            ticket_id: None,
            held_id: None,
            reply_id: None,
        };
        // A new customer made below replaces `None`.
        let mut sender = sender;
        let mut reason = None;
        match outcome {
            Outcome::Duplicate => return duplicate_of(conn, &mail.message_key),
            Outcome::Ignored(why) => reason = Some(why.reason().to_owned()),
            Outcome::Held {
                reason: why,
                ticket,
            } => {
                reason = Some(why.into_owned());
                taken.ticket_id = ticket;
                taken.held_id = Some(record);
            }
            Outcome::Append { ticket, author } => {
                let body = ReplyBody::parse(mail.body(true)).map_err(StoreError::internal)?;
                let reply = self.write_reply(conn, author, ticket, &body, ReplyKind::Public)?;
                taken.ticket_id = Some(ticket);
                taken.reply_id = Some(reply.id);
            }
            Outcome::Create {
                author,
                follow_up_of,
            } => {
                let actor = match author {
                    Sender::Account(actor) => actor,
                    Sender::NewCustomer(address) => {
                        new_customer_actor(&make_customer(conn, &address)?)
                    }
                };
                let new = NewTicket {
                    subject: Some(
                        Subject::parse(mail.ticket_subject()).map_err(StoreError::internal)?,
                    ),
                    body: TicketBody::parse(mail.body(follow_up_of.is_some()))
                        .map_err(StoreError::internal)?,
                };
                let opening = decide_new_ticket(actor, &self.sla, now())?;
                let id =
                    insert_ticket_row(conn, actor, &new, &opening, follow_up_of, self.sends_mail)?;
                sender = Some(actor.id());
                taken.ticket_id = Some(TicketId(id));
            }
        }
        diesel::update(inbound_messages::table.find(record))
            .set((
                inbound_messages::outcome.eq(word),
                inbound_messages::reason.eq(reason),
                inbound_messages::sender_id.eq(sender.map(|id| id.0)),
                inbound_messages::ticket_id.eq(taken.ticket_id.map(|id| id.0)),
                inbound_messages::reply_id.eq(taken.reply_id),
            ))
            .execute(conn)?;
        write_original(conn, record, original)?;
        Ok(taken)
    }
}

/// Writes the message's record, unless one with its key exists (then
/// `None`). On PostgreSQL a concurrent taking of the same key waits here
/// for the first to commit, then finds it. The original is written
/// apart, in parts ([`write_original`]).
fn insert_record(
    conn: &mut DbConnection,
    mail: &InboundMail,
    at: NaiveDateTime,
) -> StoreResult<Option<i64>> {
    let body = mail.body(false);
    let insert = diesel::insert_into(inbound_messages::table)
        .values((
            inbound_messages::message_key.eq(&mail.message_key),
            inbound_messages::received_at.eq(at),
            inbound_messages::sender_address.eq(mail.from.as_str()),
            inbound_messages::subject.eq(mail.record_subject()),
            inbound_messages::body.eq(body),
            // Until it is decided, below, in the same transaction.
            inbound_messages::outcome.eq(Outcome::HELD),
        ))
        .on_conflict(inbound_messages::message_key)
        .do_nothing()
        .returning(inbound_messages::id);
    Ok(on_backend!(conn, |c| insert.get_result(c).optional()?))
}

/// The answer for a message taken before: the first taking's ticket.
fn duplicate_of(conn: &mut DbConnection, key: &str) -> StoreResult<Taken> {
    let ticket: Option<i64> = inbound_messages::table
        .filter(inbound_messages::message_key.eq(key))
        .select(inbound_messages::ticket_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten();
    Ok(Taken {
        outcome: Outcome::Duplicate.as_str(),
        ticket_id: ticket.map(TicketId),
        held_id: None,
        reply_id: None,
    })
}

/// The account with the sender's address, held until the transaction ends.
fn sender_account(conn: &mut DbConnection, mail: &InboundMail) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = users::table
        .filter(users::email.eq(mail.from.as_str()))
        .select(USER_COLUMNS)
        .first(conn)
        .optional()?;
    match row {
        Some(row) => {
            lock_rows(conn, Locked::Users, &[row.id])?;
            Ok(Some(row.try_into()?))
        }
        None => Ok(None),
    }
}

/// Messages from the sender's address taken in the hour before `at`
/// (this one's record, `record`, not counted).
fn sent_since(
    conn: &mut DbConnection,
    mail: &InboundMail,
    record: i64,
    at: NaiveDateTime,
) -> StoreResult<u32> {
    let count: i64 = inbound_messages::table
        .filter(inbound_messages::sender_address.eq(mail.from.as_str()))
        .filter(inbound_messages::received_at.gt(at - TimeDelta::hours(1)))
        .filter(inbound_messages::id.ne(record))
        .count()
        .get_result(conn)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Those of `ids` that exist, locked until the transaction ends.
fn lock_candidates(conn: &mut DbConnection, ids: &[TicketId]) -> StoreResult<Vec<domain::Ticket>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
    lock_rows(conn, Locked::Tickets, &raw)?;
    let rows: Vec<TicketRow> = tickets::table
        .filter(tickets::id.eq_any(&raw))
        .select(TICKET_COLUMNS)
        .load(conn)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// A CUSTOMER account for an address no account has: no PIN (a PIN reset
/// gives it one), the first free username made from the address.
fn make_customer(conn: &mut DbConnection, address: &domain::EmailAddress) -> StoreResult<User> {
    let username = usernames_for(address)
        .take(1000)
        .find(|name| {
            users::table
                .filter(users::username.eq(name.as_str()))
                .select(users::id)
                .first::<i64>(conn)
                .optional()
                .is_ok_and(|found| found.is_none())
        })
        .ok_or_else(|| StoreError::internal("no free username for a new customer"))?;
    let user = insert_user(conn, &username, NO_PIN, Role::Customer, Some(address))?;
    announce_user(conn, WebhookEvent::UserCreated, &user)?;
    Ok(user)
}
