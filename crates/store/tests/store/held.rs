//! Held mail and originals at the store's boundary: only staff see them,
//! a customer never (not even whether one exists); held messages listed
//! newest first by cursor until dismissed; a dismissal recorded once, on
//! the ticket's history too, even when two staff dismiss at once; the
//! original bytes of a ticket or reply that came by mail; follow-ups.

use std::collections::HashSet;
use std::sync::Barrier;
use std::time::Duration;

use domain::inbound::{HELD_NOT_THEIRS, InboundMail, LoopSignals};
use domain::tickets::ReplyKind;
use domain::{
    CursorKey, EmailAddress, EventKind, PageRequest, Paging, ReplyBody, TicketId, TicketStatus,
};
use domain::{DestinationPolicy, EventSet, WebhookUrl};
use store::{NewWebhook, Store, Taken, WEBHOOK_CHANNEL};
use testkit::{TestDb, both_backends};

use super::*;

const LIMIT: u32 = 30;

fn mail(key: &str, from: &str, ticket: Option<TicketId>, text: &str) -> InboundMail {
    InboundMail {
        message_key: format!("<{key}@mail.example.com>"),
        from: EmailAddress::parse(from).expect("address"),
        subject: format!("About {key}"),
        text: text.to_owned(),
        signals: LoopSignals::default(),
        addressed_ticket: ticket,
        referenced_ticket: None,
    }
}

fn original(key: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{key}@mail.example.com>\r\nSubject: About {key}\r\n\r\nraw {key} \u{e9}\r\n"
    )
    .into_bytes()
}

fn take(store: &Store, mail: &InboundMail, limit: u32) -> Taken {
    let raw = original(
        mail.message_key
            .trim_matches(['<', '>'])
            .split('@')
            .next()
            .unwrap_or(""),
    );
    store.take_inbound_mail(mail, &raw, limit).expect("taken")
}

/// A ticket opened by mail from a new address, and its customer.
fn opened_by_mail(store: &Store, key: &str, from: &str) -> (TicketId, Actor) {
    let taken = take(
        store,
        &mail(key, from, None, "My printer is on fire"),
        LIMIT,
    );
    assert_eq!(taken.outcome, "created");
    let ticket = taken.ticket_id.expect("a ticket");
    let author = store
        .read_ticket(admin_of(store), ticket)
        .expect("read")
        .ticket
        .author;
    (ticket, Actor::for_tests(author, domain::Role::Customer))
}

fn admin_of(store: &Store) -> Actor {
    actor(store, "held-admin", domain::Role::Admin)
}

/// A message held for `ticket`: its own customer writing again before an
/// agent answered.
fn held_for(store: &Store, key: &str, from: &str, ticket: TicketId) -> i64 {
    let taken = take(store, &mail(key, from, Some(ticket), "Any news?"), LIMIT);
    assert_eq!(taken.outcome, "held", "{taken:?}");
    assert_eq!(taken.ticket_id, Some(ticket));
    taken.held_id.expect("held id")
}

/// A message held for no ticket: its address is over its hourly limit.
fn held_alone(store: &Store, key: &str) -> i64 {
    let taken = take(store, &mail(key, "flood@example.net", None, "Buy now"), 0);
    assert_eq!(taken.outcome, "held", "{taken:?}");
    assert_eq!(taken.ticket_id, None);
    taken.held_id.expect("held id")
}

fn dismissals(store: &Store, viewer: Actor, ticket: TicketId) -> Vec<i64> {
    store
        .list_events(viewer, ticket, PageRequest::new(1, 100).expect("page"))
        .expect("history")
        .items
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::HeldDismissed { held_id } => {
                assert_eq!(event.ticket_id, ticket);
                Some(held_id)
            }
            _ => None,
        })
        .collect()
}

both_backends!(only_staff_see_held_mail_and_what_it_says, |db: &TestDb| {
    let store = db.store();
    let cast = cast(db);
    let (ticket, writer) = opened_by_mail(store, "open", "ada@example.org");
    let for_ticket = held_for(store, "again", "ada@example.org", ticket);
    let alone = held_alone(store, "flood");
    let stranger = take(
        store,
        &mail("stranger", "eve@example.org", Some(ticket), "Let me in"),
        LIMIT,
    );
    assert_eq!(stranger.outcome, "held");

    for staff in [cast.agent, cast.admin] {
        let listed = store
            .list_held(staff, PageRequest::default())
            .expect("staff list held mail");
        let ids: Vec<i64> = listed.items.iter().map(|held| held.id).collect();
        let stranger_id = stranger.held_id.expect("held");
        assert_eq!(ids, [stranger_id, alone, for_ticket], "newest first");

        let read = store.read_held(staff, for_ticket).expect("staff read it");
        assert_eq!(read, listed.items[2]);
        assert_eq!(read.sender_address, "ada@example.org");
        let sender = read.sender.as_ref().expect("the account of the address");
        assert_eq!(sender.id, writer.id());
        assert_eq!(read.ticket_id, Some(ticket));
        assert_eq!(read.subject, "About again");
        assert_eq!(read.body, "Any news?");
        assert!(!read.reason.is_empty());
        assert_eq!(read.dismissed, None);

        let flood = store.read_held(staff, alone).expect("staff read it");
        assert_eq!(flood.sender, None, "no account has this address");
        assert_eq!(flood.ticket_id, None);
        assert!(flood.reason.contains("limit"), "{}", flood.reason);
        let other = store.read_held(staff, stranger_id).expect("read");
        assert_eq!(other.reason, HELD_NOT_THEIRS);

        let of_ticket: Vec<i64> = store
            .ticket_held(staff, ticket)
            .expect("a ticket's held mail")
            .iter()
            .map(|held| held.id)
            .collect();
        assert_eq!(of_ticket, [for_ticket, stranger_id], "oldest first");
        assert_eq!(
            refused(store.ticket_held(staff, TicketId(ticket.0 + 1000))),
            Refusal::NotFound
        );
        // The record of a message that made a ticket is not a held one.
        assert_eq!(
            refused(store.read_held(staff, for_ticket - 1)),
            Refusal::NotFound
        );
        assert_eq!(refused(store.read_held(staff, 999_999)), Refusal::NotFound);
    }

    for customer in [writer, cast.customer] {
        assert!(matches!(
            refused(store.list_held(customer, PageRequest::default())),
            Refusal::Forbidden(_)
        ));
        assert!(matches!(
            refused(store.ticket_held(customer, ticket)),
            Refusal::Forbidden(_)
        ));
        assert_eq!(
            refused(store.read_held(customer, for_ticket)),
            Refusal::NotFound
        );
        assert_eq!(
            refused(store.dismiss_held(customer, for_ticket)),
            Refusal::NotFound
        );
    }
    assert_eq!(
        store
            .read_held(cast.agent, for_ticket)
            .expect("read")
            .dismissed,
        None
    );
});

both_backends!(
    a_dismissal_is_recorded_once_and_on_the_history,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let (ticket, writer) = opened_by_mail(store, "open", "ada@example.org");
        let held = held_for(store, "again", "ada@example.org", ticket);
        let alone = held_alone(store, "flood");

        let dismissed = store.dismiss_held(cast.agent, held).expect("dismissed");
        let (at, by) = dismissed.dismissed.expect("its dismissal");
        assert_eq!(by, cast.agent.id());
        assert_eq!(
            store.read_held(cast.admin, held).expect("still readable"),
            dismissed
        );
        let listed: Vec<i64> = store
            .list_held(cast.admin, PageRequest::default())
            .expect("list")
            .items
            .iter()
            .map(|held| held.id)
            .collect();
        assert_eq!(listed, [alone], "a dismissed message leaves the list");
        assert!(
            store
                .ticket_held(cast.admin, ticket)
                .expect("held")
                .is_empty()
        );

        assert_eq!(dismissals(store, cast.agent, ticket), [held]);
        let event = store
            .list_events(cast.admin, ticket, PageRequest::new(1, 100).expect("page"))
            .expect("history")
            .items
            .pop()
            .expect("the last event");
        assert_eq!(event.kind, EventKind::HeldDismissed { held_id: held });
        assert_eq!((event.at, event.actor), (at, cast.agent.id()));
        assert!(
            dismissals(store, writer, ticket).is_empty(),
            "the customer's history never shows it"
        );

        // Again: nothing changes, the first dismissal stands.
        let again = store.dismiss_held(cast.admin, held).expect("again");
        assert_eq!(again, dismissed);
        assert_eq!(dismissals(store, cast.agent, ticket), [held]);

        // A message held for no ticket: dismissed, on no history.
        let alone_dismissed = store.dismiss_held(cast.admin, alone).expect("dismissed");
        assert_eq!(
            alone_dismissed.dismissed.map(|(_, by)| by),
            Some(cast.admin.id())
        );
        assert!(
            store
                .list_held(cast.agent, PageRequest::default())
                .expect("list")
                .items
                .is_empty()
        );
        assert_eq!(
            refused(store.dismiss_held(cast.agent, 999_999)),
            Refusal::NotFound
        );
    }
);

both_backends!(
    two_staff_dismissing_at_once_record_one_dismissal,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let (ticket, _) = opened_by_mail(store, "open", "ada@example.org");
        for round in 0..4 {
            let held = held_for(store, &format!("again{round}"), "ada@example.org", ticket);
            let start = Barrier::new(2);
            let answers: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = [cast.agent, cast.admin]
                    .into_iter()
                    .map(|staff| {
                        let start = &start;
                        scope.spawn(move || {
                            start.wait();
                            store.dismiss_held(staff, held)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().expect("thread"))
                    .collect()
            });
            let recorded = store.read_held(cast.agent, held).expect("read").dismissed;
            for answer in answers {
                assert_eq!(
                    answer.expect("dismissed").dismissed,
                    recorded,
                    "one dismissal"
                );
            }
            let count = dismissals(store, cast.agent, ticket)
                .iter()
                .filter(|id| **id == held)
                .count();
            assert_eq!(count, 1, "round {round}");
        }
    }
);

both_backends!(held_mail_pages_newest_first_by_cursor, |db: &TestDb| {
    let store = db.store();
    let cast = cast(db);
    let made: Vec<i64> = (0..7)
        .map(|n| held_alone(store, &format!("flood{n}")))
        .collect();
    let mut newest_first = made.clone();
    newest_first.reverse();
    let key = CursorKey::derive(b"the held tests' secret, thirty-two bytes or more");
    let paging = |cursor: Option<&str>| {
        let raw = Paging {
            limit: Some("3"),
            cursor,
            count: cursor.is_none().then_some("true"),
            ..Paging::default()
        };
        PageRequest::of_held(raw, &key, cast.agent).expect("paging")
    };
    let mut request = paging(None);
    let mut page = store.list_held(cast.agent, request).expect("first page");
    assert_eq!(page.total, Some(7));
    let mut seen: Vec<i64> = Vec::new();
    let mut dismissed_between = None;
    loop {
        seen.extend(page.items.iter().map(|held| held.id));
        let Some(next) = page.next else { break };
        // A message dismissed between pages neither repeats nor shifts
        // the next page.
        if dismissed_between.is_none() {
            let last = *seen.last().expect("a row");
            store.dismiss_held(cast.admin, last).expect("dismiss");
            dismissed_between = Some(last);
        }
        let cursor = key.seal(request.binding(), next);
        request = paging(Some(&cursor));
        assert_eq!(request.after(), Some(next));
        page = store.list_held(cast.agent, request).expect("next page");
        assert_eq!(page.total, None);
    }
    assert_eq!(seen, newest_first);
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len());
    // And by number, the dismissed one is gone.
    let whole: Vec<i64> = store
        .list_held(cast.agent, PageRequest::new(1, 100).expect("page"))
        .expect("list")
        .items
        .iter()
        .map(|held| held.id)
        .collect();
    let expected: Vec<i64> = newest_first
        .iter()
        .copied()
        .filter(|id| Some(*id) != dismissed_between)
        .collect();
    assert_eq!(whole, expected);
});

both_backends!(
    originals_and_follow_ups_are_the_mail_as_received,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let (ticket, writer) = opened_by_mail(store, "open", "ada@example.org");
        let web_ticket = open(store, cast.customer, "Opened on the web");
        let answer = store
            .add_reply(
                cast.agent,
                ticket,
                &ReplyBody::parse("Try turning it off").expect("body"),
                ReplyKind::Public,
            )
            .expect("agent reply");
        let taken = take(
            store,
            &mail(
                "reply",
                "ada@example.org",
                Some(ticket),
                "It is still on fire",
            ),
            LIMIT,
        );
        assert_eq!(taken.outcome, "appended");
        let from_mail = taken.reply_id.expect("a reply");

        for staff in [cast.agent, cast.admin] {
            assert_eq!(
                store.ticket_original(staff, ticket).expect("original"),
                original("open")
            );
            assert_eq!(
                store.reply_original(staff, from_mail).expect("original"),
                original("reply")
            );
            assert_eq!(
                store.replies_from_mail(staff, ticket).expect("ids"),
                [from_mail]
            );
            assert_eq!(
                refused(store.reply_original(staff, answer.id)),
                Refusal::NotFound
            );
            assert_eq!(
                refused(store.ticket_original(staff, web_ticket.id)),
                Refusal::NotFound
            );
            assert!(
                store
                    .replies_from_mail(staff, web_ticket.id)
                    .expect("none")
                    .is_empty()
            );
        }
        for customer in [writer, cast.customer] {
            assert_eq!(
                refused(store.ticket_original(customer, ticket)),
                Refusal::NotFound
            );
            assert_eq!(
                refused(store.reply_original(customer, from_mail)),
                Refusal::NotFound
            );
            assert!(matches!(
                refused(store.replies_from_mail(customer, ticket)),
                Refusal::Forbidden(_)
            ));
        }

        // Mail to the resolved ticket opens a follow-up; who may see the
        // ticket sees it.
        assert!(
            store
                .follow_ups(writer, ticket)
                .expect("none yet")
                .is_empty()
        );
        store
            .change_ticket_status(writer, ticket, TicketStatus::Resolved)
            .expect("resolved");
        let follow = take(
            store,
            &mail("later", "ada@example.org", Some(ticket), "It is back"),
            LIMIT,
        );
        assert_eq!(follow.outcome, "created");
        let follow_up = follow.ticket_id.expect("a ticket");
        for viewer in [writer, cast.agent, cast.admin] {
            assert_eq!(
                store.follow_ups(viewer, ticket).expect("follow-ups"),
                [follow_up]
            );
        }
        assert_eq!(
            refused(store.follow_ups(cast.customer, ticket)),
            Refusal::NotFound
        );
        assert!(
            store
                .follow_ups(cast.agent, follow_up)
                .expect("none")
                .is_empty()
        );
        assert_eq!(
            store
                .ticket_original(cast.agent, follow_up)
                .expect("original"),
            original("later")
        );
    }
);

both_backends!(
    a_dismissal_is_announced_to_its_subscribers,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let (ticket, _) = opened_by_mail(store, "open", "ada@example.org");
        let held = held_for(store, "again", "ada@example.org", ticket);
        let alone = held_alone(store, "flood");
        store
            .create_webhook(
                cast.admin,
                &NewWebhook {
                    url: WebhookUrl::parse(
                        "https://hooks.example.com/in",
                        DestinationPolicy::default(),
                    )
                    .expect("url"),
                    events: EventSet::parse(&["ticket.held_dismissed"]).expect("events"),
                    description: "CRM".to_owned(),
                },
            )
            .expect("subscribed");
        store.dismiss_held(cast.agent, held).expect("dismissed");
        store.dismiss_held(cast.agent, held).expect("again");
        store.dismiss_held(cast.agent, alone).expect("no ticket");
        let claimed = store
            .claim_outbox(
                WEBHOOK_CHANNEL,
                10,
                Duration::from_secs(60),
                &HashSet::new(),
            )
            .expect("claim");
        assert_eq!(claimed.len(), 1, "one announcement: {claimed:?}");
        let payload: serde_json::Value =
            serde_json::from_str(&claimed[0].payload).expect("JSON payload");
        assert_eq!(payload["type"], "ticket.held_dismissed");
        assert_eq!(payload["data"]["ticket"]["ticketId"], ticket.0);
        assert_eq!(payload["data"]["event"]["type"], "held_dismissed");
        assert_eq!(
            payload["data"]["event"]["data"],
            serde_json::json!({"heldId": held.to_string()})
        );
    }
);
