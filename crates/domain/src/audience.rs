//! What each viewer sees: which tickets (rule 2), and of a ticket which
//! fields, replies, history and names. The store's queries and every door
//! ask this module; nothing else decides it.
//!
//! A customer sees their own tickets only. Of each they see the status,
//! the priority, the due times and whether the SLA is breached, whether it
//! is assigned (the staff member's id, never a name: every staff member is
//! "Support" to them), their own and the staff's public replies, and the
//! history of what they can see change: `created`, `replied`,
//! `status_changed`, `priority_changed`. They never see tags, internal
//! notes, or who handed the ticket to whom. Staff see every ticket whole,
//! with everyone's usernames.
//!
//! An account's email address is seen by the account itself, by admins,
//! and by staff looking at a customer (they need it to reach them); a
//! customer never sees a staff member's address, and an agent never sees
//! another staff member's.

use chrono::{DateTime, Utc};

use crate::entities::{Ticket, TicketFacts, User};
use crate::history::EventType;
use crate::ids::UserId;
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};

/// Which tickets an actor may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketScope {
    All,
    AuthoredBy(UserId),
}

/// Rule 2: a customer sees only their own tickets; staff see all.
pub fn decide_ticket_scope(actor: Actor) -> TicketScope {
    match actor.role() {
        Role::Customer => TicketScope::AuthoredBy(actor.id()),
        Role::Admin | Role::SupportAgent => TicketScope::All,
    }
}

/// Rule 2, for one ticket (and so for its replies and history).
pub fn may_view_ticket(actor: Actor, ticket: TicketFacts) -> Result<(), Refusal> {
    match decide_ticket_scope(actor) {
        TicketScope::All => Ok(()),
        TicketScope::AuthoredBy(id) if id == ticket.author => Ok(()),
        TicketScope::AuthoredBy(_) => Err(Refusal::NotFound),
    }
}

/// What a ticket's viewer sees of it beyond rule 2 (see the module's
/// summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Customer,
}

impl Audience {
    pub fn of(actor: Actor) -> Self {
        match actor.role() {
            Role::Customer => Audience::Customer,
            Role::Admin | Role::SupportAgent => Audience::Staff,
        }
    }

    /// Internal notes, in the thread, its counts and search.
    pub fn sees_notes(self) -> bool {
        self == Audience::Staff
    }

    pub fn sees_tags(self) -> bool {
        self == Audience::Staff
    }

    /// Who is who: the usernames behind the ids on a ticket.
    pub fn sees_usernames(self) -> bool {
        self == Audience::Staff
    }

    /// Whether events of this type are in this audience's history: not
    /// notes, assignments or tags for a customer, which are the staff's own
    /// business.
    pub fn sees_event(self, event: EventType) -> bool {
        match (self, event) {
            (Audience::Staff, _) => true,
            (
                Audience::Customer,
                EventType::Created
                | EventType::Replied
                | EventType::StatusChanged
                | EventType::PriorityChanged,
            ) => true,
            (
                Audience::Customer,
                EventType::Noted | EventType::Assigned | EventType::TagsChanged,
            ) => false,
        }
    }

    /// The event types this audience sees, for a query's filter.
    pub fn event_types(self) -> Vec<EventType> {
        EventType::ALL
            .into_iter()
            .filter(|event| self.sees_event(*event))
            .collect()
    }
}

/// Whether `viewer` sees the address of the account `account`, whose role
/// is `role` (see the module's summary).
pub fn sees_address(viewer: Actor, account: UserId, role: Role) -> bool {
    viewer.id() == account
        || viewer.role() == Role::Admin
        || Audience::of(viewer).sees_address_of(role)
}

impl Audience {
    /// Whether this audience, as no one account, sees the address of an
    /// account of `role`: staff see a customer's, never a staff member's.
    pub fn sees_address_of(self, role: Role) -> bool {
        self == Audience::Staff && role == Role::Customer
    }
}

/// An account as one reader sees it: `user.email` is kept only when the
/// reader sees it, and `shows_email` says whether the address (or its
/// absence) is shown at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenUser {
    pub user: User,
    pub shows_email: bool,
}

/// `user` as `viewer` sees it.
pub fn see_user(viewer: Actor, user: User) -> SeenUser {
    let shows = sees_address(viewer, user.id, user.role);
    shown(user, shows)
}

/// `user` as `audience` sees it, for a reader who is no one account (a
/// webhook's receiver gets the staff's view).
pub fn see_user_as(audience: Audience, user: User) -> SeenUser {
    let shows = audience.sees_address_of(user.role);
    shown(user, shows)
}

/// `user` as the account itself sees it; also the answer to whoever
/// created an account, who gave it the address it has.
pub fn see_own_user(user: User) -> SeenUser {
    shown(user, true)
}

fn shown(user: User, shows_email: bool) -> SeenUser {
    let email = user.email.filter(|_| shows_email);
    SeenUser {
        user: User { email, ..user },
        shows_email,
    }
}

/// Staff see who is who: the usernames behind the ids on a ticket, and
/// the active staff a ticket can be assigned to. A customer sees ids only.
pub fn may_see_directory(actor: Actor) -> Result<(), Refusal> {
    match Audience::of(actor).sees_usernames() {
        true => Ok(()),
        false => Err(Refusal::Forbidden(
            "only support agents and admins see the staff directory",
        )),
    }
}

/// A ticket as one viewer sees it at one instant: its tags only when the
/// viewer sees tags, and whether it is in SLA breach at that instant (the
/// same instant a list's breach filter used, so a row and its filter
/// cannot disagree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTicket {
    pub ticket: Ticket,
    pub sla_breached: bool,
}

/// A seen ticket reads as the ticket it shows.
impl std::ops::Deref for SeenTicket {
    type Target = Ticket;

    fn deref(&self) -> &Ticket {
        &self.ticket
    }
}

/// `ticket` as `viewer` sees it at `now`.
pub fn see_ticket(viewer: Actor, ticket: Ticket, now: DateTime<Utc>) -> SeenTicket {
    see_ticket_as(Audience::of(viewer), ticket, now)
}

/// `ticket` as `audience` sees it at `now`: for a reader who is no one
/// account, such as a webhook's receiver, which gets the staff's view.
pub fn see_ticket_as(audience: Audience, ticket: Ticket, now: DateTime<Utc>) -> SeenTicket {
    let sla_breached = ticket.sla_breached(now);
    let tags = match audience.sees_tags() {
        true => ticket.tags,
        false => None,
    };
    SeenTicket {
        ticket: Ticket { tags, ..ticket },
        sla_breached,
    }
}

/// Someone on a ticket (its author, a reply's author, who did what), as
/// the viewer knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    /// The viewer themself.
    Viewer,
    /// A username, for staff viewers.
    Named(String),
    /// The ticket's customer, to staff who cannot find the name.
    Customer,
    /// A staff member, to a customer (or unnamed to staff).
    Support,
}

/// How `viewer` knows `person` on the ticket `author` opened, given the
/// usernames the directory found (ignored unless the viewer sees them).
pub fn person_as_seen(
    viewer: Actor,
    author: UserId,
    person: UserId,
    username: Option<&str>,
) -> Person {
    if person == viewer.id() {
        return Person::Viewer;
    }
    match username.filter(|_| Audience::of(viewer).sees_usernames()) {
        Some(name) => Person::Named(name.to_owned()),
        None if person == author => Person::Customer,
        None => Person::Support,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};
    use crate::workflow::TicketStatus;

    fn facts() -> TicketFacts {
        TicketFacts {
            author: OWNER.id(),
            status: TicketStatus::Unattended,
            assignee: None,
            has_first_response: false,
        }
    }

    #[test]
    fn a_customer_sees_only_their_own_tickets() {
        assert_eq!(
            decide_ticket_scope(OWNER),
            TicketScope::AuthoredBy(OWNER.id())
        );
        assert_eq!(decide_ticket_scope(AGENT), TicketScope::All);
        assert_eq!(decide_ticket_scope(ADMIN), TicketScope::All);
        assert_eq!(may_view_ticket(OWNER, facts()), Ok(()));
        assert_eq!(
            may_view_ticket(OTHER_CUSTOMER, facts()),
            Err(Refusal::NotFound)
        );
        assert_eq!(may_view_ticket(AGENT, facts()), Ok(()));
        assert_eq!(may_view_ticket(ADMIN, facts()), Ok(()));
    }

    #[test]
    fn a_customer_sees_created_replies_status_and_priority_only() {
        let seen: Vec<_> = Audience::Customer
            .event_types()
            .into_iter()
            .map(EventType::as_str)
            .collect();
        assert_eq!(
            seen,
            ["created", "replied", "status_changed", "priority_changed"]
        );
        assert_eq!(Audience::Staff.event_types(), EventType::ALL);
    }

    #[test]
    fn only_staff_see_notes_tags_and_names() {
        for (actor, staff) in [(OWNER, false), (AGENT, true), (ADMIN, true)] {
            let audience = Audience::of(actor);
            assert_eq!(audience.sees_notes(), staff, "{actor:?}");
            assert_eq!(audience.sees_tags(), staff, "{actor:?}");
            assert_eq!(audience.sees_usernames(), staff, "{actor:?}");
            assert_eq!(may_see_directory(actor).is_ok(), staff, "{actor:?}");
        }
        assert!(matches!(
            may_see_directory(OWNER),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn an_address_is_seen_by_its_account_admins_and_staff_looking_at_a_customer() {
        const SECOND_AGENT: Actor = Actor::for_tests(UserId(5), Role::SupportAgent);
        for (viewer, of, role, sees) in [
            (OWNER, OWNER, Role::Customer, true),
            (OWNER, OTHER_CUSTOMER, Role::Customer, false),
            (OWNER, AGENT, Role::SupportAgent, false),
            (OWNER, ADMIN, Role::Admin, false),
            (AGENT, OWNER, Role::Customer, true),
            (AGENT, AGENT, Role::SupportAgent, true),
            (AGENT, SECOND_AGENT, Role::SupportAgent, false),
            (AGENT, ADMIN, Role::Admin, false),
            (ADMIN, AGENT, Role::SupportAgent, true),
            (ADMIN, OWNER, Role::Customer, true),
        ] {
            assert_eq!(
                sees_address(viewer, of.id(), role),
                sees,
                "{viewer:?} of {of:?}"
            );
        }
        assert!(Audience::Staff.sees_address_of(Role::Customer));
        assert!(!Audience::Staff.sees_address_of(Role::SupportAgent));
        assert!(!Audience::Staff.sees_address_of(Role::Admin));
        assert!(!Audience::Customer.sees_address_of(Role::Customer));
    }

    #[test]
    fn a_customer_knows_staff_as_support_and_staff_know_names() {
        let named = |viewer, person, name| person_as_seen(viewer, OWNER.id(), person, name);
        assert_eq!(named(OWNER, OWNER.id(), Some("kayode")), Person::Viewer);
        assert_eq!(named(OWNER, AGENT.id(), Some("benjamin")), Person::Support);
        assert_eq!(named(OWNER, ADMIN.id(), None), Person::Support);
        assert_eq!(named(AGENT, AGENT.id(), Some("benjamin")), Person::Viewer);
        assert_eq!(
            named(AGENT, OWNER.id(), Some("kayode")),
            Person::Named("kayode".to_owned())
        );
        assert_eq!(named(AGENT, OWNER.id(), None), Person::Customer);
        assert_eq!(named(ADMIN, AGENT.id(), None), Person::Support);
    }
}
