//! Idempotency keys: taking a request's key (or finding the answer a
//! retry gets), recording the answer in the transaction of the change it
//! reports, keeping a refusal's answer, letting a key go after a failure
//! of ours, and the sweep of keys past their 24 hours.
//!
//! A key is taken by a short write of its own, committed before the
//! request's work starts, so a concurrent retry finds it "in flight" (no
//! status yet) and is told to come back. The hold on it is the row and the
//! instant it was taken: a request whose key was taken over (it ran past
//! the request time limit) cannot record, and so its change rolls back.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::Refusal;
use domain::idempotency::{
    Fingerprint, KEY_LIFETIME, KEY_TAKEN_OVER, KeyRecord, KeyReuse, KeyedRequest, StoredAnswer,
    decide_key_reuse,
};

use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::schema::idempotency_keys;
use crate::{Store, now};

/// A request's hold on its key: the key's row and when this request took
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    id: i64,
    claimed_at: NaiveDateTime,
}

/// What taking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is this request's: do the work, and record its answer.
    Fresh(KeyClaim),
    /// The same request was answered before: this is its answer.
    Replay(StoredAnswer),
}

/// An idempotent request's hold on its key and how its answer reads,
/// handed to the store action that makes the change, which records the
/// answer in the change's own transaction. The rendering runs inside that
/// transaction: it must do no I/O.
pub struct Recording<T> {
    claim: KeyClaim,
    answer: Box<dyn Fn(&T) -> StoredAnswer + Send>,
}

impl<T> std::fmt::Debug for Recording<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl<T> Recording<T> {
    pub fn new(claim: KeyClaim, answer: impl Fn(&T) -> StoredAnswer + Send + 'static) -> Self {
        Self {
            claim,
            answer: Box::new(answer),
        }
    }

    /// Writes the answer to `value` as the key's, in the caller's
    /// transaction; refused (and so the change rolled back) when the key
    /// is no longer this request's.
    pub(crate) fn record(&self, conn: &mut DbConnection, value: &T) -> StoreResult<()> {
        let answer = (self.answer)(value);
        match store_answer(conn, &self.claim, &answer)? {
            true => Ok(()),
            false => Err(StoreError::Refused(Refusal::Conflict(KEY_TAKEN_OVER))),
        }
    }
}

/// Records `value`'s answer if the request holds a key.
pub(crate) fn record_if_held<T>(
    conn: &mut DbConnection,
    recording: Option<&Recording<T>>,
    value: &T,
) -> StoreResult<()> {
    match recording {
        Some(recording) => recording.record(conn, value),
        None => Ok(()),
    }
}

/// A lost race for a key's row (a unique index or a takeover): taken
/// again, the row is read as the winner left it.
const RACED: &str = "raced for an idempotency key";

/// How many times a request races for its key before it is told to retry.
const CLAIM_ATTEMPTS: usize = 3;

type KeyRow = (
    i64,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<i32>,
    Option<String>,
);

impl Store {
    /// Takes `request`'s key for it, or answers what a request bringing a
    /// key already kept gets (see `domain::idempotency::decide_key_reuse`):
    /// the first answer, 422 for another body, 409 while the first is in
    /// flight; `in_flight_limit` is the longest a request may take.
    pub fn claim_idempotency_key(
        &self,
        request: &KeyedRequest,
        in_flight_limit: Duration,
    ) -> StoreResult<Claimed> {
        for _ in 0..CLAIM_ATTEMPTS {
            match self.write(|conn| claim(conn, request, in_flight_limit)) {
                Err(StoreError::Refused(Refusal::Conflict(RACED))) => continue,
                outcome => return outcome,
            }
        }
        Err(StoreError::Refused(Refusal::Conflict(
            domain::idempotency::KEY_IN_FLIGHT,
        )))
    }

    /// Keeps the answer of a request refused without a change (a 4xx) as
    /// its key's, in a write of its own. Answers whether the key was still
    /// this request's to answer.
    pub fn keep_idempotent_answer(
        &self,
        claim: &KeyClaim,
        answer: &StoredAnswer,
    ) -> StoreResult<bool> {
        self.write(|conn| store_answer(conn, claim, answer))
    }

    /// Lets a key go after a failure of ours (a 5xx), so a retry runs
    /// again; a key another request took meanwhile stays.
    pub fn release_idempotency_key(&self, claim: &KeyClaim) -> StoreResult<()> {
        self.write(|conn| {
            diesel::delete(held(claim)).execute(conn)?;
            Ok(())
        })
    }

    /// Deletes the keys past their 24 hours (answered or not). Answers how
    /// many went.
    pub fn forget_expired_idempotency_keys(&self) -> StoreResult<usize> {
        let expired_before =
            (now() - chrono::TimeDelta::from_std(KEY_LIFETIME).unwrap_or_default()).naive_utc();
        self.write(|conn| {
            Ok(diesel::delete(
                idempotency_keys::table.filter(idempotency_keys::created_at.le(expired_before)),
            )
            .execute(conn)?)
        })
    }
}

/// One attempt at taking a key, in a write transaction.
fn claim(
    conn: &mut DbConnection,
    request: &KeyedRequest,
    in_flight_limit: Duration,
) -> StoreResult<Claimed> {
    let now = now();
    let at = now.naive_utc();
    let fingerprint = request.fingerprint.to_hex();
    let found: Option<KeyRow> = idempotency_keys::table
        .filter(idempotency_keys::owner.eq(request.scope.owner()))
        .filter(idempotency_keys::method.eq(request.scope.method()))
        .filter(idempotency_keys::path.eq(request.scope.path()))
        .filter(idempotency_keys::idempotency_key.eq(request.key.as_str()))
        .select((
            idempotency_keys::id,
            idempotency_keys::fingerprint,
            idempotency_keys::created_at,
            idempotency_keys::claimed_at,
            idempotency_keys::status,
            idempotency_keys::body,
        ))
        .first(conn)
        .optional()?;
    let Some((id, stored_fingerprint, created_at, claimed_at, status, body)) = found else {
        let id: i64 = diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::owner.eq(request.scope.owner()),
                idempotency_keys::method.eq(request.scope.method()),
                idempotency_keys::path.eq(request.scope.path()),
                idempotency_keys::idempotency_key.eq(request.key.as_str()),
                idempotency_keys::fingerprint.eq(&fingerprint),
                idempotency_keys::created_at.eq(at),
                idempotency_keys::claimed_at.eq(at),
            ))
            .returning(idempotency_keys::id)
            .get_result(conn)
            .map_err(|error| match error {
                // Another request took the key between the read and the
                // insert (PostgreSQL: the insert waited for it to commit).
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    StoreError::Refused(Refusal::Conflict(RACED))
                }
                other => other.into(),
            })?;
        return Ok(Claimed::Fresh(KeyClaim { id, claimed_at: at }));
    };
    let record = KeyRecord {
        fingerprint: Fingerprint::from_hex(&stored_fingerprint).ok_or_else(|| {
            StoreError::internal(format!("idempotency key {id} has a malformed fingerprint"))
        })?,
        created_at: created_at.and_utc(),
        claimed_at: claimed_at.and_utc(),
        answer: match (status, body) {
            (Some(status), Some(body)) => Some(StoredAnswer {
                status: u16::try_from(status).map_err(StoreError::internal)?,
                body,
            }),
            _ => None,
        },
    };
    match decide_key_reuse(&record, request.fingerprint, now, in_flight_limit)? {
        KeyReuse::Replay(answer) => Ok(Claimed::Replay(answer)),
        KeyReuse::TakeOver => {
            // Only the row as it was read: of two requests taking it over
            // at once, the second changes nothing and reads it again.
            let previous = KeyClaim { id, claimed_at };
            let taken = diesel::update(idempotency_keys::table.find(id))
                .filter(idempotency_keys::claimed_at.eq(previous.claimed_at))
                .set((
                    idempotency_keys::fingerprint.eq(&fingerprint),
                    idempotency_keys::created_at.eq(at),
                    idempotency_keys::claimed_at.eq(at),
                    idempotency_keys::status.eq(None::<i32>),
                    idempotency_keys::body.eq(None::<String>),
                ))
                .execute(conn)?;
            match taken {
                1 => Ok(Claimed::Fresh(KeyClaim { id, claimed_at: at })),
                _ => Err(StoreError::Refused(Refusal::Conflict(RACED))),
            }
        }
    }
}

/// The query of a key's row while a hold has it unanswered.
type HeldRow = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Find<idempotency_keys::table, i64>,
        diesel::dsl::Eq<idempotency_keys::claimed_at, NaiveDateTime>,
    >,
    diesel::dsl::IsNull<idempotency_keys::status>,
>;

/// The key's row while `claim` holds it unanswered.
fn held(claim: &KeyClaim) -> HeldRow {
    idempotency_keys::table
        .find(claim.id)
        .filter(idempotency_keys::claimed_at.eq(claim.claimed_at))
        .filter(idempotency_keys::status.is_null())
}

/// Writes `answer` as the key's while `claim` still holds it; answers
/// whether it did.
fn store_answer(
    conn: &mut DbConnection,
    claim: &KeyClaim,
    answer: &StoredAnswer,
) -> StoreResult<bool> {
    let written = diesel::update(held(claim))
        .set((
            idempotency_keys::status.eq(i32::from(answer.status)),
            idempotency_keys::body.eq(&answer.body),
        ))
        .execute(conn)?;
    Ok(written == 1)
}
