//! The HTTP client deliveries are posted with: connect and total
//! timeouts, no redirects, no proxy, and a resolver that connects only to
//! addresses `domain` allows (so a name that resolves inward is refused
//! at every delivery, after resolution: no server-side request forgery).

use std::net::SocketAddr;
use std::sync::Arc;

use domain::DestinationPolicy;
use domain::webhooks::{RESPONSE_KEPT_BYTES, may_connect_to};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::DeliverySettings;

/// The client could not be built (no TLS set-up, say).
#[derive(Debug)]
pub struct ClientError(reqwest::Error);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot build the webhook client: {}", self.0)
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An answer: its status and the first KiB of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Makes ring rustls's crypto for the process (webhooks and mail alike),
/// not aws-lc-rs: no C build. Installed once; a second call finds it
/// there. (Deprecated for lacking post-quantum key exchange, which only
/// aws-lc-rs offers.) Public for the `api mailgate` command's client.
pub fn install_ring() {
    #[expect(
        deprecated,
        reason = "ring has no post-quantum key exchange; aws-lc-rs is a slow C build"
    )]
    let provider = rustls::crypto::ring::default_provider();
    let _ = provider.install_default();
}

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
}

impl Client {
    pub(crate) fn new(settings: &DeliverySettings) -> Result<Self, ClientError> {
        install_ring();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("tracker-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver {
                policy: settings.policy,
            }))
            .build()
            .map_err(ClientError)?;
        Ok(Self { http })
    }

    /// Posts a signed message; reads at most a KiB of the answer.
    pub(crate) async fn post(
        &self,
        url: reqwest::Url,
        message_id: &str,
        timestamp: i64,
        signature: &str,
        payload: String,
    ) -> Result<Sent, String> {
        let mut response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(payload)
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < RESPONSE_KEPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                // The status came; a body cut short is still an answer.
                Err(_) => break,
            }
        }
        body.truncate(RESPONSE_KEPT_BYTES);
        Ok(Sent { status, body })
    }
}

/// An error with its causes, for the delivery log.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// Resolves a name, then keeps only the addresses deliveries may connect
/// to; none left is an error naming the refused address.
#[derive(Debug)]
struct CheckedResolver {
    policy: DestinationPolicy,
}

/// Every address a name led to was refused.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match may_connect_to(address.ip(), policy) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal.get_or_insert(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| format!("{host} has no address"));
                return Err(Box::new(Refused(format!("{host}: {why}"))) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
