//! Webhooks: which events there are and who may manage endpoints, what an
//! endpoint's URL, events and description may be, where a delivery may
//! connect (no server-side request forgery), the retry schedule, and when
//! an endpoint that keeps failing is disabled.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::history::EventType;
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::values::ValidationError;

/// Only admins manage webhook endpoints and see their deliveries.
pub fn may_manage_webhooks(actor: Actor) -> Result<(), Refusal> {
    match actor.role() {
        Role::Admin => Ok(()),
        Role::SupportAgent | Role::Customer => {
            Err(Refusal::Forbidden("only admins can manage webhooks"))
        }
    }
}

/// What an endpoint can subscribe to. `ping` is also what the "test"
/// button sends, whatever the endpoint subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    TicketCreated,
    TicketReplied,
    TicketNoted,
    TicketStatusChanged,
    TicketPriorityChanged,
    TicketAssigned,
    TicketTagsChanged,
    TicketHeldDismissed,
    UserCreated,
    UserUpdated,
    Ping,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 11] = [
        WebhookEvent::TicketCreated,
        WebhookEvent::TicketReplied,
        WebhookEvent::TicketNoted,
        WebhookEvent::TicketStatusChanged,
        WebhookEvent::TicketPriorityChanged,
        WebhookEvent::TicketAssigned,
        WebhookEvent::TicketTagsChanged,
        WebhookEvent::TicketHeldDismissed,
        WebhookEvent::UserCreated,
        WebhookEvent::UserUpdated,
        WebhookEvent::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TicketCreated => "ticket.created",
            WebhookEvent::TicketReplied => "ticket.replied",
            WebhookEvent::TicketNoted => "ticket.noted",
            WebhookEvent::TicketStatusChanged => "ticket.status_changed",
            WebhookEvent::TicketPriorityChanged => "ticket.priority_changed",
            WebhookEvent::TicketAssigned => "ticket.assigned",
            WebhookEvent::TicketTagsChanged => "ticket.tags_changed",
            WebhookEvent::TicketHeldDismissed => "ticket.held_dismissed",
            WebhookEvent::UserCreated => "user.created",
            WebhookEvent::UserUpdated => "user.updated",
            WebhookEvent::Ping => "ping",
        }
    }

    /// The webhook event a ticket's history event is announced as.
    pub fn of_ticket_event(event: EventType) -> Self {
        match event {
            EventType::Created => WebhookEvent::TicketCreated,
            EventType::Replied => WebhookEvent::TicketReplied,
            EventType::Noted => WebhookEvent::TicketNoted,
            EventType::StatusChanged => WebhookEvent::TicketStatusChanged,
            EventType::PriorityChanged => WebhookEvent::TicketPriorityChanged,
            EventType::Assigned => WebhookEvent::TicketAssigned,
            EventType::TagsChanged => WebhookEvent::TicketTagsChanged,
            EventType::HeldDismissed => WebhookEvent::TicketHeldDismissed,
        }
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEvent {
    type Err = ValidationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        WebhookEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == raw)
            .ok_or_else(|| ValidationError::new("events", format!("unknown event type {raw:?}")))
    }
}

/// The event types an endpoint subscribed to: at least one, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSet(Vec<WebhookEvent>);

impl EventSet {
    /// From a request's list of names.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, ValidationError> {
        let mut events = names
            .iter()
            .map(|name| name.as_ref().parse())
            .collect::<Result<Vec<WebhookEvent>, _>>()?;
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(ValidationError::new(
                "events",
                "must name at least one event type",
            ));
        }
        Ok(Self(events))
    }

    /// As the store keeps it: the names separated by spaces.
    pub fn to_column(&self) -> String {
        self.names().collect::<Vec<_>>().join(" ")
    }

    /// From the store's column.
    pub fn from_column(column: &str) -> Result<Self, ValidationError> {
        Self::parse(&column.split_whitespace().collect::<Vec<_>>())
    }

    pub fn contains(&self, event: WebhookEvent) -> bool {
        self.0.contains(&event)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|event| event.as_str())
    }
}

/// Whether an endpoint subscribed to `events` receives `event`: the types
/// it named, and a `ping` always.
pub fn receives(events: &EventSet, event: WebhookEvent) -> bool {
    event == WebhookEvent::Ping || events.contains(event)
}

/// Where deliveries may go: the operator's two switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DestinationPolicy {
    /// `http://` URLs too (`WEBHOOK_ALLOW_HTTP`), not only `https://`.
    pub allow_http: bool,
    /// Loopback, private, link-local, multicast and unspecified addresses
    /// too (`WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
}

pub const URL_MAX_CHARS: usize = 2000;
pub const DESCRIPTION_MAX_CHARS: usize = 500;

/// An endpoint's URL: absolute, `https` (or `http` when allowed), with a
/// host and no credentials. Where its host leads is checked at every
/// delivery ([`may_connect_to`]), after the name is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, policy: DestinationPolicy) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new("url", reason);
        let raw = raw.trim();
        if raw.chars().count() > URL_MAX_CHARS {
            return Err(invalid("must be at most 2000 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let lower = raw.to_ascii_lowercase();
        let rest = if let Some(rest) = lower.strip_prefix("https://") {
            rest
        } else if let Some(rest) = lower.strip_prefix("http://") {
            if !policy.allow_http {
                return Err(invalid("must be an https:// URL"));
            }
            rest
        } else {
            return Err(invalid("must be an https:// URL"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(invalid("must not carry credentials"));
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if host.is_empty() {
            return Err(invalid("must name a host"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A URL as stored, checked when it was saved.
    pub fn stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.to_ascii_lowercase().starts_with("https://")
    }
}

/// An endpoint's description: at most [`DESCRIPTION_MAX_CHARS`], and no
/// NUL (which PostgreSQL cannot store; refused on both engines alike).
pub fn parse_description(raw: &str) -> Result<String, ValidationError> {
    if raw.contains('\0') {
        return Err(ValidationError::new(
            "description",
            "must not contain NUL characters",
        ));
    }
    match raw.chars().count() > DESCRIPTION_MAX_CHARS {
        true => Err(ValidationError::new(
            "description",
            "must be at most 500 characters",
        )),
        false => Ok(raw.trim().to_owned()),
    }
}

/// Whether a delivery may connect to `address`: never to loopback,
/// private, link-local, multicast, unspecified or other special-purpose
/// addresses (IPv4, IPv6, and IPv4 written as IPv6) unless the operator
/// allowed private destinations. Asked of every address a name resolves
/// to, and of an address written in the URL, at every delivery.
pub fn may_connect_to(address: IpAddr, policy: DestinationPolicy) -> Result<(), String> {
    if policy.allow_private || is_public(address) {
        Ok(())
    } else {
        Err(format!(
            "refused to connect to {address}: not a public address (WEBHOOK_ALLOW_PRIVATE is off)"
        ))
    }
}

fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_unspecified()
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b & 0xfe) == 18)
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    !(v6.is_unspecified()
        || v6.is_loopback()
        || v6.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // Site-local (deprecated), fec0::/10.
        || (first & 0xffc0) == 0xfec0
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && v6.segments()[1] == 0x0db8)
        // IPv4-compatible (deprecated) and NAT64 forms reach IPv4 addresses.
        || v6.to_ipv4().is_some_and(|v4| !is_public_v4(v4))
        || (first == 0x0064 && v6.segments()[1] == 0xff9b))
}

/// How long after each failed attempt the next is made; after the last,
/// the delivery has failed. With jitter, each delay is moved by up to that
/// share either way, so messages that failed together (an outage) are not
/// all tried again in the same instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    /// Percent of each delay it may move either way.
    jitter_percent: u32,
}

impl Default for RetrySchedule {
    /// About 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over
    /// about 28 hours.
    fn default() -> Self {
        Self::new(
            [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        )
    }
}

/// How long a mail is tried for before it has failed.
pub const MAIL_TRIED_FOR: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The jitter of the mail schedule, in percent either way.
pub const MAIL_JITTER_PERCENT: u32 = 10;

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        Self {
            delays,
            jitter_percent: 0,
        }
    }

    /// The mail channel's schedule: about 30 s, 2 min, 10 min, 1 h, then
    /// every 6 h for as long as the attempts stay within three days
    /// ([`MAIL_TRIED_FOR`]), each delay with 10 % jitter.
    pub fn mail() -> Self {
        let mut delays: Vec<Duration> = [30, 120, 600, 3600]
            .into_iter()
            .map(Duration::from_secs)
            .collect();
        let every = Duration::from_secs(6 * 3600);
        while delays.iter().sum::<Duration>() + every <= MAIL_TRIED_FOR {
            delays.push(every);
        }
        Self::new(delays).with_jitter(MAIL_JITTER_PERCENT)
    }

    /// The same delays, each moved by up to `percent` either way (at most
    /// 100).
    pub fn with_jitter(mut self, percent: u32) -> Self {
        self.jitter_percent = percent.min(100);
        self
    }

    /// From a list like `5s,5m,30m,2h` (units `ms`, `s`, `m`, `h`); an
    /// empty list means one attempt and no retry.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let delays = raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_delay)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(delays))
    }

    /// When the attempt after `attempts_made` failed ones is due, counted
    /// from the last; `None`: no more attempts, the delivery failed.
    pub fn next_delay(&self, attempts_made: u32) -> Option<Duration> {
        let index = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
        self.delays.get(index).copied()
    }

    /// [`RetrySchedule::next_delay`] moved by the jitter: `unit` (from 0 to
    /// 1, a random draw of the caller's) picks where in the range, 0.5 being
    /// the delay itself.
    pub fn jittered_delay(&self, attempts_made: u32, unit: f64) -> Option<Duration> {
        let delay = self.next_delay(attempts_made)?;
        let share = f64::from(self.jitter_percent) / 100.0;
        let factor = 1.0 + share * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Some(delay.mul_f64(factor))
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }
}

fn parse_delay(part: &str) -> Result<Duration, String> {
    let digits_end = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    let (number, unit) = part.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{part:?} is not a delay like 5s, 5m or 2h"))?;
    let millis = match unit {
        "ms" => Some(number),
        "s" => number.checked_mul(1000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        _ => None,
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{part:?} is not a delay like 5s, 5m or 2h"))
}

/// How long an endpoint may fail every delivery before it is disabled.
pub const DISABLE_AFTER_FAILING_FOR: TimeDelta = TimeDelta::days(5);

/// The disable rule: an endpoint whose deliveries have all failed since
/// `failing_since` (its first failure after its last success) is disabled
/// once that was [`DISABLE_AFTER_FAILING_FOR`] ago.
pub fn should_disable(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= DISABLE_AFTER_FAILING_FOR)
}

/// How long the secret a rotation replaced keeps signing beside the new one.
pub const OLD_SECRET_SIGNS_FOR: TimeDelta = TimeDelta::hours(24);

/// The prefix of a signing secret; the rest is the base64 of its bytes.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new signing secret.
pub const SECRET_BYTES: usize = 32;

/// The secret as it is shown once and kept: `whsec_` + base64 of `bytes`.
pub fn secret_text(bytes: &[u8; SECRET_BYTES]) -> String {
    use base64::Engine as _;
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The secrets that sign a delivery at `now`: the current one, and the
/// one a rotation replaced while it still may.
pub fn signing_secrets<'a>(
    current: &'a str,
    previous: Option<(&'a str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Vec<&'a str> {
    let mut secrets = vec![current];
    if let Some((old, until)) = previous
        && now < until
    {
        secrets.push(old);
    }
    secrets
}

/// The most of a receiver's answer kept with an attempt.
pub const RESPONSE_KEPT_BYTES: usize = 1024;

/// The first [`RESPONSE_KEPT_BYTES`] of an answer, cut at a character
/// boundary, as text.
pub fn kept_response(body: &[u8]) -> String {
    let cut = &body[..body.len().min(RESPONSE_KEPT_BYTES)];
    let text = String::from_utf8_lossy(cut);
    text.trim_end_matches('\u{fffd}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("valid")
    }

    #[test]
    fn only_admins_manage_webhooks() {
        use crate::ids::UserId;
        assert!(may_manage_webhooks(Actor::for_tests(UserId(1), Role::Admin)).is_ok());
        for role in [Role::SupportAgent, Role::Customer] {
            assert!(matches!(
                may_manage_webhooks(Actor::for_tests(UserId(1), role)),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    #[test]
    fn an_event_set_is_sorted_deduplicated_and_never_empty() {
        let set = EventSet::parse(&["user.created", "ticket.created", "user.created"]).expect("ok");
        assert_eq!(set.to_column(), "ticket.created user.created");
        assert_eq!(EventSet::from_column(&set.to_column()), Ok(set));
        assert!(EventSet::parse::<&str>(&[]).is_err());
        assert!(EventSet::parse(&["ticket.deleted"]).is_err());
    }

    #[test]
    fn an_endpoint_receives_what_it_subscribed_to_and_pings() {
        let set = EventSet::parse(&["ticket.replied"]).expect("ok");
        assert!(receives(&set, WebhookEvent::TicketReplied));
        assert!(receives(&set, WebhookEvent::Ping));
        assert!(!receives(&set, WebhookEvent::TicketNoted));
    }

    #[test]
    fn every_history_event_has_its_webhook_event() {
        for event in EventType::ALL {
            let hook = WebhookEvent::of_ticket_event(event);
            assert_eq!(hook.as_str(), format!("ticket.{}", event.as_str()));
        }
    }

    #[test]
    fn a_url_must_be_https_unless_http_is_allowed() {
        let strict = DestinationPolicy::default();
        let open = DestinationPolicy {
            allow_http: true,
            allow_private: false,
        };
        assert!(WebhookUrl::parse("https://hooks.example.com/in", strict).is_ok());
        assert!(WebhookUrl::parse("http://hooks.example.com/in", strict).is_err());
        assert!(WebhookUrl::parse("http://hooks.example.com/in", open).is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com",
            "example.com",
        ] {
            assert!(WebhookUrl::parse(bad, open).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_and_special_addresses_are_refused_unless_allowed() {
        let strict = DestinationPolicy::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            let address: IpAddr = refused.parse().expect("address");
            assert!(may_connect_to(address, strict).is_err(), "{refused}");
            let open = DestinationPolicy {
                allow_private: true,
                ..strict
            };
            assert!(may_connect_to(address, open).is_ok(), "{refused}");
        }
        for allowed in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let address: IpAddr = allowed.parse().expect("address");
            assert!(may_connect_to(address, strict).is_ok(), "{allowed}");
        }
    }

    #[test]
    fn the_default_schedule_retries_seven_times_then_gives_up() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.next_delay(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.next_delay(2), Some(Duration::from_secs(300)));
        assert_eq!(schedule.next_delay(7), Some(Duration::from_secs(36_000)));
        assert_eq!(schedule.next_delay(8), None);
        assert_eq!(schedule.next_delay(0), None);
    }

    #[test]
    fn mail_is_tried_for_about_three_days_backing_off_to_every_six_hours() {
        let schedule = RetrySchedule::mail();
        let delays = schedule.delays();
        let secs: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs[..5], [30, 120, 600, 3600, 6 * 3600]);
        assert!(secs[4..].iter().all(|&s| s == 6 * 3600));
        let total: Duration = delays.iter().sum();
        assert!(total <= MAIL_TRIED_FOR, "{total:?}");
        assert!(
            total + Duration::from_secs(6 * 3600) > MAIL_TRIED_FOR,
            "{total:?}"
        );
        // Without jitter every draw is the delay itself.
        assert_eq!(
            RetrySchedule::default().jittered_delay(1, 0.0),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            schedule.jittered_delay(1, 0.0),
            Some(Duration::from_secs(27))
        );
        assert_eq!(
            schedule.jittered_delay(1, 1.0),
            Some(Duration::from_secs(33))
        );
    }

    #[test]
    fn a_schedule_is_read_from_a_list_of_delays() {
        let schedule = RetrySchedule::parse("100ms, 1s,2m,1h").expect("valid");
        assert_eq!(
            schedule.delays(),
            [
                Duration::from_millis(100),
                Duration::from_secs(1),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ]
        );
        assert_eq!(RetrySchedule::parse("").expect("empty").delays(), []);
        assert!(RetrySchedule::parse("5x").is_err());
        assert!(RetrySchedule::parse("s").is_err());
    }

    #[test]
    fn a_description_is_bounded_and_holds_no_nul() {
        assert_eq!(parse_description("  CRM sync "), Ok("CRM sync".to_owned()));
        assert!(parse_description("a\0b").is_err());
        assert!(parse_description(&"x".repeat(DESCRIPTION_MAX_CHARS)).is_ok());
        assert!(parse_description(&"x".repeat(DESCRIPTION_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn an_endpoint_failing_for_five_days_is_disabled() {
        let since = at("2026-12-01T00:00:00Z");
        assert!(!should_disable(None, at("2027-01-01T00:00:00Z")));
        assert!(!should_disable(Some(since), at("2026-12-05T23:59:59Z")));
        assert!(should_disable(Some(since), at("2026-12-06T00:00:00Z")));
    }

    #[test]
    fn the_old_secret_signs_only_until_its_time() {
        let until = at("2026-12-02T00:00:00Z");
        let before = at("2026-12-01T23:00:00Z");
        let after = at("2026-12-02T00:00:01Z");
        assert_eq!(
            signing_secrets("new", Some(("old", until)), before),
            ["new", "old"]
        );
        assert_eq!(signing_secrets("new", Some(("old", until)), after), ["new"]);
        assert_eq!(signing_secrets("new", None, before), ["new"]);
    }

    #[test]
    fn a_secret_is_prefixed_base64_of_its_bytes() {
        let secret = secret_text(&[0u8; SECRET_BYTES]);
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret.len(), 6 + 44);
    }

    #[test]
    fn a_kept_answer_is_its_first_kib_at_a_character_boundary() {
        let long = "é".repeat(1000);
        let kept = kept_response(long.as_bytes());
        assert!(kept.len() <= RESPONSE_KEPT_BYTES);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(kept_response(b"ok"), "ok");
    }

    proptest! {
        #[test]
        fn the_schedule_ends_exactly_after_its_delays(delays in proptest::collection::vec(0u64..100_000, 0..10)) {
            let schedule = RetrySchedule::new(delays.iter().map(|ms| Duration::from_millis(*ms)).collect());
            for (n, delay) in delays.iter().enumerate() {
                prop_assert_eq!(schedule.next_delay(n as u32 + 1), Some(Duration::from_millis(*delay)));
            }
            prop_assert_eq!(schedule.next_delay(delays.len() as u32 + 1), None);
        }

        #[test]
        fn a_jittered_delay_stays_within_its_share_of_the_delay(
            attempt in 1u32..20,
            unit in 0.0f64..=1.0,
            percent in 0u32..=100,
        ) {
            let schedule = RetrySchedule::mail().with_jitter(percent);
            match (schedule.next_delay(attempt), schedule.jittered_delay(attempt, unit)) {
                (Some(delay), Some(jittered)) => {
                    let spread = delay.mul_f64(f64::from(percent) / 100.0);
                    prop_assert!(jittered + spread + Duration::from_millis(1) >= delay);
                    prop_assert!(jittered <= delay + spread + Duration::from_millis(1));
                }
                (None, None) => {}
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn an_ipv4_address_and_its_mapped_form_get_the_same_verdict(octets in any::<[u8; 4]>()) {
            let v4 = Ipv4Addr::from(octets);
            let strict = DestinationPolicy::default();
            prop_assert_eq!(
                may_connect_to(IpAddr::V4(v4), strict).is_ok(),
                may_connect_to(IpAddr::V6(v4.to_ipv6_mapped()), strict).is_ok()
            );
        }
    }
}
