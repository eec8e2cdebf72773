//! The signed-in user's own account: who they are, their email address
//! (shown and changed), and their API tokens (listed; created, the token
//! shown on the answer's page only; revoked), and which notifications it
//! gets by mail.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use domain::api_tokens::{ExpiresInDays, TokenName};
use domain::audience::see_user;
use domain::{
    ApiToken, ApiTokenId, Audience, EmailAddress, NewApiToken, NotificationKind, Precondition,
    ValidationError,
};
use edge::App;
use edge::api_tokens::ApiTokenSecret;
use serde::Deserialize;
use store::{SignedInUser, Store};

use super::{PageQuery, given, notice, path_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::Posted;
use crate::views::{
    AccountPage, Chrome, CreatedToken, NotificationRow, TokenRow, When, render, role_label,
    sentence,
};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

/// The account as its page shows it, read in one trip to the pool.
struct AccountRead {
    user: SignedInUser,
    email: Option<String>,
    tokens: Vec<ApiToken>,
    notifications: Vec<(NotificationKind, bool)>,
}

fn read_account(store: &Store, user: &SignedInUser) -> Result<AccountRead, PageError> {
    let own = see_user(user.actor, store.read_user(user.actor, user.actor.id())?);
    let tokens = store.list_api_tokens(user.actor, user.actor.id())?;
    let notifications = store.notification_preferences(user.actor)?;
    Ok(AccountRead {
        user: user.clone(),
        email: own.user.email.map(|address| address.as_str().to_owned()),
        tokens,
        notifications,
    })
}

pub async fn show(
    State(app): State<App>,
    session: SessionCookie,
    PageQuery(query): PageQuery<AccountQuery>,
) -> Result<Response, PageError> {
    let read = session.run(&app, read_account).await?;
    let chrome = Chrome::new("Account", Some(viewer(&app, &session, &read.user)))
        .with_notice(notice(query.done.as_deref()));
    Ok(render(&account_page(
        chrome,
        read,
        Filled::default(),
        None,
        None,
    )))
}

/// What the forms held, to show again when one was refused.
#[derive(Debug, Default)]
struct Filled {
    name: String,
    days: String,
    read_only: bool,
    /// The address form's refused value and why.
    email: Option<(String, String)>,
}

fn account_page(
    chrome: Chrome,
    read: AccountRead,
    filled: Filled,
    created: Option<CreatedToken>,
    error: Option<String>,
) -> AccountPage {
    let now = Utc::now();
    let tokens = read
        .tokens
        .iter()
        .map(|token| TokenRow {
            id: token.id.0,
            name: token.name.clone(),
            read_only: token.read_only,
            created: When::of(token.created_at),
            expires: token.expires_at.map(When::of),
            expired: !token.is_live(now),
            last_used: token.last_used_at.map(When::of),
        })
        .collect();
    let (email_typed, email_error) = match filled.email {
        Some((typed, error)) => (typed, Some(error)),
        None => (read.email.clone().unwrap_or_default(), None),
    };
    let staff = Audience::of(read.user.actor) == Audience::Staff;
    let notifications = read
        .notifications
        .iter()
        .map(|(kind, on)| NotificationRow::of(*kind, staff, *on))
        .collect();
    AccountPage {
        chrome,
        notifications,
        email: read.email,
        email_typed,
        email_error,
        username: read.user.username.clone(),
        role: role_label(read.user.actor.role()),
        tokens,
        created,
        new_name: filled.name,
        new_days: filled.days,
        new_read_only: filled.read_only,
        error,
    }
}

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    expires_in_days: Option<String>,
    read_only: Option<String>,
}

impl NewTokenForm {
    fn parse(&self) -> Result<NewApiToken, PageError> {
        let expires_in = given(&self.expires_in_days)
            .map(|days| {
                let days = days.parse::<i64>().map_err(|_| {
                    ValidationError::new("expiresInDays", "must be a whole number of days")
                })?;
                ExpiresInDays::parse(days)
            })
            .transpose()?;
        Ok(NewApiToken {
            name: TokenName::parse(self.name.clone())?,
            expires_in,
            read_only: self.read_only.as_deref() == Some("true"),
        })
    }
}

/// Creates a token for the signed-in account and shows it on the page
/// that answers (never in a URL, so not after a redirect): the only time
/// it is shown.
pub async fn create_token(
    State(app): State<App>,
    Posted { session, form }: Posted<NewTokenForm>,
) -> Result<Response, PageError> {
    let new = form.parse();
    let token = ApiTokenSecret::generate();
    let digest = token.digest();
    let outcome = session
        .run(&app, move |store, user| {
            let created =
                new.and_then(|new| Ok(store.create_api_token(user.actor, &new, &digest)?));
            let created = match created {
                Ok(created) => Ok(created),
                Err(error) => Err(error.refusal()?),
            };
            Ok((created, read_account(store, user)?))
        })
        .await?;
    let (created, read) = outcome;
    let chrome = Chrome::new("Account", Some(viewer(&app, &session, &read.user)));
    match created {
        Ok(created) => {
            let shown = CreatedToken {
                name: created.name,
                token: token.expose().to_owned(),
            };
            Ok(render(&account_page(
                chrome,
                read,
                Filled::default(),
                Some(shown),
                None,
            )))
        }
        Err(refusal) => {
            let filled = Filled {
                name: form.name,
                days: form.expires_in_days.unwrap_or_default(),
                read_only: form.read_only.as_deref() == Some("true"),
                email: None,
            };
            let message = sentence(&refusal.to_string());
            let page = account_page(chrome, read, filled, None, Some(message));
            Ok(refusal.with_status(render(&page)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// Sets the signed-in account's own address; left empty, clears it. A
/// refused one shows the page again with what was typed.
pub async fn change_email(
    State(app): State<App>,
    Posted { session, form }: Posted<EmailForm>,
) -> Result<Response, PageError> {
    let typed = form.email.clone();
    let email = given(&Some(form.email))
        .map(EmailAddress::parse)
        .transpose()
        .map_err(PageError::from);
    let refused = session
        .run(&app, move |store, user| {
            let changed = email.and_then(|email| {
                Ok(store.change_own_email(user.actor, email.as_ref(), &Precondition::None)?)
            });
            match changed {
                Ok(_) => Ok(None),
                Err(error) => Ok(Some((error.refusal()?, read_account(store, user)?))),
            }
        })
        .await?;
    match refused {
        None => Ok(Redirect::to("/account?done=email-changed").into_response()),
        Some((refusal, read)) => {
            let chrome = Chrome::new("Account", Some(viewer(&app, &session, &read.user)));
            let filled = Filled {
                email: Some((typed, sentence(&refusal.to_string()))),
                ..Filled::default()
            };
            let page = account_page(chrome, read, filled, None, None);
            Ok(refusal.with_status(render(&page)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {}

/// Revokes one of the signed-in account's tokens.
pub async fn revoke_token(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, .. }: Posted<RevokeForm>,
) -> Result<Response, PageError> {
    let id = ApiTokenId(path_id(&raw_id)?);
    let refused = session
        .run(&app, move |store, user| {
            match store.revoke_api_token(user.actor, user.actor.id(), id) {
                Ok(_) => Ok(None),
                Err(error) => {
                    let refusal = PageError::from(error).refusal()?;
                    Ok(Some((refusal, read_account(store, user)?)))
                }
            }
        })
        .await?;
    match refused {
        None => Ok(Redirect::to("/account?done=token-revoked#tokens").into_response()),
        Some((refusal, read)) => {
            let chrome = Chrome::new("Account", Some(viewer(&app, &session, &read.user)));
            let message = sentence(&refusal.to_string());
            let page = account_page(chrome, read, Filled::default(), None, Some(message));
            Ok(refusal.with_status(render(&page)))
        }
    }
}

/// The notifications form: a checked box is a kind turned on; every kind
/// of the account's role left unchecked is turned off.
pub type NotificationsForm = std::collections::BTreeMap<String, String>;

/// Saves the signed-in account's notification preferences from the
/// account page's checkboxes.
pub async fn change_notifications(
    State(app): State<App>,
    Posted { session, form }: Posted<NotificationsForm>,
) -> Result<Response, PageError> {
    session
        .run(&app, move |store, user| {
            let changes: Vec<(NotificationKind, bool)> =
                domain::notify::kinds_for(user.actor.role())
                    .iter()
                    .map(|kind| (*kind, form.contains_key(kind.name())))
                    .collect();
            store.change_notification_preferences(user.actor, &changes)?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/account?done=notifications#notifications").into_response())
}
