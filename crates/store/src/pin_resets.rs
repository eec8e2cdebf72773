//! PIN resets by mail (`pin_resets` table: each link's token as its
//! SHA-256, never the token): a request writes the reset and queues its
//! mail in one transaction; a link's use sets the PIN and ends what the
//! old one opened. Both act for no account: the mailbox, then the link,
//! is the authority, and `domain::pin_reset` says what each may do.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::json::timestamp;
use domain::login::LoginLane;
use domain::pin_reset::{PendingReset, ResetFor, decide_reset_request, decide_reset_use};
use domain::{OutgoingMail, Pin, PinResetMail, User, UserId};

use crate::api_tokens::end_api_tokens;
use crate::connection::{DbConnection, Locked, lock_rows};
use crate::error::StoreResult;
use crate::login::store_login_record;
use crate::mail::queue_mail;
use crate::pin::HashingPlace;
use crate::rows::{USER_COLUMNS, UserRow, utc};
use crate::schema::{pin_resets, users};
use crate::users::{replace_pin, void_pending_resets};
use crate::{Store, now};

impl Store {
    /// Sends whoever `who` names a link to set a new PIN, if
    /// `domain::pin_reset::decide_reset_request` says so (an active
    /// account with an address, not sent one in the last five minutes):
    /// the reset's row (the token's `token_digest`, expiring in 30
    /// minutes; the account's older resets voided) and its mail (carrying
    /// `nonce`, from which the link's token is derived) are written in one
    /// transaction, under the account's lock, so requests at once send one
    /// mail. Whatever the outcome the answer is the same `Ok`, and with
    /// mail off nothing is written at all.
    pub fn request_pin_reset(
        &self,
        who: &ResetFor,
        token_digest: &str,
        nonce: &str,
    ) -> StoreResult<()> {
        if !self.sends_mail() {
            return Ok(());
        }
        self.write(|conn| {
            let id = match who {
                ResetFor::Email(email) => users::table
                    .filter(users::email.eq(email.as_str()))
                    .select(users::id)
                    .first::<i64>(conn)
                    .optional()?,
                ResetFor::Username(username) => users::table
                    .filter(users::username.eq(username.as_str()))
                    .select(users::id)
                    .first::<i64>(conn)
                    .optional()?,
            };
            let Some(id) = id else {
                return Ok(());
            };
            lock_rows(conn, Locked::Users, &[id])?;
            let user: User = users::table
                .find(id)
                .select(USER_COLUMNS)
                .first::<UserRow>(conn)?
                .try_into()?;
            // An address changed while this request waited names no one.
            if let ResetFor::Email(email) = who
                && user.email.as_ref() != Some(email)
            {
                return Ok(());
            }
            let last_sent_at: Option<NaiveDateTime> = pin_resets::table
                .filter(pin_resets::user_id.eq(id))
                .select(diesel::dsl::max(pin_resets::created_at))
                .first(conn)?;
            let at = now();
            let Some(link) = decide_reset_request(Some(&user), last_sent_at.map(utc), at) else {
                return Ok(());
            };
            let Some(address) = &user.email else {
                return Ok(());
            };
            void_pending_resets(conn, user.id, at)?;
            diesel::insert_into(pin_resets::table)
                .values((
                    pin_resets::user_id.eq(id),
                    pin_resets::token_digest.eq(token_digest),
                    pin_resets::created_at.eq(at.naive_utc()),
                    pin_resets::expires_at.eq(link.expires_at.naive_utc()),
                ))
                .execute(conn)?;
            let mail = OutgoingMail::PinReset(PinResetMail {
                recipient: user.id,
                recipient_name: user.username.clone(),
                nonce: nonce.to_owned(),
                expires_at: timestamp(link.expires_at),
            });
            queue_mail(conn, &[(address, &mail)])
        })
    }

    /// Sets `new` as the PIN of the account whose reset link's token has
    /// `token_digest`, if `domain::pin_reset::decide_reset_use` says the
    /// link still works (an unknown, used, voided or expired one is
    /// [`domain::Refusal::NotFound`], all alike). The link is checked
    /// before the Argon2 work, so a made-up one costs none, and again
    /// under the account's lock with the new hash ready: of two uses at
    /// once, one sets the PIN. The change ends every bearer token, browser
    /// session and API token of the account, clears its lock-out, marks
    /// the link used and voids any other. Answers the account.
    pub fn reset_pin(
        &self,
        hashing: HashingPlace,
        token_digest: &str,
        new: &Pin,
    ) -> StoreResult<User> {
        decide_reset_use(find_reset(&mut *self.conn()?, token_digest)?, now())?;
        let new_hash = hashing.0.hash(new)?;
        drop(hashing);
        self.write(|conn| {
            let Some(found) = find_reset(conn, token_digest)? else {
                return Err(domain::Refusal::NotFound.into());
            };
            lock_rows(conn, Locked::Users, &[found.account.0])?;
            let at = now();
            let done = decide_reset_use(find_reset(conn, token_digest)?, at)?;
            let marked = diesel::update(
                pin_resets::table
                    .filter(pin_resets::token_digest.eq(token_digest))
                    .filter(pin_resets::used_at.is_null())
                    .filter(pin_resets::voided_at.is_null()),
            )
            .set(pin_resets::used_at.eq(at.naive_utc()))
            .execute(conn)?;
            if marked != 1 {
                return Err(domain::Refusal::NotFound.into());
            }
            for lane in [LoginLane::Untrusted, LoginLane::KnownDevice] {
                store_login_record(conn, done.account, lane, done.record)?;
            }
            if done.ends_api_tokens {
                end_api_tokens(conn, done.account)?;
            }
            let (user, _) = replace_pin(conn, done.account, Some(&new_hash), done.ends_sessions)?;
            Ok(user)
        })
    }

    /// Deletes the resets whose links have expired (used or not): a link
    /// of none is refused alike, and an expired one is older than the
    /// five minutes the per-account budget looks back. Answers how many
    /// rows went.
    pub fn forget_expired_pin_resets(&self) -> StoreResult<usize> {
        let at = now().naive_utc();
        self.write(|conn| {
            Ok(
                diesel::delete(pin_resets::table.filter(pin_resets::expires_at.le(at)))
                    .execute(conn)?,
            )
        })
    }
}

/// The reset whose token has `token_digest`, with its account's standing.
fn find_reset(conn: &mut DbConnection, token_digest: &str) -> StoreResult<Option<PendingReset>> {
    type ResetRow = (
        i64,
        bool,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let row: Option<ResetRow> = pin_resets::table
        .inner_join(users::table)
        .filter(pin_resets::token_digest.eq(token_digest))
        .select((
            pin_resets::user_id,
            users::active,
            pin_resets::expires_at,
            pin_resets::used_at,
            pin_resets::voided_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(account, active, expires_at, used_at, voided_at)| PendingReset {
            account: UserId(account),
            account_active: active,
            expires_at: utc(expires_at),
            used: used_at.is_some(),
            voided: voided_at.is_some(),
        },
    ))
}
