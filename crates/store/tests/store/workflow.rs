//! The helpdesk workflow at the store's boundary: priority, assignee, tags,
//! internal notes, assignment on reply, the new list filters and sorts, and
//! each ticket's history, which is written in the same transaction as the
//! change it records (so a failed history write undoes the change, and
//! concurrent changes are recorded in commit order).

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::time::Duration;

use domain::history::{TicketState, replay};
use domain::ticket_list::AssigneeFilter;
use domain::{
    Audience, Direction, Event, EventKind, ListTickets, PageRequest, Priority, Reply, ReplyBody,
    SeenTicket, SlaTargets, SortField, Tag, TagSet, Ticket, TicketChange, TicketId, TicketStatus,
    UserChange, UserId,
};
use domain::{Refusal, ReplyKind};
use store::{StoreError, StoreResult};
use testkit::{Backend, TestDb, both_backends};

use super::*;

/// Asserts that `$result` is the refusal `$refusal`.
macro_rules! assert_refused {
    ($result:expr, $refusal:pat) => {{
        let result = $result;
        assert!(
            matches!(result, Err(StoreError::Refused($refusal))),
            "expected {}, got {result:?}",
            stringify!($refusal)
        );
    }};
}

fn body(text: &str) -> ReplyBody {
    ReplyBody::parse(text).expect("valid reply")
}

fn reply(store: &Store, actor: Actor, ticket_id: TicketId, text: &str) -> StoreResult<Reply> {
    store.add_reply(actor, ticket_id, &body(text), ReplyKind::Public)
}

fn note(store: &Store, actor: Actor, ticket_id: TicketId, text: &str) -> StoreResult<Reply> {
    store.add_reply(actor, ticket_id, &body(text), ReplyKind::Internal)
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).expect("valid tag")
}

fn tags(names: &[&str]) -> TagSet {
    TagSet::parse(names).expect("valid tags")
}

fn to_priority(priority: Priority) -> TicketChange {
    TicketChange {
        priority: Some(priority),
        ..TicketChange::default()
    }
}

fn to_assignee(assignee: Option<UserId>) -> TicketChange {
    TicketChange {
        assignee: Some(assignee),
        ..TicketChange::default()
    }
}

fn to_tags(names: &[&str]) -> TicketChange {
    TicketChange {
        tags: Some(tags(names)),
        ..TicketChange::default()
    }
}

/// The first 100 records, counted.
fn everything() -> PageRequest {
    PageRequest::new(1, 100).expect("valid page").counting()
}

/// Lets the clock move on, so a timestamp written next is later than every
/// one written before (the store keeps microseconds).
fn tick() {
    std::thread::sleep(Duration::from_millis(2));
}

/// The whole history `actor` may see, checking the page's total.
fn history(store: &Store, actor: Actor, ticket_id: TicketId) -> Vec<Event> {
    let page = store
        .list_events(actor, ticket_id, everything())
        .expect("list events");
    assert_eq!(
        page.total,
        Some(page.items.len() as u64),
        "total of a full page"
    );
    assert_eq!(page.next, None, "a full page is the last");
    page.items
}

fn type_names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|event| event.kind.event_type().as_str())
        .collect()
}

/// What the history says the ticket is.
fn replayed(events: &[Event]) -> TicketState {
    replay(events.iter().map(|event| &event.kind))
}

/// What the ticket, as staff read it, says it is.
fn state_of(ticket: &Ticket) -> TicketState {
    TicketState {
        status: Some(ticket.status),
        priority: ticket.priority,
        assignee: ticket.assignee,
        tags: ticket.tags.clone().expect("staff see tags"),
    }
}

fn ticket_ids(store: &Store, actor: Actor, request: &ListTickets) -> Vec<TicketId> {
    let counted = ListTickets {
        page: request.page.counting(),
        ..request.clone()
    };
    let page = store.list_tickets(actor, &counted).expect("list tickets");
    assert_eq!(
        page.total,
        Some(page.items.len() as u64),
        "every match fits on one page"
    );
    assert_eq!(page.next, None, "a full page is the last");
    page.items.iter().map(|ticket| ticket.id).collect()
}

fn reply_ids(store: &Store, actor: Actor, ticket_id: TicketId) -> Vec<i64> {
    let page = store
        .list_replies(actor, ticket_id, everything())
        .expect("list replies");
    assert_eq!(page.total, Some(page.items.len() as u64));
    assert_eq!(page.next, None, "a full page is the last");
    page.items.iter().map(|reply| reply.id).collect()
}

/// No ticket at all.
const NO_TICKETS: [TicketId; 0] = [];

fn second_agent(db: &TestDb) -> Actor {
    actor(db.store(), "amaka", Role::SupportAgent)
}

both_backends!(
    a_new_ticket_is_normal_unassigned_due_by_default_targets_with_one_event,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "printer on fire");
        assert_eq!(ticket.priority, Priority::Normal);
        assert_eq!(ticket.assignee, None);
        assert_eq!(ticket.first_response_at, None);
        assert_eq!(ticket.tags, None, "the customer who opened it sees no tags");
        assert_eq!(
            ticket.due,
            SlaTargets::default().due_times(ticket.created_at, Priority::Normal)
        );
        assert!(!ticket.sla_breached(ticket.created_at));
        let as_staff = store.read_ticket(cast.agent, ticket.id).expect("read");
        assert_eq!(as_staff.tags, Some(TagSet::default()));
        assert_eq!(
            Ticket {
                tags: None,
                ..as_staff.ticket
            },
            ticket.ticket,
            "what creation returned is what was stored"
        );
        for viewer in [cast.customer, cast.agent, cast.admin] {
            let events = history(store, viewer, ticket.id);
            assert_eq!(events.len(), 1, "{events:?}");
            let created = &events[0];
            assert_eq!(created.kind, EventKind::Created {});
            assert_eq!(created.ticket_id, ticket.id);
            assert_eq!(created.actor, cast.customer.id());
            assert_eq!(created.at, ticket.created_at);
        }
    }
);

both_backends!(only_staff_change_a_ticket, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "help");
    let theirs = open(store, cast.other_customer, "theirs");
    let change = TicketChange {
        priority: Some(Priority::Urgent),
        tags: Some(tags(&["vip"])),
        ..TicketChange::default()
    };
    assert_refused!(
        store.change_ticket(cast.customer, ticket.id, &change),
        Refusal::Forbidden(_)
    );
    assert_refused!(
        store.change_ticket(cast.customer, theirs.id, &change),
        Refusal::NotFound
    );
    assert_refused!(
        store.change_ticket(cast.customer, ticket.id, &to_priority(Priority::Normal)),
        Refusal::Forbidden(_)
    );
    assert_refused!(
        store.change_ticket(cast.agent, TicketId(999_999), &change),
        Refusal::NotFound
    );
    assert_eq!(
        store.read_ticket(cast.customer, ticket.id).expect("read"),
        ticket
    );
    assert_eq!(history(store, cast.agent, ticket.id).len(), 1);
    for staff in [cast.agent, cast.admin] {
        store
            .change_ticket(staff, theirs.id, &to_priority(Priority::Low))
            .expect("staff change any ticket");
    }
});

both_backends!(
    a_priority_change_recomputes_the_due_times_and_moves_updated_at,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "slow");
        let mut before = ticket.clone();
        for (staff, priority) in [
            (cast.agent, Priority::High),
            (cast.admin, Priority::Low),
            (cast.agent, Priority::Urgent),
        ] {
            tick();
            let changed = store
                .change_ticket(staff, ticket.id, &to_priority(priority))
                .expect("change priority");
            assert_eq!(changed.priority, priority);
            assert_eq!(
                changed.due,
                SlaTargets::default().due_times(ticket.created_at, priority),
                "due times count from createdAt"
            );
            assert!(changed.updated_at > before.updated_at, "updatedAt moved");
            assert_eq!(changed.tags, Some(TagSet::default()));
            assert_eq!(
                (changed.status, changed.assignee, changed.created_at),
                (before.status, before.assignee, before.created_at)
            );
            assert_eq!(
                store.read_ticket(staff, ticket.id).expect("read"),
                changed,
                "what the change returned is what was stored"
            );
            let events = history(store, cast.agent, ticket.id);
            let last = events.last().expect("an event");
            assert_eq!(
                last.kind,
                EventKind::PriorityChanged {
                    from: before.priority,
                    to: priority
                }
            );
            assert_eq!((last.actor, last.at), (staff.id(), changed.updated_at));
            // The customer sees the priority and its history.
            let seen = store.read_ticket(cast.customer, ticket.id).expect("read");
            assert_eq!((seen.priority, seen.due), (priority, changed.due));
            assert_eq!(
                history(store, cast.customer, ticket.id)
                    .last()
                    .map(|e| &e.kind),
                Some(&last.kind)
            );
            before = changed;
        }
        assert_eq!(
            type_names(&history(store, cast.agent, ticket.id)),
            [
                "created",
                "priority_changed",
                "priority_changed",
                "priority_changed"
            ]
        );
    }
);

both_backends!(the_assignee_must_be_an_active_agent_or_admin, |db| {
    let store = db.store();
    let cast = cast(db);
    let agent2 = second_agent(db);
    let retired = actor(store, "retired", Role::SupportAgent);
    store
        .update_user(
            cast.admin,
            retired.id(),
            &UserChange {
                active: Some(false),
                ..UserChange::default()
            },
        )
        .expect("deactivate");
    let ticket = open(store, cast.customer, "whose is it?");
    let unchanged = store.read_ticket(cast.agent, ticket.id).expect("read");
    for bad in [
        cast.customer.id(),
        cast.other_customer.id(),
        retired.id(),
        UserId(999_999),
    ] {
        // With a valid priority and tags beside it: nothing of it is written.
        let change = TicketChange {
            priority: Some(Priority::High),
            assignee: Some(Some(bad)),
            tags: Some(tags(&["vip"])),
        };
        assert_refused!(
            store.change_ticket(cast.agent, ticket.id, &change),
            Refusal::Invalid(_)
        );
        assert_eq!(
            store.read_ticket(cast.agent, ticket.id).expect("read"),
            unchanged,
            "a refused assignee {bad:?} changed the ticket"
        );
        assert_eq!(history(store, cast.agent, ticket.id).len(), 1);
    }
    let mut before = unchanged;
    for (staff, assignee) in [
        (cast.agent, Some(cast.agent.id())),
        (cast.agent, Some(cast.admin.id())),
        (cast.admin, Some(agent2.id())),
        (cast.admin, None),
    ] {
        tick();
        let changed = store
            .change_ticket(staff, ticket.id, &to_assignee(assignee))
            .expect("assign");
        assert_eq!(changed.assignee, assignee);
        assert!(changed.updated_at > before.updated_at, "updatedAt moved");
        assert_eq!(
            (changed.priority, changed.due),
            (before.priority, before.due)
        );
        assert_eq!(store.read_ticket(staff, ticket.id).expect("read"), changed);
        let last = history(store, cast.agent, ticket.id)
            .pop()
            .expect("an event");
        assert_eq!(
            last.kind,
            EventKind::Assigned {
                from: before.assignee,
                to: assignee
            }
        );
        assert_eq!((last.actor, last.at), (staff.id(), changed.updated_at));
        assert_eq!(
            store
                .read_ticket(cast.customer, ticket.id)
                .expect("read")
                .assignee,
            assignee,
            "everyone sees the assignee"
        );
        before = changed;
    }
    // The customer sees the assignee, but not the assignments' history.
    assert_eq!(
        type_names(&history(store, cast.customer, ticket.id)),
        ["created"]
    );
});

both_backends!(tags_are_normalized_staff_only_and_leave_updated_at, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "tag me");
    tick();
    let tagged = store
        .change_ticket(cast.agent, ticket.id, &to_tags(&["VIP", "billing", "Vip"]))
        .expect("tag");
    let names = |ticket: &Ticket| -> Vec<String> {
        ticket
            .tags
            .as_ref()
            .expect("staff see tags")
            .iter()
            .map(|tag| tag.as_str().to_owned())
            .collect()
    };
    assert_eq!(names(&tagged), ["billing", "vip"]);
    assert_eq!(
        tagged.updated_at, ticket.updated_at,
        "a tag change is silent"
    );
    let first = history(store, cast.agent, ticket.id).pop().expect("event");
    assert_eq!(
        first.kind,
        EventKind::TagsChanged {
            added: vec![tag("billing"), tag("vip")],
            removed: vec![]
        }
    );
    assert_eq!(first.actor, cast.agent.id());
    assert!(first.at > ticket.created_at);
    tick();
    let retagged = store
        .change_ticket(cast.admin, ticket.id, &to_tags(&["vip", "Urgent-Fix"]))
        .expect("retag");
    assert_eq!(names(&retagged), ["urgent-fix", "vip"]);
    assert_eq!(retagged.updated_at, ticket.updated_at);
    let second = history(store, cast.agent, ticket.id).pop().expect("event");
    assert_eq!(
        second.kind,
        EventKind::TagsChanged {
            added: vec![tag("urgent-fix")],
            removed: vec![tag("billing")]
        }
    );
    assert_eq!(second.actor, cast.admin.id());
    // Staff see them everywhere, the customer nowhere.
    for staff in [cast.agent, cast.admin] {
        assert_eq!(store.read_ticket(staff, ticket.id).expect("read"), retagged);
        let listed = store
            .list_tickets(staff, &ListTickets::default())
            .expect("list");
        assert_eq!(listed.items, vec![retagged.clone()]);
    }
    let customer_view = store.read_ticket(cast.customer, ticket.id).expect("read");
    assert_eq!(customer_view.tags, None);
    assert_eq!(
        customer_view.ticket,
        Ticket {
            tags: None,
            ..retagged.ticket.clone()
        }
    );
    let customer_list = store
        .list_tickets(cast.customer, &ListTickets::default())
        .expect("list");
    assert_eq!(customer_list.items, vec![customer_view]);
    assert_eq!(
        type_names(&history(store, cast.customer, ticket.id)),
        ["created"]
    );
    // Clearing them.
    let cleared = store
        .change_ticket(cast.agent, ticket.id, &to_tags(&[]))
        .expect("clear");
    assert_eq!(cleared.tags, Some(TagSet::default()));
    assert_eq!(
        history(store, cast.agent, ticket.id).pop().map(|e| e.kind),
        Some(EventKind::TagsChanged {
            added: vec![],
            removed: vec![tag("urgent-fix"), tag("vip")]
        })
    );
    assert_eq!(
        store
            .read_ticket(cast.agent, ticket.id)
            .expect("read")
            .updated_at,
        ticket.updated_at
    );
});

both_backends!(a_resolved_ticket_can_still_be_triaged, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "done");
    let resolved = store
        .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
        .expect("resolve");
    assert_eq!(resolved.tags, None, "the customer sees no tags");
    tick();
    let change = TicketChange {
        priority: Some(Priority::High),
        assignee: Some(Some(cast.agent.id())),
        tags: Some(tags(&["post-mortem"])),
    };
    let changed = store
        .change_ticket(cast.agent, ticket.id, &change)
        .expect("triage a resolved ticket");
    assert_eq!(changed.status, TicketStatus::Resolved);
    assert_eq!(changed.resolved_at, resolved.resolved_at);
    assert_eq!(changed.priority, Priority::High);
    assert_eq!(changed.assignee, Some(cast.agent.id()));
    assert_eq!(changed.tags, Some(tags(&["post-mortem"])));
    assert_eq!(
        changed.due,
        SlaTargets::default().due_times(ticket.created_at, Priority::High)
    );
    assert!(changed.updated_at > resolved.updated_at);
    let events = history(store, cast.agent, ticket.id);
    assert_eq!(
        type_names(&events),
        [
            "created",
            "status_changed",
            "priority_changed",
            "assigned",
            "tags_changed"
        ]
    );
    assert!(events[2..].iter().all(|e| e.at == changed.updated_at));
    assert_eq!(replayed(&events), state_of(&changed));
});

both_backends!(a_change_to_what_already_is_records_nothing, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "same");
    let set = TicketChange {
        priority: Some(Priority::High),
        assignee: Some(Some(cast.agent.id())),
        tags: Some(tags(&["a", "b"])),
    };
    let changed = store
        .change_ticket(cast.agent, ticket.id, &set)
        .expect("set");
    let events = history(store, cast.agent, ticket.id);
    assert_eq!(events.len(), 4);
    let same_again = TicketChange {
        tags: Some(tags(&["B", "a", "b"])),
        ..set
    };
    for no_op in [
        same_again,
        TicketChange::default(),
        to_priority(Priority::High),
        to_assignee(Some(cast.agent.id())),
        to_tags(&["b", "a"]),
    ] {
        tick();
        for staff in [cast.agent, cast.admin] {
            let answer = store
                .change_ticket(staff, ticket.id, &no_op)
                .expect("a no-op is allowed");
            assert_eq!(answer, changed, "{no_op:?}");
            assert_eq!(store.read_ticket(staff, ticket.id).expect("read"), changed);
            assert_eq!(history(store, cast.agent, ticket.id), events, "{no_op:?}");
        }
    }
    // Unassigning an unassigned ticket is nothing too.
    let other = open(store, cast.customer, "nobody's");
    tick();
    let answer = store
        .change_ticket(cast.agent, other.id, &to_assignee(None))
        .expect("no-op");
    assert_eq!(answer.updated_at, other.updated_at);
    assert_eq!(history(store, cast.agent, other.id).len(), 1);
});

both_backends!(
    internal_notes_are_for_staff_and_change_nothing_a_customer_sees,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "secret");
        let theirs = open(store, cast.other_customer, "theirs");
        assert_refused!(
            note(store, cast.customer, ticket.id, "me"),
            Refusal::Forbidden(_)
        );
        assert_refused!(
            note(store, cast.customer, theirs.id, "me"),
            Refusal::NotFound
        );
        assert_refused!(
            note(store, cast.agent, TicketId(999_999), "x"),
            Refusal::NotFound
        );
        tick();
        let by_agent = note(store, cast.agent, ticket.id, "customer seems upset").expect("note");
        let by_admin = note(store, cast.admin, ticket.id, "escalate?").expect("admin note");
        for (reply, author) in [(&by_agent, cast.agent), (&by_admin, cast.admin)] {
            assert!(reply.internal);
            assert_eq!(
                (reply.author, reply.author_role),
                (author.id(), author.role())
            );
            assert!(reply.created_at > ticket.created_at);
        }
        let after_notes = store.read_ticket(cast.agent, ticket.id).expect("read");
        assert_eq!(after_notes.status, TicketStatus::Unattended);
        assert_eq!(after_notes.updated_at, ticket.updated_at);
        assert_eq!(after_notes.first_response_at, None);
        assert_eq!(after_notes.assignee, None, "a note assigns nobody");
        // A note is not an agent's reply: the customer still may not answer.
        assert_refused!(
            reply(store, cast.customer, ticket.id, "hello?"),
            Refusal::Conflict(_)
        );
        // The customer's replies leave the notes out, count included.
        let page = store
            .list_replies(cast.customer, ticket.id, everything().counting())
            .expect("list");
        assert_eq!((page.total, page.items.len()), (Some(0), 0));
        let page = store
            .list_replies(cast.agent, ticket.id, everything().counting())
            .expect("list");
        assert_eq!(page.total, Some(2));
        assert_eq!(page.items, vec![by_agent.clone(), by_admin.clone()]);

        tick();
        let answer = reply(store, cast.agent, ticket.id, "on it").expect("reply");
        assert!(!answer.internal);
        let after_reply = store.read_ticket(cast.agent, ticket.id).expect("read");
        assert_eq!(after_reply.first_response_at, Some(answer.created_at));
        let thanks = reply(store, cast.customer, ticket.id, "thanks").expect("reply");
        let late_note = note(store, cast.agent, ticket.id, "one more").expect("note");
        // Paging the customer's replies skips notes: two pages of one.
        for (number, expected) in [(1, &answer), (2, &thanks)] {
            let page = store
                .list_replies(
                    cast.customer,
                    ticket.id,
                    PageRequest::new(number, 1).expect("valid").counting(),
                )
                .expect("list");
            assert_eq!(page.total, Some(2));
            assert_eq!(page.items, vec![expected.clone()]);
        }
        let last_page = store
            .list_replies(
                cast.customer,
                ticket.id,
                PageRequest::new(3, 1).expect("valid").counting(),
            )
            .expect("list");
        assert_eq!((last_page.total, last_page.items.len()), (Some(2), 0));
        assert_eq!(
            reply_ids(store, cast.admin, ticket.id),
            [by_agent.id, by_admin.id, answer.id, thanks.id, late_note.id]
        );
        // `noted` is staff-only history.
        let staff_events = history(store, cast.admin, ticket.id);
        let noted: Vec<_> = staff_events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Noted { .. }))
            .map(|e| (e.kind.clone(), e.actor, e.at))
            .collect();
        assert_eq!(
            noted,
            [&by_agent, &by_admin, &late_note]
                .map(|n| (EventKind::Noted { reply_id: n.id }, n.author, n.created_at))
                .to_vec()
        );
        let customer_events = history(store, cast.customer, ticket.id);
        assert!(
            customer_events
                .iter()
                .all(|e| !matches!(e.kind, EventKind::Noted { .. })),
            "{customer_events:?}"
        );
        assert_eq!(
            type_names(&customer_events),
            ["created", "replied", "status_changed", "replied"]
        );

        // Notes on a resolved ticket: allowed, and still change nothing.
        let resolved = store
            .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
            .expect("resolve");
        tick();
        for staff in [cast.agent, cast.admin] {
            let late = note(store, staff, ticket.id, "post-mortem").expect("note on resolved");
            assert!(late.internal);
        }
        assert_refused!(
            reply(store, cast.agent, ticket.id, "too late"),
            Refusal::Conflict(_)
        );
        assert_refused!(
            note(store, cast.customer, ticket.id, "me"),
            Refusal::Forbidden(_)
        );
        let final_view = store.read_ticket(cast.customer, ticket.id).expect("read");
        assert_eq!(
            final_view, resolved,
            "notes on a resolved ticket are silent"
        );
        assert_eq!(reply_ids(store, cast.customer, ticket.id).len(), 2);
        assert_eq!(reply_ids(store, cast.agent, ticket.id).len(), 7);
    }
);

both_backends!(an_agents_reply_assigns_an_unassigned_ticket_to_them, |db| {
    let store = db.store();
    let cast = cast(db);
    let agent2 = second_agent(db);
    let ticket = open(store, cast.customer, "who takes it?");
    tick();
    let first = reply(store, cast.agent, ticket.id, "me").expect("reply");
    let after_first = store.read_ticket(cast.agent, ticket.id).expect("read");
    assert_eq!(after_first.assignee, Some(cast.agent.id()));
    assert_eq!(after_first.status, TicketStatus::Replied);
    assert_eq!(after_first.first_response_at, Some(first.created_at));
    assert_eq!(after_first.updated_at, first.created_at);
    let events = history(store, cast.agent, ticket.id);
    let effects: Vec<_> = events[1..]
        .iter()
        .map(|e| (e.kind.clone(), e.actor, e.at))
        .collect();
    assert_eq!(
        effects,
        [
            EventKind::Replied { reply_id: first.id },
            EventKind::StatusChanged {
                from: TicketStatus::Unattended,
                to: TicketStatus::Replied
            },
            EventKind::Assigned {
                from: None,
                to: Some(cast.agent.id())
            },
        ]
        .map(|kind| (kind, cast.agent.id(), first.created_at))
        .to_vec(),
        "replied, status_changed, assigned, all at the reply's time"
    );
    tick();
    let second = reply(store, agent2, ticket.id, "me too").expect("reply");
    let customer = reply(store, cast.customer, ticket.id, "thanks").expect("reply");
    tick();
    let third = reply(store, cast.agent, ticket.id, "again").expect("reply");
    let after = store.read_ticket(cast.agent, ticket.id).expect("read");
    assert_eq!(
        after.assignee,
        Some(cast.agent.id()),
        "the first agent keeps it"
    );
    assert_eq!(
        after.first_response_at,
        Some(first.created_at),
        "the first response never moves"
    );
    assert_eq!(after.updated_at, third.created_at);
    let later: Vec<_> = history(store, cast.agent, ticket.id)[4..]
        .iter()
        .map(|e| (e.kind.clone(), e.actor, e.at))
        .collect();
    assert_eq!(
        later,
        [
            (
                EventKind::Replied {
                    reply_id: second.id
                },
                agent2.id(),
                second.created_at
            ),
            (
                EventKind::Replied {
                    reply_id: customer.id
                },
                cast.customer.id(),
                customer.created_at
            ),
            (
                EventKind::Replied { reply_id: third.id },
                cast.agent.id(),
                third.created_at
            ),
        ]
    );
    // The customer sees the reply's status change, not the assignment.
    assert_eq!(
        type_names(&history(store, cast.customer, ticket.id)),
        [
            "created",
            "replied",
            "status_changed",
            "replied",
            "replied",
            "replied"
        ]
    );

    // Assigned by hand first: an agent's reply keeps that assignee, and
    // still is the first response.
    let assigned = open(store, cast.customer, "assigned");
    store
        .change_ticket(cast.admin, assigned.id, &to_assignee(Some(cast.admin.id())))
        .expect("assign");
    tick();
    let answer = reply(store, agent2, assigned.id, "hi").expect("reply");
    let read = store.read_ticket(cast.agent, assigned.id).expect("read");
    assert_eq!(read.assignee, Some(cast.admin.id()));
    assert_eq!(read.first_response_at, Some(answer.created_at));
    assert_eq!(
        type_names(&history(store, cast.agent, assigned.id)),
        ["created", "assigned", "replied", "status_changed"]
    );

    // Unassigned again later: the next agent's reply takes it.
    store
        .change_ticket(cast.admin, assigned.id, &to_assignee(None))
        .expect("unassign");
    let taken = reply(store, cast.agent, assigned.id, "mine now").expect("reply");
    let read = store.read_ticket(cast.agent, assigned.id).expect("read");
    assert_eq!(read.assignee, Some(cast.agent.id()));
    assert_eq!(read.first_response_at, Some(answer.created_at));
    let last: Vec<_> = history(store, cast.agent, assigned.id)[5..]
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(
        last,
        [
            EventKind::Replied { reply_id: taken.id },
            EventKind::Assigned {
                from: None,
                to: Some(cast.agent.id())
            }
        ]
    );
});

/// Six tickets with every combination the filters tell apart (see the
/// table in the test below), their ids in order.
fn board(store: &Store, cast: &Cast, agent2: Actor) -> Vec<TicketId> {
    let spec: [(Actor, Priority, Option<UserId>, &[&str]); 6] = [
        (
            cast.customer,
            Priority::Low,
            Some(cast.agent.id()),
            &["billing"],
        ),
        (cast.customer, Priority::Urgent, None, &["vip"]),
        (
            cast.other_customer,
            Priority::High,
            Some(agent2.id()),
            &["billing", "vip"],
        ),
        (cast.customer, Priority::Normal, Some(cast.admin.id()), &[]),
        (cast.other_customer, Priority::Normal, None, &["billing"]),
        (cast.customer, Priority::Urgent, Some(cast.agent.id()), &[]),
    ];
    let t = spec
        .iter()
        .enumerate()
        .map(|(i, &(author, priority, assignee, names))| {
            let ticket = open(store, author, &format!("ticket {i}"));
            let change = TicketChange {
                priority: Some(priority),
                assignee: Some(assignee),
                tags: Some(tags(names)),
            };
            store
                .change_ticket(cast.admin, ticket.id, &change)
                .expect("triage");
            tick();
            ticket.id
        })
        .collect::<Vec<_>>();
    store
        .change_ticket_status(cast.customer, t[5], TicketStatus::Resolved)
        .expect("resolve");
    t
}

both_backends!(lists_filter_by_priority_assignee_and_tag, |db| {
    let store = db.store();
    let cast = cast(db);
    let agent2 = second_agent(db);
    // ticket  author  priority  assignee  tags          status
    // t0      mine    LOW       agent     billing       open
    // t1      mine    URGENT    -         vip           open
    // t2      theirs  HIGH      agent2    billing, vip  open
    // t3      mine    NORMAL    admin     -             open
    // t4      theirs  NORMAL    -         billing       open
    // t5      mine    URGENT    agent     -             resolved
    let t = board(store, &cast, agent2);
    let by = |actor: Actor, request: ListTickets| ticket_ids(store, actor, &request);
    let with_priority = |p| ListTickets {
        priority: Some(p),
        ..ListTickets::default()
    };
    let with_assignee = |a| ListTickets {
        assignee: Some(a),
        ..ListTickets::default()
    };
    let with_tag = |name: &str| ListTickets {
        tag: Some(tag(name)),
        ..ListTickets::default()
    };
    for staff in [cast.agent, cast.admin] {
        assert_eq!(by(staff, with_priority(Priority::Urgent)), [t[1], t[5]]);
        assert_eq!(by(staff, with_priority(Priority::Normal)), [t[3], t[4]]);
        assert_eq!(by(staff, with_priority(Priority::Low)), [t[0]]);
        assert_eq!(
            by(staff, with_assignee(AssigneeFilter::Nobody)),
            [t[1], t[4]]
        );
        assert_eq!(
            by(staff, with_assignee(AssigneeFilter::User(agent2.id()))),
            [t[2]]
        );
        assert_eq!(
            by(staff, with_assignee(AssigneeFilter::User(cast.agent.id()))),
            [t[0], t[5]]
        );
        // A user who is no assignee, and an id that is no user: nothing.
        assert_eq!(
            by(
                staff,
                with_assignee(AssigneeFilter::User(cast.customer.id()))
            ),
            NO_TICKETS
        );
        assert_eq!(
            by(staff, with_assignee(AssigneeFilter::User(UserId(999_999)))),
            NO_TICKETS
        );
        assert_eq!(by(staff, with_tag("billing")), [t[0], t[2], t[4]]);
        assert_eq!(by(staff, with_tag("vip")), [t[1], t[2]]);
        assert_eq!(by(staff, with_tag("nothing")), NO_TICKETS);
        // Filters combine with AND.
        assert_eq!(
            by(
                staff,
                ListTickets {
                    priority: Some(Priority::Normal),
                    tag: Some(tag("billing")),
                    ..ListTickets::default()
                }
            ),
            [t[4]]
        );
        assert_eq!(
            by(
                staff,
                ListTickets {
                    assignee: Some(AssigneeFilter::User(cast.agent.id())),
                    status: Some(TicketStatus::Resolved),
                    ..ListTickets::default()
                }
            ),
            [t[5]]
        );
        assert_eq!(
            by(
                staff,
                ListTickets {
                    assignee: Some(AssigneeFilter::Nobody),
                    tag: Some(tag("vip")),
                    priority: Some(Priority::Urgent),
                    ..ListTickets::default()
                }
            ),
            [t[1]]
        );
        assert_eq!(
            by(
                staff,
                ListTickets {
                    assignee: Some(AssigneeFilter::Nobody),
                    tag: Some(tag("vip")),
                    priority: Some(Priority::High),
                    ..ListTickets::default()
                }
            ),
            NO_TICKETS
        );
    }
    // `me` is the caller.
    assert_eq!(
        by(cast.agent, with_assignee(AssigneeFilter::Me)),
        [t[0], t[5]]
    );
    assert_eq!(by(cast.admin, with_assignee(AssigneeFilter::Me)), [t[3]]);
    assert_eq!(by(agent2, with_assignee(AssigneeFilter::Me)), [t[2]]);
    // A customer filters by priority within their own tickets only, and
    // may not filter by assignee or tag at all.
    assert_eq!(
        by(cast.customer, with_priority(Priority::Urgent)),
        [t[1], t[5]]
    );
    assert_eq!(by(cast.customer, with_priority(Priority::High)), NO_TICKETS);
    assert_eq!(
        by(cast.other_customer, with_priority(Priority::High)),
        [t[2]]
    );
    assert_eq!(
        by(
            cast.customer,
            ListTickets {
                priority: Some(Priority::Urgent),
                status: Some(TicketStatus::Resolved),
                ..ListTickets::default()
            }
        ),
        [t[5]]
    );
    for (customer, forbidden) in [
        (cast.customer, with_assignee(AssigneeFilter::Me)),
        (cast.customer, with_assignee(AssigneeFilter::Nobody)),
        (
            cast.customer,
            with_assignee(AssigneeFilter::User(cast.agent.id())),
        ),
        (cast.customer, with_tag("billing")),
        (cast.other_customer, with_tag("vip")),
        (
            cast.other_customer,
            ListTickets {
                priority: Some(Priority::High),
                tag: Some(tag("vip")),
                ..ListTickets::default()
            },
        ),
    ] {
        assert_refused!(
            store.list_tickets(customer, &forbidden),
            Refusal::Forbidden(_)
        );
    }
});

both_backends!(lists_sort_by_priority_and_resolution_due_time, |db| {
    // First responses due in the opposite order of resolutions, so a sort
    // on the wrong due time shows; a store of its own carries the targets.
    let targets =
        SlaTargets::parse(Some("URGENT=1d,HIGH=8h,NORMAL=4h,LOW=1h"), None).expect("valid");
    let url = store::DatabaseUrl::parse(&db.url()).expect("valid url");
    let options = store::StoreOptions {
        sla: targets,
        ..store::StoreOptions::default()
    };
    let store = &Store::connect(&url, options).expect("store with its targets");
    let cast = cast(db);
    let agent2 = second_agent(db);
    let t = board(store, &cast, agent2);
    for (id, priority) in [
        (t[0], Priority::Low),
        (t[2], Priority::High),
        (t[3], Priority::Normal),
    ] {
        let ticket = store.read_ticket(cast.agent, id).expect("read");
        assert_eq!(
            ticket.due,
            targets.due_times(ticket.created_at, priority),
            "the store's own targets"
        );
    }
    let sorted = |actor: Actor, sort: SortField, direction: Direction| {
        ticket_ids(
            store,
            actor,
            &ListTickets {
                sort,
                direction,
                ..ListTickets::default()
            },
        )
    };
    // LOW < NORMAL < HIGH < URGENT, ties by ticketId in the same direction.
    let by_priority = [t[0], t[3], t[4], t[2], t[1], t[5]];
    assert_eq!(
        sorted(cast.agent, SortField::Priority, Direction::Ascending),
        by_priority
    );
    assert_eq!(
        sorted(cast.agent, SortField::Priority, Direction::Descending),
        by_priority.iter().rev().copied().collect::<Vec<_>>()
    );
    // Due soonest first: URGENT (4 h), HIGH (1 d), NORMAL (3 d), LOW (7 d);
    // the same priority by creation.
    let by_due = [t[1], t[5], t[2], t[3], t[4], t[0]];
    assert_eq!(
        sorted(cast.agent, SortField::ResolutionDueAt, Direction::Ascending),
        by_due
    );
    assert_eq!(
        sorted(
            cast.admin,
            SortField::ResolutionDueAt,
            Direction::Descending
        ),
        by_due.iter().rev().copied().collect::<Vec<_>>()
    );
    // The due time follows a priority change.
    store
        .change_ticket(cast.agent, t[0], &to_priority(Priority::Urgent))
        .expect("change");
    assert_eq!(
        sorted(cast.agent, SortField::ResolutionDueAt, Direction::Ascending),
        [t[0], t[1], t[5], t[2], t[3], t[4]]
    );
    assert_eq!(
        sorted(cast.agent, SortField::Priority, Direction::Ascending),
        [t[3], t[4], t[2], t[0], t[1], t[5]]
    );
    // A customer's sorted list holds only their own.
    assert_eq!(
        sorted(cast.customer, SortField::Priority, Direction::Descending),
        [t[5], t[1], t[0], t[3]]
    );
    assert_eq!(
        sorted(
            cast.other_customer,
            SortField::ResolutionDueAt,
            Direction::Ascending
        ),
        [t[2], t[4]]
    );
    // Pages of a sorted list tile it.
    let page = |number| {
        store
            .list_tickets(
                cast.agent,
                &ListTickets {
                    page: PageRequest::new(number, 4).expect("valid").counting(),
                    sort: SortField::Priority,
                    direction: Direction::Descending,
                    ..ListTickets::default()
                },
            )
            .expect("list")
    };
    let (first, second) = (page(1), page(2));
    assert_eq!((first.total, second.total), (Some(6), Some(6)));
    let walked: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|ticket| ticket.id)
        .collect();
    assert_eq!(walked, [t[5], t[1], t[0], t[2], t[4], t[3]]);
});

both_backends!(
    events_are_oldest_first_paginated_and_filtered_for_customers,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let agent2 = second_agent(db);
        let ticket = open(store, cast.customer, "a long story");
        let step = |result: StoreResult<()>| {
            result.expect("step");
            tick();
        };
        tick();
        step(
            store
                .change_ticket(
                    cast.agent,
                    ticket.id,
                    &TicketChange {
                        priority: Some(Priority::High),
                        assignee: Some(Some(cast.admin.id())),
                        tags: Some(tags(&["vip"])),
                    },
                )
                .map(drop),
        );
        step(note(store, cast.agent, ticket.id, "hm").map(drop));
        step(reply(store, cast.agent, ticket.id, "hello").map(drop));
        step(
            store
                .change_ticket(cast.admin, ticket.id, &to_assignee(None))
                .map(drop),
        );
        step(reply(store, agent2, ticket.id, "mine").map(drop));
        step(reply(store, cast.customer, ticket.id, "thanks").map(drop));
        step(
            store
                .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
                .map(drop),
        );
        step(note(store, cast.admin, ticket.id, "closed").map(drop));
        let all = history(store, cast.admin, ticket.id);
        assert_eq!(
            type_names(&all),
            [
                "created",
                "priority_changed",
                "assigned",
                "tags_changed",
                "noted",
                "replied",
                "status_changed",
                "assigned",
                "replied",
                "assigned",
                "replied",
                "status_changed",
                "noted"
            ]
        );
        assert!(all.iter().all(|e| e.ticket_id == ticket.id));
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        assert!(
            all.windows(2).all(|w| w[0].at <= w[1].at),
            "time never goes back"
        );
        assert_eq!(all, history(store, cast.agent, ticket.id));
        let customer_sees: Vec<Event> = all
            .iter()
            .filter(|e| Audience::Customer.sees_event(e.kind.event_type()))
            .cloned()
            .collect();
        assert_eq!(
            type_names(&customer_sees),
            [
                "created",
                "priority_changed",
                "replied",
                "status_changed",
                "replied",
                "replied",
                "status_changed"
            ]
        );
        // Page by page, three at a time, the totals counting what each sees.
        for (viewer, expected) in [
            (cast.customer, &customer_sees),
            (cast.agent, &all),
            (cast.admin, &all),
        ] {
            let mut walked = Vec::new();
            for number in 1.. {
                let page = store
                    .list_events(
                        viewer,
                        ticket.id,
                        PageRequest::new(number, 3).expect("valid").counting(),
                    )
                    .expect("page");
                assert_eq!(page.total, Some(expected.len() as u64));
                assert!(page.items.len() <= 3);
                if page.items.is_empty() {
                    break;
                }
                walked.extend(page.items);
            }
            assert_eq!(&walked, expected);
        }
        assert_refused!(
            store.list_events(cast.other_customer, ticket.id, everything()),
            Refusal::NotFound
        );
        assert_refused!(
            store.list_events(cast.agent, TicketId(999_999), everything()),
            Refusal::NotFound
        );
    }
);

both_backends!(replaying_the_history_gives_the_ticket_as_read_back, |db| {
    let store = db.store();
    let cast = cast(db);
    let agent2 = second_agent(db);
    let ticket = open(store, cast.customer, "replay me");
    let check = |step: &str| {
        let staff_view = store.read_ticket(cast.admin, ticket.id).expect("read");
        let events = history(store, cast.admin, ticket.id);
        assert_eq!(replayed(&events), state_of(&staff_view), "after {step}");
        // The customer's history tells the status and priority as well.
        let customer_state = replayed(&history(store, cast.customer, ticket.id));
        assert_eq!(
            (customer_state.status, customer_state.priority),
            (Some(staff_view.status), staff_view.priority),
            "customer's history after {step}"
        );
    };
    check("creation");
    let change = |actor: Actor, change: TicketChange, step: &str| {
        store
            .change_ticket(actor, ticket.id, &change)
            .expect("change");
        check(step);
    };
    change(cast.agent, to_priority(Priority::Urgent), "priority");
    change(cast.agent, to_tags(&["vip", "billing"]), "tags");
    note(store, cast.admin, ticket.id, "note").expect("note");
    check("note");
    reply(store, agent2, ticket.id, "first").expect("reply");
    check("auto-assigning reply");
    change(cast.admin, to_assignee(Some(cast.agent.id())), "reassign");
    change(
        cast.agent,
        TicketChange {
            priority: Some(Priority::Low),
            assignee: Some(None),
            tags: Some(tags(&["billing", "refund"])),
        },
        "combined change",
    );
    reply(store, cast.customer, ticket.id, "still broken").expect("reply");
    check("customer reply");
    let read = store.read_ticket(cast.agent, ticket.id).expect("read");
    assert_eq!(read.assignee, None, "a customer's reply assigns nobody");
    reply(store, cast.agent, ticket.id, "try this").expect("reply");
    check("agent reply taking it back");
    let read = store.read_ticket(cast.agent, ticket.id).expect("read");
    assert_eq!(read.assignee, Some(cast.agent.id()));
    change(cast.admin, to_tags(&[]), "clearing tags");
    store
        .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
        .expect("resolve");
    check("resolve");
    change(
        cast.admin,
        TicketChange {
            priority: Some(Priority::High),
            assignee: Some(Some(cast.admin.id())),
            tags: Some(tags(&["post-mortem"])),
        },
        "triage after resolution",
    );
    note(store, cast.agent, ticket.id, "lessons").expect("note");
    check("note after resolution");
    let final_state = replayed(&history(store, cast.agent, ticket.id));
    assert_eq!(
        final_state,
        TicketState {
            status: Some(TicketStatus::Resolved),
            priority: Priority::High,
            assignee: Some(cast.admin.id()),
            tags: tags(&["post-mortem"]),
        }
    );
});

/// Everything a failed write could have left behind.
#[derive(Debug, PartialEq)]
struct Snapshot {
    ticket: Ticket,
    replies: Vec<Reply>,
    tickets: u64,
    events: Vec<Event>,
}

fn snapshot(store: &Store, staff: Actor, ticket_id: TicketId) -> Snapshot {
    Snapshot {
        ticket: store.read_ticket(staff, ticket_id).expect("read").ticket,
        replies: store
            .list_replies(staff, ticket_id, everything())
            .expect("replies")
            .items,
        tickets: store
            .list_tickets(
                staff,
                &ListTickets {
                    page: PageRequest::default().counting(),
                    ..ListTickets::default()
                },
            )
            .expect("list")
            .total
            .expect("counted"),
        events: history(store, staff, ticket_id),
    }
}

both_backends!(a_failed_history_write_rolls_the_change_back, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "fragile");
    store
        .change_ticket(
            cast.admin,
            ticket.id,
            &TicketChange {
                priority: Some(Priority::Low),
                tags: Some(tags(&["keep"])),
                ..TicketChange::default()
            },
        )
        .expect("set up");
    let before = snapshot(store, cast.agent, ticket.id);
    let mut client = db.other_client();
    match db.backend() {
        Backend::Sqlite => client.execute(
            "CREATE TRIGGER fail_events BEFORE INSERT ON events \
             BEGIN SELECT RAISE(ABORT, 'events refused'); END;",
        ),
        Backend::Postgres => client.execute(
            "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'events refused'; END; $$; \
             CREATE TRIGGER fail_events BEFORE INSERT ON events \
             FOR EACH ROW EXECUTE FUNCTION refuse_events();",
        ),
    }
    let new_ticket = NewTicket {
        subject: None,
        body: TicketBody::parse("another").expect("valid"),
    };
    let full_change = TicketChange {
        priority: Some(Priority::Urgent),
        assignee: Some(Some(cast.agent.id())),
        tags: Some(tags(&["new", "other"])),
    };
    let attempts: [(&str, &dyn Fn() -> StoreResult<()>); 7] = [
        ("a PATCH", &|| {
            store
                .change_ticket(cast.agent, ticket.id, &full_change)
                .map(drop)
        }),
        ("a tags-only PATCH", &|| {
            store
                .change_ticket(cast.agent, ticket.id, &to_tags(&["gone"]))
                .map(drop)
        }),
        ("an agent's reply", &|| {
            reply(store, cast.agent, ticket.id, "lost").map(drop)
        }),
        ("an agent's note", &|| {
            note(store, cast.agent, ticket.id, "lost").map(drop)
        }),
        ("an admin's note", &|| {
            note(store, cast.admin, ticket.id, "lost").map(drop)
        }),
        ("a resolve", &|| {
            store
                .change_ticket_status(cast.customer, ticket.id, TicketStatus::Resolved)
                .map(drop)
        }),
        ("a creation", &|| {
            store.create_ticket(cast.customer, &new_ticket).map(drop)
        }),
    ];
    for (what, attempt) in &attempts {
        tick();
        let outcome = attempt();
        assert!(
            matches!(outcome, Err(StoreError::Internal(_))),
            "{what} with its events refused: {outcome:?}"
        );
        assert_eq!(
            snapshot(store, cast.agent, ticket.id),
            before,
            "{what} left a trace"
        );
    }
    // The rules still answer first: a refusal writes no event to fail.
    assert_refused!(
        reply(store, cast.customer, ticket.id, "early"),
        Refusal::Conflict(_)
    );
    // Once events may be written again, every one of them goes through.
    match db.backend() {
        Backend::Sqlite => client.execute("DROP TRIGGER fail_events;"),
        Backend::Postgres => {
            client.execute("DROP TRIGGER fail_events ON events; DROP FUNCTION refuse_events();")
        }
    }
    for (what, attempt) in &attempts {
        attempt().unwrap_or_else(|e| panic!("{what} without the trigger: {e:?}"));
    }
    let after = snapshot(store, cast.agent, ticket.id);
    assert_eq!(after.tickets, before.tickets + 1);
    assert_eq!(after.replies.len(), 3);
    assert_eq!(after.ticket.status, TicketStatus::Resolved);
    assert_eq!(replayed(&after.events), state_of(&after.ticket));
});

/// What one round of the race below got back.
#[derive(Debug, Default)]
struct Outcomes {
    patches: Vec<SeenTicket>,
    notes: Vec<Reply>,
    replies: Vec<Reply>,
    refused_replies: usize,
    resolved: Option<SeenTicket>,
}

/// Two PATCHes, notes, two agents' and the customer's replies and the
/// customer's resolve on one ticket, started together, spread over `stores`. Every call succeeds or
/// gets its rule's refusal, and the history lists exactly the changes that
/// were made, in commit order, with replay giving the final ticket.
fn race_workflow(stores: &[&Store]) {
    let store = stores[0];
    let customer = actor(store, "owner", Role::Customer);
    let agents = [
        actor(store, "agent1", Role::SupportAgent),
        actor(store, "agent2", Role::SupportAgent),
    ];
    let admin = actor(store, "boss", Role::Admin);
    let on = |n: usize| stores[n % stores.len()];
    for round in 0..8u64 {
        let ticket_id = open(store, customer, &format!("race {round}")).id;
        let barrier = Barrier::new(6);
        let outcomes = std::thread::scope(|scope| {
            let patcher = scope.spawn(|| {
                barrier.wait();
                let changes = [
                    TicketChange {
                        priority: Some(Priority::High),
                        tags: Some(tags(&["race", "vip"])),
                        ..TicketChange::default()
                    },
                    TicketChange {
                        priority: Some(Priority::Urgent),
                        tags: Some(tags(&["race"])),
                        ..TicketChange::default()
                    },
                ];
                changes
                    .iter()
                    .map(|change| {
                        on(0)
                            .change_ticket(agents[0], ticket_id, change)
                            .unwrap_or_else(|e| panic!("PATCH failed with {e:?}"))
                    })
                    .collect::<Vec<_>>()
            });
            let noter = scope.spawn(|| {
                barrier.wait();
                (0..2)
                    .map(|i| {
                        note(on(1), admin, ticket_id, &format!("note {i}"))
                            .unwrap_or_else(|e| panic!("note failed with {e:?}"))
                    })
                    .collect::<Vec<_>>()
            });
            // Both agents, and the customer (who may answer only once an
            // agent has, and never after the resolve).
            let repliers: Vec<_> = [agents[0], agents[1], customer]
                .into_iter()
                .enumerate()
                .map(|(n, author)| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        let mut done = (Vec::new(), 0);
                        for i in 0..3 {
                            match reply(on(n), author, ticket_id, &format!("reply {i}")) {
                                Ok(reply) => done.0.push(reply),
                                Err(StoreError::Refused(Refusal::Conflict(_))) => done.1 += 1,
                                Err(other) => panic!("reply failed with {other:?}"),
                            }
                        }
                        done
                    })
                })
                .collect();
            barrier.wait();
            std::thread::sleep(Duration::from_millis(round % 4));
            let resolved = on(stores.len() - 1)
                .change_ticket_status(customer, ticket_id, TicketStatus::Resolved)
                .unwrap_or_else(|e| panic!("resolve failed with {e:?}"));
            let mut outcomes = Outcomes {
                patches: patcher.join().expect("patcher"),
                notes: noter.join().expect("noter"),
                resolved: Some(resolved),
                ..Outcomes::default()
            };
            for replier in repliers {
                let (replies, refused) = replier.join().expect("replier");
                outcomes.replies.extend(replies);
                outcomes.refused_replies += refused;
            }
            outcomes
        });
        check_race(
            store, admin, agents[0], customer, ticket_id, &outcomes, round,
        );
    }
}

fn check_race(
    store: &Store,
    admin: Actor,
    patcher: Actor,
    customer: Actor,
    ticket_id: TicketId,
    outcomes: &Outcomes,
    round: u64,
) {
    let resolved = outcomes.resolved.as_ref().expect("resolved");
    let resolved_at = resolved.resolved_at.expect("resolvedAt");
    let last = store.read_ticket(admin, ticket_id).expect("read");
    let events = history(store, admin, ticket_id);
    let context = format!("round {round}: {events:#?}");
    assert_eq!(outcomes.replies.len() + outcomes.refused_replies, 9);
    assert_eq!(last.status, TicketStatus::Resolved, "{context}");
    assert_eq!(last.resolved_at, Some(resolved_at), "{context}");
    // Commit order: ids increase and time never goes back.
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "{context}");
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "{context}");
    assert_eq!(events[0].kind, EventKind::Created {}, "{context}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::Created {})
            .count(),
        1
    );
    let position = |wanted: &EventKind| {
        events
            .iter()
            .position(|e| &e.kind == wanted)
            .unwrap_or_else(|| panic!("no {wanted:?} in {context}"))
    };
    // Each successful reply and note is recorded once, at its own time, by
    // its author; nothing else is.
    let mut agent_replies: Vec<&Reply> = outcomes
        .replies
        .iter()
        .filter(|reply| reply.author_role == Role::SupportAgent)
        .collect();
    agent_replies.sort_by_key(|reply| reply.id);
    // Rule 4: a customer's reply only after an agent's.
    for reply in &outcomes.replies {
        if reply.author == customer.id() {
            let first_agent = agent_replies.first().map(|first| first.id);
            assert!(
                first_agent.is_some_and(|first| first < reply.id),
                "customer reply {} before any agent's: {context}",
                reply.id
            );
        }
    }
    for reply in outcomes.replies.iter().chain(&outcomes.notes) {
        let kind = if reply.internal {
            EventKind::Noted { reply_id: reply.id }
        } else {
            EventKind::Replied { reply_id: reply.id }
        };
        let event = &events[position(&kind)];
        assert_eq!((event.actor, event.at), (reply.author, reply.created_at));
    }
    let recorded_replies: BTreeSet<i64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Replied { reply_id } | EventKind::Noted { reply_id } => Some(reply_id),
            _ => None,
        })
        .collect();
    let made: BTreeSet<i64> = outcomes
        .replies
        .iter()
        .chain(&outcomes.notes)
        .map(|reply| reply.id)
        .collect();
    assert_eq!(recorded_replies, made, "{context}");
    assert_eq!(
        reply_ids(store, admin, ticket_id)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        made,
        "no reply of a failed call was kept"
    );
    assert_eq!(
        reply_ids(store, customer, ticket_id).len(),
        outcomes.replies.len()
    );
    // The two PATCHes, in the order they were made, each its events together.
    for (patch, kinds) in outcomes.patches.iter().zip([
        [
            EventKind::PriorityChanged {
                from: Priority::Normal,
                to: Priority::High,
            },
            EventKind::TagsChanged {
                added: vec![tag("race"), tag("vip")],
                removed: vec![],
            },
        ],
        [
            EventKind::PriorityChanged {
                from: Priority::High,
                to: Priority::Urgent,
            },
            EventKind::TagsChanged {
                added: vec![],
                removed: vec![tag("vip")],
            },
        ],
    ]) {
        let at = position(&kinds[0]);
        assert_eq!(events[at + 1].kind, kinds[1], "{context}");
        for event in &events[at..at + 2] {
            assert_eq!((event.actor, event.at), (patcher.id(), patch.updated_at));
        }
    }
    assert_eq!(
        type_names(&events)
            .iter()
            .filter(|&&t| t == "priority_changed" || t == "tags_changed")
            .count(),
        4,
        "{context}"
    );
    // Status and assignment: the first agent reply (if any came before the
    // resolve) opens the ticket and takes it, in its own transaction.
    let status_changes: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::StatusChanged { .. }))
        .collect();
    let assignments: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Assigned { .. }))
        .collect();
    match agent_replies.first() {
        Some(first) => {
            let at = position(&EventKind::Replied { reply_id: first.id });
            let effects: Vec<_> = events[at + 1..at + 3]
                .iter()
                .map(|e| (e.kind.clone(), e.actor, e.at))
                .collect();
            assert_eq!(
                effects,
                [
                    EventKind::StatusChanged {
                        from: TicketStatus::Unattended,
                        to: TicketStatus::Replied,
                    },
                    EventKind::Assigned {
                        from: None,
                        to: Some(first.author),
                    },
                ]
                .map(|kind| (kind, first.author, first.created_at))
                .to_vec(),
                "{context}"
            );
            assert_eq!(status_changes.len(), 2, "{context}");
            assert_eq!(assignments.len(), 1, "{context}");
            assert_eq!(last.assignee, Some(first.author));
            assert_eq!(last.first_response_at, Some(first.created_at));
        }
        None => {
            assert_eq!(status_changes.len(), 1, "{context}");
            assert!(assignments.is_empty(), "{context}");
            assert_eq!(last.assignee, None);
            assert_eq!(last.first_response_at, None);
        }
    }
    let resolve = status_changes.last().expect("the resolve");
    assert_eq!(
        (resolve.actor, resolve.at),
        (customer.id(), resolved_at),
        "{context}"
    );
    assert!(matches!(
        resolve.kind,
        EventKind::StatusChanged {
            to: TicketStatus::Resolved,
            ..
        }
    ));
    // Nothing but notes after the resolve (and the PATCHes, which are
    // allowed on a resolved ticket); no reply stamped after resolvedAt.
    let resolve_at = position(&resolve.kind);
    for event in &events[resolve_at + 1..] {
        assert!(
            !matches!(
                event.kind,
                EventKind::Replied { .. }
                    | EventKind::StatusChanged { .. }
                    | EventKind::Assigned { .. }
            ),
            "{event:?} after the resolve in {context}"
        );
    }
    assert!(
        outcomes
            .replies
            .iter()
            .all(|reply| reply.created_at <= resolved_at),
        "{context}"
    );
    assert_eq!(
        events.len(),
        1 + 4 + made.len() + status_changes.len() + assignments.len(),
        "no event beyond the changes made: {context}"
    );
    assert_eq!(replayed(&events), state_of(&last), "{context}");
    assert_eq!(last.priority, Priority::Urgent);
    assert_eq!(last.tags, Some(tags(&["race"])));
}

both_backends!(
    racing_triage_notes_replies_and_resolve_keep_a_true_history,
    |db| {
        race_workflow(&[db.store()]);
    }
);

both_backends!(two_stores_racing_the_workflow_keep_a_true_history, |db| {
    // Two pools on one database stand for two server processes.
    let url = store::DatabaseUrl::parse(&db.url()).expect("valid url");
    let second = Store::connect(&url, store::StoreOptions::default()).expect("second store");
    race_workflow(&[db.store(), &second]);
});
