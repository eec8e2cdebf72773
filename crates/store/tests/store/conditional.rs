//! `If-Match` at the store's boundary: the precondition is compared with
//! the record locked, in the write's own transaction, so of two writers
//! holding the same version exactly one writes.

use domain::conditional::CHANGED_SINCE;
use domain::{EntityTag, Precondition, Priority, TagList, TicketChange, TicketStatus, UserChange};
use testkit::both_backends;
use testkit::fingerprint::fingerprint;

use super::*;

fn if_match(tag: &EntityTag) -> Precondition {
    Precondition::IfMatch(TagList::parse("If-Match", &tag.header_value()).expect("a tag"))
}

fn priority(priority: Priority) -> TicketChange {
    TicketChange {
        priority: Some(priority),
        ..TicketChange::default()
    }
}

both_backends!(
    a_stale_precondition_changes_nothing_and_a_current_one_writes,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "printer on fire");
        let read = store.read_ticket(cast.agent, ticket.id).expect("read");
        let tag = EntityTag::of_ticket(&read);
        let changed = store
            .change_ticket_if(
                cast.agent,
                ticket.id,
                &priority(Priority::High),
                &if_match(&tag),
            )
            .expect("current");
        assert_ne!(EntityTag::of_ticket(&changed), tag);
        assert_eq!(
            EntityTag::of_ticket(&store.read_ticket(cast.agent, ticket.id).expect("read")),
            EntityTag::of_ticket(&changed),
            "the write answers the version a read then finds"
        );
        let before = fingerprint(store).expect("fingerprint");
        let stale = store.change_ticket_if(
            cast.agent,
            ticket.id,
            &priority(Priority::Low),
            &if_match(&tag),
        );
        assert_eq!(refused(stale), Refusal::Changed(CHANGED_SINCE));
        let stale = store.change_ticket_status_if(
            cast.customer,
            ticket.id,
            TicketStatus::Resolved,
            &if_match(&tag),
        );
        assert_eq!(refused(stale), Refusal::Changed(CHANGED_SINCE));
        let account = store
            .read_user(cast.admin, cast.customer.id())
            .expect("read");
        let stale_account = EntityTag::of_user(&domain::audience::see_own_user(domain::User {
            active: false,
            ..account
        }));
        let change = UserChange {
            role: None,
            active: Some(false),
            pin: None,
            email: None,
        };
        let stale = store.update_user_if(
            cast.admin,
            cast.customer.id(),
            &change,
            &if_match(&stale_account),
        );
        assert_eq!(refused(stale), Refusal::Changed(CHANGED_SINCE));
        assert_eq!(
            fingerprint(store).expect("fingerprint"),
            before,
            "nothing changed"
        );
        store
            .change_ticket_if(
                cast.agent,
                ticket.id,
                &priority(Priority::Low),
                &Precondition::IfMatch(TagList::Any),
            )
            .expect("any version");
    }
);

both_backends!(
    of_two_writers_holding_one_version_exactly_one_writes,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let other_agent = actor(store, "marta", domain::Role::SupportAgent);
        for round in 0..8 {
            let ticket = open(store, cast.customer, &format!("printer on fire {round}")).id;
            let tag = EntityTag::of_ticket(&store.read_ticket(cast.agent, ticket).expect("read"));
            let precondition = if_match(&tag);
            let outcomes: Vec<_> = std::thread::scope(|scope| {
                let writers = [(cast.agent, Priority::High), (other_agent, Priority::Low)].map(
                    |(agent, wanted)| {
                        let precondition = precondition.clone();
                        scope.spawn(move || {
                            store.change_ticket_if(agent, ticket, &priority(wanted), &precondition)
                        })
                    },
                );
                writers
                    .map(|writer| writer.join().expect("thread"))
                    .into_iter()
                    .collect()
            });
            let written: Vec<_> = outcomes
                .iter()
                .filter_map(|outcome| outcome.as_ref().ok())
                .collect();
            assert_eq!(written.len(), 1, "round {round}: {outcomes:?}");
            assert!(
                outcomes.iter().any(|outcome| matches!(
                    outcome,
                    Err(StoreError::Refused(Refusal::Changed(_)))
                )),
                "round {round}: {outcomes:?}"
            );
            let now = store.read_ticket(cast.agent, ticket).expect("read");
            assert_eq!(now.priority, written[0].priority, "round {round}");
        }
    }
);
