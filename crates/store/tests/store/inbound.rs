//! Taking inbound mail at the store's boundary: each outcome writes what
//! it says and nothing else, a message taken twice (at once, too) makes
//! one change, and a new sender becomes one customer without a PIN.

use std::sync::Barrier;

use domain::inbound::{InboundMail, LoopSignals};
use domain::{EmailAddress, ListTickets, PageRequest, ReplyBody, ReplyKind, UserChange};
use store::Taken;
use testkit::both_backends;

use super::*;

const LIMIT: u32 = 30;

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).expect("an address")
}

/// Gives `actor`'s account the address `text`.
fn with_address(store: &Store, admin: Actor, actor: Actor, text: &str) {
    let change = UserChange {
        email: Some(Some(address(text))),
        ..UserChange::default()
    };
    store
        .update_user(admin, actor.id(), &change)
        .expect("set the address");
}

fn mail(key: &str, from: &str, subject: &str, text: &str) -> InboundMail {
    InboundMail {
        message_key: format!("<{key}>"),
        from: address(from),
        subject: subject.to_owned(),
        text: text.to_owned(),
        signals: LoopSignals::default(),
        addressed_ticket: None,
        referenced_ticket: None,
    }
}

fn take(store: &Store, mail: &InboundMail) -> Taken {
    store
        .take_inbound_mail(mail, b"the original bytes", LIMIT)
        .expect("taken")
}

fn tickets_of(store: &Store, actor: Actor) -> Vec<domain::SeenTicket> {
    store
        .list_tickets(actor, &ListTickets::default())
        .expect("list")
        .items
}

both_backends!(
    a_new_address_opens_a_ticket_as_a_new_customer_without_a_pin,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let taken = take(
            store,
            &mail("n1@x", "New.Person@Example.org", "Printer", "It jams."),
        );
        assert_eq!(taken.outcome, "created");
        let ticket = store
            .read_ticket(cast.agent, taken.ticket_id.expect("a ticket"))
            .expect("read");
        assert_eq!(ticket.subject.as_deref(), Some("Printer"));
        assert_eq!(ticket.body, "It jams.");
        let requester = ticket.requester.clone().expect("staff see the requester");
        assert_eq!(requester.user.username, "new.person");
        assert_eq!(
            requester.user.email.as_ref().map(EmailAddress::as_str),
            Some("new.person@example.org")
        );
        // No PIN: no PIN signs in.
        let login = store.log_in(
            hashing(store),
            &domain::Credentials::parse("new.person".into(), PIN.into()).expect("credentials"),
            None,
            None,
        );
        assert!(login.is_err(), "{login:?}");
        // A second new address with the same local part gets another name.
        let second = take(
            store,
            &mail("n2@x", "new.person@example.com", "Again", "Hi"),
        );
        let ticket = store
            .read_ticket(cast.agent, second.ticket_id.expect("a ticket"))
            .expect("read");
        assert_eq!(
            ticket.requester.clone().expect("requester").user.username,
            "new.person-2"
        );
    }
);

both_backends!(
    a_message_taken_twice_changes_nothing_the_second_time,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let first = take(
            store,
            &mail("d1@x", "dup@example.org", "Once", "Only once."),
        );
        let before = testkit::fingerprint::fingerprint(store).expect("fingerprint");
        let again = take(
            store,
            &mail("d1@x", "dup@example.org", "Once", "Only once."),
        );
        assert_eq!(again.outcome, "duplicate");
        assert_eq!(again.ticket_id, first.ticket_id);
        assert_eq!(
            testkit::fingerprint::fingerprint(store).expect("fingerprint"),
            before
        );
        assert_eq!(tickets_of(store, cast.agent).len(), 1);
    }
);

both_backends!(the_same_message_taken_at_once_makes_one_change, |db| {
    let store = db.store();
    let cast = cast(db);
    let message = mail("race@x", "racer@example.org", "Race", "At once.");
    let barrier = Barrier::new(8);
    let outcomes: Vec<&'static str> = std::thread::scope(|scope| {
        let takers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    loop {
                        match store.take_inbound_mail(&message, b"raw", LIMIT) {
                            Ok(taken) => return taken.outcome,
                            // SQLite's writer turn, or the new account met
                            // at the same moment: a door answers 503 and
                            // the mail server delivers again.
                            Err(StoreError::Unavailable(_)) => continue,
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                })
            })
            .collect();
        takers
            .into_iter()
            .map(|taker| taker.join().expect("no panic"))
            .collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| **o == "created").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "duplicate").count(),
        7,
        "{outcomes:?}"
    );
    assert_eq!(tickets_of(store, cast.agent).len(), 1);
});

both_backends!(
    replies_follow_the_rules_and_what_they_refuse_is_held,
    |db| {
        let store = db.store();
        let cast = cast(db);
        with_address(store, cast.admin, cast.customer, "kayode@example.org");
        with_address(store, cast.admin, cast.agent, "benjamin@example.com");
        let ticket = open(store, cast.customer, "The printer jams").id;
        let reply_to = |key: &str, from: &str, text: &str| InboundMail {
            referenced_ticket: Some(ticket),
            ..mail(key, from, "Re: printer", text)
        };
        // Before an agent answered: held on the ticket, with rule 4's words.
        let early = take(store, &reply_to("r1@x", "kayode@example.org", "Any news?"));
        assert_eq!(early.outcome, "held");
        assert_eq!(early.ticket_id, Some(ticket));
        assert!(early.held_id.is_some());
        // The agent answers by mail: a public reply, as over HTTP.
        let answer = take(
            store,
            &reply_to(
                "r2@x",
                "benjamin@example.com",
                "Try turning it off.\n\nOn Mon, Kayode wrote:\n> The printer jams",
            ),
        );
        assert_eq!(answer.outcome, "appended");
        let seen = store.read_ticket(cast.customer, ticket).expect("read");
        assert_eq!(seen.status, domain::TicketStatus::Replied);
        assert_eq!(seen.assignee, Some(cast.agent.id()));
        let replies = store
            .list_replies(cast.customer, ticket, PageRequest::default())
            .expect("replies")
            .items;
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].body, "Try turning it off.");
        assert_eq!(replies[0].author, cast.agent.id());
        assert_eq!(Some(replies[0].id), answer.reply_id);
        // Now the customer's reply lands.
        let thanks = take(store, &reply_to("r3@x", "kayode@example.org", "It works."));
        assert_eq!(thanks.outcome, "appended");
        // Another customer's mail to the ticket is held, and writes nothing on it.
        with_address(store, cast.admin, cast.other_customer, "tolu@example.org");
        let stranger = take(store, &reply_to("r4@x", "tolu@example.org", "Me too"));
        assert_eq!(stranger.outcome, "held");
        let replies = store
            .list_replies(cast.agent, ticket, PageRequest::default())
            .expect("replies")
            .items;
        assert_eq!(replies.len(), 2);
    }
);

both_backends!(
    a_customers_mail_to_a_resolved_ticket_opens_a_follow_up,
    |db| {
        let store = db.store();
        let cast = cast(db);
        with_address(store, cast.admin, cast.customer, "kayode@example.org");
        let ticket = open(store, cast.customer, "Broken").id;
        store
            .add_reply(
                cast.agent,
                ticket,
                &ReplyBody::parse("Fixed").expect("body"),
                ReplyKind::Public,
            )
            .expect("reply");
        store
            .change_ticket_status(cast.customer, ticket, domain::TicketStatus::Resolved)
            .expect("resolve");
        let taken = take(
            store,
            &InboundMail {
                referenced_ticket: Some(ticket),
                ..mail("f1@x", "kayode@example.org", "Re: Broken", "Broken again.")
            },
        );
        assert_eq!(taken.outcome, "created");
        let follow_up = taken.ticket_id.expect("a ticket");
        assert_ne!(follow_up, ticket);
        let seen = store.read_ticket(cast.customer, follow_up).expect("read");
        assert_eq!(seen.follow_up_of, Some(ticket));
        assert_eq!(seen.author, cast.customer.id());
        assert_eq!(seen.body, "Broken again.");
    }
);

both_backends!(
    machine_mail_and_senders_over_the_limit_change_no_ticket,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let bounce = InboundMail {
            signals: LoopSignals {
                bounce: true,
                ..LoopSignals::default()
            },
            ..mail("b1@x", "mailer-daemon@example.org", "Undelivered", "550")
        };
        let taken = take(store, &bounce);
        assert_eq!(taken.outcome, "ignored");
        assert_eq!(taken.ticket_id, None);
        // Nobody was made of the bounce's sender.
        assert_eq!(
            store
                .list_users(cast.admin, &domain::ListUsers::default())
                .expect("users")
                .items
                .len(),
            4
        );
        // Three an hour: the fourth is held.
        let outcomes: Vec<&str> = (0..4)
            .map(|n| {
                store
                    .take_inbound_mail(
                        &mail(&format!("l{n}@x"), "chatty@example.org", "Hi", "Hello"),
                        b"raw",
                        3,
                    )
                    .expect("taken")
                    .outcome
            })
            .collect();
        assert_eq!(outcomes, ["created", "created", "created", "held"]);
        assert_eq!(tickets_of(store, cast.agent).len(), 3);
    }
);

both_backends!(
    staff_mail_that_answers_no_ticket_and_deactivated_senders_are_held,
    |db| {
        let store = db.store();
        let cast = cast(db);
        with_address(store, cast.admin, cast.agent, "benjamin@example.com");
        let taken = take(store, &mail("s1@x", "benjamin@example.com", "Hi", "New?"));
        assert_eq!(taken.outcome, "held");
        with_address(store, cast.admin, cast.other_customer, "tolu@example.org");
        store
            .update_user(
                cast.admin,
                cast.other_customer.id(),
                &UserChange {
                    active: Some(false),
                    ..UserChange::default()
                },
            )
            .expect("deactivate");
        let taken = take(store, &mail("s2@x", "tolu@example.org", "Hi", "Still me"));
        assert_eq!(taken.outcome, "held");
        assert!(tickets_of(store, cast.agent).is_empty());
    }
);

both_backends!(a_large_original_is_kept_byte_for_byte, |db| {
    let store = db.store();
    let cast = cast(db);
    with_address(store, cast.admin, cast.agent, "benjamin@example.com");
    // Staff mail that answers no ticket is held: its original is readable.
    let original: Vec<u8> = (0..600 * 1024 + 3).map(|n: u32| (n % 251) as u8).collect();
    let held = store
        .take_inbound_mail(
            &mail("big@x", "benjamin@example.com", "Logs", "attached"),
            &original,
            LIMIT,
        )
        .expect("taken");
    let id = held.held_id.expect("held");
    assert_eq!(
        store.held_original(cast.agent, id).expect("original"),
        original
    );
    // An empty message stays empty.
    let empty = store
        .take_inbound_mail(&mail("empty@x", "benjamin@example.com", "", ""), b"", LIMIT)
        .expect("taken");
    let id = empty.held_id.expect("held");
    assert!(
        store
            .held_original(cast.agent, id)
            .expect("original")
            .is_empty()
    );
});
