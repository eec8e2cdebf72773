//! Tickets and replies at the store's boundary: each rule of the contract
//! (who opens, sees, replies and resolves) is refused or allowed here.

use domain::{Direction, ListTickets, PageRequest, ReplyBody, SortField, TicketId, TicketStatus};
use domain::{
    EmailAddress, EventKind, Refusal, ReplyKind, SearchQuery, SessionEpoch, TagSet, TicketChange,
    UserChange, UserId,
};
use store::StoreError;
use testkit::{Backend, both_backends, record_queries};

use super::*;

fn reply(body: &str) -> ReplyBody {
    ReplyBody::parse(body).expect("valid reply")
}

fn list(status: Option<TicketStatus>, sort: SortField, direction: Direction) -> ListTickets {
    ListTickets {
        page: PageRequest::default(),
        sort,
        direction,
        status,
        ..ListTickets::default()
    }
}

both_backends!(a_new_ticket_is_unattended_with_increasing_ids, |db| {
    let store = db.store();
    let cast = cast(db);
    let first = open(store, cast.customer, "first");
    let second = open(store, cast.customer, "second");
    assert_eq!(first.status, TicketStatus::Unattended);
    assert_eq!(first.author, cast.customer.id());
    assert_eq!(first.resolved_at, None);
    assert!(second.id > first.id);
    let refused = store.create_ticket(
        cast.agent,
        &NewTicket {
            subject: None,
            body: TicketBody::parse("x").expect("valid"),
        },
    );
    assert!(matches!(
        refused,
        Err(StoreError::Refused(Refusal::Forbidden(_)))
    ));
});

both_backends!(a_customer_lists_and_reads_only_their_own_tickets, |db| {
    let store = db.store();
    let cast = cast(db);
    let mine = open(store, cast.customer, "mine");
    let theirs = open(store, cast.other_customer, "theirs");
    let default = ListTickets::default();
    let seen: Vec<_> = store
        .list_tickets(cast.customer, &default)
        .expect("list")
        .items;
    assert_eq!(seen.iter().map(|t| t.id).collect::<Vec<_>>(), vec![mine.id]);
    for staff in [cast.agent, cast.admin] {
        let page = store.list_tickets(staff, &default).expect("list");
        assert_eq!(page.total, None, "counted only when asked");
        assert_eq!(page.next, None, "one page holds both");
        assert_eq!(
            store.read_ticket(staff, theirs.id).expect("visible").id,
            theirs.id
        );
    }
    assert_eq!(
        store.read_ticket(cast.customer, mine.id).expect("own"),
        mine
    );
    assert!(matches!(
        store.read_ticket(cast.customer, theirs.id),
        Err(StoreError::Refused(Refusal::NotFound))
    ));
    assert!(matches!(
        store.read_ticket(cast.agent, TicketId(999_999)),
        Err(StoreError::Refused(Refusal::NotFound))
    ));
});

both_backends!(lists_filter_sort_and_page, |db| {
    let store = db.store();
    let cast = cast(db);
    let tickets: Vec<_> = (0..5)
        .map(|i| open(store, cast.customer, &format!("t{i}")))
        .collect();
    store
        .add_reply(cast.agent, tickets[1].id, &reply("hi"), ReplyKind::Public)
        .expect("reply");
    store
        .change_ticket_status(cast.customer, tickets[3].id, TicketStatus::Resolved)
        .expect("resolve");
    store
        .change_ticket_status(cast.customer, tickets[0].id, TicketStatus::Resolved)
        .expect("resolve");
    let ids = |request: ListTickets| -> Vec<TicketId> {
        store
            .list_tickets(cast.agent, &request)
            .expect("list")
            .items
            .iter()
            .map(|t| t.id)
            .collect()
    };
    let resolved = ids(list(
        Some(TicketStatus::Resolved),
        SortField::TicketId,
        Direction::Ascending,
    ));
    assert_eq!(resolved, vec![tickets[0].id, tickets[3].id]);
    let by_id_desc = ids(list(None, SortField::TicketId, Direction::Descending));
    assert_eq!(
        by_id_desc,
        tickets.iter().rev().map(|t| t.id).collect::<Vec<_>>()
    );
    // Resolved first in resolution order, unresolved last, on both backends.
    let by_resolution = ids(list(None, SortField::ResolvedAt, Direction::Ascending));
    assert_eq!(
        by_resolution,
        vec![
            tickets[3].id,
            tickets[0].id,
            tickets[1].id,
            tickets[2].id,
            tickets[4].id
        ]
    );
    let by_resolution_desc = ids(list(None, SortField::ResolvedAt, Direction::Descending));
    assert_eq!(&by_resolution_desc[..2], &[tickets[0].id, tickets[3].id]);
    let by_update_desc = ids(list(None, SortField::UpdatedAt, Direction::Descending));
    assert_eq!(by_update_desc[0], tickets[0].id);
    let by_status = ids(list(None, SortField::Status, Direction::Ascending));
    assert_eq!(
        by_status,
        vec![
            tickets[1].id,
            tickets[0].id,
            tickets[3].id,
            tickets[2].id,
            tickets[4].id
        ]
    );
    let page_two = ListTickets {
        page: PageRequest::new(2, 2).expect("valid").counting(),
        ..ListTickets::default()
    };
    let page = store.list_tickets(cast.agent, &page_two).expect("list");
    assert_eq!(page.total, Some(5));
    assert_eq!(
        page.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![tickets[2].id, tickets[3].id]
    );
});

both_backends!(replies_follow_the_rules_and_move_the_status, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "help");
    let early = store.add_reply(
        cast.customer,
        ticket.id,
        &reply("anyone?"),
        ReplyKind::Public,
    );
    assert!(
        matches!(early, Err(StoreError::Refused(Refusal::Conflict(_)))),
        "{early:?}"
    );
    let by_admin = store.add_reply(cast.admin, ticket.id, &reply("admin"), ReplyKind::Public);
    assert!(matches!(
        by_admin,
        Err(StoreError::Refused(Refusal::Forbidden(_)))
    ));
    let by_stranger = store.add_reply(
        cast.other_customer,
        ticket.id,
        &reply("me too"),
        ReplyKind::Public,
    );
    assert!(matches!(
        by_stranger,
        Err(StoreError::Refused(Refusal::NotFound))
    ));
    let answer = store
        .add_reply(
            cast.agent,
            ticket.id,
            &reply("try again"),
            ReplyKind::Public,
        )
        .expect("agent reply");
    assert_eq!(answer.author_role, Role::SupportAgent);
    assert_eq!(
        store
            .read_ticket(cast.agent, ticket.id)
            .expect("get")
            .status,
        TicketStatus::Replied
    );
    store
        .add_reply(
            cast.customer,
            ticket.id,
            &reply("worked"),
            ReplyKind::Public,
        )
        .expect("customer reply");
    assert_eq!(
        store
            .read_ticket(cast.agent, ticket.id)
            .expect("get")
            .status,
        TicketStatus::Replied
    );
    let page = store
        .list_replies(cast.customer, ticket.id, PageRequest::default().counting())
        .expect("list");
    assert_eq!(page.total, Some(2));
    let bodies: Vec<_> = page
        .items
        .iter()
        .map(|r| (r.body.as_str(), r.author_role))
        .collect();
    assert_eq!(
        bodies,
        vec![
            ("try again", Role::SupportAgent),
            ("worked", Role::Customer)
        ]
    );
    assert_eq!(page.items[0], answer);
    assert!(matches!(
        store.list_replies(cast.other_customer, ticket.id, PageRequest::default()),
        Err(StoreError::Refused(Refusal::NotFound))
    ));
    assert!(matches!(
        store.add_reply(
            cast.agent,
            TicketId(999_999),
            &reply("x"),
            ReplyKind::Public
        ),
        Err(StoreError::Refused(Refusal::NotFound))
    ));
});

both_backends!(only_the_owner_resolves_and_twice_changes_nothing, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "help");
    for staff in [cast.agent, cast.admin] {
        let refused = store.change_ticket_status(staff, ticket.id, TicketStatus::Resolved);
        assert!(matches!(
            refused,
            Err(StoreError::Refused(Refusal::Forbidden(_)))
        ));
    }
    let invalid = store.change_ticket_status(cast.customer, ticket.id, TicketStatus::Replied);
    assert!(matches!(
        invalid,
        Err(StoreError::Refused(Refusal::Invalid(_)))
    ));
    let resolved = store
        .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
        .expect("resolve");
    assert_eq!(resolved.status, TicketStatus::Resolved);
    let resolved_at = resolved.resolved_at.expect("set");
    assert_eq!(resolved.updated_at, resolved_at);
    let again = store
        .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
        .expect("again");
    assert_eq!(again.resolved_at, Some(resolved_at));
    assert_eq!(
        store.read_ticket(cast.customer, ticket.id).expect("get"),
        resolved
    );
    let late = store.add_reply(cast.agent, ticket.id, &reply("too late"), ReplyKind::Public);
    assert!(matches!(
        late,
        Err(StoreError::Refused(Refusal::Conflict(_)))
    ));
});

/// The statements a recorded store ran, without the transactions' own.
fn statements(log: &testkit::QueryLog) -> Vec<String> {
    log.take()
        .into_iter()
        .filter(|sql| !matches!(sql.as_str(), "COMMIT" | "ROLLBACK") && !sql.starts_with("BEGIN"))
        .collect()
}

both_backends!(
    reading_a_ticket_with_a_token_is_one_query_that_authenticates_first,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let mine = open(store, cast.customer, "mine");
        let theirs = open(store, cast.other_customer, "theirs");
        let tags = TagSet::parse(["billing", "urgent-ish"]).expect("tags");
        store
            .change_ticket(
                cast.agent,
                theirs.id,
                &TicketChange {
                    tags: Some(tags.clone()),
                    ..TicketChange::default()
                },
            )
            .expect("tag");
        let epoch = SessionEpoch::default();
        let read = |who: Actor, id: TicketId| store.read_ticket_with_token(who.id(), epoch, id);

        // The same answers as authenticating, then reading.
        let log = record_queries(store);
        let seen = read(cast.agent, theirs.id).expect("staff see every ticket");
        assert_eq!(statements(&log).len(), 1, "one query");
        assert_eq!(seen.tags, Some(tags));
        let requester = seen.requester.as_ref().expect("staff see the requester");
        assert_eq!(requester.user.id, cast.other_customer.id());
        assert_eq!(requester.user.username, "tolu");
        assert_eq!(
            seen,
            store.read_ticket(cast.agent, theirs.id).expect("read")
        );
        let own = read(cast.customer, mine.id).expect("own");
        assert_eq!(
            own,
            store.read_ticket(cast.customer, mine.id).expect("read")
        );
        assert_eq!(own.tags, None, "a customer sees no tags");
        assert_eq!(own.requester, None, "a customer is the requester");
        let theirs_tagged = read(cast.other_customer, theirs.id).expect("own");
        assert_eq!(theirs_tagged.tags, None, "not even on their own ticket");
        assert_eq!(
            refused(read(cast.customer, theirs.id)),
            Refusal::NotFound,
            "another customer's ticket"
        );
        assert_eq!(
            refused(read(cast.agent, TicketId(999_999))),
            Refusal::NotFound
        );

        // A token that does not hold is refused before anything of the ticket
        // is told, whether it exists or not.
        for id in [mine.id, TicketId(999_999)] {
            for (subject, epoch) in [
                (cast.customer.id(), SessionEpoch(epoch.0 + 1)),
                (UserId(999_999), epoch),
            ] {
                assert!(matches!(
                    refused(store.read_ticket_with_token(subject, epoch, id)),
                    Refusal::Unauthenticated(_)
                ));
            }
        }

        // A role change applies at once: the agent made a customer no longer
        // sees another customer's ticket; deactivated, the token holds no more.
        let demote = UserChange {
            role: Some(Role::Customer),
            active: None,
            pin: None,
            email: None,
        };
        store
            .update_user(cast.admin, cast.agent.id(), &demote)
            .expect("demote");
        assert_eq!(refused(read(cast.agent, theirs.id)), Refusal::NotFound);
        let deactivate = UserChange {
            role: None,
            active: Some(false),
            pin: None,
            email: None,
        };
        store
            .update_user(cast.admin, cast.customer.id(), &deactivate)
            .expect("deactivate");
        assert!(matches!(
            refused(read(cast.customer, mine.id)),
            Refusal::Unauthenticated(_)
        ));
        // A PIN reset ends the account's sessions.
        let reset = UserChange {
            role: None,
            active: None,
            pin: Some(Pin::parse("4321").expect("pin")),
            email: None,
        };
        store
            .update_user(cast.admin, cast.other_customer.id(), &reset)
            .expect("reset");
        assert!(matches!(
            refused(read(cast.other_customer, theirs.id)),
            Refusal::Unauthenticated(_)
        ));
    }
);

both_backends!(
    a_new_ticket_is_written_with_its_event_and_words_at_once,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let log = record_queries(store);
        let created = open(store, cast.customer, "The printer is on fire");
        let ran = log.take();
        let shapes: Vec<&str> = ran
            .iter()
            .map(|sql| sql.split_whitespace().next().unwrap_or(""))
            .collect();
        match db.backend() {
            // The ticket, its words, its event, and the read of the
            // webhook endpoints that would announce it (none), in the
            // write transaction.
            Backend::Sqlite => assert_eq!(
                shapes,
                ["BEGIN", "INSERT", "INSERT", "INSERT", "SELECT", "COMMIT"],
                "{ran:#?}"
            ),
            // Whether an endpoint would announce it (none), then all three
            // in one statement, atomic by itself.
            Backend::Postgres => assert_eq!(shapes, ["SELECT", "WITH"], "{ran:#?}"),
        }
        // What the create answered is what a read finds.
        assert_eq!(
            created,
            store.read_ticket(cast.customer, created.id).expect("read")
        );
        let staff_view = store.read_ticket(cast.agent, created.id).expect("read");
        assert_eq!(staff_view.tags, Some(TagSet::default()));
        let events = store
            .list_events(cast.customer, created.id, PageRequest::default())
            .expect("events");
        assert_eq!(events.items.len(), 1);
        assert!(matches!(events.items[0].kind, EventKind::Created {}));
        assert_eq!(events.items[0].actor, cast.customer.id());
        assert_eq!(events.items[0].at, created.created_at);
        let found = store
            .list_tickets(
                cast.customer,
                &ListTickets {
                    search: SearchQuery::parse("printer fire").expect("query"),
                    ..ListTickets::default()
                },
            )
            .expect("search");
        assert_eq!(
            found.items.iter().map(|t| t.id).collect::<Vec<_>>(),
            vec![created.id]
        );
    }
);

both_backends!(
    reads_creates_and_replies_run_only_statements_prepared_once,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let log = record_queries(store);
        for round in 0..2 {
            let ticket = open(store, cast.customer, &format!("round {round}"));
            store
                .read_ticket_with_token(cast.agent.id(), SessionEpoch::default(), ticket.id)
                .expect("read");
            // As an API token's holder reads it: the ticket, then its tags
            // and requester.
            store.read_ticket(cast.agent, ticket.id).expect("read");
            store
                .authenticate(cast.agent.id(), SessionEpoch::default())
                .expect("authenticate");
            // The agent's first reply (status, assignment, first response and
            // three events), a note with a new word, the customer's reply.
            store
                .add_reply(cast.agent, ticket.id, &reply("On it"), ReplyKind::Public)
                .expect("reply");
            store
                .add_reply(
                    cast.agent,
                    ticket.id,
                    &reply("toner smells"),
                    ReplyKind::Internal,
                )
                .expect("note");
            store
                .add_reply(
                    cast.customer,
                    ticket.id,
                    &reply("thanks"),
                    ReplyKind::Public,
                )
                .expect("reply");
        }
        let cached = log.cached();
        let uncached: std::collections::BTreeSet<String> = statements(&log)
            .into_iter()
            .filter(|sql| !cached.contains(sql))
            .collect();
        // Diesel never caches an `UPDATE` it builds: the ticket's own columns
        // a reply changes vary, so that statement is left to it. On
        // PostgreSQL several events are one multi-row `INSERT`, parsed each
        // time but sent in the same single round trip as a cached one.
        let expected: Vec<&str> = uncached
            .iter()
            .filter(|sql| {
                let sql = sql.replace(['"', '`'], "");
                let ticket_update = sql.starts_with("UPDATE tickets ");
                let events = db.backend() == Backend::Postgres
                    && sql.starts_with("INSERT INTO events ")
                    && sql.contains("), (");
                !ticket_update && !events
            })
            .map(String::as_str)
            .collect();
        assert_eq!(expected, Vec::<&str>::new(), "prepared on every run");
    }
);

both_backends!(
    a_page_of_tickets_reads_its_requesters_in_one_query_for_staff_only,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let address = EmailAddress::parse("kayode@example.com").expect("valid");
        store
            .update_user(
                cast.admin,
                cast.customer.id(),
                &UserChange {
                    role: None,
                    active: None,
                    pin: None,
                    email: Some(Some(address.clone())),
                },
            )
            .expect("address");
        for round in 0..3 {
            open(store, cast.customer, &format!("mine {round}"));
            open(store, cast.other_customer, &format!("theirs {round}"));
        }
        let users_read = |log: &testkit::QueryLog| {
            statements(log)
                .into_iter()
                .filter(|sql| sql.replace(['"', '`'], "").contains(" FROM users"))
                .count()
        };
        let log = record_queries(store);
        for staff in [cast.agent, cast.admin] {
            log.take();
            let page = store
                .list_tickets(staff, &ListTickets::default())
                .expect("list");
            assert_eq!(page.items.len(), 6);
            assert_eq!(users_read(&log), 1, "one query for the page's requesters");
            for seen in &page.items {
                let requester = seen.requester.as_ref().expect("staff see the requester");
                assert_eq!(requester.user.id, seen.author);
                let expected = (seen.author == cast.customer.id()).then(|| address.clone());
                assert_eq!(requester.user.email, expected);
                assert!(requester.shows_email);
                assert_eq!(
                    *seen,
                    store.read_ticket(staff, seen.id).expect("read"),
                    "a row is what a read shows"
                );
            }
        }
        log.take();
        let mine = store
            .list_tickets(cast.customer, &ListTickets::default())
            .expect("list");
        assert_eq!(mine.items.len(), 3);
        assert!(mine.items.iter().all(|seen| seen.requester.is_none()));
        assert_eq!(users_read(&log), 0, "nothing read for a customer");
    }
);
