//! Paging: which page of a list a request asks for (by number, or after
//! the row a cursor names), and the page a store answers. Every list is
//! paged the same way; a cursor is sealed for the one query, caller and
//! page size it came from.

use crate::cursor::{CursorKey, Position, QueryBinding, SortValue};
use crate::ids::TicketId;
use crate::roles::Actor;
use crate::values::ValidationError;

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
    /// paging), whose rows are ordered by a key whose values `fits` says;
    /// a cursor must have been made for that same query and limit.
    pub(crate) fn parse(
        raw: Paging<'_>,
        key: &CursorKey,
        query: &str,
        fits: impl Fn(SortValue) -> bool,
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
                if !fits(position.value) {
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
                        "reaches past row {MAX_PAGE_DEPTH} (page x limit); to go deeper, follow the cursor of the page before"
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
    /// The same page (position, total) with each item made into another.
    pub fn map<U>(self, each: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(each).collect(),
            next: self.next,
            total: self.total,
        }
    }

    /// The same page with its items made into others all at once (one
    /// query for all of them, say), or why not.
    pub fn try_map_items<U, E>(
        self,
        all: impl FnOnce(Vec<T>) -> Result<Vec<U>, E>,
    ) -> Result<Page<U>, E> {
        Ok(Page {
            items: all(self.items)?,
            next: self.next,
            total: self.total,
        })
    }

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

pub(crate) fn parse_number(
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

/// `true` or `false`, exactly.
pub(crate) fn parse_flag(field: &'static str) -> impl Fn(&str) -> Result<bool, ValidationError> {
    move |raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValidationError::new(field, "must be true or false")),
    }
}

/// Who asks, as a cursor's query names them: a cursor serves only its
/// caller, in the role it had (`assignee=me` means them, and a customer's
/// list is their own).
pub(crate) fn caller(actor: Actor) -> String {
    format!("{}:{}", actor.id().0, actor.role().as_str())
}

/// Whether a position is one of a list ordered by id alone.
pub(crate) fn by_id(value: SortValue) -> bool {
    value == SortValue::Id
}

/// The lists of one ticket's records, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRecords {
    Replies,
    Events,
}

impl TicketRecords {
    fn as_str(self) -> &'static str {
        match self {
            TicketRecords::Replies => "replies",
            TicketRecords::Events => "events",
        }
    }
}

impl PageRequest {
    /// The paging of a page of `list` of `ticket` as `actor` sees it: a
    /// cursor continues only that list, of that ticket, for that caller.
    pub fn of_ticket_records(
        raw: Paging<'_>,
        key: &CursorKey,
        list: TicketRecords,
        ticket: TicketId,
        actor: Actor,
    ) -> Result<Self, ValidationError> {
        let query = format!("{}|{ticket}|{}", list.as_str(), caller(actor));
        Self::parse(raw, key, &query, by_id)
    }
}

impl PageRequest {
    /// The paging of a page of one webhook endpoint's delivery attempts,
    /// oldest first: a cursor continues only that endpoint's list, for
    /// that caller.
    pub fn of_webhook_deliveries(
        raw: Paging<'_>,
        key: &CursorKey,
        endpoint: i64,
        actor: Actor,
    ) -> Result<Self, ValidationError> {
        let query = format!("webhook-deliveries|{endpoint}|{}", caller(actor));
        Self::parse(raw, key, &query, by_id)
    }

    /// The paging of a page of the outbox's messages, oldest first: a
    /// cursor continues only the list of that filter, for that caller.
    pub fn of_outbox(
        raw: Paging<'_>,
        key: &CursorKey,
        filter: crate::OutboxFilter,
        actor: Actor,
    ) -> Result<Self, ValidationError> {
        let query = format!("outbox|{}|{}", filter.key(), caller(actor));
        Self::parse(raw, key, &query, by_id)
    }

    /// The paging of a page of held inbound mail, newest first: a cursor
    /// continues only that list, for that caller.
    pub fn of_held(
        raw: Paging<'_>,
        key: &CursorKey,
        actor: Actor,
    ) -> Result<Self, ValidationError> {
        Self::parse(raw, key, &format!("held|{}", caller(actor)), by_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::roles::Role;
    use crate::roles::test_actors::{AGENT, OWNER};
    use proptest::prelude::*;

    fn key() -> CursorKey {
        CursorKey::derive(b"the test secret, thirty-two bytes long")
    }

    fn paging<'a>(page: Option<&'a str>, limit: Option<&'a str>) -> Paging<'a> {
        Paging {
            page,
            limit,
            ..Paging::default()
        }
    }

    #[test]
    fn page_and_limit_are_plain_digits_without_a_sign() {
        for signed in ["+2", "-2", " 2", "2 ", "0x2", "²"] {
            let page = PageRequest::parse(paging(Some(signed), None), &key(), "q", by_id);
            assert_eq!(page.map_err(|e| e.field), Err("page"), "page {signed:?}");
            let limit = PageRequest::parse(paging(None, Some(signed)), &key(), "q", by_id);
            assert_eq!(limit.map_err(|e| e.field), Err("limit"), "limit {signed:?}");
        }
        let plain = PageRequest::parse(paging(Some("2"), Some("30")), &key(), "q", by_id);
        assert_eq!(plain.map(|p| (p.page(), p.limit())), Ok((Some(2), 30)));
    }

    #[test]
    fn counting_asks_for_the_total_of_the_same_page() {
        let page = PageRequest::new(3, 10).expect("valid");
        assert!(!page.counts());
        let counted = page.counting();
        assert!(counted.counts());
        assert_eq!(
            (counted.page(), counted.limit(), counted.binding()),
            (page.page(), page.limit(), page.binding())
        );
    }

    #[test]
    fn a_cursors_page_starts_after_its_row_and_a_numbered_page_after_none() {
        let numbered =
            PageRequest::parse(paging(Some("2"), Some("5")), &key(), "q", by_id).expect("valid");
        assert_eq!(numbered.after(), None);
        assert_eq!(numbered.offset(), 5);
        let position = Position::after_id(41);
        let cursor = key().seal(numbered.binding(), position);
        let raw = Paging {
            cursor: Some(&cursor),
            limit: Some("5"),
            ..Paging::default()
        };
        let continued = PageRequest::parse(raw, &key(), "q", by_id).expect("same query");
        assert_eq!(continued.after(), Some(position));
        assert_eq!(continued.start(), Start::After(position));
        assert_eq!(continued.page(), None);
        assert_eq!(continued.offset(), 0);
        let elsewhere = PageRequest::parse(raw, &key(), "other", by_id);
        assert_eq!(elsewhere.map_err(|e| e.field), Err("cursor"));
        let unfit = PageRequest::parse(raw, &key(), "q", |_| false);
        assert_eq!(unfit.map_err(|e| e.field), Err("cursor"));
    }

    #[test]
    fn a_records_cursor_continues_only_its_list_its_ticket_and_its_caller() {
        let first = PageRequest::of_ticket_records(
            Paging::default(),
            &key(),
            TicketRecords::Replies,
            TicketId(1),
            AGENT,
        )
        .expect("valid");
        let cursor = key().seal(first.binding(), Position::after_id(9));
        let raw = Paging {
            cursor: Some(&cursor),
            ..Paging::default()
        };
        let next = |list, ticket, actor| {
            PageRequest::of_ticket_records(raw, &key(), list, ticket, actor)
                .map(PageRequest::after)
                .map_err(|e| e.field)
        };
        assert_eq!(
            next(TicketRecords::Replies, TicketId(1), AGENT),
            Ok(Some(Position::after_id(9)))
        );
        let other_agent = Actor::for_tests(UserId(77), Role::SupportAgent);
        let promoted = Actor::for_tests(AGENT.id(), Role::Admin);
        for (list, ticket, actor) in [
            (TicketRecords::Events, TicketId(1), AGENT),
            (TicketRecords::Replies, TicketId(2), AGENT),
            (TicketRecords::Replies, TicketId(1), other_agent),
            (TicketRecords::Replies, TicketId(1), promoted),
            (TicketRecords::Replies, TicketId(1), OWNER),
        ] {
            assert_eq!(
                next(list, ticket, actor),
                Err("cursor"),
                "{list:?} {ticket} {actor:?}"
            );
        }
    }

    #[test]
    fn a_held_mail_cursor_continues_only_that_list_for_its_caller() {
        let first = PageRequest::of_held(Paging::default(), &key(), AGENT).expect("valid");
        let cursor = key().seal(first.binding(), Position::after_id(9));
        let raw = Paging {
            cursor: Some(&cursor),
            ..Paging::default()
        };
        let next = |actor| {
            PageRequest::of_held(raw, &key(), actor)
                .map(PageRequest::after)
                .map_err(|e| e.field)
        };
        assert_eq!(next(AGENT), Ok(Some(Position::after_id(9))));
        let other_agent = Actor::for_tests(UserId(77), Role::SupportAgent);
        assert_eq!(next(other_agent), Err("cursor"));
        let outbox = PageRequest::of_outbox(raw, &key(), crate::OutboxFilter::default(), AGENT);
        assert_eq!(outbox.map_err(|e| e.field), Err("cursor"));
    }

    #[test]
    fn a_records_cursor_must_name_its_row_by_id_alone() {
        let first = PageRequest::of_ticket_records(
            Paging::default(),
            &key(),
            TicketRecords::Events,
            TicketId(1),
            AGENT,
        )
        .expect("valid");
        let next = |position| {
            let cursor = key().seal(first.binding(), position);
            let raw = Paging {
                cursor: Some(&cursor),
                ..Paging::default()
            };
            PageRequest::of_ticket_records(raw, &key(), TicketRecords::Events, TicketId(1), AGENT)
                .map(PageRequest::after)
                .map_err(|e| e.field)
        };
        assert_eq!(next(Position::after_id(9)), Ok(Some(Position::after_id(9))));
        let by_date = Position {
            value: SortValue::Unset,
            id: 9,
        };
        assert_eq!(next(by_date), Err("cursor"));
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
            let refused = PageRequest::parse(paging(Some(page), Some(limit)), &key(), "q", by_id)
                .expect_err("too deep");
            assert_eq!(refused.field, "page");
            assert!(refused.reason.contains("cursor"), "{refused:?}");
        }
        let deepest = PageRequest::parse(paging(Some("500"), Some("20")), &key(), "q", by_id);
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
                by_id,
            )
        };
        assert_eq!(with("true").map(PageRequest::counts), Ok(true));
        assert_eq!(with("false").map(PageRequest::counts), Ok(false));
        assert_eq!(with("1").map_err(|e| e.field), Err("count"));
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
            let parsed = PageRequest::parse(paging(Some(&page), Some(&limit)), &key(), "q", by_id);
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
    }
}
