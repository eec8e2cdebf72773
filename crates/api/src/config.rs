//! Settings read once from the environment (and `.env`, when present).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use delivery::DeliverySettings;
use delivery::imap::{ImapMailbox, ImapSettings};
use delivery::mail::{MailSettings, SmtpServer, parse_sender};
use domain::EmailAddress;
use domain::login::DEFAULT_FAILED_LOGINS_PER_ADDRESS;
use domain::sla::TargetList;
use edge::inbound::{DEFAULT_MAX_EMAIL_BYTES, InboundSettings};
use edge::keys::ServerSecret;
use edge::limits::{
    DEFAULT_ACCOUNT_WRITE_LIMIT, DEFAULT_ADDRESS_RATE_LIMIT, DEFAULT_REQUEST_TIMEOUT, LimitSettings,
};
use store::{DatabaseUrl, StoreOptions};

pub const DEFAULT_PORT: u16 = 9003;
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
pub const DEFAULT_DATABASE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The most connections one client address holds by default: far beyond a
/// browser (six per site) or an office behind one NAT address, far below
/// what it takes to crowd others out. Never more than half of
/// `MAX_CONNECTIONS` (see [`default_max_connections_per_address`]).
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 32;

/// `MAX_CONNECTIONS_PER_ADDRESS` when unset: [`DEFAULT_MAX_CONNECTIONS_PER_ADDRESS`],
/// or half of `max_connections` if that is less (and at least 1), so that
/// one address never holds the majority of the places.
pub fn default_max_connections_per_address(max_connections: usize) -> usize {
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS.min((max_connections / 2).max(1))
}

/// Whether requests get ids, log lines and metrics
/// (`HTTP_INSTRUMENTATION`). `Off` exists only so the benchmark can
/// measure what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instrumentation {
    On,
    Off,
}

/// The settings the SLA targets are read from.
pub const SLA_FIRST_RESPONSE: &str = "SLA_FIRST_RESPONSE";
pub const SLA_RESOLUTION: &str = "SLA_RESOLUTION";

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable text (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    fn parse(raw: Option<&str>) -> anyhow::Result<Self> {
        match raw {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => bail!("LOG_FORMAT {other:?} must be `text` or `json`"),
        }
    }
}

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    /// The secret every key is derived from (`JWT_SECRET`); `None` when
    /// unset: the server makes a random one.
    pub secret: Option<ServerSecret>,
    pub token_lifetime: Duration,
    pub pool_size: Option<u32>,
    /// How long a request waits for a database connection (a free one, or
    /// a new one while the database is down) before it answers 503
    /// (`DATABASE_CONNECT_TIMEOUT_SECS`).
    pub database_connect_timeout: Duration,
    /// `HTTP_INSTRUMENTATION=off` drops request ids, request log lines and
    /// metrics: only for measuring what they cost.
    pub instrumentation: Instrumentation,
    pub log_format: LogFormat,
    /// PIN hashes computed at once (`ARGON2_WORKERS`, default one per two
    /// cores), and four per worker admitted to wait.
    pub hashing: store::HashLimits,
    pub limits: LimitSettings,
    /// After SIGTERM, how long requests in flight may take before the
    /// connections left are closed (`SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// Connections served at once (`MAX_CONNECTIONS`); more wait in the
    /// listen backlog.
    pub max_connections: usize,
    /// Connections one client address may hold at once
    /// (`MAX_CONNECTIONS_PER_ADDRESS`); `None` behind a trusted proxy
    /// (`TRUSTED_PROXY_HEADER`), where every connection is the proxy's and
    /// the proxy must cap them per client.
    pub max_connections_per_address: Option<usize>,
    /// First-response and resolution targets per priority
    /// (`SLA_FIRST_RESPONSE`, `SLA_RESOLUTION`).
    pub sla: domain::SlaTargets,
    /// Where browsers reach the server (`PUBLIC_URL`, e.g.
    /// `https://help.example.com`): the web pages' session cookie is
    /// `Secure` when it is https, and a form must come from that origin.
    pub public_url: Option<String>,
    /// `REQUIRE_IF_MATCH=true`: the API's conditional writes (a ticket's
    /// PUT and PATCH, an account's PATCH) without `If-Match` are refused
    /// (428), so no client can overwrite a change it has not seen.
    pub require_if_match: bool,
    /// How webhooks are delivered (the `WEBHOOK_*` settings and
    /// `OUTBOX_POLL_MS`).
    pub webhooks: DeliverySettings,
    /// How mail is sent (`SMTP_URL`, `MAIL_FROM`, the `MAIL_*` settings);
    /// `None` without `SMTP_URL`: mail is off, nothing is queued.
    pub mail: Option<MailSettings>,
    /// How mail comes in (`INBOUND_ADDRESS`, `INBOUND_TOKEN`,
    /// `MAX_EMAIL_BYTES`, `INBOUND_SENDER_LIMIT`); `None` without
    /// `INBOUND_ADDRESS`: none does.
    pub inbound: Option<InboundSettings>,
    /// The mailbox polled for inbound mail (`IMAP_URL`, `IMAP_POLL_SECS`,
    /// `IMAP_DONE_FOLDER`); `None` without `IMAP_URL`.
    pub imap: Option<ImapSettings>,
}

impl Settings {
    /// How the store is opened: its pool, the hashing it may do at once,
    /// the SLA targets.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_size: self.pool_size,
            connection_timeout: self.database_connect_timeout,
            hashing: self.hashing,
            sla: self.sla,
            sends_mail: self.mail.is_some(),
            ..StoreOptions::default()
        }
    }

    /// Reads `.env` if present, then the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        store::read_dotenv()?;
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds settings from any variable source (the tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let database_url = DatabaseUrl::from_lookup(&var)?;
        let host: IpAddr = match var("HOST") {
            Some(host) => host
                .parse()
                .with_context(|| format!("HOST {host:?} is not an IP address"))?,
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let port: u16 = parse_var(&var, "PORT")?.unwrap_or(DEFAULT_PORT);
        let token_lifetime = match parse_var::<u64>(&var, "TOKEN_LIFETIME_SECS")? {
            Some(0) => bail!("TOKEN_LIFETIME_SECS must be positive"),
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_TOKEN_LIFETIME,
        };
        let pool_size = match parse_var::<u32>(&var, "DATABASE_POOL_SIZE")? {
            Some(0) => bail!("DATABASE_POOL_SIZE must be positive"),
            size => size,
        };
        let database_connect_timeout =
            match parse_var::<u64>(&var, "DATABASE_CONNECT_TIMEOUT_SECS")? {
                Some(0) => bail!("DATABASE_CONNECT_TIMEOUT_SECS must be positive"),
                Some(seconds) => Duration::from_secs(seconds),
                None => DEFAULT_DATABASE_CONNECT_TIMEOUT,
            };
        let instrumentation = match var("HTTP_INSTRUMENTATION").as_deref() {
            None | Some("on") => Instrumentation::On,
            Some("off") => Instrumentation::Off,
            Some(other) => bail!("HTTP_INSTRUMENTATION {other:?} must be `on` or `off`"),
        };
        let hashing = match parse_var::<usize>(&var, "ARGON2_WORKERS")? {
            Some(0) => bail!("ARGON2_WORKERS must be positive"),
            Some(workers) => store::HashLimits::with_workers(workers),
            None => store::HashLimits::for_this_machine(),
        };
        let trusted_proxy_header = var("TRUSTED_PROXY_HEADER")
            .map(|name| {
                axum::http::HeaderName::try_from(name.as_str())
                    .with_context(|| format!("TRUSTED_PROXY_HEADER {name:?} is not a header name"))
            })
            .transpose()?;
        let request_timeout = match parse_var::<u64>(&var, "REQUEST_TIMEOUT_SECS")? {
            Some(0) => bail!("REQUEST_TIMEOUT_SECS must be positive"),
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_REQUEST_TIMEOUT,
        };
        let limits = LimitSettings {
            request_timeout,
            address_per_minute: parse_var(&var, "ADDRESS_RATE_LIMIT")?
                .unwrap_or(DEFAULT_ADDRESS_RATE_LIMIT),
            account_writes_per_minute: parse_var(&var, "ACCOUNT_WRITE_LIMIT")?
                .unwrap_or(DEFAULT_ACCOUNT_WRITE_LIMIT),
            failed_logins_per_address: parse_var(&var, "FAILED_LOGIN_LIMIT")?
                .unwrap_or(DEFAULT_FAILED_LOGINS_PER_ADDRESS),
            trusted_proxy_header,
        };
        let shutdown_grace = Duration::from_secs(
            parse_var(&var, "SHUTDOWN_GRACE_SECS")?.unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS),
        );
        let max_connections = match parse_var::<usize>(&var, "MAX_CONNECTIONS")? {
            Some(0) => bail!("MAX_CONNECTIONS must be positive"),
            Some(count) => count,
            None => DEFAULT_MAX_CONNECTIONS,
        };
        let max_connections_per_address = match (
            parse_var::<usize>(&var, "MAX_CONNECTIONS_PER_ADDRESS")?,
            &limits.trusted_proxy_header,
        ) {
            (Some(0), _) => bail!("MAX_CONNECTIONS_PER_ADDRESS must be positive"),
            (Some(_), Some(_)) => bail!(
                "MAX_CONNECTIONS_PER_ADDRESS cannot be set with TRUSTED_PROXY_HEADER: every \
                 connection comes from the proxy, so cap connections per client at the proxy"
            ),
            (Some(cap), None) => Some(cap),
            (None, Some(_)) => None,
            (None, None) => Some(default_max_connections_per_address(max_connections)),
        };
        let sla = domain::SlaTargets::parse(
            var(SLA_FIRST_RESPONSE).as_deref(),
            var(SLA_RESOLUTION).as_deref(),
        )
        .map_err(|error| {
            let variable = match error.list {
                TargetList::FirstResponse => SLA_FIRST_RESPONSE,
                TargetList::Resolution => SLA_RESOLUTION,
            };
            anyhow::anyhow!("{variable} {error}")
        })?;
        let require_if_match = match var("REQUIRE_IF_MATCH").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => bail!("REQUIRE_IF_MATCH {other:?} must be `true` or `false`"),
        };
        let webhooks = webhook_settings(&var)?;
        let public_url = match var("PUBLIC_URL") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
            Some(url) => bail!("PUBLIC_URL {url:?} must start with https:// or http://"),
            None => None,
        };
        let mut mail = mail_settings(&var, public_url.as_deref(), webhooks.poll_interval)?;
        let inbound = inbound_settings(&var, public_url.as_deref(), mail.as_ref())?;
        if let (Some(mail), Some(inbound)) = (&mut mail, &inbound) {
            mail.inbound = Some(inbound.address.clone());
        }
        let imap = imap_settings(&var, inbound.as_ref())?;
        Ok(Self {
            inbound,
            imap,
            webhooks,
            mail,
            sla,
            require_if_match,
            instrumentation,
            hashing,
            limits,
            shutdown_grace,
            max_connections,
            max_connections_per_address,
            log_format: LogFormat::parse(var("LOG_FORMAT").as_deref())?,
            database_url,
            listen: SocketAddr::new(host, port),
            secret: var("JWT_SECRET").map(ServerSecret::new).transpose()?,
            public_url,
            token_lifetime,
            pool_size,
            database_connect_timeout,
        })
    }
}

/// The `WEBHOOK_*` settings: where deliveries may go, their schedule,
/// timeouts and lease, and how many run at once.
fn webhook_settings(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<DeliverySettings> {
    let defaults = DeliverySettings::default();
    let policy = domain::DestinationPolicy {
        allow_http: parse_flag(var, "WEBHOOK_ALLOW_HTTP")?.unwrap_or(false),
        allow_private: parse_flag(var, "WEBHOOK_ALLOW_PRIVATE")?.unwrap_or(false),
    };
    let schedule = match var("WEBHOOK_RETRY_SCHEDULE") {
        Some(raw) => domain::RetrySchedule::parse(&raw)
            .map_err(|error| anyhow::anyhow!("WEBHOOK_RETRY_SCHEDULE: {error}"))?,
        None => defaults.schedule,
    };
    let positive_ms = |name: &str, default: Duration| -> anyhow::Result<Duration> {
        match parse_var::<u64>(var, name)? {
            Some(0) => bail!("{name} must be positive"),
            Some(ms) => Ok(Duration::from_millis(ms)),
            None => Ok(default),
        }
    };
    let timeout = positive_ms("WEBHOOK_TIMEOUT_MS", defaults.timeout)?;
    let connect_timeout = positive_ms("WEBHOOK_CONNECT_TIMEOUT_MS", defaults.connect_timeout)?;
    let lease = positive_ms("WEBHOOK_LEASE_MS", defaults.lease)?;
    if lease <= timeout {
        bail!(
            "WEBHOOK_LEASE_MS must be longer than WEBHOOK_TIMEOUT_MS, or a slow attempt would be sent twice at once"
        );
    }
    let max_in_flight = match parse_var::<usize>(var, "WEBHOOK_MAX_IN_FLIGHT")? {
        Some(0) => bail!("WEBHOOK_MAX_IN_FLIGHT must be positive"),
        Some(count) => count,
        None => defaults.max_in_flight,
    };
    Ok(DeliverySettings {
        policy,
        schedule,
        connect_timeout,
        timeout,
        lease,
        poll_interval: positive_ms("OUTBOX_POLL_MS", defaults.poll_interval)?,
        max_in_flight,
    })
}

/// The mail settings: none without `SMTP_URL`; with it, `MAIL_FROM` and
/// `PUBLIC_URL` are required (the sender, and the links in mail), and the
/// `MAIL_*` settings tune the schedule, timeout, lease and places.
fn mail_settings(
    var: &impl Fn(&str) -> Option<String>,
    public_url: Option<&str>,
    poll_interval: Duration,
) -> anyhow::Result<Option<MailSettings>> {
    let Some(smtp) = var("SMTP_URL") else {
        return Ok(None);
    };
    // The URL may hold a password: the error names the variable, never
    // the value.
    let smtp = SmtpServer::parse(&smtp).map_err(|error| anyhow::anyhow!("SMTP_URL {error}"))?;
    let Some(from) = var("MAIL_FROM") else {
        bail!(
            "MAIL_FROM must be set when SMTP_URL is (the sender, like `Support <support@example.com>`)"
        );
    };
    let from = parse_sender(&from).map_err(|error| anyhow::anyhow!("MAIL_FROM {error}"))?;
    let Some(public_url) = public_url else {
        bail!("PUBLIC_URL must be set when SMTP_URL is (the links in mail point there)");
    };
    let public_url = url::Url::parse(public_url)
        .ok()
        .filter(|url| url.host_str().is_some())
        .ok_or_else(|| anyhow::anyhow!("PUBLIC_URL {public_url:?} is not a URL with a host"))?;
    let mut settings = MailSettings::new(smtp, from, public_url);
    if let Some(raw) = var("MAIL_RETRY_SCHEDULE") {
        settings.schedule = domain::RetrySchedule::parse(&raw)
            .map_err(|error| anyhow::anyhow!("MAIL_RETRY_SCHEDULE: {error}"))?
            .with_jitter(domain::webhooks::MAIL_JITTER_PERCENT);
    }
    let positive_ms = |name: &str, default: Duration| -> anyhow::Result<Duration> {
        match parse_var::<u64>(var, name)? {
            Some(0) => bail!("{name} must be positive"),
            Some(ms) => Ok(Duration::from_millis(ms)),
            None => Ok(default),
        }
    };
    settings.timeout = positive_ms("MAIL_TIMEOUT_MS", settings.timeout)?;
    settings.lease = positive_ms("MAIL_LEASE_MS", settings.lease)?;
    // A conversation has several steps, each given the timeout.
    if settings.lease <= settings.timeout.saturating_mul(2) {
        bail!(
            "MAIL_LEASE_MS must be more than twice MAIL_TIMEOUT_MS, or a slow mail would be sent twice at once"
        );
    }
    settings.max_in_flight = match parse_var::<usize>(var, "MAIL_MAX_IN_FLIGHT")? {
        Some(0) => bail!("MAIL_MAX_IN_FLIGHT must be positive"),
        Some(count) => count,
        None => settings.max_in_flight,
    };
    settings.poll_interval = poll_interval;
    Ok(Some(settings))
}

/// The inbound mail settings: none without `INBOUND_ADDRESS`; with it,
/// `INBOUND_TOKEN` (at least 32 bytes) turns the HTTP endpoint on.
fn inbound_settings(
    var: &impl Fn(&str) -> Option<String>,
    public_url: Option<&str>,
    mail: Option<&MailSettings>,
) -> anyhow::Result<Option<InboundSettings>> {
    let token = var("INBOUND_TOKEN");
    let Some(address) = var("INBOUND_ADDRESS") else {
        if token.is_some() {
            bail!("INBOUND_TOKEN is set but INBOUND_ADDRESS is not (the address mail comes to)");
        }
        return Ok(None);
    };
    let address = EmailAddress::parse(&address)
        .map_err(|_| anyhow::anyhow!("INBOUND_ADDRESS {address:?} is not an email address"))?;
    if address
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .contains('+')
    {
        bail!("INBOUND_ADDRESS must have no `+` of its own: reply addresses add one");
    }
    // The token is a secret: an error names the variable, never the value.
    if token
        .as_ref()
        .is_some_and(|token| token.len() < INBOUND_TOKEN_MIN_BYTES)
    {
        bail!("INBOUND_TOKEN must be at least {INBOUND_TOKEN_MIN_BYTES} bytes");
    }
    let max_bytes = match parse_var::<usize>(var, "MAX_EMAIL_BYTES")? {
        Some(0) => bail!("MAX_EMAIL_BYTES must be positive"),
        Some(bytes) => bytes,
        None => DEFAULT_MAX_EMAIL_BYTES,
    };
    let sender_limit = match parse_var::<u32>(var, "INBOUND_SENDER_LIMIT")? {
        Some(0) => bail!("INBOUND_SENDER_LIMIT must be positive"),
        Some(limit) => limit,
        None => domain::inbound::DEFAULT_SENDER_LIMIT,
    };
    let mail_from = mail.and_then(|mail| EmailAddress::parse(mail.from.email.to_string()).ok());
    let message_id_host = public_url
        .and_then(|url| url::Url::parse(url).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    Ok(Some(InboundSettings {
        address,
        token,
        max_bytes,
        sender_limit,
        mail_from,
        message_id_host,
    }))
}

/// The IMAP poller's settings: none without `IMAP_URL`; with it,
/// `INBOUND_ADDRESS` is required (the poller takes mail as the endpoint
/// does), and the polled folder and the done folder must differ.
fn imap_settings(
    var: &impl Fn(&str) -> Option<String>,
    inbound: Option<&InboundSettings>,
) -> anyhow::Result<Option<ImapSettings>> {
    let Some(url) = var("IMAP_URL") else {
        for name in ["IMAP_POLL_SECS", "IMAP_DONE_FOLDER"] {
            if var(name).is_some() {
                bail!("{name} is set but IMAP_URL is not (the mailbox to poll)");
            }
        }
        return Ok(None);
    };
    // The URL holds a password: the error names the variable, never the
    // value.
    let mailbox = ImapMailbox::parse(&url).map_err(|error| anyhow::anyhow!("IMAP_URL {error}"))?;
    if inbound.is_none() {
        bail!("IMAP_URL is set but INBOUND_ADDRESS is not (the address mail comes to)");
    }
    let mut settings = ImapSettings::new(mailbox);
    settings.poll_interval = match parse_var::<u64>(var, "IMAP_POLL_SECS")? {
        Some(0) => bail!("IMAP_POLL_SECS must be positive"),
        Some(seconds) => Duration::from_secs(seconds),
        None => settings.poll_interval,
    };
    if let Some(folder) = var("IMAP_DONE_FOLDER") {
        settings.done_folder = delivery::imap::folder_name(&folder)
            .map_err(|error| anyhow::anyhow!("IMAP_DONE_FOLDER {folder:?} {error}"))?;
    }
    // Moved into the folder it came from, a message would be taken again
    // at every round.
    if settings
        .done_folder
        .eq_ignore_ascii_case(&settings.mailbox.folder)
    {
        bail!(
            "IMAP_DONE_FOLDER must differ from the folder IMAP_URL polls ({})",
            settings.mailbox.folder
        );
    }
    Ok(Some(settings))
}

/// The shortest `INBOUND_TOKEN` taken.
const INBOUND_TOKEN_MIN_BYTES: usize = 32;

/// `true` or `false`.
fn parse_flag(var: &impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<Option<bool>> {
    var(name)
        .map(|raw| match raw.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => bail!("{name} {raw:?} must be `true` or `false`"),
        })
        .transpose()
}

pub(crate) fn parse_var<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> anyhow::Result<Option<T>> {
    var(name)
        .map(|raw| {
            raw.parse::<T>()
                .map_err(|_| anyhow::anyhow!("{name} {raw:?} is not a valid number"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_operating_contract() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite("data/tracker.db".into())
        );
        assert_eq!(s.listen.to_string(), "127.0.0.1:9003");
        assert!(s.secret.is_none());
        assert_eq!(s.token_lifetime, DEFAULT_TOKEN_LIFETIME);
        assert_eq!(s.database_connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn webhooks_default_to_https_public_addresses_and_the_documented_schedule() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.webhooks.policy, domain::DestinationPolicy::default());
        assert_eq!(s.webhooks.schedule, domain::RetrySchedule::default());
        assert_eq!(s.webhooks.timeout, Duration::from_secs(10));
        let s = settings(&[
            ("WEBHOOK_ALLOW_HTTP", "true"),
            ("WEBHOOK_ALLOW_PRIVATE", "true"),
            ("WEBHOOK_RETRY_SCHEDULE", "100ms,1s"),
            ("WEBHOOK_TIMEOUT_MS", "500"),
            ("WEBHOOK_LEASE_MS", "2000"),
        ])
        .expect("valid");
        assert!(s.webhooks.policy.allow_http && s.webhooks.policy.allow_private);
        assert_eq!(s.webhooks.schedule.delays().len(), 2);
        assert_eq!(s.webhooks.timeout, Duration::from_millis(500));
        assert!(settings(&[("WEBHOOK_ALLOW_HTTP", "yes")]).is_err());
        assert!(settings(&[("WEBHOOK_RETRY_SCHEDULE", "soon")]).is_err());
        assert!(settings(&[("WEBHOOK_LEASE_MS", "5000")]).is_err());
    }

    #[test]
    fn mail_is_off_without_smtp_url_and_needs_a_sender_and_public_url_with_it() {
        let s = settings(&[("MAIL_FROM", "Support <support@example.com>")]).expect("valid");
        assert!(s.mail.is_none());
        assert!(!s.store_options().sends_mail);
        let on = [
            ("SMTP_URL", "smtp://relay:s3cret-pass@mail.example.com:587"),
            ("MAIL_FROM", "Support <support@example.com>"),
            ("PUBLIC_URL", "https://help.example.com"),
        ];
        let s = settings(&on).expect("valid");
        assert!(s.store_options().sends_mail);
        let mail = s.mail.expect("mail on");
        assert_eq!(mail.smtp.security, delivery::mail::Security::StartTls);
        assert_eq!(mail.from.email.to_string(), "support@example.com");
        assert_eq!(mail.public_url.host_str(), Some("help.example.com"));
        assert_eq!(mail.schedule, domain::RetrySchedule::mail());
        assert!(!format!("{mail:?}").contains("s3cret-pass"));
        for (missing, named) in [(0, "SMTP_URL"), (1, "MAIL_FROM"), (2, "PUBLIC_URL")] {
            let without: Vec<_> = on
                .iter()
                .enumerate()
                .filter(|(n, _)| *n != missing)
                .map(|(_, pair)| *pair)
                .collect();
            match settings(&without) {
                // Without SMTP_URL, mail is simply off.
                Ok(s) => assert!(missing == 0 && s.mail.is_none()),
                Err(error) => assert!(error.to_string().starts_with(named), "{error}"),
            }
        }
        for (variable, bad) in [
            (
                "SMTP_URL",
                "smtp://relay:s3cret-pass@mail.example.com?tls=none",
            ),
            ("SMTP_URL", "imap://mail.example.com"),
            ("MAIL_FROM", "support at example"),
            ("MAIL_RETRY_SCHEDULE", "soon"),
            ("MAIL_TIMEOUT_MS", "0"),
            ("MAIL_LEASE_MS", "60000"),
            ("MAIL_MAX_IN_FLIGHT", "0"),
        ] {
            let mut vars = on.to_vec();
            vars.retain(|(name, _)| *name != variable);
            vars.push((variable, bad));
            let message = settings(&vars).expect_err(bad).to_string();
            assert!(message.starts_with(variable), "{message}");
            assert!(!message.contains("s3cret-pass"), "{message}");
        }
        let mut quick = on.to_vec();
        quick.extend([
            ("SMTP_URL", "smtp://127.0.0.1:2525?tls=none"),
            ("MAIL_RETRY_SCHEDULE", "100ms,1s"),
            ("MAIL_TIMEOUT_MS", "500"),
            ("MAIL_LEASE_MS", "3000"),
        ]);
        quick.remove(0);
        let mail = settings(&quick).expect("valid").mail.expect("on");
        assert_eq!(mail.smtp.security, delivery::mail::Security::None);
        assert_eq!(mail.schedule.delays().len(), 2);
        assert_eq!(mail.lease, Duration::from_secs(3));
    }

    #[test]
    fn imap_polling_is_off_without_imap_url_and_needs_inbound_mail_with_it() {
        let s = settings(&[]).expect("defaults");
        assert!(s.imap.is_none());
        let on = [
            ("INBOUND_ADDRESS", "support@example.com"),
            (
                "IMAP_URL",
                "imaps://support:s3cret-pass@mail.example.com/INBOX",
            ),
        ];
        let imap = settings(&on).expect("valid").imap.expect("polling on");
        assert_eq!(imap.mailbox.host, "mail.example.com");
        assert_eq!(imap.mailbox.port, 993);
        assert_eq!(imap.mailbox.security, delivery::mail::Security::Tls);
        assert_eq!(imap.mailbox.folder, "INBOX");
        assert_eq!(imap.poll_interval, Duration::from_secs(60));
        assert_eq!(imap.done_folder, "Processed");
        assert!(!format!("{imap:?}").contains("s3cret-pass"));
        let mut tuned = on.to_vec();
        tuned.extend([("IMAP_POLL_SECS", "5"), ("IMAP_DONE_FOLDER", "Taken/Done")]);
        let imap = settings(&tuned).expect("valid").imap.expect("polling on");
        assert_eq!(imap.poll_interval, Duration::from_secs(5));
        assert_eq!(imap.done_folder, "Taken/Done");
        for (vars, named) in [
            (vec![on[1]], "IMAP_URL"),
            (vec![on[0], ("IMAP_POLL_SECS", "60")], "IMAP_POLL_SECS"),
            (
                vec![on[0], ("IMAP_DONE_FOLDER", "Done")],
                "IMAP_DONE_FOLDER",
            ),
            (
                vec![
                    on[0],
                    (
                        "IMAP_URL",
                        "imap://support:s3cret-pass@mail.example.com/INBOX?tls=none",
                    ),
                ],
                "IMAP_URL",
            ),
            (
                vec![on[0], ("IMAP_URL", "imap://mail.example.com/INBOX")],
                "IMAP_URL",
            ),
            (
                vec![on[0], on[1], ("IMAP_POLL_SECS", "0")],
                "IMAP_POLL_SECS",
            ),
            (
                vec![on[0], on[1], ("IMAP_POLL_SECS", "soon")],
                "IMAP_POLL_SECS",
            ),
            (
                vec![on[0], on[1], ("IMAP_DONE_FOLDER", "inbox")],
                "IMAP_DONE_FOLDER",
            ),
            (
                vec![on[0], on[1], ("IMAP_DONE_FOLDER", " ")],
                "IMAP_DONE_FOLDER",
            ),
        ] {
            let message = settings(&vars).expect_err(named).to_string();
            assert!(message.starts_with(named), "{message}");
            assert!(!message.contains("s3cret-pass"), "{message}");
        }
    }

    #[test]
    fn bad_values_are_errors_not_defaults() {
        assert!(settings(&[("PORT", "http")]).is_err());
        assert!(settings(&[("DATABASE_URL", "mysql://x")]).is_err());
        assert!(settings(&[("TOKEN_LIFETIME_SECS", "0")]).is_err());
        assert!(settings(&[("DATABASE_CONNECT_TIMEOUT_SECS", "0")]).is_err());
        assert!(settings(&[("DATABASE_CONNECT_TIMEOUT_SECS", "5s")]).is_err());
        assert!(settings(&[("HOST", "not-an-ip")]).is_err());
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        let format = |vars: &[(&str, &str)]| settings(vars).map(|s| s.log_format).ok();
        assert_eq!(format(&[]), Some(LogFormat::Text));
        assert_eq!(format(&[("LOG_FORMAT", "json")]), Some(LogFormat::Json));
        assert_eq!(format(&[("LOG_FORMAT", "yaml")]), None);
        assert!(settings(&[("HTTP_INSTRUMENTATION", "maybe")]).is_err());
    }

    #[test]
    fn if_match_is_required_only_when_asked_for() {
        let required = |vars: &[(&str, &str)]| settings(vars).map(|s| s.require_if_match).ok();
        assert_eq!(required(&[]), Some(false));
        assert_eq!(required(&[("REQUIRE_IF_MATCH", "false")]), Some(false));
        assert_eq!(required(&[("REQUIRE_IF_MATCH", "true")]), Some(true));
        assert_eq!(required(&[("REQUIRE_IF_MATCH", "yes")]), None);
    }

    #[test]
    fn limits_default_to_the_contract_and_zero_turns_them_off() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.limits, LimitSettings::default());
        assert_eq!(s.limits.address_per_minute, 20);
        assert_eq!(s.limits.failed_logins_per_address, 10);
        assert!(s.limits.trusted_proxy_header.is_none());
        let s = settings(&[
            ("ADDRESS_RATE_LIMIT", "0"),
            ("ACCOUNT_WRITE_LIMIT", "0"),
            ("FAILED_LOGIN_LIMIT", "0"),
            ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
        ])
        .expect("valid");
        assert_eq!(s.limits.address_per_minute, 0);
        assert_eq!(s.limits.account_writes_per_minute, 0);
        assert_eq!(s.limits.failed_logins_per_address, 0);
        assert_eq!(
            s.limits.trusted_proxy_header.map(|h| h.to_string()),
            Some("x-forwarded-for".to_owned())
        );
        assert!(settings(&[("ADDRESS_RATE_LIMIT", "-1")]).is_err());
        assert!(settings(&[("TRUSTED_PROXY_HEADER", "not a header")]).is_err());
        assert!(settings(&[("ARGON2_WORKERS", "0")]).is_err());
    }

    #[test]
    fn connections_per_address_default_to_32_never_more_than_half_and_off_behind_a_proxy() {
        let cap = |vars: &[(&str, &str)]| settings(vars).map(|s| s.max_connections_per_address);
        assert_eq!(cap(&[]).ok(), Some(Some(32)));
        assert_eq!(cap(&[("MAX_CONNECTIONS", "64")]).ok(), Some(Some(32)));
        assert_eq!(cap(&[("MAX_CONNECTIONS", "40")]).ok(), Some(Some(20)));
        assert_eq!(cap(&[("MAX_CONNECTIONS", "1")]).ok(), Some(Some(1)));
        assert_eq!(
            cap(&[("MAX_CONNECTIONS_PER_ADDRESS", "4")]).ok(),
            Some(Some(4))
        );
        assert_eq!(
            cap(&[("TRUSTED_PROXY_HEADER", "X-Forwarded-For")]).ok(),
            Some(None)
        );
        for bad in ["0", "-1", "many"] {
            let message = cap(&[("MAX_CONNECTIONS_PER_ADDRESS", bad)])
                .expect_err("refused")
                .to_string();
            assert!(message.contains("MAX_CONNECTIONS_PER_ADDRESS"), "{message}");
        }
        let message = cap(&[
            ("MAX_CONNECTIONS_PER_ADDRESS", "8"),
            ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
        ])
        .expect_err("refused")
        .to_string();
        assert!(message.contains("at the proxy"), "{message}");
    }

    #[test]
    fn the_secret_never_prints() {
        let secret = "hunter2-hunter2-hunter2-hunter2-hunter2";
        let s = settings(&[("JWT_SECRET", secret)]).expect("valid");
        assert!(!format!("{s:?}").contains(secret));
    }

    #[test]
    fn a_secret_shorter_than_32_bytes_stops_the_start() {
        let error = settings(&[("JWT_SECRET", "hunter2")]).expect_err("too short");
        let message = error.to_string();
        assert!(
            message.contains("JWT_SECRET") && message.contains("32"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "the secret is never printed");
        assert!(settings(&[("JWT_SECRET", &"x".repeat(32))]).is_ok());
    }

    #[test]
    fn sla_targets_come_from_their_settings_and_a_bad_one_stops_the_start() {
        use domain::Priority;
        let s = settings(&[
            ("SLA_FIRST_RESPONSE", "URGENT=15m"),
            ("SLA_RESOLUTION", "LOW=14d"),
        ])
        .expect("valid");
        assert_eq!(
            s.sla.first_response(Priority::Urgent),
            chrono::TimeDelta::minutes(15)
        );
        assert_eq!(s.sla.resolution(Priority::Low), chrono::TimeDelta::days(14));
        assert_eq!(
            s.sla.resolution(Priority::Urgent),
            chrono::TimeDelta::hours(4)
        );
        for (variable, value) in [
            ("SLA_FIRST_RESPONSE", "URGENT=soon"),
            ("SLA_RESOLUTION", "HIGH=0d"),
        ] {
            let message = settings(&[(variable, value)])
                .expect_err("bad value")
                .to_string();
            assert!(message.starts_with(variable), "{message}");
        }
    }
}
