//! Tickets and their replies: every rule-guarded write locks the ticket,
//! asks `domain`, and writes in one transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::listing::may_filter_tickets;
use domain::rules::{
    Audience, ReplyKind, Resolution, TicketScope, decide_new_ticket, decide_reply,
    decide_status_change, decide_ticket_scope, may_view_ticket,
};
use domain::sla::breach_time;
use domain::{
    Actor, Direction, ListTickets, NewEvent, Page, PageRequest, Position, Priority, Reply,
    ReplyBody, SortField, SortValue, Subject, Tag, TagSet, Ticket, TicketBody, TicketDocuments,
    TicketStatus,
};

use crate::connection::{DbBackend, DbConnection, Locked, lock_rows, on_backend};
use crate::error::{StoreError, StoreResult};
use crate::rows::{
    REPLY_COLUMNS, ReplyRow, TICKET_COLUMNS, TicketRow, after_id, convert_all, encode_event,
    page_offset, rows_to_read, total,
};
use crate::schema::{events, replies, ticket_tags, tickets, users};
use crate::search::{
    add_reply_words, breach_column, breadth, count_matching, insert_documents, matching,
};
use crate::{Store, now};

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: Option<Subject>,
    pub body: TicketBody,
}

impl Store {
    /// Opens a ticket (rule 1) with its `created` event; the database hands
    /// out its `ticketId`.
    pub fn create_ticket(&self, actor: Actor, new: &NewTicket) -> StoreResult<Ticket> {
        self.write(|conn| {
            let opening = decide_new_ticket(actor, &self.sla, now())?;
            let at = opening.at.naive_utc();
            let row: TicketRow = diesel::insert_into(tickets::table)
                .values((
                    tickets::subject.eq(new.subject.as_ref().map(Subject::as_str)),
                    tickets::body.eq(new.body.as_str()),
                    tickets::status.eq(opening.status.as_str()),
                    tickets::author_id.eq(actor.id.0),
                    tickets::created_at.eq(at),
                    tickets::updated_at.eq(at),
                    tickets::priority.eq(opening.priority.rank()),
                    tickets::first_response_due_at.eq(opening.due.first_response.naive_utc()),
                    tickets::resolution_due_at.eq(opening.due.resolution.naive_utc()),
                    // Nothing done yet: due at the earlier target.
                    tickets::sla_breach_at
                        .eq(breach_time(opening.due, None, None).map(|at| at.naive_utc())),
                ))
                .returning(TICKET_COLUMNS)
                .get_result(conn)?;
            let ticket: Ticket = row.try_into()?;
            let documents = TicketDocuments::of_ticket(ticket.subject.as_deref(), &ticket.body);
            insert_documents(conn, &[(ticket.id, documents)])?;
            record_events(conn, ticket.id, &opening.events)?;
            Ok(ticket)
        })
    }

    /// The page of tickets `actor` may see (rule 2), filtered and sorted as
    /// asked; ties are broken by `ticketId` so pages never overlap. Counts
    /// the matches only when asked.
    pub fn list_tickets(&self, actor: Actor, request: &ListTickets) -> StoreResult<Page<Ticket>> {
        may_filter_tickets(actor, request)?;
        let conn = &mut *self.conn()?;
        let audience = Audience::of(actor);
        let search = match &request.search {
            Some(query) => {
                let breadth = breadth(conn, query, audience)?;
                Some(matching(conn, query, audience, breadth))
            }
            None => None,
        };
        // The clock is part of the query: a breach is a stored breach time
        // before it.
        let now = now().naive_utc();
        let filtered = || {
            let mut query = tickets::table.into_boxed::<DbBackend>();
            if let TicketScope::AuthoredBy(author) = decide_ticket_scope(actor) {
                query = query.filter(tickets::author_id.eq(author.0));
            }
            if let Some(status) = request.status {
                query = query.filter(tickets::status.eq(status.as_str()));
            }
            if let Some(priority) = request.priority {
                query = query.filter(tickets::priority.eq(priority.rank()));
            }
            if let Some(assignee) = request.assignee {
                query = match assignee.user(actor) {
                    Some(user) => query.filter(tickets::assignee_id.eq(user.0)),
                    None => query.filter(tickets::assignee_id.is_null()),
                };
            }
            if let Some(tag) = &request.tag {
                let tagged = ticket_tags::table
                    .filter(ticket_tags::tag.eq(tag.as_str().to_owned()))
                    .select(ticket_tags::ticket_id);
                query = query.filter(tickets::id.eq_any(tagged));
            }
            if let Some(words) = &search {
                query = query.filter(words.clone());
            }
            query = match request.breached {
                Some(true) => query.filter(tickets::sla_breach_at.lt(now)),
                Some(false) => query.filter(
                    tickets::sla_breach_at
                        .is_null()
                        .or(tickets::sla_breach_at.ge(now)),
                ),
                None => query,
            };
            query
        };
        let total = if request.page.counts() {
            Some(match (&request.search, decide_ticket_scope(actor)) {
                (Some(query), TicketScope::All) if searches_only(request) => {
                    count_matching(conn, query, audience)?
                }
                _ => total(filtered().count().get_result(conn)?),
            })
        } else {
            None
        };
        let rows = read_page(conn, &filtered, request)?;
        let mut page = Page::of_rows(
            convert_all(rows)?,
            request.page,
            |ticket| request.sort.position_of(ticket),
            total,
        );
        if audience.sees_tags() {
            attach_tags(conn, &mut page.items)?;
        }
        Ok(page)
    }

    /// One ticket as `actor` sees it: another customer's is not found, and a
    /// customer's carries no tags.
    pub fn read_ticket(&self, actor: Actor, ticket_id: i64) -> StoreResult<Ticket> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        as_seen_by(conn, actor, ticket)
    }

    /// Sets the status (rule 5: only `RESOLVED`, only by the owner; twice is
    /// a no-op), with the ticket locked and `resolvedAt` read after the lock.
    pub fn change_ticket_status(
        &self,
        actor: Actor,
        ticket_id: i64,
        requested: TicketStatus,
    ) -> StoreResult<Ticket> {
        self.write(|conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            match decide_status_change(actor, ticket.facts(), requested, now())? {
                Resolution::AlreadyResolved => as_seen_by(conn, actor, ticket),
                Resolution::Resolve { at, events } => {
                    let resolved = Ticket {
                        resolved_at: Some(at),
                        ..ticket
                    };
                    let row: TicketRow = diesel::update(tickets::table.find(ticket_id))
                        .set((
                            tickets::status.eq(TicketStatus::Resolved.as_str()),
                            tickets::resolved_at.eq(at.naive_utc()),
                            tickets::updated_at.eq(at.naive_utc()),
                            tickets::sla_breach_at.eq(breach_column(&resolved)),
                        ))
                        .returning(TICKET_COLUMNS)
                        .get_result(conn)?;
                    record_events(conn, ticket_id, &events)?;
                    as_seen_by(conn, actor, row.try_into()?)
                }
            }
        })
    }

    /// Adds a reply or an internal note (rules 3, 4, 6, 7 and the note
    /// rules) and applies what `domain` decides to the ticket (status,
    /// assignment on an agent's first reply, first response, `updatedAt`),
    /// with its events, the ticket locked: a reply can never land on a
    /// ticket resolved concurrently, nor carry a time after `resolvedAt`.
    pub fn add_reply(
        &self,
        actor: Actor,
        ticket_id: i64,
        body: &ReplyBody,
        kind: ReplyKind,
    ) -> StoreResult<Reply> {
        self.write(|conn| {
            let ticket = lock_ticket(conn, ticket_id)?;
            let decision = decide_reply(actor, ticket.facts(), kind, now())?;
            let at = decision.at.naive_utc();
            let internal = kind == ReplyKind::Internal;
            let id: i64 = diesel::insert_into(replies::table)
                .values((
                    replies::ticket_id.eq(ticket_id),
                    replies::author_id.eq(actor.id.0),
                    replies::body.eq(body.as_str()),
                    replies::created_at.eq(at),
                    replies::updated_at.eq(at),
                    replies::internal.eq(internal),
                ))
                .returning(replies::id)
                .get_result(conn)?;
            let changes = TicketChanges {
                status: (decision.status != ticket.status).then_some(decision.status.as_str()),
                assignee_id: (decision.assignee != ticket.assignee)
                    .then_some(decision.assignee.map(|user| user.0)),
                first_response_at: decision.first_response.then_some(Some(at)),
                sla_breach_at: decision.first_response.then(|| {
                    breach_column(&Ticket {
                        first_response_at: Some(decision.at),
                        ..ticket.clone()
                    })
                }),
                updated_at: decision.updated_at.map(|at| at.naive_utc()),
                ..TicketChanges::default()
            };
            changes.apply(conn, ticket_id)?;
            add_reply_words(conn, ticket_id, body.as_str(), internal)?;
            record_events(conn, ticket_id, &decision.events(id))?;
            Ok(Reply {
                id,
                ticket_id,
                body: body.as_str().to_owned(),
                author: actor.id,
                author_role: actor.role,
                internal,
                created_at: decision.at,
                updated_at: decision.at,
            })
        })
    }

    /// A page of a ticket's replies, oldest first, if `actor` may see it; a
    /// customer's page and count never include internal notes.
    pub fn list_replies(
        &self,
        actor: Actor,
        ticket_id: i64,
        page: PageRequest,
    ) -> StoreResult<Page<Reply>> {
        let conn = &mut *self.conn()?;
        let ticket = load_ticket(conn, ticket_id)?;
        may_view_ticket(actor, ticket.facts())?;
        let visible = || {
            let mut of_ticket = replies::table
                .filter(replies::ticket_id.eq(ticket_id))
                .into_boxed::<DbBackend>();
            if !Audience::of(actor).sees_notes() {
                of_ticket = of_ticket.filter(replies::internal.eq(false));
            }
            of_ticket
        };
        let total = match page.counts() {
            true => Some(total(visible().count().get_result(conn)?)),
            false => None,
        };
        let mut query = visible()
            .inner_join(users::table)
            .select(REPLY_COLUMNS)
            .order_by(replies::id.asc())
            .limit(rows_to_read(page))
            .offset(page_offset(page));
        if let Some(after) = after_id(page) {
            query = query.filter(replies::id.gt(after));
        }
        let rows: Vec<ReplyRow> = query.load(conn)?;
        Ok(Page::of_rows(
            convert_all(rows)?,
            page,
            |reply: &Reply| Position::after_id(reply.id),
            total,
        ))
    }
}

/// The ticket columns a change writes; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tickets)]
pub(crate) struct TicketChanges<'a> {
    pub status: Option<&'a str>,
    pub assignee_id: Option<Option<i64>>,
    pub priority: Option<i32>,
    pub first_response_at: Option<Option<NaiveDateTime>>,
    pub first_response_due_at: Option<NaiveDateTime>,
    pub resolution_due_at: Option<NaiveDateTime>,
    /// Whenever the due times or the first response change.
    pub sla_breach_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

impl TicketChanges<'_> {
    /// Writes the changes, if there are any.
    pub(crate) fn apply(self, conn: &mut DbConnection, ticket_id: i64) -> StoreResult<()> {
        let nothing = self.status.is_none()
            && self.assignee_id.is_none()
            && self.priority.is_none()
            && self.first_response_at.is_none()
            && self.first_response_due_at.is_none()
            && self.resolution_due_at.is_none()
            && self.sla_breach_at.is_none()
            && self.updated_at.is_none();
        if !nothing {
            diesel::update(tickets::table.find(ticket_id))
                .set(self)
                .execute(conn)?;
        }
        Ok(())
    }
}

/// Writes the events a rule produced, in the caller's transaction and one
/// statement: a change and its history commit or roll back together.
pub(crate) fn record_events(
    conn: &mut DbConnection,
    ticket_id: i64,
    new_events: &[NewEvent],
) -> StoreResult<()> {
    let encoded = new_events
        .iter()
        .map(|event| encode_event(&event.kind).map(|kind_and_data| (event, kind_and_data)))
        .collect::<StoreResult<Vec<_>>>()?;
    let rows: Vec<_> = encoded
        .iter()
        .map(|(event, (kind, data))| {
            (
                events::ticket_id.eq(ticket_id),
                events::kind.eq(*kind),
                events::actor_id.eq(event.actor.0),
                events::at.eq(event.at.naive_utc()),
                events::data.eq(data.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        let insert = diesel::insert_into(events::table).values(&rows);
        on_backend!(conn, |c| insert.execute(c)?);
    }
    Ok(())
}

/// The ticket as `actor` may see it: with its tags for staff only.
pub(crate) fn as_seen_by(
    conn: &mut DbConnection,
    actor: Actor,
    ticket: Ticket,
) -> StoreResult<Ticket> {
    if !Audience::of(actor).sees_tags() {
        return Ok(ticket);
    }
    let tags = load_tags(conn, ticket.id)?;
    Ok(Ticket {
        tags: Some(tags),
        ..ticket
    })
}

/// One ticket's tags.
pub(crate) fn load_tags(conn: &mut DbConnection, ticket_id: i64) -> StoreResult<TagSet> {
    let names: Vec<String> = ticket_tags::table
        .filter(ticket_tags::ticket_id.eq(ticket_id))
        .select(ticket_tags::tag)
        .load(conn)?;
    tag_set(names)
}

/// Loads the tags of a page of tickets in one query.
fn attach_tags(conn: &mut DbConnection, page: &mut [Ticket]) -> StoreResult<()> {
    let ids: Vec<i64> = page.iter().map(|ticket| ticket.id).collect();
    let rows: Vec<(i64, String)> = ticket_tags::table
        .filter(ticket_tags::ticket_id.eq_any(&ids))
        .select((ticket_tags::ticket_id, ticket_tags::tag))
        .load(conn)?;
    let mut by_ticket: HashMap<i64, Vec<String>> = HashMap::new();
    for (ticket_id, tag) in rows {
        by_ticket.entry(ticket_id).or_default().push(tag);
    }
    for ticket in page {
        ticket.tags = Some(tag_set(by_ticket.remove(&ticket.id).unwrap_or_default())?);
    }
    Ok(())
}

fn tag_set(names: Vec<String>) -> StoreResult<TagSet> {
    let tags = names
        .iter()
        .map(|name| Tag::parse(name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::internal(format!("unreadable tag in the database: {e}")))?;
    Ok(TagSet::from_tags(tags))
}

/// Whether the only filter of `request` is its search (written out field
/// by field, so a new filter cannot be forgotten here).
fn searches_only(request: &ListTickets) -> bool {
    let ListTickets {
        page: _,
        sort: _,
        direction: _,
        status,
        priority,
        assignee,
        tag,
        search: _,
        breached,
    } = request;
    status.is_none()
        && priority.is_none()
        && assignee.is_none()
        && tag.is_none()
        && breached.is_none()
}

type BoxedTickets = tickets::BoxedQuery<'static, DbBackend>;

/// One index walk of a ticket list: its rows, filtered, after the cursor's
/// row if any, in order.
type Segment<'a> = Box<dyn Fn() -> BoxedTickets + 'a>;

/// The rows of `request`'s page, plus one more when another page follows.
/// Each list is one or two walks along an index (see [`segments`]),
/// entered after a cursor's row or, for a page number, past `offset` rows
/// (at most `MAX_PAGE_DEPTH`), so no page sorts or skips the whole table.
fn read_page(
    conn: &mut DbConnection,
    filtered: &dyn Fn() -> BoxedTickets,
    request: &ListTickets,
) -> StoreResult<Vec<TicketRow>> {
    let page = request.page;
    let wanted = page.rows_to_read() as usize;
    let mut rows: Vec<TicketRow> = Vec::with_capacity(wanted);
    let mut skip = page.offset();
    for segment in segments(filtered, request.sort, request.direction, page.after())? {
        if rows.len() == wanted {
            break;
        }
        let found: Vec<TicketRow> = segment()
            .select(TICKET_COLUMNS)
            .limit((wanted - rows.len()) as i64)
            .offset(i64::try_from(skip).unwrap_or(i64::MAX))
            .load(conn)?;
        skip = if found.is_empty() && skip > 0 {
            // The page starts past this walk's end: skip the rest in the
            // next walk (at most `skip` ids are read here).
            let passed: Vec<i64> = segment()
                .select(tickets::id)
                .limit(i64::try_from(skip).unwrap_or(i64::MAX))
                .load(conn)?;
            skip - passed.len() as u64
        } else {
            0
        };
        rows.extend(found);
    }
    Ok(rows)
}

/// The index walks of a list sorted by `field`, after `after` if set: each
/// in `(field, id)` order, the direction applied to both, entered with
/// `field >= v AND (field > v OR id > i)` (mirrored for descending), which
/// both backends answer as a range scan of the `(field, id)` index.
/// Unresolved tickets have no `resolvedAt` and come last in both
/// directions: a walk of the resolved tickets, then one of the unresolved
/// by id (neither backend's index puts NULLs last both ways).
fn segments<'a>(
    filtered: &'a dyn Fn() -> BoxedTickets,
    field: SortField,
    direction: Direction,
    after: Option<Position>,
) -> StoreResult<Vec<Segment<'a>>> {
    macro_rules! walk {
        ($query:expr, $column:expr, $after:expr) => {{
            let mut query = $query;
            if let Some((value, id)) = $after {
                query = match direction {
                    Direction::Ascending => query.filter(
                        $column
                            .ge(value)
                            .and($column.gt(value).or(tickets::id.gt(id))),
                    ),
                    Direction::Descending => query.filter(
                        $column
                            .le(value)
                            .and($column.lt(value).or(tickets::id.lt(id))),
                    ),
                };
            }
            match direction {
                Direction::Ascending => query.order_by(($column.asc(), tickets::id.asc())),
                Direction::Descending => query.order_by(($column.desc(), tickets::id.desc())),
            }
        }};
    }
    let by_id = move |query: BoxedTickets, after: Option<i64>| {
        let query = match (after, direction) {
            (None, _) => query,
            (Some(id), Direction::Ascending) => query.filter(tickets::id.gt(id)),
            (Some(id), Direction::Descending) => query.filter(tickets::id.lt(id)),
        };
        match direction {
            Direction::Ascending => query.order_by(tickets::id.asc()),
            Direction::Descending => query.order_by(tickets::id.desc()),
        }
    };
    let unfit = || {
        Err(StoreError::internal(format!(
            "a cursor position {after:?} that does not fit the sort {field:?}"
        )))
    };
    let at = |value: SortValue| match value {
        SortValue::At(at) => Some(at.naive_utc()),
        _ => None,
    };
    let after_value = after.map(|position| (position.value, position.id));
    let one = |segment: Segment<'a>| Ok(vec![segment]);
    macro_rules! of {
        ($column:expr, $value:expr) => {{
            let after = match after_value {
                None => None,
                Some((value, id)) => match $value(value) {
                    Some(value) => Some((value, id)),
                    None => return unfit(),
                },
            };
            one(Box::new(move || walk!(filtered(), $column, after)))
        }};
    }
    match field {
        SortField::TicketId => one(Box::new(move || {
            by_id(filtered(), after.map(|position| position.id))
        })),
        SortField::CreatedAt => of!(tickets::created_at, at),
        SortField::UpdatedAt => of!(tickets::updated_at, at),
        SortField::ResolutionDueAt => of!(tickets::resolution_due_at, at),
        SortField::Status => of!(tickets::status, |value| match value {
            SortValue::Status(status) => Some(TicketStatus::as_str(status)),
            _ => None,
        }),
        SortField::Priority => of!(tickets::priority, |value| match value {
            SortValue::Priority(priority) => Some(Priority::rank(priority)),
            _ => None,
        }),
        SortField::ResolvedAt => {
            let resolved = move |after: Option<(chrono::NaiveDateTime, i64)>| -> Segment<'a> {
                Box::new(move || {
                    walk!(
                        filtered().filter(tickets::resolved_at.is_not_null()),
                        tickets::resolved_at,
                        after
                    )
                })
            };
            let unresolved = move |after: Option<i64>| -> Segment<'a> {
                Box::new(move || by_id(filtered().filter(tickets::resolved_at.is_null()), after))
            };
            match after_value {
                None => Ok(vec![resolved(None), unresolved(None)]),
                Some((SortValue::At(value), id)) => Ok(vec![
                    resolved(Some((value.naive_utc(), id))),
                    unresolved(None),
                ]),
                Some((SortValue::Unset, id)) => Ok(vec![unresolved(Some(id))]),
                Some(_) => unfit(),
            }
        }
    }
}

pub(crate) fn load_ticket(conn: &mut DbConnection, ticket_id: i64) -> StoreResult<Ticket> {
    let row: TicketRow = tickets::table
        .find(ticket_id)
        .select(TICKET_COLUMNS)
        .first(conn)?;
    row.try_into()
}

/// Reads a ticket and holds it until the transaction ends.
pub(crate) fn lock_ticket(conn: &mut DbConnection, ticket_id: i64) -> StoreResult<Ticket> {
    lock_rows(conn, Locked::Tickets, &[ticket_id])?;
    load_ticket(conn, ticket_id)
}
