//! Request budgets against floods: per client address on the doors that
//! hash a PIN (log-in, account creation, PIN changes) or send mail to
//! someone else (PIN reset requests, and the links' uses), per account on
//! writes (new tickets and replies). Each is a GCRA limiter (`governor`): a
//! budget of `n` a minute, bursts of up to `n`, a 429 with `Retry-After`
//! beyond it.
//!
//! These budgets live in this process: behind a load balancer, each server
//! process keeps its own. The per-username lock-out and each address's
//! budget of *failed* logins are in the database and hold across processes
//! (this module only says what that budget is: [`Limits::login_from`]).

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderName;
use axum::http::request::Parts;
use domain::accounts::creation_spends_sign_up_budget;
use domain::login::{AddressBudget, DEFAULT_FAILED_LOGINS_PER_ADDRESS, FromAddress};
use domain::{Creator, UserId};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::App;
use crate::problem::Problem;

/// The default budget of each anonymous door, per address, a minute.
pub const DEFAULT_ADDRESS_RATE_LIMIT: u32 = 20;
/// The default budget of ticket and reply creation, per account, a minute:
/// far beyond a person typing, well below a script gone wrong.
pub const DEFAULT_ACCOUNT_WRITE_LIMIT: u32 = 120;
/// Addresses (or accounts) remembered at most; see [`Budget::admit`].
const MAX_TRACKED_KEYS: usize = 100_000;

pub const TOO_MANY_LOGINS: &str = "too many login attempts from this address; try again later";
pub const TOO_MANY_SIGN_UPS: &str = "too many sign-ups from this address; try again later";
pub const TOO_MANY_PIN_CHANGES: &str = "too many PIN changes from this address; try again later";
pub const TOO_MANY_PIN_RESETS: &str =
    "too many PIN reset requests from this address; try again later";
pub const TOO_MANY_WRITES: &str = "too many new tickets and replies from this account; slow down";

/// The default for the longest a request may take (`REQUEST_TIMEOUT_SECS`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the budgets are set (`ADDRESS_RATE_LIMIT`, `ACCOUNT_WRITE_LIMIT`,
/// `FAILED_LOGIN_LIMIT`, `TRUSTED_PROXY_HEADER`); `0` turns a budget off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// The longest a request may take before it answers 503, and the
    /// longest a report download may stall before it is cut off.
    pub request_timeout: Duration,
    pub address_per_minute: u32,
    pub account_writes_per_minute: u32,
    /// Failed logins an address may make across all usernames in ten
    /// minutes (a known device's are not counted).
    pub failed_logins_per_address: u32,
    /// The header a trusted reverse proxy appends the client's address to
    /// (`X-Forwarded-For`); without one, the TCP peer is the client.
    pub trusted_proxy_header: Option<HeaderName>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            address_per_minute: DEFAULT_ADDRESS_RATE_LIMIT,
            account_writes_per_minute: DEFAULT_ACCOUNT_WRITE_LIMIT,
            failed_logins_per_address: DEFAULT_FAILED_LOGINS_PER_ADDRESS,
            trusted_proxy_header: None,
        }
    }
}

impl LimitSettings {
    /// Every budget off (tests that are about something else).
    pub fn off() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            address_per_minute: 0,
            account_writes_per_minute: 0,
            failed_logins_per_address: 0,
            trusted_proxy_header: None,
        }
    }
}

/// The budgets of one server process.
#[derive(Debug)]
pub struct Limits {
    login: Budget<IpAddr>,
    sign_up: Budget<IpAddr>,
    pin_changes: Budget<IpAddr>,
    pin_resets: Budget<IpAddr>,
    writes: Budget<UserId>,
    failed_logins: Option<AddressBudget>,
    trusted_proxy_header: Option<HeaderName>,
    request_timeout: Duration,
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Self {
        let unknown_address = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        Self {
            login: Budget::new(
                settings.address_per_minute,
                TOO_MANY_LOGINS,
                unknown_address,
            ),
            sign_up: Budget::new(
                settings.address_per_minute,
                TOO_MANY_SIGN_UPS,
                unknown_address,
            ),
            pin_changes: Budget::new(
                settings.address_per_minute,
                TOO_MANY_PIN_CHANGES,
                unknown_address,
            ),
            pin_resets: Budget::new(
                settings.address_per_minute,
                TOO_MANY_PIN_RESETS,
                unknown_address,
            ),
            writes: Budget::new(
                settings.account_writes_per_minute,
                TOO_MANY_WRITES,
                UserId(0),
            ),
            failed_logins: AddressBudget::per_period(settings.failed_logins_per_address),
            trusted_proxy_header: settings.trusted_proxy_header.clone(),
            request_timeout: settings.request_timeout,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The address the request's budgets are kept under.
    pub fn client_of(&self, parts: &Parts) -> ClientAddress {
        ClientAddress::of(parts, self.trusted_proxy_header.as_ref())
    }

    /// One more login attempt from `client`, known username or not.
    pub fn admit_login(&self, client: ClientAddress) -> Result<(), Problem> {
        self.login.admit(client.0)
    }

    /// The budget of failed logins `client`'s attempt spends from, kept
    /// by the store (`None` when that budget is off).
    pub fn login_from(&self, client: ClientAddress) -> Option<FromAddress> {
        self.failed_logins.map(|budget| FromAddress {
            address: client.0,
            budget,
        })
    }

    /// One more account created by `creator` from `client`: every creation
    /// spends the address's sign-up budget, signed in or not, but an
    /// admin's ([`creation_spends_sign_up_budget`]).
    pub fn admit_account_creation(
        &self,
        client: ClientAddress,
        creator: Creator,
    ) -> Result<(), Problem> {
        if creation_spends_sign_up_budget(creator) {
            self.sign_up.admit(client.0)
        } else {
            Ok(())
        }
    }

    /// One more change of one's own PIN from `client` (two PIN hashes).
    pub fn admit_pin_change(&self, client: ClientAddress) -> Result<(), Problem> {
        self.pin_changes.admit(client.0)
    }

    /// One more PIN reset request, or use of a reset link, from `client`
    /// (the per-account budget of one mail in five minutes is the
    /// store's, in the database).
    pub fn admit_pin_reset(&self, client: ClientAddress) -> Result<(), Problem> {
        self.pin_resets.admit(client.0)
    }

    /// One more new ticket or reply by `account`.
    pub fn admit_write(&self, account: UserId) -> Result<(), Problem> {
        self.writes.admit(account)
    }

    /// Forgets keys whose budget is full again; run every minute or so.
    pub fn forget_idle(&self) {
        self.login.forget_idle();
        self.sign_up.forget_idle();
        self.pin_changes.forget_idle();
        self.pin_resets.forget_idle();
        self.writes.forget_idle();
    }
}

/// One budget per key.
struct Budget<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    refusal: &'static str,
    /// The key every new client shares while [`MAX_TRACKED_KEYS`] are
    /// remembered: memory stays bounded, and a flood from very many
    /// addresses shares one budget instead of having none.
    overflow: K,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Budget<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("on", &self.limiter.is_some())
            .field("keys", &self.limiter.as_ref().map(RateLimiter::len))
            .finish()
    }
}

impl<K: Hash + Eq + Clone> Budget<K> {
    fn new(per_minute: u32, refusal: &'static str, overflow: K) -> Self {
        Self {
            limiter: NonZeroU32::new(per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n))),
            refusal,
            overflow,
            max_keys: MAX_TRACKED_KEYS,
        }
    }

    fn admit(&self, key: K) -> Result<(), Problem> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let key = if limiter.len() < self.max_keys {
            key
        } else {
            limiter.retain_recent();
            if limiter.len() < self.max_keys {
                key
            } else {
                self.overflow.clone()
            }
        };
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            Problem::TooMany {
                message: self.refusal,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The address a request's budget is kept under: the TCP peer, or with
/// `TRUSTED_PROXY_HEADER` the right-most address in that header (the one
/// our proxy appended; anything left of it the client could have written).
/// IPv6 addresses count by their /64, which one subscriber usually holds
/// whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    fn of(parts: &Parts, trusted_proxy_header: Option<&HeaderName>) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let forwarded = trusted_proxy_header.and_then(|name| {
            let last_header = parts.headers.get_all(name).iter().next_back()?;
            let last_entry = last_header.to_str().ok()?.rsplit(',').next()?;
            last_entry.trim().parse::<IpAddr>().ok()
        });
        let address = forwarded
            .or(peer)
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        ClientAddress(budget_key(address))
    }
}

/// IPv4 as is (and IPv4 mapped into IPv6 as IPv4), IPv6 by its /64.
pub fn budget_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

impl FromRequestParts<App> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(app.limits.client_of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        let peer: SocketAddr = peer.parse().expect("socket address");
        parts.extensions.insert(ConnectInfo(peer));
        parts
    }

    fn address(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn the_peer_is_the_client_unless_a_proxy_header_is_trusted() {
        let request = parts("10.0.0.1:5000", &[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(ClientAddress::of(&request, None).0, address("10.0.0.1"));
        let header = HeaderName::from_static("x-forwarded-for");
        assert_eq!(
            ClientAddress::of(&request, Some(&header)).0,
            address("203.0.113.9")
        );
    }

    #[test]
    fn only_the_right_most_forwarded_address_counts() {
        let header = HeaderName::from_static("x-forwarded-for");
        // The client wrote the first entries; our proxy appended the last.
        let request = parts(
            "10.0.0.1:5000",
            &[
                ("x-forwarded-for", "1.1.1.1, 2.2.2.2"),
                ("x-forwarded-for", "9.9.9.9, 198.51.100.7"),
            ],
        );
        assert_eq!(
            ClientAddress::of(&request, Some(&header)).0,
            address("198.51.100.7")
        );
        // A header the proxy did not fill: the peer (the proxy) it is.
        let request = parts("10.0.0.1:5000", &[("x-forwarded-for", "not an address")]);
        assert_eq!(
            ClientAddress::of(&request, Some(&header)).0,
            address("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_counts_by_its_64_bit_prefix() {
        let a = ClientAddress::of(&parts("[2001:db8:1:2:aaaa::1]:1", &[]), None);
        let b = ClientAddress::of(&parts("[2001:db8:1:2:bbbb::2]:1", &[]), None);
        let c = ClientAddress::of(&parts("[2001:db8:1:3::1]:1", &[]), None);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = ClientAddress::of(&parts("[::ffff:192.0.2.1]:1", &[]), None);
        assert_eq!(mapped.0, address("192.0.2.1"));
    }

    #[test]
    fn a_budget_refuses_beyond_its_burst_and_says_when_to_retry() {
        let budget = Budget::new(3, TOO_MANY_LOGINS, address("::"));
        for _ in 0..3 {
            assert!(budget.admit(address("192.0.2.1")).is_ok());
        }
        match budget.admit(address("192.0.2.1")) {
            Err(Problem::TooMany {
                message,
                retry_after_secs,
            }) => {
                assert_eq!(message, TOO_MANY_LOGINS);
                // One request comes back every 20 s.
                assert!((1..=20).contains(&retry_after_secs), "{retry_after_secs}");
            }
            other => panic!("expected a 429, got {other:?}"),
        }
        assert!(
            budget.admit(address("192.0.2.2")).is_ok(),
            "another address"
        );
    }

    #[test]
    fn past_the_most_keys_new_clients_share_one_budget() {
        let mut budget = Budget::new(2, TOO_MANY_LOGINS, address("::"));
        budget.max_keys = 3;
        for last in 1..=3 {
            assert!(budget.admit(address(&format!("192.0.2.{last}"))).is_ok());
        }
        // Every new address now spends the overflow key's budget of 2.
        assert!(budget.admit(address("198.51.100.1")).is_ok());
        assert!(budget.admit(address("198.51.100.2")).is_ok());
        assert!(budget.admit(address("198.51.100.3")).is_err());
        assert!(budget.limiter.as_ref().is_some_and(|l| l.len() <= 4));
    }

    #[test]
    fn zero_turns_a_budget_off() {
        let budget = Budget::new(0, TOO_MANY_LOGINS, address("::"));
        for _ in 0..1000 {
            assert!(budget.admit(address("192.0.2.1")).is_ok());
        }
    }
}
