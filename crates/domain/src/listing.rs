//! List requests: paging, sorting and filters, parsed from raw query values.
//!
//! Query parameters arrive as optional strings; a missing one takes its
//! default and a present but bad one is a [`ValidationError`].

use std::str::FromStr;

use crate::roles::{Role, TicketStatus};
use crate::values::ValidationError;

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
}

impl SortField {
    pub const ALL: [SortField; 5] = [
        SortField::TicketId,
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::ResolvedAt,
        SortField::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::TicketId => "ticketId",
            SortField::CreatedAt => "createdAt",
            SortField::UpdatedAt => "updatedAt",
            SortField::ResolvedAt => "resolvedAt",
            SortField::Status => "status",
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
                    "must be one of ticketId, createdAt, updatedAt, resolvedAt, status",
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

/// A request for a page of tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListTickets {
    pub page: PageRequest,
    pub sort: SortField,
    pub direction: Direction,
    pub status: Option<TicketStatus>,
}

impl ListTickets {
    /// Parses the raw query values; `None` means the parameter was absent.
    pub fn parse(
        page: Option<&str>,
        limit: Option<&str>,
        sort: Option<&str>,
        direction: Option<&str>,
        status: Option<&str>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            page: PageRequest::parse(page, limit)?,
            sort: sort.map(str::parse).transpose()?.unwrap_or_default(),
            direction: direction.map(str::parse).transpose()?.unwrap_or_default(),
            status: status.map(str::parse).transpose()?,
        })
    }
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
        let request = ListTickets::parse(None, None, None, None, None).expect("defaults");
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
        let field = |r: Result<ListTickets, ValidationError>| r.err().map(|e| e.field);
        assert_eq!(
            field(ListTickets::parse(Some("0"), None, None, None, None)),
            Some("page")
        );
        assert_eq!(
            field(ListTickets::parse(None, Some("101"), None, None, None)),
            Some("limit")
        );
        assert_eq!(
            field(ListTickets::parse(None, Some("x"), None, None, None)),
            Some("limit")
        );
        assert_eq!(
            field(ListTickets::parse(None, None, Some("body"), None, None)),
            Some("sort")
        );
        assert_eq!(
            field(ListTickets::parse(None, None, None, Some("down"), None)),
            Some("direction")
        );
        assert_eq!(
            field(ListTickets::parse(None, None, None, None, Some("OPEN"))),
            Some("status")
        );
        assert_eq!(
            field(ListUsers::parse(None, None, Some("ROOT")).map(|_| ListTickets::default())),
            Some("role")
        );
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
        fn sort_accepts_exactly_the_five_field_names(raw in "[a-zA-Z]{0,12}") {
            let expected = ["ticketId", "createdAt", "updatedAt", "resolvedAt", "status"].contains(&raw.as_str());
            let parsed = raw.parse::<SortField>();
            prop_assert_eq!(parsed.is_ok(), expected);
            if let Ok(field) = parsed {
                prop_assert_eq!(field.as_str(), raw.as_str());
            }
        }
    }
}
