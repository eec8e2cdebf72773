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
//! with everyone's usernames, and with its requester: the account of the
//! customer who opened it (a customer is the requester, and is not shown
//! themself).
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

    /// The account of the customer who opened a ticket, beside it: staff
    /// need to know whom they answer (and how to reach them); a customer
    /// is the requester.
    pub fn sees_requester(self) -> bool {
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
                EventType::Noted
                | EventType::Assigned
                | EventType::TagsChanged
                | EventType::HeldDismissed,
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
/// viewer sees tags, whether it is in SLA breach at that instant (the
/// same instant a list's breach filter used, so a row and its filter
/// cannot disagree), and its requester when the viewer sees requesters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTicket {
    pub ticket: Ticket,
    pub sla_breached: bool,
    /// The account that opened the ticket, as the viewer sees it (its
    /// address only where [`see_user`] shows it); `None` for a customer.
    pub requester: Option<SeenUser>,
}

/// A seen ticket reads as the ticket it shows.
impl std::ops::Deref for SeenTicket {
    type Target = Ticket;

    fn deref(&self) -> &Ticket {
        &self.ticket
    }
}

/// `ticket` as `viewer` sees it at `now`. `author` is the account that
/// opened it, which the store reads for a viewer who sees requesters
/// (`None` otherwise; ignored unless the viewer sees it, and unless it is
/// the ticket's author).
pub fn see_ticket(
    viewer: Actor,
    ticket: Ticket,
    author: Option<User>,
    now: DateTime<Utc>,
) -> SeenTicket {
    let audience = Audience::of(viewer);
    let requester = requester_of(audience, &ticket, author).map(|user| see_user(viewer, user));
    seen_ticket(audience, ticket, requester, now)
}

/// `ticket` as `audience` sees it at `now`: for a reader who is no one
/// account, such as a webhook's receiver, which gets the staff's view.
pub fn see_ticket_as(
    audience: Audience,
    ticket: Ticket,
    author: Option<User>,
    now: DateTime<Utc>,
) -> SeenTicket {
    let requester = requester_of(audience, &ticket, author).map(|user| see_user_as(audience, user));
    seen_ticket(audience, ticket, requester, now)
}

/// The ticket's author, if `audience` sees requesters and `author` is it.
fn requester_of(audience: Audience, ticket: &Ticket, author: Option<User>) -> Option<User> {
    author.filter(|user| audience.sees_requester() && user.id == ticket.author)
}

fn seen_ticket(
    audience: Audience,
    ticket: Ticket,
    requester: Option<SeenUser>,
    now: DateTime<Utc>,
) -> SeenTicket {
    let sla_breached = ticket.sla_breached(now);
    let tags = match audience.sees_tags() {
        true => ticket.tags,
        false => None,
    };
    SeenTicket {
        ticket: Ticket { tags, ..ticket },
        sla_breached,
        requester,
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
    use proptest::prelude::*;

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

    fn account(id: UserId, role: Role, email: Option<&str>) -> User {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        User {
            id,
            username: format!("user{}", id.0),
            role,
            active: true,
            email: email.map(|address| crate::EmailAddress::parse(address).expect("valid")),
            created_at: at,
            updated_at: at,
        }
    }

    fn ticket_by(author: UserId) -> Ticket {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Ticket {
            id: crate::ids::TicketId(9),
            subject: None,
            body: "help".to_owned(),
            status: crate::workflow::TicketStatus::Unattended,
            author,
            created_at: at,
            updated_at: at,
            resolved_at: None,
            priority: crate::workflow::Priority::Normal,
            assignee: None,
            tags: None,
            first_response_at: None,
            due: crate::sla::SlaTargets::default().due_times(at, crate::workflow::Priority::Normal),
            follow_up_of: None,
        }
    }

    fn any_role() -> impl Strategy<Value = Role> {
        prop_oneof![
            Just(Role::Customer),
            Just(Role::SupportAgent),
            Just(Role::Admin)
        ]
    }

    proptest! {
        /// Staff see who opened a ticket, its address exactly where
        /// `see_user` shows it (a customer's, an agent's to an admin); a
        /// customer never sees a requester, not even themself; an account
        /// that is not the ticket's author is never shown as it.
        #[test]
        fn staff_see_the_requester_as_they_see_the_account(
            viewer_id in 1i64..4,
            viewer_role in any_role(),
            author_id in 1i64..4,
            author_role in any_role(),
            email in prop::option::of(Just("someone@example.com")),
            handed_over in 1i64..4,
        ) {
            let viewer = Actor::for_tests(UserId(viewer_id), viewer_role);
            let author = account(UserId(handed_over), author_role, email);
            let ticket = ticket_by(UserId(author_id));
            let seen = see_ticket(viewer, ticket.clone(), Some(author.clone()), ticket.created_at);
            let staff = viewer_role != Role::Customer;
            match &seen.requester {
                None => prop_assert!(!staff || handed_over != author_id),
                Some(requester) => {
                    prop_assert!(staff && handed_over == author_id);
                    prop_assert_eq!(requester, &see_user(viewer, author.clone()));
                    prop_assert_eq!(
                        requester.shows_email,
                        sees_address(viewer, author.id, author_role)
                    );
                }
            }
            let webhook = see_ticket_as(Audience::Staff, ticket.clone(), Some(author.clone()), ticket.created_at);
            prop_assert_eq!(
                webhook.requester.map(|requester| requester.shows_email),
                (handed_over == author_id).then_some(author_role == Role::Customer)
            );
            let customers = see_ticket_as(Audience::Customer, ticket.clone(), Some(author), ticket.created_at);
            prop_assert_eq!(customers.requester, None);
        }
    }

    #[test]
    fn staff_see_a_customers_address_beside_their_ticket() {
        let customer = account(OWNER.id(), Role::Customer, Some("kayode@example.com"));
        let ticket = ticket_by(OWNER.id());
        let at = ticket.created_at;
        let seen = see_ticket(AGENT, ticket.clone(), Some(customer.clone()), at);
        let requester = seen.requester.expect("staff see the requester");
        assert!(requester.shows_email);
        assert_eq!(requester.user.email, customer.email);
        let mine = see_ticket(OWNER, ticket.clone(), Some(customer.clone()), at);
        assert_eq!(mine.requester, None, "a customer is the requester");
        let none = account(OWNER.id(), Role::Customer, None);
        let seen = see_ticket(ADMIN, ticket, Some(none), at);
        let requester = seen.requester.expect("staff see the requester");
        assert!(requester.shows_email, "shown as none");
        assert_eq!(requester.user.email, None);
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
