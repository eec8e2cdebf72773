//! Who is told what by mail: from one change to a ticket (the events a
//! store action just recorded, or a missed SLA target), the ticket's
//! people and each candidate's standing and preferences, the list of
//! (recipient, kind); then what each of those mails says, cut to its
//! recipient's view ([`audience`](crate::audience)).
//!
//! The rules, all here and nowhere else:
//!
//! | change | the ticket's customer | the assignee | other staff |
//! |---|---|---|---|
//! | ticket created | the acknowledgement | - | staff with `ticketCreated` on |
//! | a staff member's public reply | yes | if someone else replied | - |
//! | the customer's reply | - | yes | if unassigned: staff with `ticketCreated` on |
//! | internal note | never | if someone else wrote it | - |
//! | status changed without a reply | yes | yes | - |
//! | assigned | - | the new assignee | - |
//! | SLA target missed | - | yes | if unassigned: staff with `ticketCreated` on |
//!
//! Never the person who made the change (except the customer's
//! acknowledgement of the ticket they opened); only active accounts with
//! an address; each kind is off for whoever turned it off (for the staff
//! "with `ticketCreated` on", the kind they are told must be on too); and
//! one change tells each person at most once, as the first row above
//! that names them (a staff reply that also moves the status is told as
//! the reply).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::audience::{Audience, see_ticket_as};
use crate::entities::Ticket;
use crate::history::EventKind;
use crate::ids::UserId;
use crate::json::timestamp;
use crate::mail::{NotificationKind, NotificationMail};
use crate::roles::{Actor, Role};
use crate::values::EmailAddress;
use crate::workflow::TicketStatus;

/// The kinds an account of `role` can be told of: a customer only of
/// their ticket's acknowledgement, staff replies and status changes.
pub fn kinds_for(role: Role) -> &'static [NotificationKind] {
    const CUSTOMER: [NotificationKind; 3] = [
        NotificationKind::TicketCreated,
        NotificationKind::PublicReply,
        NotificationKind::StatusChanged,
    ];
    match role {
        Role::Customer => &CUSTOMER,
        Role::Admin | Role::SupportAgent => &NotificationKind::ALL,
    }
}

/// Whether an account of `role` can be told of `kind` at all.
pub fn applies_to(kind: NotificationKind, role: Role) -> bool {
    kinds_for(role).contains(&kind)
}

/// Which kinds an account wants; the kinds its role cannot get are off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Preferences {
    on: u8,
}

impl Preferences {
    fn bit(kind: NotificationKind) -> u8 {
        let index = NotificationKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default();
        1 << index
    }

    /// Nothing on.
    pub const NONE: Preferences = Preferences { on: 0 };

    /// What an account of `role` gets until it says otherwise: a customer
    /// its three kinds, staff all seven except `ticketCreated` for an
    /// admin.
    pub fn defaults(role: Role) -> Self {
        let mut preferences = Preferences::NONE;
        for kind in kinds_for(role) {
            preferences.set(*kind, true);
        }
        if role == Role::Admin {
            preferences.set(NotificationKind::TicketCreated, false);
        }
        preferences
    }

    pub fn is_on(self, kind: NotificationKind) -> bool {
        self.on & Self::bit(kind) != 0
    }

    pub fn set(&mut self, kind: NotificationKind, on: bool) {
        match on {
            true => self.on |= Self::bit(kind),
            false => self.on &= !Self::bit(kind),
        }
    }

    /// These preferences with `changes` applied, each a kind `role` can
    /// be told of (a customer naming a staff-only kind is refused with
    /// that kind's name).
    pub fn changed(
        self,
        role: Role,
        changes: &[(NotificationKind, bool)],
    ) -> Result<Self, NotificationKind> {
        let mut next = self;
        for (kind, on) in changes {
            if !applies_to(*kind, role) {
                return Err(*kind);
            }
            next.set(*kind, *on);
        }
        Ok(next)
    }

    /// The kinds of `role`, each with whether it is on: what the account
    /// is shown.
    pub fn shown(self, role: Role) -> Vec<(NotificationKind, bool)> {
        kinds_for(role)
            .iter()
            .map(|kind| (*kind, self.is_on(*kind)))
            .collect()
    }
}

/// Someone who may be told: an account with what decides whether it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub email: Option<EmailAddress>,
    pub preferences: Preferences,
}

impl Candidate {
    /// Staff who are told of new tickets ("new tickets" on).
    pub fn watches_new_tickets(&self) -> bool {
        self.role != Role::Customer && self.preferences.is_on(NotificationKind::TicketCreated)
    }

    fn may_get(&self, kind: NotificationKind) -> bool {
        self.active
            && self.email.is_some()
            && applies_to(kind, self.role)
            && self.preferences.is_on(kind)
    }
}

/// What happened to the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// The events one store action recorded, made by `actor`.
    Events {
        actor: Actor,
        events: &'a [EventKind],
    },
    /// A due time passed with its target unmet; no one did it.
    SlaBreached,
}

/// The ticket's people after the change: its customer and its assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketPeople {
    pub customer: UserId,
    pub assignee: Option<UserId>,
}

impl TicketPeople {
    pub fn of(ticket: &Ticket) -> Self {
        TicketPeople {
            customer: ticket.author,
            assignee: ticket.assignee,
        }
    }
}

/// Who would be told of `change`, in order, before anyone's standing or
/// preferences are looked at: `(who, kind)`, where `who` is a person or
/// the staff who watch new tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Person(UserId),
    Watchers,
}

fn wishes(change: Change<'_>, people: TicketPeople) -> Vec<(Told, NotificationKind)> {
    use NotificationKind as K;
    let assignee_or_watchers = |kind| match people.assignee {
        Some(assignee) => vec![(Told::Person(assignee), kind)],
        None => vec![(Told::Watchers, kind)],
    };
    let assignee = |kind| people.assignee.map(|a| (Told::Person(a), kind));
    let customer = |kind| (Told::Person(people.customer), kind);
    let events = match change {
        Change::SlaBreached => return assignee_or_watchers(K::SlaBreached),
        Change::Events { events, .. } => events,
    };
    let by_customer = match change {
        Change::Events { actor, .. } => actor.role() == Role::Customer,
        Change::SlaBreached => false,
    };
    let mut wished = Vec::new();
    let has = |wanted: fn(&EventKind) -> bool| events.iter().any(wanted);
    if has(|e| matches!(e, EventKind::Created {})) {
        wished.push(customer(K::TicketCreated));
        wished.push((Told::Watchers, K::TicketCreated));
    }
    let replied = has(|e| matches!(e, EventKind::Replied { .. }));
    if replied {
        if by_customer {
            wished.extend(assignee_or_watchers(K::CustomerReply));
        } else {
            wished.push(customer(K::PublicReply));
            wished.extend(assignee(K::PublicReply));
        }
    }
    let noted = has(|e| matches!(e, EventKind::Noted { .. }));
    if noted {
        wished.extend(assignee(K::InternalNote));
    }
    if !replied && !noted && has(|e| matches!(e, EventKind::StatusChanged { .. })) {
        wished.push(customer(K::StatusChanged));
        wished.extend(assignee(K::StatusChanged));
    }
    for event in events {
        if let EventKind::Assigned { to: Some(to), .. } = event {
            wished.push((Told::Person(*to), K::Assigned));
        }
    }
    wished
}

/// Whether any of `events` can tell anyone (a change of priority or tags
/// alone tells no one): the store reads nothing more when not.
pub fn tells_anyone(events: &[EventKind]) -> bool {
    events.iter().any(|event| match event {
        EventKind::Created {}
        | EventKind::Replied { .. }
        | EventKind::Noted { .. }
        | EventKind::StatusChanged { .. } => true,
        EventKind::Assigned { to, .. } => to.is_some(),
        EventKind::PriorityChanged { .. }
        | EventKind::TagsChanged { .. }
        | EventKind::HeldDismissed { .. } => false,
    })
}

/// Whether deciding `change` needs the staff who watch new tickets among
/// the candidates (the store loads them only then).
pub fn needs_watchers(change: Change<'_>, people: TicketPeople) -> bool {
    wishes(change, people)
        .iter()
        .any(|(who, _)| *who == Told::Watchers)
}

/// The people `change` may tell: the ticket's customer and assignee, and
/// whoever an assignment names (the store loads these in one query).
pub fn people_named(change: Change<'_>, people: TicketPeople) -> Vec<UserId> {
    let mut named: BTreeSet<UserId> = BTreeSet::new();
    for (who, _) in wishes(change, people) {
        if let Told::Person(id) = who {
            named.insert(id);
        }
    }
    named.into_iter().collect()
}

/// Who is told of `change`, and as which kind: the module's table, for
/// `candidates` (the ticket's people, and when [`needs_watchers`] says
/// so, the staff who watch new tickets; anyone else among them is
/// ignored). Each recipient once, in the table's order.
pub fn decide_recipients(
    change: Change<'_>,
    people: TicketPeople,
    candidates: &[Candidate],
) -> Vec<(UserId, NotificationKind)> {
    let actor = match change {
        Change::Events { actor, .. } => Some(actor.id()),
        Change::SlaBreached => None,
    };
    let mut decided: BTreeSet<UserId> = BTreeSet::new();
    let mut told = Vec::new();
    let find = |id: UserId| candidates.iter().find(|c| c.id == id);
    for (who, kind) in wishes(change, people) {
        let chosen: Vec<&Candidate> = match who {
            Told::Person(id) => find(id).into_iter().collect(),
            Told::Watchers => candidates
                .iter()
                .filter(|c| c.watches_new_tickets())
                // Each account as its first entry says.
                .filter(|c| find(c.id).is_some_and(|first| std::ptr::eq(first, *c)))
                .collect(),
        };
        for candidate in chosen {
            // One change, one mail a person: the first wish decides.
            if !decided.insert(candidate.id) {
                continue;
            }
            let own_acknowledgement =
                kind == NotificationKind::TicketCreated && candidate.id == people.customer;
            if Some(candidate.id) == actor && !own_acknowledgement {
                continue;
            }
            // A customer hears only of their own ticket.
            if candidate.role == Role::Customer && candidate.id != people.customer {
                continue;
            }
            if candidate.may_get(kind) {
                told.push((candidate.id, kind));
            }
        }
    }
    told
}

/// What the change's mails quote and name, as the store read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFacts {
    /// Who made it (`None`: the SLA clock), with their username.
    pub by: Option<(UserId, String)>,
    /// The reply's or note's text, if the change wrote one.
    pub text: Option<String>,
    /// Whether that text is an internal note.
    pub text_is_note: bool,
    /// For a status change, the status before it.
    pub status_before: Option<TicketStatus>,
    /// For an SLA notice, which due time was missed and when it was.
    pub missed: Option<(MissedTarget, DateTime<Utc>)>,
    pub at: DateTime<Utc>,
}

/// Which SLA target a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissedTarget {
    FirstResponse,
    Resolution,
}

/// The mail `recipient` gets of `kind` about `ticket` (as it is after the
/// change): cut to the recipient's audience, so a customer's mail holds
/// no note, no tags (a mail never holds tags) and no staff name ("Support").
pub fn compose(
    recipient: &Candidate,
    kind: NotificationKind,
    ticket: &Ticket,
    facts: &ChangeFacts,
) -> NotificationMail {
    let audience = match recipient.role {
        Role::Customer => Audience::Customer,
        Role::Admin | Role::SupportAgent => Audience::Staff,
    };
    // The ticket as this recipient sees it (a customer: no tags), by the
    // same view as the API's and the pages'.
    let seen = see_ticket_as(audience, ticket.clone(), None, facts.at);
    let ticket = &seen.ticket;
    let by = match &facts.by {
        None => "SLA".to_owned(),
        Some((id, name)) if audience.sees_usernames() || *id == recipient.id => name.clone(),
        Some(_) => "Support".to_owned(),
    };
    let text = match kind {
        NotificationKind::TicketCreated => Some(ticket.body.clone()),
        NotificationKind::PublicReply | NotificationKind::CustomerReply => {
            facts.text.clone().filter(|_| !facts.text_is_note)
        }
        NotificationKind::InternalNote if audience.sees_notes() => facts.text.clone(),
        NotificationKind::SlaBreached => facts.missed.map(|(target, due)| {
            let what = match target {
                MissedTarget::FirstResponse => "first response",
                MissedTarget::Resolution => "resolution",
            };
            format!("The {what} was due at {} and is overdue.", timestamp(due))
        }),
        NotificationKind::InternalNote
        | NotificationKind::StatusChanged
        | NotificationKind::Assigned => None,
    };
    NotificationMail {
        recipient: recipient.id,
        recipient_name: recipient.username.clone(),
        to_customer: audience == Audience::Customer,
        kind,
        ticket_id: ticket.id.0,
        subject: ticket.subject.clone(),
        status: ticket.status,
        priority: ticket.priority,
        by,
        text,
        status_before: facts
            .status_before
            .filter(|_| kind == NotificationKind::StatusChanged),
        at: timestamp(facts.at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::NotificationKind as K;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
    use proptest::prelude::*;

    const SECOND_AGENT: Actor = Actor::for_tests(UserId(5), Role::SupportAgent);
    const WATCHER: Actor = Actor::for_tests(UserId(6), Role::SupportAgent);

    fn candidate(actor: Actor) -> Candidate {
        Candidate {
            id: actor.id(),
            username: format!("user{}", actor.id().0),
            role: actor.role(),
            active: true,
            email: Some(
                EmailAddress::parse(format!("user{}@example.com", actor.id().0))
                    .expect("an address"),
            ),
            preferences: Preferences::defaults(actor.role()),
        }
    }

    /// The owner's ticket, AGENT assigned (or not), everyone a candidate
    /// with the defaults.
    fn everyone() -> Vec<Candidate> {
        [OWNER, OTHER_CUSTOMER, AGENT, ADMIN, SECOND_AGENT, WATCHER]
            .into_iter()
            .map(candidate)
            .collect()
    }

    fn people(assignee: Option<Actor>) -> TicketPeople {
        TicketPeople {
            customer: OWNER.id(),
            assignee: assignee.map(Actor::id),
        }
    }

    fn decide(
        actor: Actor,
        events: &[EventKind],
        assignee: Option<Actor>,
    ) -> Vec<(UserId, NotificationKind)> {
        decide_recipients(
            Change::Events { actor, events },
            people(assignee),
            &everyone(),
        )
    }

    fn status(from: TicketStatus, to: TicketStatus) -> EventKind {
        EventKind::StatusChanged { from, to }
    }

    #[test]
    fn defaults_by_role() {
        let customer = Preferences::defaults(Role::Customer);
        assert_eq!(
            customer.shown(Role::Customer),
            [
                (K::TicketCreated, true),
                (K::PublicReply, true),
                (K::StatusChanged, true)
            ]
        );
        for kind in NotificationKind::ALL {
            assert!(Preferences::defaults(Role::SupportAgent).is_on(kind));
            assert_eq!(
                Preferences::defaults(Role::Admin).is_on(kind),
                kind != K::TicketCreated
            );
        }
        assert_eq!(
            customer.changed(Role::Customer, &[(K::InternalNote, true)]),
            Err(K::InternalNote)
        );
        let quiet = customer
            .changed(Role::Customer, &[(K::PublicReply, false)])
            .expect("a customer's kind");
        assert!(!quiet.is_on(K::PublicReply) && quiet.is_on(K::StatusChanged));
    }

    #[test]
    fn a_new_ticket_acknowledges_its_customer_and_tells_the_watchers() {
        let told = decide(OWNER, &[EventKind::Created {}], None);
        assert_eq!(
            told,
            [
                (OWNER.id(), K::TicketCreated),
                (AGENT.id(), K::TicketCreated),
                (SECOND_AGENT.id(), K::TicketCreated),
                (WATCHER.id(), K::TicketCreated),
            ],
            "the admin has new tickets off by default"
        );
    }

    #[test]
    fn a_staff_reply_tells_the_customer_and_an_assignee_who_did_not_write_it() {
        let events = [
            EventKind::Replied { reply_id: 1 },
            status(TicketStatus::Unattended, TicketStatus::Replied),
        ];
        assert_eq!(
            decide(AGENT, &events, Some(SECOND_AGENT)),
            [
                (OWNER.id(), K::PublicReply),
                (SECOND_AGENT.id(), K::PublicReply)
            ],
            "told once, as the reply"
        );
        assert_eq!(
            decide(AGENT, &events, Some(AGENT)),
            [(OWNER.id(), K::PublicReply)]
        );
        // The first reply assigns the agent who wrote it: not told.
        let first = [
            EventKind::Replied { reply_id: 1 },
            status(TicketStatus::Unattended, TicketStatus::Replied),
            EventKind::Assigned {
                from: None,
                to: Some(AGENT.id()),
            },
        ];
        assert_eq!(
            decide(AGENT, &first, Some(AGENT)),
            [(OWNER.id(), K::PublicReply)]
        );
    }

    #[test]
    fn a_customer_reply_tells_the_assignee_or_else_the_watchers() {
        let events = [EventKind::Replied { reply_id: 2 }];
        assert_eq!(
            decide(OWNER, &events, Some(SECOND_AGENT)),
            [(SECOND_AGENT.id(), K::CustomerReply)]
        );
        assert_eq!(
            decide(OWNER, &events, None),
            [
                (AGENT.id(), K::CustomerReply),
                (SECOND_AGENT.id(), K::CustomerReply),
                (WATCHER.id(), K::CustomerReply),
            ]
        );
    }

    #[test]
    fn a_note_tells_the_assignee_who_did_not_write_it_and_never_the_customer() {
        let events = [EventKind::Noted { reply_id: 3 }];
        assert_eq!(
            decide(AGENT, &events, Some(SECOND_AGENT)),
            [(SECOND_AGENT.id(), K::InternalNote)]
        );
        assert_eq!(decide(AGENT, &events, Some(AGENT)), []);
        assert_eq!(decide(ADMIN, &events, None), []);
    }

    #[test]
    fn a_status_change_without_a_reply_tells_the_customer_and_the_assignee() {
        let events = [status(TicketStatus::Replied, TicketStatus::Resolved)];
        assert_eq!(
            decide(OWNER, &events, Some(AGENT)),
            [(AGENT.id(), K::StatusChanged)],
            "the customer resolved it: not told of their own change"
        );
        assert_eq!(
            decide(ADMIN, &events, Some(AGENT)),
            [
                (OWNER.id(), K::StatusChanged),
                (AGENT.id(), K::StatusChanged)
            ]
        );
    }

    #[test]
    fn an_assignment_tells_the_new_assignee_only() {
        let events = [EventKind::Assigned {
            from: Some(AGENT.id()),
            to: Some(SECOND_AGENT.id()),
        }];
        assert_eq!(
            decide(ADMIN, &events, Some(SECOND_AGENT)),
            [(SECOND_AGENT.id(), K::Assigned)]
        );
        assert_eq!(decide(SECOND_AGENT, &events, Some(SECOND_AGENT)), []);
        let unassigned = [EventKind::Assigned {
            from: Some(AGENT.id()),
            to: None,
        }];
        assert_eq!(decide(ADMIN, &unassigned, None), []);
        let other = [EventKind::PriorityChanged {
            from: crate::Priority::Normal,
            to: crate::Priority::High,
        }];
        assert_eq!(decide(ADMIN, &other, Some(AGENT)), []);
    }

    #[test]
    fn a_missed_target_tells_the_assignee_or_else_the_watchers() {
        let told = |assignee| decide_recipients(Change::SlaBreached, people(assignee), &everyone());
        assert_eq!(told(Some(AGENT)), [(AGENT.id(), K::SlaBreached)]);
        assert_eq!(
            told(None),
            [
                (AGENT.id(), K::SlaBreached),
                (SECOND_AGENT.id(), K::SlaBreached),
                (WATCHER.id(), K::SlaBreached),
            ]
        );
        assert!(needs_watchers(Change::SlaBreached, people(None)));
        assert!(!needs_watchers(Change::SlaBreached, people(Some(AGENT))));
    }

    #[test]
    fn inactive_addressless_and_unwilling_accounts_are_not_told() {
        let mut candidates = everyone();
        candidates[0].email = None; // OWNER
        candidates[2].active = false; // AGENT
        candidates[4].preferences.set(K::PublicReply, false); // SECOND_AGENT
        let events = [EventKind::Replied { reply_id: 1 }];
        let change = Change::Events {
            actor: WATCHER,
            events: &events,
        };
        assert_eq!(
            decide_recipients(change, people(Some(AGENT)), &candidates),
            []
        );
        assert_eq!(
            decide_recipients(change, people(Some(SECOND_AGENT)), &candidates),
            []
        );
    }

    fn ticket() -> Ticket {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Ticket {
            id: crate::TicketId(123),
            subject: Some("Printer".into()),
            body: "It burns".into(),
            status: TicketStatus::Replied,
            author: OWNER.id(),
            created_at: at,
            updated_at: at,
            resolved_at: None,
            priority: crate::Priority::High,
            assignee: Some(AGENT.id()),
            tags: Some(crate::TagSet::from_tags(vec![
                crate::Tag::parse("vip").expect("tag"),
            ])),
            first_response_at: None,
            due: crate::DueTimes {
                first_response: at,
                resolution: at,
            },
            follow_up_of: None,
        }
    }

    #[test]
    fn a_customer_mail_names_staff_as_support_and_holds_no_note() {
        let facts = ChangeFacts {
            by: Some((AGENT.id(), "benjamin".to_owned())),
            text: Some("secret note".to_owned()),
            text_is_note: true,
            status_before: None,
            missed: None,
            at: ticket().created_at,
        };
        let to_customer = candidate(OWNER);
        for kind in NotificationKind::ALL {
            let mail = compose(&to_customer, kind, &ticket(), &facts);
            assert!(mail.to_customer);
            assert_eq!(mail.by, "Support");
            assert_ne!(mail.text.as_deref(), Some("secret note"), "{kind:?}");
        }
        let to_staff = compose(&candidate(SECOND_AGENT), K::InternalNote, &ticket(), &facts);
        assert_eq!(to_staff.by, "benjamin");
        assert_eq!(to_staff.text.as_deref(), Some("secret note"));
        assert!(!to_staff.to_customer);
        let reply = ChangeFacts {
            text_is_note: false,
            text: Some("on it".to_owned()),
            ..facts.clone()
        };
        let mail = compose(&to_customer, K::PublicReply, &ticket(), &reply);
        assert_eq!(mail.text.as_deref(), Some("on it"));
        assert_eq!(mail.subject_line(), "[#123] Printer");
    }

    fn any_actor() -> impl Strategy<Value = Actor> {
        prop::sample::select(vec![
            OWNER,
            OTHER_CUSTOMER,
            AGENT,
            ADMIN,
            SECOND_AGENT,
            WATCHER,
        ])
    }

    fn any_event() -> impl Strategy<Value = EventKind> {
        let person = || prop::option::of(any_actor().prop_map(Actor::id));
        prop_oneof![
            Just(EventKind::Created {}),
            (1i64..5).prop_map(|reply_id| EventKind::Replied { reply_id }),
            (1i64..5).prop_map(|reply_id| EventKind::Noted { reply_id }),
            Just(status(TicketStatus::Unattended, TicketStatus::Replied)),
            Just(status(TicketStatus::Replied, TicketStatus::Resolved)),
            (person(), person()).prop_map(|(from, to)| EventKind::Assigned { from, to }),
        ]
    }

    fn any_candidate() -> impl Strategy<Value = Candidate> {
        (any_actor(), any::<bool>(), any::<bool>(), any::<u8>()).prop_map(
            |(actor, active, addressed, on)| Candidate {
                active,
                email: candidate(actor).email.filter(|_| addressed),
                preferences: Preferences { on: on & 0x7f },
                ..candidate(actor)
            },
        )
    }

    proptest! {
        #[test]
        fn the_invariants_hold_for_any_change(
            actor in any_actor(),
            events in prop::collection::vec(any_event(), 0..5),
            assignee in prop::option::of(prop::sample::select(vec![AGENT, ADMIN, SECOND_AGENT, WATCHER])),
            sla in any::<bool>(),
            candidates in prop::collection::vec(any_candidate(), 0..8),
        ) {
            let people = people(assignee);
            let change = match sla {
                true => Change::SlaBreached,
                false => Change::Events { actor, events: &events },
            };
            let told = decide_recipients(change, people, &candidates);
            let mut seen = BTreeSet::new();
            for (id, kind) in &told {
                prop_assert!(seen.insert(*id), "told twice: {told:?}");
                // The first candidate of that id decides.
                let who = candidates.iter().find(|c| c.id == *id).expect("a candidate");
                prop_assert!(who.active && who.email.is_some());
                prop_assert!(who.preferences.is_on(*kind));
                prop_assert!(applies_to(*kind, who.role));
                if who.role == Role::Customer {
                    prop_assert_eq!(*id, people.customer);
                    prop_assert!(*kind != K::InternalNote);
                }
                if !sla && *id == actor.id() {
                    prop_assert_eq!(*kind, K::TicketCreated);
                    prop_assert_eq!(*id, people.customer);
                }
                if sla {
                    prop_assert_eq!(*kind, K::SlaBreached);
                }
            }
            // A staff reply that also moves the status is told as the reply.
            let replied = events.iter().any(|e| matches!(e, EventKind::Replied { .. }));
            if !sla && replied {
                prop_assert!(told.iter().all(|(_, kind)| *kind != K::StatusChanged));
            }
        }

        #[test]
        fn a_customer_mail_never_holds_a_note_or_a_staff_name(
            kind in prop::sample::select(NotificationKind::ALL.to_vec()),
            by in any_actor(),
            note in any::<bool>(),
        ) {
            let facts = ChangeFacts {
                by: Some((by.id(), "staffname".to_owned())),
                text: Some("the words".to_owned()),
                text_is_note: note,
                status_before: Some(TicketStatus::Unattended),
                missed: None,
                at: ticket().created_at,
            };
            let mail = compose(&candidate(OWNER), kind, &ticket(), &facts);
            prop_assert!(mail.to_customer);
            if by.role() != Role::Customer {
                prop_assert_eq!(mail.by.as_str(), "Support");
            }
            if note {
                prop_assert_ne!(mail.text.as_deref(), Some("the words"));
            }
            let json = serde_json::to_string(&mail).expect("json");
            prop_assert!(!json.contains("vip"), "{}", json);
        }
    }
}
