//! The web interface's signed-in browsers: opening, checking and ending
//! their sessions.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::login::decide_browser_session;
use domain::{Actor, BrowserSession, LoggedIn, SessionEpoch, User};

use crate::error::{StoreError, StoreResult};
use crate::rows::{USER_COLUMNS, UserRow, utc};
use crate::schema::{users, web_sessions};
use crate::{Store, now};

/// Who a browser session speaks for, and the name to greet them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    pub actor: Actor,
    pub username: String,
}

impl Store {
    /// Opens a browser session for `login`, a PIN just proven: the row
    /// keyed by `secret_digest` (the cookie's secret never reaches the
    /// database) lasts `lifetime`, in the account's current session
    /// generation. Every expired session is swept on the way (an indexed
    /// range), so the table holds live sessions and few others.
    pub fn open_browser_session(
        &self,
        login: &LoggedIn,
        secret_digest: &str,
        lifetime: Duration,
    ) -> StoreResult<DateTime<Utc>> {
        let created_at = now();
        let expires_at =
            created_at + chrono::Duration::from_std(lifetime).map_err(StoreError::internal)?;
        let user_id = login.user.id.0;
        self.write(|conn| {
            diesel::delete(
                web_sessions::table.filter(web_sessions::expires_at.le(created_at.naive_utc())),
            )
            .execute(conn)?;
            diesel::insert_into(web_sessions::table)
                .values((
                    web_sessions::secret_digest.eq(secret_digest),
                    web_sessions::user_id.eq(user_id),
                    web_sessions::session_epoch.eq(login.epoch.0),
                    web_sessions::created_at.eq(created_at.naive_utc()),
                    web_sessions::expires_at.eq(expires_at.naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        })?;
        Ok(expires_at)
    }

    /// Who the browser session keyed by `secret_digest` speaks for now,
    /// checked like a token (the account's current role; refused once the
    /// account is deactivated or its generation ended) and refused once it
    /// expired or was signed out. One query, like a token's.
    pub fn authenticate_browser_session(&self, secret_digest: &str) -> StoreResult<SignedInUser> {
        let row = web_sessions::table
            .inner_join(users::table)
            .filter(web_sessions::secret_digest.eq(secret_digest))
            .select((
                USER_COLUMNS,
                users::session_epoch,
                web_sessions::session_epoch,
                web_sessions::expires_at,
            ))
            .first::<(UserRow, i64, i64, NaiveDateTime)>(&mut *self.conn()?)
            .optional()?;
        let found = row
            .map(|(user, current, opened_in, expires_at)| {
                let session = BrowserSession {
                    epoch: SessionEpoch(opened_in),
                    expires_at: utc(expires_at),
                };
                Ok::<_, StoreError>((User::try_from(user)?, SessionEpoch(current), session))
            })
            .transpose()?;
        let (account, session) = match &found {
            Some((user, current, session)) => (Some((user, *current)), Some(*session)),
            None => (None, None),
        };
        let actor = decide_browser_session(account, session, now())?;
        let username = found.map(|(user, ..)| user.username).unwrap_or_default();
        Ok(SignedInUser { actor, username })
    }

    /// Signs a browser out: its session row is gone, so a copy of its
    /// cookie opens nothing. Ending a session that is already gone is fine.
    pub fn end_browser_session(&self, secret_digest: &str) -> StoreResult<()> {
        self.write(|conn| {
            diesel::delete(
                web_sessions::table.filter(web_sessions::secret_digest.eq(secret_digest)),
            )
            .execute(conn)?;
            Ok(())
        })
    }
}
