//! List requests: paging, sorting and filters, parsed from raw query values.
//!
//! Query parameters arrive as optional strings; a missing one takes its
//! default and a present but bad one is a [`ValidationError`].

use std::str::FromStr;

use crate::roles::{Actor, Role, TicketStatus, UserId};
use crate::rules::{Audience, Refusal};
use crate::search::SearchQuery;
use crate::values::{ValidationError, parse_id};
use crate::workflow::{Priority, Tag};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Pages past this would only ask the database to skip billions of rows.
pub const MAX_PAGE: u32 = 1_000_000;

/// One page of a list: `page >= 1`, `limit` in `1..=100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl PageRequest {
    pub fn new(page: u32, limit: u32) -> Result<Self, ValidationError> {
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ValidationError::new(
                "page",
                format!("must be an integer from 1 to {MAX_PAGE}"),
            ));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be an integer from 1 to {MAX_LIMIT}"),
            ));
        }
        Ok(Self { page, limit })
    }

    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Self, ValidationError> {
        let defaults = Self::default();
        let page = parse_number("page", page, defaults.page, MAX_PAGE)?;
        let limit = parse_number("limit", limit, defaults.limit, MAX_LIMIT)?;
        Self::new(page, limit)
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn limit(self) -> u32 {
        self.limit
    }

    /// How many rows come before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.limit)
    }
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
        // Plain digits only: `u32::from_str` would also take a leading `+`.
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse::<u32>().map_err(|_| invalid())
        }
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
    pub page: Option<&'a str>,
    pub limit: Option<&'a str>,
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
    /// Parses the raw query values.
    pub fn parse(query: TicketQuery<'_>) -> Result<Self, ValidationError> {
        Ok(Self {
            page: PageRequest::parse(query.page, query.limit)?,
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
        })
    }
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
        page: Option<&str>,
        limit: Option<&str>,
        role: Option<&str>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            page: PageRequest::parse(page, limit)?,
            role: role.map(str::parse).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn absent_parameters_take_the_documented_defaults() {
        let request = ListTickets::parse(TicketQuery::default()).expect("defaults");
        assert_eq!(request.page.page(), 1);
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
        let field = |query: TicketQuery| ListTickets::parse(query).err().map(|e| e.field);
        let q = TicketQuery::default;
        assert_eq!(
            field(TicketQuery {
                page: Some("0"),
                ..q()
            }),
            Some("page")
        );
        assert_eq!(
            field(TicketQuery {
                limit: Some("101"),
                ..q()
            }),
            Some("limit")
        );
        assert_eq!(
            field(TicketQuery {
                limit: Some("x"),
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
            ListUsers::parse(None, None, Some("ROOT"))
                .err()
                .map(|e| e.field),
            Some("role")
        );
    }

    #[test]
    fn the_workflow_filters_parse_their_values() {
        let request = ListTickets::parse(TicketQuery {
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
            ListTickets::parse(TicketQuery {
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
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn page_and_limit_accept_exactly_their_ranges(page in "[0-9]{1,8}|[-+]?[0-9a-z ]{0,4}", limit in "[0-9]{1,4}|[-+]?[0-9a-z ]{0,4}") {
            let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let page_ok = plain(&page) && page.parse::<u32>().is_ok_and(|p| (1..=MAX_PAGE).contains(&p));
            let limit_ok = plain(&limit) && limit.parse::<u32>().is_ok_and(|l| (1..=MAX_LIMIT).contains(&l));
            let parsed = PageRequest::parse(Some(&page), Some(&limit));
            prop_assert_eq!(parsed.is_ok(), page_ok && limit_ok);
        }

        #[test]
        fn pages_of_one_limit_tile_the_list_without_gap_or_overlap(page in 1u32..MAX_PAGE, limit in 1u32..=MAX_LIMIT) {
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
