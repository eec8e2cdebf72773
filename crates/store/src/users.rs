//! Accounts: sign-up, login records, listing and admin changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::rules::{Standing, change_standing};
use domain::throttle::LoginRecord;
use domain::{ListUsers, Role, User, UserId, Username};

use crate::connection::{DbConnection, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::rows::{USER_COLUMNS, UserRow, convert_all, page_offset, total, utc};
use crate::schema::users;
use crate::{Store, now};

/// An account to create; the PIN arrives already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub pin_hash: String,
    pub role: Role,
}

/// What login needs to know about a username.
#[derive(Debug, Clone)]
pub struct LoginCandidate {
    pub user: User,
    pub pin_hash: String,
    pub record: LoginRecord,
}

/// An admin's change to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// One page of users and how many match in all.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: u64,
}

impl Store {
    /// Creates an account; a taken username is a conflict.
    pub fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let at = now().naive_utc();
        let row: UserRow = diesel::insert_into(users::table)
            .values((
                users::username.eq(new.username.as_str()),
                users::pin_hash.eq(&new.pin_hash),
                users::role.eq(new.role.as_str()),
                users::active.eq(true),
                users::failed_logins.eq(0),
                users::created_at.eq(at),
                users::updated_at.eq(at),
            ))
            .returning(USER_COLUMNS)
            .get_result(&mut *self.conn()?)
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict("the username is taken"),
                other => other,
            })?;
        row.try_into()
    }

    /// The account behind `username`, with its PIN hash and login record.
    pub fn find_login(&self, username: &Username) -> StoreResult<Option<LoginCandidate>> {
        let found = users::table
            .filter(users::username.eq(username.as_str()))
            .select((
                USER_COLUMNS,
                users::pin_hash,
                users::failed_logins,
                users::locked_until,
            ))
            .first::<(UserRow, String, i32, Option<chrono::NaiveDateTime>)>(&mut *self.conn()?)
            .optional()?;
        found
            .map(|(row, pin_hash, failures, locked_until)| {
                Ok(LoginCandidate {
                    user: row.try_into()?,
                    pin_hash,
                    record: login_record(failures, locked_until),
                })
            })
            .transpose()
    }

    /// The account with this id, active or not.
    pub fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = users::table
            .find(id.0)
            .select(USER_COLUMNS)
            .first::<UserRow>(&mut *self.conn()?)
            .optional()?;
        row.map(User::try_from).transpose()
    }

    /// Claims one login attempt at `at` under the row's lock: refused while
    /// the username is locked, otherwise counted as a failure until
    /// [`Store::record_login_success`] clears it. Returns the new record.
    pub fn claim_login_attempt(&self, id: UserId, at: DateTime<Utc>) -> StoreResult<LoginRecord> {
        write_transaction(&mut *self.conn()?, |conn| {
            let (_, failures, locked_until) = lock_user(conn, id)?;
            let after = login_record(failures, locked_until).claim_attempt(at)?;
            diesel::update(users::table.find(id.0))
                .set(stored(after))
                .execute(conn)?;
            Ok(after)
        })
    }

    /// A successful login: the failure count starts again.
    pub fn record_login_success(&self, id: UserId) -> StoreResult<()> {
        // Most logins find a clean record: skip the write then.
        diesel::update(users::table.find(id.0))
            .filter(
                users::failed_logins
                    .ne(0)
                    .or(users::locked_until.is_not_null()),
            )
            .set(stored(LoginRecord::after_success()))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// A page of accounts in id order, optionally of one role.
    pub fn list_users(&self, request: &ListUsers) -> StoreResult<UserPage> {
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(role) = request.role {
                query = query.filter(users::role.eq(role.as_str()));
            }
            query
        };
        let conn = &mut *self.conn()?;
        let count: i64 = filtered().count().get_result(conn)?;
        let rows: Vec<UserRow> = filtered()
            .select(USER_COLUMNS)
            .order_by(users::id.asc())
            .limit(i64::from(request.page.limit()))
            .offset(page_offset(request.page))
            .load(conn)?;
        Ok(UserPage {
            users: convert_all(rows)?,
            total: total(count),
        })
    }

    /// Applies an admin's change, refusing one that would leave no active
    /// admin. The active admins are locked first, so two admins demoting
    /// each other at once cannot both succeed.
    pub fn update_user(&self, id: UserId, change: UserChange) -> StoreResult<User> {
        write_transaction(&mut *self.conn()?, |conn| {
            let active_admins = lock_active_admins(conn)?;
            let current: User = lock_user(conn, id)?.0.try_into()?;
            let before = Standing {
                role: current.role,
                active: current.active,
            };
            let after = Standing {
                role: change.role.unwrap_or(before.role),
                active: change.active.unwrap_or(before.active),
            };
            change_standing(before, after, active_admins)?;
            if before == after {
                return Ok(current);
            }
            let row: UserRow = diesel::update(users::table.find(id.0))
                .set((
                    users::role.eq(after.role.as_str()),
                    users::active.eq(after.active),
                    users::updated_at.eq(now().naive_utc()),
                ))
                .returning(USER_COLUMNS)
                .get_result(conn)?;
            row.try_into()
        })
    }
}

/// A user row with its login record, as [`lock_user`] reads it.
type LockedUser = (UserRow, i32, Option<chrono::NaiveDateTime>);

/// Reads one user and its login record, holding the row until the
/// transaction ends (`FOR UPDATE` on PostgreSQL; on SQLite the
/// `BEGIN IMMEDIATE` of [`write_transaction`] already holds the database).
fn lock_user(conn: &mut DbConnection, id: UserId) -> StoreResult<LockedUser> {
    let query =
        users::table
            .find(id.0)
            .select((USER_COLUMNS, users::failed_logins, users::locked_until));
    let row = match conn {
        DbConnection::Pg(pg) => query.for_update().first(pg),
        DbConnection::Sqlite(sqlite) => query.first(sqlite),
    };
    Ok(row?)
}

/// The column values that hold a login record.
fn stored(
    record: LoginRecord,
) -> (
    diesel::dsl::Eq<users::failed_logins, i32>,
    diesel::dsl::Eq<users::locked_until, Option<chrono::NaiveDateTime>>,
) {
    (
        users::failed_logins.eq(i32::try_from(record.consecutive_failures).unwrap_or(i32::MAX)),
        users::locked_until.eq(record.locked_until.map(|t| t.naive_utc())),
    )
}

fn login_record(failures: i32, locked_until: Option<chrono::NaiveDateTime>) -> LoginRecord {
    LoginRecord {
        consecutive_failures: u32::try_from(failures).unwrap_or(0),
        locked_until: locked_until.map(utc),
    }
}

/// Counts the active admins, locking their rows on PostgreSQL.
fn lock_active_admins(conn: &mut DbConnection) -> StoreResult<u64> {
    let query = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .select(users::id);
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(pg) => query.for_update().load(pg)?,
        DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
    };
    Ok(ids.len() as u64)
}
