//! Programs' API tokens: creating one (at most 20 live an account, counted
//! under the account's lock), listing and revoking them, and telling who a
//! presented token speaks for, with its last use written down at most once
//! a minute. The database holds each token's SHA-256 only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::api_tokens::{
    PresentedToken, decide_new_token, decide_token_session, may_manage_tokens_of, records_use,
};
use domain::{Access, Actor, ApiToken, ApiTokenId, NewApiToken, Refusal, User, UserId};

use crate::connection::{DbConnection, Locked, lock_rows};
use crate::error::StoreResult;
use crate::rows::{USER_COLUMNS, UserRow, utc};
use crate::schema::{api_tokens, users};
use crate::{Store, now};

type TokenColumns = (
    api_tokens::id,
    api_tokens::user_id,
    api_tokens::name,
    api_tokens::read_only,
    api_tokens::created_at,
    api_tokens::expires_at,
    api_tokens::last_used_at,
);
const TOKEN_COLUMNS: TokenColumns = (
    api_tokens::id,
    api_tokens::user_id,
    api_tokens::name,
    api_tokens::read_only,
    api_tokens::created_at,
    api_tokens::expires_at,
    api_tokens::last_used_at,
);

#[derive(Debug, Queryable)]
struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    read_only: bool,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> Self {
        ApiToken {
            id: ApiTokenId(row.id),
            owner: UserId(row.user_id),
            name: row.name,
            read_only: row.read_only,
            created_at: utc(row.created_at),
            expires_at: row.expires_at.map(utc),
            last_used_at: row.last_used_at.map(utc),
        }
    }
}

impl Store {
    /// Creates a token for `actor`'s own account, keyed by `secret_digest`
    /// (the token never reaches the database). The account's row is locked
    /// while its live tokens are counted, so creations at once cannot pass
    /// the cap together; its expired tokens are swept on the way, so the
    /// table holds each account's live tokens and few others.
    pub fn create_api_token(
        &self,
        actor: Actor,
        new: &NewApiToken,
        secret_digest: &str,
    ) -> StoreResult<ApiToken> {
        let owner = actor.id().0;
        self.write(|conn| {
            lock_rows(conn, Locked::Users, &[owner])?;
            let at = now();
            let naive_now = at.naive_utc();
            diesel::delete(
                api_tokens::table
                    .filter(api_tokens::user_id.eq(owner))
                    .filter(api_tokens::expires_at.le(naive_now)),
            )
            .execute(conn)?;
            let live: i64 = api_tokens::table
                .filter(api_tokens::user_id.eq(owner))
                .count()
                .get_result(conn)?;
            let expires_at = decide_new_token(new, usize::try_from(live).unwrap_or(0), at)?;
            let row: TokenRow = diesel::insert_into(api_tokens::table)
                .values((
                    api_tokens::user_id.eq(owner),
                    api_tokens::name.eq(new.name.as_str()),
                    api_tokens::secret_digest.eq(secret_digest),
                    api_tokens::read_only.eq(new.read_only),
                    api_tokens::created_at.eq(naive_now),
                    api_tokens::expires_at.eq(expires_at.map(|at| at.naive_utc())),
                ))
                .returning(TOKEN_COLUMNS)
                .get_result(conn)?;
            Ok(row.into())
        })
    }

    /// `owner`'s tokens in the order they were made, for the owner or an
    /// admin; anyone else, and an account that does not exist, is not
    /// found.
    pub fn list_api_tokens(&self, actor: Actor, owner: UserId) -> StoreResult<Vec<ApiToken>> {
        may_manage_tokens_of(actor, owner)?;
        let conn = &mut *self.conn()?;
        let rows: Vec<TokenRow> = api_tokens::table
            .filter(api_tokens::user_id.eq(owner.0))
            .order(api_tokens::id)
            .select(TOKEN_COLUMNS)
            .load(conn)?;
        if rows.is_empty() {
            account_exists(conn, owner)?;
        }
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// Revokes `owner`'s token `token` (the owner or an admin), answering
    /// it as it was: its row is gone, so it opens nothing from the next
    /// request on. A token that is not `owner`'s is not found.
    pub fn revoke_api_token(
        &self,
        actor: Actor,
        owner: UserId,
        token: ApiTokenId,
    ) -> StoreResult<ApiToken> {
        may_manage_tokens_of(actor, owner)?;
        let revoked: Option<TokenRow> = self.write(|conn| {
            Ok(diesel::delete(
                api_tokens::table
                    .filter(api_tokens::id.eq(token.0))
                    .filter(api_tokens::user_id.eq(owner.0)),
            )
            .returning(TOKEN_COLUMNS)
            .get_result(conn)
            .optional()?)
        })?;
        Ok(revoked.ok_or(Refusal::NotFound)?.into())
    }

    /// Who the token keyed by `secret_digest` speaks for, for a request of
    /// `access`: its account's current role, refused when the token is
    /// unknown (or revoked), expired, or its account deactivated, and a
    /// read-only token's write forbidden. One query; its last use is
    /// written only when the stored one is a minute old, so a busy program
    /// does not make every read a write.
    pub fn authenticate_api_token(
        &self,
        secret_digest: &str,
        access: Access,
    ) -> StoreResult<Actor> {
        let found = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::secret_digest.eq(secret_digest))
            .select((
                USER_COLUMNS,
                api_tokens::id,
                api_tokens::read_only,
                api_tokens::expires_at,
                api_tokens::last_used_at,
            ))
            .first::<(
                UserRow,
                i64,
                bool,
                Option<NaiveDateTime>,
                Option<NaiveDateTime>,
            )>(&mut *self.conn()?)
            .optional()?;
        let at = now();
        let found = found
            .map(|(user, id, read_only, expires_at, last_used_at)| {
                let token = PresentedToken {
                    read_only,
                    expires_at: expires_at.map(utc),
                };
                Ok::<_, crate::StoreError>((User::try_from(user)?, token, id, last_used_at))
            })
            .transpose()?;
        let actor = decide_token_session(
            found.as_ref().map(|(user, token, ..)| (user, *token)),
            access,
            at,
        )?;
        if let Some((_, _, id, last_used_at)) = found
            && records_use(last_used_at.map(utc), at)
        {
            self.write(|conn| record_use(conn, ApiTokenId(id), last_used_at, at.naive_utc()))?;
        }
        Ok(actor)
    }
}

/// Writes a token's last use, unless another request wrote it since it
/// was read as `seen` (two requests at once write it once).
fn record_use(
    conn: &mut DbConnection,
    id: ApiTokenId,
    seen: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> StoreResult<()> {
    let token = api_tokens::table.filter(api_tokens::id.eq(id.0));
    match seen {
        Some(seen) => diesel::update(token.filter(api_tokens::last_used_at.eq(seen)))
            .set(api_tokens::last_used_at.eq(at))
            .execute(conn)?,
        None => diesel::update(token.filter(api_tokens::last_used_at.is_null()))
            .set(api_tokens::last_used_at.eq(at))
            .execute(conn)?,
    };
    Ok(())
}

/// Ends every API token of account `id` for good (a deactivation).
pub(crate) fn end_api_tokens(conn: &mut DbConnection, id: UserId) -> StoreResult<()> {
    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(id.0))).execute(conn)?;
    Ok(())
}

/// Not found unless account `id` exists.
fn account_exists(conn: &mut DbConnection, id: UserId) -> StoreResult<()> {
    let found: Option<i64> = users::table
        .find(id.0)
        .select(users::id)
        .first(conn)
        .optional()?;
    found.map(|_| ()).ok_or_else(|| Refusal::NotFound.into())
}
