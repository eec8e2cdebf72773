//! Accounts at the store's boundary: who may create, list and change them,
//! logging in with its throttling, and what a token's subject stands for.

use domain::rules::{Refusal, USERNAME_TAKEN};
use domain::{Credentials, ListUsers, PageRequest, Pin, Role, UserChange, UserId, Username};
use store::{NewAccount, StoreError, both_backends};

use super::*;

fn account(name: &str, role: Option<Role>) -> NewAccount {
    NewAccount {
        username: Username::parse(name).expect("valid username"),
        pin: Pin::parse(PIN).expect("valid pin"),
        role,
    }
}

fn credentials(name: &str, pin: &str) -> Credentials {
    Credentials::parse(name.to_owned(), pin.to_owned()).expect("well-formed")
}

fn refused(result: Result<impl std::fmt::Debug, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

both_backends!(
    anyone_signs_up_as_a_customer_and_only_an_admin_creates_staff,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let signed_up = store
            .create_user(None, &account("newcomer", None))
            .expect("sign up");
        assert_eq!(signed_up.role, Role::Customer);
        assert!(signed_up.active);
        for role in [Role::SupportAgent, Role::Admin] {
            let name = format!("staff-{}", role.as_str());
            assert!(matches!(
                refused(store.create_user(None, &account(&name, Some(role)))),
                Refusal::Unauthenticated(_)
            ));
            for not_admin in [cast.customer, cast.agent] {
                assert!(matches!(
                    refused(store.create_user(Some(not_admin), &account(&name, Some(role)))),
                    Refusal::Forbidden(_)
                ));
            }
            let created = store
                .create_user(Some(cast.admin), &account(&name, Some(role)))
                .expect("an admin creates staff");
            assert_eq!(created.role, role);
        }
        // The refused attempts created nothing: the names were still free.
        let staff = store
            .list_users(cast.admin, &ListUsers::default())
            .expect("list");
        assert_eq!(staff.total, 7);
    }
);

both_backends!(a_duplicate_username_is_a_conflict_but_case_matters, |db| {
    let store = db.store();
    store
        .create_user(None, &account("kayode", None))
        .expect("first");
    assert_eq!(
        refused(store.create_user(None, &account("kayode", None))),
        USERNAME_TAKEN
    );
    store
        .create_user(None, &account("Kayode", None))
        .expect("another name");
});

both_backends!(
    the_right_pin_logs_in_and_anything_else_is_one_refusal,
    |db| {
        let store = db.store();
        let user = actor(store, "kayode", Role::Customer);
        let logged_in = store.log_in(&credentials("kayode", PIN)).expect("log in");
        assert_eq!(logged_in.id, user.id);
        assert_eq!(logged_in.role, Role::Customer);
        let wrong_pin = refused(store.log_in(&credentials("kayode", "1111")));
        let unknown = refused(store.log_in(&credentials("nobody", PIN)));
        assert!(matches!(wrong_pin, Refusal::Unauthenticated(_)));
        assert_eq!(wrong_pin, unknown);
    }
);

both_backends!(
    five_failures_lock_a_login_and_a_success_resets_the_count,
    |db| {
        let store = db.store();
        actor(store, "kayode", Role::Customer);
        actor(store, "tolu", Role::Customer);
        for _ in 0..5 {
            refused(store.log_in(&credentials("kayode", "9999")));
        }
        // Locked now for the first lock's 30 s (less the moment since the
        // fifth failure), even for the right PIN, and only this username.
        match refused(store.log_in(&credentials("kayode", PIN))) {
            Refusal::Throttled { retry_after_secs } => {
                assert!((29..=30).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected a lock, got {other:?}"),
        }
        store
            .log_in(&credentials("tolu", PIN))
            .expect("another name");
        // Four failures, a success, four more: the success reset the count.
        for _ in 0..4 {
            refused(store.log_in(&credentials("tolu", "9999")));
        }
        store.log_in(&credentials("tolu", PIN)).expect("log in");
        for _ in 0..4 {
            assert!(matches!(
                refused(store.log_in(&credentials("tolu", "9999"))),
                Refusal::Unauthenticated(_)
            ));
        }
        store
            .log_in(&credentials("tolu", PIN))
            .expect("still not locked");
    }
);

both_backends!(an_unknown_username_is_never_throttled_by_name, |db| {
    let store = db.store();
    for _ in 0..8 {
        assert!(matches!(
            refused(store.log_in(&credentials("nobody", "9999"))),
            Refusal::Unauthenticated(_)
        ));
    }
});

both_backends!(
    parallel_wrong_pins_get_exactly_five_checks_before_the_lock,
    |db| {
        let store = db.store();
        actor(store, "kayode", Role::Customer);
        let outcomes: Vec<Refusal> = std::thread::scope(|scope| {
            let guesses: Vec<_> = (0..12)
                .map(|i| {
                    scope.spawn(move || {
                        refused(store.log_in(&credentials("kayode", &format!("{:04}", 1000 + i))))
                    })
                })
                .collect();
            guesses
                .into_iter()
                .map(|g| g.join().expect("guess"))
                .collect()
        });
        let checked = outcomes
            .iter()
            .filter(|r| matches!(r, Refusal::Unauthenticated(_)))
            .count();
        let locked = outcomes
            .iter()
            .filter(|r| matches!(r, Refusal::Throttled { .. }))
            .count();
        assert_eq!((checked, locked), (5, 7), "{outcomes:?}");
    }
);

both_backends!(a_token_subject_is_its_current_role_while_active, |db| {
    let store = db.store();
    let cast = cast(db);
    assert_eq!(
        store.authenticate(cast.agent.id).expect("active"),
        cast.agent
    );
    let demote = UserChange {
        role: Some(Role::Customer),
        active: None,
    };
    store
        .update_user(cast.admin, cast.agent.id, demote)
        .expect("demote");
    assert_eq!(
        store.authenticate(cast.agent.id).expect("active").role,
        Role::Customer
    );
    let deactivate = UserChange {
        role: None,
        active: Some(false),
    };
    store
        .update_user(cast.admin, cast.agent.id, deactivate)
        .expect("deactivate");
    for gone in [cast.agent.id, UserId(999_999)] {
        assert!(matches!(
            refused(store.authenticate(gone)),
            Refusal::Unauthenticated(_)
        ));
    }
    // A deactivated account cannot log in either, with the same answer as a wrong PIN.
    let deactivated = refused(store.log_in(&credentials("benjamin", PIN)));
    let wrong = refused(store.log_in(&credentials("kayode", "9999")));
    assert_eq!(deactivated, wrong);
});

both_backends!(only_admins_list_users_by_role_and_page, |db| {
    let store = db.store();
    let cast = cast(db);
    let customers = store
        .list_users(
            cast.admin,
            &ListUsers {
                page: PageRequest::default(),
                role: Some(Role::Customer),
            },
        )
        .expect("list");
    assert_eq!(customers.total, 2);
    let ids: Vec<_> = customers.users.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![cast.customer.id, cast.other_customer.id]);
    let second_page = store
        .list_users(
            cast.admin,
            &ListUsers {
                page: PageRequest::new(2, 3).expect("valid"),
                role: None,
            },
        )
        .expect("list");
    assert_eq!(second_page.total, 4);
    assert_eq!(second_page.users.len(), 1);
    assert_eq!(second_page.users[0].id, cast.admin.id);
    for not_admin in [cast.customer, cast.agent] {
        assert!(matches!(
            refused(store.list_users(not_admin, &ListUsers::default())),
            Refusal::Forbidden(_)
        ));
    }
});

both_backends!(
    the_last_active_admin_cannot_be_demoted_or_deactivated,
    |db| {
        let store = db.store();
        let cast = cast(db);
        for change in [
            UserChange {
                role: Some(Role::Customer),
                active: None,
            },
            UserChange {
                role: None,
                active: Some(false),
            },
        ] {
            assert!(matches!(
                refused(store.update_user(cast.admin, cast.admin.id, change)),
                Refusal::Conflict(_)
            ));
        }
        let promote = UserChange {
            role: Some(Role::Admin),
            active: None,
        };
        let promoted = store
            .update_user(cast.admin, cast.agent.id, promote)
            .expect("promote");
        assert_eq!(promoted.role, Role::Admin);
        let deactivated = store
            .update_user(
                cast.admin,
                cast.admin.id,
                UserChange {
                    role: None,
                    active: Some(false),
                },
            )
            .expect("now another admin remains");
        assert!(!deactivated.active);
        assert_eq!(
            refused(store.update_user(promoted_actor(&promoted), UserId(999_999), promote)),
            Refusal::NotFound
        );
    }
);

both_backends!(
    only_an_admin_changes_an_account_and_others_learn_nothing,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let promote = UserChange {
            role: Some(Role::Admin),
            active: None,
        };
        for not_admin in [cast.customer, cast.agent] {
            for target in [cast.customer.id, UserId(999_999)] {
                assert!(matches!(
                    refused(store.update_user(not_admin, target, promote)),
                    Refusal::Forbidden(_)
                ));
            }
        }
        assert_eq!(
            store.authenticate(cast.customer.id).expect("active").role,
            Role::Customer,
            "the refused promotion changed nothing"
        );
        let unchanged = store
            .update_user(cast.admin, cast.customer.id, UserChange::default())
            .expect("an empty change");
        assert_eq!(unchanged.role, Role::Customer);
    }
);

both_backends!(two_admins_demoting_each_other_at_once_leave_one, |db| {
    let store = db.store();
    let first = actor(store, "admin-one", Role::Admin);
    let second = actor(store, "admin-two", Role::Admin);
    let demote = UserChange {
        role: Some(Role::SupportAgent),
        active: None,
    };
    let promote = UserChange {
        role: Some(Role::Admin),
        active: None,
    };
    for round in 0..5 {
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| store.update_user(first, second.id, demote));
            let b = scope.spawn(|| store.update_user(second, first.id, demote));
            (a.join().expect("a"), b.join().expect("b"))
        });
        // Exactly one demotion lands; the other then sees one active admin
        // left and is refused.
        let refusals: Vec<_> = [a, b].into_iter().filter_map(Result::err).collect();
        assert!(
            matches!(
                refusals.as_slice(),
                [StoreError::Refused(Refusal::Conflict(_))]
            ),
            "round {round}: {refusals:?}"
        );
        let roles = [first.id, second.id].map(|id| store.authenticate(id).expect("active").role);
        let admins = roles.iter().filter(|role| **role == Role::Admin).count();
        assert_eq!(admins, 1, "round {round}: {roles:?}");
        let (survivor, demoted) = if roles[0] == Role::Admin {
            (first, second)
        } else {
            (second, first)
        };
        store
            .update_user(survivor, demoted.id, promote)
            .expect("restore");
    }
});

fn promoted_actor(user: &domain::User) -> domain::Actor {
    domain::Actor {
        id: user.id,
        role: user.role,
    }
}

#[test]
fn an_empty_or_unknown_database_url_does_not_parse() {
    for url in ["", "mysql://localhost/x", "sqlite://", "data/tracker.db"] {
        assert!(
            store::DatabaseUrl::parse(url).is_err(),
            "{url:?} was accepted"
        );
    }
    assert!(store::DatabaseUrl::parse("sqlite:///var/lib/tracker.db").is_ok());
    assert!(store::DatabaseUrl::parse("postgresql://u@h/db").is_ok());
}

#[test]
fn database_url_defaults_to_sqlite_and_hides_its_password() {
    let unset = store::DatabaseUrl::from_lookup(|_| None).expect("default");
    assert_eq!(
        unset,
        store::DatabaseUrl::parse(store::DEFAULT_DATABASE_URL).expect("valid")
    );
    let empty = store::DatabaseUrl::from_lookup(|_| Some(String::new())).expect("default");
    assert_eq!(empty, unset);
    let url =
        store::DatabaseUrl::parse("postgres://tracker:hunter2@db:5432/tracker").expect("valid");
    for shown in [format!("{url:?}"), url.display()] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("tracker:***@db"), "{shown}");
    }
}

#[test]
fn an_unreachable_postgres_is_unavailable_with_the_real_error() {
    // Port 1 on loopback: nothing listens there.
    let url = store::DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none").expect("valid");
    match store::Store::connect(&url, store::PoolOptions::default()) {
        Err(error @ StoreError::Unavailable(_)) => {
            let cause = std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                cause.contains("127.0.0.1") || cause.contains("refused"),
                "{cause}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
