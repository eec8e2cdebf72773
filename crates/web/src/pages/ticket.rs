//! A ticket's page: `domain`'s view of the ticket for the signed-in user
//! (its thread, its history, the names on them, the SLA and what the user
//! may do), read by one store action and rendered, with what inbound mail
//! left on it (its follow-ups; for staff, its held mail and the originals
//! of replies by mail); and its forms: a reply or a note, resolving, the
//! staff's triage.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::held::may_list_held;
use domain::history::EventKind;
use domain::{
    Actor, CursorKey, PageRequest, Paging, Person, Priority, ReplyBody, ReplyKind, TagSet,
    TicketChange, TicketId, TicketRecords, TicketStatus, TicketView, UserId,
};
use edge::App;
use edge::problem::Problem;
use serde::Deserialize;
use store::{HeldMessage, SignedInUser, Store};

use super::tickets::subject_of;
use super::{PageQuery, given, notice, ticket_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::{EmptyForm, Posted};
use crate::views::{
    Choice, Chrome, HeldLink, HistoryEntry, ReplyBox, RequesterView, SlaView, ThreadEntry,
    TicketPage, TriageForm, When, render, sentence, status_class, status_label,
};

/// Replies and history entries a page shows at once.
const RECORDS_PER_PAGE: &str = "100";

#[derive(Debug, Default, Deserialize)]
pub struct TicketPageQuery {
    /// Where the thread goes on from (a cursor).
    replies: Option<String>,
    /// Where the history goes on from (a cursor).
    history: Option<String>,
    done: Option<String>,
}

/// What a ticket's page shows, as the store read it for the viewer, and
/// where its thread and history go on.
struct ReadPage {
    user: SignedInUser,
    view: TicketView,
    replies_next: Option<String>,
    events_next: Option<String>,
    mail: TicketMail,
}

/// What inbound mail left on a ticket, as much as the viewer may see.
#[derive(Debug, Default)]
struct TicketMail {
    /// Its held messages, not dismissed (staff).
    held: Vec<HeldMessage>,
    /// Its replies that came by mail, whose originals are kept (staff).
    replies_from_mail: HashSet<i64>,
    /// The tickets that follow it up.
    follow_ups: Vec<TicketId>,
}

impl TicketMail {
    fn read(store: &Store, actor: Actor, id: TicketId) -> Result<Self, PageError> {
        let staff_only = may_list_held(actor).is_ok();
        Ok(TicketMail {
            held: match staff_only {
                true => store.ticket_held(actor, id)?,
                false => Vec::new(),
            },
            replies_from_mail: match staff_only {
                true => store.replies_from_mail(actor, id)?.into_iter().collect(),
                false => HashSet::new(),
            },
            follow_ups: store.follow_ups(actor, id)?,
        })
    }
}

/// Reads the ticket's page as `user`: one store action, in one read
/// transaction.
fn read_page(
    store: &Store,
    user: &SignedInUser,
    cursors: &CursorKey,
    id: TicketId,
    query: &TicketPageQuery,
) -> Result<ReadPage, PageError> {
    let records = |list, cursor: &Option<String>| {
        let paging = Paging {
            page: None,
            limit: Some(RECORDS_PER_PAGE),
            cursor: given(cursor),
            count: None,
        };
        PageRequest::of_ticket_records(paging, cursors, list, id, user.actor)
    };
    let requests = records(TicketRecords::Replies, &query.replies)
        .and_then(|replies| Ok((replies, records(TicketRecords::Events, &query.history)?)));
    let (replies, events) = match requests {
        Ok(requests) => requests,
        Err(invalid) => {
            // A ticket that is not there is not found, whatever its links say.
            store.read_ticket(user.actor, id)?;
            return Err(invalid.into());
        }
    };
    let view = store.read_ticket_page(user.actor, id, replies, events)?;
    let mail = TicketMail::read(store, user.actor, id)?;
    let seal = |request: PageRequest, next: Option<domain::Position>| {
        next.map(|position| cursors.seal(request.binding(), position))
    };
    Ok(ReadPage {
        replies_next: seal(replies, view.replies.next),
        events_next: seal(events, view.events.next),
        user: user.clone(),
        view,
        mail,
    })
}

/// What the viewer typed and why it was refused, shown again.
#[derive(Debug, Default)]
struct Drafts {
    reply: String,
    note: String,
    error: Option<String>,
}

/// Someone as the pages name them.
pub(super) fn name(person: Person) -> String {
    match person {
        Person::Viewer => "You".to_owned(),
        Person::Named(username) => username,
        Person::Customer => "The customer".to_owned(),
        Person::Support => "Support".to_owned(),
    }
}

impl ReadPage {
    fn name(&self, id: UserId) -> String {
        name(self.view.person(id))
    }

    fn page(
        self,
        app: &App,
        session: &SessionCookie,
        drafts: Drafts,
        notice: Option<&'static str>,
    ) -> TicketPage {
        let view = &self.view;
        let viewer_id = view.viewer().id();
        let ticket = &view.ticket;
        let mut thread = vec![ThreadEntry {
            anchor: "ticket".to_owned(),
            author: self.name(ticket.author),
            when: When::of(ticket.created_at),
            body: ticket.body.clone(),
            note: false,
            mine: ticket.author == viewer_id,
            original_url: None,
        }];
        thread.extend(view.replies.items.iter().map(|reply| {
            ThreadEntry {
                anchor: format!("reply-{}", reply.id),
                author: self.name(reply.author),
                when: When::of(reply.created_at),
                body: reply.body.clone(),
                note: reply.internal,
                mine: reply.author == viewer_id,
                original_url: self
                    .mail
                    .replies_from_mail
                    .contains(&reply.id)
                    .then(|| format!("/tickets/{}/replies/{}/original", ticket.id, reply.id)),
            }
        }));
        let reply = ReplyBox {
            disabled_reason: view.actions.reply.as_ref().err().map(ToString::to_string),
            draft: drafts.reply,
        };
        let assignee = ticket.assignee.map(|id| id.to_string()).unwrap_or_default();
        let triage =
            view.actions.triage.then(|| {
                let priority = ticket.priority.as_str();
                let mut assignees = vec![Choice::new("", "Unassigned", &assignee)];
                assignees.extend(view.assignable.iter().map(|staff| {
                    Choice::new(staff.id.to_string(), staff.username.clone(), &assignee)
                }));
                if let Some(id) = ticket.assignee
                    && !view.assignable.iter().any(|staff| staff.id == id)
                {
                    assignees.push(Choice::new(id.to_string(), self.name(id), &assignee));
                }
                TriageForm {
                    priorities: Priority::ALL
                        .iter()
                        .map(|p| Choice::new(p.as_str(), p.as_str(), priority))
                        .collect(),
                    assignees,
                    tags: ticket
                        .tags
                        .as_ref()
                        .map(|tags| {
                            tags.iter()
                                .map(|tag| tag.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default(),
                }
            });
        let sla = SlaView {
            first_response_due: When::of(ticket.due.first_response),
            first_response_at: ticket.first_response_at.map(When::of),
            resolution_due: When::of(ticket.due.resolution),
            breached: ticket.sla_breached,
        };
        let history = view
            .events
            .items
            .iter()
            .map(|event| HistoryEntry {
                when: When::of(event.at),
                who: self.name(event.actor),
                what: self.describe(&event.kind),
            })
            .collect();
        let id = ticket.id;
        TicketPage {
            chrome: Chrome::new(
                format!("#{id} {}", subject_of(ticket)),
                Some(viewer(app, session, &self.user)),
            )
            .with_notice(notice),
            id: id.0,
            subject: subject_of(ticket),
            status: status_label(ticket.status),
            status_class: status_class(ticket.status),
            priority: ticket.priority.as_str(),
            assignee: ticket
                .assignee
                .map_or_else(|| "Nobody yet".to_owned(), |id| self.name(id)),
            opened_by: self.name(ticket.author),
            requester: ticket.requester.as_ref().map(RequesterView::of),
            created: When::of(ticket.created_at),
            updated: When::of(ticket.updated_at),
            resolved: ticket.resolved_at.map(When::of),
            thread,
            more_replies_url: self
                .replies_next
                .as_ref()
                .map(|cursor| format!("/tickets/{id}?replies={cursor}")),
            reply,
            note_draft: view.actions.note.then_some(drafts.note),
            can_resolve: view.actions.resolve,
            triage,
            sla,
            history,
            more_history_url: self
                .events_next
                .as_ref()
                .map(|cursor| format!("/tickets/{id}?history={cursor}")),
            error: drafts.error,
            follow_up_of: ticket.follow_up_of.map(|of| of.0),
            followed_up_in: self.mail.follow_ups.iter().map(|next| next.0).collect(),
            held: self
                .mail
                .held
                .iter()
                .map(|held| HeldLink {
                    id: held.id,
                    reason: sentence(&held.reason),
                    received: When::of(held.received_at),
                })
                .collect(),
        }
    }

    /// A history entry in words.
    fn describe(&self, kind: &EventKind) -> String {
        // The object of a sentence: "assigned it to you".
        let who = |id: &Option<UserId>| match id.map(|id| self.view.person(id)) {
            Some(Person::Viewer) => "you".to_owned(),
            Some(person) => name(person),
            None => "nobody".to_owned(),
        };
        match kind {
            EventKind::Created {} => "opened the ticket".to_owned(),
            EventKind::Replied { .. } => "replied".to_owned(),
            EventKind::Noted { .. } => "added an internal note".to_owned(),
            EventKind::StatusChanged { from, to } => format!(
                "changed the status from {} to {}",
                status_label(*from),
                status_label(*to)
            ),
            EventKind::PriorityChanged { from, to } => {
                format!("changed the priority from {from} to {to}")
            }
            EventKind::Assigned { from, to } => match to {
                Some(_) => format!("assigned it to {} (was {})", who(to), who(from)),
                None => format!("unassigned it (was {})", who(from)),
            },
            EventKind::TagsChanged { added, removed } => {
                let list = |tags: &[domain::Tag]| {
                    tags.iter()
                        .map(|tag| tag.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match (added.is_empty(), removed.is_empty()) {
                    (false, true) => format!("tagged it {}", list(added)),
                    (true, false) => format!("removed the tags {}", list(removed)),
                    _ => format!("tagged it {} and removed {}", list(added), list(removed)),
                }
            }
            EventKind::HeldDismissed { held_id } => {
                format!("dismissed held message {held_id}")
            }
        }
    }
}

pub async fn show(
    State(app): State<App>,
    session: SessionCookie,
    Path(raw_id): Path<String>,
    PageQuery(query): PageQuery<TicketPageQuery>,
) -> Result<Response, PageError> {
    let id = ticket_id(&raw_id)?;
    let cursors = app.keys.cursors.clone();
    let done = notice(query.done.as_deref());
    let read = session
        .run(&app, move |store, user| {
            read_page(store, user, &cursors, id, &query)
        })
        .await?;
    Ok(render(&read.page(&app, &session, Drafts::default(), done)))
}

/// How a change to the ticket went.
enum Changed {
    /// Done: the notice to show on the ticket.
    Done(&'static str),
    /// Refused: why, and the page to show it on.
    Refused(Problem, Box<ReadPage>),
}

/// Makes `change` as the session's user and, when it is refused, reads the
/// page to show the refusal on, in the same trip to the blocking pool.
/// Done, the ticket again (303, so a reload does not post twice); refused,
/// the page with the refusal and what was typed, at the refusal's status.
async fn change_ticket(
    app: &App,
    session: &SessionCookie,
    id: TicketId,
    change: impl FnOnce(&Store, Actor) -> Result<&'static str, PageError> + Send + 'static,
    drafts: impl FnOnce(String) -> Drafts,
) -> Result<Response, PageError> {
    let cursors = app.keys.cursors.clone();
    let changed = session
        .run(app, move |store, user| match change(store, user.actor) {
            Ok(done) => Ok(Changed::Done(done)),
            Err(error) => {
                let refusal = error.refusal()?;
                match read_page(store, user, &cursors, id, &TicketPageQuery::default()) {
                    Ok(read) => Ok(Changed::Refused(refusal, Box::new(read))),
                    // The ticket cannot be shown (gone, or never visible):
                    // the refusal alone.
                    Err(_) => Err(refusal.into()),
                }
            }
        })
        .await?;
    match changed {
        Changed::Done(done) => {
            Ok(Redirect::to(&format!("/tickets/{id}?done={done}")).into_response())
        }
        Changed::Refused(refusal, read) => {
            let page = read.page(app, session, drafts(sentence(&refusal.to_string())), None);
            Ok(refusal.with_status(render(&page)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    /// `public` or `internal`.
    kind: Option<String>,
}

/// A public reply or an internal note; the store's rules decide.
pub async fn reply(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<ReplyForm>,
) -> Result<Response, PageError> {
    let id = ticket_id(&raw_id)?;
    let kind = match form.kind.as_deref() {
        Some("internal") => ReplyKind::Internal,
        Some("public") | None => ReplyKind::Public,
        Some(_) => {
            return Err(Problem::Invalid("kind must be public or internal".to_owned()).into());
        }
    };
    let typed = form.body.clone();
    let limits = app.limits.clone();
    let change = move |store: &Store, actor: Actor| {
        limits.admit_write(actor.id())?;
        let body = ReplyBody::parse(form.body)?;
        store.add_reply(actor, id, &body, kind)?;
        Ok(match kind {
            ReplyKind::Public => "replied",
            ReplyKind::Internal => "noted",
        })
    };
    change_ticket(&app, &session, id, change, |error| match kind {
        ReplyKind::Public => Drafts {
            reply: typed,
            error: Some(error),
            ..Drafts::default()
        },
        ReplyKind::Internal => Drafts {
            note: typed,
            error: Some(error),
            ..Drafts::default()
        },
    })
    .await
}

/// Resolves the ticket (its customer only, as the store's rules say).
pub async fn resolve(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, .. }: Posted<EmptyForm>,
) -> Result<Response, PageError> {
    let id = ticket_id(&raw_id)?;
    let change = move |store: &Store, actor: Actor| {
        store.change_ticket_status(actor, id, TicketStatus::Resolved)?;
        Ok("resolved")
    };
    change_ticket(&app, &session, id, change, refused_alone).await
}

/// The page shows only why a form without text was refused.
fn refused_alone(error: String) -> Drafts {
    Drafts {
        error: Some(error),
        ..Drafts::default()
    }
}

#[derive(Debug, Deserialize)]
pub struct TriageFields {
    priority: Option<String>,
    /// A user id, or empty for nobody.
    assignee: Option<String>,
    /// Tags separated by spaces or commas.
    tags: Option<String>,
}

/// Priority, assignee and tags at once (staff, as the store's rules say).
pub async fn triage(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<TriageFields>,
) -> Result<Response, PageError> {
    let id = ticket_id(&raw_id)?;
    let parsed = triage_change(&form);
    let change = move |store: &Store, actor: Actor| {
        store.change_ticket(actor, id, &parsed?)?;
        Ok("saved")
    };
    change_ticket(&app, &session, id, change, refused_alone).await
}

fn triage_change(form: &TriageFields) -> Result<TicketChange, PageError> {
    let priority = given(&form.priority)
        .map(str::parse::<Priority>)
        .transpose()?;
    let assignee = match form.assignee.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => Some(Some(UserId(domain::values::parse_id("assignee", raw)?))),
    };
    let tags = form
        .tags
        .as_deref()
        .map(|raw| TagSet::parse(raw.split([' ', ',']).filter(|tag| !tag.is_empty())))
        .transpose()?;
    Ok(TicketChange {
        priority,
        assignee,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triage_form_reads_as_one_change() {
        let change = triage_change(&TriageFields {
            priority: Some("HIGH".into()),
            assignee: Some(String::new()),
            tags: Some("billing, refund  vip".into()),
        })
        .expect("a change");
        assert_eq!(change.priority, Some(Priority::High));
        assert_eq!(change.assignee, Some(None));
        assert_eq!(change.tags.map(|tags| tags.len()), Some(3));
        let refused = triage_change(&TriageFields {
            priority: Some("SOON".into()),
            assignee: None,
            tags: None,
        });
        assert!(matches!(
            refused,
            Err(PageError::Problem(Problem::Invalid(_)))
        ));
        let assign = triage_change(&TriageFields {
            priority: None,
            assignee: Some("12".into()),
            tags: None,
        })
        .expect("a change");
        assert_eq!(assign.assignee, Some(Some(UserId(12))));
        assert_eq!(assign.tags, None);
    }

    #[test]
    fn people_are_named_in_words() {
        assert_eq!(name(Person::Viewer), "You");
        assert_eq!(name(Person::Named("benjamin".into())), "benjamin");
        assert_eq!(name(Person::Customer), "The customer");
        assert_eq!(name(Person::Support), "Support");
    }
}
