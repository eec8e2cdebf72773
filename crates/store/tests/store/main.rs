//! The store's tests; each body runs on SQLite and on PostgreSQL.

mod concurrency;
mod report;
mod tickets;
mod users;

use domain::{Actor, Role, TicketBody, Username};
use store::test_support::TestDb;
use store::{NewTicket, NewUser, Store};

/// Creates a user of `role` and returns it as an actor.
pub fn actor(store: &Store, name: &str, role: Role) -> Actor {
    let user = store
        .create_user(&NewUser {
            username: Username::parse(name).expect("valid username"),
            pin_hash: "not-a-real-hash".to_owned(),
            role,
        })
        .expect("create user");
    Actor { id: user.id, role }
}

/// The usual cast: two customers, an agent and an admin.
#[derive(Debug)]
pub struct Cast {
    pub customer: Actor,
    pub other_customer: Actor,
    pub agent: Actor,
    pub admin: Actor,
}

pub fn cast(db: &TestDb) -> Cast {
    let store = db.store();
    Cast {
        customer: actor(store, "kayode", Role::Customer),
        other_customer: actor(store, "tolu", Role::Customer),
        agent: actor(store, "benjamin", Role::SupportAgent),
        admin: actor(store, "iambenkay", Role::Admin),
    }
}

pub fn open(store: &Store, customer: Actor, body: &str) -> domain::Ticket {
    store
        .create_ticket(
            customer,
            &NewTicket {
                subject: None,
                body: TicketBody::parse(body).expect("valid body"),
            },
        )
        .expect("create ticket")
}
