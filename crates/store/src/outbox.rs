//! The transactional outbox: things to deliver, of any channel (webhooks
//! now, mail next), each "a channel, a payload, a schedule". A change
//! writes its rows in its own transaction ([`enqueue`]); a worker claims
//! due rows with a lease ([`Store::claim_outbox`]: `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so several processes never claim one row; on
//! SQLite inside the one writer's transaction), delivers outside any
//! transaction, and records the attempt, which either finishes the row or
//! schedules the next try ([`finish_attempt`]). A worker that died after
//! sending but before recording leaves its lease to expire: the row is
//! claimed and sent again, with the same message id.

use std::cell::Cell;
use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use domain::RetrySchedule;
use rand::Rng as _;

use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::rows::utc;
use crate::schema::{outbox, outbox_attempts};
use crate::{Store, now};

/// The states of an outbox row.
pub(crate) const PENDING: &str = "pending";
pub(crate) const DELIVERED: &str = "delivered";

/// How long a delivered or failed row (and its attempts) is kept, as the
/// delivery log, before the server's sweep deletes it.
pub const FINISHED_KEPT_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);
pub(crate) const FAILED: &str = "failed";

/// A message's id, as its receiver sees it: `msg_` and 32 hex digits,
/// random; the same on every attempt and redelivery.
pub(crate) fn new_message_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// One row to deliver, as a change writes it.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage<'a> {
    pub channel: &'a str,
    pub recipient: String,
    pub message_id: &'a str,
    pub payload: &'a str,
}

/// The channels a write queued messages on, as bits: each channel's
/// worker is woken on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Queued(u8);

impl Queued {
    const MAIL: u8 = 1;
    const OTHER: u8 = 2;

    fn on(channel: &str) -> Self {
        Self(match channel == crate::MAIL_CHANNEL {
            true => Self::MAIL,
            false => Self::OTHER,
        })
    }

    pub(crate) fn mail(self) -> bool {
        self.0 & Self::MAIL != 0
    }

    pub(crate) fn other(self) -> bool {
        self.0 & Self::OTHER != 0
    }
}

thread_local! {
    /// The channels the write transaction running on this thread queued
    /// messages on: [`take_queued`] tells `Store::write`, which wakes this
    /// process's workers of those channels once the transaction has
    /// committed (before it, they would find nothing).
    static QUEUED_IN_THIS_WRITE: Cell<Queued> = const { Cell::new(Queued(0)) };
}

/// The channels the write that just ended on this thread queued messages
/// on; clears the mark.
pub(crate) fn take_queued() -> Queued {
    QUEUED_IN_THIS_WRITE.replace(Queued(0))
}

/// Marks that the running write queued a message on `channel`: its
/// worker is woken once the write has committed.
pub(crate) fn mark_queued(channel: &str) {
    QUEUED_IN_THIS_WRITE.set(Queued(QUEUED_IN_THIS_WRITE.get().0 | Queued::on(channel).0));
}

/// Writes `messages`, due now, in the caller's transaction.
pub(crate) fn enqueue(conn: &mut DbConnection, messages: &[NewMessage<'_>]) -> StoreResult<()> {
    let at = now().naive_utc();
    for message in messages {
        QUEUED_IN_THIS_WRITE.set(Queued(
            QUEUED_IN_THIS_WRITE.get().0 | Queued::on(message.channel).0,
        ));
        diesel::insert_into(outbox::table)
            .values((
                outbox::channel.eq(message.channel),
                outbox::recipient.eq(&message.recipient),
                outbox::message_id.eq(message.message_id),
                outbox::payload.eq(message.payload),
                outbox::state.eq(PENDING),
                outbox::attempts.eq(0),
                outbox::due_at.eq(at),
                outbox::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A row a worker holds until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub id: i64,
    pub recipient: String,
    pub message_id: String,
    pub payload: String,
    /// This attempt's number, from 1; also the claim's proof when it is
    /// recorded (a row claimed again since has a higher one).
    pub attempt: i32,
    pub created_at: DateTime<Utc>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    pub duration: Duration,
    /// The answer's status, if one came.
    pub status_code: Option<u16>,
    /// What went wrong, if anything did.
    pub error: Option<String>,
    /// The first KiB of the answer.
    pub response: Option<String>,
    pub succeeded: bool,
    /// A failure no later attempt can mend (an SMTP 5xx for the
    /// recipient): the row fails at once, whatever the schedule has left.
    pub permanent: bool,
}

/// What recording an attempt did to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; tried again at this time.
    Retrying(DateTime<Utc>),
    /// Failed, and no attempt is left.
    Failed,
    /// The row was claimed again meanwhile (this worker's lease ran out) or
    /// deleted: the attempt is logged if the row is there, the row left
    /// alone.
    Stale,
}

/// Pending rows and how long the oldest has waited, of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStats {
    pub channel: String,
    pub pending: u64,
    pub oldest_pending_age: Duration,
}

type ClaimRow = (i64, String, String, String, i32, chrono::NaiveDateTime);

/// Whether `channel` delivers to each recipient one message at a time:
/// webhooks do (an endpoint gets its events in order, and a slow one holds
/// one worker's place, not all); mail does not (a mail server takes
/// several at once, SMTP promises no order, and one address's backlog
/// would otherwise go out one round trip at a time).
pub fn serialises_recipients(channel: &str) -> bool {
    channel != crate::MAIL_CHANNEL
}

/// In the caller's write transaction: claims up to `limit` due rows of
/// `channel` (only `recipient`'s, if given) until `lease_end`, none of the
/// recipients in `busy` and, on a channel that [`serialises_recipients`],
/// at most one per recipient, reading at most `candidates` rows in due
/// order. Each claim counts as an attempt.
pub(crate) fn claim_due(
    conn: &mut DbConnection,
    channel: &str,
    recipient: Option<&str>,
    candidates: i64,
    limit: usize,
    lease_end: DateTime<Utc>,
    busy: &HashSet<String>,
) -> StoreResult<Vec<ClaimedMessage>> {
    let now_naive = now().naive_utc();
    // One statement for both (so it is prepared once): "this recipient, or
    // any" as a bound flag.
    let (only, any_recipient) = match recipient {
        Some(recipient) => (recipient, false),
        None => ("", true),
    };
    let due = outbox::table
        .filter(outbox::state.eq(PENDING))
        .filter(outbox::channel.eq(channel))
        .filter(outbox::due_at.le(now_naive))
        .filter(
            outbox::leased_until
                .is_null()
                .or(outbox::leased_until.le(now_naive)),
        )
        .filter(
            outbox::recipient
                .eq(only)
                .or(any_recipient.into_sql::<diesel::sql_types::Bool>()),
        )
        .order_by((outbox::due_at.asc(), outbox::id.asc()))
        .limit(candidates)
        .select((
            outbox::id,
            outbox::recipient,
            outbox::message_id,
            outbox::payload,
            outbox::attempts,
            outbox::created_at,
        ));
    let rows: Vec<ClaimRow> = match conn {
        // Rows another process is claiming right now are passed over, not
        // waited for.
        DbConnection::Pg(pg) => due.for_update().skip_locked().load(pg)?,
        // The write transaction holds the whole database.
        DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
    };
    let one_per_recipient = serialises_recipients(channel);
    let mut taken: HashSet<String> = busy.clone();
    let mut claimed = Vec::new();
    for (id, recipient, message_id, payload, attempts, created_at) in rows {
        if claimed.len() == limit || (one_per_recipient && !taken.insert(recipient.clone())) {
            continue;
        }
        let attempt = attempts + 1;
        diesel::update(outbox::table.find(id))
            .set((
                outbox::attempts.eq(attempt),
                outbox::leased_until.eq(lease_end.naive_utc()),
            ))
            .execute(conn)?;
        claimed.push(ClaimedMessage {
            id,
            recipient,
            message_id,
            payload,
            attempt,
            created_at: utc(created_at),
        });
    }
    Ok(claimed)
}

/// In the caller's write transaction, after an attempt at `claimed` was
/// recorded as `outcome`: when it was delivered, its recipient's next due
/// row of `channel` too, claimed for `lease`, so a worker working through
/// one recipient's backlog needs no poll between rows; after a failure,
/// nothing (the schedule says when the recipient is tried again).
pub(crate) fn and_claim_next(
    conn: &mut DbConnection,
    channel: &str,
    claimed: &ClaimedMessage,
    outcome: AttemptOutcome,
    lease: Duration,
) -> StoreResult<(AttemptOutcome, Option<ClaimedMessage>)> {
    if outcome != AttemptOutcome::Delivered {
        return Ok((outcome, None));
    }
    let lease_end = now() + TimeDelta::from_std(lease).map_err(StoreError::internal)?;
    let next = claim_due(
        conn,
        channel,
        Some(&claimed.recipient),
        1,
        1,
        lease_end,
        &HashSet::new(),
    )?;
    Ok((outcome, next.into_iter().next()))
}

impl Store {
    /// Claims up to `limit` due rows of `channel` for `lease`, none of the
    /// recipients in `busy` (which this worker is delivering to already)
    /// and, where the channel [`serialises_recipients`], at most one per
    /// recipient: one slow endpoint holds one place, never the others'.
    /// Each claim counts as an attempt.
    pub fn claim_outbox(
        &self,
        channel: &str,
        limit: usize,
        lease: Duration,
        busy: &HashSet<String>,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let at = now();
        let lease_end = at + TimeDelta::from_std(lease).map_err(StoreError::internal)?;
        // Read more than asked: some may share a recipient or be busy.
        let candidates = i64::try_from(limit.saturating_mul(4) + busy.len()).unwrap_or(i64::MAX);
        let now_naive = at.naive_utc();
        // A read first: a poll that finds nothing due takes no write lock
        // (on SQLite, the one writer's).
        let any_due = outbox::table
            .filter(outbox::state.eq(PENDING))
            .filter(outbox::channel.eq(channel))
            .filter(outbox::due_at.le(now_naive))
            .select(outbox::id)
            .first::<i64>(&mut *self.conn()?)
            .optional()?
            .is_some();
        if !any_due {
            return Ok(Vec::new());
        }
        self.write(|conn| claim_due(conn, channel, None, candidates, limit, lease_end, busy))
    }

    /// Deletes the rows delivered or failed more than `kept` ago, with
    /// their attempts: the delivery log keeps that long. Answers how many
    /// rows went.
    pub fn forget_finished_outbox(&self, kept: Duration) -> StoreResult<usize> {
        let before = (now() - TimeDelta::from_std(kept).map_err(StoreError::internal)?).naive_utc();
        self.write(|conn| {
            let old = || {
                outbox::table
                    .filter(outbox::state.ne(PENDING))
                    .filter(outbox::finished_at.lt(before))
            };
            diesel::delete(
                outbox_attempts::table
                    .filter(outbox_attempts::outbox_id.eq_any(old().select(outbox::id))),
            )
            .execute(conn)?;
            Ok(diesel::delete(old()).execute(conn)?)
        })
    }

    /// The pending rows of each channel that has any, and how long the
    /// oldest has waited: for the metrics.
    pub fn outbox_stats(&self) -> StoreResult<Vec<OutboxStats>> {
        let conn = &mut *self.conn()?;
        let rows: Vec<(String, i64, Option<chrono::NaiveDateTime>)> = outbox::table
            .filter(outbox::state.eq(PENDING))
            .group_by(outbox::channel)
            .select((
                outbox::channel,
                diesel::dsl::count_star(),
                diesel::dsl::min(outbox::created_at),
            ))
            .load(conn)?;
        let at = now();
        Ok(rows
            .into_iter()
            .map(|(channel, pending, oldest)| OutboxStats {
                channel,
                pending: u64::try_from(pending).unwrap_or(0),
                oldest_pending_age: oldest
                    .map(|oldest| (at - utc(oldest)).to_std().unwrap_or_default())
                    .unwrap_or_default(),
            })
            .collect())
    }
}

/// Records an attempt at `claimed` and moves its row on: delivered,
/// due again after the schedule's next delay (with its jitter), or failed
/// when none is left or the failure was permanent; in the caller's write transaction. A claim that is no longer the
/// row's latest changes nothing but the log.
pub(crate) fn finish_attempt(
    conn: &mut DbConnection,
    channel: &str,
    claimed: &ClaimedMessage,
    record: &AttemptRecord,
    schedule: &RetrySchedule,
) -> StoreResult<AttemptOutcome> {
    let still_ours = outbox::table
        .find(claimed.id)
        .filter(outbox::state.eq(PENDING))
        .filter(outbox::attempts.eq(claimed.attempt))
        .select(outbox::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    let exists = still_ours
        || outbox::table
            .find(claimed.id)
            .select(outbox::id)
            .first::<i64>(conn)
            .optional()?
            .is_some();
    if exists {
        diesel::insert_into(outbox_attempts::table)
            .values((
                outbox_attempts::outbox_id.eq(claimed.id),
                outbox_attempts::channel.eq(channel),
                outbox_attempts::recipient.eq(&claimed.recipient),
                outbox_attempts::at.eq(record.at.naive_utc()),
                outbox_attempts::duration_ms
                    .eq(i64::try_from(record.duration.as_millis()).unwrap_or(i64::MAX)),
                outbox_attempts::status_code.eq(record.status_code.map(i32::from)),
                outbox_attempts::error.eq(record.error.as_deref()),
                outbox_attempts::response.eq(record.response.as_deref()),
                outbox_attempts::succeeded.eq(record.succeeded),
            ))
            .execute(conn)?;
    }
    if !still_ours {
        return Ok(AttemptOutcome::Stale);
    }
    let finished_at = now();
    let attempts = u32::try_from(claimed.attempt).unwrap_or(u32::MAX);
    let next_delay = match record.permanent {
        true => None,
        false => schedule.jittered_delay(attempts, rand::rng().random::<f64>()),
    };
    let (state, due, outcome) = match (record.succeeded, next_delay) {
        (true, _) => (DELIVERED, None, AttemptOutcome::Delivered),
        (false, Some(delay)) => {
            let due = finished_at + TimeDelta::from_std(delay).map_err(StoreError::internal)?;
            (PENDING, Some(due), AttemptOutcome::Retrying(due))
        }
        (false, None) => (FAILED, None, AttemptOutcome::Failed),
    };
    match due {
        Some(due) => diesel::update(outbox::table.find(claimed.id))
            .set((
                outbox::due_at.eq(due.naive_utc()),
                outbox::leased_until.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?,
        None => diesel::update(outbox::table.find(claimed.id))
            .set((
                outbox::state.eq(state),
                outbox::leased_until.eq(None::<chrono::NaiveDateTime>),
                outbox::finished_at.eq(Some(finished_at.naive_utc())),
            ))
            .execute(conn)?,
    };
    Ok(outcome)
}
