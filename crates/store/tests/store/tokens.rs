//! API tokens at the store's boundary: the row holds a digest only; who
//! lists and revokes whose; who a token speaks for (current role, ended by
//! deactivation for good, kept through a PIN change or reset, refused when
//! expired or revoked, a read-only one forbidden to write); at most 20
//! live tokens an account under 25 creations at once from two pools; and
//! `lastUsedAt` written once for two uses within a minute.

use std::sync::Barrier;

use diesel::prelude::*;
use domain::api_tokens::{
    ExpiresInDays, LIVE_TOKENS_PER_ACCOUNT, READ_ONLY_TOKEN, TOO_MANY_TOKENS, TokenName,
};
use domain::login::BAD_TOKEN;
use domain::{Access, ApiToken, ApiTokenId, NewApiToken, Refusal, Role, UserChange, UserId};
use store::schema::api_tokens;
use store::test_hooks::{RawConnection, take_connection};
use testkit::{both_backends, record_queries};

use super::*;

fn new_token(name: &str, read_only: bool, expires_in_days: Option<i64>) -> NewApiToken {
    NewApiToken {
        name: TokenName::parse(name).expect("valid name"),
        expires_in: expires_in_days.map(|days| ExpiresInDays::parse(days).expect("in range")),
        read_only,
    }
}

/// Creates a token for `owner` keyed by `digest`.
fn create(store: &Store, owner: Actor, name: &str, digest: &str) -> ApiToken {
    store
        .create_api_token(owner, &new_token(name, false, None), digest)
        .expect("create a token")
}

/// The rows of `api_tokens` as `(user_id, name, secret_digest)`.
fn rows(store: &Store) -> Vec<(i64, String, String)> {
    let mut conn = take_connection(store).expect("connection");
    let query = api_tokens::table.order(api_tokens::id).select((
        api_tokens::user_id,
        api_tokens::name,
        api_tokens::secret_digest,
    ));
    match conn.raw() {
        RawConnection::Sqlite(c) => query.load(c),
        RawConnection::Pg(c) => query.load(c),
    }
    .expect("rows")
}

fn deactivation(active: bool) -> UserChange {
    UserChange {
        role: None,
        active: Some(active),
        pin: None,
        email: None,
    }
}

both_backends!(
    a_token_is_stored_as_the_digest_it_was_given_and_nothing_else,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let created = create(store, cast.customer, "crm sync", "digest-of-the-token");
        assert_eq!(created.owner, cast.customer.id());
        assert_eq!(created.name, "crm sync");
        assert_eq!(created.last_used_at, None);
        assert_eq!(created.expires_at, None);
        assert_eq!(
            rows(store),
            vec![(
                cast.customer.id().0,
                "crm sync".to_owned(),
                "digest-of-the-token".to_owned()
            )]
        );
        let listed = store
            .list_api_tokens(cast.customer, cast.customer.id())
            .expect("list");
        assert_eq!(listed, vec![created]);
    }
);

both_backends!(
    the_owner_and_admins_list_and_revoke_and_nobody_else_finds_them,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let owner = cast.customer.id();
        let token = create(store, cast.customer, "bot", "d1");
        for stranger in [cast.other_customer, cast.agent] {
            assert_eq!(
                refused(store.list_api_tokens(stranger, owner)),
                Refusal::NotFound
            );
            assert_eq!(
                refused(store.revoke_api_token(stranger, owner, token.id)),
                Refusal::NotFound
            );
            // Their own list does not reach it either.
            assert_eq!(
                refused(store.revoke_api_token(stranger, stranger.id(), token.id)),
                Refusal::NotFound
            );
        }
        assert_eq!(
            store
                .list_api_tokens(cast.admin, owner)
                .expect("list")
                .len(),
            1
        );
        assert_eq!(
            refused(store.list_api_tokens(cast.admin, UserId(999_999))),
            Refusal::NotFound
        );
        let revoked = store
            .revoke_api_token(cast.admin, owner, token.id)
            .expect("an admin revokes");
        assert_eq!(revoked.id, token.id);
        assert!(rows(store).is_empty());
        assert_eq!(
            refused(store.authenticate_api_token("d1", Access::Read)),
            Refusal::Unauthenticated(BAD_TOKEN)
        );
        assert_eq!(
            refused(store.revoke_api_token(cast.customer, owner, token.id)),
            Refusal::NotFound
        );
        assert_eq!(
            refused(store.revoke_api_token(cast.customer, owner, ApiTokenId(424_242))),
            Refusal::NotFound
        );
    }
);

both_backends!(
    a_token_speaks_for_its_account_as_it_is_now_until_deactivation_ends_it,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let owner = cast.customer.id();
        create(store, cast.customer, "bot", "d1");
        let actor = store
            .authenticate_api_token("d1", Access::Write)
            .expect("a live token");
        assert_eq!((actor.id(), actor.role()), (owner, Role::Customer));

        let promote = UserChange {
            role: Some(Role::SupportAgent),
            active: None,
            pin: None,
            email: None,
        };
        store
            .update_user(cast.admin, owner, &promote)
            .expect("promote");
        let actor = store
            .authenticate_api_token("d1", Access::Read)
            .expect("live");
        assert_eq!(actor.role(), Role::SupportAgent);

        // A PIN reset is not a deactivation: the token holds.
        let reset = UserChange {
            role: None,
            active: None,
            pin: Some(Pin::parse("1234").expect("pin")),
            email: None,
        };
        store.update_user(cast.admin, owner, &reset).expect("reset");
        store
            .authenticate_api_token("d1", Access::Read)
            .expect("kept");

        store
            .update_user(cast.admin, owner, &deactivation(false))
            .expect("deactivate");
        assert_eq!(
            refused(store.authenticate_api_token("d1", Access::Read)),
            Refusal::Unauthenticated(BAD_TOKEN)
        );
        store
            .update_user(cast.admin, owner, &deactivation(true))
            .expect("reactivate");
        assert_eq!(
            refused(store.authenticate_api_token("d1", Access::Read)),
            Refusal::Unauthenticated(BAD_TOKEN),
            "reactivation does not revive an ended token"
        );
        assert!(rows(store).is_empty());
    }
);

both_backends!(a_read_only_token_reads_and_is_forbidden_to_write, |db| {
    let store = db.store();
    let cast = cast(db);
    store
        .create_api_token(cast.agent, &new_token("wallboard", true, None), "ro")
        .expect("create");
    let reader = store
        .authenticate_api_token("ro", Access::Read)
        .expect("reads");
    assert_eq!(reader.id(), cast.agent.id());
    assert_eq!(
        refused(store.authenticate_api_token("ro", Access::Write)),
        READ_ONLY_TOKEN
    );
});

both_backends!(
    an_expired_token_is_refused_and_swept_by_the_next_creation,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let token = store
            .create_api_token(cast.customer, &new_token("short", false, Some(1)), "d1")
            .expect("create");
        let expires_at = token.expires_at.expect("an expiry");
        let lifetime = expires_at - token.created_at;
        assert_eq!(lifetime, chrono::TimeDelta::days(1));
        store
            .authenticate_api_token("d1", Access::Read)
            .expect("live");
        db.other_client()
            .execute("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00'");
        assert_eq!(
            refused(store.authenticate_api_token("d1", Access::Read)),
            Refusal::Unauthenticated(BAD_TOKEN)
        );
        // Listed (as expired) until the account creates another.
        assert_eq!(
            store
                .list_api_tokens(cast.customer, cast.customer.id())
                .expect("list")
                .len(),
            1
        );
        create(store, cast.customer, "next", "d2");
        let names: Vec<String> = rows(store).into_iter().map(|(_, name, _)| name).collect();
        assert_eq!(names, vec!["next".to_owned()]);
    }
);

both_backends!(
    twenty_five_creations_at_once_from_two_pools_leave_exactly_twenty,
    |db| {
        let store = db.store();
        let cast = cast(db);
        // A second pool on the same database: another server process.
        let url = store::DatabaseUrl::parse(&db.url()).expect("url");
        let other_pool = Store::connect(&url, store::StoreOptions::default()).expect("second pool");
        let stores = [store, &other_pool];
        let asked = 25;
        // Every thread's connection opened first, so the creations meet in
        // the database, not in the pools' connecting.
        for pool in stores {
            let held: Vec<_> = (0..pool.pool_status().max.min(13))
                .map(|_| take_connection(pool).expect("connection"))
                .collect();
            drop(held);
        }
        let barrier = Barrier::new(asked);
        let outcomes: Vec<Result<ApiToken, store::StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..asked)
                .map(|i| {
                    let (barrier, store) = (&barrier, stores[i % 2]);
                    let customer = cast.customer;
                    scope.spawn(move || {
                        barrier.wait();
                        store.create_api_token(
                            customer,
                            &new_token(&format!("bot {i}"), false, None),
                            &format!("digest-{i}"),
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("no panic"))
                .collect()
        });
        let created = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let capped = outcomes
            .iter()
            .filter(|outcome| {
                matches!(outcome, Err(store::StoreError::Refused(refusal)) if *refusal == TOO_MANY_TOKENS)
            })
            .count();
        assert_eq!(
            (created, capped),
            (LIVE_TOKENS_PER_ACCOUNT, 5),
            "{outcomes:?}"
        );
        assert_eq!(rows(store).len(), LIVE_TOKENS_PER_ACCOUNT);
        // Another account's cap is its own.
        create(store, cast.other_customer, "bot", "theirs");
    }
);

both_backends!(two_uses_within_a_minute_write_last_used_at_once, |db| {
    let store = db.store();
    let cast = cast(db);
    create(store, cast.customer, "bot", "d1");
    let log = record_queries(store);
    let writes_of_last_use = |log: &testkit::QueryLog| {
        log.take()
            .into_iter()
            .filter(|sql| sql.contains("UPDATE") && sql.contains("api_tokens"))
            .count()
    };
    store
        .authenticate_api_token("d1", Access::Read)
        .expect("first use");
    assert_eq!(writes_of_last_use(&log), 1, "the first use is written");
    let first = store
        .list_api_tokens(cast.customer, cast.customer.id())
        .expect("list")[0]
        .last_used_at
        .expect("written");
    store
        .authenticate_api_token("d1", Access::Read)
        .expect("second use");
    assert_eq!(
        writes_of_last_use(&log),
        0,
        "a second use within the minute writes nothing"
    );
    let second = store
        .list_api_tokens(cast.customer, cast.customer.id())
        .expect("list")[0]
        .last_used_at;
    assert_eq!(second, Some(first));

    // Once the stored use is over a minute old, a use writes it again.
    db.other_client()
        .execute("UPDATE api_tokens SET last_used_at = '2000-01-01 00:00:00'");
    store
        .authenticate_api_token("d1", Access::Read)
        .expect("a later use");
    assert_eq!(writes_of_last_use(&log), 1);
    let later = store
        .list_api_tokens(cast.customer, cast.customer.id())
        .expect("list")[0]
        .last_used_at
        .expect("written");
    assert!(later >= first);
});
