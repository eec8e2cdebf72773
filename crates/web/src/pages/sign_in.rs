//! Signing in and up, signing out, and the start page.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use domain::{Creator, Credentials, EmailAddress, LoggedIn, Pin, UserId, Username};
use edge::App;
use edge::device::device_cookie;
use edge::limits::ClientAddress;
use edge::problem::Problem;
use serde::Deserialize;
use store::NewAccount;

use super::{PageQuery, given, notice};
use crate::SIGN_IN_PATH;
use crate::error::PageError;
use crate::forms::{EmptyForm, Entrance, EntranceForm, Posted};
use crate::session::{SessionSecret, expired_session_cookie, local_destination};
use crate::views::{Chrome, SignInPage, render, sentence};

/// `/`: the tickets when a session cookie is there (checked there), else
/// the sign-in page.
pub async fn start(headers: HeaderMap) -> Redirect {
    match SessionSecret::of_request(&headers) {
        Some(_) => Redirect::to("/tickets"),
        None => Redirect::to("/login"),
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    done: Option<String>,
}

pub async fn sign_in_page(
    State(app): State<App>,
    PageQuery(query): PageQuery<SignInQuery>,
) -> Response {
    let page = SignInPage {
        chrome: Chrome::new("Sign in", None).with_notice(notice(query.done.as_deref())),
        signing_up: false,
        next: local_destination(query.next.as_deref()).to_owned(),
        username: String::new(),
        email: String::new(),
        error: None,
        offers_pin_reset: app.store.sends_mail(),
    };
    render(&page)
}

pub async fn sign_up_page() -> Response {
    render(&sign_up_form(String::new(), String::new(), None))
}

fn sign_up_form(username: String, email: String, error: Option<String>) -> SignInPage {
    SignInPage {
        chrome: Chrome::new("Create your account", None),
        signing_up: true,
        next: "/".to_owned(),
        username,
        email,
        error,
        offers_pin_reset: false,
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    pin: String,
    next: Option<String>,
}

impl Entrance for SignInForm {
    fn admit(app: &App, client: ClientAddress) -> Result<(), Problem> {
        app.limits.admit_login(client)
    }
}

/// Checks the PIN exactly as the API's login does (same throttling, same
/// one answer for every wrong credential), then opens a session and goes
/// back to the page that was asked for.
pub async fn sign_in(
    State(app): State<App>,
    EntranceForm {
        form,
        admitted,
        known_device,
        client,
    }: EntranceForm<SignInForm>,
) -> Response {
    let next = local_destination(form.next.as_deref()).to_owned();
    let username = form.username.clone();
    let outcome = match admitted {
        Ok(()) => sign_in_as(&app, form.username, form.pin, known_device, client).await,
        Err(throttled) => Err(throttled.into()),
    };
    match outcome {
        Ok(cookies) => {
            let target = if next == "/" { "/tickets" } else { &next };
            (cookies, Redirect::to(target)).into_response()
        }
        Err(error) => form_refused(
            error,
            SignInPage {
                chrome: Chrome::new("Sign in", None),
                signing_up: false,
                next,
                username,
                email: String::new(),
                error: None,
                offers_pin_reset: app.store.sends_mail(),
            },
        ),
    }
}

/// Logs in (on the known-device lane if this browser is one of the
/// account's) and opens a session: the cookies to set, the session's and
/// the renewed known-device one.
async fn sign_in_as(
    app: &App,
    username: String,
    pin: String,
    known_device: Option<UserId>,
    client: ClientAddress,
) -> Result<AppendHeaders<Vec<(HeaderName, String)>>, PageError> {
    let credentials = Credentials::parse(username, pin)?;
    let from = app.limits.login_from(client);
    let hashing = app.store.reserve_hashing()?;
    let login = app
        .blocking(move |store| {
            Ok::<_, PageError>(store.log_in(hashing, &credentials, known_device, from)?)
        })
        .await?;
    let device = device_cookie(&app.keys, login.user.id, SIGN_IN_PATH, app.secure_cookies())?;
    let session = open_session(app, login).await?;
    Ok(AppendHeaders(vec![
        (SET_COOKIE, session),
        (SET_COOKIE, device.to_string()),
    ]))
}

/// A new session for a PIN just proven: the session cookie that carries it.
async fn open_session(app: &App, login: LoggedIn) -> Result<String, PageError> {
    let secret = SessionSecret::generate();
    let digest = secret.digest();
    let lifetime = app.keys.session_lifetime();
    app.blocking(move |store| {
        Ok::<_, PageError>(store.open_browser_session(&login, &digest, lifetime)?)
    })
    .await?;
    Ok(secret.cookie(lifetime, app.secure_cookies()).to_string())
}

#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    pin: String,
    /// Optional: empty for none.
    #[serde(default)]
    email: String,
}

impl Entrance for SignUpForm {
    fn admit(app: &App, client: ClientAddress) -> Result<(), Problem> {
        app.limits
            .admit_account_creation(client, Creator::Anonymous)
    }
}

/// A customer's own account, signed in at once.
pub async fn sign_up(
    State(app): State<App>,
    EntranceForm {
        form,
        admitted,
        client,
        ..
    }: EntranceForm<SignUpForm>,
) -> Response {
    let username = form.username.clone();
    let email = form.email.clone();
    let outcome = match admitted {
        Ok(()) => sign_up_as(&app, form, client).await,
        Err(throttled) => Err(throttled.into()),
    };
    match outcome {
        Ok(cookies) => (cookies, Redirect::to("/tickets/new")).into_response(),
        Err(error) => form_refused(error, sign_up_form(username, email, None)),
    }
}

async fn sign_up_as(
    app: &App,
    form: SignUpForm,
    client: ClientAddress,
) -> Result<AppendHeaders<Vec<(HeaderName, String)>>, PageError> {
    let new = NewAccount {
        username: Username::parse(form.username.clone())?,
        pin: Pin::parse(form.pin.clone())?,
        role: None,
        email: given(&Some(form.email.clone()))
            .map(EmailAddress::parse)
            .transpose()?,
    };
    let hashing = app.store.reserve_hashing()?;
    app.blocking(move |store| {
        Ok::<_, PageError>(store.create_user(hashing, Creator::Anonymous, &new)?)
    })
    .await?;
    // Signed in the ordinary way, so the session is the login's.
    sign_in_as(app, form.username, form.pin, None, client).await
}

/// The form again, with what was typed (never the PIN) and why it was
/// refused, at the refusal's status. A refused sign-in (401) is shown, not
/// sent to sign in again.
fn form_refused(error: PageError, mut page: SignInPage) -> Response {
    match error.refusal() {
        Ok(refusal) => {
            page.error = Some(sentence(&refusal.to_string()));
            refusal.with_status(render(&page))
        }
        Err(PageError::SignIn { .. }) => {
            page.error = Some(sentence(domain::login::BAD_CREDENTIALS));
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
        Err(failure) => failure.into_response(),
    }
}

/// Ends the session: its row is deleted, so a copy of the cookie opens
/// nothing, and the browser forgets it.
pub async fn sign_out(
    State(app): State<App>,
    Posted { session, .. }: Posted<EmptyForm>,
) -> Result<Response, PageError> {
    let digest = session.secret().digest();
    app.blocking(move |store| Ok::<_, PageError>(store.end_browser_session(&digest)?))
        .await?;
    let cleared = expired_session_cookie(app.secure_cookies());
    Ok((
        [(SET_COOKIE, cleared.to_string())],
        Redirect::to("/login?done=signed-out"),
    )
        .into_response())
}
