//! A list of tickets: its filters, its sort and direction, parsed from the
//! raw values a request carries, and who may filter by what.

use std::str::FromStr;

use crate::audience::Audience;
use crate::cursor::{CursorKey, Position, SortValue};
use crate::entities::Ticket;
use crate::ids::UserId;
use crate::paging::{PageRequest, Paging, caller, parse_flag};
use crate::refusal::Refusal;
use crate::roles::Actor;
use crate::search::SearchQuery;
use crate::values::{ValidationError, parse_id};
use crate::workflow::{Priority, Tag, TicketStatus};

/// The ticket fields a list may be sorted by (named as the tickets' fields
/// are in every door's query strings).
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
            id: ticket.id.0,
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
            AssigneeFilter::Me => Some(actor.id()),
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
        let sort = request.sort;
        request.page = PageRequest::parse(query.paging, key, &request.query(actor), |value| {
            sort.holds(value)
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::Start;
    use crate::roles::test_actors::{AGENT, OWNER};
    use proptest::prelude::*;

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
        let (customer, agent) = (OWNER, AGENT);
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
        assert_eq!(AssigneeFilter::Me.user(agent), Some(agent.id()));
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
        let customer = OWNER;
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

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
