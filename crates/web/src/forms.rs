//! What a POSTed form must prove before a handler sees it: that it came
//! from one of our pages (the same-site check) and, once signed in, that it
//! carries its session's CSRF token. A form that fails either changes
//! nothing.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use domain::UserId;
use edge::App;
use edge::device::known_device;
use edge::limits::ClientAddress;
use edge::problem::Problem;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::SessionCookie;
use crate::error::{CROSS_SITE, PageError};
use crate::session::is_same_site_post;

/// A form and the token it carries.
#[derive(Debug, Deserialize)]
struct WithCsrf<T> {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// A signed-in user's form: from our site, with its session's token.
#[derive(Debug)]
pub struct Posted<T> {
    pub session: SessionCookie,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<App> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, app: &App) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let session = SessionCookie::from_request_parts(&mut parts, app).await?;
        if !is_same_site_post(&parts.headers, app.public_origin.as_deref()) {
            return Err(Problem::Forbidden(CROSS_SITE).into());
        }
        let request = Request::from_parts(parts, body);
        let Form(sent) = Form::<WithCsrf<T>>::from_request(request, app)
            .await
            .map_err(Problem::from)?;
        if !app.keys.csrf.verify(session.secret().as_str(), &sent.csrf) {
            return Err(Problem::Forbidden(CROSS_SITE).into());
        }
        Ok(Posted {
            session,
            form: sent.fields,
        })
    }
}

/// A signed-out visitor's form (sign-in, sign-up), and the request budget
/// it spends.
pub trait Entrance: DeserializeOwned + Send {
    /// Spends one unit of this door's budget for the request's client.
    fn admit(app: &App, client: ClientAddress) -> Result<(), Problem>;
}

/// A signed-out visitor's form: from our site, with the address's budget
/// for that door already spent, or the refusal to show beside the form.
#[derive(Debug)]
pub struct EntranceForm<T> {
    pub form: T,
    pub admitted: Result<(), Problem>,
    /// The account this browser is a known device of, if any.
    pub known_device: Option<UserId>,
    /// Where the form came from, as the budgets count it.
    pub client: ClientAddress,
}

impl<T: Entrance> FromRequest<App> for EntranceForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, app: &App) -> Result<Self, PageError> {
        let (parts, body) = request.into_parts();
        if !is_same_site_post(&parts.headers, app.public_origin.as_deref()) {
            return Err(Problem::Forbidden(CROSS_SITE).into());
        }
        let client = app.limits.client_of(&parts);
        let admitted = T::admit(app, client);
        let known_device = known_device(&app.keys, &parts.headers);
        let request = Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(request, app)
            .await
            .map_err(Problem::from)?;
        Ok(EntranceForm {
            form,
            admitted,
            known_device,
            client,
        })
    }
}
