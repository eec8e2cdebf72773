use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::quoting::trim_quoted;
use super::*;
use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
use crate::sla::SlaTargets;
use crate::workflow::{Priority, TagSet};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn account(actor: Actor, active: bool) -> User {
    User {
        id: actor.id(),
        username: format!("user{}", actor.id()),
        role: actor.role(),
        active,
        email: EmailAddress::parse(format!("user{}@example.com", actor.id())).ok(),
        created_at: now(),
        updated_at: now(),
    }
}

fn ticket(id: i64, status: TicketStatus) -> Ticket {
    Ticket {
        id: TicketId(id),
        subject: Some("printer".into()),
        body: "it jams".into(),
        status,
        author: OWNER.id(),
        created_at: now(),
        updated_at: now(),
        resolved_at: None,
        priority: Priority::Normal,
        assignee: None,
        tags: Some(TagSet::default()),
        first_response_at: None,
        due: SlaTargets::default().due_times(now(), Priority::Normal),
        follow_up_of: None,
    }
}

fn mail() -> InboundMail {
    InboundMail {
        message_key: "<a@mail.example.com>".into(),
        from: EmailAddress::parse("user1@example.com").expect("address"),
        subject: "Re: [#7] printer".into(),
        text: "Thanks, it works now.".into(),
        signals: LoopSignals::default(),
        addressed_ticket: None,
        referenced_ticket: None,
    }
}

fn known(sender: Option<User>, tickets: Vec<Ticket>) -> Known {
    Known {
        already_taken: false,
        sender,
        sent_last_hour: 0,
        sender_limit: DEFAULT_SENDER_LIMIT,
        tickets,
    }
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Held { reason, .. } => reason,
        other => panic!("expected held, got {other:?}"),
    }
}

#[test]
fn a_duplicate_changes_nothing_whatever_else_is_true() {
    let known = Known {
        already_taken: true,
        ..known(Some(account(OWNER, true)), vec![])
    };
    assert_eq!(decide_inbound(&mail(), &known, now()), Outcome::Duplicate);
}

#[test]
fn machine_mail_is_ignored_before_anything_else() {
    let cases = [
        (
            LoopSignals {
                auto_reply: true,
                ..LoopSignals::default()
            },
            Ignored::AutoReply,
        ),
        (
            LoopSignals {
                bulk: true,
                ..LoopSignals::default()
            },
            Ignored::Bulk,
        ),
        (
            LoopSignals {
                bounce: true,
                auto_reply: true,
                ..LoopSignals::default()
            },
            Ignored::Bounce,
        ),
        (
            LoopSignals {
                from_ourselves: true,
                bulk: true,
                ..LoopSignals::default()
            },
            Ignored::OwnMail,
        ),
    ];
    for (signals, expected) in cases {
        let mail = InboundMail { signals, ..mail() };
        // Even from a deactivated account over its limit: nothing is held.
        let known = Known {
            sent_last_hour: 99,
            ..known(Some(account(OWNER, false)), vec![])
        };
        assert_eq!(
            decide_inbound(&mail, &known, now()),
            Outcome::Ignored(expected)
        );
    }
}

#[test]
fn a_deactivated_sender_and_a_sender_over_the_limit_are_held() {
    let replied = ticket(7, TicketStatus::Replied);
    let mail = InboundMail {
        addressed_ticket: Some(TicketId(7)),
        ..mail()
    };
    let outcome = decide_inbound(
        &mail,
        &known(Some(account(OWNER, false)), vec![replied.clone()]),
        now(),
    );
    assert_eq!(reason(&outcome), HELD_DEACTIVATED);
    assert!(matches!(
        outcome,
        Outcome::Held {
            ticket: Some(TicketId(7)),
            ..
        }
    ));
    let over = Known {
        sent_last_hour: 30,
        ..known(Some(account(OWNER, true)), vec![replied.clone()])
    };
    assert!(reason(&decide_inbound(&mail, &over, now())).contains("limit of 30"));
    let under = Known {
        sent_last_hour: 29,
        ..known(Some(account(OWNER, true)), vec![replied])
    };
    assert!(matches!(
        decide_inbound(&mail, &under, now()),
        Outcome::Append { .. }
    ));
}

#[test]
fn a_customers_reply_is_appended_where_the_rules_allow_it_and_held_where_not() {
    let mail = InboundMail {
        referenced_ticket: Some(TicketId(7)),
        ..mail()
    };
    let owner = Some(account(OWNER, true));
    let replied = known(owner.clone(), vec![ticket(7, TicketStatus::Replied)]);
    assert_eq!(
        decide_inbound(&mail, &replied, now()),
        Outcome::Append {
            ticket: TicketId(7),
            author: OWNER
        }
    );
    // Before an agent answered: rule 4's refusal, held on the ticket.
    let unattended = known(owner, vec![ticket(7, TicketStatus::Unattended)]);
    let outcome = decide_inbound(&mail, &unattended, now());
    assert_eq!(
        reason(&outcome),
        "a customer can reply only after a support agent has replied"
    );
    // Another customer's ticket: held, and the reason gives nothing away.
    let stranger = known(
        Some(account(OTHER_CUSTOMER, true)),
        vec![ticket(7, TicketStatus::Replied)],
    );
    assert_eq!(
        reason(&decide_inbound(&mail, &stranger, now())),
        HELD_NOT_THEIRS
    );
    // A new address answering a ticket is no one the ticket knows.
    let unknown = known(None, vec![ticket(7, TicketStatus::Replied)]);
    assert_eq!(
        reason(&decide_inbound(&mail, &unknown, now())),
        HELD_NOT_THEIRS
    );
}

#[test]
fn staff_replies_follow_the_staff_rules() {
    let mail = InboundMail {
        addressed_ticket: Some(TicketId(7)),
        ..mail()
    };
    let open = vec![ticket(7, TicketStatus::Unattended)];
    assert_eq!(
        decide_inbound(
            &mail,
            &known(Some(account(AGENT, true)), open.clone()),
            now()
        ),
        Outcome::Append {
            ticket: TicketId(7),
            author: AGENT
        }
    );
    let admin = decide_inbound(&mail, &known(Some(account(ADMIN, true)), open), now());
    assert_eq!(reason(&admin), "admins do not reply to tickets");
    let resolved = vec![ticket(7, TicketStatus::Resolved)];
    let late = decide_inbound(&mail, &known(Some(account(AGENT, true)), resolved), now());
    assert_eq!(
        reason(&late),
        "the ticket is resolved and takes no more replies"
    );
}

#[test]
fn a_customers_mail_to_their_resolved_ticket_opens_a_follow_up() {
    let mail = InboundMail {
        referenced_ticket: Some(TicketId(7)),
        ..mail()
    };
    let resolved = known(
        Some(account(OWNER, true)),
        vec![ticket(7, TicketStatus::Resolved)],
    );
    assert_eq!(
        decide_inbound(&mail, &resolved, now()),
        Outcome::Create {
            author: Sender::Account(OWNER),
            follow_up_of: Some(TicketId(7)),
        }
    );
    // Someone else's resolved ticket is not theirs to follow up.
    let stranger = known(
        Some(account(OTHER_CUSTOMER, true)),
        vec![ticket(7, TicketStatus::Resolved)],
    );
    assert_eq!(
        reason(&decide_inbound(&mail, &stranger, now())),
        HELD_NOT_THEIRS
    );
}

#[test]
fn a_subject_names_a_ticket_only_for_its_own_customer() {
    let replied = vec![ticket(7, TicketStatus::Replied)];
    // The subject says [#7]; the owner's mail lands on it.
    assert!(matches!(
        decide_inbound(
            &mail(),
            &known(Some(account(OWNER, true)), replied.clone()),
            now()
        ),
        Outcome::Append {
            ticket: TicketId(7),
            ..
        }
    ));
    // Another customer's [#7] is a new ticket of theirs, not a refusal.
    assert_eq!(
        decide_inbound(
            &mail(),
            &known(Some(account(OTHER_CUSTOMER, true)), replied),
            now()
        ),
        Outcome::Create {
            author: Sender::Account(OTHER_CUSTOMER),
            follow_up_of: None,
        }
    );
}

#[test]
fn the_reply_address_wins_over_the_references_and_the_subject() {
    let mail = InboundMail {
        addressed_ticket: Some(TicketId(9)),
        referenced_ticket: Some(TicketId(8)),
        ..mail()
    };
    let tickets = vec![
        ticket(7, TicketStatus::Replied),
        ticket(8, TicketStatus::Replied),
        ticket(9, TicketStatus::Replied),
    ];
    assert!(matches!(
        decide_inbound(
            &mail,
            &known(Some(account(OWNER, true)), tickets.clone()),
            now()
        ),
        Outcome::Append {
            ticket: TicketId(9),
            ..
        }
    ));
    // A reference to a ticket that does not exist is passed over.
    let only_later = tickets
        .into_iter()
        .filter(|t| t.id != TicketId(9))
        .collect();
    assert!(matches!(
        decide_inbound(&mail, &known(Some(account(OWNER, true)), only_later), now()),
        Outcome::Append {
            ticket: TicketId(8),
            ..
        }
    ));
}

#[test]
fn mail_that_answers_no_ticket_opens_one_for_a_customer_only() {
    let mail = InboundMail {
        subject: "Printer on fire".into(),
        ..mail()
    };
    assert_eq!(
        decide_inbound(&mail, &known(None, vec![]), now()),
        Outcome::Create {
            author: Sender::NewCustomer(mail.from.clone()),
            follow_up_of: None,
        }
    );
    for staff in [AGENT, ADMIN] {
        let outcome = decide_inbound(&mail, &known(Some(account(staff, true)), vec![]), now());
        assert!(matches!(outcome, Outcome::Held { ticket: None, .. }));
    }
}

#[test]
fn subjects_and_bodies_are_fitted() {
    let blank = InboundMail {
        subject: "  ".into(),
        text: "\n \n".into(),
        ..mail()
    };
    assert_eq!(blank.ticket_subject(), NO_SUBJECT);
    assert_eq!(blank.body(false), NO_TEXT);
    let long = "é".repeat(BODY_MAX_CHARS + 10);
    let fitted = fit_body(&long);
    assert_eq!(fitted.chars().count(), BODY_MAX_CHARS);
    assert!(fitted.ends_with(CUT_MARKER));
    assert!(crate::values::TicketBody::parse(fitted).is_ok());
    assert_eq!(fit_body("a\0b"), "ab");
    let subject = InboundMail {
        subject: "x".repeat(300),
        ..mail()
    };
    assert!(crate::values::Subject::parse(subject.ticket_subject()).is_ok());
    let subject = |text: &str| {
        InboundMail {
            subject: text.into(),
            ..mail()
        }
        .ticket_subject()
    };
    assert_eq!(subject("Re: [#7] Printer"), "Printer");
    assert_eq!(subject("RE: AW: Fwd: [#7]  Printer jams"), "Printer jams");
    assert_eq!(subject("Re: Re: [#12] [#12] Re: x"), "x");
    assert_eq!(subject("[#7]"), NO_SUBJECT);
    // Only marks before the subject, and only ours: the rest stays.
    assert_eq!(subject("Invoice [#7] Re: x"), "Invoice [#7] Re: x");
    assert_eq!(subject("Reason: refund"), "Reason: refund");
    assert_eq!(subject("[#abc] x"), "[#abc] x");
    let record = InboundMail {
        subject: "Re: [#7] Printer".into(),
        ..mail()
    };
    assert_eq!(record.record_subject(), "Re: [#7] Printer");
}

#[test]
fn the_ticket_in_a_subject_is_the_first_well_formed_one() {
    assert_eq!(ticket_in_subject("Re: [#123] Printer"), Some(TicketId(123)));
    assert_eq!(
        ticket_in_subject("[#] [#x1] [#0] [#45]"),
        Some(TicketId(45))
    );
    assert_eq!(ticket_in_subject("#123 [123] [#12"), None);
    assert_eq!(ticket_in_subject("[#99999999999999999999]"), None);
}

#[test]
fn usernames_come_from_the_local_part() {
    let names = |address: &str| -> Vec<String> {
        usernames_for(&EmailAddress::parse(address).expect("address"))
            .take(3)
            .map(|name| name.as_str().to_owned())
            .collect()
    };
    assert_eq!(names("ada.l@example.com"), ["ada.l", "ada.l-2", "ada.l-3"]);
    assert_eq!(names("o'brien+x@example.com")[0], "o-brien-x");
    assert_eq!(names("__@example.com")[0], "customer");
}

#[test]
fn quoted_text_is_trimmed_where_recognised() {
    let cases = [
        (
            "Still broken.\n\nOn Mon, 7 Dec 2026 at 10:00, Support <support@example.com> wrote:\n> Try again\n",
            "Still broken.",
        ),
        (
            "Still broken.\r\n\r\nOn Mon, Dec 7, 2026 at 10:00 AM Support Team <\r\nsupport@example.com> wrote:\r\n> Try again\r\n",
            "Still broken.",
        ),
        (
            "Fixed, thanks\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: x\n\nTry again",
            "Fixed, thanks",
        ),
        (
            "Fixed\n\n________________________________\nFrom: Support <s@example.com>\nSent: Monday, December 7, 2026 10:00\nTo: me\nSubject: [#7] x\n",
            "Fixed",
        ),
        (
            "Merci\n\nLe lun. 7 déc. 2026 à 10:00, Support <s@example.com> a écrit :\n> x",
            "Merci",
        ),
        ("Yes\n\n> did it work?\n>\n> thanks\n", "Yes"),
        // Interleaved answers stay whole: the quote does not end the mail.
        (
            "> did it work?\nYes\n> anything else?\nNo\n",
            "> did it work?\nYes\n> anything else?\nNo\n",
        ),
        // Below the quote (Thunderbird's default): what follows it.
        (
            "On 12/7/26 10:00, Support wrote:\n> Try again\n>\n> -- \n\nDone, but it reads E-04.\n\nJ\n",
            "Done, but it reads E-04.\n\nJ",
        ),
        (
            "\r\nOn Mon, Dec 7, 2026 at 10:00 AM Support Team <\r\nsupport@example.com> wrote:\r\n> Try again\r\nDone.\r\n",
            "Done.",
        ),
        // ... but not when the answers are interleaved below it.
        (
            "On Mon, Support wrote:\n> did it work?\nYes\n> anything else?\nNo\n",
            "On Mon, Support wrote:\n> did it work?\nYes\n> anything else?\nNo\n",
        ),
        // Nor below a line that only looks like an attribution.
        (
            "On second thought:\n> x\nfine\n",
            "On second thought:\n> x\nfine\n",
        ),
        // A mail that is all quote is kept as it is.
        (
            "On Mon, Support wrote:\n> x\n",
            "On Mon, Support wrote:\n> x\n",
        ),
        (
            "No quote at all.\nOn second thought, fine.",
            "No quote at all.\nOn second thought, fine.",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(trim_quoted(text), expected, "{text:?}");
    }
}

fn any_actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(vec![OWNER, OTHER_CUSTOMER, AGENT, ADMIN])
}

fn any_status() -> impl Strategy<Value = TicketStatus> {
    prop::sample::select(vec![
        TicketStatus::Unattended,
        TicketStatus::Replied,
        TicketStatus::Resolved,
    ])
}

fn any_signals() -> impl Strategy<Value = LoopSignals> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(auto_reply, bulk, bounce, from_ourselves)| LoopSignals {
            auto_reply,
            bulk,
            bounce,
            from_ourselves,
        },
    )
}

prop_compose! {
    fn any_case()(
        sender in prop::option::of((any_actor(), any::<bool>())),
        tickets in prop::collection::vec((1i64..5, any_status(), any_actor()), 0..4),
        addressed in prop::option::of(1i64..6),
        referenced in prop::option::of(1i64..6),
        subject_ticket in prop::option::of(1i64..6),
        signals in prop_oneof![3 => Just(LoopSignals::default()), 1 => any_signals()],
        already_taken in prop::bool::weighted(0.1),
        sent_last_hour in 0u32..40,
    ) -> (InboundMail, Known) {
        let subject = match subject_ticket {
            Some(id) => format!("Re: [#{id}] x"),
            None => "hello".to_owned(),
        };
        let mail = InboundMail {
            subject,
            signals,
            addressed_ticket: addressed.map(TicketId),
            referenced_ticket: referenced.map(TicketId),
            ..mail()
        };
        let mut seen = Vec::new();
        let tickets = tickets
            .into_iter()
            .filter(|(id, _, _)| {
                let first = !seen.contains(id);
                seen.push(*id);
                first
            })
            .map(|(id, status, author)| Ticket {
                author: author.id(),
                ..ticket(id, status)
            })
            .collect();
        let known = Known {
            already_taken,
            sent_last_hour,
            ..known(sender.map(|(actor, active)| account(actor, active)), tickets)
        };
        (mail, known)
    }
}

proptest! {
    /// A duplicate never changes anything; nothing else is a duplicate.
    #[test]
    fn only_a_message_taken_before_is_a_duplicate((mail, known) in any_case()) {
        let outcome = decide_inbound(&mail, &known, now());
        prop_assert_eq!(outcome == Outcome::Duplicate, known.already_taken);
    }

    /// A message is appended only where its sender may write that reply
    /// over HTTP, and only to a ticket it names.
    #[test]
    fn a_message_is_appended_only_where_the_sender_may_reply((mail, known) in any_case()) {
        if let Outcome::Append { ticket, author } = decide_inbound(&mail, &known, now()) {
            let found = known.tickets.iter().find(|t| t.id == ticket);
            prop_assert!(found.is_some());
            let found = found.expect("checked above");
            prop_assert!(decide_reply(author, found.facts(), ReplyKind::Public, now()).is_ok());
            prop_assert!(mail.candidate_tickets().contains(&ticket));
            let sender = known.sender.as_ref().expect("an account appends");
            prop_assert!(sender.active && sender.id == author.id() && sender.role == author.role());
        }
    }

    /// Machine mail never makes a ticket or a reply, and nothing that is
    /// not a duplicate goes unrecorded: every other outcome is one the
    /// store records.
    #[test]
    fn machine_mail_changes_no_ticket((mail, known) in any_case()) {
        let outcome = decide_inbound(&mail, &known, now());
        let machine = mail.signals != LoopSignals::default();
        if machine && !known.already_taken {
            prop_assert!(matches!(outcome, Outcome::Ignored(_)));
        }
        if !machine && !known.already_taken {
            let recorded = matches!(
                outcome,
                Outcome::Held { .. } | Outcome::Append { .. } | Outcome::Create { .. }
            );
            prop_assert!(recorded);
        }
    }

    /// Only a customer opens a ticket by mail, a follow-up only of their
    /// own resolved ticket; a deactivated account opens nothing.
    #[test]
    fn only_customers_open_tickets((mail, known) in any_case()) {
        if let Outcome::Create { author, follow_up_of } = decide_inbound(&mail, &known, now()) {
            match author {
                Sender::Account(actor) => {
                    prop_assert_eq!(actor.role(), Role::Customer);
                    prop_assert!(known.sender.as_ref().is_some_and(|user| user.active));
                    if let Some(of) = follow_up_of {
                        let resolved = known.tickets.iter().find(|t| t.id == of);
                        prop_assert!(resolved.is_some_and(|t| t.author == actor.id()
                            && t.status == TicketStatus::Resolved));
                    }
                }
                Sender::NewCustomer(address) => {
                    prop_assert!(known.sender.is_none());
                    prop_assert_eq!(address, mail.from.clone());
                    prop_assert!(follow_up_of.is_none());
                }
            }
        }
    }

    /// Trimming keeps a leading part of the text, or what follows a quote
    /// that opens it (only an attribution, `>` lines and blank lines
    /// before it, and no `>` line in it); never nothing.
    #[test]
    fn trimming_keeps_a_leading_part_or_what_follows_an_opening_quote(text in "(On x wrote:|> q|-----Original Message-----|From: a|Sent: b|Subject: c|[a-z ]{0,8}|\r?\n){0,12}") {
        let trimmed = trim_quoted(&text);
        prop_assert!(!trimmed.trim().is_empty() || text.trim().is_empty() || trimmed == text);
        if !text.starts_with(trimmed) {
            let start = text.find(trimmed).expect("a part of the text");
            let before = &text[..start];
            prop_assert!(before.lines().all(|line| {
                let line = line.trim();
                line.is_empty() || line.starts_with('>') || line == "On x wrote:"
            }), "{:?} before {:?}", before, trimmed);
            prop_assert!(trimmed.lines().all(|line| !line.trim_start().starts_with('>')));
        }
    }
}
