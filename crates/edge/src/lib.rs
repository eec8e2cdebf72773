//! What every door of the server shares, below all of them: the state a
//! request can reach ([`App`]: the store, the keys, the request budgets,
//! the public origin), the one vocabulary a failure is answered in
//! ([`problem`]), the guards every request passes ([`guard`]), the text of
//! a program's API token ([`api_tokens`]), the device cookie ([`device`]),
//! the report download ([`report`]), and what an operator sees of every
//! request ([`observe`]).
//!
//! A door (the JSON API, the pages; next, mail and the delivery workers) is
//! a thin adapter over this and the `store`: it parses what comes in,
//! calls a store action, and renders what comes back. No door reaches into
//! another; what two of them need is here.

pub mod api_tokens;
pub mod device;
pub mod guard;
pub mod inbound;
pub mod keys;
pub mod limits;
pub mod observe;
pub mod pin_resets;
pub mod problem;
pub mod random_secret;
pub mod report;
pub mod request_log;

use std::sync::Arc;

use store::Store;

use crate::keys::Keys;
use crate::limits::Limits;
use crate::problem::Problem;

/// What every request can reach; built once by the server, cloned into
/// each request.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Store,
    pub keys: Arc<Keys>,
    /// Per-address and per-account request budgets, and the time a request
    /// may take.
    pub limits: Arc<Limits>,
    /// `PUBLIC_URL`'s origin (`https://help.example.com`), if set: a form
    /// must be posted from it, and cookies are `Secure` when it is https.
    pub public_origin: Option<Arc<str>>,
    /// `REQUIRE_IF_MATCH`: a conditional write of the API (a ticket's PUT
    /// and PATCH, an account's PATCH) without `If-Match` is refused (428).
    pub require_if_match: bool,
    /// Where webhook endpoints may point (`WEBHOOK_ALLOW_HTTP`,
    /// `WEBHOOK_ALLOW_PRIVATE`); strict unless the server says otherwise.
    pub webhook_policy: domain::DestinationPolicy,
    /// Inbound mail, when `INBOUND_ADDRESS` is set: what its doors share.
    pub inbound: Option<Arc<inbound::Inbound>>,
}

impl App {
    pub fn new(store: Store, keys: Keys, limits: Limits, public_url: Option<&str>) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            limits: Arc::new(limits),
            public_origin: public_url.map(|url| Arc::from(origin_of(url))),
            require_if_match: false,
            webhook_policy: domain::DestinationPolicy::default(),
            inbound: None,
        }
    }

    /// The state taking inbound mail as `settings` say (or not, `None`).
    pub fn with_inbound(self, settings: Option<inbound::InboundSettings>) -> Self {
        Self {
            inbound: settings.map(|settings| Arc::new(inbound::Inbound::new(settings))),
            ..self
        }
    }

    /// The same state, requiring `If-Match` on conditional writes or not.
    pub fn requiring_if_match(self, required: bool) -> Self {
        Self {
            require_if_match: required,
            ..self
        }
    }

    /// The state with webhook endpoints allowed to point where `policy` says.
    pub fn with_webhook_policy(self, policy: domain::DestinationPolicy) -> Self {
        Self {
            webhook_policy: policy,
            ..self
        }
    }

    /// Whether cookies must be `Secure`: the server is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("https://"))
    }

    /// Runs `work` with the store on the blocking pool (Diesel and Argon2
    /// never run on the async workers); a panic there is a failure of ours.
    pub async fn blocking<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Problem> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|panicked| E::from(Problem::internal(panicked)))?
    }
}

/// A time as every door writes it for programs (JSON, CSV): RFC 3339 in
/// UTC with milliseconds and `Z`, e.g. `2021-04-13T01:56:44.234Z`.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    domain::json::timestamp(at)
}

/// `scheme://host[:port]` of a URL, lowercased, without path or slash.
fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url.as_str()));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let at = chrono::DateTime::parse_from_rfc3339("2021-04-13T01:56:44.234567Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .expect("valid");
        assert_eq!(timestamp(at), "2021-04-13T01:56:44.234Z");
    }

    #[test]
    fn the_public_origin_is_scheme_and_authority_only() {
        assert_eq!(
            origin_of("https://Help.Example.com/"),
            "https://help.example.com"
        );
        assert_eq!(
            origin_of("http://10.0.0.5:9003/tracker?x"),
            "http://10.0.0.5:9003"
        );
    }
}
