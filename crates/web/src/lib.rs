//! The support tracker's browser interface: server-rendered pages at `/`,
//! beside the JSON API, over the same `domain` rules and `store`.
//!
//! Handlers are as thin as the API's: parse the form or query, call the
//! store on the blocking pool as the signed-in user, render a template.
//! **No rule is applied here**: a refusal comes back from the store and is
//! shown as a message. What the server process owns (the request budgets,
//! the report stream) is reached through [`Host`], which the `api` crate
//! implements for its state.

pub mod assets;
pub mod error;
mod forms;
mod pages;
pub mod session;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use domain::{CursorKey, UserId};
use store::{ResolvedReport, SignedInUser, Store};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::PageError;
use crate::session::{CsrfKey, SessionSecret};

/// What the pages need from the server that mounts them.
pub trait Host: Clone + Send + Sync + 'static {
    fn store(&self) -> &Store;
    fn web(&self) -> &WebConfig;
    /// Spends one unit of the budget behind `door` (the same budgets as
    /// the API's); a refusal is a 429 page.
    fn admit(&self, door: Door<'_>) -> Result<(), Throttled>;
    /// The account this browser's known-device cookie (the API's, checked
    /// the same way) was issued to: its sign-ins count on that account's
    /// own failure record, which strangers' wrong PINs cannot lock.
    fn known_device(&self, headers: &HeaderMap) -> Option<UserId>;
    /// The `Set-Cookie` value that makes this browser a known device of
    /// `user` for sign-ins at [`SIGN_IN_PATH`].
    fn remember_device(&self, user: UserId) -> Option<String>;
    /// The report as the API streams it (a CSV download).
    fn stream_report(&self, report: ResolvedReport) -> Response;
}

/// Where the sign-in form posts (a known-device cookie is sent only there).
pub const SIGN_IN_PATH: &str = "/login";

/// A budgeted way in.
#[derive(Debug, Clone, Copy)]
pub enum Door<'a> {
    /// A sign-in from the request's client address.
    SignIn(&'a Parts),
    /// A sign-up from the request's client address.
    SignUp(&'a Parts),
    /// A new ticket or reply by this account.
    Write(UserId),
}

/// A budget spent: what to say and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub message: &'static str,
    pub retry_after_secs: u64,
}

impl From<Throttled> for PageError {
    fn from(throttled: Throttled) -> Self {
        PageError::TooMany {
            message: throttled.message,
            retry_after_secs: throttled.retry_after_secs,
        }
    }
}

/// The pages' settings, derived once from the server's.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Seals the queue's cursors (the same key as the API's).
    pub cursors: CursorKey,
    pub csrf: CsrfKey,
    /// How long a session lasts: as long as a token.
    pub session_lifetime: Duration,
    /// `PUBLIC_URL`'s origin (`https://help.example.com`), if set: a POST's
    /// `Origin` must be it, and cookies are `Secure` when it is https.
    pub public_origin: Option<String>,
}

impl WebConfig {
    pub fn new(server_secret: &[u8], session_lifetime: Duration, public_url: Option<&str>) -> Self {
        Self {
            cursors: CursorKey::derive(server_secret),
            csrf: CsrfKey::derive(server_secret),
            session_lifetime,
            public_origin: public_url.map(origin_of),
        }
    }

    /// The same settings, for browsers that reach the server at `public_url`.
    pub fn with_public_url(mut self, public_url: Option<&str>) -> Self {
        self.public_origin = public_url.map(origin_of);
        self
    }

    /// Whether cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("https://"))
    }
}

/// `scheme://host[:port]` of a URL, lowercased, without path or slash.
fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url.as_str()));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// Every page, form and asset, with the headers every answer carries.
pub fn router<H: Host>() -> Router<H> {
    pages::router::<H>()
        .merge(assets::router::<H>())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Pages show private data: no cache keeps them (assets say otherwise).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Our own stylesheet and icons only: no script at all, inline or not, no
/// other origin, no framing, forms posting only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The session a request's cookie names, not yet checked: the store checks
/// it in the same blocking call as the page's own work
/// ([`SessionCookie::run`]). Without one, the browser is sent to sign in
/// and back.
#[derive(Debug, Clone)]
pub struct SessionCookie {
    secret: SessionSecret,
    /// The page asked for, to come back to after signing in.
    asked_for: String,
}

impl<H: Host> FromRequestParts<H> for SessionCookie {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &H) -> Result<Self, PageError> {
        // A form's own address is no page to come back to.
        let asked_for = match parts.method {
            Method::GET => parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned()),
            _ => "/".to_owned(),
        };
        match SessionSecret::of_request(&parts.headers) {
            Some(secret) => Ok(SessionCookie { secret, asked_for }),
            None => Err(PageError::SignIn { next: asked_for }),
        }
    }
}

impl SessionCookie {
    pub fn secret(&self) -> &SessionSecret {
        &self.secret
    }

    /// Runs `work` on the blocking pool as the session's user, checked
    /// there first: an ended session sends the browser to sign in and back
    /// to the page it asked for.
    pub async fn run<H: Host, T: Send + 'static>(
        &self,
        host: &H,
        work: impl FnOnce(&Store, &SignedInUser) -> Result<T, PageError> + Send + 'static,
    ) -> Result<T, PageError> {
        let digest = self.secret.digest();
        let asked_for = self.asked_for.clone();
        blocking(host, move |store| {
            let user = store
                .authenticate_browser_session(&digest)
                .map_err(|error| match PageError::from(error) {
                    PageError::SignIn { .. } => PageError::SignIn { next: asked_for },
                    other => other,
                })?;
            work(store, &user)
        })
        .await
    }
}

/// Runs `work` with the store on the blocking pool (Diesel and Argon2
/// never run on the async workers).
pub async fn blocking<H: Host, T: Send + 'static>(
    host: &H,
    work: impl FnOnce(&Store) -> Result<T, PageError> + Send + 'static,
) -> Result<T, PageError> {
    let store = host.store().clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(PageError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let config = WebConfig::new(b"s", Duration::from_secs(60), Some("https://a.example/x"));
        assert!(config.secure_cookies());
        let config = WebConfig::new(b"s", Duration::from_secs(60), None);
        assert!(!config.secure_cookies());
    }
}
