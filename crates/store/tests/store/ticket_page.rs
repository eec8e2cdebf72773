//! A ticket's whole page, read in one transaction: each viewer gets exactly
//! what their audience sees of the ticket, its thread and its history, with
//! names for staff only, and what they may do now.

use domain::{
    Audience, CursorKey, Event, PageRequest, Paging, Person, Priority, Refusal, ReplyBody,
    ReplyKind, TagSet, Ticket, TicketChange, TicketRecords, TicketStatus,
};
use testkit::both_backends;

use super::*;

fn key() -> CursorKey {
    CursorKey::derive(b"the ticket page tests' secret, thirty-two bytes or more")
}

/// The first 100 records.
fn everything() -> PageRequest {
    PageRequest::new(1, 100).expect("valid page")
}

fn type_names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|event| event.kind.event_type().as_str())
        .collect()
}

both_backends!(each_viewer_sees_their_part_of_a_ticket_page, |db| {
    let store = db.store();
    let cast = cast(db);
    let ticket = open(store, cast.customer, "the printer is on fire");
    let public = store
        .add_reply(
            cast.agent,
            ticket.id,
            &ReplyBody::parse("Unplug it, please.").expect("valid"),
            ReplyKind::Public,
        )
        .expect("agent reply");
    let note = store
        .add_reply(
            cast.agent,
            ticket.id,
            &ReplyBody::parse("Third fire this month.").expect("valid"),
            ReplyKind::Internal,
        )
        .expect("agent note");
    let tags = TagSet::parse(["fire", "vip"]).expect("valid tags");
    let triaged = store
        .change_ticket(
            cast.agent,
            ticket.id,
            &TicketChange {
                priority: Some(Priority::High),
                assignee: Some(Some(cast.admin.id())),
                tags: Some(tags.clone()),
            },
        )
        .expect("triage");
    let every_event = store
        .list_events(cast.agent, ticket.id, everything())
        .expect("the whole history")
        .items;
    assert_eq!(
        type_names(&every_event),
        [
            "created",
            "replied",
            "status_changed",
            "assigned",
            "noted",
            "priority_changed",
            "assigned",
            "tags_changed"
        ],
        "the history the views are cut from"
    );

    // The customer: no note, no tags, only the events they see, staff
    // known as Support, nobody to assign.
    let seen = store
        .read_ticket_page(cast.customer, ticket.id, everything(), everything())
        .expect("their own ticket");
    assert_eq!(seen.viewer(), cast.customer);
    assert_eq!(seen.replies.items, std::slice::from_ref(&public), "no note");
    assert_eq!(seen.replies.next, None);
    assert_eq!(seen.ticket.ticket.tags, None, "no tags");
    assert_eq!(
        seen.ticket.ticket,
        Ticket {
            tags: None,
            ..triaged.ticket.clone()
        }
    );
    assert_eq!(seen.ticket.status, TicketStatus::Replied);
    assert_eq!(seen.ticket.priority, Priority::High);
    assert!(!seen.ticket.sla_breached);
    assert_eq!(
        type_names(&seen.events.items),
        ["created", "replied", "status_changed", "priority_changed"]
    );
    let customer_events: Vec<Event> = every_event
        .iter()
        .filter(|event| Audience::Customer.sees_event(event.kind.event_type()))
        .cloned()
        .collect();
    assert_eq!(seen.events.items, customer_events);
    assert_eq!(seen.person(cast.agent.id()), Person::Support);
    assert_eq!(seen.person(cast.admin.id()), Person::Support);
    assert_eq!(seen.person(cast.customer.id()), Person::Viewer);
    assert!(seen.actions.resolve, "the owner may resolve it");
    assert!(!seen.actions.note && !seen.actions.triage);
    assert!(seen.assignable.is_empty());
    assert_eq!(seen.ticket.requester, None, "the customer is the requester");

    // The agent: both replies, every event, the tags, everyone's names,
    // and the staff to give it to.
    let staff_view = store
        .read_ticket_page(cast.agent, ticket.id, everything(), everything())
        .expect("staff see every ticket");
    assert_eq!(staff_view.viewer(), cast.agent);
    assert_eq!(staff_view.replies.items, [public.clone(), note]);
    assert_eq!(staff_view.events.items, every_event);
    assert_eq!(staff_view.ticket.ticket.tags, Some(tags));
    assert_eq!(staff_view.ticket.ticket, triaged.ticket);
    assert_eq!(
        staff_view.ticket.requester, triaged.requester,
        "the page shows the requester as the triage answered it"
    );
    assert_eq!(
        staff_view
            .ticket
            .requester
            .as_ref()
            .map(|seen| seen.user.id),
        Some(cast.customer.id())
    );
    assert_eq!(
        staff_view.person(cast.customer.id()),
        Person::Named("kayode".to_owned())
    );
    assert_eq!(
        staff_view.person(cast.admin.id()),
        Person::Named("iambenkay".to_owned())
    );
    assert_eq!(staff_view.person(cast.agent.id()), Person::Viewer);
    assert!(!staff_view.actions.resolve, "only the owner resolves");
    assert!(staff_view.actions.note && staff_view.actions.triage);
    assert!(!staff_view.assignable.is_empty());
    let assignable: Vec<_> = staff_view
        .assignable
        .iter()
        .map(|member| member.id)
        .collect();
    assert!(
        assignable.contains(&cast.agent.id()) && assignable.contains(&cast.admin.id()),
        "{assignable:?}"
    );
    assert!(!assignable.contains(&cast.customer.id()), "{assignable:?}");

    // Another customer: not found, as if there were no such ticket.
    assert_eq!(
        refused(store.read_ticket_page(cast.other_customer, ticket.id, everything(), everything())),
        Refusal::NotFound
    );

    // A page of one reply: the agent has another (the note) to follow;
    // the customer, whose thread is one reply, does not.
    let one_reply = |viewer: Actor| {
        PageRequest::of_ticket_records(
            Paging {
                limit: Some("1"),
                ..Paging::default()
            },
            &key(),
            TicketRecords::Replies,
            ticket.id,
            viewer,
        )
        .expect("valid paging")
    };
    let first = store
        .read_ticket_page(cast.agent, ticket.id, one_reply(cast.agent), everything())
        .expect("a page of one reply");
    assert_eq!(first.replies.items, std::slice::from_ref(&public));
    assert!(first.replies.next.is_some(), "the note follows");
    assert_eq!(first.events.items, every_event, "the history whole");
    let only = store
        .read_ticket_page(
            cast.customer,
            ticket.id,
            one_reply(cast.customer),
            everything(),
        )
        .expect("a page of one reply");
    assert_eq!(only.replies.items, [public]);
    assert_eq!(only.replies.next, None, "no note to hint at");
});
