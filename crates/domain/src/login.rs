//! Logging in and staying logged in: which credentials and tokens hold,
//! and login throttling: after repeated failures a username, known or not,
//! is locked for a time that doubles with each lock-out, up to a cap; and a
//! client address has a budget of failed logins across all usernames.

use std::net::IpAddr;
use std::num::NonZeroU32;

use chrono::{DateTime, TimeDelta, Utc};

use crate::entities::User;
use crate::ids::UserId;
use crate::refusal::Refusal;
use crate::roles::Actor;
use crate::values::{Pin, Username};

/// The one answer to a wrong username, a wrong PIN, a malformed one and a
/// deactivated account alike, so none can be told from the others.
pub const BAD_CREDENTIALS: &str = "invalid username or pin";
/// The one answer to a missing, malformed, expired or forged token, and to
/// the token of an account that is gone or deactivated.
pub const BAD_TOKEN: &str = "missing, invalid or expired token";

/// Consecutive failures that lock a username.
pub const FAILURES_PER_LOCK: u32 = 5;
/// The first lock's length; each later lock doubles it.
pub const FIRST_LOCK_SECONDS: i64 = 30;
/// The longest lock.
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
/// A username's failures are forgotten after this long without one (and no
/// lock in force). The same rule for every name, known or not, lets the
/// store forget the records of names that have no account, so that memory
/// stays bounded without telling the two apart.
pub const FAILURES_FORGOTTEN_AFTER_HOURS: i64 = 24;
/// The default budget of failed logins from one client address, across all
/// usernames, in [`ADDRESS_FAILURE_PERIOD_MINUTES`].
pub const DEFAULT_FAILED_LOGINS_PER_ADDRESS: u32 = 10;
/// The period an address's budget of failed logins refills over.
pub const ADDRESS_FAILURE_PERIOD_MINUTES: i64 = 10;

/// A username and PIN as a login sends them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: Username,
    pub pin: Pin,
}

impl Credentials {
    /// A malformed username or PIN cannot belong to anyone, so it is
    /// refused exactly as a wrong one is, not as invalid input, which would
    /// tell the two apart.
    pub fn parse(username: String, pin: String) -> Result<Self, Refusal> {
        match (Username::parse(username), Pin::parse(pin)) {
            (Ok(username), Ok(pin)) => Ok(Self { username, pin }),
            _ => Err(Refusal::Unauthenticated(BAD_CREDENTIALS)),
        }
    }
}

/// A username's login record as the store keeps it: an account's, or that
/// of a name no account has (kept alike, so the two cannot be told apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginRecord {
    /// Failures since the last successful login.
    pub consecutive_failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

/// Records whose last failure is older than this, with no lock in force,
/// count as empty; the store may delete those of names with no account.
pub fn failures_forgotten_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::hours(FAILURES_FORGOTTEN_AFTER_HOURS)
}

impl LoginRecord {
    /// The record as it counts at `now`: empty once its failures are
    /// forgotten ([`FAILURES_FORGOTTEN_AFTER_HOURS`] without one, no lock in
    /// force).
    fn as_of(self, now: DateTime<Utc>) -> LoginRecord {
        let quiet = self
            .last_failure_at
            .is_none_or(|last| last <= failures_forgotten_before(now));
        if quiet && self.locked_for(now).is_none() {
            LoginRecord::default()
        } else {
            self
        }
    }

    /// How long the caller must still wait, if the username is locked at `now`.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// The record after one more failed login at `now`: every
    /// [`FAILURES_PER_LOCK`]th failure in a row starts a lock, twice as long as
    /// the one before it.
    fn after_failure(&self, now: DateTime<Utc>) -> LoginRecord {
        let failures = self.consecutive_failures.saturating_add(1);
        let locked_until = if failures.is_multiple_of(FAILURES_PER_LOCK) {
            let lockouts = failures / FAILURES_PER_LOCK;
            Some(now + lock_length(lockouts))
        } else {
            self.locked_until
        };
        LoginRecord {
            consecutive_failures: failures,
            locked_until,
            last_failure_at: Some(now),
        }
    }
}

/// Whose failures a PIN check counts on. A username's lock-out is what
/// makes a 4-digit PIN safe, and also what lets anyone lock its owner out
/// by guessing wrong on purpose. So (OWASP's device cookies) a client that
/// has logged in to this very account before carries a signed cookie, and
/// its attempts count on a record of their own: strangers' failures lock
/// strangers out, not the owner's known devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginLane {
    /// Everyone else: any client, any address.
    Untrusted,
    /// Clients holding a device cookie issued to this account.
    KnownDevice,
}

/// The lane of a login attempt on `account` from a client whose device
/// cookie (if any, verified) was issued to `device_of`: a known device only
/// for the very account it was issued to.
pub fn login_lane(device_of: Option<UserId>, account: Option<UserId>) -> LoginLane {
    match (device_of, account) {
        (Some(device), Some(account)) if device == account => LoginLane::KnownDevice,
        _ => LoginLane::Untrusted,
    }
}

/// An account's two login records, one per lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginRecords {
    pub untrusted: LoginRecord,
    pub known_device: LoginRecord,
}

impl LoginRecords {
    /// The record an attempt in `lane` is judged by.
    pub fn of(&self, lane: LoginLane) -> LoginRecord {
        match lane {
            LoginLane::Untrusted => self.untrusted,
            LoginLane::KnownDevice => self.known_device,
        }
    }

    /// The records with `lane`'s replaced; the other lane's is untouched.
    pub fn with(self, lane: LoginLane, record: LoginRecord) -> Self {
        match lane {
            LoginLane::Untrusted => Self {
                untrusted: record,
                ..self
            },
            LoginLane::KnownDevice => Self {
                known_device: record,
                ..self
            },
        }
    }
}

/// A client address's budget of failed logins across all usernames, so
/// that one address cannot try a PIN on name after name (each under its
/// own lock-out). A failure spends one; the budget refills one every
/// `period / failures`, up to `failures` (a generic cell rate: `full_at`,
/// the instant it is whole again, is all that is kept). A success gives its
/// attempt back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBudget {
    failures: NonZeroU32,
    period: TimeDelta,
}

impl AddressBudget {
    pub fn new(failures: NonZeroU32, period: TimeDelta) -> Self {
        Self { failures, period }
    }

    /// [`DEFAULT_FAILED_LOGINS_PER_ADDRESS`]-style budgets: `failures` in
    /// [`ADDRESS_FAILURE_PERIOD_MINUTES`]; `None` for 0 (no budget).
    pub fn per_period(failures: u32) -> Option<Self> {
        NonZeroU32::new(failures)
            .map(|n| Self::new(n, TimeDelta::minutes(ADDRESS_FAILURE_PERIOD_MINUTES)))
    }

    /// The time one failure takes to come back.
    fn interval(&self) -> TimeDelta {
        self.period / i32::try_from(self.failures.get()).unwrap_or(i32::MAX)
    }

    /// Spends one attempt at `now` from a budget whole again at `full_at`
    /// (`None`: never spent), answering the new `full_at`, or refuses with
    /// the wait until one attempt is back.
    fn spend(
        &self,
        full_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Refusal> {
        let from = full_at.filter(|at| *at > now).unwrap_or(now);
        let spent = from + self.interval();
        if spent - now > self.period {
            let wait = spent - self.period - now;
            Err(throttled_for(wait))
        } else {
            Ok(spent)
        }
    }

    /// The budget after a success gave back the attempt it had spent.
    pub fn give_back(&self, full_at: DateTime<Utc>) -> DateTime<Utc> {
        full_at - self.interval()
    }
}

/// Where a login attempt comes from, when its address has a budget: the
/// address (as its budget is kept) and the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromAddress {
    pub address: IpAddr,
    pub budget: AddressBudget,
}

/// What admitting a login attempt writes before the PIN is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimedAttempt {
    /// The username's record with this attempt counted as a failure.
    pub record: LoginRecord,
    /// The address budget's new `full_at`, when this attempt spent from it.
    pub address_full_at: Option<DateTime<Utc>>,
}

/// Admits one login attempt at `now` (read with the records locked) and
/// answers what to store, or refuses it while the username is locked or
/// the address's budget of failures is spent. The attempt counts as a
/// failure until it succeeds, so guesses sent in parallel cannot all get
/// in before the lock does.
///
/// A username with no account has a record like any other and meets the
/// same lock-out, so a lock-out tells nothing of which names exist. Only
/// the untrusted lane spends from the address's budget: a known device's
/// owner mistyping is no spray. `address` is the budget and its `full_at`.
pub fn decide_login_attempt(
    record: LoginRecord,
    lane: LoginLane,
    address: Option<(AddressBudget, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Result<ClaimedAttempt, Refusal> {
    let record = record.as_of(now);
    if let Some(wait) = record.locked_for(now) {
        return Err(throttled_for(wait));
    }
    let address_full_at = match address.filter(|_| spends_from_address(lane)) {
        Some((budget, full_at)) => Some(budget.spend(full_at, now)?),
        None => None,
    };
    Ok(ClaimedAttempt {
        record: record.after_failure(now),
        address_full_at,
    })
}

/// Whether an attempt in `lane` spends from its address's budget: only a
/// stranger's; a known device's owner mistyping is no spray.
pub fn spends_from_address(lane: LoginLane) -> bool {
    lane == LoginLane::Untrusted
}

/// The refusal to wait `wait`, in whole seconds (at least one).
fn throttled_for(wait: TimeDelta) -> Refusal {
    let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
    Refusal::Throttled {
        retry_after_secs: millis.div_ceil(1000).max(1),
    }
}

/// Whether a login whose PIN was checked succeeds: only the right PIN of an
/// existing, active account. Answers the user and the record to store after
/// the success (counting starts again).
pub fn decide_login(
    account: Option<User>,
    pin_matches: bool,
) -> Result<(User, LoginRecord), Refusal> {
    match account {
        Some(user) if pin_matches && user.active => Ok((user, LoginRecord::default())),
        _ => Err(Refusal::Unauthenticated(BAD_CREDENTIALS)),
    }
}

/// A generation of an account's sessions. It moves on whenever the PIN
/// changes or the account is deactivated; a token carries the generation it
/// was issued in, so those events end every token issued before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct SessionEpoch(pub i64);

/// An account that just proved its PIN, and the session generation its new
/// token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    pub user: User,
    pub epoch: SessionEpoch,
}

/// Who a valid token speaks for: its account as the database has it now,
/// if that still exists, is active, and has not ended the token's session
/// generation (PIN change, deactivation). The role is the current one, not
/// the one the token was issued with.
pub fn decide_session(
    account: Option<(&User, SessionEpoch)>,
    token_epoch: SessionEpoch,
) -> Result<Actor, Refusal> {
    match account {
        Some((user, current)) if user.active && current == token_epoch => {
            Ok(Actor::authenticated(user.id, user.role))
        }
        _ => Err(Refusal::Unauthenticated(BAD_TOKEN)),
    }
}

/// The answer to a browser whose session has ended (signed out, expired,
/// or ended by a PIN change or deactivation).
pub const SESSION_ENDED: &str = "your session has ended; sign in again";

/// What a signed-in browser's session row holds: the account's session
/// generation it was opened in, and when it lapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserSession {
    pub epoch: SessionEpoch,
    pub expires_at: DateTime<Utc>,
}

/// Who a browser session speaks for: exactly as for a token
/// ([`decide_session`]), the account as it is now, and only until the
/// session expires. A session that is gone (signed out) is no session.
pub fn decide_browser_session(
    account: Option<(&User, SessionEpoch)>,
    session: Option<BrowserSession>,
    now: DateTime<Utc>,
) -> Result<Actor, Refusal> {
    match session {
        Some(session) if now < session.expires_at => decide_session(account, session.epoch)
            .map_err(|_| Refusal::Unauthenticated(SESSION_ENDED)),
        _ => Err(Refusal::Unauthenticated(SESSION_ENDED)),
    }
}

/// The answer to a PIN change whose current PIN is wrong.
pub const WRONG_CURRENT_PIN: &str = "the current pin is wrong";

/// What an allowed change of one's own PIN writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnPinChange {
    /// The login record after the right PIN: counting starts again.
    pub record: LoginRecord,
    /// Every token issued before the change stops working, on every device:
    /// whoever knew the old PIN may hold one.
    pub ends_sessions: bool,
}

/// Whether a user may replace their own PIN, once the current one they typed
/// was checked (an attempt claimed with [`decide_login_attempt`], so wrong
/// guesses here lock the username like failed logins). A wrong PIN is
/// forbidden, not unauthenticated: the session itself is fine.
pub fn decide_own_pin_change(current_pin_matches: bool) -> Result<OwnPinChange, Refusal> {
    if current_pin_matches {
        Ok(OwnPinChange {
            record: LoginRecord::default(),
            ends_sessions: true,
        })
    } else {
        Err(Refusal::Forbidden(WRONG_CURRENT_PIN))
    }
}

/// The length of the `lockouts`th lock in a row (1-based).
fn lock_length(lockouts: u32) -> TimeDelta {
    let doublings = lockouts.saturating_sub(1).min(16);
    let seconds = (FIRST_LOCK_SECONDS << doublings).min(MAX_LOCK_SECONDS);
    TimeDelta::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    fn user(active: bool) -> User {
        User {
            id: UserId(7),
            username: "kayode".to_owned(),
            role: Role::Customer,
            active,
            email: None,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    /// Claims `n` attempts at `now`, each expected to be admitted.
    fn claim(mut record: LoginRecord, n: u32, now: DateTime<Utc>) -> LoginRecord {
        for _ in 0..n {
            record = decide_login_attempt(record, LoginLane::Untrusted, None, now)
                .expect("not locked")
                .record;
        }
        record
    }

    #[test]
    fn four_failures_do_not_lock_and_the_fifth_does() {
        let four = claim(LoginRecord::default(), 4, at(0));
        assert_eq!(four.locked_for(at(0)), None);
        let five = claim(four, 1, at(0));
        assert_eq!(five.locked_for(at(0)), Some(TimeDelta::seconds(30)));
        assert_eq!(five.locked_for(at(30)), None);
    }

    #[test]
    fn each_lockout_doubles_up_to_fifteen_minutes() {
        let lengths: Vec<i64> = (1..=7).map(|n| lock_length(n).num_seconds()).collect();
        assert_eq!(lengths, vec![30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(lock_length(u32::MAX).num_seconds(), 900);
        let second_lock = claim(claim(LoginRecord::default(), 5, at(0)), 5, at(30));
        assert_eq!(second_lock.locked_for(at(30)), Some(TimeDelta::seconds(60)));
    }

    #[test]
    fn an_attempt_is_refused_while_locked_and_counted_otherwise() {
        let locked = claim(LoginRecord::default(), 5, at(0));
        assert_eq!(
            decide_login_attempt(locked, LoginLane::Untrusted, None, at(10)),
            Err(Refusal::Throttled {
                retry_after_secs: 20
            })
        );
        let after_lock = claim(locked, 1, at(30));
        assert_eq!(after_lock.consecutive_failures, 6);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_day_but_never_under_a_lock() {
        let day = FAILURES_FORGOTTEN_AFTER_HOURS * 3600;
        let four = claim(LoginRecord::default(), 4, at(0));
        // A day less a second later the fifth failure still locks.
        assert!(
            claim(four, 1, at(day - 1))
                .locked_for(at(day - 1))
                .is_some()
        );
        // A quiet day later the count starts again.
        let fresh = claim(four, 1, at(day));
        assert_eq!(fresh.consecutive_failures, 1);
        assert_eq!(fresh.locked_for(at(day)), None);
        // A lock still in force is never forgotten, however old the failure.
        let locked = LoginRecord {
            consecutive_failures: 5,
            locked_until: Some(at(2 * day)),
            last_failure_at: Some(at(0)),
        };
        assert!(decide_login_attempt(locked, LoginLane::Untrusted, None, at(day + 1)).is_err());
        // A record from before failures were dated is forgotten.
        let undated = LoginRecord {
            consecutive_failures: 4,
            locked_until: None,
            last_failure_at: None,
        };
        assert_eq!(claim(undated, 1, at(0)).consecutive_failures, 1);
    }

    fn ten_in_ten_minutes() -> AddressBudget {
        AddressBudget::per_period(DEFAULT_FAILED_LOGINS_PER_ADDRESS).expect("a budget")
    }

    /// One attempt from an address at `now`, each on a fresh username.
    fn spray(full_at: &mut Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), Refusal> {
        let claimed = decide_login_attempt(
            LoginRecord::default(),
            LoginLane::Untrusted,
            Some((ten_in_ten_minutes(), *full_at)),
            now,
        )?;
        *full_at = claimed.address_full_at;
        Ok(())
    }

    #[test]
    fn an_address_spends_ten_failures_across_usernames_then_waits_a_minute_for_each() {
        let mut full_at = None;
        for _ in 0..10 {
            spray(&mut full_at, at(0)).expect("within the budget");
        }
        assert_eq!(full_at, Some(at(600)));
        assert_eq!(
            spray(&mut full_at, at(0)),
            Err(Refusal::Throttled {
                retry_after_secs: 60
            })
        );
        assert_eq!(
            spray(&mut full_at, at(59)),
            Err(Refusal::Throttled {
                retry_after_secs: 1
            })
        );
        spray(&mut full_at, at(60)).expect("one came back");
        assert!(spray(&mut full_at, at(60)).is_err());
        // Ten minutes of quiet make it whole again.
        for _ in 0..10 {
            spray(&mut full_at, at(660)).expect("whole again");
        }
    }

    #[test]
    fn a_success_gives_its_attempt_back() {
        let budget = ten_in_ten_minutes();
        let mut full_at = None;
        for _ in 0..10 {
            spray(&mut full_at, at(0)).expect("within the budget");
        }
        let given_back = budget.give_back(full_at.expect("spent"));
        assert_eq!(given_back, at(540));
        full_at = Some(given_back);
        spray(&mut full_at, at(0)).expect("the success's attempt is back");
    }

    #[test]
    fn a_known_device_and_a_locked_username_spend_nothing_of_the_address() {
        let spent = Some((ten_in_ten_minutes(), Some(at(600))));
        let device =
            decide_login_attempt(LoginRecord::default(), LoginLane::KnownDevice, spent, at(0))
                .expect("a known device is not charged to the address");
        assert_eq!(device.address_full_at, None);
        let locked = claim(LoginRecord::default(), 5, at(0));
        let fresh = Some((ten_in_ten_minutes(), None));
        assert_eq!(
            decide_login_attempt(locked, LoginLane::Untrusted, fresh, at(1)),
            Err(Refusal::Throttled {
                retry_after_secs: 29
            }),
            "the name's lock answers first; nothing is spent"
        );
        assert_eq!(AddressBudget::per_period(0), None);
    }

    #[test]
    fn only_the_right_pin_on_an_active_account_logs_in() {
        assert_eq!(
            decide_login(Some(user(true)), true).map(|(user, _)| user.id),
            Ok(UserId(7))
        );
        for (account, pin_matches) in [
            (Some(user(true)), false),
            (Some(user(false)), true),
            (Some(user(false)), false),
            (None, true),
            (None, false),
        ] {
            assert_eq!(
                decide_login(account, pin_matches),
                Err(Refusal::Unauthenticated(BAD_CREDENTIALS))
            );
        }
    }

    #[test]
    fn a_success_lets_the_next_failures_start_from_zero() {
        let four = claim(LoginRecord::default(), 4, at(0));
        let (_, after_success) = decide_login(Some(user(true)), true).expect("logged in");
        let four_more = claim(after_success, 4, at(1));
        assert_eq!(four_more.locked_for(at(1)), None, "the count was not reset");
        assert!(claim(four, 1, at(1)).locked_for(at(1)).is_some());
    }

    #[test]
    fn malformed_credentials_get_the_same_refusal_as_wrong_ones() {
        for (username, pin) in [("kayode", "12"), ("has space", "0000"), ("", "")] {
            assert!(matches!(
                Credentials::parse(username.to_owned(), pin.to_owned()),
                Err(Refusal::Unauthenticated(BAD_CREDENTIALS))
            ));
        }
        assert!(Credentials::parse("kayode".to_owned(), "0000".to_owned()).is_ok());
    }

    #[test]
    fn a_token_speaks_only_for_an_active_account_in_its_current_role() {
        let mut promoted = user(true);
        promoted.role = Role::Admin;
        let epoch = SessionEpoch(3);
        assert_eq!(
            decide_session(Some((&promoted, epoch)), epoch),
            Ok(Actor::for_tests(UserId(7), Role::Admin))
        );
        let inactive = user(false);
        for gone in [None, Some((&inactive, epoch))] {
            assert_eq!(
                decide_session(gone, epoch),
                Err(Refusal::Unauthenticated(BAD_TOKEN))
            );
        }
    }

    #[test]
    fn a_token_from_an_ended_session_generation_no_longer_holds() {
        let active = user(true);
        let (issued, ended_since) = (SessionEpoch(3), SessionEpoch(4));
        assert_eq!(
            decide_session(Some((&active, ended_since)), issued),
            Err(Refusal::Unauthenticated(BAD_TOKEN))
        );
        assert!(decide_session(Some((&active, ended_since)), ended_since).is_ok());
    }

    #[test]
    fn an_own_pin_change_needs_the_current_pin_and_a_wrong_one_is_forbidden() {
        assert_eq!(
            decide_own_pin_change(true),
            Ok(OwnPinChange {
                record: LoginRecord::default(),
                ends_sessions: true
            })
        );
        assert_eq!(
            decide_own_pin_change(false),
            Err(Refusal::Forbidden(WRONG_CURRENT_PIN))
        );
    }

    #[test]
    fn a_device_cookie_counts_apart_only_for_its_own_account() {
        let (owner, other) = (Some(UserId(7)), Some(UserId(8)));
        assert_eq!(login_lane(owner, owner), LoginLane::KnownDevice);
        assert_eq!(login_lane(owner, other), LoginLane::Untrusted);
        assert_eq!(login_lane(None, owner), LoginLane::Untrusted);
        // An unknown username has no record on either lane.
        assert_eq!(login_lane(owner, None), LoginLane::Untrusted);
    }

    #[test]
    fn strangers_failures_lock_only_the_untrusted_lane() {
        let mut records = LoginRecords::default();
        for _ in 0..FAILURES_PER_LOCK {
            let counted = decide_login_attempt(
                records.of(LoginLane::Untrusted),
                LoginLane::Untrusted,
                None,
                at(0),
            )
            .expect("not locked yet")
            .record;
            records = records.with(LoginLane::Untrusted, counted);
        }
        assert_eq!(
            decide_login_attempt(
                records.of(LoginLane::Untrusted),
                LoginLane::Untrusted,
                None,
                at(1)
            ),
            Err(Refusal::Throttled {
                retry_after_secs: 29
            })
        );
        assert_eq!(records.known_device, LoginRecord::default());
        assert!(
            decide_login_attempt(
                records.of(LoginLane::KnownDevice),
                LoginLane::KnownDevice,
                None,
                at(1)
            )
            .is_ok()
        );
    }

    #[test]
    fn a_known_devices_failures_lock_only_its_own_lane() {
        let mut records = LoginRecords::default();
        for _ in 0..FAILURES_PER_LOCK {
            let counted = decide_login_attempt(
                records.of(LoginLane::KnownDevice),
                LoginLane::KnownDevice,
                None,
                at(0),
            )
            .expect("not locked yet")
            .record;
            records = records.with(LoginLane::KnownDevice, counted);
        }
        assert!(
            records
                .of(LoginLane::KnownDevice)
                .locked_for(at(1))
                .is_some()
        );
        assert_eq!(records.untrusted, LoginRecord::default());
        assert_eq!(records.of(LoginLane::Untrusted).locked_for(at(1)), None);
    }

    #[test]
    fn each_lane_reads_and_writes_its_own_record() {
        let untrusted = LoginRecord {
            consecutive_failures: 3,
            locked_until: None,
            last_failure_at: Some(at(2)),
        };
        let known_device = LoginRecord {
            consecutive_failures: 1,
            locked_until: Some(at(9)),
            last_failure_at: Some(at(8)),
        };
        let records = LoginRecords::default()
            .with(LoginLane::Untrusted, untrusted)
            .with(LoginLane::KnownDevice, known_device);
        assert_eq!(
            records,
            LoginRecords {
                untrusted,
                known_device
            }
        );
        assert_eq!(records.of(LoginLane::Untrusted), untrusted);
        assert_eq!(records.of(LoginLane::KnownDevice), known_device);
        let rewritten = records.with(LoginLane::Untrusted, LoginRecord::default());
        assert_eq!(rewritten.untrusted, LoginRecord::default());
        assert_eq!(
            rewritten.known_device, known_device,
            "the other lane is untouched"
        );
    }

    proptest! {
        /// However many wrong PINs strangers send, whenever, the owner's
        /// known device is never locked by them.
        #[test]
        fn strangers_never_lock_out_a_known_device(seconds in proptest::collection::vec(0i64..3600, 0..80)) {
            let mut records = LoginRecords::default();
            let mut sorted = seconds;
            sorted.sort_unstable();
            for second in sorted {
                if let Ok(counted) = decide_login_attempt(records.of(LoginLane::Untrusted), LoginLane::Untrusted, None, at(second)) {
                    records = records.with(LoginLane::Untrusted, counted.record);
                }
                prop_assert_eq!(records.of(LoginLane::KnownDevice), LoginRecord::default());
                prop_assert!(decide_login_attempt(records.of(LoginLane::KnownDevice), LoginLane::KnownDevice, None, at(second)).is_ok());
            }
        }

        /// However a spray from one address is spread over time, by any
        /// instant it has had at most the budget plus one attempt per
        /// minute since it began (the refill), whatever the usernames.
        #[test]
        fn a_spray_from_one_address_never_outruns_its_budget(gaps in proptest::collection::vec(0i64..200, 1..200)) {
            let mut full_at = None;
            let mut now = 0;
            let mut admitted = 0i64;
            for gap in gaps {
                now += gap;
                if spray(&mut full_at, at(now)).is_ok() {
                    admitted += 1;
                }
                prop_assert!(admitted <= i64::from(DEFAULT_FAILED_LOGINS_PER_ADDRESS) + now / 60,
                    "{} admitted by {}s", admitted, now);
            }
        }

        #[test]
        fn a_lock_never_exceeds_the_cap_and_never_shrinks(lockouts in 1u32..1000) {
            let this = lock_length(lockouts);
            prop_assert!(this <= TimeDelta::seconds(MAX_LOCK_SECONDS));
            prop_assert!(lock_length(lockouts + 1) >= this);
        }

        #[test]
        fn no_burst_of_attempts_gets_more_than_five_checks_per_lock(attempts in 1u32..60) {
            // However many attempts arrive at one instant, only those before
            // the lock are admitted.
            let mut record = LoginRecord::default();
            let mut admitted = 0;
            for _ in 0..attempts {
                match decide_login_attempt(record, LoginLane::Untrusted, None, at(0)) {
                    Ok(next) => { admitted += 1; record = next.record; }
                    Err(refusal) => prop_assert!(matches!(refusal, Refusal::Throttled { .. }), "{:?}", refusal),
                }
            }
            prop_assert_eq!(admitted, attempts.min(FAILURES_PER_LOCK));
        }
    }

    fn browser_session(epoch: i64, expires_in_secs: i64) -> Option<BrowserSession> {
        Some(BrowserSession {
            epoch: SessionEpoch(epoch),
            expires_at: session_now() + chrono::Duration::seconds(expires_in_secs),
        })
    }

    fn session_now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn session_user(active: bool) -> User {
        User {
            id: UserId(7),
            username: "kayode".to_owned(),
            role: Role::Customer,
            active,
            email: None,
            created_at: session_now(),
            updated_at: session_now(),
        }
    }

    #[test]
    fn a_browser_session_speaks_for_its_active_account_until_it_expires() {
        let user = session_user(true);
        let account = Some((&user, SessionEpoch(2)));
        assert_eq!(
            decide_browser_session(account, browser_session(2, 1), session_now()),
            Ok(Actor::for_tests(UserId(7), Role::Customer))
        );
        let ended = Err(Refusal::Unauthenticated(SESSION_ENDED));
        assert_eq!(
            decide_browser_session(account, browser_session(2, 0), session_now()),
            ended
        );
        assert_eq!(
            decide_browser_session(account, browser_session(2, -5), session_now()),
            ended
        );
    }

    #[test]
    fn a_browser_session_ends_with_its_generation_its_account_or_its_row() {
        let ended = Err(Refusal::Unauthenticated(SESSION_ENDED));
        let active = session_user(true);
        let deactivated = session_user(false);
        // A PIN change or deactivation moved the generation on.
        assert_eq!(
            decide_browser_session(
                Some((&active, SessionEpoch(3))),
                browser_session(2, 60),
                session_now()
            ),
            ended
        );
        assert_eq!(
            decide_browser_session(
                Some((&deactivated, SessionEpoch(2))),
                browser_session(2, 60),
                session_now()
            ),
            ended
        );
        assert_eq!(
            decide_browser_session(None, browser_session(2, 60), session_now()),
            ended
        );
        // Signed out: the row is gone.
        assert_eq!(
            decide_browser_session(Some((&active, SessionEpoch(2))), None, session_now()),
            ended
        );
    }
}
