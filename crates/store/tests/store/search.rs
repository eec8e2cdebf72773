//! Search and the SLA breach filter at the store's boundary. Every test runs
//! on both engines with the same expected answers, so SQLite's FTS5 and
//! PostgreSQL's `tsvector` are held to one behaviour: whole words, any case,
//! accents kept, notes for staff only, punctuation harmless.

use chrono::{DateTime, TimeDelta, Utc};
use domain::ReplyKind;
use domain::search::TicketDocuments;
use domain::ticket_list::AssigneeFilter;
use domain::{
    Direction, EventKind, ListTickets, NewEvent, PageRequest, Priority, ReplyBody, SearchQuery,
    SortField, Subject, TagSet, Ticket, TicketBody, TicketChange, TicketId, TicketStatus,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use store::{SeedReply, SeedTicket};
use testkit::fingerprint::fingerprint;
use testkit::{TestDb, both_backends};

use super::*;

fn open_with(store: &Store, customer: Actor, subject: Option<&str>, body: &str) -> TicketId {
    store
        .create_ticket(
            customer,
            &NewTicket {
                subject: subject.map(|s| Subject::parse(s).expect("valid subject")),
                body: TicketBody::parse(body).expect("valid body"),
            },
        )
        .expect("create ticket")
        .id
}

fn write(store: &Store, actor: Actor, ticket_id: TicketId, text: &str, kind: ReplyKind) {
    let body = ReplyBody::parse(text).expect("valid reply");
    store
        .add_reply(actor, ticket_id, &body, kind)
        .expect("reply");
}

fn searching(q: &str) -> ListTickets {
    ListTickets {
        search: SearchQuery::parse(q).expect("a valid query"),
        page: PageRequest::new(1, 100).expect("page"),
        ..ListTickets::default()
    }
}

/// The ids `actor` finds, checking the total against the page.
fn found_by(store: &Store, actor: Actor, request: &ListTickets) -> Vec<TicketId> {
    let counted = ListTickets {
        page: request.page.counting(),
        ..request.clone()
    };
    let page = store.list_tickets(actor, &counted).expect("search");
    assert_eq!(
        page.total,
        Some(page.items.len() as u64),
        "total of a full page"
    );
    assert_eq!(page.next, None, "a full page is the last");
    page.items.iter().map(|ticket| ticket.id).collect()
}

fn find(store: &Store, actor: Actor, q: &str) -> Vec<TicketId> {
    found_by(store, actor, &searching(q))
}

const NONE: [TicketId; 0] = [];

both_backends!(both_engines_find_whole_words_in_any_case_and_field, |db| {
    let store = db.store();
    let cast = cast(db);
    let (customer, agent) = (cast.customer, cast.agent);
    let printer = open_with(
        store,
        customer,
        Some("Printer on FIRE"),
        "The office printer caught fire. Write to jane.doe@example.com or call 555-0100.",
    );
    let cafe = open_with(store, customer, None, "Café au lait machine, Straße 5");
    let plain_cafe = open_with(store, customer, None, "cafe machine broken");
    let strasse = open_with(store, customer, None, "STRASSE sign, wi-fi down");
    let others = open_with(store, cast.other_customer, None, "printer jam in Ελλάδα");

    assert_eq!(find(store, agent, "printer"), [printer, others]);
    assert_eq!(find(store, agent, "PRINTER"), [printer, others]);
    // Words from the subject and the body, in any order.
    assert_eq!(find(store, agent, "fire printer office"), [printer]);
    // Whole words only.
    assert_eq!(find(store, agent, "print"), NONE);
    assert_eq!(find(store, agent, "fir"), NONE);
    // Accents are kept; `ß` is not `ss`.
    assert_eq!(find(store, agent, "café"), [cafe]);
    assert_eq!(find(store, agent, "CAFÉ"), [cafe]);
    assert_eq!(find(store, agent, "cafe"), [plain_cafe]);
    assert_eq!(find(store, agent, "straße"), [cafe]);
    assert_eq!(find(store, agent, "strasse"), [strasse]);
    assert_eq!(find(store, agent, "ελλάδα"), [others]);
    // Addresses, numbers and hyphens are their words.
    assert_eq!(find(store, agent, "jane.doe@example.com"), [printer]);
    assert_eq!(find(store, agent, "doe"), [printer]);
    assert_eq!(find(store, agent, "555-0100"), [printer]);
    assert_eq!(find(store, agent, "0100"), [printer]);
    assert_eq!(find(store, agent, "wi-fi"), [strasse]);
    assert_eq!(find(store, agent, "fi wi"), [strasse]);
    // A customer finds only their own tickets.
    assert_eq!(find(store, customer, "printer"), [printer]);
    assert_eq!(find(store, cast.other_customer, "printer"), [others]);
    assert_eq!(find(store, cast.other_customer, "café"), NONE);
});

both_backends!(replies_are_searched_and_notes_only_by_staff, |db| {
    let store = db.store();
    let cast = cast(db);
    let (customer, agent) = (cast.customer, cast.agent);
    let ticket = open_with(store, customer, None, "laptop will not boot");
    let other = open_with(store, customer, None, "laptop screen cracked");
    write(
        store,
        agent,
        ticket,
        "Try the BIOS reset.",
        ReplyKind::Public,
    );
    write(
        store,
        agent,
        ticket,
        "Vendor escalation #4411",
        ReplyKind::Internal,
    );
    write(
        store,
        customer,
        ticket,
        "The reset worked",
        ReplyKind::Public,
    );

    assert_eq!(find(store, agent, "bios"), [ticket]);
    assert_eq!(find(store, customer, "bios worked"), [ticket]);
    assert_eq!(find(store, agent, "escalation"), [ticket]);
    assert_eq!(find(store, agent, "laptop 4411"), [ticket]);
    assert_eq!(find(store, cast.admin, "escalation"), [ticket]);
    // The customer's search never sees a note, alone or with public words.
    assert_eq!(find(store, customer, "escalation"), NONE);
    assert_eq!(find(store, customer, "laptop 4411"), NONE);
    assert_eq!(find(store, customer, "laptop"), [ticket, other]);
    // A word in a note and then in a public reply becomes public.
    write(
        store,
        agent,
        other,
        "escalation to the vendor",
        ReplyKind::Public,
    );
    assert_eq!(find(store, customer, "escalation"), [other]);
    assert_eq!(find(store, agent, "escalation"), [ticket, other]);
});

both_backends!(punctuation_in_a_query_is_never_an_error, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open_with(store, cast.customer, None, "near the printer, or not");
    let all = find(store, cast.agent, "");
    assert_eq!(all, [ticket]);
    for q in [
        "\"",
        "\"printer",
        "printer*",
        "NEAR(printer)",
        "printer OR fax",
        "printer AND NOT",
        "public_words : printer",
        "{note_words}: printer",
        "'printer' & !'fax'",
        "printer:A",
        "printer <-> near",
        "-printer +near",
        "%_\\'; DROP TABLE tickets; --",
        "^printer",
        "printer)",
    ] {
        let request = searching(q);
        let ids = found_by(store, cast.agent, &request);
        let words = request.search.as_ref().map_or(&[][..], SearchQuery::words);
        let expected = if words
            .iter()
            .all(|w| ["printer", "near", "or", "not"].contains(&w.as_str()))
        {
            vec![ticket]
        } else {
            vec![]
        };
        assert_eq!(ids, expected, "q={q:?} words={words:?}");
    }
    // No words: no filter at all.
    assert_eq!(find(store, cast.agent, " .,;:!?*\"'()-"), [ticket]);
});

both_backends!(search_combines_with_every_filter_and_sort, |db| {
    let store = db.store();
    let cast = cast(db);
    let (customer, agent) = (cast.customer, cast.agent);
    let first = open_with(store, customer, None, "router blinking red");
    let second = open_with(store, customer, None, "router slow");
    let third = open_with(store, customer, None, "router missing");
    let _unrelated = open_with(store, customer, None, "toner empty");
    write(store, agent, second, "Looking at it", ReplyKind::Public);
    let urgent = TicketChange {
        priority: Some(Priority::Urgent),
        tags: Some(TagSet::parse(["network"]).expect("tags")),
        ..TicketChange::default()
    };
    store.change_ticket(agent, third, &urgent).expect("triage");

    let with = |change: fn(&mut ListTickets)| {
        let mut request = searching("router");
        change(&mut request);
        found_by(store, agent, &request)
    };
    assert_eq!(with(|_| {}), [first, second, third]);
    assert_eq!(with(|r| r.status = Some(TicketStatus::Replied)), [second]);
    assert_eq!(with(|r| r.priority = Some(Priority::Urgent)), [third]);
    assert_eq!(
        with(|r| r.assignee = Some(AssigneeFilter::Me)),
        [second],
        "the reply assigned it"
    );
    assert_eq!(
        with(|r| r.tag = domain::Tag::parse("network").ok()),
        [third]
    );
    assert_eq!(with(|r| r.breached = Some(true)), NONE);
    assert_eq!(with(|r| r.breached = Some(false)), [first, second, third]);
    assert_eq!(
        with(|r| r.direction = Direction::Descending),
        [third, second, first]
    );
    assert_eq!(
        with(|r| {
            r.sort = SortField::Priority;
            r.direction = Direction::Descending;
        }),
        [third, second, first]
    );
    let paged = |page: u32| {
        let request = ListTickets {
            page: PageRequest::new(page, 2).expect("page").counting(),
            ..searching("router")
        };
        let page = store.list_tickets(agent, &request).expect("page");
        assert_eq!(page.total, Some(3));
        page.items.iter().map(|t| t.id).collect::<Vec<_>>()
    };
    assert_eq!(paged(1), [first, second]);
    assert_eq!(paged(2), [third]);
});

/// Words a random ticket is written with: cases, accents, scripts,
/// addresses, and separators of every kind.
const VOCABULARY: [&str; 14] = [
    "printer",
    "Printer",
    "PRINTER",
    "café",
    "cafe",
    "Straße",
    "strasse",
    "42",
    "a.b@c-d.io",
    "naïve",
    "日本",
    "x_y",
    "wi-fi",
    "Ünïcode",
];
const SEPARATORS: [&str; 5] = [" ", ", ", "\n", " -- ", "/"];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(&VOCABULARY[..]),
            prop::sample::select(&SEPARATORS[..]),
        ),
        1..5,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(word, separator)| format!("{word}{separator}"))
            .collect()
    })
}

/// One write of the random corpus: a ticket by one of two customers, or a
/// reply or note on the n-th ticket written so far.
#[derive(Debug, Clone)]
enum Write {
    Open { by_other: bool, text: String },
    Reply { ticket: usize, text: String },
    Note { ticket: usize, text: String },
}

fn writes() -> impl Strategy<Value = Vec<Write>> {
    let write = prop_oneof![
        (any::<bool>(), text()).prop_map(|(by_other, text)| Write::Open { by_other, text }),
        (any::<usize>(), text()).prop_map(|(ticket, text)| Write::Reply { ticket, text }),
        (any::<usize>(), text()).prop_map(|(ticket, text)| Write::Note { ticket, text }),
    ];
    prop::collection::vec(write, 1..16)
}

/// For random tickets, replies and notes, and random queries, each engine
/// finds exactly what `domain`'s model of a match says, for staff and for
/// the customer: so the two engines agree with each other.
fn engines_agree_with_the_model(db_backend: testkit::Backend) {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        ..Config::default()
    });
    let queries = prop::collection::vec(text(), 1..6);
    runner
        .run(&(writes(), queries), |(writes, queries)| {
            let Some(db) = TestDb::new(db_backend) else {
                return Ok(());
            };
            let store = db.store();
            let cast = cast(&db);
            let mut corpus: Vec<(TicketId, Actor, TicketDocuments)> = Vec::new();
            for step in writes {
                match step {
                    Write::Open { by_other, text } => {
                        let author = if by_other {
                            cast.other_customer
                        } else {
                            cast.customer
                        };
                        let id = open_with(store, author, None, &text);
                        corpus.push((id, author, TicketDocuments::of_ticket(None, &text)));
                    }
                    Write::Reply { ticket, text } | Write::Note { ticket, text }
                        if corpus.is_empty() =>
                    {
                        let _ = (ticket, text);
                    }
                    Write::Reply { ticket, text } => {
                        let count = corpus.len();
                        let (id, _, documents) = &mut corpus[ticket % count];
                        write(store, cast.agent, *id, &text, ReplyKind::Public);
                        documents.add_reply(&text, false);
                    }
                    Write::Note { ticket, text } => {
                        let count = corpus.len();
                        let (id, _, documents) = &mut corpus[ticket % count];
                        write(store, cast.agent, *id, &text, ReplyKind::Internal);
                        documents.add_reply(&text, true);
                    }
                }
            }
            for q in queries {
                let Some(query) = SearchQuery::parse(&q).expect("query") else {
                    continue;
                };
                for viewer in [cast.agent, cast.customer] {
                    let staff = viewer == cast.agent;
                    let expected: Vec<TicketId> = corpus
                        .iter()
                        .filter(|(_, author, documents)| {
                            (staff || *author == viewer) && query.matches(documents, staff)
                        })
                        .map(|(id, _, _)| *id)
                        .collect();
                    prop_assert_eq!(find(store, viewer, &q), expected, "q={:?}", q);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn sqlite_agrees_with_the_model_of_a_match() {
    engines_agree_with_the_model(testkit::Backend::Sqlite);
}

#[test]
fn postgres_agrees_with_the_model_of_a_match() {
    engines_agree_with_the_model(testkit::Backend::Postgres);
}

/// Every ticket's stored breach time is what `domain` computes from the
/// ticket as it reads back.
fn assert_breach_times_follow_the_tickets(store: &Store, staff: Actor) {
    let stored = fingerprint(store).expect("fingerprint").breach_times;
    for (id, breach_at) in stored {
        let ticket = store.read_ticket(staff, TicketId(id)).expect("ticket");
        assert_eq!(
            breach_at,
            ticket.sla_breach_time().map(|at| at.naive_utc()),
            "ticket {id}"
        );
    }
}

both_backends!(every_write_keeps_the_breach_time, |db| {
    let store = db.store();
    let cast = cast(db);
    let (customer, agent) = (cast.customer, cast.agent);
    let answered = open(store, customer, "answered");
    let resolved_unanswered = open(store, customer, "withdrawn");
    let triaged = open(store, customer, "triaged");
    let noted = open(store, customer, "noted");
    let replied = open(store, customer, "replied, still open");
    write(store, agent, replied.id, "on it", ReplyKind::Public);
    write(store, agent, answered.id, "on it", ReplyKind::Public);
    write(store, customer, answered.id, "thanks", ReplyKind::Public);
    store
        .change_ticket_status(customer, answered.id, TicketStatus::Resolved)
        .expect("resolve");
    store
        .change_ticket_status(customer, resolved_unanswered.id, TicketStatus::Resolved)
        .expect("resolve");
    for priority in [Priority::Urgent, Priority::Low] {
        let change = TicketChange {
            priority: Some(priority),
            ..TicketChange::default()
        };
        store
            .change_ticket(agent, triaged.id, &change)
            .expect("triage");
    }
    write(store, agent, noted.id, "a note", ReplyKind::Internal);
    assert_breach_times_follow_the_tickets(store, agent);
    let answered_in_time = store.read_ticket(agent, replied.id).expect("ticket");
    assert_eq!(
        answered_in_time.sla_breach_time(),
        Some(answered_in_time.due.resolution),
        "a first response in time leaves the resolution due"
    );
    let untouched = store.read_ticket(agent, noted.id).expect("ticket");
    assert_eq!(
        untouched.sla_breach_time(),
        Some(untouched.due.first_response),
        "a note is no first response"
    );
});

/// A loaded ticket of random timing around `now`: due times, a first
/// response and a resolution each some minutes before or after it, never
/// within a minute of it (the query reads its own clock).
fn timed_ticket(
    author: Actor,
    agent: Actor,
    now: DateTime<Utc>,
) -> impl Strategy<Value = SeedTicket> {
    let offset = prop_oneof![-600i64..-1, 1i64..600].prop_map(TimeDelta::minutes);
    (
        offset.clone(),
        offset.clone(),
        prop::option::of(offset.clone()),
        prop::option::of(offset),
    )
        .prop_map(move |(first_due, resolution_due, first, resolved)| {
            let created_at = now - TimeDelta::days(1);
            let status = if resolved.is_some() {
                TicketStatus::Resolved
            } else if first.is_some() {
                TicketStatus::Replied
            } else {
                TicketStatus::Unattended
            };
            SeedTicket {
                author: author.id(),
                subject: None,
                body: "timed".to_owned(),
                status,
                created_at,
                updated_at: created_at,
                resolved_at: resolved.map(|r| now + r),
                priority: Priority::Normal,
                assignee: first.map(|_| agent.id()),
                tags: TagSet::default(),
                first_response_at: first.map(|f| now + f),
                due: domain::DueTimes {
                    first_response: now + first_due,
                    resolution: now + resolution_due,
                },
                replies: Vec::<SeedReply>::new(),
                events: vec![NewEvent {
                    kind: EventKind::Created {},
                    actor: author.id(),
                    at: created_at,
                }],
            }
        })
}

both_backends!(the_breach_filter_is_exactly_sla_breached_now, |db| {
    let store = db.store();
    let cast = cast(db);
    let now = Utc::now();
    let mut runner = TestRunner::new(Config {
        cases: 1,
        ..Config::default()
    });
    let tickets = prop::collection::vec(timed_ticket(cast.customer, cast.agent, now), 200);
    runner
        .run(&tickets, |batch| {
            store.bulk_load_tickets(&batch).expect("load");
            Ok(())
        })
        .expect("generate");
    let everything = |breached: Option<bool>, actor: Actor| -> Vec<Ticket> {
        let request = ListTickets {
            breached,
            page: PageRequest::new(1, 100).expect("page"),
            ..ListTickets::default()
        };
        let mut all = Vec::new();
        for page in 1.. {
            let request = ListTickets {
                page: PageRequest::new(page, 100).expect("page"),
                ..request.clone()
            };
            let found = store.list_tickets(actor, &request).expect("list");
            if found.items.is_empty() {
                break;
            }
            all.extend(found.items.into_iter().map(|seen| seen.ticket));
        }
        all
    };
    let all = everything(None, cast.agent);
    assert_eq!(all.len(), 200);
    let breached: Vec<TicketId> = all
        .iter()
        .filter(|t| t.sla_breached(now))
        .map(|t| t.id)
        .collect();
    let not_breached: Vec<TicketId> = all
        .iter()
        .filter(|t| !t.sla_breached(now))
        .map(|t| t.id)
        .collect();
    assert!(!breached.is_empty() && !not_breached.is_empty());
    let ids = |tickets: Vec<Ticket>| tickets.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(everything(Some(true), cast.agent)), breached);
    assert_eq!(ids(everything(Some(false), cast.agent)), not_breached);
    assert_eq!(
        ids(everything(Some(true), cast.customer)),
        breached,
        "all are theirs"
    );
    assert_breach_times_follow_the_tickets(store, cast.agent);
    let open_in_breach = all
        .iter()
        .filter(|t| t.resolved_at.is_none() && t.sla_breached(now))
        .count();
    assert_eq!(
        store.open_tickets_in_breach().expect("count"),
        open_in_breach as u64
    );
});

both_backends!(
    a_ticket_with_more_words_than_indexed_still_takes_replies,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "many words follow");
        // 6 replies of 2,500 distinct words each: past the 10,000 indexed.
        for reply in 0..6 {
            let text: Vec<String> = (0..2_500).map(|i| format!("w{reply}x{i}")).collect();
            write(
                store,
                cast.agent,
                ticket.id,
                &text.join(" "),
                ReplyKind::Public,
            );
        }
        assert_eq!(find(store, cast.agent, "many w0x0"), [ticket.id]);
        // The first 10,000 distinct words: the 3 of the body, then 9,997.
        assert_eq!(find(store, cast.agent, "w3x2496"), [ticket.id]);
        assert_eq!(find(store, cast.agent, "w3x2497"), NONE, "past the limit");
        assert_eq!(find(store, cast.agent, "w5x0"), NONE, "past the limit");
        write(
            store,
            cast.agent,
            ticket.id,
            "one more",
            ReplyKind::Internal,
        );
        assert_eq!(
            find(store, cast.agent, "more"),
            [ticket.id],
            "notes have their own limit"
        );
    }
);

both_backends!(
    reindexing_beside_replies_and_another_migration_loses_nothing,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ids: Vec<TicketId> = (0..1_200)
            .map(|i| open_with(store, cast.customer, None, &format!("ticket number{i}")))
            .collect();
        // As a later migration would (say, after a change of what a word is):
        // every ticket queued, its stored words and breach time stale.
        db.other_client().execute(
            "UPDATE ticket_search_words SET public_words = 'stale', note_words = '';
         UPDATE tickets SET sla_breach_at = NULL;
         INSERT INTO ticket_reindex (ticket_id) SELECT id FROM tickets;",
        );
        let url = store::DatabaseUrl::parse(&db.url()).expect("url");
        let barrier = std::sync::Barrier::new(3);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    barrier.wait();
                    store::migrate(&url).expect("migrate");
                });
            }
            scope.spawn(|| {
                barrier.wait();
                // Replies across the queue while it is worked through.
                for (n, id) in ids.iter().step_by(40).enumerate() {
                    let kind = if n % 2 == 0 {
                        ReplyKind::Public
                    } else {
                        ReplyKind::Internal
                    };
                    write(store, cast.agent, *id, &format!("during{n}"), kind);
                }
            });
        });
        let left = fingerprint(store).expect("fingerprint");
        assert!(
            left.search_words
                .iter()
                .all(|(_, public, _)| public != "stale"),
            "every ticket reindexed"
        );
        assert_eq!(left.search_words.len(), ids.len());
        assert_breach_times_follow_the_tickets(store, cast.agent);
        for (n, id) in ids.iter().step_by(40).enumerate() {
            let words = format!("during{n}");
            assert_eq!(find(store, cast.agent, &words), [*id], "{words}");
            let public = if n % 2 == 0 { vec![*id] } else { vec![] };
            assert_eq!(find(store, cast.customer, &words), public, "{words}");
        }
        assert_eq!(find(store, cast.agent, "number1199"), [ids[1_199]]);
        assert_eq!(find(store, cast.agent, "stale"), NONE);
    }
);
