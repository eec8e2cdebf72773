//! Tickets and replies at the store's boundary: each rule of the contract
//! (who opens, sees, replies and resolves) is refused or allowed here.

use domain::{Direction, ListTickets, PageRequest, ReplyBody, SortField, TicketId, TicketStatus};
use domain::{Refusal, ReplyKind};
use store::StoreError;
use testkit::both_backends;

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
