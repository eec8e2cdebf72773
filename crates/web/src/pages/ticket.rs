//! A ticket's page: its thread, the reply and note boxes, resolving, the
//! staff's triage controls, its SLA and its history.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use domain::history::EventKind;
use domain::listing::ticket_records_query;
use domain::rules::{Audience, ReplyKind, Resolution, decide_reply, decide_status_change};
use domain::{
    Actor, CursorKey, Event, Page, PageRequest, Paging, Priority, Reply, ReplyBody, SortField,
    TagSet, Ticket, TicketChange, TicketStatus, UserId,
};
use serde::Deserialize;
use store::{SignedInUser, Store};

use super::tickets::subject_of;
use super::{PageQuery, given, notice, path_id, viewer};
use crate::error::PageError;
use crate::forms::Posted;
use crate::views::{
    Choice, Chrome, HistoryEntry, ReplyBox, SlaView, ThreadEntry, TicketPage, TriageForm, When,
    render, sentence, status_class, status_label,
};
use crate::{Door, Host, SessionCookie};

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

/// Everything a ticket's page shows, read as the viewer.
struct TicketView {
    user: SignedInUser,
    ticket: Ticket,
    replies: Page<Reply>,
    replies_next: Option<String>,
    events: Page<Event>,
    events_next: Option<String>,
    /// Usernames behind the ids on the page (staff only).
    names: HashMap<UserId, String>,
    /// The staff a ticket can be assigned to (staff only).
    staff: Vec<(UserId, String)>,
}

/// Reads the ticket, a page of its thread and of its history, and for
/// staff the names on them: each through the store's own rules.
fn read_ticket_view(
    store: &Store,
    user: &SignedInUser,
    cursors: &CursorKey,
    id: i64,
    query: &TicketPageQuery,
) -> Result<TicketView, PageError> {
    let actor = user.actor;
    let ticket = store.read_ticket(actor, id)?;
    let records = |list: &str, cursor: &Option<String>| {
        PageRequest::parse(
            Paging {
                page: None,
                limit: Some(RECORDS_PER_PAGE),
                cursor: given(cursor),
                count: None,
            },
            cursors,
            &ticket_records_query(list, id, actor),
            SortField::TicketId,
        )
    };
    let replies_request = records("replies", &query.replies)?;
    let events_request = records("events", &query.history)?;
    let replies = store.list_replies(actor, id, replies_request)?;
    let events = store.list_events(actor, id, events_request)?;
    let (names, staff) = match Audience::of(actor) {
        Audience::Staff => {
            let mut ids: Vec<UserId> = vec![ticket.author];
            ids.extend(ticket.assignee);
            ids.extend(replies.items.iter().map(|reply| reply.author));
            ids.extend(events.items.iter().map(|event| event.actor));
            ids.extend(
                events
                    .items
                    .iter()
                    .flat_map(|event| match &event.kind {
                        EventKind::Assigned { from, to } => vec![*from, *to],
                        _ => Vec::new(),
                    })
                    .flatten(),
            );
            ids.sort_unstable();
            ids.dedup();
            let staff = store
                .assignable_staff(actor)?
                .into_iter()
                .map(|user| (user.id, user.username))
                .collect();
            (store.usernames(actor, &ids)?, staff)
        }
        Audience::Customer => (HashMap::new(), Vec::new()),
    };
    let seal = |request: PageRequest, next: Option<domain::Position>| {
        next.map(|position| cursors.seal(request.binding(), position))
    };
    Ok(TicketView {
        user: user.clone(),
        replies_next: seal(replies_request, replies.next),
        events_next: seal(events_request, events.next),
        ticket,
        replies,
        events,
        names,
        staff,
    })
}

/// What the viewer typed and why it was refused, shown again.
#[derive(Debug, Default)]
struct Drafts {
    reply: String,
    note: String,
    error: Option<String>,
}

impl TicketView {
    /// Who wrote or did something, as the viewer may know them: staff see
    /// usernames; a customer sees themself as "You" and the staff, whoever
    /// they are, as "Support".
    fn name(&self, id: UserId) -> String {
        if id == self.user.actor.id {
            return "You".to_owned();
        }
        match self.names.get(&id) {
            Some(name) => name.clone(),
            None if id == self.ticket.author => "The customer".to_owned(),
            None => "Support".to_owned(),
        }
    }

    fn page<H: Host>(
        self,
        host: &H,
        session: &SessionCookie,
        drafts: Drafts,
        notice: Option<&'static str>,
    ) -> TicketPage {
        let actor = self.user.actor;
        let now = Utc::now();
        let ticket = &self.ticket;
        let staff_view = Audience::of(actor) == Audience::Staff;
        let mut thread = vec![ThreadEntry {
            anchor: "ticket".to_owned(),
            author: self.name(ticket.author),
            when: When::of(ticket.created_at),
            body: ticket.body.clone(),
            note: false,
            mine: ticket.author == actor.id,
        }];
        thread.extend(self.replies.items.iter().map(|reply| ThreadEntry {
            anchor: format!("reply-{}", reply.id),
            author: self.name(reply.author),
            when: When::of(reply.created_at),
            body: reply.body.clone(),
            note: reply.internal,
            mine: reply.author == actor.id,
        }));
        // The rules say whether the viewer may reply now, and why not.
        let facts = ticket.facts();
        let reply = ReplyBox {
            disabled_reason: decide_reply(actor, facts, ReplyKind::Public, now)
                .err()
                .map(|refusal| refusal.to_string()),
            draft: drafts.reply,
        };
        let can_resolve = matches!(
            decide_status_change(actor, facts, TicketStatus::Resolved, now),
            Ok(Resolution::Resolve { .. })
        );
        let triage = staff_view.then(|| {
            let priority = ticket.priority.as_str();
            let assignee = ticket.assignee.map(|id| id.to_string()).unwrap_or_default();
            let mut assignees = vec![Choice::new("", "Unassigned", &assignee)];
            assignees.extend(
                self.staff
                    .iter()
                    .map(|(id, name)| Choice::new(id.to_string(), name.clone(), &assignee)),
            );
            if let Some(id) = ticket.assignee
                && !self.staff.iter().any(|(staff, _)| *staff == id)
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
        let sla = staff_view.then(|| SlaView {
            first_response_due: When::of(ticket.due.first_response),
            first_response_at: ticket.first_response_at.map(When::of),
            resolution_due: When::of(ticket.due.resolution),
            breached: ticket.sla_breached(now),
        });
        let history = self
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
                Some(viewer(host, session, &self.user)),
            )
            .with_notice(notice),
            id,
            subject: subject_of(ticket),
            status: status_label(ticket.status),
            status_class: status_class(ticket.status),
            priority: ticket.priority.as_str(),
            opened_by: self.name(ticket.author),
            created: When::of(ticket.created_at),
            updated: When::of(ticket.updated_at),
            resolved: ticket.resolved_at.map(When::of),
            thread,
            more_replies_url: self
                .replies_next
                .as_ref()
                .map(|cursor| format!("/tickets/{id}?replies={cursor}")),
            reply,
            note_draft: staff_view.then_some(drafts.note),
            can_resolve,
            triage,
            sla,
            history,
            more_history_url: self
                .events_next
                .as_ref()
                .map(|cursor| format!("/tickets/{id}?history={cursor}")),
            error: drafts.error,
        }
    }

    /// A history entry in words.
    fn describe(&self, kind: &EventKind) -> String {
        // The object of a sentence: "assigned it to you".
        let who = |id: &Option<UserId>| match id {
            Some(id) if *id == self.user.actor.id => "you".to_owned(),
            Some(id) => self.name(*id),
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
        }
    }
}

pub async fn show<H: Host>(
    State(host): State<H>,
    session: SessionCookie,
    Path(raw_id): Path<String>,
    PageQuery(query): PageQuery<TicketPageQuery>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let cursors = host.web().cursors.clone();
    let done = notice(query.done.as_deref());
    let view = session
        .run(&host, move |store, user| {
            read_ticket_view(store, user, &cursors, id, &query)
        })
        .await?;
    Ok(render(&view.page(&host, &session, Drafts::default(), done)))
}

/// After a change: the ticket again (303, so a reload does not post twice),
/// or, refused, the page with the refusal and what was typed, at the
/// refusal's status.
async fn after_change<H: Host>(
    host: &H,
    session: &SessionCookie,
    id: i64,
    outcome: Result<&'static str, PageError>,
    drafts: impl FnOnce(String) -> Drafts,
) -> Result<Response, PageError> {
    let error = match outcome {
        Ok(done) => return Ok(Redirect::to(&format!("/tickets/{id}?done={done}")).into_response()),
        Err(
            error @ (PageError::Internal(_) | PageError::Unavailable(_) | PageError::SignIn { .. }),
        ) => {
            return Err(error);
        }
        Err(error) => error,
    };
    let cursors = host.web().cursors.clone();
    let view = session
        .run(host, move |store, user| {
            read_ticket_view(store, user, &cursors, id, &TicketPageQuery::default())
        })
        .await;
    let status = error.status();
    let message = sentence(&error.to_string());
    match view {
        Ok(view) => {
            let page = view.page(host, session, drafts(message), None);
            Ok(error.with_retry_after((status, render(&page)).into_response()))
        }
        // The ticket cannot be shown (gone, or never visible): the refusal alone.
        Err(_) => Err(error),
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
pub async fn reply<H: Host>(
    State(host): State<H>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<ReplyForm>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let kind = match form.kind.as_deref() {
        Some("internal") => ReplyKind::Internal,
        Some("public") | None => ReplyKind::Public,
        Some(_) => {
            return Err(PageError::BadRequest(
                "kind must be public or internal".to_owned(),
            ));
        }
    };
    let typed = form.body.clone();
    let outcome = session
        .run(&host, {
            let host = host.clone();
            move |store, user| Ok(add_reply(&host, store, user.actor, id, form.body, kind))
        })
        .await?;
    after_change(&host, &session, id, outcome, |error| match kind {
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

fn add_reply<H: Host>(
    host: &H,
    store: &Store,
    actor: Actor,
    id: i64,
    body: String,
    kind: ReplyKind,
) -> Result<&'static str, PageError> {
    host.admit(Door::Write(actor.id))?;
    let body = ReplyBody::parse(body)?;
    store.add_reply(actor, id, &body, kind)?;
    Ok(match kind {
        ReplyKind::Public => "replied",
        ReplyKind::Internal => "noted",
    })
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// Resolves the ticket (its customer only, as the store's rules say).
pub async fn resolve<H: Host>(
    State(host): State<H>,
    Path(raw_id): Path<String>,
    Posted { session, .. }: Posted<NoFields>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let outcome = session
        .run(&host, move |store, user| {
            Ok(store
                .change_ticket_status(user.actor, id, TicketStatus::Resolved)
                .map(|_| "resolved")
                .map_err(PageError::from))
        })
        .await?;
    after_change(&host, &session, id, outcome, |error| Drafts {
        error: Some(error),
        ..Drafts::default()
    })
    .await
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
pub async fn triage<H: Host>(
    State(host): State<H>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<TriageFields>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let change = triage_change(&form);
    let outcome = session
        .run(&host, move |store, user| {
            Ok(change.and_then(|change| {
                store.change_ticket(user.actor, id, &change)?;
                Ok("saved")
            }))
        })
        .await?;
    after_change(&host, &session, id, outcome, |error| Drafts {
        error: Some(error),
        ..Drafts::default()
    })
    .await
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
        assert!(matches!(refused, Err(PageError::BadRequest(_))));
        let assign = triage_change(&TriageFields {
            priority: None,
            assignee: Some("12".into()),
            tags: None,
        })
        .expect("a change");
        assert_eq!(assign.assignee, Some(Some(UserId(12))));
        assert_eq!(assign.tags, None);
    }
}
