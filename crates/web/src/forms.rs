//! What a POSTed form must prove before a handler sees it: that it came
//! from one of our pages (the same-site check) and, once signed in, that it
//! carries its session's CSRF token. A form that fails either changes
//! nothing.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::PageError;
use crate::session::is_same_site_post;
use crate::{Door, Host, SessionCookie, Throttled};

/// A form and the token it carries.
#[derive(Debug, Deserialize)]
struct WithCsrf<T> {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A signed-in user's form: from our site, with its session's token.
#[derive(Debug)]
pub struct Posted<T> {
    pub session: SessionCookie,
    pub form: T,
}

impl<H: Host, T: DeserializeOwned + Send> FromRequest<H> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, host: &H) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let session = SessionCookie::from_request_parts(&mut parts, host).await?;
        if !is_same_site_post(&parts.headers, host.web().public_origin.as_deref()) {
            return Err(PageError::CrossSite);
        }
        let request = Request::from_parts(parts, body);
        let Form(sent) = Form::<WithCsrf<T>>::from_request(request, host)
            .await
            .map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
        if !host.web().csrf.verify(session.secret(), &sent.csrf) {
            return Err(PageError::CrossSite);
        }
        Ok(Posted {
            session,
            form: sent.fields,
        })
    }
}

/// Which anonymous door a form goes through.
pub trait Entrance: DeserializeOwned + Send {
    fn door(parts: &axum::http::request::Parts) -> Door<'_>;
}

/// A signed-out visitor's form (sign-in, sign-up): from our site, with
/// the address's budget for that door already spent, or the refusal to
/// show beside the form.
#[derive(Debug)]
pub struct EntranceForm<T> {
    pub form: T,
    pub admitted: Result<(), Throttled>,
    /// The account this browser is a known device of, if any.
    pub known_device: Option<domain::UserId>,
}

impl<H: Host, T: Entrance> FromRequest<H> for EntranceForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, host: &H) -> Result<Self, PageError> {
        let (parts, body) = request.into_parts();
        if !is_same_site_post(&parts.headers, host.web().public_origin.as_deref()) {
            return Err(PageError::CrossSite);
        }
        let admitted = host.admit(T::door(&parts));
        let known_device = host.known_device(&parts.headers);
        let request = Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(request, host)
            .await
            .map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
        Ok(EntranceForm {
            form,
            admitted,
            known_device,
        })
    }
}
