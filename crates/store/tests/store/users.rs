//! Accounts at the store's boundary: who may create, list and change them,
//! logging in with its throttling, and what a token's subject stands for.

use domain::Refusal;
use domain::accounts::USERNAME_TAKEN;
use domain::login::{AddressBudget, FromAddress};
use domain::{
    Creator, Credentials, ListUsers, PageRequest, Pin, Role, SessionEpoch, UserChange, UserId,
    Username,
};
use store::{NewAccount, StoreError};
use testkit::both_backends;

use super::*;

fn account(name: &str, role: Option<Role>) -> NewAccount {
    NewAccount {
        username: Username::parse(name).expect("valid username"),
        pin: Pin::parse(PIN).expect("valid pin"),
        role,
        email: None,
    }
}

fn credentials(name: &str, pin: &str) -> Credentials {
    Credentials::parse(name.to_owned(), pin.to_owned()).expect("well-formed")
}

both_backends!(
    anyone_signs_up_as_a_customer_and_only_an_admin_creates_staff,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let signed_up = store
            .create_user(
                hashing(store),
                Creator::Anonymous,
                &account("newcomer", None),
            )
            .expect("sign up");
        assert_eq!(signed_up.role, Role::Customer);
        assert!(signed_up.active);
        for role in [Role::SupportAgent, Role::Admin] {
            let name = format!("staff-{}", role.as_str());
            assert!(matches!(
                refused(store.create_user(
                    hashing(store),
                    Creator::Anonymous,
                    &account(&name, Some(role))
                )),
                Refusal::Unauthenticated(_)
            ));
            for not_admin in [cast.customer, cast.agent] {
                assert!(matches!(
                    refused(store.create_user(
                        hashing(store),
                        Creator::User(not_admin),
                        &account(&name, Some(role))
                    )),
                    Refusal::Forbidden(_)
                ));
            }
            let created = store
                .create_user(
                    hashing(store),
                    Creator::User(cast.admin),
                    &account(&name, Some(role)),
                )
                .expect("an admin creates staff");
            assert_eq!(created.role, role);
        }
        // The refused attempts created nothing: the names were still free.
        let staff = store
            .list_users(
                cast.admin,
                &ListUsers {
                    page: PageRequest::default().counting(),
                    role: None,
                },
            )
            .expect("list");
        assert_eq!(staff.total, Some(7));
    }
);

both_backends!(a_duplicate_username_is_a_conflict_but_case_matters, |db| {
    let store = db.store();
    store
        .create_user(hashing(store), Creator::Anonymous, &account("kayode", None))
        .expect("first");
    assert_eq!(
        refused(store.create_user(hashing(store), Creator::Anonymous, &account("kayode", None))),
        USERNAME_TAKEN
    );
    store
        .create_user(hashing(store), Creator::Anonymous, &account("Kayode", None))
        .expect("another name");
});

both_backends!(
    the_right_pin_logs_in_and_anything_else_is_one_refusal,
    |db| {
        let store = db.store();
        let user = actor(store, "kayode", Role::Customer);
        let logged_in = store
            .log_in(hashing(store), &credentials("kayode", PIN), None, None)
            .expect("log in");
        assert_eq!(logged_in.user.id, user.id());
        assert_eq!(logged_in.user.role, Role::Customer);
        let wrong_pin =
            refused(store.log_in(hashing(store), &credentials("kayode", "1111"), None, None));
        let unknown =
            refused(store.log_in(hashing(store), &credentials("nobody", PIN), None, None));
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
            refused(store.log_in(hashing(store), &credentials("kayode", "9999"), None, None));
        }
        // Locked now for the first lock's 30 s (less the moment since the
        // fifth failure), even for the right PIN, and only this username.
        match refused(store.log_in(hashing(store), &credentials("kayode", PIN), None, None)) {
            Refusal::Throttled { retry_after_secs } => {
                assert!((29..=30).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected a lock, got {other:?}"),
        }
        store
            .log_in(hashing(store), &credentials("tolu", PIN), None, None)
            .expect("another name");
        // Four failures, a success, four more: the success reset the count.
        for _ in 0..4 {
            refused(store.log_in(hashing(store), &credentials("tolu", "9999"), None, None));
        }
        store
            .log_in(hashing(store), &credentials("tolu", PIN), None, None)
            .expect("log in");
        for _ in 0..4 {
            assert!(matches!(
                refused(store.log_in(hashing(store), &credentials("tolu", "9999"), None, None)),
                Refusal::Unauthenticated(_)
            ));
        }
        store
            .log_in(hashing(store), &credentials("tolu", PIN), None, None)
            .expect("still not locked");
    }
);

both_backends!(
    strangers_wrong_pins_do_not_lock_out_the_owners_known_device,
    |db| {
        let store = db.store();
        let owner = actor(store, "kayode", Role::Customer).id();
        let other = actor(store, "tolu", Role::Customer).id();
        for _ in 0..5 {
            refused(store.log_in(hashing(store), &credentials("kayode", "9999"), None, None));
        }
        assert!(matches!(
            refused(store.log_in(hashing(store), &credentials("kayode", PIN), None, None)),
            Refusal::Throttled { .. }
        ));
        // Another account's device cookie is a stranger's: still locked.
        assert!(matches!(
            refused(store.log_in(
                hashing(store),
                &credentials("kayode", PIN),
                Some(other),
                None
            )),
            Refusal::Throttled { .. }
        ));
        // The owner's device is counted apart and gets in.
        store
            .log_in(
                hashing(store),
                &credentials("kayode", PIN),
                Some(owner),
                None,
            )
            .expect("a known device is not locked by strangers");
        // Its own failures lock it like any lane.
        for _ in 0..5 {
            refused(store.log_in(
                hashing(store),
                &credentials("kayode", "9999"),
                Some(owner),
                None,
            ));
        }
        assert!(matches!(
            refused(store.log_in(
                hashing(store),
                &credentials("kayode", PIN),
                Some(owner),
                None
            )),
            Refusal::Throttled { .. }
        ));
    }
);

/// What a run of wrong PINs on `name` answers, attempt by attempt: the
/// refusal's kind and, when throttled, how long to wait.
fn wrong_pin_outcomes(store: &Store, name: &str, attempts: usize) -> Vec<(bool, Option<u64>)> {
    (0..attempts)
        .map(|_| {
            match refused(store.log_in(hashing(store), &credentials(name, "9999"), None, None)) {
                Refusal::Unauthenticated(_) => (true, None),
                Refusal::Throttled { retry_after_secs } => (false, Some(retry_after_secs)),
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

both_backends!(
    an_unknown_username_meets_the_same_lock_out_as_a_known_one,
    |db| {
        let store = db.store();
        actor(store, "kayode", Role::Customer);
        let known = wrong_pin_outcomes(store, "kayode", 7);
        let unknown = wrong_pin_outcomes(store, "nobody", 7);
        assert_eq!(known[..5], [(true, None); 5]);
        assert!(matches!(known[5], (false, Some(1..=30))), "{known:?}");
        let kinds = |outcomes: &[(bool, Option<u64>)]| -> Vec<bool> {
            outcomes.iter().map(|(checked, _)| *checked).collect()
        };
        assert_eq!(kinds(&known), kinds(&unknown));
        for (known, unknown) in known.iter().zip(&unknown) {
            // The same wait, give or take the second the two runs took.
            let wait = |outcome: &(bool, Option<u64>)| outcome.1.unwrap_or(0);
            assert!(
                wait(known).abs_diff(wait(unknown)) <= 1,
                "{known:?} {unknown:?}"
            );
        }
    }
);

/// Twelve wrong guesses sent at once, each `(name, from)` of `guess(i)`:
/// how many were checked and how many throttled.
fn parallel_guesses(
    store: &Store,
    guess: impl Fn(usize) -> (String, Option<FromAddress>) + Sync,
) -> (usize, usize) {
    let outcomes: Vec<Refusal> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..12)
            .map(|i| {
                let (name, from) = guess(i);
                scope.spawn(move || {
                    let pin = format!("{:04}", 1000 + i);
                    refused(store.log_in(hashing(store), &credentials(&name, &pin), None, from))
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
    assert_eq!(checked + locked, 12, "{outcomes:?}");
    (checked, locked)
}

both_backends!(
    parallel_wrong_pins_get_exactly_five_checks_before_the_lock,
    |db| {
        let store = db.store();
        actor(store, "kayode", Role::Customer);
        for name in ["kayode", "nobody"] {
            assert_eq!(
                parallel_guesses(store, |_| (name.to_owned(), None)),
                (5, 7),
                "{name}"
            );
        }
    }
);

fn from_address(address: &str, failures: u32) -> Option<FromAddress> {
    Some(FromAddress {
        address: address.parse().expect("address"),
        budget: AddressBudget::per_period(failures).expect("a budget"),
    })
}

both_backends!(
    one_address_spraying_a_pin_over_many_names_is_stopped_at_its_budget,
    |db| {
        let store = db.store();
        let owner = actor(store, "kayode", Role::Customer).id();
        let spray = from_address("198.51.100.7", 10);
        let mut outcomes = Vec::new();
        for n in 0..50 {
            // Known names and unknown ones alike.
            let name = if n == 25 {
                "kayode".to_owned()
            } else {
                format!("user{n}")
            };
            outcomes.push(refused(store.log_in(
                hashing(store),
                &credentials(&name, "1234"),
                None,
                spray,
            )));
        }
        let checked = outcomes
            .iter()
            .take_while(|r| matches!(r, Refusal::Unauthenticated(_)))
            .count();
        assert_eq!(checked, 10, "{outcomes:?}");
        assert!(
            outcomes[10..].iter().all(|r| matches!(
                r,
                Refusal::Throttled {
                    retry_after_secs: 1..=60
                }
            )),
            "{outcomes:?}"
        );
        // The right PIN from that address waits too; the owner's known
        // device, or another address, does not.
        assert!(matches!(
            refused(store.log_in(hashing(store), &credentials("kayode", PIN), None, spray)),
            Refusal::Throttled { .. }
        ));
        store
            .log_in(
                hashing(store),
                &credentials("kayode", PIN),
                Some(owner),
                spray,
            )
            .expect("a known device spends nothing of the address's budget");
        store
            .log_in(
                hashing(store),
                &credentials("kayode", PIN),
                None,
                from_address("198.51.100.8", 10),
            )
            .expect("another address has its own budget");
    }
);

both_backends!(
    parallel_guesses_from_one_address_get_exactly_its_budget,
    |db| {
        let store = db.store();
        let spray = from_address("2001:db8::", 10);
        assert_eq!(
            parallel_guesses(store, |i| (format!("name{i}"), spray)),
            (10, 2)
        );
    }
);

both_backends!(a_success_gives_the_address_its_attempt_back, |db| {
    let store = db.store();
    actor(store, "kayode", Role::Customer);
    let from = from_address("192.0.2.1", 3);
    let attempt =
        |name: &str, pin: &str| store.log_in(hashing(store), &credentials(name, pin), None, from);
    for _ in 0..2 {
        refused(attempt("ghost", "1234"));
    }
    for _ in 0..3 {
        // Each success spends one and gives it back.
        attempt("kayode", PIN).expect("the budget has one left");
    }
    assert!(matches!(
        refused(attempt("ghost", "1234")),
        Refusal::Unauthenticated(_)
    ));
    assert!(matches!(
        refused(attempt("ghost", "1234")),
        Refusal::Throttled { .. }
    ));
});

both_backends!(quiet_names_and_whole_address_budgets_are_forgotten, |db| {
    let store = db.store();
    actor(store, "kayode", Role::Customer);
    let from = from_address("192.0.2.1", 10);
    for name in ["ghost", "kayode"] {
        refused(store.log_in(hashing(store), &credentials(name, "1234"), None, from));
    }
    assert_eq!(
        store.forget_quiet_logins().expect("sweep"),
        0,
        "nothing is quiet yet"
    );
    // A day and more later: the unknown name's failure and the
    // address's budget are forgotten; the account's row stays.
    db.other_client().execute(
        "UPDATE unknown_username_logins SET last_failed_login_at = '2020-01-01 00:00:00';
             UPDATE address_login_budgets SET full_at = '2020-01-01 00:00:00';",
    );
    assert_eq!(store.forget_quiet_logins().expect("sweep"), 2);
    assert_eq!(store.forget_quiet_logins().expect("sweep"), 0);
    // A name's lock in force is never forgotten, however old its failure.
    for _ in 0..5 {
        refused(store.log_in(hashing(store), &credentials("ghost", "1234"), None, None));
    }
    db.other_client().execute(
        "UPDATE unknown_username_logins SET last_failed_login_at = '2020-01-01 00:00:00';",
    );
    assert_eq!(store.forget_quiet_logins().expect("sweep"), 0);
    assert!(matches!(
        refused(store.log_in(hashing(store), &credentials("ghost", "1234"), None, None)),
        Refusal::Throttled { .. }
    ));
});

both_backends!(a_token_subject_is_its_current_role_while_active, |db| {
    let store = db.store();
    let cast = cast(db);
    assert_eq!(
        store
            .authenticate(cast.agent.id(), SessionEpoch::default())
            .expect("active"),
        cast.agent
    );
    let demote = UserChange {
        role: Some(Role::Customer),
        active: None,
        pin: None,
        email: None,
    };
    store
        .update_user(cast.admin, cast.agent.id(), &demote)
        .expect("demote");
    assert_eq!(
        store
            .authenticate(cast.agent.id(), SessionEpoch::default())
            .expect("active")
            .role(),
        Role::Customer
    );
    let deactivate = UserChange {
        role: None,
        active: Some(false),
        pin: None,
        email: None,
    };
    store
        .update_user(cast.admin, cast.agent.id(), &deactivate)
        .expect("deactivate");
    for gone in [cast.agent.id(), UserId(999_999)] {
        assert!(matches!(
            refused(store.authenticate(gone, SessionEpoch::default())),
            Refusal::Unauthenticated(_)
        ));
    }
    // A deactivated account cannot log in either, with the same answer as a wrong PIN.
    let deactivated =
        refused(store.log_in(hashing(store), &credentials("benjamin", PIN), None, None));
    let wrong = refused(store.log_in(hashing(store), &credentials("kayode", "9999"), None, None));
    assert_eq!(deactivated, wrong);
});

both_backends!(only_admins_list_users_by_role_and_page, |db| {
    let store = db.store();
    let cast = cast(db);
    let customers = store
        .list_users(
            cast.admin,
            &ListUsers {
                page: PageRequest::default().counting(),
                role: Some(Role::Customer),
            },
        )
        .expect("list");
    assert_eq!(customers.total, Some(2));
    let ids: Vec<_> = customers.items.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![cast.customer.id(), cast.other_customer.id()]);
    let second_page = store
        .list_users(
            cast.admin,
            &ListUsers {
                page: PageRequest::new(2, 3).expect("valid").counting(),
                role: None,
            },
        )
        .expect("list");
    assert_eq!(second_page.total, Some(4));
    assert_eq!(second_page.next, None, "the last page");
    assert_eq!(second_page.items.len(), 1);
    assert_eq!(second_page.items[0].id, cast.admin.id());
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
                pin: None,
                email: None,
            },
            UserChange {
                role: None,
                active: Some(false),
                pin: None,
                email: None,
            },
        ] {
            assert!(matches!(
                refused(store.update_user(cast.admin, cast.admin.id(), &change)),
                Refusal::Conflict(_)
            ));
        }
        let promote = UserChange {
            role: Some(Role::Admin),
            active: None,
            pin: None,
            email: None,
        };
        let promoted = store
            .update_user(cast.admin, cast.agent.id(), &promote)
            .expect("promote");
        assert_eq!(promoted.role, Role::Admin);
        let deactivated = store
            .update_user(
                cast.admin,
                cast.admin.id(),
                &UserChange {
                    role: None,
                    active: Some(false),
                    pin: None,
                    email: None,
                },
            )
            .expect("now another admin remains");
        assert!(!deactivated.active);
        assert_eq!(
            refused(store.update_user(promoted_actor(&promoted), UserId(999_999), &promote)),
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
            pin: None,
            email: None,
        };
        for not_admin in [cast.customer, cast.agent] {
            for target in [cast.customer.id(), UserId(999_999)] {
                assert!(matches!(
                    refused(store.update_user(not_admin, target, &promote)),
                    Refusal::Forbidden(_)
                ));
            }
        }
        assert_eq!(
            store
                .authenticate(cast.customer.id(), SessionEpoch::default())
                .expect("active")
                .role(),
            Role::Customer,
            "the refused promotion changed nothing"
        );
        let unchanged = store
            .update_user(cast.admin, cast.customer.id(), &UserChange::default())
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
        pin: None,
        email: None,
    };
    let promote = UserChange {
        role: Some(Role::Admin),
        active: None,
        pin: None,
        email: None,
    };
    for round in 0..5 {
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| store.update_user(first, second.id(), &demote));
            let b = scope.spawn(|| store.update_user(second, first.id(), &demote));
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
        let roles = [first.id(), second.id()].map(|id| {
            store
                .authenticate(id, SessionEpoch::default())
                .expect("active")
                .role()
        });
        let admins = roles.iter().filter(|role| **role == Role::Admin).count();
        assert_eq!(admins, 1, "round {round}: {roles:?}");
        let (survivor, demoted) = if roles[0] == Role::Admin {
            (first, second)
        } else {
            (second, first)
        };
        store
            .update_user(survivor, demoted.id(), &promote)
            .expect("restore");
    }
});

fn promoted_actor(user: &domain::User) -> domain::Actor {
    domain::Actor::for_tests(user.id, user.role)
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
    match store::Store::connect(&url, store::StoreOptions::default()) {
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

fn pin(digits: &str) -> Pin {
    Pin::parse(digits).expect("valid pin")
}

both_backends!(an_account_is_read_by_its_owner_and_admins_only, |db| {
    let store = db.store();
    let cast = cast(db);
    let own = store
        .read_user(cast.customer, cast.customer.id())
        .expect("own account");
    assert_eq!(
        (own.id, own.username.as_str()),
        (cast.customer.id(), "kayode")
    );
    assert_eq!(
        store
            .read_user(cast.admin, cast.customer.id())
            .expect("admin")
            .id,
        cast.customer.id()
    );
    for stranger in [cast.other_customer, cast.agent] {
        assert_eq!(
            refused(store.read_user(stranger, cast.customer.id())),
            Refusal::NotFound
        );
    }
});

both_backends!(
    a_pin_change_needs_the_current_pin_and_ends_the_old_sessions,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let before = store
            .log_in(hashing(store), &credentials("kayode", PIN), None, None)
            .expect("log in");
        assert_eq!(
            refused(store.change_own_pin(
                hashing(store),
                cast.customer,
                &pin("9999"),
                &pin("4821")
            )),
            Refusal::Forbidden(domain::login::WRONG_CURRENT_PIN)
        );
        store
            .authenticate(cast.customer.id(), before.epoch)
            .expect("a refused change ends nothing");
        let after = store
            .change_own_pin(hashing(store), cast.customer, &pin(PIN), &pin("4821"))
            .expect("the right current pin");
        assert_eq!(after.user.id, cast.customer.id());
        assert_ne!(after.epoch, before.epoch);
        assert_eq!(
            refused(store.authenticate(cast.customer.id(), before.epoch)),
            Refusal::Unauthenticated(domain::login::BAD_TOKEN),
            "a token from before the change"
        );
        assert_eq!(
            store
                .authenticate(cast.customer.id(), after.epoch)
                .expect("the new session"),
            cast.customer
        );
        assert!(matches!(
            refused(store.log_in(hashing(store), &credentials("kayode", PIN), None, None)),
            Refusal::Unauthenticated(_)
        ));
        let again = store
            .log_in(hashing(store), &credentials("kayode", "4821"), None, None)
            .expect("the new pin");
        assert_eq!(again.epoch, after.epoch);
    }
);

both_backends!(
    wrong_current_pins_lock_the_username_like_failed_logins,
    |db| {
        let store = db.store();
        let cast = cast(db);
        // Parallel guesses cannot outrun the lock: exactly five are checked.
        let outcomes: Vec<Refusal> = std::thread::scope(|scope| {
            let guesses: Vec<_> = (0..8)
                .map(|i| {
                    let customer = cast.customer;
                    scope.spawn(move || {
                        let guess = pin(&format!("{:04}", 1000 + i));
                        refused(store.change_own_pin(
                            hashing(store),
                            customer,
                            &guess,
                            &pin("4821"),
                        ))
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
            .filter(|r| matches!(r, Refusal::Forbidden(_)))
            .count();
        assert_eq!(checked, 5, "{outcomes:?}");
        assert!(matches!(
            refused(store.change_own_pin(hashing(store), cast.customer, &pin(PIN), &pin("4821"))),
            Refusal::Throttled { .. }
        ));
        assert!(
            matches!(
                refused(store.log_in(hashing(store), &credentials("kayode", PIN), None, None)),
                Refusal::Throttled { .. }
            ),
            "the login is locked too"
        );
    }
);

both_backends!(
    an_admin_reset_or_a_deactivation_ends_sessions_and_reactivation_does_not_revive_them,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let session = store
            .log_in(hashing(store), &credentials("kayode", PIN), None, None)
            .expect("log in");
        let reset = UserChange {
            pin: Some(pin("4821")),
            ..UserChange::default()
        };
        store
            .update_user(cast.admin, cast.customer.id(), &reset)
            .expect("reset");
        assert!(matches!(
            refused(store.authenticate(cast.customer.id(), session.epoch)),
            Refusal::Unauthenticated(_)
        ));
        let session = store
            .log_in(hashing(store), &credentials("kayode", "4821"), None, None)
            .expect("the reset pin");
        for active in [false, true] {
            let change = UserChange {
                active: Some(active),
                ..UserChange::default()
            };
            store
                .update_user(cast.admin, cast.customer.id(), &change)
                .expect("change");
        }
        assert!(matches!(
            refused(store.authenticate(cast.customer.id(), session.epoch)),
            Refusal::Unauthenticated(_)
        ));
        let fresh = store
            .log_in(hashing(store), &credentials("kayode", "4821"), None, None)
            .expect("reactivated");
        store
            .authenticate(cast.customer.id(), fresh.epoch)
            .expect("a new login holds");
        // A role change ends nothing: the token reads the role anew.
        let promote = UserChange {
            role: Some(Role::SupportAgent),
            ..UserChange::default()
        };
        store
            .update_user(cast.admin, cast.customer.id(), &promote)
            .expect("promote");
        assert_eq!(
            store
                .authenticate(cast.customer.id(), fresh.epoch)
                .expect("still holds")
                .role(),
            Role::SupportAgent
        );
        assert!(matches!(
            refused(store.update_user(cast.agent, cast.customer.id(), &reset)),
            Refusal::Forbidden(_)
        ));
    }
);
