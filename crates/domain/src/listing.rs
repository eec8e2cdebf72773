//! List requests: paging, sorting and filters, parsed from raw query values.
//!
//! Query parameters arrive as optional strings; a missing one takes its
//! default and a present but bad one is a [`ValidationError`].

use std::str::FromStr;

use crate::cursor::{CursorKey, Position, QueryBinding, SortValue};
use crate::entities::Ticket;
use crate::roles::{Actor, Role, TicketStatus, UserId};
use crate::rules::{Audience, Refusal};
use crate::search::SearchQuery;
use crate::values::{ValidationError, parse_id};
use crate::workflow::{Priority, Tag};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// The deepest row a `page` may reach (`page` x `limit`). Skipping rows
/// costs the database every row skipped, so deeper lists follow cursors,
/// which cost the same at any depth.
pub const MAX_PAGE_DEPTH: u32 = 10_000;

/// The raw paging values of a list request (`None`: absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Paging<'a> {
    pub page: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
    /// `true` adds the number of matching rows.
    pub count: Option<&'a str>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The `page`-th page of `limit` rows, from 1.
    Page(u32),
    /// Right after a row a cursor named.
    After(Position),
}

/// One page of a list: where it starts, `limit` in `1..=100`, whether to
/// count the matches, and the query a cursor of it is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    start: Start,
    limit: u32,
    count: bool,
    binding: QueryBinding,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            start: Start::Page(1),
            limit: DEFAULT_LIMIT,
            count: false,
            binding: QueryBinding::of(""),
        }
    }
}

impl PageRequest {
    /// A page by number, bound to no query in particular (for callers
    /// inside the server, such as tests and the bench).
    pub fn new(page: u32, limit: u32) -> Result<Self, ValidationError> {
        Self::checked(Start::Page(page), limit, false, QueryBinding::of(""))
    }

    /// Parses the paging of the list `query` describes (everything but its
    /// paging), whose rows are sorted by `sort`; a cursor must have been
    /// made for that same query and limit.
    pub fn parse(
        raw: Paging<'_>,
        key: &CursorKey,
        query: &str,
        sort: SortField,
    ) -> Result<Self, ValidationError> {
        let limit = parse_number("limit", raw.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let count = raw
            .count
            .map(parse_flag("count"))
            .transpose()?
            .unwrap_or(false);
        let binding = QueryBinding::of(&format!("{query}|limit={limit}"));
        let start = match (raw.page, raw.cursor) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "cursor",
                    "goes without page: a cursor already says where its page starts",
                ));
            }
            (_, Some(cursor)) => {
                let position = key.open(binding, cursor)?;
                if !sort.holds(position.value) {
                    return Err(ValidationError::new("cursor", "does not fit this sort"));
                }
                Start::After(position)
            }
            (page, None) => Start::Page(parse_page(page)?),
        };
        Self::checked(start, limit, count, binding)
    }

    fn checked(
        start: Start,
        limit: u32,
        count: bool,
        binding: QueryBinding,
    ) -> Result<Self, ValidationError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be an integer from 1 to {MAX_LIMIT}"),
            ));
        }
        if let Start::Page(page) = start {
            if page == 0 {
                return Err(ValidationError::new("page", "must be an integer from 1"));
            }
            if u64::from(page) * u64::from(limit) > u64::from(MAX_PAGE_DEPTH) {
                return Err(ValidationError::new(
                    "page",
                    format!(
                        "reaches past row {MAX_PAGE_DEPTH} (page x limit); to go deeper, follow meta.nextCursor with the cursor parameter"
                    ),
                ));
            }
        }
        Ok(Self {
            start,
            limit,
            count,
            binding,
        })
    }

    /// The same page, with its matches counted.
    pub fn counting(self) -> Self {
        Self {
            count: true,
            ..self
        }
    }

    pub fn start(self) -> Start {
        self.start
    }

    /// The page number, or `None` for a page a cursor started.
    pub fn page(self) -> Option<u32> {
        match self.start {
            Start::Page(page) => Some(page),
            Start::After(_) => None,
        }
    }

    /// The row a cursor's page starts after, or `None` for a page number.
    pub fn after(self) -> Option<Position> {
        match self.start {
            Start::After(position) => Some(position),
            Start::Page(_) => None,
        }
    }

    pub fn limit(self) -> u32 {
        self.limit
    }

    /// Whether the answer counts the matching rows.
    pub fn counts(self) -> bool {
        self.count
    }

    pub fn binding(self) -> QueryBinding {
        self.binding
    }

    /// How many rows come before this page (none for a cursor's page,
    /// which starts after its row instead).
    pub fn offset(self) -> u64 {
        match self.start {
            Start::Page(page) => u64::from(page - 1) * u64::from(self.limit),
            Start::After(_) => 0,
        }
    }

    /// How many rows to read: one more than a page, to learn whether
    /// another follows.
    pub fn rows_to_read(self) -> u32 {
        self.limit + 1
    }
}

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// After the last item, when more rows follow; `None` exactly when
    /// none do.
    pub next: Option<Position>,
    /// How many rows match in all, when the request asked.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// The page made of the rows read for `request` (up to
    /// [`PageRequest::rows_to_read`]): an extra row means another page
    /// follows, which starts after the last row shown.
    pub fn of_rows(
        mut rows: Vec<T>,
        request: PageRequest,
        position_of: impl Fn(&T) -> Position,
        total: Option<u64>,
    ) -> Self {
        let limit = request.limit() as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(position_of)
        } else {
            None
        };
        Self {
            items: rows,
            next,
            total,
        }
    }
}

fn parse_page(raw: Option<&str>) -> Result<u32, ValidationError> {
    match raw {
        None => Ok(1),
        // Past `u32`, far past the deepest page: refused as too deep.
        Some(text) if is_plain_number(text) => Ok(text.parse().unwrap_or(u32::MAX)),
        Some(_) => Err(ValidationError::new("page", "must be a positive integer")),
    }
}

/// Plain digits only: `u32::from_str` would also take a leading `+`.
fn is_plain_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_number(
    field: &'static str,
    raw: Option<&str>,
    default: u32,
    max: u32,
) -> Result<u32, ValidationError> {
    let invalid = || ValidationError::new(field, format!("must be an integer from 1 to {max}"));
    match raw {
        None => Ok(default),
        Some(text) if is_plain_number(text) => text.parse::<u32>().map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// The ticket fields a list may be sorted by (wire names as in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    TicketId,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
    Status,
    /// `LOW` < `NORMAL` < `HIGH` < `URGENT`.
    Priority,
    ResolutionDueAt,
}

impl SortField {
    pub const ALL: [SortField; 7] = [
        SortField::TicketId,
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::ResolvedAt,
        SortField::Status,
        SortField::Priority,
        SortField::ResolutionDueAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::TicketId => "ticketId",
            SortField::CreatedAt => "createdAt",
            SortField::UpdatedAt => "updatedAt",
            SortField::ResolvedAt => "resolvedAt",
            SortField::Status => "status",
            SortField::Priority => "priority",
            SortField::ResolutionDueAt => "resolutionDueAt",
        }
    }

    /// Where a list sorted by this field continues after `ticket`.
    pub fn position_of(self, ticket: &Ticket) -> Position {
        let value = match self {
            SortField::TicketId => SortValue::Id,
            SortField::CreatedAt => SortValue::At(ticket.created_at),
            SortField::UpdatedAt => SortValue::At(ticket.updated_at),
            SortField::ResolvedAt => ticket.resolved_at.map_or(SortValue::Unset, SortValue::At),
            SortField::Status => SortValue::Status(ticket.status),
            SortField::Priority => SortValue::Priority(ticket.priority),
            SortField::ResolutionDueAt => SortValue::At(ticket.due.resolution),
        };
        Position {
            value,
            id: ticket.id,
        }
    }

    /// Whether `value` is a value of this field.
    pub fn holds(self, value: SortValue) -> bool {
        matches!(
            (self, value),
            (SortField::TicketId, SortValue::Id)
                | (
                    SortField::CreatedAt | SortField::UpdatedAt | SortField::ResolutionDueAt,
                    SortValue::At(_)
                )
                | (SortField::ResolvedAt, SortValue::At(_) | SortValue::Unset)
                | (SortField::Status, SortValue::Status(_))
                | (SortField::Priority, SortValue::Priority(_))
        )
    }
}

impl FromStr for SortField {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SortField::ALL
            .into_iter()
            .find(|field| field.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "sort",
                    "must be one of ticketId, createdAt, updatedAt, resolvedAt, status, priority, resolutionDueAt",
                )
            })
    }
}

/// Sort direction; the original's clients send `1`/`-1` as well as words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Ascending,
    Descending,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ascending => "asc",
            Direction::Descending => "desc",
        }
    }
}

impl FromStr for Direction {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" | "1" => Ok(Direction::Ascending),
            "desc" | "-1" => Ok(Direction::Descending),
            _ => Err(ValidationError::new(
                "direction",
                "must be one of asc, desc, 1, -1",
            )),
        }
    }
}

/// Whose tickets a list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// `me`: the caller's.
    Me,
    /// `none`: unassigned tickets.
    Nobody,
    /// A user `_id`; one that names no user matches nothing.
    User(UserId),
}

impl FromStr for AssigneeFilter {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "me" => Ok(AssigneeFilter::Me),
            "none" => Ok(AssigneeFilter::Nobody),
            id => parse_id("assignee", id)
                .map(|id| AssigneeFilter::User(UserId(id)))
                .map_err(|_| ValidationError::new("assignee", "must be me, none or a user _id")),
        }
    }
}

impl AssigneeFilter {
    /// The user the filter asks for (`None`: unassigned), `me` resolved.
    pub fn user(self, actor: Actor) -> Option<UserId> {
        match self {
            AssigneeFilter::Me => Some(actor.id),
            AssigneeFilter::Nobody => None,
            AssigneeFilter::User(id) => Some(id),
        }
    }
}

/// The raw query of a ticket list, as the request carried it (`None`:
/// absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct TicketQuery<'a> {
    pub paging: Paging<'a>,
    pub sort: Option<&'a str>,
    pub direction: Option<&'a str>,
    pub status: Option<&'a str>,
    pub priority: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// Full-text search words.
    pub q: Option<&'a str>,
    /// `true` or `false`: in SLA breach now, or not.
    pub breached: Option<&'a str>,
}

/// A request for a page of tickets. Filters combine with AND.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListTickets {
    pub page: PageRequest,
    pub sort: SortField,
    pub direction: Direction,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assignee: Option<AssigneeFilter>,
    pub tag: Option<Tag>,
    /// Tickets with every word; `None` also for a `q` without words.
    pub search: Option<SearchQuery>,
    /// Tickets in SLA breach at the moment of the query, or not.
    pub breached: Option<bool>,
}

impl ListTickets {
    /// Parses the raw query values of `actor`'s request; a cursor must be
    /// one `key` sealed for this same query.
    pub fn parse(
        query: TicketQuery<'_>,
        actor: Actor,
        key: &CursorKey,
    ) -> Result<Self, ValidationError> {
        let mut request = Self {
            page: PageRequest::default(),
            sort: query.sort.map(str::parse).transpose()?.unwrap_or_default(),
            direction: query
                .direction
                .map(str::parse)
                .transpose()?
                .unwrap_or_default(),
            status: query.status.map(str::parse).transpose()?,
            priority: query.priority.map(str::parse).transpose()?,
            assignee: query.assignee.map(str::parse).transpose()?,
            tag: query
                .tag
                .map(|tag| Tag::parse(tag).map_err(|e| ValidationError::new("tag", e.reason)))
                .transpose()?,
            search: query.q.map(SearchQuery::parse).transpose()?.flatten(),
            breached: query.breached.map(parse_flag("breached")).transpose()?,
        };
        request.page = PageRequest::parse(query.paging, key, &request.query(actor), request.sort)?;
        Ok(request)
    }

    /// Everything this request asks but its paging, as text a cursor is
    /// bound to; written out field by field, so a new filter cannot be
    /// left out.
    fn query(&self, actor: Actor) -> String {
        let ListTickets {
            page: _,
            sort,
            direction,
            status,
            priority,
            assignee,
            tag,
            search,
            breached,
        } = self;
        format!(
            "tickets|{}|{}|{}|{status:?}|{priority:?}|{assignee:?}|{:?}|{:?}|{breached:?}",
            caller(actor),
            sort.as_str(),
            direction.as_str(),
            tag.as_ref().map(Tag::as_str),
            search.as_ref().map(SearchQuery::words),
        )
    }
}

/// Who asks, as a cursor's query names them: a cursor serves only its
/// caller, in the role it had (`assignee=me` means them, and a customer's
/// list is their own).
fn caller(actor: Actor) -> String {
    format!("{}:{}", actor.id.0, actor.role.as_str())
}

/// The query text of a list of one ticket's records (`replies`, `events`),
/// oldest first, as `actor` sees it.
pub fn ticket_records_query(list: &str, ticket_id: i64, actor: Actor) -> String {
    format!("{list}|{ticket_id}|{}", caller(actor))
}

/// `true` or `false`, exactly.
fn parse_flag(field: &'static str) -> impl Fn(&str) -> Result<bool, ValidationError> {
    move |raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValidationError::new(field, "must be true or false")),
    }
}

/// Who may filter by what: assignments and tags are staff business, so a
/// customer filtering by them is refused rather than shown nothing.
pub fn may_filter_tickets(actor: Actor, request: &ListTickets) -> Result<(), Refusal> {
    let staff_only = request.assignee.is_some() || request.tag.is_some();
    if staff_only && Audience::of(actor) == Audience::Customer {
        return Err(Refusal::Forbidden(
            "only support agents and admins filter by assignee or tag",
        ));
    }
    Ok(())
}

/// A request for a page of users, optionally of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListUsers {
    pub page: PageRequest,
    pub role: Option<Role>,
}

impl ListUsers {
    pub fn parse(
        paging: Paging<'_>,
        role: Option<&str>,
        actor: Actor,
        key: &CursorKey,
    ) -> Result<Self, ValidationError> {
        let role: Option<Role> = role.map(str::parse).transpose()?;
        let query = format!("users|{}|{role:?}", caller(actor));
        Ok(Self {
            page: PageRequest::parse(paging, key, &query, SortField::TicketId)?,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AGENT: Actor = Actor {
        id: UserId(2),
        role: Role::SupportAgent,
    };

    fn key() -> CursorKey {
        CursorKey::derive(b"the test secret, thirty-two bytes long")
    }

    fn parse(query: TicketQuery<'_>) -> Result<ListTickets, ValidationError> {
        ListTickets::parse(query, AGENT, &key())
    }

    fn paging<'a>(page: Option<&'a str>, limit: Option<&'a str>) -> Paging<'a> {
        Paging {
            page,
            limit,
            ..Paging::default()
        }
    }

    #[test]
    fn absent_parameters_take_the_documented_defaults() {
        let request = parse(TicketQuery::default()).expect("defaults");
        assert_eq!(request.page.page(), Some(1));
        assert!(!request.page.counts());
        assert_eq!(request.page.limit(), 20);
        assert_eq!(request.sort, SortField::TicketId);
        assert_eq!(request.direction, Direction::Ascending);
        assert_eq!(request.status, None);
    }

    #[test]
    fn direction_accepts_words_and_the_originals_numbers() {
        assert_eq!("asc".parse(), Ok(Direction::Ascending));
        assert_eq!("1".parse(), Ok(Direction::Ascending));
        assert_eq!("desc".parse(), Ok(Direction::Descending));
        assert_eq!("-1".parse(), Ok(Direction::Descending));
        assert!("up".parse::<Direction>().is_err());
        assert!("0".parse::<Direction>().is_err());
    }

    #[test]
    fn each_bad_parameter_names_itself() {
        let field = |query: TicketQuery| parse(query).err().map(|e| e.field);
        let q = TicketQuery::default;
        assert_eq!(
            field(TicketQuery {
                paging: paging(Some("0"), None),
                ..q()
            }),
            Some("page")
        );
        assert_eq!(
            field(TicketQuery {
                paging: paging(None, Some("101")),
                ..q()
            }),
            Some("limit")
        );
        assert_eq!(
            field(TicketQuery {
                paging: paging(None, Some("x")),
                ..q()
            }),
            Some("limit")
        );
        assert_eq!(
            field(TicketQuery {
                sort: Some("body"),
                ..q()
            }),
            Some("sort")
        );
        assert_eq!(
            field(TicketQuery {
                direction: Some("down"),
                ..q()
            }),
            Some("direction")
        );
        assert_eq!(
            field(TicketQuery {
                status: Some("OPEN"),
                ..q()
            }),
            Some("status")
        );
        assert_eq!(
            field(TicketQuery {
                priority: Some("low"),
                ..q()
            }),
            Some("priority")
        );
        assert_eq!(
            field(TicketQuery {
                assignee: Some("x1"),
                ..q()
            }),
            Some("assignee")
        );
        assert_eq!(
            field(TicketQuery {
                assignee: Some("0"),
                ..q()
            }),
            Some("assignee")
        );
        assert_eq!(
            field(TicketQuery {
                tag: Some("-x"),
                ..q()
            }),
            Some("tag")
        );
        assert_eq!(
            field(TicketQuery {
                breached: Some("yes"),
                ..q()
            }),
            Some("breached")
        );
        assert_eq!(
            ListUsers::parse(Paging::default(), Some("ROOT"), AGENT, &key())
                .err()
                .map(|e| e.field),
            Some("role")
        );
    }

    #[test]
    fn the_workflow_filters_parse_their_values() {
        let request = parse(TicketQuery {
            priority: Some("URGENT"),
            assignee: Some("me"),
            tag: Some("Billing"),
            sort: Some("resolutionDueAt"),
            ..TicketQuery::default()
        })
        .expect("valid");
        assert_eq!(request.priority, Some(Priority::Urgent));
        assert_eq!(request.assignee, Some(AssigneeFilter::Me));
        assert_eq!(request.tag.as_ref().map(Tag::as_str), Some("billing"));
        assert_eq!(request.sort, SortField::ResolutionDueAt);
        assert_eq!("none".parse(), Ok(AssigneeFilter::Nobody));
        assert_eq!("42".parse(), Ok(AssigneeFilter::User(UserId(42))));
    }

    #[test]
    fn search_and_breach_parse_and_a_wordless_q_is_no_filter() {
        let parse = |q: &str, breached: &str| {
            parse(TicketQuery {
                q: Some(q),
                breached: Some(breached),
                ..TicketQuery::default()
            })
        };
        let request = parse("Printer, FIRE", "true").expect("valid");
        let words = request.search.as_ref().map(SearchQuery::words);
        assert_eq!(words, Some(&["fire".to_owned(), "printer".to_owned()][..]));
        assert_eq!(request.breached, Some(true));
        let request = parse(" -- \"*", "false").expect("valid");
        assert_eq!(request.search, None);
        assert_eq!(request.breached, Some(false));
        assert!(parse("x", "1").is_err());
    }

    #[test]
    fn only_staff_filter_by_assignee_or_tag() {
        let customer = Actor {
            id: UserId(1),
            role: Role::Customer,
        };
        let agent = Actor {
            id: UserId(2),
            role: Role::SupportAgent,
        };
        let by_tag = ListTickets {
            tag: Tag::parse("vip").ok(),
            ..ListTickets::default()
        };
        let by_assignee = ListTickets {
            assignee: Some(AssigneeFilter::Nobody),
            ..ListTickets::default()
        };
        let by_priority = ListTickets {
            priority: Some(Priority::High),
            ..ListTickets::default()
        };
        for request in [&by_tag, &by_assignee] {
            assert!(matches!(
                may_filter_tickets(customer, request),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(may_filter_tickets(agent, request), Ok(()));
        }
        assert_eq!(may_filter_tickets(customer, &by_priority), Ok(()));
        assert_eq!(AssigneeFilter::Me.user(agent), Some(agent.id));
    }

    #[test]
    fn the_offset_skips_the_earlier_pages() {
        let page = PageRequest::new(3, 25).expect("valid");
        assert_eq!(page.offset(), 50);
        assert_eq!(page.rows_to_read(), 26);
    }

    #[test]
    fn a_page_past_the_depth_limit_points_at_the_cursor() {
        for (page, limit) in [("501", "20"), ("101", "100"), ("99999999999", "1")] {
            let refused = PageRequest::parse(
                paging(Some(page), Some(limit)),
                &key(),
                "q",
                SortField::TicketId,
            )
            .expect_err("too deep");
            assert_eq!(refused.field, "page");
            assert!(refused.reason.contains("cursor"), "{refused:?}");
        }
        let deepest = PageRequest::parse(
            paging(Some("500"), Some("20")),
            &key(),
            "q",
            SortField::TicketId,
        );
        assert_eq!(deepest.map(PageRequest::offset), Ok(9_980));
    }

    #[test]
    fn count_is_asked_with_true_or_false_exactly() {
        let with = |count| {
            PageRequest::parse(
                Paging {
                    count: Some(count),
                    ..Paging::default()
                },
                &key(),
                "q",
                SortField::TicketId,
            )
        };
        assert_eq!(with("true").map(PageRequest::counts), Ok(true));
        assert_eq!(with("false").map(PageRequest::counts), Ok(false));
        assert_eq!(with("1").map_err(|e| e.field), Err("count"));
    }

    /// A cursor sealed for the request `query` (with `limit`), at `position`.
    fn cursor_for(query: &TicketQuery<'_>, actor: Actor, position: Position) -> String {
        let request = ListTickets::parse(*query, actor, &key()).expect("valid");
        key().seal(request.page.binding(), position)
    }

    #[test]
    fn a_cursor_continues_only_the_query_it_came_from() {
        let by_creation = TicketQuery {
            sort: Some("createdAt"),
            status: Some("REPLIED"),
            ..TicketQuery::default()
        };
        let at = SortValue::At(chrono::DateTime::from_timestamp_nanos(
            1_700_000_000_123_456_789,
        ));
        let position = Position { value: at, id: 7 };
        let cursor = cursor_for(&by_creation, AGENT, position);
        let continued = parse(TicketQuery {
            paging: Paging {
                cursor: Some(&cursor),
                ..Paging::default()
            },
            ..by_creation
        })
        .expect("the same query");
        assert_eq!(continued.page.start(), Start::After(position));
        assert_eq!(continued.page.page(), None);
        // `count` is not part of the query: asking it mid-walk is fine.
        assert!(
            parse(TicketQuery {
                paging: Paging {
                    cursor: Some(&cursor),
                    count: Some("true"),
                    ..Paging::default()
                },
                ..by_creation
            })
            .is_ok()
        );

        let other_queries = [
            TicketQuery {
                status: Some("RESOLVED"),
                ..by_creation
            },
            TicketQuery {
                direction: Some("desc"),
                ..by_creation
            },
            TicketQuery {
                sort: Some("updatedAt"),
                ..by_creation
            },
            TicketQuery {
                q: Some("printer"),
                ..by_creation
            },
            TicketQuery {
                breached: Some("true"),
                ..by_creation
            },
            TicketQuery {
                priority: Some("HIGH"),
                ..by_creation
            },
            TicketQuery {
                tag: Some("vip"),
                ..by_creation
            },
            TicketQuery {
                assignee: Some("me"),
                ..by_creation
            },
            TicketQuery {
                paging: paging(None, Some("21")),
                ..by_creation
            },
        ];
        for other in other_queries {
            let refused = parse(TicketQuery {
                paging: Paging {
                    cursor: Some(&cursor),
                    ..other.paging
                },
                ..other
            })
            .expect_err("another query");
            assert_eq!(refused.field, "cursor");
        }
        let customer = Actor {
            id: UserId(9),
            role: Role::Customer,
        };
        let by_another_caller = ListTickets::parse(
            TicketQuery {
                paging: Paging {
                    cursor: Some(&cursor),
                    ..Paging::default()
                },
                ..by_creation
            },
            customer,
            &key(),
        );
        assert_eq!(by_another_caller.map_err(|e| e.field), Err("cursor"));
        let with_a_page = parse(TicketQuery {
            paging: Paging {
                cursor: Some(&cursor),
                page: Some("1"),
                ..Paging::default()
            },
            ..by_creation
        });
        assert_eq!(with_a_page.map_err(|e| e.field), Err("cursor"));
    }

    #[test]
    fn every_sort_holds_exactly_the_values_of_its_field() {
        let at = SortValue::At(chrono::DateTime::from_timestamp_nanos(0));
        let values = [
            SortValue::Id,
            at,
            SortValue::Unset,
            SortValue::Status(TicketStatus::Replied),
            SortValue::Priority(Priority::High),
        ];
        for field in SortField::ALL {
            let held: Vec<usize> = (0..values.len())
                .filter(|&i| field.holds(values[i]))
                .collect();
            let expected = match field {
                SortField::TicketId => vec![0],
                SortField::CreatedAt | SortField::UpdatedAt | SortField::ResolutionDueAt => vec![1],
                SortField::ResolvedAt => vec![1, 2],
                SortField::Status => vec![3],
                SortField::Priority => vec![4],
            };
            assert_eq!(held, expected, "{field:?}");
        }
    }

    #[test]
    fn a_page_knows_whether_another_follows() {
        let request = PageRequest::new(1, 2).expect("valid");
        let full = Page::of_rows(vec![1, 2, 3], request, |&id| Position::after_id(id), None);
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next, Some(Position::after_id(2)));
        let last = Page::of_rows(vec![1, 2], request, |&id| Position::after_id(id), Some(2));
        assert_eq!(
            (last.items.len(), last.next, last.total),
            (2, None, Some(2))
        );
        let empty = Page::of_rows(
            Vec::<i64>::new(),
            request,
            |&id| Position::after_id(id),
            None,
        );
        assert_eq!(empty.next, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn page_and_limit_accept_exactly_their_ranges(page in "[0-9]{1,8}|[-+]?[0-9a-z ]{0,4}", limit in "[0-9]{1,4}|[-+]?[0-9a-z ]{0,4}") {
            let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let limit_ok = plain(&limit) && limit.parse::<u32>().is_ok_and(|l| (1..=MAX_LIMIT).contains(&l));
            let page_ok = plain(&page) && page.parse::<u64>().is_ok_and(|p| {
                p >= 1 && limit_ok && p * u64::from(limit.parse::<u32>().unwrap_or(0)) <= u64::from(MAX_PAGE_DEPTH)
            });
            let parsed = PageRequest::parse(paging(Some(&page), Some(&limit)), &key(), "q", SortField::TicketId);
            prop_assert_eq!(parsed.is_ok(), page_ok && limit_ok);
        }

        #[test]
        fn pages_of_one_limit_tile_the_list_without_gap_or_overlap(
            (limit, page) in (1u32..=MAX_LIMIT).prop_flat_map(|limit| (Just(limit), 1..MAX_PAGE_DEPTH / limit))
        ) {
            // Page `page` covers rows [offset, offset + limit); the next page
            // starts exactly where it ends, and the first starts at row 0.
            let this = PageRequest::new(page, limit).expect("in range");
            let next = PageRequest::new(page + 1, limit).expect("in range");
            let first = PageRequest::new(1, limit).expect("in range");
            prop_assert_eq!(first.offset(), 0);
            prop_assert_eq!(next.offset(), this.offset() + u64::from(limit));
        }

        #[test]
        fn sort_accepts_exactly_the_seven_field_names(raw in "[a-zA-Z]{0,12}|resolutionDueAt|priority") {
            let names = ["ticketId", "createdAt", "updatedAt", "resolvedAt", "status", "priority", "resolutionDueAt"];
            let expected = names.contains(&raw.as_str());
            let parsed = raw.parse::<SortField>();
            prop_assert_eq!(parsed.is_ok(), expected);
            if let Ok(field) = parsed {
                prop_assert_eq!(field.as_str(), raw.as_str());
            }
        }
    }
}
