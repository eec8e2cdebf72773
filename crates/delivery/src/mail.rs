//! The mail worker: claims due rows of the outbox's `mail` channel (the
//! claim loop is the webhook worker's, `crate::run`), renders each
//! ([`render`]), sends it over SMTP with lettre's async transport (rustls
//! over ring), and hands the store how it went. A temporary failure
//! (refused, timed out, a 4xx) is tried again on the mail schedule; a 5xx
//! for the recipient fails the row at once. At least once: a worker that
//! died between the send and the record leaves its lease to run out, and
//! the mail is sent again with the same `Message-ID`.

pub mod render;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{OutgoingMail, RetrySchedule};
use edge::keys::Keys;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use store::{AttemptRecord, ClaimedMessage, MAIL_CHANNEL, Store};

use crate::{Channel, record_attempt};
use render::{Addressing, Unsendable, build_message};

/// How the connection to a mail server (SMTP, IMAP) is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://` (`imap://`): plain at first, then STARTTLS, which the
    /// server must offer (port 587, 143 by default).
    StartTls,
    /// `smtps://` (`imaps://`): TLS from the first byte (port 465, 993 by
    /// default).
    Tls,
    /// `smtp://...?tls=none` (`imap://...?tls=none`): no TLS at all; only
    /// to a server on this machine (a local test server).
    None,
}

/// The SMTP server mail is handed to (`SMTP_URL`).
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, if the server wants them.
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "user",
                &self.credentials.as_ref().map(|(user, _)| user.as_str()),
            )
            .finish_non_exhaustive()
    }
}

impl SmtpServer {
    /// From `smtp://user:pass@host:587` (STARTTLS required),
    /// `smtps://user:pass@host:465` (TLS) or `smtp://host:2525?tls=none`
    /// (plain, to this machine only). The error never repeats a password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let server = ServerUrl::parse(
            raw,
            ServerScheme {
                plain: "smtp",
                tls: "smtps",
                ports: [587, 25, 465],
            },
        )?;
        if server.url.path() != "" && server.url.path() != "/" {
            return Err("must not have a path".to_owned());
        }
        Ok(Self {
            host: server.host,
            port: server.port,
            security: server.security,
            credentials: server.credentials,
        })
    }

    /// Whether it names a user.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

/// The sender of every mail (`MAIL_FROM`): `Support <support@example.com>`
/// or a bare address.
pub fn parse_sender(raw: &str) -> Result<Mailbox, String> {
    raw.parse::<Mailbox>().map_err(|error| {
        format!("{raw:?} is not an address like `Support <support@example.com>` ({error})")
    })
}

/// The schemes of a mail server's URL (`smtp`/`smtps`, `imap`/`imaps`)
/// and its default ports: with STARTTLS, plain (`tls=none`), with TLS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerScheme {
    pub(crate) plain: &'static str,
    pub(crate) tls: &'static str,
    pub(crate) ports: [u16; 3],
}

/// A mail server's URL read: where, how protected, as whom.
#[derive(Debug)]
pub(crate) struct ServerUrl {
    pub(crate) url: url::Url,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: Security,
    pub(crate) credentials: Option<(String, String)>,
}

impl ServerUrl {
    /// `PLAIN://user:pass@host:port` (STARTTLS required), `TLS://...`
    /// (TLS), or `PLAIN://...?tls=none` (plain, to this machine only). The
    /// error never repeats a password.
    pub(crate) fn parse(raw: &str, scheme: ServerScheme) -> Result<Self, String> {
        let ServerScheme { plain, tls, ports } = scheme;
        let url = url::Url::parse(raw).map_err(|error| format!("is not a URL ({error})"))?;
        let mut no_tls = false;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none") => no_tls = true,
                ("tls", other) => {
                    return Err(format!(
                        "has tls={other:?}: leave tls out (STARTTLS with {plain}://, TLS with {tls}://) or say tls=none"
                    ));
                }
                (other, _) => return Err(format!("has an unknown parameter {other:?}")),
            }
        }
        let (security, default_port) = match (url.scheme(), no_tls) {
            (given, false) if given == plain => (Security::StartTls, ports[0]),
            (given, true) if given == plain => (Security::None, ports[1]),
            (given, false) if given == tls => (Security::Tls, ports[2]),
            (given, true) if given == tls => {
                return Err(format!("cannot be {tls}:// with tls=none"));
            }
            (other, _) => {
                return Err(format!(
                    "must start with {plain}:// or {tls}://, not {other}://"
                ));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(v4)) => v4.to_string(),
            Some(url::Host::Ipv6(v6)) => v6.to_string(),
            None => return Err("names no host".to_owned()),
        };
        if security == Security::None && !is_this_machine(&host) {
            return Err(format!(
                "sends in plain text (tls=none) to {host}: that is only for a test server on this machine"
            ));
        }
        let credentials = url_credentials(&url)?;
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            url,
            host,
            security,
            credentials,
        })
    }
}

/// The user name and password a server URL holds, decoded; none without
/// a user name. The error never repeats them.
fn url_credentials(url: &url::Url) -> Result<Option<(String, String)>, String> {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "has a user name or password that is not UTF-8".to_owned())
    };
    match (url.username(), url.password()) {
        ("", None) => Ok(None),
        (user, Some(password)) => Ok(Some((decode(user)?, decode(password)?))),
        (_, None) => Err("has a user name but no password".to_owned()),
    }
}

/// `localhost` or a loopback address.
fn is_this_machine(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How the mail worker sends; read once from the server's settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp: SmtpServer,
    /// The sender of every mail (`MAIL_FROM`).
    pub from: Mailbox,
    /// Where the links in mail point (`PUBLIC_URL`).
    pub public_url: url::Url,
    /// The delays between attempts; after the last, a mail has failed.
    pub schedule: RetrySchedule,
    /// A connection, and each command of the conversation, must be
    /// answered within this.
    pub timeout: Duration,
    /// How long a claimed mail is held before another worker may take it:
    /// longer than an attempt can take.
    pub lease: Duration,
    /// How often the outbox is looked at when nothing was due.
    pub poll_interval: Duration,
    /// Mails sent at once by this process.
    pub max_in_flight: usize,
    /// The support address (`INBOUND_ADDRESS`), when mail comes in: a
    /// ticket's mail carries the ticket's reply address as `Reply-To`.
    pub inbound: Option<domain::EmailAddress>,
}

impl MailSettings {
    /// The defaults for a server and sender.
    pub fn new(smtp: SmtpServer, from: Mailbox, public_url: url::Url) -> Self {
        Self {
            smtp,
            from,
            public_url,
            schedule: RetrySchedule::mail(),
            timeout: Duration::from_secs(30),
            lease: Duration::from_secs(5 * 60),
            poll_interval: Duration::from_secs(1),
            max_in_flight: 4,
            inbound: None,
        }
    }

    /// Where links point and what message ids end with.
    pub fn addressing(&self) -> Result<Addressing, MailError> {
        let host = self
            .public_url
            .host_str()
            .ok_or_else(|| MailError("PUBLIC_URL names no host".to_owned()))?
            .to_owned();
        Ok(Addressing {
            public_url: self.public_url.as_str().trim_end_matches('/').to_owned(),
            host,
            from: self.from.clone(),
            inbound: self.inbound.clone(),
        })
    }
}

/// The mail worker could not be set up.
#[derive(Debug)]
pub struct MailError(String);

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot set up mail: {}", self.0)
    }
}

impl std::error::Error for MailError {}

/// The mail channel: renders a claimed row and sends it.
pub(crate) struct Mailer {
    settings: MailSettings,
    addressing: Addressing,
    keys: Arc<Keys>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.settings.smtp)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub(crate) fn new(settings: MailSettings, keys: Arc<Keys>) -> Result<Self, MailError> {
        crate::client::install_ring();
        let addressing = settings.addressing()?;
        let smtp = &settings.smtp;
        let tls = match smtp.security {
            Security::None => Tls::None,
            Security::StartTls | Security::Tls => {
                let parameters = TlsParameters::new(smtp.host.clone())
                    .map_err(|error| MailError(format!("TLS for {}: {error}", smtp.host)))?;
                match smtp.security {
                    Security::Tls => Tls::Wrapper(parameters),
                    _ => Tls::Required(parameters),
                }
            }
        };
        let hello = match addressing.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => ClientId::Ipv4(v4),
            Ok(IpAddr::V6(v6)) => ClientId::Ipv6(v6),
            Err(_) => ClientId::Domain(addressing.host.clone()),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .hello_name(hello)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            addressing,
            keys,
            settings,
        })
    }

    /// Builds and sends one row's mail: the server's answer, or why none
    /// came and whether trying again could help.
    async fn send(&self, message: &ClaimedMessage) -> Result<Sent, Failed> {
        let mail: OutgoingMail =
            serde_json::from_str(&message.payload).map_err(|error| Failed {
                error: format!("unreadable mail in the outbox: {error}"),
                code: None,
                permanent: true,
            })?;
        let built = build_message(
            &self.addressing,
            &self.keys,
            &message.recipient,
            &message.message_id,
            &mail,
        )
        .map_err(|Unsendable(error)| Failed {
            error,
            code: None,
            permanent: true,
        })?;
        match self.transport.send(built).await {
            Ok(response) => Ok(Sent {
                code: u16::from(response.code()),
                text: response.message().collect::<Vec<_>>().join(" "),
            }),
            Err(error) => Err(classify(&error)),
        }
    }
}

/// The server took the mail.
#[derive(Debug)]
struct Sent {
    code: u16,
    text: String,
}

/// An attempt that did not send.
#[derive(Debug)]
struct Failed {
    error: String,
    code: Option<u16>,
    permanent: bool,
}

/// A 5xx is permanent (the server refused the recipient or the mail),
/// but for the ones about our own sign-in (530, 534, 535, 538): those
/// are the server's settings, which someone can mend. Everything else
/// (refused, timed out, TLS, a 4xx) is temporary.
fn classify(error: &lettre::transport::smtp::Error) -> Failed {
    let code = error.status().map(u16::from);
    let about_sign_in = matches!(code, Some(530 | 534 | 535 | 538));
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    Failed {
        error: text,
        code,
        permanent: error.is_permanent() && !about_sign_in,
    }
}

impl Channel for Mailer {
    const NAME: &'static str = MAIL_CHANNEL;

    async fn attempt(
        &self,
        store: &Store,
        message: ClaimedMessage,
        claim_next: bool,
    ) -> Option<ClaimedMessage> {
        let at = store::now();
        let started = Instant::now();
        let sent = self.send(&message).await;
        let duration = started.elapsed();
        let record = match sent {
            Ok(Sent { code, text }) => AttemptRecord {
                at,
                duration,
                status_code: Some(code),
                error: None,
                response: Some(domain::webhooks::kept_response(text.as_bytes())),
                succeeded: true,
                permanent: false,
            },
            Err(Failed {
                error,
                code,
                permanent,
            }) => {
                tracing::warn!(message_id = %message.message_id, %error, permanent, "a mail was not sent");
                AttemptRecord {
                    at,
                    duration,
                    status_code: code,
                    error: Some(error),
                    response: None,
                    succeeded: false,
                    permanent,
                }
            }
        };
        metrics::histogram!("mail_attempt_duration_seconds").record(duration.as_secs_f64());
        let (schedule, lease) = (self.settings.schedule.clone(), self.settings.lease);
        record_attempt(store, MAIL_CHANNEL, move |store| match claim_next {
            true => store.finish_mail_attempt_and_claim_next(&message, &record, &schedule, lease),
            false => store
                .finish_mail_attempt(&message, &record, &schedule)
                .map(|outcome| (outcome, None)),
        })
        .await
    }

    fn queued(store: &Store) -> impl Future<Output = ()> + Send {
        store.mail_queued()
    }
}

#[cfg(test)]
mod tests;
