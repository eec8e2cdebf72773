//! API tokens for programs: what a token's name and lifetime may be, how
//! many live ones an account may hold, who manages whose, who a presented
//! token speaks for (and whether it may write), and when its last use is
//! worth writing down.
//!
//! A token is a credential of its own beside the PIN: it acts as its
//! account with the account's current role, so a deactivated account's
//! tokens hold nothing, while a PIN change or an admin's reset leaves them
//! be (the owner lists them and revokes what they no longer trust). A PIN
//! reset by mail ends them (`pin_reset`).

use chrono::{DateTime, TimeDelta, Utc};

use crate::accounts::Standing;
use crate::entities::User;
use crate::ids::UserId;
use crate::login::BAD_TOKEN;
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::values::ValidationError;
use crate::visible::is_blank;

/// The most characters a token's name may have.
pub const TOKEN_NAME_MAX_CHARS: usize = 100;
/// The shortest lifetime a token may be given, in days.
pub const MIN_EXPIRES_IN_DAYS: i64 = 1;
/// The longest lifetime a token may be given, in days (a token without
/// one lasts until it is revoked).
pub const MAX_EXPIRES_IN_DAYS: i64 = 3650;
/// The most live (unexpired) tokens one account may hold.
pub const LIVE_TOKENS_PER_ACCOUNT: usize = 20;
/// How stale a token's `lastUsedAt` may be before a use writes it again,
/// in seconds: a busy program's every request would otherwise be a write.
pub const LAST_USE_PRECISION_SECONDS: i64 = 60;

/// The answer to a 21st live token.
pub const TOO_MANY_TOKENS: Refusal =
    Refusal::Conflict("an account may hold at most 20 live API tokens; revoke one first");
/// The answer to a read-only token sent with anything but a read.
pub const READ_ONLY_TOKEN: Refusal =
    Refusal::Forbidden("this API token is read-only; it may only read");

/// An API token's id, as its owner lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiTokenId(pub i64);

impl std::fmt::Display for ApiTokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a token is called by its owner: not blank, no NUL, at most
/// [`TOKEN_NAME_MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if is_blank(&raw) {
            return Err(ValidationError::new("name", "must not be blank"));
        }
        // PostgreSQL cannot store U+0000 in text.
        if raw.contains('\0') {
            return Err(ValidationError::new(
                "name",
                "must not contain NUL characters",
            ));
        }
        if raw.chars().count() > TOKEN_NAME_MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {TOKEN_NAME_MAX_CHARS} characters"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many days a new token lasts: [`MIN_EXPIRES_IN_DAYS`] to
/// [`MAX_EXPIRES_IN_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiresInDays(i64);

impl ExpiresInDays {
    pub fn parse(days: i64) -> Result<Self, ValidationError> {
        if (MIN_EXPIRES_IN_DAYS..=MAX_EXPIRES_IN_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(ValidationError::new(
                "expiresInDays",
                format!(
                    "must be a whole number of days from {MIN_EXPIRES_IN_DAYS} to {MAX_EXPIRES_IN_DAYS}"
                ),
            ))
        }
    }

    pub fn days(self) -> i64 {
        self.0
    }
}

/// A token its owner asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub name: TokenName,
    /// `None`: it lasts until revoked.
    pub expires_in: Option<ExpiresInDays>,
    /// Whether it may only read.
    pub read_only: bool,
}

/// A token as its owner (or an admin) lists it; never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub owner: UserId,
    pub name: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// To within [`LAST_USE_PRECISION_SECONDS`].
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether the token still opens anything (its account permitting).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        is_live(self.expires_at, now)
    }
}

/// Whether a token that expires at `expires_at` is still live at `now`.
pub fn is_live(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_none_or(|expires_at| now < expires_at)
}

/// Whose tokens `actor` may list and revoke: their own, and an admin
/// anyone's. Anyone else's are not found, so ids leak nothing.
pub fn may_manage_tokens_of(actor: Actor, owner: UserId) -> Result<(), Refusal> {
    if actor.id() == owner || actor.role() == Role::Admin {
        Ok(())
    } else {
        Err(Refusal::NotFound)
    }
}

/// When a new token expires, if the account, holding `live_tokens` live
/// ones now, may have another: at most [`LIVE_TOKENS_PER_ACCOUNT`].
pub fn decide_new_token(
    new: &NewApiToken,
    live_tokens: usize,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Refusal> {
    if live_tokens >= LIVE_TOKENS_PER_ACCOUNT {
        return Err(TOO_MANY_TOKENS);
    }
    Ok(new
        .expires_in
        .map(|days| now + TimeDelta::days(days.days())))
}

/// What a request does with its credential: the API's reads (`GET`,
/// `HEAD`) and everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// What the store found for a presented token: its row's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedToken {
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who a presented token speaks for, for a request of `access`: its
/// account as the database has it now, if the token exists (a revoked one
/// does not), has not expired, and the account is active; the role is the
/// account's current one. A read-only token asked to write is forbidden
/// (the token holds; it is its scope that refuses).
pub fn decide_token_session(
    found: Option<(&User, PresentedToken)>,
    access: Access,
    now: DateTime<Utc>,
) -> Result<Actor, Refusal> {
    let Some((user, token)) = found else {
        return Err(Refusal::Unauthenticated(BAD_TOKEN));
    };
    if !user.active || !is_live(token.expires_at, now) {
        return Err(Refusal::Unauthenticated(BAD_TOKEN));
    }
    if token.read_only && access == Access::Write {
        return Err(READ_ONLY_TOKEN);
    }
    Ok(Actor::authenticated(user.id, user.role))
}

/// Whether an account's change from `before` to `after` ends its API
/// tokens for good: a deactivation does (reactivating the account later
/// does not revive what may have leaked meanwhile); a role change or a PIN
/// reset does not (the token is a credential apart from the PIN).
pub fn change_ends_api_tokens(before: Standing, after: Standing) -> bool {
    before.active && !after.active
}

/// Whether a use at `now` writes the token's `lastUsedAt`, stored as
/// `last_used_at`: only the first use, and one when the stored value is
/// more than [`LAST_USE_PRECISION_SECONDS`] old.
pub fn records_use(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|last| now - last >= TimeDelta::seconds(LAST_USE_PRECISION_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    fn account(active: bool) -> User {
        User {
            id: OWNER.id(),
            username: "kayode".to_owned(),
            role: Role::Customer,
            active,
            email: None,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    fn new_token(expires_in: Option<i64>) -> NewApiToken {
        NewApiToken {
            name: TokenName::parse("crm sync").expect("valid name"),
            expires_in: expires_in.map(|days| ExpiresInDays::parse(days).expect("in range")),
            read_only: false,
        }
    }

    const FULL: PresentedToken = PresentedToken {
        read_only: false,
        expires_at: None,
    };
    const READ_ONLY: PresentedToken = PresentedToken {
        read_only: true,
        expires_at: None,
    };

    #[test]
    fn a_name_must_show_something_and_stay_short() {
        assert!(TokenName::parse("").is_err());
        assert!(TokenName::parse(" \u{200B}\t").is_err());
        assert!(TokenName::parse("a\0b").is_err());
        assert!(TokenName::parse("ü".repeat(TOKEN_NAME_MAX_CHARS)).is_ok());
        assert!(TokenName::parse("ü".repeat(TOKEN_NAME_MAX_CHARS + 1)).is_err());
        let error = TokenName::parse("").expect_err("blank");
        assert_eq!(error.field, "name");
    }

    #[test]
    fn a_lifetime_is_a_day_to_ten_years() {
        assert!(ExpiresInDays::parse(0).is_err());
        assert!(ExpiresInDays::parse(-1).is_err());
        assert!(ExpiresInDays::parse(MIN_EXPIRES_IN_DAYS).is_ok());
        assert!(ExpiresInDays::parse(MAX_EXPIRES_IN_DAYS).is_ok());
        assert!(ExpiresInDays::parse(MAX_EXPIRES_IN_DAYS + 1).is_err());
        let error = ExpiresInDays::parse(0).expect_err("out of range");
        assert_eq!(error.field, "expiresInDays");
    }

    #[test]
    fn the_owner_and_admins_manage_tokens_and_nobody_else_sees_them() {
        assert_eq!(may_manage_tokens_of(OWNER, OWNER.id()), Ok(()));
        assert_eq!(may_manage_tokens_of(ADMIN, OWNER.id()), Ok(()));
        assert_eq!(
            may_manage_tokens_of(OTHER_CUSTOMER, OWNER.id()),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            may_manage_tokens_of(AGENT, OWNER.id()),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn a_twenty_first_live_token_is_refused() {
        assert_eq!(
            decide_new_token(&new_token(None), LIVE_TOKENS_PER_ACCOUNT, at(0)),
            Err(TOO_MANY_TOKENS)
        );
        assert_eq!(
            decide_new_token(&new_token(None), LIVE_TOKENS_PER_ACCOUNT - 1, at(0)),
            Ok(None)
        );
        assert_eq!(
            decide_new_token(&new_token(Some(2)), 0, at(0)),
            Ok(Some(at(2 * 86_400)))
        );
    }

    #[test]
    fn a_token_acts_as_its_active_account_in_its_current_role() {
        let mut admin_now = account(true);
        admin_now.role = Role::Admin;
        let actor = decide_token_session(Some((&admin_now, FULL)), Access::Write, at(0));
        assert_eq!(
            actor.map(|a| (a.id(), a.role())),
            Ok((OWNER.id(), Role::Admin))
        );
    }

    #[test]
    fn an_unknown_expired_or_deactivated_token_is_unauthenticated() {
        let unauthenticated = Err(Refusal::Unauthenticated(BAD_TOKEN));
        assert_eq!(
            decide_token_session(None, Access::Read, at(0)),
            unauthenticated
        );
        let inactive = account(false);
        assert_eq!(
            decide_token_session(Some((&inactive, FULL)), Access::Read, at(0)),
            unauthenticated
        );
        let expiring = PresentedToken {
            read_only: false,
            expires_at: Some(at(10)),
        };
        let active = account(true);
        assert!(decide_token_session(Some((&active, expiring)), Access::Read, at(9)).is_ok());
        assert_eq!(
            decide_token_session(Some((&active, expiring)), Access::Read, at(10)),
            unauthenticated
        );
    }

    #[test]
    fn a_read_only_token_reads_and_is_forbidden_to_write() {
        let active = account(true);
        assert!(decide_token_session(Some((&active, READ_ONLY)), Access::Read, at(0)).is_ok());
        assert_eq!(
            decide_token_session(Some((&active, READ_ONLY)), Access::Write, at(0)),
            Err(READ_ONLY_TOKEN)
        );
        // An expired read-only token is no token at all, whatever it asks.
        let expired = PresentedToken {
            read_only: true,
            expires_at: Some(at(0)),
        };
        assert_eq!(
            decide_token_session(Some((&active, expired)), Access::Write, at(1)),
            Err(Refusal::Unauthenticated(BAD_TOKEN))
        );
    }

    #[test]
    fn only_a_deactivation_ends_an_accounts_tokens() {
        let standing = |role, active| Standing { role, active };
        assert!(change_ends_api_tokens(
            standing(Role::Customer, true),
            standing(Role::Customer, false)
        ));
        assert!(!change_ends_api_tokens(
            standing(Role::Customer, true),
            standing(Role::Admin, true)
        ));
        assert!(!change_ends_api_tokens(
            standing(Role::Customer, false),
            standing(Role::Customer, true)
        ));
        assert!(!change_ends_api_tokens(
            standing(Role::Customer, false),
            standing(Role::Customer, false)
        ));
    }

    #[test]
    fn the_first_use_is_recorded_and_then_once_a_minute() {
        assert!(records_use(None, at(0)));
        assert!(!records_use(Some(at(0)), at(59)));
        assert!(records_use(Some(at(0)), at(60)));
    }

    proptest! {
        /// However requests arrive, `lastUsedAt` is written at most once a
        /// minute and is never more than a minute behind the last use.
        #[test]
        fn last_use_is_written_at_most_once_a_minute_and_never_lags_more(
            gaps in proptest::collection::vec(0_i64..200, 1..60),
        ) {
            let mut stored: Option<DateTime<Utc>> = None;
            let mut now = at(0);
            let mut writes: Vec<DateTime<Utc>> = Vec::new();
            for gap in gaps {
                now += TimeDelta::seconds(gap);
                if records_use(stored, now) {
                    stored = Some(now);
                    writes.push(now);
                }
                let last = stored.expect("the first use is always written");
                prop_assert!(now - last < TimeDelta::seconds(LAST_USE_PRECISION_SECONDS));
            }
            for pair in writes.windows(2) {
                prop_assert!(pair[1] - pair[0] >= TimeDelta::seconds(LAST_USE_PRECISION_SECONDS));
            }
        }

        /// The cap: an account never gets a token past its 20th live one,
        /// whatever order creations and revocations come in.
        #[test]
        fn no_sequence_of_creations_and_revocations_passes_the_cap(
            steps in proptest::collection::vec(any::<bool>(), 1..100),
        ) {
            let mut live = 0_usize;
            for create in steps {
                if create {
                    if decide_new_token(&new_token(None), live, at(0)).is_ok() {
                        live += 1;
                    }
                } else {
                    live = live.saturating_sub(1);
                }
                prop_assert!(live <= LIVE_TOKENS_PER_ACCOUNT);
            }
        }

        /// A name is accepted exactly when it shows something, holds no
        /// NUL and has at most 100 characters.
        #[test]
        fn a_name_is_accepted_exactly_within_its_language(raw in "\\PC{0,120}|[ \t\u{200B}]{0,5}") {
            let expected = !is_blank(&raw)
                && !raw.contains('\0')
                && raw.chars().count() <= TOKEN_NAME_MAX_CHARS;
            prop_assert_eq!(TokenName::parse(raw.clone()).is_ok(), expected);
        }
    }
}
