//! A model of one ticket's life, driven by random actions from random actors:
//! creating, replying, writing notes, resolving, viewing and triaging
//! (priority, assignee, tags). The model keeps the ticket, the history the
//! rules' decisions record and what its customer can see, and after every
//! step checks the contract's invariants against all three.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::accounts::Standing;
use crate::audience::{Audience, may_view_ticket};
use crate::entities::Ticket;
use crate::history::{Event, EventKind, EventType, NewEvent, replay};
use crate::ids::{TicketId, UserId};
use crate::refusal::Refusal;
use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
use crate::roles::{Actor, Role};
use crate::sla::{DueTimes, SlaTargets};
use crate::tickets::{
    Opening, ReplyKind, Resolution, decide_new_ticket, decide_reply, decide_status_change,
};
use crate::triage::{TicketChange, decide_ticket_change};
use crate::workflow::{Priority, TagSet, TicketStatus};

const SECOND_AGENT: Actor = Actor::for_tests(UserId(5), Role::SupportAgent);
/// An agent's account that was deactivated: it acts no more, and may not
/// be given tickets.
const INACTIVE_AGENT: UserId = UserId(6);
/// An id that names no account.
const NO_SUCH_USER: UserId = UserId(99);

const ACTORS: [Actor; 5] = [OWNER, OTHER_CUSTOMER, AGENT, SECOND_AGENT, ADMIN];

/// What the store would find for a requested assignee.
fn standing(id: UserId) -> Option<Standing> {
    let active = |role| Some(Standing { role, active: true });
    match id {
        _ if id == OWNER.id() || id == OTHER_CUSTOMER.id() => active(Role::Customer),
        _ if id == AGENT.id() || id == SECOND_AGENT.id() => active(Role::SupportAgent),
        _ if id == ADMIN.id() => active(Role::Admin),
        INACTIVE_AGENT => Some(Standing {
            role: Role::SupportAgent,
            active: false,
        }),
        _ => None,
    }
}

/// A tiny alphabet, so sets meet, repeat and differ only in order or case.
const TAG_ALPHABET: [&str; 4] = ["billing", "bug", "vip", "VIP"];

/// A triage as a client sends it; `None` leaves a field out.
#[derive(Debug, Clone)]
struct Patch {
    priority: Option<Priority>,
    assignee: Option<Option<UserId>>,
    tags: Option<Vec<&'static str>>,
}

impl Patch {
    fn change(&self) -> TicketChange {
        TicketChange {
            priority: self.priority,
            assignee: self.assignee,
            tags: self
                .tags
                .as_ref()
                .map(|raw| TagSet::parse(raw).expect("the alphabet is valid")),
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Create,
    Reply(ReplyKind),
    Resolve(TicketStatus),
    View,
    Patch(Patch),
}

fn assignee() -> impl Strategy<Value = Option<Option<UserId>>> {
    let ids = vec![
        AGENT.id(),
        SECOND_AGENT.id(),
        ADMIN.id(),
        OWNER.id(),
        OTHER_CUSTOMER.id(),
        INACTIVE_AGENT,
        NO_SUCH_USER,
    ];
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(None)),
        4 => prop::sample::select(ids).prop_map(|id| Some(Some(id))),
    ]
}

fn patch() -> impl Strategy<Value = Patch> {
    (
        prop::option::of(prop::sample::select(Priority::ALL.to_vec())),
        assignee(),
        prop::option::of(prop::collection::vec(
            prop::sample::select(TAG_ALPHABET.to_vec()),
            0..4,
        )),
    )
        .prop_map(|(priority, assignee, tags)| Patch {
            priority,
            assignee,
            tags,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        1 => Just(Action::Create),
        3 => Just(Action::Reply(ReplyKind::Public)),
        2 => Just(Action::Reply(ReplyKind::Internal)),
        2 => prop::sample::select(TicketStatus::ALL.to_vec()).prop_map(Action::Resolve),
        1 => Just(Action::View),
        3 => patch().prop_map(Action::Patch),
    ]
}

/// A step: what, by whom, and how many seconds after the step before (0
/// included: two changes may share a second).
fn step() -> impl Strategy<Value = (Action, Actor, i64)> {
    (action(), prop::sample::select(ACTORS.to_vec()), 0i64..3)
}

/// How a rule answered, by the kind of its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
    Conflict,
    Invalid,
    Other,
}

fn outcome<T>(decision: &Result<T, Refusal>) -> Outcome {
    match decision {
        Ok(_) => Outcome::Allowed,
        Err(Refusal::Forbidden(_)) => Outcome::Forbidden,
        Err(Refusal::NotFound) => Outcome::NotFound,
        Err(Refusal::Conflict(_)) => Outcome::Conflict,
        Err(Refusal::Invalid(_)) => Outcome::Invalid,
        Err(_) => Outcome::Other,
    }
}

/// What the ticket's customer sees of it, apart from `updatedAt`: the
/// fields a customer is shown (not the tags), the public replies and the
/// events of the types their audience gets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CustomerView {
    status: TicketStatus,
    priority: Priority,
    assignee: Option<UserId>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    due: DueTimes,
    replies: Vec<i64>,
    events: Vec<EventKind>,
}

/// What the model remembers of the ticket it follows.
#[derive(Debug, Clone)]
struct Model {
    ticket: Ticket,
    history: Vec<Event>,
    next_reply_id: i64,
    /// Public replies, by id.
    public_replies: Vec<i64>,
    notes: usize,
    /// Whether a support agent has replied publicly (rule 4).
    agent_replied: bool,
}

impl Model {
    fn open(opening: Opening, author: UserId) -> Self {
        let mut model = Model {
            ticket: opening.ticket(TicketId(1), author, None, "it does not work".into()),
            history: Vec::new(),
            next_reply_id: 1,
            public_replies: Vec::new(),
            notes: 0,
            agent_replied: false,
        };
        model.record(opening.events);
        model
    }

    fn record(&mut self, events: Vec<NewEvent>) {
        for event in events {
            let id = i64::try_from(self.history.len()).unwrap_or(i64::MAX) + 1;
            self.history.push(Event {
                id,
                ticket_id: self.ticket.id,
                kind: event.kind,
                actor: event.actor,
                at: event.at,
            });
        }
    }

    fn tags(&self) -> TagSet {
        self.ticket.tags.clone().unwrap_or_default()
    }

    /// The history as `audience` is shown it.
    fn history_for(&self, audience: Audience) -> Vec<&Event> {
        let types = audience.event_types();
        self.history
            .iter()
            .filter(|e| types.contains(&e.kind.event_type()))
            .collect()
    }

    fn customer_view(&self) -> CustomerView {
        let t = &self.ticket;
        CustomerView {
            status: t.status,
            priority: t.priority,
            assignee: t.assignee,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            due: t.due,
            replies: self.public_replies.clone(),
            events: self
                .history_for(Audience::Customer)
                .into_iter()
                .map(|e| e.kind.clone())
                .collect(),
        }
    }
}

/// Whether `actor` sees the ticket at all (rule 2), by the model's account.
fn sees(actor: Actor, ticket: &Ticket) -> bool {
    actor.role() != Role::Customer || actor.id() == ticket.author
}

fn is_staff(actor: Actor) -> bool {
    matches!(actor.role(), Role::SupportAgent | Role::Admin)
}

fn allowed_move(from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::*;
    from == to
        || matches!(
            (from, to),
            (Unattended, Replied) | (Unattended | Replied, Resolved)
        )
}

/// Checks each of `events` was recorded by `actor` at `now`.
fn all_by_at(events: &[NewEvent], actor: Actor, now: DateTime<Utc>) -> Result<(), TestCaseError> {
    for event in events {
        prop_assert_eq!(event.actor, actor.id(), "{:?}", event);
        prop_assert_eq!(event.at, now, "{:?}", event);
    }
    Ok(())
}

fn create(
    model: &mut Option<Model>,
    actor: Actor,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let opened = decide_new_ticket(actor, targets, now);
    let expected = match actor.role() {
        Role::Customer => Outcome::Allowed,
        Role::SupportAgent | Role::Admin => Outcome::Forbidden,
    };
    prop_assert_eq!(outcome(&opened), expected, "{:?} opening a ticket", actor);
    if let Ok(opening) = opened {
        prop_assert_eq!(opening.status, TicketStatus::Unattended);
        prop_assert_eq!(opening.priority, Priority::Normal);
        prop_assert_eq!(opening.at, now);
        prop_assert_eq!(opening.due, targets.due_times(now, Priority::Normal));
        let created = [NewEvent {
            kind: EventKind::Created {},
            actor: actor.id(),
            at: now,
        }];
        prop_assert_eq!(&opening.events[..], &created[..]);
        // The model follows the owner's first ticket only.
        if actor == OWNER && model.is_none() {
            *model = Some(Model::open(opening, actor.id()));
        }
    }
    Ok(())
}

fn reply(
    model: &mut Model,
    actor: Actor,
    kind: ReplyKind,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let facts = model.ticket.facts();
    let expected = if !sees(actor, &model.ticket) {
        Outcome::NotFound
    } else if kind == ReplyKind::Internal {
        if is_staff(actor) {
            Outcome::Allowed
        } else {
            Outcome::Forbidden
        }
    } else if actor.role() == Role::Admin {
        Outcome::Forbidden
    } else if facts.status == TicketStatus::Resolved
        || (actor.role() == Role::Customer && !model.agent_replied)
    {
        // Rule 6, and rule 4: notes do not count as an agent's reply.
        Outcome::Conflict
    } else {
        Outcome::Allowed
    };
    let decision = decide_reply(actor, facts, kind, now);
    prop_assert_eq!(
        outcome(&decision),
        expected,
        "{:?} reply by {:?} on {:?}",
        kind,
        actor,
        facts
    );
    if actor == OWNER && kind == ReplyKind::Public && facts.status == TicketStatus::Unattended {
        prop_assert_eq!(
            outcome(&decision),
            Outcome::Conflict,
            "a customer reply after {} notes and no agent reply",
            model.notes
        );
    }
    let Ok(decision) = decision else {
        return Ok(());
    };
    let reply_id = model.next_reply_id;
    model.next_reply_id += 1;
    let events = decision.events(reply_id);
    all_by_at(&events, actor, now)?;
    prop_assert_eq!(decision.at, now);
    match kind {
        ReplyKind::Internal => {
            prop_assert!(is_staff(actor), "a customer wrote a note");
            prop_assert_eq!(decision.status, facts.status, "a note moved the status");
            prop_assert_eq!(decision.assignee, facts.assignee, "a note assigned");
            prop_assert!(!decision.first_response, "a note was a first response");
            prop_assert_eq!(decision.updated_at, None, "a note moved updatedAt");
            let noted = [EventKind::Noted { reply_id }];
            let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
            prop_assert_eq!(&kinds[..], &noted[..]);
            model.notes += 1;
        }
        ReplyKind::Public => {
            prop_assert!(
                facts.status != TicketStatus::Resolved,
                "reply accepted on a resolved ticket"
            );
            prop_assert!(actor.role() != Role::Admin, "admin reply accepted");
            if actor.role() == Role::Customer {
                prop_assert_eq!(
                    actor.id(),
                    facts.author,
                    "another customer's reply accepted"
                );
                prop_assert!(model.agent_replied, "customer reply before any agent reply");
                prop_assert_eq!(decision.status, facts.status);
                prop_assert_eq!(
                    decision.assignee,
                    facts.assignee,
                    "a customer reply assigned"
                );
                prop_assert!(!decision.first_response, "a customer's first response");
            } else {
                prop_assert_eq!(decision.status, TicketStatus::Replied);
                prop_assert_eq!(
                    decision.assignee,
                    facts.assignee.or(Some(actor.id())),
                    "an agent's reply assigns only an unassigned ticket, to them"
                );
                prop_assert_eq!(
                    decision.first_response,
                    model.ticket.first_response_at.is_none()
                );
                model.agent_replied = true;
            }
            prop_assert_eq!(decision.updated_at, Some(now));
            let mut expected = vec![EventKind::Replied { reply_id }];
            if decision.status != facts.status {
                expected.push(EventKind::StatusChanged {
                    from: facts.status,
                    to: decision.status,
                });
            }
            if decision.assignee != facts.assignee {
                expected.push(EventKind::Assigned {
                    from: facts.assignee,
                    to: decision.assignee,
                });
            }
            let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
            prop_assert_eq!(kinds, expected);
            model.public_replies.push(reply_id);
        }
    }
    let ticket = &mut model.ticket;
    ticket.status = decision.status;
    ticket.assignee = decision.assignee;
    if decision.first_response {
        ticket.first_response_at = Some(decision.at);
    }
    if let Some(at) = decision.updated_at {
        ticket.updated_at = at;
    }
    model.record(events);
    Ok(())
}

fn resolve(
    model: &mut Model,
    actor: Actor,
    requested: TicketStatus,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let facts = model.ticket.facts();
    let expected = if !sees(actor, &model.ticket) {
        Outcome::NotFound
    } else if actor.role() != Role::Customer {
        Outcome::Forbidden
    } else if requested != TicketStatus::Resolved {
        Outcome::Invalid
    } else {
        Outcome::Allowed
    };
    let decision = decide_status_change(actor, facts, requested, now);
    prop_assert_eq!(
        outcome(&decision),
        expected,
        "{:?} asking {:?}",
        actor,
        requested
    );
    match decision {
        Ok(Resolution::Resolve { at, events }) => {
            prop_assert_eq!(actor, OWNER, "someone other than the owner resolved");
            prop_assert_eq!(requested, TicketStatus::Resolved);
            prop_assert!(model.ticket.resolved_at.is_none());
            prop_assert_eq!(at, now);
            all_by_at(&events, actor, now)?;
            let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
            let moved = [EventKind::StatusChanged {
                from: facts.status,
                to: TicketStatus::Resolved,
            }];
            prop_assert_eq!(&kinds[..], &moved[..]);
            model.ticket.status = TicketStatus::Resolved;
            model.ticket.resolved_at = Some(at);
            model.ticket.updated_at = at;
            model.record(events);
        }
        Ok(Resolution::AlreadyResolved) => {
            prop_assert_eq!(actor, OWNER);
            prop_assert_eq!(facts.status, TicketStatus::Resolved);
            prop_assert!(model.ticket.resolved_at.is_some());
        }
        Err(_) => {}
    }
    Ok(())
}

fn view(model: &Model, actor: Actor) -> Result<(), TestCaseError> {
    let visible = may_view_ticket(actor, model.ticket.facts());
    prop_assert_eq!(visible.is_ok(), sees(actor, &model.ticket));
    if visible.is_err() {
        prop_assert_eq!(visible, Err(Refusal::NotFound));
        return Ok(());
    }
    let audience = Audience::of(actor);
    prop_assert_eq!(audience == Audience::Staff, is_staff(actor));
    prop_assert_eq!(audience.sees_notes(), is_staff(actor));
    prop_assert_eq!(audience.sees_tags(), is_staff(actor));
    let shown = model.history_for(audience);
    if audience == Audience::Staff {
        prop_assert_eq!(shown.len(), model.history.len(), "staff see every event");
    }
    Ok(())
}

fn triage(
    model: &mut Model,
    actor: Actor,
    patch: &Patch,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let change = patch.change();
    let found = match change.assignee {
        Some(Some(id)) => standing(id),
        Some(None) | None => None,
    };
    let assignable =
        |standing: Option<Standing>| standing.is_some_and(|s| s.active && s.role != Role::Customer);
    let expected = if !sees(actor, &model.ticket) {
        Outcome::NotFound
    } else if !is_staff(actor) {
        Outcome::Forbidden
    } else if matches!(change.assignee, Some(Some(_))) && !assignable(found) {
        Outcome::Invalid
    } else {
        Outcome::Allowed
    };
    let before = model.ticket.clone();
    let tags = model.tags();
    let decision = decide_ticket_change(actor, &before, &tags, &change, found, targets, now);
    prop_assert_eq!(outcome(&decision), expected, "{:?} by {:?}", patch, actor);
    let Ok(update) = decision else {
        return Ok(());
    };
    let priority = change.priority.unwrap_or(before.priority);
    let assignee = change.assignee.unwrap_or(before.assignee);
    let new_tags = change.tags.clone().unwrap_or_else(|| tags.clone());
    let Some(update) = update else {
        prop_assert_eq!(priority, before.priority, "a priority change did nothing");
        prop_assert_eq!(assignee, before.assignee, "an assignment did nothing");
        prop_assert_eq!(new_tags, tags, "a tag change did nothing");
        return Ok(());
    };
    prop_assert_eq!(update.priority, priority);
    prop_assert_eq!(update.assignee, assignee);
    let tags_changed = new_tags != tags;
    prop_assert_eq!(&update.tags, &tags_changed.then(|| new_tags.clone()));
    let visible_change = priority != before.priority || assignee != before.assignee;
    prop_assert!(
        visible_change || tags_changed,
        "an update that changes nothing"
    );
    prop_assert_eq!(update.updated_at, visible_change.then_some(now));
    all_by_at(&update.events, actor, now)?;
    let mut expected = Vec::new();
    if priority != before.priority {
        expected.push(EventType::PriorityChanged);
    }
    if assignee != before.assignee {
        expected.push(EventType::Assigned);
    }
    if tags_changed {
        expected.push(EventType::TagsChanged);
    }
    let types: Vec<_> = update.events.iter().map(|e| e.kind.event_type()).collect();
    prop_assert_eq!(types, expected);
    for event in &update.events {
        match &event.kind {
            EventKind::PriorityChanged { from, to } => {
                prop_assert_eq!((*from, *to), (before.priority, priority));
            }
            EventKind::Assigned { from, to } => {
                prop_assert_eq!((*from, *to), (before.assignee, assignee));
            }
            EventKind::TagsChanged { added, removed } => {
                prop_assert_eq!(tags.applying(added, removed), new_tags.clone());
                prop_assert!(added.iter().all(|t| !tags.contains(t)));
                prop_assert!(removed.iter().all(|t| tags.contains(t)));
            }
            other => prop_assert!(false, "a PATCH recorded {:?}", other),
        }
    }
    let ticket = &mut model.ticket;
    ticket.priority = update.priority;
    ticket.due = update.due;
    ticket.assignee = update.assignee;
    if let Some(tags) = update.tags {
        ticket.tags = Some(tags);
    }
    if let Some(at) = update.updated_at {
        ticket.updated_at = at;
    }
    model.record(update.events);
    Ok(())
}

/// What holds of the model after any step.
fn invariants(model: &Model, targets: &SlaTargets) -> Result<(), TestCaseError> {
    let ticket = &model.ticket;
    let history = &model.history;

    // The history starts with the one `created` event, and replaying it
    // gives the ticket as it is.
    prop_assert_eq!(
        history.first().map(|e| e.kind.event_type()),
        Some(EventType::Created)
    );
    prop_assert_eq!(
        history
            .iter()
            .filter(|e| e.kind.event_type() == EventType::Created)
            .count(),
        1
    );
    let state = replay(history.iter().map(|e| &e.kind));
    prop_assert_eq!(state.status, Some(ticket.status), "replayed status");
    prop_assert_eq!(state.priority, ticket.priority, "replayed priority");
    prop_assert_eq!(state.assignee, ticket.assignee, "replayed assignee");
    prop_assert_eq!(Some(&state.tags), ticket.tags.as_ref(), "replayed tags");

    // Time never runs backwards in the history.
    for pair in history.windows(2) {
        prop_assert!(
            pair[0].at <= pair[1].at,
            "{:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
    prop_assert_eq!(history.first().map(|e| e.at), Some(ticket.created_at));

    // The customer's history shows no note, assignment or tag, and still
    // tells the status and the priority right.
    let customer_history = model.history_for(Audience::Customer);
    for event in &customer_history {
        prop_assert!(
            !matches!(
                event.kind.event_type(),
                EventType::Noted | EventType::Assigned | EventType::TagsChanged
            ),
            "a customer sees {:?}",
            event
        );
    }
    let seen = replay(customer_history.iter().map(|e| &e.kind));
    prop_assert_eq!(seen.status, Some(ticket.status));
    prop_assert_eq!(seen.priority, ticket.priority);

    // `updatedAt` is the time of the last change a customer can see:
    // anything in their history, and assignments.
    let last_visible_change = history
        .iter()
        .filter(|e| {
            Audience::Customer.sees_event(e.kind.event_type())
                || e.kind.event_type() == EventType::Assigned
        })
        .map(|e| e.at)
        .max();
    prop_assert_eq!(Some(ticket.updated_at), last_visible_change);

    // The SLA due times follow the priority, from the creation.
    prop_assert_eq!(
        ticket.due,
        targets.due_times(ticket.created_at, ticket.priority)
    );

    // Rule 4's memory is the status and the first response.
    if ticket.status == TicketStatus::Replied {
        prop_assert!(model.agent_replied, "REPLIED without an agent reply");
    }
    prop_assert_eq!(ticket.first_response_at.is_some(), model.agent_replied);
    prop_assert_eq!(ticket.facts().has_first_response, model.agent_replied);
    prop_assert_eq!(
        ticket.resolved_at.is_some(),
        ticket.status == TicketStatus::Resolved
    );

    // The assignee is staff, if anyone.
    if let Some(assignee) = ticket.assignee {
        prop_assert!(
            [AGENT.id(), SECOND_AGENT.id(), ADMIN.id()].contains(&assignee),
            "assigned to {:?}",
            assignee
        );
    }
    Ok(())
}

/// What holds of a step from `before` to `after`.
fn step_invariants(
    before: &Model,
    after: &Model,
    action: &Action,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let (old, new) = (&before.ticket, &after.ticket);
    prop_assert!(
        allowed_move(old.status, new.status),
        "status moved {:?} -> {:?}",
        old.status,
        new.status
    );
    if new.status != old.status {
        prop_assert!(
            matches!(
                action,
                Action::Reply(ReplyKind::Public) | Action::Resolve(TicketStatus::Resolved)
            ),
            "{:?} moved the status",
            action
        );
        if new.status == TicketStatus::Resolved {
            prop_assert_eq!(actor, OWNER, "someone other than the owner resolved");
        }
    }
    if matches!(action, Action::Reply(ReplyKind::Internal)) {
        prop_assert_eq!(
            after.agent_replied,
            before.agent_replied,
            "a note counted as a reply"
        );
        prop_assert_eq!(new.first_response_at, old.first_response_at);
    }

    // The history only grows, with this step's events.
    prop_assert!(
        after.history.starts_with(&before.history),
        "the history was rewritten"
    );
    for event in &after.history[before.history.len()..] {
        prop_assert_eq!(event.actor, actor.id());
        prop_assert_eq!(event.at, now);
    }

    // `updatedAt` moves to now exactly when the customer's view changes
    // (a step in the same second moves it to where it was).
    let view_changed = before.customer_view() != after.customer_view();
    prop_assert_eq!(
        new.updated_at,
        if view_changed { now } else { old.updated_at },
        "{:?} by {:?}: the customer's view changed: {}",
        action,
        actor,
        view_changed
    );
    prop_assert!(new.updated_at >= old.updated_at);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_action_sequence_breaks_a_rule(steps in prop::collection::vec(step(), 1..40)) {
        let targets = SlaTargets::default();
        let mut clock = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let mut model: Option<Model> = None;
        // The owner opens the ticket first; later creations only check the
        // rule (the model follows that first ticket).
        let opening = (Action::Create, OWNER, 0);
        for (action, actor, delay) in std::iter::once(opening).chain(steps) {
            clock += TimeDelta::seconds(delay);
            let now = clock;
            let before = model.clone();
            if let Action::Create = action {
                create(&mut model, actor, &targets, now)?;
            } else if let Some(m) = model.as_mut() {
                match &action {
                    Action::Create => {}
                    Action::Reply(kind) => reply(m, actor, *kind, now)?,
                    Action::Resolve(requested) => resolve(m, actor, *requested, now)?,
                    Action::View => view(m, actor)?,
                    Action::Patch(patch) => triage(m, actor, patch, &targets, now)?,
                }
            }
            if let Some(after) = &model {
                invariants(after, &targets)?;
                if let Some(before) = &before {
                    step_invariants(before, after, &action, actor, now)?;
                }
            }
        }
    }
}
