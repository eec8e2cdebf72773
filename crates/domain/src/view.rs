//! A ticket as one viewer sees it, whole: its fields, a page of its thread
//! and of its history, the names on them, and what the viewer may do now.
//! The store reads what this needs in one transaction and assembles it
//! here, where the audience and the rules decide everything in it, so the
//! doors that show a ticket (the pages, and mail) only render it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::audience::{Audience, Person, SeenTicket, may_view_ticket, person_as_seen, see_ticket};
use crate::entities::{Reply, Ticket, User};
use crate::history::{Event, EventKind};
use crate::ids::UserId;
use crate::paging::Page;
use crate::refusal::Refusal;
use crate::roles::Actor;
use crate::tickets::{ReplyKind, Resolution, decide_reply, decide_status_change};
use crate::triage::may_triage;
use crate::workflow::TicketStatus;

/// A staff member a ticket can be given to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: UserId,
    pub username: String,
}

/// What the store found of the people on a ticket, for a viewer who may
/// know them (staff); a customer's is empty, and ignored if it is not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// The usernames behind the ids a ticket's page names.
    pub usernames: HashMap<UserId, String>,
    /// The active staff, to give the ticket to.
    pub assignable: Vec<StaffMember>,
    /// The account that opened the ticket, shown beside it.
    pub requester: Option<User>,
}

/// What the viewer may do to the ticket now, as the rules answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// A public reply, or why not.
    pub reply: Result<(), Refusal>,
    /// An internal note.
    pub note: bool,
    /// Resolving it (a ticket resolved already cannot be).
    pub resolve: bool,
    /// Changing its priority, assignee and tags.
    pub triage: bool,
}

/// A ticket's page as one viewer sees it, at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    viewer: Actor,
    pub ticket: SeenTicket,
    /// A page of the thread, oldest first: never a note the viewer may not
    /// see.
    pub replies: Page<Reply>,
    /// A page of the history, oldest first: only events the viewer sees.
    pub events: Page<Event>,
    pub actions: Actions,
    /// Who the ticket can be given to (staff viewers only).
    pub assignable: Vec<StaffMember>,
    usernames: HashMap<UserId, String>,
}

impl TicketView {
    /// Who the page is for.
    pub fn viewer(&self) -> Actor {
        self.viewer
    }

    /// Someone on the ticket as the viewer knows them.
    pub fn person(&self, id: UserId) -> Person {
        person_as_seen(
            self.viewer,
            self.ticket.ticket.author,
            id,
            self.usernames.get(&id).map(String::as_str),
        )
    }
}

/// The people a page of a ticket names (its author and assignee, the
/// replies' authors, who did what and to whom), each once: whose usernames
/// a staff viewer's directory looks up.
pub fn people_on(ticket: &Ticket, replies: &[Reply], events: &[Event]) -> Vec<UserId> {
    let mut ids = vec![ticket.author];
    ids.extend(ticket.assignee);
    ids.extend(replies.iter().map(|reply| reply.author));
    for event in events {
        ids.push(event.actor);
        if let EventKind::Assigned { from, to } = &event.kind {
            ids.extend(from.iter().chain(to.iter()));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The page `viewer` sees of `ticket`, with the pages of its thread and
/// history and the directory the store read, at `now`. Anything the
/// audience does not see is left out here whatever was read; a ticket the
/// viewer may not see is not found.
pub fn view_ticket(
    viewer: Actor,
    ticket: Ticket,
    replies: Page<Reply>,
    events: Page<Event>,
    directory: Directory,
    now: DateTime<Utc>,
) -> Result<TicketView, Refusal> {
    let facts = ticket.facts();
    may_view_ticket(viewer, facts)?;
    let audience = Audience::of(viewer);
    let replies = Page {
        items: replies
            .items
            .into_iter()
            .filter(|reply| !reply.internal || audience.sees_notes())
            .collect(),
        ..replies
    };
    let events = Page {
        items: events
            .items
            .into_iter()
            .filter(|event| audience.sees_event(event.kind.event_type()))
            .collect(),
        ..events
    };
    let directory = match audience.sees_usernames() {
        true => directory,
        false => Directory::default(),
    };
    let actions = Actions {
        reply: decide_reply(viewer, facts, ReplyKind::Public, now).map(|_| ()),
        note: decide_reply(viewer, facts, ReplyKind::Internal, now).is_ok(),
        resolve: matches!(
            decide_status_change(viewer, facts, TicketStatus::Resolved, now),
            Ok(Resolution::Resolve { .. })
        ),
        triage: may_triage(viewer, facts).is_ok(),
    };
    Ok(TicketView {
        viewer,
        ticket: see_ticket(viewer, ticket, directory.requester, now),
        replies,
        events,
        actions,
        assignable: directory.assignable,
        usernames: directory.usernames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventType;
    use crate::ids::TicketId;
    use crate::roles::Role;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
    use crate::sla::SlaTargets;
    use crate::workflow::{Priority, Tag, TagSet};
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    fn ticket(status: TicketStatus, assignee: Option<UserId>) -> Ticket {
        Ticket {
            id: TicketId(7),
            subject: Some("Printer on fire".to_owned()),
            body: "It is on fire".to_owned(),
            status,
            author: OWNER.id(),
            created_at: at(0),
            updated_at: at(0),
            resolved_at: None,
            priority: Priority::High,
            assignee,
            tags: Some(TagSet::from_tags(vec![Tag::parse("vip").expect("tag")])),
            first_response_at: (status != TicketStatus::Unattended).then(|| at(10)),
            due: SlaTargets::default().due_times(at(0), Priority::High),
            follow_up_of: None,
        }
    }

    fn reply(id: i64, author: Actor, internal: bool) -> Reply {
        Reply {
            id,
            ticket_id: TicketId(7),
            body: format!("reply {id}"),
            author: author.id(),
            author_role: author.role(),
            internal,
            created_at: at(id),
            updated_at: at(id),
        }
    }

    fn event(id: i64, kind: EventKind, actor: Actor) -> Event {
        Event {
            id,
            ticket_id: TicketId(7),
            kind,
            actor: actor.id(),
            at: at(id),
        }
    }

    fn page<T>(items: Vec<T>) -> Page<T> {
        Page {
            items,
            next: None,
            total: None,
        }
    }

    fn every_kind() -> Vec<EventKind> {
        vec![
            EventKind::Created {},
            EventKind::Replied { reply_id: 1 },
            EventKind::Noted { reply_id: 2 },
            EventKind::StatusChanged {
                from: TicketStatus::Unattended,
                to: TicketStatus::Replied,
            },
            EventKind::PriorityChanged {
                from: Priority::Normal,
                to: Priority::High,
            },
            EventKind::Assigned {
                from: None,
                to: Some(AGENT.id()),
            },
            EventKind::TagsChanged {
                added: vec![Tag::parse("vip").expect("tag")],
                removed: vec![],
            },
            EventKind::HeldDismissed { held_id: 3 },
        ]
    }

    fn directory() -> Directory {
        Directory {
            usernames: HashMap::from([
                (OWNER.id(), "kayode".to_owned()),
                (AGENT.id(), "benjamin".to_owned()),
                (ADMIN.id(), "iambenkay".to_owned()),
            ]),
            assignable: vec![StaffMember {
                id: AGENT.id(),
                username: "benjamin".to_owned(),
            }],
            requester: Some(User {
                id: OWNER.id(),
                username: "kayode".to_owned(),
                role: Role::Customer,
                active: true,
                email: Some(crate::EmailAddress::parse("kayode@example.com").expect("valid")),
                created_at: at(0),
                updated_at: at(0),
            }),
        }
    }

    fn view(viewer: Actor, status: TicketStatus) -> Result<TicketView, Refusal> {
        let events = every_kind()
            .into_iter()
            .zip(1..)
            .map(|(kind, id)| event(id, kind, AGENT))
            .collect();
        view_ticket(
            viewer,
            ticket(status, Some(AGENT.id())),
            page(vec![reply(1, AGENT, false), reply(2, AGENT, true)]),
            page(events),
            directory(),
            at(100),
        )
    }

    #[test]
    fn a_customer_sees_no_note_tag_hidden_event_or_name() {
        let seen = view(OWNER, TicketStatus::Replied).expect("their own ticket");
        assert_eq!(seen.replies.items, [reply(1, AGENT, false)]);
        assert_eq!(seen.ticket.ticket.tags, None);
        let types: Vec<EventType> = seen
            .events
            .items
            .iter()
            .map(|e| e.kind.event_type())
            .collect();
        assert_eq!(types, Audience::Customer.event_types());
        assert_eq!(seen.person(AGENT.id()), Person::Support);
        assert_eq!(seen.person(OWNER.id()), Person::Viewer);
        assert!(seen.assignable.is_empty());
        assert_eq!(seen.ticket.requester, None, "a customer is the requester");
        // What every viewer sees of the ticket itself.
        assert_eq!(seen.ticket.ticket.assignee, Some(AGENT.id()));
        assert_eq!(
            seen.ticket.ticket.due,
            ticket(TicketStatus::Replied, None).due
        );
    }

    #[test]
    fn staff_see_the_whole_ticket_with_names() {
        for viewer in [AGENT, ADMIN] {
            let seen = view(viewer, TicketStatus::Replied).expect("staff see every ticket");
            assert_eq!(seen.replies.items.len(), 2);
            assert_eq!(seen.events.items.len(), EventType::ALL.len());
            assert!(seen.ticket.ticket.tags.is_some());
            assert_eq!(seen.person(OWNER.id()), Person::Named("kayode".to_owned()));
            assert_eq!(seen.assignable.len(), 1);
            let requester = seen.ticket.requester.expect("staff see the requester");
            assert_eq!(requester.user.username, "kayode");
            assert!(requester.shows_email);
            assert_eq!(
                requester
                    .user
                    .email
                    .map(|address| address.as_str().to_owned()),
                Some("kayode@example.com".to_owned())
            );
        }
    }

    #[test]
    fn another_customers_ticket_is_not_found() {
        assert_eq!(
            view(OTHER_CUSTOMER, TicketStatus::Replied),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn the_actions_are_the_rules_answers_at_the_read() {
        let customer = view(OWNER, TicketStatus::Unattended).expect("visible");
        assert!(matches!(customer.actions.reply, Err(Refusal::Conflict(_))));
        assert!(customer.actions.resolve);
        assert!(!customer.actions.note && !customer.actions.triage);
        let agent = view(AGENT, TicketStatus::Unattended).expect("visible");
        assert_eq!(agent.actions.reply, Ok(()));
        assert!(agent.actions.note && agent.actions.triage && !agent.actions.resolve);
        let admin = view(ADMIN, TicketStatus::Replied).expect("visible");
        assert!(matches!(admin.actions.reply, Err(Refusal::Forbidden(_))));
        assert!(admin.actions.note && admin.actions.triage);
        let resolved = view(OWNER, TicketStatus::Resolved).expect("visible");
        assert!(!resolved.actions.resolve);
        assert!(matches!(resolved.actions.reply, Err(Refusal::Conflict(_))));
    }

    #[test]
    fn the_breach_verdict_is_the_reads() {
        let late = ticket(TicketStatus::Unattended, None);
        let due = late.due.first_response;
        let before = view_ticket(
            OWNER,
            late.clone(),
            page(vec![]),
            page(vec![]),
            Directory::default(),
            due,
        )
        .expect("visible");
        let after = view_ticket(
            OWNER,
            late,
            page(vec![]),
            page(vec![]),
            Directory::default(),
            due + chrono::TimeDelta::seconds(1),
        )
        .expect("visible");
        assert!(!before.ticket.sla_breached);
        assert!(after.ticket.sla_breached);
    }

    #[test]
    fn the_people_on_a_page_are_each_named_once() {
        let events = vec![
            event(1, EventKind::Created {}, OWNER),
            event(
                2,
                EventKind::Assigned {
                    from: Some(ADMIN.id()),
                    to: Some(UserId(42)),
                },
                AGENT,
            ),
        ];
        let replies = vec![reply(1, AGENT, false), reply(2, OWNER, false)];
        let people = people_on(
            &ticket(TicketStatus::Replied, Some(UserId(9))),
            &replies,
            &events,
        );
        assert_eq!(
            people,
            [OWNER.id(), AGENT.id(), ADMIN.id(), UserId(9), UserId(42)]
        );
    }

    fn any_actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            Just(OWNER),
            Just(AGENT),
            Just(ADMIN),
            (10i64..20).prop_map(|id| Actor::for_tests(UserId(id), Role::SupportAgent)),
        ]
    }

    proptest! {
        /// Whatever the store hands over, a customer's view holds nothing of
        /// the staff's: no note, no hidden event, no tag, no name, no
        /// directory; and staff lose nothing of it.
        #[test]
        fn the_view_is_exactly_what_the_audience_sees(
            authors in prop::collection::vec((any_actor(), any::<bool>()), 0..8),
            kinds in prop::collection::vec(0usize..8, 0..10),
            viewer in prop_oneof![Just(OWNER), Just(AGENT), Just(ADMIN)],
            status in prop::sample::select(TicketStatus::ALL.to_vec()),
        ) {
            let replies: Vec<Reply> = authors
                .iter()
                .zip(1..)
                .map(|((author, internal), id)| reply(id, *author, *internal))
                .collect();
            let events: Vec<Event> = kinds
                .iter()
                .zip(1..)
                .map(|(kind, id)| event(id, every_kind()[*kind].clone(), AGENT))
                .collect();
            let seen = view_ticket(
                viewer,
                ticket(status, Some(AGENT.id())),
                page(replies.clone()),
                page(events.clone()),
                directory(),
                at(50),
            )
            .expect("the owner and staff see it");
            let audience = Audience::of(viewer);
            let kept_replies: Vec<Reply> = replies
                .into_iter()
                .filter(|reply| audience == Audience::Staff || !reply.internal)
                .collect();
            prop_assert_eq!(&seen.replies.items, &kept_replies);
            let kept_events: Vec<Event> = events
                .into_iter()
                .filter(|event| audience == Audience::Staff || !matches!(
                    event.kind,
                    EventKind::Noted { .. }
                        | EventKind::Assigned { .. }
                        | EventKind::TagsChanged { .. }
                        | EventKind::HeldDismissed { .. }
                ))
                .collect();
            prop_assert_eq!(&seen.events.items, &kept_events);
            let staff = audience == Audience::Staff;
            prop_assert_eq!(seen.ticket.ticket.tags.is_some(), staff);
            prop_assert_eq!(seen.assignable.is_empty(), !staff);
            prop_assert_eq!(seen.ticket.requester.is_some(), staff);
            for (author, _) in &authors {
                let person = seen.person(author.id());
                let named = matches!(person, Person::Named(_));
                prop_assert!(!named || staff, "a customer saw a name: {:?}", person);
            }
        }
    }
}
