//! Held mail and originals: who may see what inbound mail left behind.
//! A message a rule refused is held, not lost, until staff read it and
//! dismiss it; the raw message a ticket or reply came from is kept. Both
//! are the staff's business: a customer never sees them, not even whether
//! one exists (ids leak nothing).

use chrono::{DateTime, Utc};

use crate::audience::Audience;
use crate::history::{EventKind, NewEvent};
use crate::ids::{TicketId, UserId};
use crate::refusal::Refusal;
use crate::roles::Actor;

/// Only staff list held messages (a ticket's, or all).
pub fn may_list_held(actor: Actor) -> Result<(), Refusal> {
    match Audience::of(actor) {
        Audience::Staff => Ok(()),
        Audience::Customer => Err(Refusal::Forbidden(
            "only support agents and admins see held mail",
        )),
    }
}

/// Only staff open one held message or original by its id; to anyone
/// else it does not exist.
pub fn may_open_mail(actor: Actor) -> Result<(), Refusal> {
    match Audience::of(actor) {
        Audience::Staff => Ok(()),
        Audience::Customer => Err(Refusal::NotFound),
    }
}

/// A held message's state, as dismissing it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldFacts {
    pub id: i64,
    pub ticket: Option<TicketId>,
    pub dismissed: Option<(DateTime<Utc>, UserId)>,
}

/// What dismissing a held message does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dismissal {
    /// Mark it dismissed by the actor at `at`, and write `event` on its
    /// ticket's history when it has a ticket.
    Dismiss {
        at: DateTime<Utc>,
        by: UserId,
        event: Option<(TicketId, NewEvent)>,
    },
    /// It was dismissed before: nothing changes (dismissing again is not a
    /// second dismissal, and its history keeps the first).
    AlreadyDismissed,
}

/// Staff dismiss a held message (it stays readable by id, with its
/// dismissal); the dismissal goes on its ticket's history.
pub fn decide_dismiss(
    actor: Actor,
    held: HeldFacts,
    now: DateTime<Utc>,
) -> Result<Dismissal, Refusal> {
    may_open_mail(actor)?;
    if held.dismissed.is_some() {
        return Ok(Dismissal::AlreadyDismissed);
    }
    let event = held.ticket.map(|ticket| {
        (
            ticket,
            NewEvent {
                kind: EventKind::HeldDismissed { held_id: held.id },
                actor: actor.id(),
                at: now,
            },
        )
    });
    Ok(Dismissal::Dismiss {
        at: now,
        by: actor.id(),
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;

    const CUSTOMER: Actor = Actor::for_tests(UserId(1), Role::Customer);
    const AGENT: Actor = Actor::for_tests(UserId(2), Role::SupportAgent);
    const ADMIN: Actor = Actor::for_tests(UserId(3), Role::Admin);

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_765_000_000, 0).expect("a time")
    }

    #[test]
    fn only_staff_see_held_mail_and_originals() {
        assert!(may_list_held(CUSTOMER).is_err_and(|r| matches!(r, Refusal::Forbidden(_))));
        assert_eq!(may_open_mail(CUSTOMER), Err(Refusal::NotFound));
        for staff in [AGENT, ADMIN] {
            assert_eq!(may_list_held(staff), Ok(()));
            assert_eq!(may_open_mail(staff), Ok(()));
        }
    }

    #[test]
    fn a_dismissal_goes_on_its_tickets_history_once() {
        let held = HeldFacts {
            id: 9,
            ticket: Some(TicketId(4)),
            dismissed: None,
        };
        assert_eq!(
            decide_dismiss(AGENT, held, at()),
            Ok(Dismissal::Dismiss {
                at: at(),
                by: AGENT.id(),
                event: Some((
                    TicketId(4),
                    NewEvent {
                        kind: EventKind::HeldDismissed { held_id: 9 },
                        actor: AGENT.id(),
                        at: at(),
                    }
                )),
            })
        );
        let without_ticket = HeldFacts {
            ticket: None,
            ..held
        };
        assert!(matches!(
            decide_dismiss(ADMIN, without_ticket, at()),
            Ok(Dismissal::Dismiss { event: None, .. })
        ));
        let dismissed = HeldFacts {
            dismissed: Some((at(), AGENT.id())),
            ..held
        };
        assert_eq!(
            decide_dismiss(ADMIN, dismissed, at()),
            Ok(Dismissal::AlreadyDismissed)
        );
        assert_eq!(decide_dismiss(CUSTOMER, held, at()), Err(Refusal::NotFound));
    }
}
