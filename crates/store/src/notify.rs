//! Notifications by mail, as stored: each account's preferences, the mail
//! a ticket's change queues in its own transaction (who is told what is
//! `domain::notify`'s to decide), a one-click unsubscribe, and the sweep
//! that tells of missed SLA targets once.

use diesel::prelude::*;
use domain::notify::{
    Candidate, Change, ChangeFacts, MissedTarget, Preferences, TicketPeople, compose,
    decide_recipients, needs_watchers, people_named, tells_anyone,
};
use domain::{
    Actor, EmailAddress, Event, EventKind, NotificationKind, OutgoingMail, Refusal, Role, Ticket,
    TicketId, UserId,
};

use crate::connection::{DbConnection, Locked, lock_rows};
use crate::error::StoreResult;
use crate::mail::queue_mail;
use crate::rows::{TICKET_COLUMNS, TicketRow, load_ticket, parse};
use crate::schema::{notification_preferences as prefs, replies, tickets, users};
use crate::{Store, now};

/// The seven preference columns, in `NotificationKind::ALL`'s order.
type PreferenceRow = (bool, bool, bool, bool, bool, bool, bool);

const PREFERENCE_COLUMNS: (
    prefs::ticket_created,
    prefs::public_reply,
    prefs::customer_reply,
    prefs::internal_note,
    prefs::status_changed,
    prefs::assigned,
    prefs::sla_breached,
) = (
    prefs::ticket_created,
    prefs::public_reply,
    prefs::customer_reply,
    prefs::internal_note,
    prefs::status_changed,
    prefs::assigned,
    prefs::sla_breached,
);

fn preferences(role: Role, row: Option<PreferenceRow>) -> Preferences {
    let Some((a, b, c, d, e, f, g)) = row else {
        return Preferences::defaults(role);
    };
    let mut preferences = Preferences::NONE;
    for (kind, on) in NotificationKind::ALL.into_iter().zip([a, b, c, d, e, f, g]) {
        preferences.set(kind, on);
    }
    preferences
}

fn preference_row(preferences: Preferences) -> PreferenceRow {
    let on = |kind| preferences.is_on(kind);
    (
        on(NotificationKind::TicketCreated),
        on(NotificationKind::PublicReply),
        on(NotificationKind::CustomerReply),
        on(NotificationKind::InternalNote),
        on(NotificationKind::StatusChanged),
        on(NotificationKind::Assigned),
        on(NotificationKind::SlaBreached),
    )
}

type CandidateRow = (
    i64,
    String,
    String,
    bool,
    Option<String>,
    Option<PreferenceRow>,
);

fn candidate(row: CandidateRow) -> StoreResult<Candidate> {
    let (id, username, role, active, email, row) = row;
    let role = parse::<Role>(&role, "role")?;
    Ok(Candidate {
        id: UserId(id),
        username,
        role,
        active,
        // An address the database cannot read is no address to send to.
        email: email.and_then(|email| EmailAddress::parse(email).ok()),
        preferences: preferences(role, row),
    })
}

/// The accounts `ids`, as candidates: one query.
fn load_candidates(conn: &mut DbConnection, ids: &[i64]) -> StoreResult<Vec<Candidate>> {
    let rows: Vec<CandidateRow> = users::table
        .left_join(prefs::table)
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::username,
            users::role,
            users::active,
            users::email,
            PREFERENCE_COLUMNS.nullable(),
        ))
        .load(conn)?;
    rows.into_iter().map(candidate).collect()
}

/// The active staff with an address who are told of new tickets (their
/// own choice, or an agent's default): one query.
fn load_watchers(conn: &mut DbConnection) -> StoreResult<Vec<Candidate>> {
    let rows: Vec<CandidateRow> = users::table
        .left_join(prefs::table)
        .filter(users::role.ne(Role::Customer.as_str()))
        .filter(users::active.eq(true))
        .filter(users::email.is_not_null())
        .filter(
            prefs::ticket_created.nullable().eq(true).or(prefs::user_id
                .nullable()
                .is_null()
                .and(users::role.eq(Role::SupportAgent.as_str()))),
        )
        .select((
            users::id,
            users::username,
            users::role,
            users::active,
            users::email,
            PREFERENCE_COLUMNS.nullable(),
        ))
        .load(conn)?;
    rows.into_iter().map(candidate).collect()
}

/// Decides who is told of `change` to `ticket` (as it is after it) and
/// queues their mail, in the caller's transaction.
fn tell(
    conn: &mut DbConnection,
    change: Change<'_>,
    ticket: &Ticket,
    by: Option<UserId>,
    facts: impl FnOnce(&mut DbConnection, Option<String>) -> StoreResult<ChangeFacts>,
    watchers: &mut Option<Vec<Candidate>>,
) -> StoreResult<()> {
    let people = TicketPeople::of(ticket);
    let mut ids: Vec<i64> = people_named(change, people)
        .into_iter()
        .map(|id| id.0)
        .collect();
    ids.extend(by.map(|id| id.0));
    let mut candidates = load_candidates(conn, &ids)?;
    if needs_watchers(change, people) {
        if watchers.is_none() {
            *watchers = Some(load_watchers(conn)?);
        }
        candidates.extend(watchers.iter().flatten().cloned());
    }
    let told = decide_recipients(change, people, &candidates);
    if told.is_empty() {
        return Ok(());
    }
    let by_name = by.and_then(|id| {
        candidates
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.username.clone())
    });
    let facts = facts(conn, by_name)?;
    let mails: Vec<(EmailAddress, OutgoingMail)> = told
        .into_iter()
        .filter_map(|(id, kind)| {
            let recipient = candidates.iter().find(|c| c.id == id)?;
            let mail = compose(recipient, kind, ticket, &facts);
            Some((recipient.email.clone()?, OutgoingMail::Notification(mail)))
        })
        .collect();
    let queued: Vec<(&EmailAddress, &OutgoingMail)> =
        mails.iter().map(|(to, mail)| (to, mail)).collect();
    queue_mail(conn, &queued)
}

/// Queues the mail a ticket's just-recorded `events`, made by `actor`,
/// cause (when the store sends mail), in the transaction that recorded
/// them: the ticket as it is now, its people and, only when the change
/// tells them, the staff who watch new tickets, each read in one query.
/// `written` is the text of the reply or note the change wrote, if the
/// caller has it (else it is read, when someone is told).
pub(crate) fn notify_ticket_events(
    conn: &mut DbConnection,
    actor: Actor,
    ticket_id: TicketId,
    events: &[Event],
    written: Option<&str>,
) -> StoreResult<()> {
    let kinds: Vec<EventKind> = events.iter().map(|event| event.kind.clone()).collect();
    if !tells_anyone(&kinds) {
        return Ok(());
    }
    let ticket = load_ticket(conn, ticket_id)?;
    let at = events.first().map(|event| event.at).unwrap_or_else(now);
    let change = Change::Events {
        actor,
        events: &kinds,
    };
    let facts = |conn: &mut DbConnection, by: Option<String>| {
        let reply = kinds.iter().find_map(|kind| match kind {
            EventKind::Replied { reply_id } => Some((*reply_id, false)),
            EventKind::Noted { reply_id } => Some((*reply_id, true)),
            _ => None,
        });
        let text = match (reply, written) {
            (Some(_), Some(text)) => Some(text.to_owned()),
            (None, _) => None,
            (Some((reply_id, _)), None) => Some(
                replies::table
                    .find(reply_id)
                    .select(replies::body)
                    .first::<String>(conn)?,
            ),
        };
        let status_before = kinds.iter().find_map(|kind| match kind {
            EventKind::StatusChanged { from, .. } => Some(*from),
            _ => None,
        });
        Ok(ChangeFacts {
            by: by.map(|name| (actor.id(), name)),
            text,
            text_is_note: reply.is_some_and(|(_, note)| note),
            status_before,
            missed: None,
            at,
        })
    };
    tell(conn, change, &ticket, Some(actor.id()), facts, &mut None)
}

/// How many tickets one transaction of the SLA sweep notices at most.
pub const SLA_SWEEP_BATCH: i64 = 100;

impl Store {
    /// The kinds of notification `actor` can get, each with whether it is
    /// on.
    pub fn notification_preferences(
        &self,
        actor: Actor,
    ) -> StoreResult<Vec<(NotificationKind, bool)>> {
        let conn = &mut *self.conn()?;
        let row: Option<PreferenceRow> = prefs::table
            .find(actor.id().0)
            .select(PREFERENCE_COLUMNS)
            .first(conn)
            .optional()?;
        Ok(preferences(actor.role(), row).shown(actor.role()))
    }

    /// Turns `changes` on or off for `actor`, leaving the other kinds as
    /// they are; a kind their role is never told of is refused (400).
    pub fn change_notification_preferences(
        &self,
        actor: Actor,
        changes: &[(NotificationKind, bool)],
    ) -> StoreResult<Vec<(NotificationKind, bool)>> {
        let role = actor.role();
        self.write(|conn| {
            let current = lock_preferences(conn, actor.id(), role)?;
            let next = current.changed(role, changes).map_err(|_| {
                Refusal::Invalid(
                    "a customer's notifications are ticketCreated, publicReply and statusChanged",
                )
            })?;
            store_preferences(conn, actor.id(), next)?;
            Ok(next.shown(role))
        })
    }

    /// Turns `kind` off for the account `user`, as its one-click
    /// unsubscribe link asks: the link's signed token is the authority
    /// (`edge::keys`), so this takes no signed-in actor. An account that
    /// is gone is not found.
    pub fn unsubscribe(&self, user: UserId, kind: NotificationKind) -> StoreResult<()> {
        self.write(|conn| {
            let role: Option<String> = users::table
                .find(user.0)
                .select(users::role)
                .first(conn)
                .optional()?;
            let role = parse::<Role>(&role.ok_or(Refusal::NotFound)?, "role")?;
            let mut next = lock_preferences(conn, user, role)?;
            next.set(kind, false);
            store_preferences(conn, user, next)
        })
    }

    /// Notices the tickets whose first response or resolution is overdue
    /// and not yet noticed: marks them noticed and (when the store sends
    /// mail) queues their notices, [`SLA_SWEEP_BATCH`] tickets a
    /// transaction. On PostgreSQL the tickets another process is noticing
    /// are passed over (`SKIP LOCKED`), and a ticket once marked is never
    /// taken again, so several processes never tell of one miss twice.
    /// Answers how many misses it noticed.
    pub fn notice_sla_breaches(&self) -> StoreResult<usize> {
        let mut noticed = 0;
        for target in [MissedTarget::FirstResponse, MissedTarget::Resolution] {
            // A read first: a sweep that finds nothing takes no write
            // lock (on SQLite, the one writer's).
            if !any_unnoticed(&mut *self.conn()?, target)? {
                continue;
            }
            loop {
                let batch = self.write(|conn| self.notice_batch(conn, target))?;
                noticed += batch;
                if i64::try_from(batch).unwrap_or(i64::MAX) < SLA_SWEEP_BATCH {
                    break;
                }
            }
        }
        Ok(noticed)
    }

    fn notice_batch(&self, conn: &mut DbConnection, target: MissedTarget) -> StoreResult<usize> {
        let now = now();
        let at = now.naive_utc();
        let rows: Vec<TicketRow> = match target {
            MissedTarget::FirstResponse => {
                let query = tickets::table
                    .filter(tickets::first_response_breach_noticed_at.is_null())
                    .filter(tickets::first_response_at.is_null())
                    .filter(tickets::resolved_at.is_null())
                    .filter(tickets::first_response_due_at.lt(at))
                    .order_by((tickets::first_response_due_at, tickets::id))
                    .limit(SLA_SWEEP_BATCH)
                    .select(TICKET_COLUMNS);
                match conn {
                    DbConnection::Pg(pg) => query.for_update().skip_locked().load(pg)?,
                    DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
                }
            }
            MissedTarget::Resolution => {
                let query = tickets::table
                    .filter(tickets::resolution_breach_noticed_at.is_null())
                    .filter(tickets::resolved_at.is_null())
                    .filter(tickets::resolution_due_at.lt(at))
                    .order_by((tickets::resolution_due_at, tickets::id))
                    .limit(SLA_SWEEP_BATCH)
                    .select(TICKET_COLUMNS);
                match conn {
                    DbConnection::Pg(pg) => query.for_update().skip_locked().load(pg)?,
                    DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
                }
            }
        };
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let marked = tickets::table.filter(tickets::id.eq_any(&ids));
        match target {
            MissedTarget::FirstResponse => diesel::update(marked)
                .set(tickets::first_response_breach_noticed_at.eq(Some(at)))
                .execute(conn)?,
            MissedTarget::Resolution => diesel::update(marked)
                .set(tickets::resolution_breach_noticed_at.eq(Some(at)))
                .execute(conn)?,
        };
        if self.sends_mail {
            let mut watchers = None;
            for row in rows {
                let ticket: Ticket = row.try_into()?;
                let due = match target {
                    MissedTarget::FirstResponse => ticket.due.first_response,
                    MissedTarget::Resolution => ticket.due.resolution,
                };
                let facts = move |_: &mut DbConnection, _: Option<String>| {
                    Ok(ChangeFacts {
                        by: None,
                        text: None,
                        text_is_note: false,
                        status_before: None,
                        missed: Some((target, due)),
                        at: now,
                    })
                };
                tell(
                    conn,
                    Change::SlaBreached,
                    &ticket,
                    None,
                    facts,
                    &mut watchers,
                )?;
            }
        }
        Ok(ids.len())
    }
}

/// Whether a miss of `target` waits to be noticed.
fn any_unnoticed(conn: &mut DbConnection, target: MissedTarget) -> StoreResult<bool> {
    let at = now().naive_utc();
    let found: Option<i64> = match target {
        MissedTarget::FirstResponse => tickets::table
            .filter(tickets::first_response_breach_noticed_at.is_null())
            .filter(tickets::first_response_at.is_null())
            .filter(tickets::resolved_at.is_null())
            .filter(tickets::first_response_due_at.lt(at))
            .select(tickets::id)
            .first(conn)
            .optional()?,
        MissedTarget::Resolution => tickets::table
            .filter(tickets::resolution_breach_noticed_at.is_null())
            .filter(tickets::resolved_at.is_null())
            .filter(tickets::resolution_due_at.lt(at))
            .select(tickets::id)
            .first(conn)
            .optional()?,
    };
    Ok(found.is_some())
}

/// The account's preferences, its row (if it has one) held until the
/// transaction ends: the account's row is locked first, so two changes
/// of one account's preferences take turns and the first writes the row.
fn lock_preferences(conn: &mut DbConnection, user: UserId, role: Role) -> StoreResult<Preferences> {
    lock_rows(conn, Locked::Users, &[user.0])?;
    let row: Option<PreferenceRow> = prefs::table
        .find(user.0)
        .select(PREFERENCE_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(preferences(role, row))
}

fn store_preferences(
    conn: &mut DbConnection,
    user: UserId,
    preferences: Preferences,
) -> StoreResult<()> {
    let (a, b, c, d, e, f, g) = preference_row(preferences);
    let values = (
        prefs::ticket_created.eq(a),
        prefs::public_reply.eq(b),
        prefs::customer_reply.eq(c),
        prefs::internal_note.eq(d),
        prefs::status_changed.eq(e),
        prefs::assigned.eq(f),
        prefs::sla_breached.eq(g),
    );
    let updated = diesel::update(prefs::table.find(user.0))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(prefs::table)
            .values((prefs::user_id.eq(user.0), values))
            .execute(conn)?;
    }
    Ok(())
}
