//! Login throttling: after repeated failures a username is locked for a time
//! that doubles with each lock-out, up to a cap.

use chrono::{DateTime, TimeDelta, Utc};

use crate::rules::Refusal;

/// The one answer to a wrong username, a wrong PIN and a deactivated
/// account alike, so none can be told from the others.
pub const BAD_CREDENTIALS: &str = "invalid username or pin";

/// Consecutive failures that lock a username.
pub const FAILURES_PER_LOCK: u32 = 5;
/// The first lock's length; each later lock doubles it.
pub const FIRST_LOCK_SECONDS: i64 = 30;
/// The longest lock.
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;

/// A username's login record as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginRecord {
    /// Failures since the last successful login.
    pub consecutive_failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl LoginRecord {
    /// How long the caller must still wait, if the username is locked at `now`.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// The record after one more failed login at `now`: every
    /// [`FAILURES_PER_LOCK`]th failure in a row starts a lock, twice as long as
    /// the one before it.
    pub fn after_failure(&self, now: DateTime<Utc>) -> LoginRecord {
        let failures = self.consecutive_failures.saturating_add(1);
        let locked_until = if failures % FAILURES_PER_LOCK == 0 {
            let lockouts = failures / FAILURES_PER_LOCK;
            Some(now + lock_length(lockouts))
        } else {
            self.locked_until
        };
        LoginRecord {
            consecutive_failures: failures,
            locked_until,
        }
    }

    /// Admits one login attempt at `now`, or refuses it while the username
    /// is locked. The attempt counts as a failure until it succeeds, so
    /// guesses sent in parallel cannot all get in before the lock does.
    pub fn claim_attempt(&self, now: DateTime<Utc>) -> Result<LoginRecord, Refusal> {
        match self.locked_for(now) {
            Some(wait) => {
                let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
                Err(Refusal::Throttled {
                    retry_after_secs: millis.div_ceil(1000).max(1),
                })
            }
            None => Ok(self.after_failure(now)),
        }
    }

    /// The record after a successful login: counting starts again.
    pub fn after_success() -> LoginRecord {
        LoginRecord::default()
    }
}

/// Whether a login whose PIN was checked succeeds.
pub fn admit_login(pin_matches: bool, account_active: bool) -> Result<(), Refusal> {
    if pin_matches && account_active {
        Ok(())
    } else {
        Err(Refusal::Unauthenticated(BAD_CREDENTIALS))
    }
}

/// The length of the `lockouts`th lock in a row (1-based).
pub fn lock_length(lockouts: u32) -> TimeDelta {
    let doublings = lockouts.saturating_sub(1).min(16);
    let seconds = (FIRST_LOCK_SECONDS << doublings).min(MAX_LOCK_SECONDS);
    TimeDelta::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn four_failures_do_not_lock_and_the_fifth_does() {
        let mut record = LoginRecord::default();
        for _ in 0..4 {
            record = record.after_failure(at(0));
            assert_eq!(record.locked_for(at(0)), None);
        }
        record = record.after_failure(at(0));
        assert_eq!(record.locked_for(at(0)), Some(TimeDelta::seconds(30)));
        assert_eq!(record.locked_for(at(30)), None);
    }

    #[test]
    fn each_lockout_doubles_up_to_fifteen_minutes() {
        let lengths: Vec<i64> = (1..=7).map(|n| lock_length(n).num_seconds()).collect();
        assert_eq!(lengths, vec![30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(lock_length(u32::MAX).num_seconds(), 900);
    }

    #[test]
    fn an_attempt_is_refused_while_locked_and_counted_otherwise() {
        let mut record = LoginRecord::default();
        for _ in 0..5 {
            record = record.claim_attempt(at(0)).expect("not locked yet");
        }
        assert_eq!(
            record.claim_attempt(at(10)),
            Err(Refusal::Throttled {
                retry_after_secs: 20
            })
        );
        let after_lock = record.claim_attempt(at(30)).expect("lock expired");
        assert_eq!(after_lock.consecutive_failures, 6);
    }

    #[test]
    fn only_the_right_pin_on_an_active_account_logs_in() {
        assert_eq!(admit_login(true, true), Ok(()));
        for (pin_matches, active) in [(false, true), (true, false), (false, false)] {
            assert_eq!(
                admit_login(pin_matches, active),
                Err(Refusal::Unauthenticated(BAD_CREDENTIALS))
            );
        }
    }

    #[test]
    fn a_success_resets_the_count() {
        assert_eq!(LoginRecord::after_success(), LoginRecord::default());
    }

    proptest! {
        #[test]
        fn a_lock_never_exceeds_the_cap_and_never_shrinks(lockouts in 1u32..1000) {
            let this = lock_length(lockouts);
            prop_assert!(this <= TimeDelta::seconds(MAX_LOCK_SECONDS));
            prop_assert!(lock_length(lockouts + 1) >= this);
        }
    }
}
