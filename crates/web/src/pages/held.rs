//! Held mail, for staff (as the store's rules say): the messages inbound
//! mail could not take as sent, newest first; one message with why it was
//! held and a button that dismisses it; and the originals, the raw
//! messages kept of held mail and of replies that came by mail.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{CursorKey, Page, PageRequest, Paging, UserId};
use edge::App;
use edge::problem::Problem;
use serde::Deserialize;
use store::{HeldMessage, SignedInUser, Store};

use super::{PageQuery, given, notice, path_id, ticket_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::{EmptyForm, Posted};
use crate::views::{
    Chrome, Dismissed, HeldListPage, HeldMessagePage, HeldRow, HeldSender, When, render, sentence,
};

/// Held messages a page shows.
const HELD_PER_PAGE: &str = "25";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HeldQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// The list from `cursor` on.
fn list_url(cursor: Option<&str>) -> String {
    match cursor {
        Some(cursor) => format!("/held?cursor={cursor}"),
        None => "/held".to_owned(),
    }
}

/// A page of held mail as `user` reads it, and where the list goes on.
struct HeldRead {
    user: SignedInUser,
    page: Page<HeldMessage>,
    next: Option<String>,
}

fn read_held_page(
    store: &Store,
    user: &SignedInUser,
    cursors: &CursorKey,
    cursor: Option<&str>,
) -> Result<HeldRead, PageError> {
    let paging = Paging {
        page: None,
        limit: Some(HELD_PER_PAGE),
        cursor,
        count: None,
    };
    let request = PageRequest::of_held(paging, cursors, user.actor)?;
    let page = store.list_held(user.actor, request)?;
    let next = page
        .next
        .map(|position| cursors.seal(request.binding(), position));
    Ok(HeldRead {
        user: user.clone(),
        page,
        next,
    })
}

pub async fn list(
    State(app): State<App>,
    session: SessionCookie,
    PageQuery(query): PageQuery<HeldQuery>,
) -> Result<Response, PageError> {
    let cursors = app.keys.cursors.clone();
    let cursor = given(&query.cursor).map(str::to_owned);
    let HeldRead { user, page, next } = session
        .run(&app, move |store, user| {
            read_held_page(store, user, &cursors, cursor.as_deref())
        })
        .await?;
    let page = HeldListPage {
        chrome: Chrome::new("Held mail", Some(viewer(&app, &session, &user)))
            .with_notice(notice(query.done.as_deref())),
        rows: page
            .items
            .into_iter()
            .map(|held| HeldRow {
                id: held.id,
                received: When::of(held.received_at),
                sender: sender_of(&held),
                ticket: held.ticket_id.map(|id| id.0),
                reason: sentence(&held.reason),
                subject: held.subject,
            })
            .collect(),
        next_url: next.as_deref().map(|cursor| list_url(Some(cursor))),
        first_url: query.cursor.as_ref().map(|_| list_url(None)),
        empty_message: match query.cursor {
            Some(_) => "No more held mail.",
            None => "No held mail: every message was taken as a ticket or a reply.",
        },
    };
    Ok(render(&page))
}

fn sender_of(held: &HeldMessage) -> HeldSender {
    HeldSender {
        address: held.sender_address.clone(),
        account: held.sender.as_ref().map(|user| user.username.clone()),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HeldMessageQuery {
    done: Option<String>,
}

pub async fn show(
    State(app): State<App>,
    session: SessionCookie,
    Path(raw_id): Path<String>,
    PageQuery(query): PageQuery<HeldMessageQuery>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let (user, held, names) = session
        .run(&app, move |store, user| {
            let held = store.read_held(user.actor, id)?;
            let dismissers: Vec<UserId> = held.dismissed.iter().map(|(_, by)| *by).collect();
            let names = store.usernames(user.actor, &dismissers)?;
            Ok::<_, PageError>((user.clone(), held, names))
        })
        .await?;
    let page = HeldMessagePage {
        chrome: Chrome::new(
            format!("Held mail: {}", held.subject),
            Some(viewer(&app, &session, &user)),
        )
        .with_notice(notice(query.done.as_deref())),
        id: held.id,
        received: When::of(held.received_at),
        sender: sender_of(&held),
        ticket: held.ticket_id.map(|id| id.0),
        reason: sentence(&held.reason),
        dismissed: held.dismissed.map(|(at, by)| Dismissed {
            at: When::of(at),
            by: name_of(&names, by),
        }),
        subject: held.subject,
        body: held.body,
    };
    Ok(render(&page))
}

/// A staff member by name (an id the store could not name, by number).
fn name_of(names: &HashMap<UserId, String>, id: UserId) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("user {id}"))
}

/// Dismisses a held message, then back to the list.
pub async fn dismiss(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form: _ }: Posted<EmptyForm>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    session
        .run(&app, move |store, user| {
            Ok::<_, PageError>(store.dismiss_held(user.actor, id)?)
        })
        .await?;
    Ok(Redirect::to("/held?done=dismissed").into_response())
}

/// A held message's original, as received.
pub async fn held_original(
    State(app): State<App>,
    session: SessionCookie,
    Path(raw_id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let original = session
        .run(&app, move |store, user| {
            Ok::<_, PageError>(store.held_original(user.actor, id)?)
        })
        .await?;
    Ok(message_download(original, &format!("held-{id}.eml")))
}

/// The original of a ticket's reply that came by mail; a reply of
/// another ticket, or one that did not come by mail, is not found here.
pub async fn reply_original(
    State(app): State<App>,
    session: SessionCookie,
    Path((raw_ticket, raw_reply)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let ticket = ticket_id(&raw_ticket)?;
    let reply = path_id(&raw_reply)?;
    let original = session
        .run(&app, move |store, user| {
            // The original first: to a customer it does not exist.
            let original = store.reply_original(user.actor, reply)?;
            if !store
                .replies_from_mail(user.actor, ticket)?
                .contains(&reply)
            {
                return Err(Problem::NotFound.into());
            }
            Ok(original)
        })
        .await?;
    Ok(message_download(
        original,
        &format!("ticket-{ticket}-reply-{reply}.eml"),
    ))
}

/// A raw message as a download (`message/rfc822`, a `.eml` file a mail
/// program opens), never shown as a page: its bytes are the sender's (and
/// every answer says `nosniff`, so no browser guesses otherwise).
fn message_download(original: Vec<u8>, filename: &str) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("message/rfc822"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        original,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_of_held_mail_carries_only_its_cursor() {
        assert_eq!(list_url(None), "/held");
        assert_eq!(list_url(Some("abc_-")), "/held?cursor=abc_-");
    }
}
