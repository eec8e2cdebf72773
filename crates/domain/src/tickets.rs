//! A ticket's life: who may open one, reply to it (in public or in an
//! internal note) and resolve it, and what each of those writes. Each rule
//! is a pure function of the actor and the facts it needs, returning the
//! decision or the [`Refusal`] that explains it.
//!
//! Names tell the layer: a rule here is a question (`may_*`, answering
//! `Ok(())` or a refusal) or a decision (`decide_*`, answering what to
//! write); the `store` action that applies it is a plain verb.

use chrono::{DateTime, Utc};

use crate::audience::{Audience, may_view_ticket};
use crate::entities::{Ticket, TicketFacts};
use crate::history::{EventKind, NewEvent};
use crate::ids::{TicketId, UserId};
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::sla::{DueTimes, SlaTargets};
use crate::workflow::{Priority, TagSet, TicketStatus};

/// What opening a ticket writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub status: TicketStatus,
    pub priority: Priority,
    pub due: DueTimes,
    pub at: DateTime<Utc>,
    pub events: Vec<NewEvent>,
}

impl Opening {
    /// The ticket this opening makes, once the database has handed out its
    /// `id`: nothing answered, assigned, tagged or resolved yet.
    pub fn ticket(
        &self,
        id: TicketId,
        author: UserId,
        subject: Option<String>,
        body: String,
    ) -> Ticket {
        Ticket {
            id,
            subject,
            body,
            status: self.status,
            author,
            created_at: self.at,
            updated_at: self.at,
            resolved_at: None,
            priority: self.priority,
            assignee: None,
            tags: Some(TagSet::default()),
            first_response_at: None,
            due: self.due,
            follow_up_of: None,
        }
    }
}

/// Rule 1: only a customer opens tickets, and a new ticket is unattended,
/// of normal priority, due by that priority's targets.
pub fn decide_new_ticket(
    actor: Actor,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) -> Result<Opening, Refusal> {
    match actor.role() {
        Role::Customer => {}
        Role::Admin | Role::SupportAgent => {
            return Err(Refusal::Forbidden("only customers can create tickets"));
        }
    }
    let priority = Priority::default();
    Ok(Opening {
        status: TicketStatus::Unattended,
        priority,
        due: targets.due_times(now, priority),
        at: now,
        events: vec![NewEvent {
            kind: EventKind::Created {},
            actor: actor.id(),
            at: now,
        }],
    })
}

/// A public reply, or an internal note for staff only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    Public,
    Internal,
}

/// What a reply writes: the reply, and the ticket after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDecision {
    pub kind: ReplyKind,
    pub at: DateTime<Utc>,
    pub status: TicketStatus,
    pub assignee: Option<UserId>,
    /// Whether this reply is the ticket's first response (its time becomes
    /// `firstResponseAt`).
    pub first_response: bool,
    /// The new `updatedAt`: a public reply moves it, a note does not.
    pub updated_at: Option<DateTime<Utc>>,
    actor: UserId,
    before: TicketFacts,
}

impl ReplyDecision {
    /// The events the reply records once it has its id: `replied` (or
    /// `noted`), then `status_changed` if the status moved, then `assigned`
    /// if it assigned the ticket, all at the reply's time.
    pub fn events(&self, reply_id: i64) -> Vec<NewEvent> {
        let mut kinds = vec![match self.kind {
            ReplyKind::Public => EventKind::Replied { reply_id },
            ReplyKind::Internal => EventKind::Noted { reply_id },
        }];
        if self.status != self.before.status {
            kinds.push(EventKind::StatusChanged {
                from: self.before.status,
                to: self.status,
            });
        }
        if self.assignee != self.before.assignee {
            kinds.push(EventKind::Assigned {
                from: self.before.assignee,
                to: self.assignee,
            });
        }
        let event = |kind| NewEvent {
            kind,
            actor: self.actor,
            at: self.at,
        };
        kinds.into_iter().map(event).collect()
    }
}

/// Rules 3, 4, 6 and 7 for a public reply, and the note rules: whether
/// `actor` may write it, and what it does to the ticket. A support agent's
/// public reply to an unassigned ticket assigns it to them. A note is for
/// staff (admins included), in any status, and changes nothing: not the
/// status, not rule 4, not the first response, not `updatedAt`.
pub fn decide_reply(
    actor: Actor,
    ticket: TicketFacts,
    kind: ReplyKind,
    now: DateTime<Utc>,
) -> Result<ReplyDecision, Refusal> {
    may_view_ticket(actor, ticket)?;
    let unchanged = ReplyDecision {
        kind,
        at: now,
        status: ticket.status,
        assignee: ticket.assignee,
        first_response: false,
        updated_at: None,
        actor: actor.id(),
        before: ticket,
    };
    if kind == ReplyKind::Internal {
        return match Audience::of(actor) {
            Audience::Staff => Ok(unchanged),
            Audience::Customer => Err(Refusal::Forbidden(
                "only support agents and admins write internal notes",
            )),
        };
    }
    if actor.role() == Role::Admin {
        return Err(Refusal::Forbidden("admins do not reply to tickets"));
    }
    let status = match (actor.role(), ticket.status) {
        (_, TicketStatus::Resolved) => {
            return Err(Refusal::Conflict(
                "the ticket is resolved and takes no more replies",
            ));
        }
        (Role::Customer, TicketStatus::Unattended) => {
            return Err(Refusal::Conflict(
                "a customer can reply only after a support agent has replied",
            ));
        }
        (Role::SupportAgent, _) => TicketStatus::Replied,
        (_, status) => status,
    };
    let by_agent = actor.role() == Role::SupportAgent;
    Ok(ReplyDecision {
        status,
        assignee: match ticket.assignee {
            None if by_agent => Some(actor.id()),
            assignee => assignee,
        },
        first_response: by_agent && !ticket.has_first_response,
        updated_at: Some(now),
        ..unchanged
    })
}

/// What resolving a ticket does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Mark the ticket resolved at `at`, recording `events`.
    Resolve {
        at: DateTime<Utc>,
        events: Vec<NewEvent>,
    },
    /// It was resolved already: nothing changes (`resolvedAt` included).
    AlreadyResolved,
}

/// Rule 5: only the ticket's own customer resolves it, from any unresolved
/// state, and only `RESOLVED` may be asked for; resolving twice changes
/// nothing. `now` is read after the ticket is locked.
pub fn decide_status_change(
    actor: Actor,
    ticket: TicketFacts,
    requested: TicketStatus,
    now: DateTime<Utc>,
) -> Result<Resolution, Refusal> {
    may_view_ticket(actor, ticket)?;
    if actor.role() != Role::Customer {
        return Err(Refusal::Forbidden(
            "only the ticket's customer can resolve it",
        ));
    }
    if requested != TicketStatus::Resolved {
        return Err(Refusal::Invalid("status can only be set to RESOLVED"));
    }
    Ok(match ticket.status {
        TicketStatus::Resolved => Resolution::AlreadyResolved,
        from @ (TicketStatus::Unattended | TicketStatus::Replied) => Resolution::Resolve {
            at: now,
            events: vec![NewEvent {
                kind: EventKind::StatusChanged {
                    from,
                    to: TicketStatus::Resolved,
                },
                actor: actor.id(),
                at: now,
            }],
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};

    pub(super) fn ticket(status: TicketStatus) -> TicketFacts {
        TicketFacts {
            author: OWNER.id(),
            status,
            assignee: None,
            has_first_response: status != TicketStatus::Unattended,
        }
    }

    /// The status a public reply leaves, or its refusal.
    fn reply(actor: Actor, facts: TicketFacts) -> Result<TicketStatus, Refusal> {
        decide_reply(actor, facts, ReplyKind::Public, now()).map(|d| d.status)
    }

    fn open(actor: Actor) -> Result<TicketStatus, Refusal> {
        decide_new_ticket(actor, &SlaTargets::default(), now()).map(|o| o.status)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn only_a_customer_opens_a_ticket_and_it_starts_unattended() {
        assert_eq!(open(OWNER), Ok(TicketStatus::Unattended));
        assert!(matches!(open(AGENT), Err(Refusal::Forbidden(_))));
        assert!(matches!(open(ADMIN), Err(Refusal::Forbidden(_))));
    }

    #[test]
    fn an_agent_reply_moves_unattended_to_replied() {
        assert_eq!(
            reply(AGENT, ticket(TicketStatus::Unattended)),
            Ok(TicketStatus::Replied)
        );
        assert_eq!(
            reply(AGENT, ticket(TicketStatus::Replied)),
            Ok(TicketStatus::Replied)
        );
    }

    #[test]
    fn customer_cannot_reply_before_an_agent_has() {
        assert!(matches!(
            reply(OWNER, ticket(TicketStatus::Unattended)),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn a_customer_reply_after_an_agent_leaves_the_ticket_replied() {
        assert_eq!(
            reply(OWNER, ticket(TicketStatus::Replied)),
            Ok(TicketStatus::Replied)
        );
    }

    #[test]
    fn another_customer_cannot_even_see_the_ticket_to_reply() {
        for status in TicketStatus::ALL {
            assert_eq!(
                reply(OTHER_CUSTOMER, ticket(status)),
                Err(Refusal::NotFound)
            );
        }
    }

    #[test]
    fn a_resolved_ticket_takes_no_reply() {
        for actor in [OWNER, AGENT] {
            assert!(matches!(
                reply(actor, ticket(TicketStatus::Resolved)),
                Err(Refusal::Conflict(_))
            ));
        }
    }

    #[test]
    fn an_admin_never_replies() {
        for status in TicketStatus::ALL {
            assert!(matches!(
                reply(ADMIN, ticket(status)),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    fn resolve_now(from: TicketFacts) -> Resolution {
        Resolution::Resolve {
            at: now(),
            events: vec![NewEvent {
                kind: EventKind::StatusChanged {
                    from: from.status,
                    to: TicketStatus::Resolved,
                },
                actor: OWNER.id(),
                at: now(),
            }],
        }
    }

    #[test]
    fn only_the_owner_resolves_from_any_unresolved_state() {
        for status in [TicketStatus::Unattended, TicketStatus::Replied] {
            let facts = ticket(status);
            let resolved = TicketStatus::Resolved;
            assert_eq!(
                decide_status_change(OWNER, facts, resolved, now()),
                Ok(resolve_now(facts))
            );
            assert!(matches!(
                decide_status_change(AGENT, facts, resolved, now()),
                Err(Refusal::Forbidden(_))
            ));
            assert!(matches!(
                decide_status_change(ADMIN, facts, resolved, now()),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(
                decide_status_change(OTHER_CUSTOMER, facts, resolved, now()),
                Err(Refusal::NotFound)
            );
        }
    }

    #[test]
    fn resolving_twice_changes_nothing() {
        assert_eq!(
            decide_status_change(
                OWNER,
                ticket(TicketStatus::Resolved),
                TicketStatus::Resolved,
                now()
            ),
            Ok(Resolution::AlreadyResolved)
        );
    }

    #[test]
    fn a_status_other_than_resolved_cannot_be_set() {
        for requested in [TicketStatus::Unattended, TicketStatus::Replied] {
            assert!(matches!(
                decide_status_change(OWNER, ticket(TicketStatus::Replied), requested, now()),
                Err(Refusal::Invalid(_))
            ));
        }
    }

    const SECOND_AGENT: UserId = UserId(5);

    fn assigned_to(assignee: UserId, facts: TicketFacts) -> TicketFacts {
        TicketFacts {
            assignee: Some(assignee),
            ..facts
        }
    }

    /// Every state a ticket may be in: each status, assigned or not, with or
    /// without a first response (a ticket its customer resolved before any
    /// agent answered has none).
    fn every_ticket() -> Vec<TicketFacts> {
        let mut all = Vec::new();
        for status in TicketStatus::ALL {
            for assignee in [None, Some(AGENT.id()), Some(SECOND_AGENT), Some(ADMIN.id())] {
                for has_first_response in [false, true] {
                    if status == TicketStatus::Replied && !has_first_response {
                        continue;
                    }
                    if status == TicketStatus::Unattended && has_first_response {
                        continue;
                    }
                    all.push(TicketFacts {
                        assignee,
                        has_first_response,
                        ..ticket(status)
                    });
                }
            }
        }
        all
    }

    fn note(actor: Actor, facts: TicketFacts) -> Result<ReplyDecision, Refusal> {
        decide_reply(actor, facts, ReplyKind::Internal, now())
    }

    fn public(actor: Actor, facts: TicketFacts) -> Result<ReplyDecision, Refusal> {
        decide_reply(actor, facts, ReplyKind::Public, now())
    }

    fn kinds(events: &[NewEvent]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind.clone()).collect()
    }

    #[test]
    fn staff_write_internal_notes_in_every_status_resolved_included() {
        for actor in [AGENT, ADMIN] {
            for facts in every_ticket() {
                let decision = note(actor, facts).expect("a note is allowed");
                assert_eq!(decision.kind, ReplyKind::Internal);
                assert_eq!(decision.at, now());
            }
        }
    }

    #[test]
    fn a_customer_writes_no_note_forbidden_on_their_own_ticket_hidden_on_another() {
        for facts in every_ticket() {
            assert!(matches!(note(OWNER, facts), Err(Refusal::Forbidden(_))));
            assert_eq!(note(OTHER_CUSTOMER, facts), Err(Refusal::NotFound));
        }
    }

    #[test]
    fn a_note_changes_nothing_and_records_only_that_it_was_written() {
        for actor in [AGENT, ADMIN] {
            for facts in every_ticket() {
                let decision = note(actor, facts).expect("a note is allowed");
                assert_eq!(decision.status, facts.status, "a note moved the status");
                assert_eq!(decision.assignee, facts.assignee, "a note assigned");
                assert!(!decision.first_response, "a note is no first response");
                assert_eq!(decision.updated_at, None, "a note moved updatedAt");
                assert_eq!(
                    decision.events(11),
                    [NewEvent {
                        kind: EventKind::Noted { reply_id: 11 },
                        actor: actor.id(),
                        at: now(),
                    }]
                );
            }
        }
    }

    #[test]
    fn a_note_does_not_let_the_customer_reply() {
        let unattended = ticket(TicketStatus::Unattended);
        let after_note = note(AGENT, unattended).expect("a note is allowed");
        let facts = TicketFacts {
            status: after_note.status,
            assignee: after_note.assignee,
            has_first_response: after_note.first_response,
            ..unattended
        };
        assert!(matches!(public(OWNER, facts), Err(Refusal::Conflict(_))));
    }

    #[test]
    fn an_agents_public_reply_assigns_an_unassigned_ticket_to_them() {
        for status in [TicketStatus::Unattended, TicketStatus::Replied] {
            let decision = public(AGENT, ticket(status)).expect("allowed");
            assert_eq!(decision.assignee, Some(AGENT.id()));
            for owner in [AGENT.id(), SECOND_AGENT, ADMIN.id()] {
                let decision = public(AGENT, assigned_to(owner, ticket(status))).expect("allowed");
                assert_eq!(decision.assignee, Some(owner), "the assignee stays");
            }
        }
    }

    #[test]
    fn only_an_agents_first_public_reply_is_the_first_response() {
        let unanswered = ticket(TicketStatus::Unattended);
        assert!(public(AGENT, unanswered).expect("allowed").first_response);
        let assigned = assigned_to(SECOND_AGENT, unanswered);
        assert!(public(AGENT, assigned).expect("allowed").first_response);
        let answered = ticket(TicketStatus::Replied);
        assert!(!public(AGENT, answered).expect("allowed").first_response);
        assert!(!public(OWNER, answered).expect("allowed").first_response);
        for actor in [AGENT, ADMIN] {
            assert!(!note(actor, unanswered).expect("allowed").first_response);
        }
    }

    #[test]
    fn a_public_reply_records_replied_then_status_then_assignment_at_one_time() {
        let replied = |id| EventKind::Replied { reply_id: id };
        let moved = EventKind::StatusChanged {
            from: TicketStatus::Unattended,
            to: TicketStatus::Replied,
        };
        let assigned = EventKind::Assigned {
            from: None,
            to: Some(AGENT.id()),
        };
        let unattended = ticket(TicketStatus::Unattended);
        let answered = ticket(TicketStatus::Replied);
        for (facts, expected) in [
            (
                unattended,
                vec![replied(8), moved.clone(), assigned.clone()],
            ),
            (
                assigned_to(SECOND_AGENT, unattended),
                vec![replied(8), moved],
            ),
            (answered, vec![replied(8), assigned]),
            (assigned_to(AGENT.id(), answered), vec![replied(8)]),
            (assigned_to(SECOND_AGENT, answered), vec![replied(8)]),
        ] {
            let decision = public(AGENT, facts).expect("allowed");
            let events = decision.events(8);
            assert_eq!(kinds(&events), expected, "{facts:?}");
            assert!(
                events
                    .iter()
                    .all(|e| e.at == now() && e.actor == AGENT.id())
            );
            assert_eq!(decision.updated_at, Some(now()));
        }
    }

    #[test]
    fn a_customer_reply_never_assigns_nor_counts_as_a_first_response() {
        for assignee in [None, Some(AGENT.id())] {
            let facts = TicketFacts {
                assignee,
                ..ticket(TicketStatus::Replied)
            };
            let decision = public(OWNER, facts).expect("allowed");
            assert_eq!(decision.status, TicketStatus::Replied);
            assert_eq!(decision.assignee, assignee);
            assert!(!decision.first_response);
            assert_eq!(decision.updated_at, Some(now()));
            assert_eq!(
                decision.events(4),
                [NewEvent {
                    kind: EventKind::Replied { reply_id: 4 },
                    actor: OWNER.id(),
                    at: now(),
                }]
            );
        }
        let never_answered = TicketFacts {
            has_first_response: false,
            ..ticket(TicketStatus::Replied)
        };
        assert!(
            !public(OWNER, never_answered)
                .expect("allowed")
                .first_response
        );
    }

    #[test]
    fn resolving_records_one_status_change_and_resolving_again_none() {
        for facts in every_ticket() {
            let decision = decide_status_change(OWNER, facts, TicketStatus::Resolved, now());
            match facts.status {
                TicketStatus::Resolved => {
                    assert_eq!(decision, Ok(Resolution::AlreadyResolved));
                }
                from => {
                    let Ok(Resolution::Resolve { at, events }) = decision else {
                        panic!("{facts:?} not resolved: {decision:?}");
                    };
                    assert_eq!(at, now());
                    assert_eq!(
                        events,
                        [NewEvent {
                            kind: EventKind::StatusChanged {
                                from,
                                to: TicketStatus::Resolved,
                            },
                            actor: OWNER.id(),
                            at: now(),
                        }]
                    );
                }
            }
        }
    }
}
