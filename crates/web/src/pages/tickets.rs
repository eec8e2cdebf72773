//! A customer's tickets and the staff queue (one page, filtered by the
//! store's rules), opening a ticket, and the report download.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::audience::person_as_seen;
use domain::ticket_list::TicketQuery;
use domain::{
    Actor, Audience, CursorKey, ListTickets, Page, Paging, SeenTicket, StaffMember, Subject,
    Ticket, TicketBody, UserId,
};
use edge::App;
use edge::problem::Problem;
use edge::report::download;
use serde::Deserialize;
use store::{NewTicket, SignedInUser, Store};

use super::ticket::name;
use super::{PageQuery, given, notice, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::Posted;
use crate::views::{
    Choice, Chrome, NewTicketPage, QueueFilters, TicketRow, TicketsPage, When, query_value, render,
    sentence, status_class, status_label,
};

/// Tickets a page shows.
pub const TICKETS_PER_PAGE: &str = "25";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    tag: Option<String>,
    q: Option<String>,
    breached: Option<String>,
    sort: Option<String>,
    direction: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

impl QueueQuery {
    /// The sort asked for; by default the latest change first.
    fn sort(&self) -> &str {
        given(&self.sort).unwrap_or("updatedAt")
    }

    fn direction(&self) -> &str {
        given(&self.direction).unwrap_or("desc")
    }

    /// The query string of this same list, from `cursor` on.
    fn url(&self, cursor: Option<&str>) -> String {
        let mut url = String::from("/tickets?");
        let pairs = [
            ("status", given(&self.status)),
            ("priority", given(&self.priority)),
            ("assignee", given(&self.assignee)),
            ("tag", given(&self.tag)),
            ("q", given(&self.q)),
            ("breached", given(&self.breached)),
            ("sort", Some(self.sort())),
            ("direction", Some(self.direction())),
            ("cursor", cursor),
        ];
        let encoded: Vec<String> = pairs
            .iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", query_value(value))))
            .collect();
        url.push_str(&encoded.join("&"));
        url
    }
}

/// What the list page reads as the viewer: the page (or why the rules
/// refused its filters) and, for staff, the names behind its assignees and
/// the staff to filter by.
struct Queue {
    user: SignedInUser,
    /// The page, or why the rules refused its filters.
    listed: Result<(Page<SeenTicket>, Option<String>), Problem>,
    names: HashMap<UserId, String>,
    staff: Vec<StaffMember>,
}

fn read_queue(
    store: &Store,
    user: &SignedInUser,
    cursors: &CursorKey,
    query: &QueueQuery,
) -> Result<Queue, PageError> {
    let actor = user.actor;
    let request = ListTickets::parse(
        TicketQuery {
            paging: Paging {
                page: None,
                limit: Some(TICKETS_PER_PAGE),
                cursor: given(&query.cursor),
                count: None,
            },
            sort: Some(query.sort()),
            direction: Some(query.direction()),
            status: given(&query.status),
            priority: given(&query.priority),
            assignee: given(&query.assignee),
            tag: given(&query.tag),
            q: given(&query.q),
            breached: given(&query.breached),
        },
        actor,
        cursors,
    );
    let listed = request.map_err(PageError::from).and_then(|request| {
        let page = store.list_tickets(actor, &request)?;
        let next = page
            .next
            .map(|position| cursors.seal(request.page.binding(), position));
        Ok((page, next))
    });
    // A refused filter is shown above an empty list; a failure is a failure.
    let listed = match listed {
        Ok(listed) => Ok(listed),
        Err(error) => Err(error.refusal()?),
    };
    let (names, staff) = match Audience::of(actor) {
        Audience::Staff => {
            let assignees: Vec<UserId> = match &listed {
                Ok((page, _)) => page
                    .items
                    .iter()
                    .filter_map(|ticket| ticket.assignee)
                    .collect(),
                Err(_) => Vec::new(),
            };
            let staff = store.assignable_staff(actor)?;
            (store.usernames(actor, &assignees)?, staff)
        }
        Audience::Customer => (HashMap::new(), Vec::new()),
    };
    Ok(Queue {
        user: user.clone(),
        listed,
        names,
        staff,
    })
}

pub async fn list(
    State(app): State<App>,
    session: SessionCookie,
    PageQuery(query): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let cursors = app.keys.cursors.clone();
    let asked = query.clone();
    let Queue {
        user,
        listed,
        names,
        staff,
    } = session
        .run(&app, move |store, user| {
            read_queue(store, user, &cursors, &asked)
        })
        .await?;
    let viewer = viewer(&app, &session, &user);
    let staff_view = viewer.staff;
    let title = if staff_view { "Queue" } else { "My tickets" };
    let filters = queue_filters(&query, &staff);
    let (rows, next_cursor, error, status) = match listed {
        Ok((page, next)) => (
            page.items
                .iter()
                .map(|ticket| ticket_row(user.actor, ticket, &names))
                .collect(),
            next,
            None,
            StatusCode::OK,
        ),
        Err(refusal) => (
            Vec::new(),
            None,
            Some(sentence(&refusal.to_string())),
            refusal.status(),
        ),
    };
    let empty_message = match (staff_view, filters.any, query.cursor.is_some()) {
        (_, _, true) => "No more tickets.",
        (true, true, false) => "No ticket matches these filters.",
        (true, false, false) => "The queue is empty: no tickets yet.",
        (false, _, false) => "You have no tickets yet. Open one when you need help.",
    };
    let page = TicketsPage {
        chrome: Chrome::new(title, Some(viewer)).with_notice(notice(query.done.as_deref())),
        staff: staff_view,
        next_url: next_cursor.as_deref().map(|cursor| query.url(Some(cursor))),
        first_url: query.cursor.as_ref().map(|_| query.url(None)),
        filters,
        rows,
        empty_message,
        error,
    };
    Ok((status, render(&page)).into_response())
}

fn ticket_row(viewer: Actor, seen: &SeenTicket, names: &HashMap<UserId, String>) -> TicketRow {
    let ticket = &seen.ticket;
    TicketRow {
        id: ticket.id.0,
        subject: subject_of(ticket),
        status: status_label(ticket.status),
        status_class: status_class(ticket.status),
        priority: ticket.priority.as_str(),
        assignee: match ticket.assignee {
            Some(id) => name(person_as_seen(
                viewer,
                ticket.author,
                id,
                names.get(&id).map(String::as_str),
            )),
            None => "Unassigned".to_owned(),
        },
        requester: seen
            .requester
            .as_ref()
            .map(|requester| requester.user.username.clone()),
        updated: When::of(ticket.updated_at),
        breached: seen.sla_breached,
    }
}

/// A ticket's title: its subject, or the start of its body.
pub fn subject_of(ticket: &Ticket) -> String {
    match ticket.subject.as_deref().map(str::trim) {
        Some(subject) if !subject.is_empty() => subject.to_owned(),
        _ => {
            let start: String = ticket.body.chars().take(80).collect();
            if start.len() < ticket.body.len() {
                format!("{start}…")
            } else {
                start
            }
        }
    }
}

fn queue_filters(query: &QueueQuery, staff: &[StaffMember]) -> QueueFilters {
    let current = |value: &Option<String>| given(value).unwrap_or("").to_owned();
    let status = current(&query.status);
    let priority = current(&query.priority);
    let assignee = current(&query.assignee);
    let breached = current(&query.breached);
    let mut assignees = vec![
        Choice::new("", "Anyone", &assignee),
        Choice::new("me", "Me", &assignee),
        Choice::new("none", "Unassigned", &assignee),
    ];
    assignees.extend(
        staff
            .iter()
            .map(|member| Choice::new(member.id.to_string(), member.username.clone(), &assignee)),
    );
    QueueFilters {
        statuses: [
            ("", "Any"),
            ("UNATTENDED", "Waiting for an agent"),
            ("REPLIED", "Answered"),
            ("RESOLVED", "Resolved"),
        ]
        .map(|(value, label)| Choice::new(value, label, &status))
        .to_vec(),
        priorities: [
            ("", "Any"),
            ("URGENT", "Urgent"),
            ("HIGH", "High"),
            ("NORMAL", "Normal"),
            ("LOW", "Low"),
        ]
        .map(|(value, label)| Choice::new(value, label, &priority))
        .to_vec(),
        assignees,
        breached: [("", "Any"), ("true", "Breached"), ("false", "On time")]
            .map(|(value, label)| Choice::new(value, label, &breached))
            .to_vec(),
        sorts: [
            ("updatedAt", "Last update"),
            ("createdAt", "Opened"),
            ("ticketId", "Ticket number"),
            ("priority", "Priority"),
            ("status", "Status"),
            ("resolutionDueAt", "Resolution due"),
            ("resolvedAt", "Resolved"),
        ]
        .map(|(value, label)| Choice::new(value, label, query.sort()))
        .to_vec(),
        directions: [("desc", "Descending"), ("asc", "Ascending")]
            .map(|(value, label)| Choice::new(value, label, query.direction()))
            .to_vec(),
        tag: current(&query.tag),
        q: current(&query.q),
        any: [
            &query.status,
            &query.priority,
            &query.assignee,
            &query.tag,
            &query.q,
            &query.breached,
        ]
        .into_iter()
        .any(|value| given(value).is_some()),
    }
}

pub async fn new_form(
    State(app): State<App>,
    session: SessionCookie,
) -> Result<Response, PageError> {
    let user = session.run(&app, |_, user| Ok(user.clone())).await?;
    Ok(render(&NewTicketPage {
        chrome: Chrome::new("New ticket", Some(viewer(&app, &session, &user))),
        subject: String::new(),
        body: String::new(),
        error: None,
    }))
}

#[derive(Debug, Deserialize)]
pub struct NewTicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// Opens a ticket (the store says who may); a refusal shows the form again
/// with what was typed.
pub async fn create(
    State(app): State<App>,
    Posted { session, form }: Posted<NewTicketForm>,
) -> Result<Response, PageError> {
    let (subject, body) = (form.subject.clone(), form.body.clone());
    let limits = app.limits.clone();
    let (user, created) = session
        .run(&app, move |store, user| {
            let created = (|| {
                limits.admit_write(user.actor.id())?;
                let subject = Some(form.subject.trim())
                    .filter(|subject| !subject.is_empty())
                    .map(|subject| Subject::parse(subject.to_owned()))
                    .transpose()?;
                let new = NewTicket {
                    subject,
                    body: TicketBody::parse(form.body)?,
                };
                Ok::<_, PageError>(store.create_ticket(user.actor, &new)?)
            })();
            Ok((user.clone(), created))
        })
        .await?;
    match created {
        Ok(ticket) => {
            Ok(Redirect::to(&format!("/tickets/{}?done=created", ticket.id)).into_response())
        }
        Err(error) => {
            let refusal = error.refusal()?;
            let page = NewTicketPage {
                chrome: Chrome::new("New ticket", Some(viewer(&app, &session, &user))),
                subject,
                body,
                error: Some(sentence(&refusal.to_string())),
            };
            Ok(refusal.with_status(render(&page)))
        }
    }
}

/// The resolved report, as the API streams it; the store says who may.
pub async fn report(State(app): State<App>, session: SessionCookie) -> Result<Response, PageError> {
    let report = session
        .run(&app, |store, user| {
            Ok(store.open_resolved_report(user.actor)?)
        })
        .await?;
    Ok(download(report, app.limits.request_timeout()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_page_link_keeps_every_filter() {
        let query = QueueQuery {
            status: Some("REPLIED".into()),
            q: Some("refund & charged".into()),
            tag: Some(String::new()),
            ..QueueQuery::default()
        };
        assert_eq!(
            query.url(Some("abc_-")),
            "/tickets?status=REPLIED&q=refund%20%26%20charged&sort=updatedAt&direction=desc&cursor=abc_-"
        );
    }
}
