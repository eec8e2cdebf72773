//! Forgetting one's PIN, signed out: asking for a link by mail
//! (`/reset-pin`), and choosing a new PIN with it (`/reset-pin?token=`).
//! The same store actions as the API's `/pin-resets`.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Pin;
use domain::pin_reset::{LINK_LIFETIME_MINUTES, ResetFor};
use edge::App;
use edge::limits::ClientAddress;
use edge::pin_resets::{link_digest, new_link};
use edge::problem::{NO_MAIL, Problem};
use serde::Deserialize;

use super::{PageQuery, notice};
use crate::error::PageError;
use crate::forms::{Entrance, EntranceForm};
use crate::views::{Chrome, ResetPinPage, render, sentence};

/// What a link that no longer works is told, beside its form.
const LINK_GONE: &str = "this link does not work any more: it was used, it expired, or a newer one was sent; ask for a new one";
/// The two PINs typed differ.
const PINS_DIFFER: &str = "the two PINs differ; type the same new PIN twice";

#[derive(Debug, Deserialize)]
pub struct ResetPinQuery {
    token: Option<String>,
    done: Option<String>,
}

/// The form that asks for a link, or with a link's `token`, the form that
/// sets the new PIN. A server that sends no mail offers neither (503).
pub async fn page(
    State(app): State<App>,
    PageQuery(query): PageQuery<ResetPinQuery>,
) -> Result<Response, PageError> {
    offered(&app)?;
    let mut page = form_page(query.token.filter(|token| !token.is_empty()), String::new());
    page.chrome = page.chrome.with_notice(notice(query.done.as_deref()));
    Ok(render(&page))
}

fn form_page(token: Option<String>, account: String) -> ResetPinPage {
    let title = match token {
        Some(_) => "Choose a new PIN",
        None => "Forgot your PIN?",
    };
    ResetPinPage {
        chrome: Chrome::new(title, None),
        token,
        account,
        link_minutes: LINK_LIFETIME_MINUTES,
        error: None,
    }
}

fn offered(app: &App) -> Result<(), Problem> {
    match app.store.sends_mail() {
        true => Ok(()),
        false => Err(Problem::NotOffered(NO_MAIL)),
    }
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    /// A username or an address.
    #[serde(default)]
    account: String,
}

impl Entrance for LinkForm {
    fn admit(app: &App, client: ClientAddress) -> Result<(), Problem> {
        app.limits.admit_pin_reset(client)
    }
}

/// Asks for a link; whether an account matched or not, the same page
/// follows.
pub async fn request_link(
    State(app): State<App>,
    EntranceForm { form, admitted, .. }: EntranceForm<LinkForm>,
) -> Response {
    let account = form.account.clone();
    let outcome = match admitted {
        Ok(()) => request(&app, &form.account).await,
        Err(throttled) => Err(throttled.into()),
    };
    match outcome {
        Ok(()) => Redirect::to("/reset-pin?done=link-sent").into_response(),
        Err(error) => refused(error, form_page(None, account)),
    }
}

async fn request(app: &App, account: &str) -> Result<(), PageError> {
    offered(app)?;
    let who = ResetFor::parse_either(account)?;
    let link = new_link(&app.keys);
    app.blocking(move |store| {
        Ok::<_, PageError>(store.request_pin_reset(&who, &link.token_digest, &link.nonce)?)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct NewPinForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_again: String,
}

impl Entrance for NewPinForm {
    fn admit(app: &App, client: ClientAddress) -> Result<(), Problem> {
        app.limits.admit_pin_reset(client)
    }
}

/// Sets the new PIN with the link's token, then sends the browser to sign
/// in with it.
pub async fn set_pin(
    State(app): State<App>,
    EntranceForm { form, admitted, .. }: EntranceForm<NewPinForm>,
) -> Response {
    let token = form.token.clone();
    let outcome = match admitted {
        Ok(()) => set(&app, form).await,
        Err(throttled) => Err(throttled.into()),
    };
    match outcome {
        Ok(()) => Redirect::to("/login?done=pin-set").into_response(),
        Err(error) => refused(error, form_page(Some(token), String::new())),
    }
}

async fn set(app: &App, form: NewPinForm) -> Result<(), PageError> {
    offered(app)?;
    if form.pin != form.pin_again {
        return Err(Problem::Invalid(PINS_DIFFER.to_owned()).into());
    }
    let pin = Pin::parse(form.pin)?;
    let digest = link_digest(&form.token).ok_or(Problem::NotFound)?;
    let hashing = app.store.reserve_hashing()?;
    app.blocking(move |store| Ok::<_, PageError>(store.reset_pin(hashing, &digest, &pin)?))
        .await?;
    Ok(())
}

/// The form again with why it was refused, at the refusal's status (what
/// was typed kept, never a PIN).
fn refused(error: PageError, mut page: ResetPinPage) -> Response {
    match error.refusal() {
        Ok(problem) => {
            let words = match problem {
                Problem::NotFound => LINK_GONE.to_owned(),
                ref other => other.to_string(),
            };
            page.error = Some(sentence(&words));
            problem.with_status(render(&page))
        }
        Err(failure) => failure.into_response(),
    }
}
