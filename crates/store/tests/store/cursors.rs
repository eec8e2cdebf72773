//! Keyset cursors at the store's boundary, on both engines: a walk that
//! follows each page's `next` (sealed and opened exactly as the API does
//! with `nextCursor`) returns every matching record once, in the list's
//! order, ties broken by id in the same direction, and ends on a page whose
//! `next` is `None`, never on an empty one; it answers the same pages as
//! walking by page number, whatever the sort, direction, filters and limit,
//! and keeps its rows when tickets are created mid-walk.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, atomic};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use domain::ReplyKind;
use domain::TicketRecords;
use domain::sla::breach_time;
use domain::ticket_list::TicketQuery;
use domain::{
    CursorKey, Direction, DueTimes, Event, EventKind, ListTickets, ListUsers, NewEvent, Page,
    PageRequest, Paging, Position, Priority, Reply, ReplyBody, SeenTicket, SortField, TagSet,
    Ticket, TicketChange, TicketId, TicketStatus, User,
};
use store::SeedTicket;
use testkit::{Backend, both_backends};

use super::*;

fn key() -> CursorKey {
    CursorKey::derive(b"the cursor tests' secret, thirty-two bytes or more")
}

/// One request of a walk: its raw paging, answered with the request as
/// parsed and its page.
type Lister<'a, T> = dyn FnMut(Paging<'_>) -> (PageRequest, Page<T>) + 'a;

/// What every page of a walk must be: at most `limit` records, none only
/// when the whole list is empty (`first` page), full when another follows,
/// `next` right after its last record, and no total unless asked.
fn check_page<T>(page: &Page<T>, limit: u32, first: bool, position_of: &dyn Fn(&T) -> Position) {
    assert!(page.items.len() <= limit as usize, "more than the limit");
    assert!(
        first || !page.items.is_empty(),
        "an empty page after the first: the page before it should have had no next"
    );
    assert_eq!(page.total, None, "counted without being asked");
    if let Some(next) = page.next {
        assert_eq!(
            page.items.len(),
            limit as usize,
            "a page with a next is full"
        );
        assert_eq!(
            Some(next),
            page.items.last().map(position_of),
            "next is the last record's position"
        );
    }
}

/// Every page, from the first, following each page's `next` as a client
/// follows `nextCursor`: sealed with the key for the request's query, and
/// passed back as its `cursor`.
fn follow<T>(
    limit: u32,
    list: &mut Lister<'_, T>,
    position_of: &dyn Fn(&T) -> Position,
) -> Vec<Vec<T>> {
    let limit_text = limit.to_string();
    let mut cursor: Option<String> = None;
    let mut last: Option<Position> = None;
    let mut pages = Vec::new();
    loop {
        let (request, page) = list(Paging {
            limit: Some(&limit_text),
            cursor: cursor.as_deref(),
            ..Paging::default()
        });
        let first = pages.is_empty();
        assert_eq!(
            request.page(),
            first.then_some(1),
            "only the first page has a number"
        );
        check_page(&page, limit, first, position_of);
        let next = page.next;
        pages.push(page.items);
        match next {
            None => return pages,
            Some(position) => {
                assert_ne!(Some(position), last, "the cursor did not move");
                last = Some(position);
                cursor = Some(key().seal(request.binding(), position));
            }
        }
        assert!(pages.len() <= 500, "the walk does not end");
    }
}

/// Every page by number, 1, 2, 3..., until one says none follows.
fn by_numbers<T>(
    limit: u32,
    list: &mut Lister<'_, T>,
    position_of: &dyn Fn(&T) -> Position,
) -> Vec<Vec<T>> {
    let limit_text = limit.to_string();
    let mut pages = Vec::new();
    for number in 1u32.. {
        let number_text = number.to_string();
        let (_, page) = list(Paging {
            page: Some(&number_text),
            limit: Some(&limit_text),
            ..Paging::default()
        });
        check_page(&page, limit, number == 1, position_of);
        let last = page.next.is_none();
        pages.push(page.items);
        if last {
            break;
        }
        assert!(number <= 500, "the pages do not end");
    }
    pages
}

/// Walks a list both ways at `limit`: the same pages by cursor and by
/// number. Returns them.
fn walk<T, K: PartialEq + std::fmt::Debug>(
    limit: u32,
    list: &mut Lister<'_, T>,
    position_of: &dyn Fn(&T) -> Position,
    id_of: impl Fn(&T) -> K,
) -> Vec<Vec<K>> {
    let ids = |pages: Vec<Vec<T>>| -> Vec<Vec<K>> {
        pages
            .into_iter()
            .map(|page| page.iter().map(&id_of).collect())
            .collect()
    };
    let followed = ids(follow(limit, list, position_of));
    let numbered = ids(by_numbers(limit, list, position_of));
    assert_eq!(
        followed, numbered,
        "cursor pages and numbered pages differ (limit {limit})"
    );
    followed
}

/// A ticket list asked by `actor`, with the raw values of `query`.
fn ticket_lister<'a>(
    store: &'a Store,
    actor: Actor,
    query: TicketQuery<'a>,
) -> impl FnMut(Paging<'_>) -> (PageRequest, Page<Ticket>) + 'a {
    move |paging: Paging<'_>| {
        let request = ListTickets::parse(TicketQuery { paging, ..query }, actor, &key())
            .expect("a valid request, its cursor this server's");
        let page = store.list_tickets(actor, &request).expect("list tickets");
        (request.page, as_tickets(page))
    }
}

/// A page of tickets as seen, as the tickets it shows: the walks compare
/// the tickets' fields, not the breach verdict taken at the read.
fn as_tickets(page: Page<SeenTicket>) -> Page<Ticket> {
    Page {
        items: page.items.into_iter().map(|seen| seen.ticket).collect(),
        next: page.next,
        total: page.total,
    }
}

/// The ticket ids of each page of `query`'s walk at `limit`, the same by
/// cursor and by number.
fn ticket_pages(
    store: &Store,
    actor: Actor,
    query: TicketQuery<'_>,
    limit: u32,
) -> Vec<Vec<TicketId>> {
    let sort = sort_of(&query);
    walk(
        limit,
        &mut ticket_lister(store, actor, query),
        &|ticket: &Ticket| sort.position_of(ticket),
        |ticket| ticket.id,
    )
}

fn sort_of(query: &TicketQuery<'_>) -> SortField {
    query
        .sort
        .map_or(SortField::TicketId, |sort| sort.parse().expect("a sort"))
}

/// `tickets` in the order a list sorted by `sort` in `direction` shows
/// them, worked out here from their fields: by the field (`status`
/// alphabetically, `priority` by rank), ties by id, all in `direction`;
/// for `resolvedAt` the resolved tickets so, then the unresolved by id in
/// `direction`.
fn expected_order(tickets: &[Ticket], sort: SortField, direction: Direction) -> Vec<TicketId> {
    let by_field = |a: &Ticket, b: &Ticket| -> Ordering {
        match sort {
            SortField::TicketId => Ordering::Equal,
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::ResolvedAt => a.resolved_at.cmp(&b.resolved_at),
            SortField::Status => a.status.as_str().cmp(b.status.as_str()),
            SortField::Priority => a.priority.rank().cmp(&b.priority.rank()),
            SortField::ResolutionDueAt => a.due.resolution.cmp(&b.due.resolution),
        }
    };
    let in_direction = |a: &Ticket, b: &Ticket| {
        let order = by_field(a, b).then(a.id.cmp(&b.id));
        match direction {
            Direction::Ascending => order,
            Direction::Descending => order.reverse(),
        }
    };
    let (mut first, mut last): (Vec<&Ticket>, Vec<&Ticket>) = tickets
        .iter()
        .partition(|ticket| sort != SortField::ResolvedAt || ticket.resolved_at.is_some());
    first.sort_by(|a, b| in_direction(a, b));
    last.sort_by(|a, b| in_direction(a, b));
    first.iter().chain(&last).map(|ticket| ticket.id).collect()
}

fn query(sort: SortField, direction: Direction) -> TicketQuery<'static> {
    TicketQuery {
        sort: Some(sort.as_str()),
        direction: Some(direction.as_str()),
        ..TicketQuery::default()
    }
}

const DIRECTIONS: [Direction; 2] = [Direction::Ascending, Direction::Descending];

/// A whole second, three days ago: seeded times are offsets from it.
fn base_time() -> DateTime<Utc> {
    (Utc::now() - TimeDelta::days(3)).trunc_subsecs(0)
}

fn micros(n: i64) -> TimeDelta {
    TimeDelta::microseconds(n)
}

/// An unattended ticket to load as given, due a day after it opened.
fn seed_ticket(author: Actor, body: String, created_at: DateTime<Utc>) -> SeedTicket {
    SeedTicket {
        author: author.id(),
        subject: None,
        body,
        status: TicketStatus::Unattended,
        created_at,
        updated_at: created_at,
        resolved_at: None,
        priority: Priority::Normal,
        assignee: None,
        tags: TagSet::default(),
        first_response_at: None,
        due: DueTimes {
            first_response: created_at + TimeDelta::hours(1),
            resolution: created_at + TimeDelta::days(1),
        },
        replies: Vec::new(),
        events: vec![NewEvent {
            kind: EventKind::Created {},
            actor: author.id(),
            at: created_at,
        }],
    }
}

/// Loads `count` tickets whose every sort field takes only a few values,
/// handed out across the ids so that no field follows the id order: every
/// sort has ties, and `resolvedAt` is unset on the unresolved ones. The
/// times have zero, three and six decimals, so they also order right as
/// SQLite's text. Two customers' tickets, some tagged, assigned, breached,
/// or with the word "printer". Returns them as staff see them, by id.
fn seed_ties(store: &Store, cast: &Cast, count: usize) -> Vec<Ticket> {
    let base = base_time();
    let created = [0, 1, 500_000, 1_000_000, 1_250_000];
    let batch: Vec<SeedTicket> = (0..count)
        .map(|i| {
            let author = if i % 4 == 2 {
                cast.other_customer
            } else {
                cast.customer
            };
            let body = match i % 3 {
                0 => format!("printer on fire {i}"),
                _ => format!("laptop broken {i}"),
            };
            let mut ticket = seed_ticket(author, body, base + micros(created[(i * 3) % 5]));
            ticket.updated_at = base + TimeDelta::hours(1 + ((i * 5) % 3) as i64);
            ticket.status = TicketStatus::ALL[(i * 2 + i / 4) % 3];
            ticket.priority = Priority::ALL[(i * 3 + i / 7) % 4];
            ticket.due.resolution = base + TimeDelta::days([1, 2, 5, 6][(i * 7) % 4]);
            if ticket.status != TicketStatus::Unattended {
                ticket.first_response_at = Some(ticket.created_at + TimeDelta::minutes(30));
                ticket.assignee = (i % 7 < 4).then_some(cast.agent.id());
            }
            if ticket.status == TicketStatus::Resolved {
                ticket.resolved_at =
                    Some(base + TimeDelta::days(1) + micros([0, 250_000][(i / 4) % 2]));
            }
            let mut tags = Vec::new();
            if i % 3 == 1 {
                tags.push("vip");
            }
            if i % 5 == 0 {
                tags.push("billing");
            }
            ticket.tags = TagSet::parse(&tags).expect("valid tags");
            ticket
        })
        .collect();
    let ids: Vec<TicketId> = store
        .bulk_load_tickets(&batch)
        .expect("load")
        .into_iter()
        .map(TicketId)
        .collect();
    let all = all_tickets(store, cast.agent);
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), ids);
    all
}

/// Every ticket, as `actor` sees them, by id.
fn all_tickets(store: &Store, actor: Actor) -> Vec<Ticket> {
    let mut all = Vec::new();
    for number in 1.. {
        let request = ListTickets {
            page: PageRequest::new(number, 100).expect("valid"),
            ..ListTickets::default()
        };
        let page = store.list_tickets(actor, &request).expect("list");
        let page = as_tickets(page);
        all.extend(page.items);
        if page.next.is_none() {
            break;
        }
    }
    all
}

/// How many tickets share a value of `sort` with another.
fn tied(tickets: &[Ticket], sort: SortField) -> usize {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for ticket in tickets {
        *seen
            .entry(format!("{:?}", sort.position_of(ticket).value))
            .or_default() += 1;
    }
    seen.values().filter(|&&n| n > 1).sum()
}

both_backends!(
    every_sort_and_direction_walks_each_ticket_once_in_order,
    |db| {
        let store = db.store();
        let cast = cast(db);
        // 30 divides by 1, 2, 3, 5 and 6, so some walks end on a full page.
        let tickets = seed_ties(store, &cast, 30);
        for sort in SortField::ALL {
            if sort != SortField::TicketId {
                assert!(tied(&tickets, sort) >= 10, "{sort:?} has ties");
            }
            for direction in DIRECTIONS {
                let expected = expected_order(&tickets, sort, direction);
                for limit in 1..=7 {
                    let pages = ticket_pages(store, cast.agent, query(sort, direction), limit);
                    assert_eq!(
                        pages.len(),
                        tickets.len().div_ceil(limit as usize),
                        "{sort:?} {direction:?} limit {limit}: pages"
                    );
                    assert_eq!(
                        pages.concat(),
                        expected,
                        "{sort:?} {direction:?} limit {limit}"
                    );
                }
            }
        }
    }
);

/// Five resolved tickets (two resolved at one instant) and four unresolved,
/// their ids interleaved.
fn seed_resolution_boundary(store: &Store, cast: &Cast) -> Vec<Ticket> {
    let base = base_time();
    let resolved_at = [
        Some(3),
        None,
        Some(1),
        Some(2),
        None,
        Some(2),
        None,
        Some(0),
        None,
    ];
    let batch: Vec<SeedTicket> = resolved_at
        .iter()
        .enumerate()
        .map(|(i, resolved)| {
            let mut ticket = seed_ticket(cast.customer, format!("ticket {i}"), base);
            if let Some(hours) = resolved {
                ticket.status = TicketStatus::Resolved;
                ticket.resolved_at = Some(base + TimeDelta::hours(*hours));
                ticket.updated_at = base + TimeDelta::hours(*hours);
            }
            ticket
        })
        .collect();
    store.bulk_load_tickets(&batch).expect("load");
    all_tickets(store, cast.agent)
}

both_backends!(
    unresolved_tickets_follow_the_resolved_ones_across_pages,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let tickets = seed_resolution_boundary(store, &cast);
        let resolved: HashSet<TicketId> = tickets
            .iter()
            .filter(|ticket| ticket.resolved_at.is_some())
            .map(|ticket| ticket.id)
            .collect();
        let is_resolved = |id: &TicketId| resolved.contains(id);
        for direction in DIRECTIONS {
            let expected = expected_order(&tickets, SortField::ResolvedAt, direction);
            // Resolved first, then unresolved, in both directions.
            assert!(expected[..5].iter().all(is_resolved), "{direction:?}");
            assert!(!expected[5..].iter().any(is_resolved), "{direction:?}");
            let by_id = |pages: &[Vec<TicketId>]| pages.concat();
            for limit in 1..=10 {
                let pages = ticket_pages(
                    store,
                    cast.agent,
                    query(SortField::ResolvedAt, direction),
                    limit,
                );
                assert_eq!(by_id(&pages), expected, "{direction:?} limit {limit}");
            }
            // The boundary exactly at a page's end: the second page is the
            // unresolved tickets, from the first.
            let at_end = ticket_pages(
                store,
                cast.agent,
                query(SortField::ResolvedAt, direction),
                5,
            );
            assert_eq!(at_end, [expected[..5].to_vec(), expected[5..].to_vec()]);
            // The boundary inside a page, the last one full.
            let inside = ticket_pages(
                store,
                cast.agent,
                query(SortField::ResolvedAt, direction),
                3,
            );
            assert_eq!(
                inside,
                [
                    expected[..3].to_vec(),
                    expected[3..6].to_vec(),
                    expected[6..].to_vec()
                ]
            );
            assert!(inside[1][..2].iter().all(is_resolved) && !is_resolved(&inside[1][2]));
            // Only resolved tickets, exactly a page of them: no second page of
            // the (empty) unresolved walk.
            let only_resolved = TicketQuery {
                status: Some("RESOLVED"),
                ..query(SortField::ResolvedAt, direction)
            };
            assert_eq!(
                ticket_pages(store, cast.agent, only_resolved, 5),
                [expected[..5].to_vec()]
            );
            // Only unresolved tickets: the walk of the unresolved alone.
            let only_open = TicketQuery {
                status: Some("UNATTENDED"),
                ..query(SortField::ResolvedAt, direction)
            };
            for limit in [1, 2, 4] {
                assert_eq!(
                    ticket_pages(store, cast.agent, only_open, limit).concat(),
                    expected[5..],
                    "{direction:?} limit {limit}"
                );
            }
        }
    }
);

/// The ids of every ticket there is, by id.
fn every_ticket_id(store: &Store, actor: Actor) -> Vec<TicketId> {
    let by_id = |ticket: &Ticket| SortField::TicketId.position_of(ticket);
    let lister = &mut ticket_lister(store, actor, TicketQuery::default());
    follow(100, lister, &by_id)
        .concat()
        .iter()
        .map(|ticket| ticket.id)
        .collect()
}

/// How many tickets another thread creates while a list is walked.
const CREATED_DURING_A_WALK: usize = 40;

/// Sets its flag when dropped, a panic's unwinding included.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, atomic::Ordering::SeqCst);
    }
}

/// `tickets` strictly in `sort`'s order in `direction` (no repeats).
fn assert_strictly_ordered(tickets: &[Ticket], sort: SortField, direction: Direction) {
    let expected = expected_order(tickets, sort, direction);
    let got: Vec<TicketId> = tickets.iter().map(|ticket| ticket.id).collect();
    assert_eq!(got, expected, "{sort:?} {direction:?}: out of order");
}

both_backends!(a_walk_keeps_its_tickets_while_others_are_created, |db| {
    let store = db.store();
    let cast = cast(db);
    let limit = 3u32;
    for sort in [SortField::TicketId, SortField::CreatedAt] {
        for direction in DIRECTIONS {
            for i in 0..12 {
                open(store, cast.customer, &format!("before {i}"));
            }
            // Every ticket there is, earlier rounds' included.
            let existing = every_ticket_id(store, cast.agent);
            let created = Mutex::new(Vec::new());
            let made = AtomicUsize::new(0);
            let done = AtomicBool::new(false);
            let (seen, during) = std::thread::scope(|scope| {
                scope.spawn(|| {
                    for i in 0..CREATED_DURING_A_WALK {
                        if done.load(atomic::Ordering::SeqCst) {
                            break;
                        }
                        let id = open(store, cast.other_customer, &format!("during {i}")).id;
                        created.lock().expect("ids").push(id);
                        made.fetch_add(1, atomic::Ordering::SeqCst);
                    }
                });
                // Stops the creator however the walk ends.
                let _stop = Stop(&done);
                let start = made.load(atomic::Ordering::SeqCst);
                let walked = follow(
                    limit,
                    &mut |paging: Paging<'_>| {
                        // A ticket created since the last page, until the
                        // creator is through.
                        let then = made.load(atomic::Ordering::SeqCst);
                        let deadline = Instant::now() + Duration::from_secs(30);
                        while made.load(atomic::Ordering::SeqCst) == then
                            && then < CREATED_DURING_A_WALK
                        {
                            assert!(Instant::now() < deadline, "the creator stopped");
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        ticket_lister(store, cast.agent, query(sort, direction))(paging)
                    },
                    &|ticket: &Ticket| sort.position_of(ticket),
                );
                let during = made.load(atomic::Ordering::SeqCst) - start;
                (walked.concat(), during)
            });
            let created = created.into_inner().expect("ids");
            assert!(during >= 2, "tickets were created during the walk");
            let ids: Vec<TicketId> = seen.iter().map(|ticket| ticket.id).collect();
            let once: HashSet<TicketId> = ids.iter().copied().collect();
            assert_eq!(
                once.len(),
                ids.len(),
                "{sort:?} {direction:?}: a ticket twice"
            );
            for id in &existing {
                assert!(once.contains(id), "{sort:?} {direction:?}: {id} missed");
            }
            assert!(
                ids.iter()
                    .all(|id| existing.contains(id) || created.contains(id)),
                "only real tickets"
            );
            assert_strictly_ordered(&seen, sort, direction);
        }
    }
});

both_backends!(
    a_walk_under_interleaved_creations_shows_each_ticket_once,
    |db| {
        let store = db.store();
        let cast = cast(db);
        for sort in [SortField::TicketId, SortField::CreatedAt] {
            for direction in DIRECTIONS {
                let before: HashSet<TicketId> =
                    every_ticket_id(store, cast.agent).into_iter().collect();
                let existing: Vec<TicketId> = (0..7)
                    .map(|i| open(store, cast.customer, &format!("before {i}")).id)
                    .collect();
                let mut during = Vec::new();
                let seen = follow(
                    2,
                    &mut |paging: Paging<'_>| {
                        let page = ticket_lister(store, cast.agent, query(sort, direction))(paging);
                        during.push(open(store, cast.customer, "during").id);
                        page
                    },
                    &|ticket: &Ticket| sort.position_of(ticket),
                )
                .concat();
                let ids: Vec<TicketId> = seen.iter().map(|ticket| ticket.id).collect();
                let new_seen: Vec<TicketId> = ids
                    .iter()
                    .copied()
                    .filter(|id| !before.contains(id))
                    .collect();
                match direction {
                    // Newer tickets sort after the walk's position: every one
                    // created before the last page is on it or before it.
                    Direction::Ascending => {
                        let mut expected = existing.clone();
                        expected.extend(&during[..during.len() - 1]);
                        assert_eq!(new_seen, expected, "{sort:?} asc");
                    }
                    // Newer tickets sort before the first page's position.
                    Direction::Descending => {
                        let mut expected = existing.clone();
                        expected.reverse();
                        assert_eq!(new_seen, expected, "{sort:?} desc");
                    }
                }
                assert_strictly_ordered(&seen, sort, direction);
            }
        }
    }
);

both_backends!(filtered_walks_by_cursor_and_by_number_agree, |db| {
    let store = db.store();
    let walking = walking_store(db);
    let cast = cast(db);
    let tickets = seed_ties(store, &cast, 30);
    let now = Utc::now();
    let agent_id = cast.agent.id().0.to_string();
    type Filter<'a> = (
        &'a str,
        Actor,
        TicketQuery<'a>,
        Box<dyn Fn(&Ticket) -> bool + 'a>,
    );
    let tagged = |tag: &'static str| {
        move |ticket: &Ticket| {
            ticket
                .tags
                .as_ref()
                .expect("staff see tags")
                .iter()
                .any(|t| t.as_str() == tag)
        }
    };
    let breached = move |ticket: &Ticket| {
        breach_time(ticket.due, ticket.first_response_at, ticket.resolved_at)
            .is_some_and(|at| at < now)
    };
    let mut filters: Vec<Filter<'_>> = Vec::new();
    for status in TicketStatus::ALL {
        filters.push((
            status.as_str(),
            cast.agent,
            TicketQuery {
                status: Some(status.as_str()),
                ..TicketQuery::default()
            },
            Box::new(move |ticket: &Ticket| ticket.status == status),
        ));
    }
    for priority in Priority::ALL {
        filters.push((
            priority.as_str(),
            cast.agent,
            TicketQuery {
                priority: Some(priority.as_str()),
                ..TicketQuery::default()
            },
            Box::new(move |ticket: &Ticket| ticket.priority == priority),
        ));
    }
    let customer = cast.customer;
    let more: [Filter<'_>; 9] = [
        (
            "a customer's own",
            customer,
            TicketQuery::default(),
            Box::new(move |ticket: &Ticket| ticket.author == customer.id()),
        ),
        (
            "a customer's own, resolved",
            customer,
            TicketQuery {
                status: Some("RESOLVED"),
                ..TicketQuery::default()
            },
            Box::new(move |ticket: &Ticket| {
                ticket.author == customer.id() && ticket.status == TicketStatus::Resolved
            }),
        ),
        (
            "q",
            cast.agent,
            TicketQuery {
                q: Some("printer"),
                ..TicketQuery::default()
            },
            Box::new(|ticket: &Ticket| ticket.body.starts_with("printer")),
        ),
        (
            "a customer's q",
            customer,
            TicketQuery {
                q: Some("printer"),
                ..TicketQuery::default()
            },
            Box::new(move |ticket: &Ticket| {
                ticket.body.starts_with("printer") && ticket.author == customer.id()
            }),
        ),
        (
            "tag",
            cast.agent,
            TicketQuery {
                tag: Some("vip"),
                ..TicketQuery::default()
            },
            Box::new(tagged("vip")),
        ),
        (
            "assignee",
            cast.agent,
            TicketQuery {
                assignee: Some(&agent_id),
                ..TicketQuery::default()
            },
            Box::new(|ticket: &Ticket| ticket.assignee == Some(cast.agent.id())),
        ),
        (
            "unassigned",
            cast.agent,
            TicketQuery {
                assignee: Some("none"),
                ..TicketQuery::default()
            },
            Box::new(|ticket: &Ticket| ticket.assignee.is_none()),
        ),
        (
            "breached",
            cast.agent,
            TicketQuery {
                breached: Some("true"),
                ..TicketQuery::default()
            },
            Box::new(breached),
        ),
        (
            "tag and status",
            cast.agent,
            TicketQuery {
                tag: Some("vip"),
                status: Some("RESOLVED"),
                ..TicketQuery::default()
            },
            Box::new(move |ticket: &Ticket| {
                tagged("vip")(ticket) && ticket.status == TicketStatus::Resolved
            }),
        ),
    ];
    filters.extend(more);
    let sorts = [
        (SortField::TicketId, Direction::Ascending),
        (SortField::CreatedAt, Direction::Descending),
        (SortField::Priority, Direction::Ascending),
        (SortField::ResolvedAt, Direction::Descending),
        (SortField::Status, Direction::Descending),
    ];
    for (name, actor, filter, matches) in &filters {
        let matching: Vec<Ticket> = tickets.iter().filter(|t| matches(t)).cloned().collect();
        assert!(
            matching.len() >= 2 && matching.len() < tickets.len(),
            "{name}: the filter picks some ({})",
            matching.len()
        );
        for (sort, direction) in sorts {
            let expected = expected_order(&matching, sort, direction);
            for limit in [1, 2, 4] {
                let asked = TicketQuery {
                    sort: Some(sort.as_str()),
                    direction: Some(direction.as_str()),
                    ..*filter
                };
                // Whichever index the page is read along (see plans.rs).
                for (store, read) in [(store, "as chosen"), (&walking, "walked")] {
                    let pages = ticket_pages(store, *actor, asked, limit);
                    assert_eq!(
                        pages.concat(),
                        expected,
                        "{name} {sort:?} {direction:?} limit {limit}, {read}"
                    );
                }
            }
        }
    }
});

both_backends!(reply_event_and_user_walks_show_each_record_once, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "printer on fire");
    let mut public = Vec::new();
    let mut every = Vec::new();
    for i in 0..14 {
        let (actor, kind) = match i % 3 {
            0 => (cast.agent, ReplyKind::Public),
            1 => (cast.agent, ReplyKind::Internal),
            _ => (cast.customer, ReplyKind::Public),
        };
        let body = ReplyBody::parse(format!("reply {i}")).expect("valid reply");
        let reply = store
            .add_reply(actor, ticket.id, &body, kind)
            .expect("reply");
        if kind == ReplyKind::Public {
            public.push(reply.id);
        }
        every.push(reply.id);
        if i % 4 == 0 {
            let priority = Priority::ALL[(i / 4 + 2) % 4];
            let change = TicketChange {
                priority: Some(priority),
                ..TicketChange::default()
            };
            store
                .change_ticket(cast.agent, ticket.id, &change)
                .expect("triage");
        }
    }

    let records_page = |list: TicketRecords, actor: Actor, paging: Paging<'_>| {
        PageRequest::of_ticket_records(paging, &key(), list, ticket.id, actor)
            .expect("valid paging")
    };
    for (actor, expected) in [
        (cast.agent, &every),
        (cast.admin, &every),
        (cast.customer, &public),
    ] {
        for limit in 1..=5 {
            let pages = walk(
                limit,
                &mut |paging: Paging<'_>| {
                    let page = records_page(TicketRecords::Replies, actor, paging);
                    (
                        page,
                        store.list_replies(actor, ticket.id, page).expect("replies"),
                    )
                },
                &|reply: &Reply| Position::after_id(reply.id),
                |reply| (reply.id, reply.internal),
            );
            let ids: Vec<i64> = pages.concat().iter().map(|(id, _)| *id).collect();
            assert_eq!(&ids, expected, "{:?} limit {limit}", actor.role());
            if actor == cast.customer {
                assert!(
                    pages.concat().iter().all(|(_, internal)| !internal),
                    "a note shown to a customer"
                );
            }
        }
    }

    let whole_history = |actor: Actor| -> Vec<i64> {
        let page = store
            .list_events(actor, ticket.id, PageRequest::new(1, 100).expect("valid"))
            .expect("events");
        assert_eq!(page.next, None, "all in one page");
        page.items.iter().map(|event| event.id).collect()
    };
    let staff_history = whole_history(cast.agent);
    let customer_history = whole_history(cast.customer);
    assert!(
        staff_history.len() > customer_history.len(),
        "notes and assignments are staff's"
    );
    assert!(customer_history.len() > 10, "a long history");
    for (actor, expected) in [
        (cast.agent, &staff_history),
        (cast.customer, &customer_history),
    ] {
        for limit in 1..=4 {
            let pages = walk(
                limit,
                &mut |paging: Paging<'_>| {
                    let page = records_page(TicketRecords::Events, actor, paging);
                    (
                        page,
                        store.list_events(actor, ticket.id, page).expect("events"),
                    )
                },
                &|event: &Event| Position::after_id(event.id),
                |event| event.id,
            );
            assert_eq!(
                &pages.concat(),
                expected,
                "{:?} limit {limit}",
                actor.role()
            );
        }
    }

    let mut customers = vec![cast.customer.id().0, cast.other_customer.id().0];
    for i in 0..9 {
        let role = [Role::Customer, Role::SupportAgent, Role::Admin][i % 3];
        let user = actor(store, &format!("walker{i}"), role);
        if role == Role::Customer {
            customers.push(user.id().0);
        }
    }
    let users = store
        .list_users(
            cast.admin,
            &ListUsers {
                page: PageRequest::new(1, 100).expect("valid"),
                role: None,
            },
        )
        .expect("users");
    let everyone: Vec<i64> = users.items.iter().map(|user| user.id.0).collect();
    assert_eq!(everyone.len(), 13);
    for (role, expected) in [(None, &everyone), (Some("CUSTOMER"), &customers)] {
        for limit in 1..=4 {
            let pages = walk(
                limit,
                &mut |paging: Paging<'_>| {
                    let request =
                        ListUsers::parse(paging, role, cast.admin, &key()).expect("valid");
                    (
                        request.page,
                        store.list_users(cast.admin, &request).expect("users"),
                    )
                },
                &|user: &User| Position::after_id(user.id.0),
                |user| user.id.0,
            );
            assert_eq!(&pages.concat(), expected, "{role:?} limit {limit}");
        }
    }
});

both_backends!(a_total_comes_only_when_asked_and_counts_every_match, |db| {
    let store = db.store();
    let cast = cast(db);
    let tickets = seed_ties(store, &cast, 30);
    let mine = tickets
        .iter()
        .filter(|t| t.author == cast.customer.id())
        .count();
    let printers = tickets
        .iter()
        .filter(|t| t.body.starts_with("printer"))
        .count();
    let resolved = tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Resolved)
        .count();
    let my_printers = tickets
        .iter()
        .filter(|t| t.author == cast.customer.id() && t.body.starts_with("printer"))
        .count();
    let cases = [
        (cast.agent, TicketQuery::default(), tickets.len()),
        (cast.customer, TicketQuery::default(), mine),
        (
            cast.agent,
            TicketQuery {
                q: Some("printer"),
                ..TicketQuery::default()
            },
            printers,
        ),
        (
            cast.customer,
            TicketQuery {
                q: Some("printer"),
                ..TicketQuery::default()
            },
            my_printers,
        ),
        (
            cast.agent,
            TicketQuery {
                status: Some("RESOLVED"),
                sort: Some("resolvedAt"),
                ..TicketQuery::default()
            },
            resolved,
        ),
    ];
    for (actor, asked, matches) in cases {
        assert!(matches > 4, "more than a page of 4");
        let mut list = ticket_lister(store, actor, asked);
        let (request, first) = list(Paging {
            limit: Some("4"),
            ..Paging::default()
        });
        assert_eq!(first.total, None, "not asked");
        let cursor = key().seal(request.binding(), first.next.expect("a second page"));
        for count in ["true", "false"] {
            let counted = |paging: Paging<'_>| {
                let mut list = ticket_lister(store, actor, asked);
                list(Paging {
                    count: Some(count),
                    limit: Some("4"),
                    ..paging
                })
                .1
            };
            let expected = (count == "true").then_some(matches as u64);
            let first = counted(Paging::default());
            assert_eq!(first.total, expected, "{asked:?} page 1 count={count}");
            assert_eq!(first.items.len(), 4);
            // Mid-walk, the total is still every match, not what is left.
            let later = counted(Paging {
                cursor: Some(&cursor),
                ..Paging::default()
            });
            assert_eq!(later.total, expected, "{asked:?} by cursor count={count}");
            assert_ne!(later.items[0].id, first.items[0].id, "the cursor's page");
            let numbered = counted(Paging {
                page: Some("2"),
                ..Paging::default()
            });
            assert_eq!(numbered.total, expected, "{asked:?} page 2 count={count}");
        }
        // `.counting()` asks the same of a request built in Rust.
        let request = ListTickets::parse(asked, actor, &key()).expect("valid");
        let counted = ListTickets {
            page: request.page.counting(),
            ..request
        };
        let page = store.list_tickets(actor, &counted).expect("list");
        assert_eq!(page.total, Some(matches as u64));
    }

    let ticket = open(store, cast.customer, "counted");
    let body = |text: &str| ReplyBody::parse(text).expect("valid reply");
    store
        .add_reply(cast.agent, ticket.id, &body("public"), ReplyKind::Public)
        .expect("reply");
    store
        .add_reply(cast.agent, ticket.id, &body("note"), ReplyKind::Internal)
        .expect("note");
    store
        .add_reply(cast.customer, ticket.id, &body("thanks"), ReplyKind::Public)
        .expect("reply");
    let one = PageRequest::new(1, 1).expect("valid");
    for (actor, replies) in [(cast.agent, 3), (cast.customer, 2)] {
        assert_eq!(
            store
                .list_replies(actor, ticket.id, one)
                .expect("replies")
                .total,
            None
        );
        let counted = store
            .list_replies(actor, ticket.id, one.counting())
            .expect("replies");
        assert_eq!(counted.total, Some(replies));
        let events = store
            .list_events(actor, ticket.id, PageRequest::new(1, 100).expect("valid"))
            .expect("events")
            .items
            .len();
        assert_eq!(
            store
                .list_events(actor, ticket.id, one)
                .expect("events")
                .total,
            None
        );
        let counted = store
            .list_events(actor, ticket.id, one.counting())
            .expect("events");
        assert_eq!(counted.total, Some(events as u64));
    }
    let users = |page: PageRequest| {
        store
            .list_users(cast.admin, &ListUsers { page, role: None })
            .expect("users")
            .total
    };
    assert_eq!(users(one), None);
    assert_eq!(users(one.counting()), Some(4));
});

// A common word (more matches than `COMMON_WORD_MATCHES`) is searched by
// walking the list's own index: every sort, both directions, for staff and
// for a customer, must still walk exactly the matching tickets in order.
both_backends!(
    a_common_word_walks_every_sort_in_order_for_staff_and_customers,
    |db| {
        let store = db.store();
        let cast = cast(db);
        // "printer" is in every third ticket: 1,500 of 4,500.
        let tickets = seed_ties(store, &cast, 4_500);
        // PostgreSQL judges a word by its planner's statistics.
        if db.backend() == Backend::Postgres {
            db.other_client().execute("ANALYZE");
        }
        let printer: Vec<Ticket> = tickets
            .iter()
            .filter(|ticket| ticket.body.starts_with("printer"))
            .cloned()
            .collect();
        assert_eq!(printer.len(), 1_500);
        let customers: Vec<Ticket> = printer
            .iter()
            .filter(|ticket| ticket.author == cast.customer.id())
            .cloned()
            .collect();
        for sort in SortField::ALL {
            for direction in DIRECTIONS {
                let searched = TicketQuery {
                    q: Some("printer"),
                    ..query(sort, direction)
                };
                let pages = ticket_pages(store, cast.agent, searched, 100);
                assert_eq!(
                    pages.concat(),
                    expected_order(&printer, sort, direction),
                    "staff, {sort:?} {direction:?}"
                );
                let pages = ticket_pages(store, cast.customer, searched, 100);
                assert_eq!(
                    pages.concat(),
                    expected_order(&customers, sort, direction),
                    "customer, {sort:?} {direction:?}"
                );
            }
        }
    }
);
