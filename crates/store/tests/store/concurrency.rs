//! Rules under concurrency: distinct ticketIds, and no reply landing after
//! a resolve, within one pool, across two pools, and with a row held too long.

use std::collections::HashSet;
use std::sync::Barrier;

use domain::{PageRequest, ReplyBody, TicketId, TicketStatus};
use domain::{Refusal, ReplyKind};
use store::StoreError;
use testkit::{Backend, both_backends};

use super::*;

both_backends!(sixteen_threads_creating_tickets_get_distinct_ids, |db| {
    let store = db.store();
    let customers: Vec<_> = (0..16)
        .map(|i| actor(store, &format!("c{i}"), Role::Customer))
        .collect();
    let barrier = Barrier::new(customers.len());
    let ids: Vec<TicketId> = std::thread::scope(|scope| {
        let workers: Vec<_> = customers
            .iter()
            .map(|&customer| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    (0..50)
                        .map(|i| open(store, customer, &format!("ticket {i}")).id)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert_eq!(ids.len(), 800);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        800,
        "duplicate ticketIds"
    );
});

/// Four agents reply while the owner resolves, ten rounds, the calls spread
/// over `stores`: every call succeeds or gets its rule's refusal, and no
/// reply is stamped after `resolvedAt`. Without the ticket lock a reply
/// decided on a stale status lands after the resolution, and this fails.
fn race_replies_against_resolve(stores: &[&Store]) {
    let customer = actor(stores[0], "owner", Role::Customer);
    let agents: Vec<_> = (0..4)
        .map(|i| actor(stores[0], &format!("agent{i}"), Role::SupportAgent))
        .collect();
    for round in 0..10 {
        let ticket_id = open(stores[0], customer, &format!("race {round}")).id;
        let barrier = Barrier::new(agents.len() + 1);
        std::thread::scope(|scope| {
            for (n, &agent) in agents.iter().enumerate() {
                let (store, barrier) = (stores[n % stores.len()], &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..10 {
                        let body = ReplyBody::parse(format!("reply {i}")).expect("valid");
                        match store.add_reply(agent, ticket_id, &body, ReplyKind::Public) {
                            Ok(_) | Err(StoreError::Refused(Refusal::Conflict(_))) => {}
                            Err(other) => panic!("agent reply failed with {other:?}"),
                        }
                    }
                });
            }
            barrier.wait();
            std::thread::sleep(std::time::Duration::from_millis(round));
            stores[stores.len() - 1]
                .change_ticket_status(customer, ticket_id, TicketStatus::Resolved)
                .unwrap_or_else(|e| panic!("resolve failed with {e:?}"));
        });
        let resolved_at = stores[0]
            .read_ticket(customer, ticket_id)
            .expect("get")
            .resolved_at
            .expect("resolved");
        let replies = stores[0]
            .list_replies(
                customer,
                ticket_id,
                PageRequest::new(1, 100).expect("valid"),
            )
            .expect("replies")
            .items;
        for reply in &replies {
            assert!(
                reply.created_at <= resolved_at,
                "reply {} after resolvedAt",
                reply.id
            );
        }
    }
}

both_backends!(replies_racing_a_resolve_never_land_after_it, |db| {
    race_replies_against_resolve(&[db.store()]);
});

both_backends!(two_stores_sharing_one_database_keep_the_rules, |db| {
    // Two pools on one database stand for two server processes.
    let url = store::DatabaseUrl::parse(&db.url()).expect("valid url");
    let second = Store::connect(&url, store::StoreOptions::default()).expect("second store");
    race_replies_against_resolve(&[db.store(), &second]);
});

both_backends!(a_ticket_locked_too_long_is_unavailable_not_a_hang, |db| {
    let store = db.store();
    let customer = actor(store, "owner", Role::Customer);
    let agent = actor(store, "agent", Role::SupportAgent);
    let ticket = open(store, customer, "locked");
    // Another client holds the ticket (PostgreSQL) or the write lock (SQLite).
    let mut holder = db.other_client();
    match db.backend() {
        Backend::Sqlite => holder.execute("BEGIN IMMEDIATE"),
        Backend::Postgres => holder.execute(&format!(
            "BEGIN; SELECT id FROM tickets WHERE id = {} FOR UPDATE",
            ticket.id
        )),
    }
    let body = ReplyBody::parse("are you there?").expect("valid");
    let refused = store.add_reply(agent, ticket.id, &body, ReplyKind::Public);
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    drop(holder);
    store
        .add_reply(agent, ticket.id, &body, ReplyKind::Public)
        .expect("answers once the lock is gone");
});
