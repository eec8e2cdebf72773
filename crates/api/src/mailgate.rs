//! `api mailgate --url URL`: one message from a mail server's pipe
//! (Postfix `pipe`, an alias `|command`) posted to the server's
//! `POST /api/v1/inbound/email`, answered with the exit status the mail
//! server understands (`sysexits.h`): 0 when the message was taken, 75
//! (`EX_TEMPFAIL`: keep it and try again later) when the server could not
//! be reached or could not take it now, 65 (`EX_DATAERR`) when it refused
//! the message. A message is never dropped by the gate: whatever it cannot
//! hand over for a reason that may pass stays with the mail server.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context as _, bail};
use edge::inbound::{DEFAULT_MAX_EMAIL_BYTES, may_pass};

use crate::config::parse_var;

/// The exit statuses of `sysexits.h` the gate answers with.
pub const EX_OK: u8 = 0;
pub const EX_DATAERR: u8 = 65;
pub const EX_TEMPFAIL: u8 = 75;
/// The gate's own settings are wrong (no `INBOUND_TOKEN`, a bad URL): a
/// mail server defers the message, as for a temporary failure, until an
/// operator mends them.
pub const EX_CONFIG: u8 = 78;

/// How long the whole exchange may take by default
/// (`MAILGATE_TIMEOUT_SECS`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the gate needs: where to post, the token, the largest message it
/// reads, and how long it waits.
#[derive(Debug, Clone)]
pub struct MailgateSettings {
    /// The server's `.../api/v1/inbound/email`.
    pub endpoint: url::Url,
    pub token: String,
    /// `MAX_EMAIL_BYTES` (default 25 MiB), as the server's.
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl MailgateSettings {
    /// From `--url` (the server's base URL) and the environment
    /// (`INBOUND_TOKEN`, `MAX_EMAIL_BYTES`, `MAILGATE_TIMEOUT_SECS`).
    pub fn from_lookup(
        base_url: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut endpoint = url::Url::parse(base_url)
            .with_context(|| format!("--url {base_url:?} is not a URL"))?;
        if !matches!(endpoint.scheme(), "http" | "https") || !endpoint.has_host() {
            bail!("--url {base_url:?} must be an http:// or https:// URL");
        }
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            bail!("--url {base_url:?} must be the server's base URL, with no query or fragment");
        }
        // The base may sit under a path of a proxy's.
        let path = format!(
            "{}/api/v1/inbound/email",
            endpoint.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        let Some(token) = var("INBOUND_TOKEN").filter(|token| !token.is_empty()) else {
            bail!("INBOUND_TOKEN is not set (the token the server takes mail with)");
        };
        let max_bytes = match parse_var::<usize>(&var, "MAX_EMAIL_BYTES")? {
            Some(0) => bail!("MAX_EMAIL_BYTES must be positive"),
            Some(bytes) => bytes,
            None => DEFAULT_MAX_EMAIL_BYTES,
        };
        let timeout = match parse_var::<u64>(&var, "MAILGATE_TIMEOUT_SECS")? {
            Some(0) => bail!("MAILGATE_TIMEOUT_SECS must be positive"),
            Some(secs) => Duration::from_secs(secs),
            None => DEFAULT_TIMEOUT,
        };
        Ok(Self {
            endpoint,
            token,
            max_bytes,
            timeout,
        })
    }
}

/// How one message went: the exit status, and the line for the mail
/// server's log (and its bounce, when it bounces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gated {
    pub status: u8,
    pub message: String,
}

impl Gated {
    fn new(status: u8, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// Runs the gate as the binary does: settings from the environment, the
/// message from `input`.
pub fn run(base_url: &str, input: &mut impl Read) -> Gated {
    let settings = match MailgateSettings::from_lookup(base_url, |name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => return Gated::new(EX_CONFIG, format!("mailgate: {error:#}")),
    };
    let raw = match read_message(input, settings.max_bytes) {
        Ok(Some(raw)) => raw,
        Ok(None) => {
            return Gated::new(
                EX_DATAERR,
                format!(
                    "mailgate: the message is too large (over MAX_EMAIL_BYTES, {} bytes)",
                    settings.max_bytes
                ),
            );
        }
        Err(error) => {
            return Gated::new(
                EX_TEMPFAIL,
                format!("mailgate: cannot read the message: {error}"),
            );
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Gated::new(EX_TEMPFAIL, format!("mailgate: {error}")),
    };
    runtime.block_on(post(&settings, raw))
}

/// The message, unless it has more than `max_bytes` (then `None`: only
/// one byte past the limit is read).
fn read_message(input: &mut impl Read, max_bytes: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut raw = Vec::new();
    input
        .take(
            u64::try_from(max_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        )
        .read_to_end(&mut raw)?;
    Ok((raw.len() <= max_bytes).then_some(raw))
}

/// Posts the message; what came of it.
async fn post(settings: &MailgateSettings, raw: Vec<u8>) -> Gated {
    delivery::client::install_ring();
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tracker-mailgate/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => return Gated::new(EX_TEMPFAIL, format!("mailgate: {error}")),
    };
    let sent = client
        .post(settings.endpoint.clone())
        .bearer_auth(&settings.token)
        .header(reqwest::header::CONTENT_TYPE, "message/rfc822")
        .body(raw)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            let what = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "could not connect"
            } else {
                "the request failed"
            };
            return Gated::new(
                EX_TEMPFAIL,
                format!("mailgate: {what}: {}", store::with_causes(&error)),
            );
        }
    };
    let status = response.status();
    // The status is the answer; a body cut short does not change it.
    let body = response.bytes().await.unwrap_or_default();
    let said = server_message(&body);
    Gated::new(
        exit_status(status.as_u16()),
        format!("mailgate: the server answered {status}: {said}"),
    )
}

/// The exit status an answer's status means: taken (2xx); what may pass
/// ([`may_pass`]: a 429, a 5xx) kept for later, and so is a redirect or
/// other surprise, which is the gate's configuration to mend; any other
/// 4xx refused for good.
pub fn exit_status(http_status: u16) -> u8 {
    match http_status {
        200..=299 => EX_OK,
        status if may_pass(status) => EX_TEMPFAIL,
        400..=499 => EX_DATAERR,
        _ => EX_TEMPFAIL,
    }
}

/// What the server said: its envelope's message (and outcome), or the
/// start of whatever else it sent.
fn server_message(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => {
            let message = json["message"].as_str().unwrap_or("(no message)");
            match json["data"]["outcome"].as_str() {
                Some(outcome) => match json["data"]["ticketId"].as_i64() {
                    Some(ticket) => format!("{message} ({outcome}, ticket {ticket})"),
                    None => format!("{message} ({outcome})"),
                },
                None => message.to_owned(),
            }
        }
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, vars: &[(&str, &str)]) -> anyhow::Result<MailgateSettings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        MailgateSettings::from_lookup(url, move |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn the_endpoint_is_under_the_base_url() {
        let token = [("INBOUND_TOKEN", "t")];
        for (base, endpoint) in [
            (
                "https://help.example.com",
                "https://help.example.com/api/v1/inbound/email",
            ),
            (
                "https://help.example.com/",
                "https://help.example.com/api/v1/inbound/email",
            ),
            (
                "http://127.0.0.1:8080/support/",
                "http://127.0.0.1:8080/support/api/v1/inbound/email",
            ),
        ] {
            let read = settings(base, &token).expect("valid");
            assert_eq!(read.endpoint.as_str(), endpoint);
            assert_eq!(read.max_bytes, DEFAULT_MAX_EMAIL_BYTES);
            assert_eq!(read.timeout, DEFAULT_TIMEOUT);
        }
        for bad in [
            "help.example.com",
            "ftp://x/",
            "https://x/?a=1",
            "mailto:a@b",
        ] {
            assert!(settings(bad, &token).is_err(), "{bad}");
        }
        assert!(settings("https://x", &[]).is_err(), "no token");
        let tuned = settings(
            "https://x",
            &[
                ("INBOUND_TOKEN", "t"),
                ("MAX_EMAIL_BYTES", "10"),
                ("MAILGATE_TIMEOUT_SECS", "5"),
            ],
        )
        .expect("valid");
        assert_eq!(
            (tuned.max_bytes, tuned.timeout),
            (10, Duration::from_secs(5))
        );
        for bad in [("MAX_EMAIL_BYTES", "0"), ("MAILGATE_TIMEOUT_SECS", "soon")] {
            assert!(settings("https://x", &[("INBOUND_TOKEN", "t"), bad]).is_err());
        }
    }

    #[test]
    fn each_answer_has_its_exit_status() {
        assert_eq!(exit_status(200), EX_OK);
        for refused in [400, 401, 404, 413, 415] {
            assert_eq!(exit_status(refused), EX_DATAERR, "{refused}");
        }
        for passing in [429, 500, 502, 503, 504, 301, 100] {
            assert_eq!(exit_status(passing), EX_TEMPFAIL, "{passing}");
        }
    }

    #[test]
    fn a_message_past_the_limit_is_not_read_whole() {
        let mut exact = &b"12345"[..];
        assert_eq!(
            read_message(&mut exact, 5).expect("read"),
            Some(b"12345".to_vec())
        );
        let mut over = &b"123456789"[..];
        assert_eq!(read_message(&mut over, 5).expect("read"), None);
        assert_eq!(over, b"789", "one byte past the limit is read, no more");
    }

    #[test]
    fn the_servers_message_is_shown() {
        let taken =
            br#"{"error":false,"message":"Taken","data":{"outcome":"created","ticketId":7}}"#;
        assert_eq!(server_message(taken), "Taken (created, ticket 7)");
        let refused = br#"{"error":true,"message":"the inbound mail token is missing or wrong"}"#;
        assert_eq!(
            server_message(refused),
            "the inbound mail token is missing or wrong"
        );
        assert_eq!(server_message(b"Bad Gateway"), "Bad Gateway");
    }
}
