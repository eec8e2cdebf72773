//! The store's tests: every rule holds at the store's boundary, under
//! concurrency too; each body runs on SQLite and on PostgreSQL.

mod concurrency;
mod conditional;
mod cursors;
mod files;
mod held;
mod idempotency;
mod inbound;
mod outbox;
mod plans;
mod report;
mod search;
mod sqlstate;
mod ticket_page;
mod tickets;
mod tokens;
mod upgrade;
mod users;
mod web_sessions;
mod workflow;

use domain::{Actor, Pin, Refusal, Role, TicketBody, Username};
use store::{DatabaseUrl, HashingPlace, NewTicket, Store, StoreError, StoreOptions};
use testkit::TestDb;

/// The PIN of every account the tests load.
pub const PIN: &str = "0000";

/// Loads an account of `role` (no admin needed) and returns it as an actor.
pub fn actor(store: &Store, name: &str, role: Role) -> Actor {
    let user = store
        .bulk_ensure_user(
            &Username::parse(name).expect("valid username"),
            &Pin::parse(PIN).expect("valid pin"),
            role,
        )
        .expect("load user");
    Actor::for_tests(user.id, role)
}

/// A second store on `db` that takes no list filter for few (see
/// `StoreOptions::few_matches`), so every ticket list walks an index in
/// its order.
pub fn walking_store(db: &TestDb) -> Store {
    let url = DatabaseUrl::parse(&db.url()).expect("url");
    let options = StoreOptions {
        few_matches: 0,
        ..StoreOptions::default()
    };
    Store::connect(&url, options).expect("connect")
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

pub fn open(store: &Store, customer: Actor, body: &str) -> domain::SeenTicket {
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

/// The refusal a store call answered; anything else fails the test.
pub fn refused(result: Result<impl std::fmt::Debug, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A place for one request's PIN hashing, waiting while all are taken
/// (tests in parallel can fill them), as a client retries a 503.
pub fn hashing(store: &Store) -> HashingPlace {
    loop {
        match store.reserve_hashing() {
            Ok(place) => return place,
            Err(StoreError::Busy { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(other) => panic!("cannot reserve hashing: {other:?}"),
        }
    }
}
