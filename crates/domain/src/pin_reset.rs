//! A PIN reset by mail: who a request names, whether it sends a link (an
//! active account with an address, at most one mail per account every
//! [`MAIL_EVERY_MINUTES`]), and whether a link still works (unused, not
//! voided, unexpired; every other case answered alike). Whoever holds the
//! link holds the account: what a reset ends is decided here too.

use chrono::{DateTime, TimeDelta, Utc};

use crate::entities::User;
use crate::ids::UserId;
use crate::login::LoginRecord;
use crate::refusal::Refusal;
use crate::values::{EmailAddress, Username, ValidationError};

/// How long a link works after its mail was queued.
pub const LINK_LIFETIME_MINUTES: i64 = 30;
/// An account is sent at most one link in this many minutes; a request
/// within them is answered the same and sends nothing.
pub const MAIL_EVERY_MINUTES: i64 = 5;

/// Who a reset request names: an address or a username, exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetFor {
    Email(EmailAddress),
    Username(Username),
}

/// Why a request that names both or neither is refused (after the field
/// name `email`: "email or username is required, not both").
pub const EXACTLY_ONE: &str = "or username is required, not both";

impl ResetFor {
    /// The request's `email` or `username`, exactly one, each as its own
    /// type parses it.
    pub fn parse(email: Option<String>, username: Option<String>) -> Result<Self, ValidationError> {
        match (email, username) {
            (Some(email), None) => Ok(ResetFor::Email(EmailAddress::parse(email)?)),
            (None, Some(username)) => Ok(ResetFor::Username(Username::parse(username)?)),
            _ => Err(ValidationError::new("email", EXACTLY_ONE)),
        }
    }
}

impl ResetFor {
    /// One field that takes either, as a form has it: text with an `@` is
    /// an address (no username has one), anything else a username.
    pub fn parse_either(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.contains('@') {
            Ok(ResetFor::Email(EmailAddress::parse(raw)?))
        } else {
            Ok(ResetFor::Username(Username::parse(raw)?))
        }
    }
}

/// A link to queue: when it stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkToSend {
    pub expires_at: DateTime<Utc>,
}

/// Whether a request for `account` (`None`: no account matched) sends a
/// link now, given when the account was last sent one. Nothing for an
/// account that is missing, deactivated or without an address, or that was
/// sent one within [`MAIL_EVERY_MINUTES`]; the client is answered the same
/// either way, so it learns nothing.
pub fn decide_reset_request(
    account: Option<&User>,
    last_sent_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<LinkToSend> {
    let account = account?;
    if !account.active || account.email.is_none() {
        return None;
    }
    if last_sent_at.is_some_and(|last| now - last < TimeDelta::minutes(MAIL_EVERY_MINUTES)) {
        return None;
    }
    Some(LinkToSend {
        expires_at: now + TimeDelta::minutes(LINK_LIFETIME_MINUTES),
    })
}

/// A reset as the database holds it, found by its token's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingReset {
    pub account: UserId,
    /// Whether its account is still active.
    pub account_active: bool,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// Voided by a newer request or by a PIN change.
    pub voided: bool,
}

/// What a reset link's use does to its account, beyond the new PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinResetByLink {
    pub account: UserId,
    /// Both login records start over: the lock-out is cleared.
    pub record: LoginRecord,
    /// Every bearer token and browser session issued before ends.
    pub ends_sessions: bool,
    /// The account's API tokens end too: the link is used when the PIN
    /// is lost or may be known to someone else, and a token made with it
    /// meanwhile must not outlive it.
    pub ends_api_tokens: bool,
}

/// Whether the reset found by a link's token (`None`: no such token) may
/// set a new PIN now. Unknown, used, voided, expired, or of an account
/// deactivated since: one refusal, [`Refusal::NotFound`], for all.
pub fn decide_reset_use(
    found: Option<PendingReset>,
    now: DateTime<Utc>,
) -> Result<PinResetByLink, Refusal> {
    let reset = found.ok_or(Refusal::NotFound)?;
    if reset.used || reset.voided || !reset.account_active || now >= reset.expires_at {
        return Err(Refusal::NotFound);
    }
    Ok(PinResetByLink {
        account: reset.account,
        record: LoginRecord::default(),
        ends_sessions: true,
        ends_api_tokens: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    fn account(active: bool, email: bool) -> User {
        User {
            id: UserId(7),
            username: "kayode".into(),
            role: Role::Customer,
            active,
            email: email.then(|| EmailAddress::parse("kayode@example.com").expect("address")),
            created_at: at(0),
            updated_at: at(0),
        }
    }

    #[test]
    fn a_request_names_exactly_one_of_address_and_username() {
        assert_eq!(
            ResetFor::parse(Some("Kayode@Example.com".into()), None),
            Ok(ResetFor::Email(
                EmailAddress::parse("kayode@example.com").expect("address")
            ))
        );
        assert!(matches!(
            ResetFor::parse(None, Some("kayode".into())),
            Ok(ResetFor::Username(_))
        ));
        for (email, username) in [
            (None, None),
            (
                Some("kayode@example.com".to_owned()),
                Some("kayode".to_owned()),
            ),
        ] {
            let refused = ResetFor::parse(email, username).expect_err("refused");
            assert!(refused.to_string().contains(EXACTLY_ONE), "{refused}");
        }
        assert!(ResetFor::parse(Some("not an address".into()), None).is_err());
        assert!(ResetFor::parse(None, Some(String::new())).is_err());
    }

    #[test]
    fn one_field_takes_an_address_or_a_username() {
        assert!(matches!(
            ResetFor::parse_either(" Kayode@Example.com "),
            Ok(ResetFor::Email(email)) if email.as_str() == "kayode@example.com"
        ));
        assert!(matches!(
            ResetFor::parse_either("kayode"),
            Ok(ResetFor::Username(name)) if name.as_str() == "kayode"
        ));
        assert!(ResetFor::parse_either("").is_err());
        assert!(ResetFor::parse_either("@").is_err());
    }

    #[test]
    fn a_link_lasts_thirty_minutes() {
        let link = decide_reset_request(Some(&account(true, true)), None, at(0));
        assert_eq!(
            link,
            Some(LinkToSend {
                expires_at: at(30 * 60)
            })
        );
    }

    #[test]
    fn a_link_ends_the_sessions_and_tokens_and_clears_the_lock() {
        let reset = PendingReset {
            account: UserId(7),
            account_active: true,
            expires_at: at(60),
            used: false,
            voided: false,
        };
        let done = decide_reset_use(Some(reset), at(0)).expect("usable");
        assert_eq!(done.account, UserId(7));
        assert_eq!(done.record, LoginRecord::default());
        assert!(done.ends_sessions && done.ends_api_tokens);
    }

    proptest! {
        /// Only an active account with an address is sent a link, and at
        /// most one every five minutes.
        #[test]
        fn only_an_active_account_with_an_address_is_sent_a_link_once_in_five_minutes(
            exists in any::<bool>(),
            active in any::<bool>(),
            email in any::<bool>(),
            last in proptest::option::of(-3600i64..3600),
            now in 0i64..3600,
        ) {
            let user = account(active, email);
            let found = exists.then_some(&user);
            let last_sent_at = last.map(at);
            let decided = decide_reset_request(found, last_sent_at, at(now));
            let recent = last.is_some_and(|last| now - last < MAIL_EVERY_MINUTES * 60);
            prop_assert_eq!(decided.is_some(), exists && active && email && !recent);
            if let Some(link) = decided {
                prop_assert_eq!(link.expires_at, at(now + LINK_LIFETIME_MINUTES * 60));
            }
        }

        /// A link works only unused, not voided, unexpired, for an active
        /// account; every other case is the same 404.
        #[test]
        fn a_link_works_once_until_it_expires_and_every_refusal_is_alike(
            found in any::<bool>(),
            used in any::<bool>(),
            voided in any::<bool>(),
            active in any::<bool>(),
            expires in -100i64..100,
        ) {
            let reset = found.then_some(PendingReset {
                account: UserId(7),
                account_active: active,
                expires_at: at(expires),
                used,
                voided,
            });
            let usable = found && !used && !voided && active && expires > 0;
            match decide_reset_use(reset, at(0)) {
                Ok(done) => prop_assert!(usable && done.account == UserId(7)),
                Err(refusal) => prop_assert!(!usable && refusal == Refusal::NotFound),
            }
        }
    }
}
