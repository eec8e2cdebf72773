//! The support tracker's browser interface: server-rendered pages at `/`,
//! a door beside the JSON API over the same `store` actions and the same
//! shared state (`edge::App`).
//!
//! Handlers are as thin as the API's: parse the form or query, call the
//! store on the blocking pool as the signed-in user, render a template.
//! **No rule is applied here**: a refusal comes back from the store and is
//! shown as a message, and what a viewer sees of a ticket is `domain`'s
//! view, rendered.

pub mod assets;
pub mod error;
mod forms;
mod pages;
pub mod session;
pub mod views;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::{Router, middleware};
use edge::App;
use edge::guard::guarded;
use store::{SignedInUser, Store};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::PageError;
use crate::session::SessionSecret;

/// Where the sign-in form posts (a known-device cookie is sent only there).
pub const SIGN_IN_PATH: &str = "/login";

/// Every page, form and asset over `app`, behind the shared guards, every
/// failure answered as a page, with the headers every answer carries.
pub fn router(app: App) -> Router {
    let request_timeout = app.limits.request_timeout();
    let routes = pages::router().merge(assets::router()).with_state(app);
    guarded(routes, request_timeout)
        .layer(middleware::from_fn(error::html_errors))
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

impl FromRequestParts<App> for SessionCookie {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, PageError> {
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
    pub async fn run<T: Send + 'static>(
        &self,
        app: &App,
        work: impl FnOnce(&Store, &SignedInUser) -> Result<T, PageError> + Send + 'static,
    ) -> Result<T, PageError> {
        let digest = self.secret.digest();
        let asked_for = self.asked_for.clone();
        app.blocking(move |store| {
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
