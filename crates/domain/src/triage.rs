//! Triage: staff setting a ticket's priority, assignee and tags.

use chrono::{DateTime, Utc};

use crate::accounts::Standing;
use crate::audience::{Audience, may_view_ticket};
use crate::entities::{Ticket, TicketFacts};
use crate::history::{EventKind, NewEvent};
use crate::ids::UserId;
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::sla::{DueTimes, SlaTargets};
use crate::workflow::{Priority, TagSet};

/// The fields a triage asks to set; `None` leaves one as it is, and
/// `assignee: Some(None)` unassigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub priority: Option<Priority>,
    pub assignee: Option<Option<UserId>>,
    pub tags: Option<TagSet>,
}

/// What an allowed change writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketUpdate {
    pub priority: Priority,
    /// Recomputed from `createdAt` when the priority changes; the stored
    /// times otherwise (the targets may have changed since they were set).
    pub due: DueTimes,
    pub assignee: Option<UserId>,
    /// The new set, when the tags change.
    pub tags: Option<TagSet>,
    /// The new `updatedAt` when a field a customer sees changed (priority,
    /// assignee); a tag change alone leaves it, so it reveals nothing.
    pub updated_at: Option<DateTime<Utc>>,
    /// `priority_changed`, `assigned`, `tags_changed`, in that order, for
    /// the fields that changed.
    pub events: Vec<NewEvent>,
}

/// Who may be given a ticket: an active support agent or admin. `None` is
/// a user id that names no account.
pub fn may_be_assigned(assignee: Option<Standing>) -> Result<(), Refusal> {
    match assignee {
        Some(Standing {
            role: Role::SupportAgent | Role::Admin,
            active: true,
        }) => Ok(()),
        _ => Err(Refusal::Invalid(
            "assignee must be an active support agent or admin",
        )),
    }
}

/// Who may triage a ticket: staff, in any status; a customer is forbidden
/// their own ticket and does not find another's.
pub fn may_triage(actor: Actor, ticket: TicketFacts) -> Result<(), Refusal> {
    may_view_ticket(actor, ticket)?;
    match Audience::of(actor) {
        Audience::Staff => Ok(()),
        Audience::Customer => Err(Refusal::Forbidden(
            "only support agents and admins change a ticket's priority, assignee or tags",
        )),
    }
}

/// Staff change a ticket's priority, assignee and tags ([`may_triage`]). A new
/// assignee must pass [`may_be_assigned`] (`assignee` is what the store
/// found for the requested id). A change to what already is answers
/// `None`: nothing is written, no event, `updatedAt` stays.
pub fn decide_ticket_change(
    actor: Actor,
    ticket: &Ticket,
    tags: &TagSet,
    change: &TicketChange,
    assignee: Option<Standing>,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) -> Result<Option<TicketUpdate>, Refusal> {
    may_triage(actor, ticket.facts())?;
    // Only a new assignee is checked: re-sending the current one, even one
    // deactivated since, changes nothing and so is a no-op, not a refusal.
    if let Some(Some(requested)) = change.assignee
        && Some(requested) != ticket.assignee
    {
        may_be_assigned(assignee)?;
    }
    let mut kinds = Vec::new();
    let priority = change.priority.unwrap_or(ticket.priority);
    if priority != ticket.priority {
        kinds.push(EventKind::PriorityChanged {
            from: ticket.priority,
            to: priority,
        });
    }
    let assignee = change.assignee.unwrap_or(ticket.assignee);
    if assignee != ticket.assignee {
        kinds.push(EventKind::Assigned {
            from: ticket.assignee,
            to: assignee,
        });
    }
    let customer_sees_a_change = !kinds.is_empty();
    let new_tags = change.tags.as_ref().filter(|new| *new != tags);
    if let Some(new) = new_tags {
        let (added, removed) = tags.difference(new);
        kinds.push(EventKind::TagsChanged { added, removed });
    }
    if kinds.is_empty() {
        return Ok(None);
    }
    Ok(Some(TicketUpdate {
        priority,
        due: if priority == ticket.priority {
            ticket.due
        } else {
            targets.due_times(ticket.created_at, priority)
        },
        assignee,
        tags: new_tags.cloned(),
        updated_at: customer_sees_a_change.then_some(now),
        events: kinds
            .into_iter()
            .map(|kind| NewEvent {
                kind,
                actor: actor.id(),
                at: now,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TicketId;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
    use crate::workflow::{Tag, TicketStatus};
    use chrono::TimeDelta;

    const OTHER_AGENT: UserId = UserId(5);
    const STAFF: [Actor; 2] = [AGENT, ADMIN];

    const ACTIVE_AGENT: Option<Standing> = Some(Standing {
        role: Role::SupportAgent,
        active: true,
    });

    fn created() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    /// Five hours after the ticket was opened.
    fn now() -> DateTime<Utc> {
        created() + TimeDelta::hours(5)
    }

    fn tags(names: &[&str]) -> TagSet {
        TagSet::parse(names).expect("valid tags")
    }

    fn tag(name: &str) -> Tag {
        Tag::parse(name).expect("valid tag")
    }

    /// A ticket of `OWNER`'s, opened at `created()` with normal priority.
    fn ticket(status: TicketStatus) -> Ticket {
        Ticket {
            id: TicketId(7),
            subject: None,
            body: "printer on fire".into(),
            status,
            author: OWNER.id(),
            created_at: created(),
            updated_at: created() + TimeDelta::minutes(10),
            resolved_at: (status == TicketStatus::Resolved)
                .then(|| created() + TimeDelta::hours(1)),
            priority: Priority::Normal,
            assignee: None,
            tags: Some(TagSet::default()),
            first_response_at: (status != TicketStatus::Unattended)
                .then(|| created() + TimeDelta::minutes(10)),
            due: SlaTargets::default().due_times(created(), Priority::Normal),
            follow_up_of: None,
        }
    }

    fn change(
        actor: Actor,
        ticket: &Ticket,
        change: &TicketChange,
        assignee: Option<Standing>,
    ) -> Result<Option<TicketUpdate>, Refusal> {
        let tags = ticket.tags.clone().unwrap_or_default();
        decide_ticket_change(
            actor,
            ticket,
            &tags,
            change,
            assignee,
            &SlaTargets::default(),
            now(),
        )
    }

    fn everything() -> TicketChange {
        TicketChange {
            priority: Some(Priority::Urgent),
            assignee: Some(Some(OTHER_AGENT)),
            tags: Some(tags(&["vip"])),
        }
    }

    fn kinds(update: &TicketUpdate) -> Vec<EventKind> {
        update.events.iter().map(|e| e.kind.clone()).collect()
    }

    #[test]
    fn a_customer_changes_nothing_forbidden_on_their_own_ticket_hidden_on_another() {
        let one_field = [
            TicketChange {
                priority: Some(Priority::High),
                ..TicketChange::default()
            },
            TicketChange {
                assignee: Some(Some(AGENT.id())),
                ..TicketChange::default()
            },
            TicketChange {
                tags: Some(tags(&["vip"])),
                ..TicketChange::default()
            },
        ];
        for status in TicketStatus::ALL {
            let ticket = ticket(status);
            for request in one_field.iter().cloned().chain([everything()]) {
                assert!(matches!(
                    change(OWNER, &ticket, &request, ACTIVE_AGENT),
                    Err(Refusal::Forbidden(_))
                ));
                assert_eq!(
                    change(OTHER_CUSTOMER, &ticket, &request, ACTIVE_AGENT),
                    Err(Refusal::NotFound)
                );
            }
            assert!(
                matches!(
                    change(OWNER, &ticket, &TicketChange::default(), None),
                    Err(Refusal::Forbidden(_))
                ),
                "even an empty change is refused to a customer"
            );
            assert_eq!(
                change(OTHER_CUSTOMER, &ticket, &TicketChange::default(), None),
                Err(Refusal::NotFound)
            );
        }
    }

    #[test]
    fn staff_change_every_field_in_every_status_resolved_included() {
        for actor in STAFF {
            for status in TicketStatus::ALL {
                let update = change(actor, &ticket(status), &everything(), ACTIVE_AGENT)
                    .expect("allowed")
                    .expect("a change");
                assert_eq!(update.priority, Priority::Urgent);
                assert_eq!(update.assignee, Some(OTHER_AGENT));
                assert_eq!(update.tags, Some(tags(&["vip"])));
                assert_eq!(update.updated_at, Some(now()));
                assert_eq!(update.events.len(), 3, "{actor:?} on {status:?}");
            }
        }
    }

    #[test]
    fn only_an_active_agent_or_admin_may_be_assigned() {
        for role in Role::ALL {
            for active in [true, false] {
                let standing = Standing { role, active };
                let allowed = active && role != Role::Customer;
                assert_eq!(
                    may_be_assigned(Some(standing)).is_ok(),
                    allowed,
                    "{standing:?}"
                );
                if !allowed {
                    assert!(matches!(
                        may_be_assigned(Some(standing)),
                        Err(Refusal::Invalid(_))
                    ));
                }
            }
        }
        assert!(
            matches!(may_be_assigned(None), Err(Refusal::Invalid(_))),
            "no such user"
        );
    }

    #[test]
    fn re_sending_a_deactivated_current_assignee_is_a_no_op_not_a_refusal() {
        let assigned = Ticket {
            assignee: Some(OTHER_AGENT),
            ..ticket(TicketStatus::Replied)
        };
        let same = TicketChange {
            assignee: Some(Some(OTHER_AGENT)),
            ..TicketChange::default()
        };
        let deactivated = Some(Standing {
            role: Role::SupportAgent,
            active: false,
        });
        assert_eq!(change(AGENT, &assigned, &same, deactivated), Ok(None));
        let with_priority = TicketChange {
            priority: Some(Priority::High),
            ..same
        };
        let update = change(AGENT, &assigned, &with_priority, deactivated)
            .expect("allowed")
            .expect("a change");
        assert_eq!(update.assignee, Some(OTHER_AGENT), "kept, not re-checked");
        assert_eq!(update.events.len(), 1, "only the priority changed");
    }

    #[test]
    fn a_bad_assignee_refuses_the_whole_change() {
        let customer = Some(Standing {
            role: Role::Customer,
            active: true,
        });
        let inactive_agent = Some(Standing {
            role: Role::SupportAgent,
            active: false,
        });
        let inactive_admin = Some(Standing {
            role: Role::Admin,
            active: false,
        });
        for actor in STAFF {
            for status in TicketStatus::ALL {
                for standing in [customer, inactive_agent, inactive_admin, None] {
                    assert!(
                        matches!(
                            change(actor, &ticket(status), &everything(), standing),
                            Err(Refusal::Invalid(_))
                        ),
                        "{standing:?} accepted as assignee"
                    );
                }
            }
        }
        let active_admin = Some(Standing {
            role: Role::Admin,
            active: true,
        });
        let to_admin = TicketChange {
            assignee: Some(Some(ADMIN.id())),
            ..TicketChange::default()
        };
        let update = change(
            AGENT,
            &ticket(TicketStatus::Replied),
            &to_admin,
            active_admin,
        )
        .expect("an active admin may be assigned")
        .expect("a change");
        assert_eq!(update.assignee, Some(ADMIN.id()));
    }

    #[test]
    fn unassigning_needs_no_check() {
        let assigned = Ticket {
            assignee: Some(AGENT.id()),
            ..ticket(TicketStatus::Replied)
        };
        let unassign = TicketChange {
            assignee: Some(None),
            ..TicketChange::default()
        };
        for actor in STAFF {
            let update = change(actor, &assigned, &unassign, None)
                .expect("no assignee to check")
                .expect("a change");
            assert_eq!(update.assignee, None);
            assert_eq!(update.updated_at, Some(now()));
            assert_eq!(
                kinds(&update),
                [EventKind::Assigned {
                    from: Some(AGENT.id()),
                    to: None
                }]
            );
        }
        assert_eq!(
            change(AGENT, &ticket(TicketStatus::Replied), &unassign, None),
            Ok(None),
            "unassigning an unassigned ticket changes nothing"
        );
    }

    #[test]
    fn a_change_to_what_already_is_records_nothing() {
        let current = Ticket {
            priority: Priority::High,
            assignee: Some(AGENT.id()),
            tags: Some(tags(&["billing", "vip"])),
            ..ticket(TicketStatus::Replied)
        };
        let same = [
            TicketChange::default(),
            TicketChange {
                priority: Some(Priority::High),
                ..TicketChange::default()
            },
            TicketChange {
                assignee: Some(Some(AGENT.id())),
                ..TicketChange::default()
            },
            TicketChange {
                tags: Some(tags(&["VIP", "billing", "vip"])),
                ..TicketChange::default()
            },
            TicketChange {
                priority: Some(Priority::High),
                assignee: Some(Some(AGENT.id())),
                tags: Some(tags(&["vip", "billing"])),
            },
        ];
        for actor in STAFF {
            for request in &same {
                assert_eq!(
                    change(actor, &current, request, ACTIVE_AGENT),
                    Ok(None),
                    "{request:?}"
                );
            }
        }
        let unassigned = ticket(TicketStatus::Unattended);
        let empty_tags = TicketChange {
            tags: Some(TagSet::default()),
            assignee: Some(None),
            priority: Some(Priority::Normal),
        };
        assert_eq!(change(AGENT, &unassigned, &empty_tags, None), Ok(None));
    }

    #[test]
    fn a_priority_change_recomputes_both_due_times_from_creation() {
        let to_urgent = TicketChange {
            priority: Some(Priority::Urgent),
            ..TicketChange::default()
        };
        for status in TicketStatus::ALL {
            let update = change(AGENT, &ticket(status), &to_urgent, None)
                .expect("allowed")
                .expect("a change");
            assert_eq!(update.due.first_response, created() + TimeDelta::hours(1));
            assert_eq!(update.due.resolution, created() + TimeDelta::hours(4));
            assert_eq!(
                update.due,
                SlaTargets::default().due_times(created(), Priority::Urgent)
            );
        }
        let targets = SlaTargets::parse(Some("LOW=2d"), Some("LOW=10d")).expect("valid");
        let current = ticket(TicketStatus::Resolved);
        let to_low = TicketChange {
            priority: Some(Priority::Low),
            ..TicketChange::default()
        };
        let update = decide_ticket_change(
            ADMIN,
            &current,
            &TagSet::default(),
            &to_low,
            None,
            &targets,
            now(),
        )
        .expect("allowed")
        .expect("a change");
        assert_eq!(update.due.first_response, created() + TimeDelta::days(2));
        assert_eq!(update.due.resolution, created() + TimeDelta::days(10));
    }

    #[test]
    fn the_due_times_stay_when_the_priority_does() {
        // Stored under other targets (the setting changed since): only a
        // priority change recomputes them.
        let stored = SlaTargets::parse(Some("NORMAL=2h"), Some("NORMAL=5h")).expect("valid");
        let current = Ticket {
            due: stored.due_times(created(), Priority::Normal),
            ..ticket(TicketStatus::Replied)
        };
        for request in [
            TicketChange {
                tags: Some(tags(&["vip"])),
                ..TicketChange::default()
            },
            TicketChange {
                assignee: Some(Some(AGENT.id())),
                priority: Some(Priority::Normal),
                ..TicketChange::default()
            },
        ] {
            let update = change(AGENT, &current, &request, ACTIVE_AGENT)
                .expect("allowed")
                .expect("a change");
            assert_eq!(update.due, current.due, "{request:?}");
        }
    }

    #[test]
    fn updated_at_moves_on_priority_or_assignee_never_on_tags_alone() {
        let current = ticket(TicketStatus::Replied);
        let priority = TicketChange {
            priority: Some(Priority::Low),
            ..TicketChange::default()
        };
        let assignee = TicketChange {
            assignee: Some(Some(AGENT.id())),
            ..TicketChange::default()
        };
        let tags_only = TicketChange {
            tags: Some(tags(&["vip"])),
            ..TicketChange::default()
        };
        let tags_and_priority = TicketChange {
            tags: Some(tags(&["vip"])),
            ..priority.clone()
        };
        let tags_and_same_priority = TicketChange {
            priority: Some(Priority::Normal),
            assignee: Some(None),
            ..tags_only.clone()
        };
        for (request, moves) in [
            (priority, true),
            (assignee, true),
            (tags_only, false),
            (tags_and_priority, true),
            (tags_and_same_priority, false),
        ] {
            let update = change(ADMIN, &current, &request, ACTIVE_AGENT)
                .expect("allowed")
                .expect("a change");
            assert_eq!(update.updated_at, moves.then_some(now()), "{request:?}");
        }
        let tags_only = change(
            AGENT,
            &current,
            &TicketChange {
                tags: Some(tags(&["vip"])),
                ..TicketChange::default()
            },
            None,
        )
        .expect("allowed")
        .expect("a change");
        assert_eq!(tags_only.priority, current.priority);
        assert_eq!(tags_only.assignee, current.assignee);
        assert_eq!(tags_only.due, current.due);
    }

    #[test]
    fn the_events_are_priority_assignment_then_tags_with_actor_and_time() {
        let current = Ticket {
            assignee: Some(AGENT.id()),
            tags: Some(tags(&["a", "b"])),
            ..ticket(TicketStatus::Resolved)
        };
        let request = TicketChange {
            priority: Some(Priority::Urgent),
            assignee: Some(Some(OTHER_AGENT)),
            tags: Some(tags(&["c", "b"])),
        };
        for actor in STAFF {
            let update = change(actor, &current, &request, ACTIVE_AGENT)
                .expect("allowed")
                .expect("a change");
            assert_eq!(
                kinds(&update),
                [
                    EventKind::PriorityChanged {
                        from: Priority::Normal,
                        to: Priority::Urgent
                    },
                    EventKind::Assigned {
                        from: Some(AGENT.id()),
                        to: Some(OTHER_AGENT)
                    },
                    EventKind::TagsChanged {
                        added: vec![tag("c")],
                        removed: vec![tag("a")]
                    },
                ]
            );
            assert!(
                update
                    .events
                    .iter()
                    .all(|e| e.actor == actor.id() && e.at == now())
            );
            assert_eq!(update.tags, Some(tags(&["b", "c"])));
        }
        let only_tags = TicketChange {
            tags: Some(TagSet::default()),
            ..TicketChange::default()
        };
        let update = change(AGENT, &current, &only_tags, None)
            .expect("allowed")
            .expect("a change");
        assert_eq!(
            kinds(&update),
            [EventKind::TagsChanged {
                added: vec![],
                removed: vec![tag("a"), tag("b")]
            }]
        );
        assert_eq!(update.tags, Some(TagSet::default()));
        let only_priority = TicketChange {
            priority: Some(Priority::Low),
            ..TicketChange::default()
        };
        let update = change(AGENT, &current, &only_priority, None)
            .expect("allowed")
            .expect("a change");
        assert_eq!(
            kinds(&update),
            [EventKind::PriorityChanged {
                from: Priority::Normal,
                to: Priority::Low
            }]
        );
        assert_eq!(update.tags, None, "the tags did not change");
    }
}
