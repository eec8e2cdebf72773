//! The ticket list: a page of the tickets a viewer may see, filtered and
//! sorted as asked, read as one or two walks along an index.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};
use domain::audience::{Audience, TicketScope, decide_ticket_scope, see_ticket};
use domain::ticket_list::may_filter_tickets;
use domain::{
    Actor, Direction, ListTickets, Page, Position, Priority, SeenTicket, SortField, SortValue,
    Ticket, TicketStatus, User, UserId,
};

use crate::connection::{DbBackend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::paging::total;
use crate::rows::{TICKET_COLUMNS, TicketRow, USER_COLUMNS, UserRow, convert_all, tag_set};
use crate::schema::{ticket_tags, tickets, users};
use crate::search::{breadth, count_matching, matching};
use crate::{Store, now};

impl Store {
    /// The page of tickets `actor` may see (rule 2), filtered and sorted as
    /// asked; ties are broken by `ticketId` so pages never overlap. Counts
    /// the matches only when asked. Each ticket's breach verdict is taken at
    /// the same instant as the breach filter's.
    pub fn list_tickets(
        &self,
        actor: Actor,
        request: &ListTickets,
    ) -> StoreResult<Page<SeenTicket>> {
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
        // The clock is part of the query (a breach is a stored breach time
        // before it) and of each row's verdict.
        let at = now();
        let now = at.naive_utc();
        // The count may use any index; the page is read along the index
        // `drive` chose (on SQLite, which cannot combine indexes, the other
        // filters are written so it cannot drive from them).
        let drive = match (&*conn, &search) {
            (DbConnection::Sqlite(_), None) => {
                choose_drive(conn, actor, request, now, self.few_matches)?
            }
            _ => Drive::Planner,
        };
        let filtered_with = |drive: Drive| {
            let mut query = tickets::table.into_boxed::<DbBackend>();
            if let TicketScope::AuthoredBy(author) = decide_ticket_scope(actor) {
                query = match drive.tests(FilterKind::Author) {
                    false => query.filter(tickets::author_id.eq(author.0)),
                    true => query
                        .filter(sql::<Bool>("+tickets.author_id = ").bind::<BigInt, _>(author.0)),
                };
            }
            if let Some(status) = request.status {
                query = match drive.tests(FilterKind::Status) {
                    false => query.filter(tickets::status.eq(status.as_str())),
                    true => query
                        .filter(sql::<Bool>("+tickets.status = ").bind::<Text, _>(status.as_str())),
                };
            }
            if let Some(priority) = request.priority {
                query = match drive.tests(FilterKind::Priority) {
                    false => query.filter(tickets::priority.eq(priority.rank())),
                    true => query.filter(
                        sql::<Bool>("+tickets.priority = ").bind::<Integer, _>(priority.rank()),
                    ),
                };
            }
            if let Some(assignee) = request.assignee {
                query = match (assignee.user(actor), drive.tests(FilterKind::Assignee)) {
                    (Some(user), false) => query.filter(tickets::assignee_id.eq(user.0)),
                    (None, false) => query.filter(tickets::assignee_id.is_null()),
                    (Some(user), true) => query
                        .filter(sql::<Bool>("+tickets.assignee_id = ").bind::<BigInt, _>(user.0)),
                    (None, true) => query.filter(sql::<Bool>("+tickets.assignee_id IS NULL")),
                };
            }
            if let Some(tag) = &request.tag {
                query = match drive.tests(FilterKind::Tag) {
                    false => {
                        let tagged = ticket_tags::table
                            .filter(ticket_tags::tag.eq(tag.as_str().to_owned()))
                            .select(ticket_tags::ticket_id);
                        query.filter(tickets::id.eq_any(tagged))
                    }
                    // Tested per ticket by its key: an `IN` list would
                    // gather every tagged ticket first.
                    true => query.filter(
                        sql::<Bool>(
                            "EXISTS (SELECT 1 FROM ticket_tags \
                             WHERE ticket_tags.ticket_id = tickets.id AND ticket_tags.tag = ",
                        )
                        .bind::<Text, _>(tag.as_str().to_owned())
                        .sql(")"),
                    ),
                };
            }
            if let Some(words) = &search {
                query = query.filter(words.clone());
            }
            query = match request.breached {
                // As ids looked up: SQLite would rather walk the sort's
                // index than search a range of unknown breadth.
                Some(true) if drive == Drive::Filter(FilterKind::Breach) => query.filter(
                    sql::<Bool>("tickets.id IN (SELECT id FROM tickets WHERE sla_breach_at < ")
                        .bind::<Timestamp, _>(now)
                        .sql(")"),
                ),
                Some(true) if drive.tests(FilterKind::Breach) => {
                    query.filter(sql::<Bool>("+tickets.sla_breach_at < ").bind::<Timestamp, _>(now))
                }
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
        let filtered = || filtered_with(Drive::Planner);
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
        let rows = read_page(conn, &|| filtered_with(drive), request)?;
        let mut page = Page::of_rows(
            convert_all(rows)?,
            request.page,
            |ticket| request.sort.position_of(ticket),
            total,
        );
        if audience.sees_tags() {
            attach_tags(conn, &mut page.items)?;
        }
        let requesters = match audience.sees_requester() {
            true => load_requesters(conn, &page.items)?,
            false => HashMap::new(),
        };
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|ticket| {
                    let author = requesters.get(&ticket.author).cloned();
                    see_ticket(actor, ticket, author, at)
                })
                .collect(),
            next: page.next,
            total: page.total,
        })
    }
}

/// Loads the tags of a page of tickets in one query.
fn attach_tags(conn: &mut DbConnection, page: &mut [Ticket]) -> StoreResult<()> {
    let ids: Vec<i64> = page.iter().map(|ticket| ticket.id.0).collect();
    let rows: Vec<(i64, String)> = ticket_tags::table
        .filter(ticket_tags::ticket_id.eq_any(&ids))
        .select((ticket_tags::ticket_id, ticket_tags::tag))
        .load(conn)?;
    let mut by_ticket: HashMap<i64, Vec<String>> = HashMap::new();
    for (ticket_id, tag) in rows {
        by_ticket.entry(ticket_id).or_default().push(tag);
    }
    for ticket in page {
        ticket.tags = Some(tag_set(by_ticket.remove(&ticket.id.0).unwrap_or_default())?);
    }
    Ok(())
}

/// The accounts that opened a page of tickets, in one query.
fn load_requesters(conn: &mut DbConnection, page: &[Ticket]) -> StoreResult<HashMap<UserId, User>> {
    let mut ids: Vec<i64> = page.iter().map(|ticket| ticket.author.0).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<UserRow> = users::table
        .filter(users::id.eq_any(&ids))
        .select(USER_COLUMNS)
        .load(conn)?;
    rows.into_iter()
        .map(|row| User::try_from(row).map(|user| (user.id, user)))
        .collect()
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

/// Which index a page is read along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// The database's planner chooses: PostgreSQL, which can combine
    /// indexes and knows how many rows each filter matches; a search; a
    /// count; a list without filters.
    Planner,
    /// On SQLite, this filter's index; every other filter is tested on the
    /// rows it gives.
    Filter(FilterKind),
    /// On SQLite, the sort's own index; every filter is tested on its rows.
    Sort,
}

impl Drive {
    /// Whether `filter` is written with a unary `+`, which SQLite never
    /// answers from an index: it is tested on each row the chosen index
    /// gives. SQLite uses one index per table and cannot weigh one
    /// filter's matches against another's, so the store chooses for it.
    fn tests(self, filter: FilterKind) -> bool {
        match self {
            Drive::Planner => false,
            Drive::Filter(driver) => driver != filter,
            Drive::Sort => true,
        }
    }
}

/// The filters an index can answer, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterKind {
    Status,
    Priority,
    Assignee,
    Author,
    Tag,
    Breach,
}

/// A filter of a list that an index can answer, with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Indexed<'a> {
    Status(TicketStatus),
    Priority(Priority),
    /// `None`: unassigned.
    Assignee(Option<UserId>),
    /// A customer's own tickets.
    Author(UserId),
    Tag(&'a str),
    /// In breach at the list's instant.
    Breach(chrono::NaiveDateTime),
}

impl Indexed<'_> {
    fn kind(self) -> FilterKind {
        match self {
            Indexed::Status(_) => FilterKind::Status,
            Indexed::Priority(_) => FilterKind::Priority,
            Indexed::Assignee(_) => FilterKind::Assignee,
            Indexed::Author(_) => FilterKind::Author,
            Indexed::Tag(_) => FilterKind::Tag,
            Indexed::Breach(_) => FilterKind::Breach,
        }
    }

    /// Whether an index leads with this filter and goes on in `sort`'s
    /// order (migration `000011_chosen_indexes`): then a page of it is read
    /// in order, however many tickets match.
    fn has_index_sorted_by(self, sort: SortField) -> bool {
        match self {
            // The queue is read by status, and status follows time.
            Indexed::Status(_) => true,
            Indexed::Author(_) => matches!(sort, SortField::TicketId | SortField::UpdatedAt),
            Indexed::Assignee(_) => matches!(
                sort,
                SortField::TicketId | SortField::UpdatedAt | SortField::Status
            ),
            Indexed::Priority(_) => matches!(
                sort,
                SortField::TicketId | SortField::Priority | SortField::ResolutionDueAt
            ),
            Indexed::Tag(_) | Indexed::Breach(_) => false,
        }
    }

    /// The tickets it matches, counted along its index up to `limit`.
    fn matches_up_to(self, conn: &mut DbConnection, limit: i64) -> StoreResult<i64> {
        let probe = tickets::table.select(tickets::id).into_boxed::<DbBackend>();
        let probe = match self {
            Indexed::Status(status) => probe.filter(tickets::status.eq(status.as_str())),
            Indexed::Priority(priority) => probe.filter(tickets::priority.eq(priority.rank())),
            Indexed::Assignee(Some(user)) => probe.filter(tickets::assignee_id.eq(user.0)),
            Indexed::Assignee(None) => probe.filter(tickets::assignee_id.is_null()),
            Indexed::Author(author) => probe.filter(tickets::author_id.eq(author.0)),
            Indexed::Breach(now) => probe.filter(tickets::sla_breach_at.lt(now)),
            Indexed::Tag(tag) => {
                let tagged: Vec<i64> = ticket_tags::table
                    .filter(ticket_tags::tag.eq(tag.to_owned()))
                    .select(ticket_tags::ticket_id)
                    .limit(limit)
                    .load(conn)?;
                return Ok(tagged.len() as i64);
            }
        };
        let matched: Vec<i64> = probe.limit(limit).load(conn)?;
        Ok(matched.len() as i64)
    }
}

/// Matches counted, up to here, to choose between two filters that both
/// have an index in the list's order (a few milliseconds at most).
const TIE_MATCHES: i64 = 10_000;

/// The filter of `present` with an index in `sort`'s order that drives:
/// the one with the fewest matches when there are several (a customer's
/// resolved tickets: their own few, not every resolved ticket), else the
/// first of a customer's own, a priority (whose tickets' due times lie
/// together), a status, an assignee.
fn sorted_driver<'a>(
    conn: &mut DbConnection,
    present: &[Indexed<'a>],
    sort: SortField,
) -> StoreResult<Option<Indexed<'a>>> {
    let preference = |filter: &Indexed| match filter {
        Indexed::Author(_) => 0,
        Indexed::Priority(_) => 1,
        Indexed::Status(_) => 2,
        _ => 3,
    };
    let mut sorted: Vec<Indexed> = present
        .iter()
        .copied()
        .filter(|filter| filter.has_index_sorted_by(sort))
        .collect();
    sorted.sort_by_key(preference);
    if sorted.len() < 2 {
        return Ok(sorted.first().copied());
    }
    let mut best: Option<(i64, Indexed)> = None;
    for filter in sorted {
        let count = filter.matches_up_to(conn, TIE_MATCHES)?;
        if best.is_none_or(|(least, _)| count < least) {
            best = Some((count, filter));
        }
    }
    Ok(best.map(|(_, filter)| filter))
}

/// Which index a page of `request` is read along on SQLite. A filter
/// matching fewer than `few_matches` tickets drives (its few matches are
/// sorted); else a filter with an index in the sort's order drives (see
/// [`sorted_driver`]); else the sort's own index does, each ticket tested
/// against the filters, which reads about `page × tickets / matches` rows
/// when no filter is few.
fn choose_drive(
    conn: &mut DbConnection,
    actor: Actor,
    request: &ListTickets,
    now: chrono::NaiveDateTime,
    few_matches: i64,
) -> StoreResult<Drive> {
    let author = match decide_ticket_scope(actor) {
        TicketScope::AuthoredBy(author) => Some(Indexed::Author(author)),
        TicketScope::All => None,
    };
    let present: Vec<Indexed> = [
        request.status.map(Indexed::Status),
        request.priority.map(Indexed::Priority),
        request
            .assignee
            .map(|assignee| Indexed::Assignee(assignee.user(actor))),
        author,
        request.tag.as_ref().map(|tag| Indexed::Tag(tag.as_str())),
        (request.breached == Some(true)).then_some(Indexed::Breach(now)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut fewest: Option<(i64, Indexed)> = None;
    for &filter in &present {
        if !filter.has_index_sorted_by(request.sort) {
            let count = filter.matches_up_to(conn, few_matches)?;
            if fewest.is_none_or(|(least, _)| count < least) {
                fewest = Some((count, filter));
            }
        }
    }
    let driver = match fewest {
        Some((count, filter)) if count < few_matches => Some(filter),
        _ => sorted_driver(conn, &present, request.sort)?,
    };
    Ok(match (present.is_empty(), driver) {
        (true, _) => Drive::Planner,
        (false, Some(driver)) => Drive::Filter(driver.kind()),
        (false, None) => Drive::Sort,
    })
}
