//! Logging in: the PIN check and its throttling. Before the Argon2 work,
//! one transaction reads, decides and writes the username's record (an
//! account's, or the one kept alike for a name no account has) and, for a
//! stranger's attempt, the client address's budget of failed logins.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::login::{
    ClaimedAttempt, FromAddress, LoginLane, LoginRecord, LoginRecords, decide_login,
    decide_login_attempt, failures_forgotten_before, login_lane, spends_from_address,
};
use domain::{Credentials, LoggedIn, SessionEpoch, User, UserId, Username};

use crate::connection::{DbConnection, Locked, lock_rows, on_backend};
use crate::error::StoreResult;
use crate::pin::HashingPlace;
use crate::rows::{USER_COLUMNS, UserRow, utc};
use crate::schema::{address_login_budgets, unknown_username_logins, users};
use crate::{Store, now};

impl Store {
    /// Logs in with a username and PIN: claims the attempt under the
    /// username's lock (refused while it is throttled, or while `from`'s
    /// budget of failures is spent; counted as a failure until it succeeds,
    /// so parallel guesses cannot outrun the lock), checks the PIN with no
    /// connection held, then clears the count and gives the address its
    /// attempt back on success. An unknown username, a wrong PIN and a
    /// deactivated account are one refusal, after the same Argon2 work and
    /// the same lock-out. `device_of` is the account a verified device
    /// cookie the client sent was issued to: the attempt counts on that
    /// account's known-device record if it is this one, and spends nothing
    /// of the address's budget.
    pub fn log_in(
        &self,
        hashing: HashingPlace,
        credentials: &Credentials,
        device_of: Option<UserId>,
        from: Option<FromAddress>,
    ) -> StoreResult<LoggedIn> {
        let (claimed, lane, spent_from) = self.write(|conn| {
            let account = lock_login(conn, LoginKey::Username(&credentials.username))?;
            let lane = login_lane(device_of, account.as_ref().map(|a| a.user.id));
            let name = match &account {
                Some(account) => LoginName::Account(account),
                None => LoginName::Unknown(&credentials.username),
            };
            let spent_from = claim_attempt(conn, name, lane, from)?;
            Ok((account, lane, spent_from))
        })?;
        let stored_hash = claimed.as_ref().map(|account| account.pin_hash.as_str());
        let pin_matches = hashing.0.verify(&credentials.pin, stored_hash)?;
        drop(hashing);
        let epoch = claimed.as_ref().map(|account| account.epoch);
        let (user, cleared) = decide_login(claimed.map(|account| account.user), pin_matches)?;
        self.write(|conn| {
            store_login_record(conn, user.id, lane, cleared)?;
            if let Some(from) = spent_from {
                let full_at = lock_address_budget(conn, &from)?;
                store_address_budget(conn, &from, from.budget.give_back(full_at))?;
            }
            Ok(())
        })?;
        Ok(LoggedIn {
            user,
            epoch: epoch.unwrap_or_default(),
        })
    }

    /// Deletes what throttling no longer needs: the records of usernames
    /// with no account whose failures are forgotten, and the budgets of
    /// addresses that are whole again. Answers how many rows went.
    pub fn forget_quiet_logins(&self) -> StoreResult<usize> {
        let now = now();
        let forgotten_before = failures_forgotten_before(now).naive_utc();
        let now = now.naive_utc();
        self.write(|conn| {
            let names =
                diesel::delete(
                    unknown_username_logins::table
                        .filter(
                            unknown_username_logins::locked_until
                                .is_null()
                                .or(unknown_username_logins::locked_until.le(now)),
                        )
                        .filter(unknown_username_logins::last_failed_login_at.is_null().or(
                            unknown_username_logins::last_failed_login_at.le(forgotten_before),
                        )),
                )
                .execute(conn)?;
            let addresses = diesel::delete(
                address_login_budgets::table.filter(address_login_budgets::full_at.le(now)),
            )
            .execute(conn)?;
            Ok(names + addresses)
        })
    }
}

/// What a PIN check needs of an account, read with its row locked.
pub(crate) struct LoginAccount {
    pub(crate) user: User,
    pub(crate) pin_hash: String,
    pub(crate) records: LoginRecords,
    pub(crate) epoch: SessionEpoch,
}

/// How a PIN check finds its account: a login by name, a PIN change by id.
pub(crate) enum LoginKey<'a> {
    Username(&'a Username),
    Id(UserId),
}

/// The name an attempt counts on: an account, or a name no account has.
pub(crate) enum LoginName<'a> {
    Account(&'a LoginAccount),
    Unknown(&'a Username),
}

/// The account `key` finds, with its row locked until the transaction ends.
pub(crate) fn lock_login(
    conn: &mut DbConnection,
    key: LoginKey<'_>,
) -> StoreResult<Option<LoginAccount>> {
    type RecordColumns = (i32, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let columns = (
        USER_COLUMNS,
        users::pin_hash,
        (
            users::failed_logins,
            users::locked_until,
            users::last_failed_login_at,
        ),
        (
            users::device_failed_logins,
            users::device_locked_until,
            users::device_last_failed_login_at,
        ),
        users::session_epoch,
    );
    // Usernames never change, so the id found first is still the one to lock.
    let id = match key {
        LoginKey::Username(username) => users::table
            .filter(users::username.eq(username.as_str()))
            .select(users::id)
            .first::<i64>(conn)
            .optional()?,
        LoginKey::Id(id) => Some(id.0),
    };
    let Some(id) = id else {
        return Ok(None);
    };
    lock_rows(conn, Locked::Users, &[id])?;
    let rows: Vec<(UserRow, String, RecordColumns, RecordColumns, i64)> =
        users::table.find(id).select(columns).load(conn)?;
    rows.into_iter()
        .next()
        .map(|(row, pin_hash, untrusted, known_device, epoch)| {
            Ok(LoginAccount {
                user: row.try_into()?,
                pin_hash,
                records: LoginRecords {
                    untrusted: login_record(untrusted),
                    known_device: login_record(known_device),
                },
                epoch: SessionEpoch(epoch),
            })
        })
        .transpose()
}

fn login_record(
    (failures, locked_until, last_failure_at): (i32, Option<NaiveDateTime>, Option<NaiveDateTime>),
) -> LoginRecord {
    LoginRecord {
        consecutive_failures: u32::try_from(failures).unwrap_or(0),
        locked_until: locked_until.map(utc),
        last_failure_at: last_failure_at.map(utc),
    }
}

/// Admits one PIN check on `name` (refused while its `lane`'s record is
/// throttled, or while `from`'s budget is spent) and counts it as a failure
/// until it succeeds. The clock is read with the records locked. Answers
/// the address whose budget the attempt spent from, if it did.
pub(crate) fn claim_attempt(
    conn: &mut DbConnection,
    name: LoginName<'_>,
    lane: LoginLane,
    from: Option<FromAddress>,
) -> StoreResult<Option<FromAddress>> {
    let record = match name {
        LoginName::Account(account) => account.records.of(lane),
        LoginName::Unknown(username) => lock_unknown_name(conn, username)?,
    };
    let from = from.filter(|_| spends_from_address(lane));
    let address = match &from {
        Some(from) => Some((from.budget, Some(lock_address_budget(conn, from)?))),
        None => None,
    };
    let ClaimedAttempt {
        record,
        address_full_at,
    } = decide_login_attempt(record, lane, address, now())?;
    match name {
        LoginName::Account(account) => store_login_record(conn, account.user.id, lane, record)?,
        LoginName::Unknown(username) => store_unknown_name(conn, username, record)?,
    }
    match (from, address_full_at) {
        (Some(from), Some(full_at)) => {
            store_address_budget(conn, &from, full_at)?;
            Ok(Some(from))
        }
        _ => Ok(None),
    }
}

pub(crate) fn store_login_record(
    conn: &mut DbConnection,
    id: UserId,
    lane: LoginLane,
    record: LoginRecord,
) -> StoreResult<()> {
    let (failures, locked_until, last_failure_at) = record_columns(record);
    let account = users::table.find(id.0);
    match lane {
        LoginLane::Untrusted => diesel::update(account)
            .set((
                users::failed_logins.eq(failures),
                users::locked_until.eq(locked_until),
                users::last_failed_login_at.eq(last_failure_at),
            ))
            .execute(conn)?,
        LoginLane::KnownDevice => diesel::update(account)
            .set((
                users::device_failed_logins.eq(failures),
                users::device_locked_until.eq(locked_until),
                users::device_last_failed_login_at.eq(last_failure_at),
            ))
            .execute(conn)?,
    };
    Ok(())
}

fn record_columns(record: LoginRecord) -> (i32, Option<NaiveDateTime>, Option<NaiveDateTime>) {
    (
        i32::try_from(record.consecutive_failures).unwrap_or(i32::MAX),
        record.locked_until.map(|t| t.naive_utc()),
        record.last_failure_at.map(|t| t.naive_utc()),
    )
}

/// The record of a name no account has, its row created if need be and
/// locked until the transaction ends (an upsert locks the row it touches on
/// PostgreSQL; SQLite's write transaction holds the whole database), so
/// parallel guesses on an unknown name are counted one by one as on a
/// known one.
fn lock_unknown_name(conn: &mut DbConnection, username: &Username) -> StoreResult<LoginRecord> {
    let upsert = diesel::insert_into(unknown_username_logins::table)
        .values((
            unknown_username_logins::username.eq(username.as_str()),
            unknown_username_logins::failed_logins.eq(0),
        ))
        .on_conflict(unknown_username_logins::username)
        .do_update()
        .set(unknown_username_logins::username.eq(excluded(unknown_username_logins::username)))
        .returning((
            unknown_username_logins::failed_logins,
            unknown_username_logins::locked_until,
            unknown_username_logins::last_failed_login_at,
        ));
    let columns = on_backend!(conn, |c| upsert.get_result(c)?);
    Ok(login_record(columns))
}

fn store_unknown_name(
    conn: &mut DbConnection,
    username: &Username,
    record: LoginRecord,
) -> StoreResult<()> {
    let (failures, locked_until, last_failure_at) = record_columns(record);
    diesel::update(unknown_username_logins::table.find(username.as_str()))
        .set((
            unknown_username_logins::failed_logins.eq(failures),
            unknown_username_logins::locked_until.eq(locked_until),
            unknown_username_logins::last_failed_login_at.eq(last_failure_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// When `from`'s budget is whole again, its row created (whole now) if
/// need be and locked until the transaction ends.
fn lock_address_budget(
    conn: &mut DbConnection,
    from: &FromAddress,
) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    let upsert = diesel::insert_into(address_login_budgets::table)
        .values((
            address_login_budgets::address.eq(from.address.to_string()),
            address_login_budgets::full_at.eq(now().naive_utc()),
        ))
        .on_conflict(address_login_budgets::address)
        .do_update()
        .set(address_login_budgets::address.eq(excluded(address_login_budgets::address)))
        .returning(address_login_budgets::full_at);
    let full_at: NaiveDateTime = on_backend!(conn, |c| upsert.get_result(c)?);
    Ok(utc(full_at))
}

fn store_address_budget(
    conn: &mut DbConnection,
    from: &FromAddress,
    full_at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<()> {
    diesel::update(address_login_budgets::table.find(from.address.to_string()))
        .set(address_login_budgets::full_at.eq(full_at.naive_utc()))
        .execute(conn)?;
    Ok(())
}
