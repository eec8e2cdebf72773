//! Idempotency keys at the store's boundary: taking a key, the answer a
//! retry gets, the answer recorded in the change's own transaction (and the
//! change undone when the key was taken over meanwhile), letting a key go,
//! and the sweep of keys past their 24 hours.

use std::time::Duration;

use domain::idempotency::{
    Fingerprint, IdempotencyKey, KEY_IN_FLIGHT, KEY_REUSED, KEY_TAKEN_OVER, KeyOwner, KeyScope,
    KeyedRequest, StoredAnswer,
};
use domain::{ReplyBody, ReplyKind, SeenTicket, UserId};
use store::{Claimed, KeyClaim, Recording};
use testkit::both_backends;
use testkit::fingerprint::fingerprint;

use super::*;

const LIMIT: Duration = Duration::from_secs(30);

fn keyed(owner: i64, path: &str, key: &str, body: &[u8]) -> KeyedRequest {
    KeyedRequest {
        scope: KeyScope::new(&KeyOwner::Account(UserId(owner)), "POST", path),
        key: IdempotencyKey::parse(key).expect("valid key"),
        fingerprint: Fingerprint::of(body),
    }
}

fn fresh(store: &Store, request: &KeyedRequest) -> KeyClaim {
    match store.claim_idempotency_key(request, LIMIT).expect("claim") {
        Claimed::Fresh(claim) => claim,
        Claimed::Replay(answer) => panic!("expected a fresh claim, got a replay of {answer:?}"),
    }
}

fn answer_of(ticket: &SeenTicket) -> StoredAnswer {
    StoredAnswer {
        status: 201,
        body: format!("{{\"ticketId\":{}}}", ticket.id.0),
    }
}

fn new_ticket(body: &str) -> NewTicket {
    NewTicket {
        subject: None,
        body: TicketBody::parse(body).expect("valid body"),
    }
}

both_backends!(
    a_created_tickets_answer_is_recorded_with_it_and_replayed_to_the_same_request,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let request = keyed(
            cast.customer.id().0,
            "/api/v1/tickets",
            "k-1",
            b"{\"body\":\"a\"}",
        );
        let claim = fresh(store, &request);

        // While the first is in flight: the same request is asked to wait,
        // another body is refused.
        assert_eq!(
            refused(store.claim_idempotency_key(&request, LIMIT)),
            Refusal::Conflict(KEY_IN_FLIGHT)
        );
        let other = keyed(
            cast.customer.id().0,
            "/api/v1/tickets",
            "k-1",
            b"{\"body\":\"b\"}",
        );
        assert_eq!(
            refused(store.claim_idempotency_key(&other, LIMIT)),
            Refusal::Mismatch(KEY_REUSED)
        );

        let recording = Recording::new(claim, answer_of);
        let ticket = store
            .create_ticket_once(
                cast.customer,
                &new_ticket("printer on fire"),
                Some(&recording),
            )
            .expect("created");
        let before = fingerprint(store).expect("fingerprint");
        match store.claim_idempotency_key(&request, LIMIT).expect("claim") {
            Claimed::Replay(answer) => assert_eq!(answer, answer_of(&ticket)),
            Claimed::Fresh(_) => panic!("a retry of an answered request must replay"),
        }
        assert_eq!(
            refused(store.claim_idempotency_key(&other, LIMIT)),
            Refusal::Mismatch(KEY_REUSED)
        );
        assert_eq!(
            fingerprint(store).expect("fingerprint"),
            before,
            "a replay changes nothing"
        );
    }
);

both_backends!(keys_of_another_owner_or_path_are_other_keys, |db| {
    let store = db.store();
    let cast = cast(db);
    let body = b"{\"body\":\"a\"}";
    fresh(
        store,
        &keyed(cast.customer.id().0, "/api/v1/tickets", "same", body),
    );
    fresh(
        store,
        &keyed(cast.other_customer.id().0, "/api/v1/tickets", "same", body),
    );
    fresh(
        store,
        &keyed(
            cast.customer.id().0,
            "/api/v1/tickets/1/replies",
            "same",
            body,
        ),
    );
    let signed_out = KeyedRequest {
        scope: KeyScope::new(
            &KeyOwner::Address("192.0.2.7".to_owned()),
            "POST",
            "/api/v1/tickets",
        ),
        ..keyed(0, "/", "same", body)
    };
    fresh(store, &signed_out);
});

both_backends!(
    a_request_whose_key_was_taken_over_cannot_record_and_its_change_rolls_back,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let ticket = open(store, cast.customer, "printer on fire");
        let request = keyed(
            cast.agent.id().0,
            "/api/v1/tickets/1/replies",
            "slow",
            b"{}",
        );
        let slow = fresh(store, &request);
        // Past the request time limit, a retry takes the key over.
        let retry = match store
            .claim_idempotency_key(&request, Duration::ZERO)
            .expect("claim")
        {
            Claimed::Fresh(claim) => claim,
            Claimed::Replay(_) => panic!("an abandoned key is taken over"),
        };
        assert_ne!(slow, retry);
        let before = fingerprint(store).expect("fingerprint");
        let body = ReplyBody::parse("on my way").expect("valid");
        let answer = |reply: &domain::Reply| StoredAnswer {
            status: 201,
            body: reply.id.to_string(),
        };
        let late = store.add_reply_once(
            cast.agent,
            ticket.id,
            &body,
            ReplyKind::Public,
            Some(&Recording::new(slow.clone(), answer)),
        );
        assert_eq!(refused(late), Refusal::Conflict(KEY_TAKEN_OVER));
        assert_eq!(
            fingerprint(store).expect("fingerprint"),
            before,
            "the late change rolled back"
        );
        // Nor can it keep a refusal's answer, or let the retry's hold go.
        let refusal = StoredAnswer {
            status: 409,
            body: "{}".to_owned(),
        };
        assert!(!store.keep_idempotent_answer(&slow, &refusal).expect("keep"));
        store.release_idempotency_key(&slow).expect("release");
        let reply = store
            .add_reply_once(
                cast.agent,
                ticket.id,
                &body,
                ReplyKind::Public,
                Some(&Recording::new(retry, answer)),
            )
            .expect("the retry's reply");
        match store.claim_idempotency_key(&request, LIMIT).expect("claim") {
            Claimed::Replay(kept) => assert_eq!(kept.body, reply.id.to_string()),
            Claimed::Fresh(_) => panic!("answered"),
        }
    }
);

both_backends!(
    a_refusals_answer_is_kept_and_a_released_key_runs_again,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let request = keyed(cast.customer.id().0, "/api/v1/users", "k", b"{}");
        let claim = fresh(store, &request);
        let refusal = StoredAnswer {
            status: 409,
            body: "{\"error\":true}".to_owned(),
        };
        assert!(
            store
                .keep_idempotent_answer(&claim, &refusal)
                .expect("keep")
        );
        assert!(
            !store
                .keep_idempotent_answer(&claim, &refusal)
                .expect("keep"),
            "answered once"
        );
        match store.claim_idempotency_key(&request, LIMIT).expect("claim") {
            Claimed::Replay(answer) => assert_eq!(answer, refusal),
            Claimed::Fresh(_) => panic!("a kept refusal replays"),
        }
        let failed = keyed(cast.customer.id().0, "/api/v1/users", "failed", b"{}");
        let claim = fresh(store, &failed);
        store.release_idempotency_key(&claim).expect("release");
        fresh(store, &failed);
    }
);

both_backends!(keys_older_than_a_day_are_taken_afresh_and_swept, |db| {
    let store = db.store();
    let cast = cast(db);
    let old = keyed(
        cast.customer.id().0,
        "/api/v1/tickets",
        "old",
        b"{\"body\":\"a\"}",
    );
    let claim = fresh(store, &old);
    let answer = StoredAnswer {
        status: 201,
        body: "{}".to_owned(),
    };
    assert!(store.keep_idempotent_answer(&claim, &answer).expect("keep"));
    let young = keyed(cast.customer.id().0, "/api/v1/tickets", "young", b"{}");
    fresh(store, &young);
    assert_eq!(store.forget_expired_idempotency_keys().expect("sweep"), 0);

    let mut client = db.other_client();
    client.execute(
        "UPDATE idempotency_keys SET created_at = '2020-01-01 00:00:00', claimed_at = '2020-01-01 00:00:00' WHERE idempotency_key = 'old'",
    );
    // Expired but not yet swept: the key is free, whatever the body.
    let other_body = keyed(
        cast.customer.id().0,
        "/api/v1/tickets",
        "old",
        b"{\"body\":\"b\"}",
    );
    fresh(store, &other_body);
    client.execute(
        "UPDATE idempotency_keys SET created_at = '2020-01-01 00:00:00' WHERE idempotency_key = 'old'",
    );
    assert_eq!(store.forget_expired_idempotency_keys().expect("sweep"), 1);
    assert_eq!(store.forget_expired_idempotency_keys().expect("sweep"), 0);
    assert_eq!(
        refused(store.claim_idempotency_key(&young, LIMIT)),
        Refusal::Conflict(KEY_IN_FLIGHT),
        "a young key stays"
    );
    fresh(store, &old);
});

both_backends!(
    of_many_requests_taking_one_key_at_once_exactly_one_gets_it,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let request = keyed(cast.customer.id().0, "/api/v1/tickets", "raced", b"{}");
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..12)
                .map(|_| scope.spawn(|| store.claim_idempotency_key(&request, LIMIT)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("thread"))
                .collect()
        });
        let fresh_claims = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Ok(Claimed::Fresh(_))))
            .count();
        assert_eq!(fresh_claims, 1, "{outcomes:?}");
        for outcome in outcomes {
            match outcome {
                Ok(Claimed::Fresh(_))
                | Err(StoreError::Refused(Refusal::Conflict(KEY_IN_FLIGHT))) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
);
