//! Accounts: sign-up and staff creation, logging in (with its throttling),
//! authenticating a token's subject, listing, and an admin's changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use domain::accounts::{
    EMAIL_TAKEN, Standing, USERNAME_TAKEN, decide_new_account_role, decide_user_change,
    may_manage_users, may_view_account,
};
use domain::api_tokens::change_ends_api_tokens;
use domain::audience::see_user;
use domain::conditional::decide_precondition;
use domain::login::{LoginLane, decide_own_pin_change, decide_session};
use domain::{
    Actor, Creator, EmailAddress, EntityTag, ListUsers, LoggedIn, Page, Pin, Precondition, Refusal,
    Role, SessionEpoch, User, UserChange, UserId, Username, WebhookEvent,
};

use crate::api_tokens::end_api_tokens;
use crate::connection::{DbConnection, Locked, lock_rows};
use crate::error::{StoreError, StoreResult};
use crate::idempotency::Recording;
use crate::login::{LoginKey, LoginName, claim_attempt, lock_login, store_login_record};
use crate::paging::page_in_id_order;
use crate::pin::HashingPlace;
use crate::rows::{USER_COLUMNS, UserRow};
use crate::schema::{pin_resets, users};
use crate::webhooks::announce_user;
use crate::{Store, now};

/// An account to create, as a request asks for it; `role: None` is a
/// customer's own sign-up.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub pin: Pin,
    pub role: Option<Role>,
    pub email: Option<EmailAddress>,
}

impl Store {
    /// Creates an account if `creator` may create one of the asked role
    /// (anyone a customer, only an admin or the operator staff); a taken
    /// username is a conflict. The PIN is hashed only once the rule has
    /// said yes, in the `hashing` place reserved for it.
    pub fn create_user(
        &self,
        hashing: HashingPlace,
        creator: Creator,
        new: &NewAccount,
    ) -> StoreResult<User> {
        self.create_user_once(hashing, creator, new, None)
    }

    /// [`Store::create_user`] for a request that holds an idempotency key:
    /// its answer is recorded as the key's in the same transaction as the
    /// account.
    pub fn create_user_once(
        &self,
        hashing: HashingPlace,
        creator: Creator,
        new: &NewAccount,
        recording: Option<&Recording<User>>,
    ) -> StoreResult<User> {
        let role = decide_new_account_role(creator, new.role)?;
        let pin_hash = hashing.0.hash(&new.pin)?;
        drop(hashing);
        self.write(|conn| {
            let user = insert_user(conn, &new.username, &pin_hash, role, new.email.as_ref())?;
            announce_user(conn, WebhookEvent::UserCreated, &user)?;
            if let Some(recording) = recording {
                recording.record(conn, &user)?;
            }
            Ok(user)
        })
    }

    /// Who a verified token speaks for now: the account's current role,
    /// refused when the account is gone or deactivated, or when the token's
    /// session generation has ended (PIN change, deactivation). One query,
    /// the one every authenticated request makes anyway.
    pub fn authenticate(&self, subject: UserId, token_epoch: SessionEpoch) -> StoreResult<Actor> {
        let row = users::table
            .find(subject.0)
            .select((USER_COLUMNS, users::session_epoch))
            .first::<(UserRow, i64)>(&mut *self.conn()?)
            .optional()?;
        token_session(row, token_epoch)
    }

    /// One account, for its owner or an admin.
    pub fn read_user(&self, actor: Actor, id: UserId) -> StoreResult<User> {
        may_view_account(actor, id)?;
        let row = users::table
            .find(id.0)
            .select(USER_COLUMNS)
            .first::<UserRow>(&mut *self.conn()?)
            .optional()?;
        row.ok_or(Refusal::NotFound)?.try_into()
    }

    /// Replaces the caller's own PIN. The current PIN is checked like a
    /// login (the attempt is claimed under the account's lock, so wrong
    /// guesses lock the username and a locked one answers 429; a signed-in
    /// caller's address budget is not spent), with no connection held
    /// during the Argon2 work. On success the session
    /// generation moves on, ending every token issued before; the answer
    /// carries the new generation for a fresh token.
    pub fn change_own_pin(
        &self,
        hashing: HashingPlace,
        actor: Actor,
        current: &Pin,
        new: &Pin,
    ) -> StoreResult<LoggedIn> {
        let claimed = self
            .write(|conn| {
                let Some(account) = lock_login(conn, LoginKey::Id(actor.id()))? else {
                    return Ok(None);
                };
                claim_attempt(
                    conn,
                    LoginName::Account(&account),
                    LoginLane::Untrusted,
                    None,
                )?;
                Ok(Some(account))
            })?
            .ok_or(Refusal::NotFound)?;
        let matches = hashing.0.verify(current, Some(&claimed.pin_hash))?;
        let change = decide_own_pin_change(matches)?;
        let new_hash = hashing.0.hash(new)?;
        drop(hashing);
        self.write(|conn| {
            let account = lock_login(conn, LoginKey::Id(actor.id()))?;
            let account = account.ok_or(Refusal::NotFound)?;
            // Deactivated or reset while the PIN was being checked.
            decide_session(Some((&account.user, account.epoch)), claimed.epoch)?;
            store_login_record(conn, actor.id(), LoginLane::Untrusted, change.record)?;
            let (user, epoch) =
                replace_pin(conn, actor.id(), Some(&new_hash), change.ends_sessions)?;
            Ok(LoggedIn { user, epoch })
        })
    }

    /// Sets or clears (`None`) the caller's own address, if the account,
    /// read with its row locked, is still the version `precondition` names.
    /// An address another account has is a conflict.
    pub fn change_own_email(
        &self,
        actor: Actor,
        email: Option<&EmailAddress>,
        precondition: &Precondition,
    ) -> StoreResult<User> {
        self.write(|conn| {
            lock_rows(conn, Locked::Users, &[actor.id().0])?;
            let current: User = users::table
                .find(actor.id().0)
                .select(USER_COLUMNS)
                .first::<UserRow>(conn)
                .optional()?
                .ok_or(Refusal::NotFound)?
                .try_into()?;
            decide_precondition(
                precondition,
                &EntityTag::of_user(&see_user(actor, current.clone())),
            )?;
            if current.email.as_ref() == email {
                return Ok(current);
            }
            set_email(conn, actor.id(), email)?;
            let row: UserRow = diesel::update(users::table.find(actor.id().0))
                .set(users::updated_at.eq(now().naive_utc()))
                .returning(USER_COLUMNS)
                .get_result(conn)?;
            let user = User::try_from(row)?;
            announce_user(conn, WebhookEvent::UserUpdated, &user)?;
            Ok(user)
        })
    }

    /// A page of accounts in id order, optionally of one role; admins only.
    pub fn list_users(&self, actor: Actor, request: &ListUsers) -> StoreResult<Page<User>> {
        may_manage_users(actor)?;
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(role) = request.role {
                query = query.filter(users::role.eq(role.as_str()));
            }
            query
        };
        Ok(page_in_id_order!(
            &mut *self.conn()?,
            request.page,
            filtered,
            USER_COLUMNS => UserRow,
            users::id,
            |user: &User| user.id.0,
        ))
    }

    /// Applies an admin's change to an account, refusing one that would
    /// leave no active admin. A non-admin is refused before anything is read
    /// or locked, so it learns nothing, not even whether the account exists.
    /// The active admins are locked first, so two admins demoting each other
    /// at once cannot both succeed.
    pub fn update_user(&self, actor: Actor, id: UserId, change: &UserChange) -> StoreResult<User> {
        self.update_user_if(actor, id, change, &Precondition::None)
    }

    /// [`Store::update_user`], if the account, read with its row locked, is
    /// still the version `precondition` names (`If-Match`); otherwise
    /// nothing is changed.
    pub fn update_user_if(
        &self,
        actor: Actor,
        id: UserId,
        change: &UserChange,
        precondition: &Precondition,
    ) -> StoreResult<User> {
        may_manage_users(actor)?;
        // Hashed before any lock is taken: Argon2 takes tens of milliseconds.
        let new_hash = change
            .pin
            .as_ref()
            .map(|pin| self.hasher.hash(pin))
            .transpose()?;
        self.write(|conn| {
            let active_admins = lock_active_admins(conn)?;
            lock_rows(conn, Locked::Users, &[id.0])?;
            let current: User = users::table
                .find(id.0)
                .select(USER_COLUMNS)
                .first::<UserRow>(conn)?
                .try_into()?;
            decide_precondition(
                precondition,
                &EntityTag::of_user(&see_user(actor, current.clone())),
            )?;
            let before = Standing {
                role: current.role,
                active: current.active,
            };
            // The address it already has is no change.
            let change = UserChange {
                email: change.email.clone().filter(|email| *email != current.email),
                ..change.clone()
            };
            let Some(update) = decide_user_change(before, &change, active_admins)? else {
                return Ok(current);
            };
            diesel::update(users::table.find(id.0))
                .set((
                    users::role.eq(update.standing.role.as_str()),
                    users::active.eq(update.standing.active),
                ))
                .execute(conn)?;
            if let Some(email) = &change.email {
                set_email(conn, id, email.as_ref())?;
            }
            if change_ends_api_tokens(before, update.standing) {
                end_api_tokens(conn, id)?;
            }
            let (user, _) = replace_pin(conn, id, new_hash.as_deref(), update.ends_sessions)?;
            announce_user(conn, WebhookEvent::UserUpdated, &user)?;
            Ok(user)
        })
    }
}

/// Who a token of session generation `token_epoch` speaks for, given its
/// subject's account row and current generation as just read (`None`: no
/// such account): `domain`'s verdict, for [`Store::authenticate`] and for
/// the reads that authenticate in their own query.
pub(crate) fn token_session(
    account: Option<(UserRow, i64)>,
    token_epoch: SessionEpoch,
) -> StoreResult<Actor> {
    let account = account
        .map(|(row, epoch)| Ok::<_, StoreError>((User::try_from(row)?, SessionEpoch(epoch))))
        .transpose()?;
    Ok(decide_session(
        account.as_ref().map(|(user, epoch)| (user, *epoch)),
        token_epoch,
    )?)
}

/// Stores a new PIN hash (if any), voiding the account's pending PIN
/// resets, and moves the session generation on (if asked), stamping the
/// change; answers the account and its generation.
pub(crate) fn replace_pin(
    conn: &mut DbConnection,
    id: UserId,
    new_hash: Option<&str>,
    end_sessions: bool,
) -> StoreResult<(User, SessionEpoch)> {
    let epoch_step = i64::from(end_sessions);
    if new_hash.is_some() {
        void_pending_resets(conn, id, now())?;
    }
    let (row, epoch): (UserRow, i64) = match new_hash {
        Some(hash) => diesel::update(users::table.find(id.0))
            .set((
                users::pin_hash.eq(hash),
                users::session_epoch.eq(users::session_epoch + epoch_step),
                users::updated_at.eq(now().naive_utc()),
            ))
            .returning((USER_COLUMNS, users::session_epoch))
            .get_result(conn)?,
        None => diesel::update(users::table.find(id.0))
            .set((
                users::session_epoch.eq(users::session_epoch + epoch_step),
                users::updated_at.eq(now().naive_utc()),
            ))
            .returning((USER_COLUMNS, users::session_epoch))
            .get_result(conn)?,
    };
    Ok((row.try_into()?, SessionEpoch(epoch)))
}

/// Voids every reset of account `id` still pending: a newer request, or
/// any change of its PIN, leaves no older link working.
pub(crate) fn void_pending_resets(
    conn: &mut DbConnection,
    id: UserId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(
        pin_resets::table
            .filter(pin_resets::user_id.eq(id.0))
            .filter(pin_resets::used_at.is_null())
            .filter(pin_resets::voided_at.is_null()),
    )
    .set(pin_resets::voided_at.eq(at.naive_utc()))
    .execute(conn)?;
    Ok(())
}

/// Writes an account's address; one another account has is
/// [`EMAIL_TAKEN`].
fn set_email(conn: &mut DbConnection, id: UserId, email: Option<&EmailAddress>) -> StoreResult<()> {
    diesel::update(users::table.find(id.0))
        .set(users::email.eq(email.map(EmailAddress::as_str)))
        .execute(conn)
        .map_err(account_conflict)?;
    Ok(())
}

/// A unique violation on `users` says which of the account's unique
/// fields was taken: the address (its index names it) or the username.
fn account_conflict(error: diesel::result::Error) -> StoreError {
    let names_email = match &error {
        diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.message().contains("email")
                || info
                    .constraint_name()
                    .is_some_and(|name| name.contains("email"))
        }
        _ => false,
    };
    match StoreError::from(error) {
        StoreError::Refused(Refusal::Conflict(_)) if names_email => {
            StoreError::Refused(EMAIL_TAKEN)
        }
        StoreError::Refused(Refusal::Conflict(_)) => StoreError::Refused(USERNAME_TAKEN),
        other => other,
    }
}

/// Inserts an account whose role was decided and whose PIN is hashed.
pub(crate) fn insert_user(
    conn: &mut DbConnection,
    username: &Username,
    pin_hash: &str,
    role: Role,
    email: Option<&EmailAddress>,
) -> StoreResult<User> {
    let at = now().naive_utc();
    let row: UserRow = diesel::insert_into(users::table)
        .values((
            users::username.eq(username.as_str()),
            users::pin_hash.eq(pin_hash),
            users::role.eq(role.as_str()),
            users::active.eq(true),
            users::email.eq(email.map(EmailAddress::as_str)),
            users::failed_logins.eq(0),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .returning(USER_COLUMNS)
        .get_result(conn)
        .map_err(account_conflict)?;
    row.try_into()
}

/// Counts the active admins, holding their rows until the transaction ends.
fn lock_active_admins(conn: &mut DbConnection) -> StoreResult<u64> {
    let active_admins = || {
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
    };
    let ids: Vec<i64> = active_admins().select(users::id).load(conn)?;
    // `lock_rows` takes them in id order, so two transactions cannot
    // deadlock on them.
    lock_rows(conn, Locked::Users, &ids)?;
    // Counted again with the rows held: whatever changed while this
    // transaction waited is counted as it is now.
    let count: i64 = active_admins().count().get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0))
}
