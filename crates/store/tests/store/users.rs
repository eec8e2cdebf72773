use domain::rules::Refusal;
use domain::{ListUsers, PageRequest, Role, UserId, Username};
use store::{StoreError, UserChange, both_backends};

use super::*;

both_backends!(a_created_user_can_be_found_by_name_and_id, |db| {
    let store = db.store();
    let created = actor(store, "kayode", Role::Customer);
    let found = store
        .find_login(&Username::parse("kayode").expect("valid"))
        .expect("query")
        .expect("found");
    assert_eq!(found.user.id, created.id);
    assert_eq!(found.user.role, Role::Customer);
    assert!(found.user.active);
    assert_eq!(found.pin_hash, "not-a-real-hash");
    assert_eq!(found.record.consecutive_failures, 0);
    let by_id = store.get_user(created.id).expect("query").expect("found");
    assert_eq!(by_id.username, "kayode");
    assert!(store.get_user(UserId(999_999)).expect("query").is_none());
    assert!(
        store
            .find_login(&Username::parse("nobody").expect("valid"))
            .expect("query")
            .is_none()
    );
});

both_backends!(a_duplicate_username_is_a_conflict_but_case_matters, |db| {
    let store = db.store();
    actor(store, "kayode", Role::Customer);
    let again = store.create_user(&NewUser {
        username: Username::parse("kayode").expect("valid"),
        pin_hash: "h".to_owned(),
        role: Role::Admin,
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    actor(store, "Kayode", Role::Customer);
});

both_backends!(five_failures_lock_a_login_and_a_success_resets_it, |db| {
    let store = db.store();
    let user = actor(store, "kayode", Role::Customer);
    let now = store::now();
    for attempt in 1..=4 {
        let record = store.claim_login_attempt(user.id, now).expect("record");
        assert_eq!(record.consecutive_failures, attempt);
        assert_eq!(record.locked_for(now), None);
    }
    let record = store.claim_login_attempt(user.id, now).expect("record");
    assert_eq!(record.locked_for(now).map(|d| d.num_seconds()), Some(30));
    let refused = store.claim_login_attempt(user.id, now);
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused(Refusal::Throttled {
                retry_after_secs: 30
            }))
        ),
        "{refused:?}"
    );
    let name = Username::parse("kayode").expect("valid");
    let stored = store
        .find_login(&name)
        .expect("query")
        .expect("found")
        .record;
    assert_eq!(stored, record);
    store.record_login_success(user.id).expect("reset");
    let stored = store
        .find_login(&name)
        .expect("query")
        .expect("found")
        .record;
    assert_eq!(stored.consecutive_failures, 0);
    assert_eq!(stored.locked_until, None);
});

both_backends!(users_are_listed_by_role_and_page, |db| {
    let store = db.store();
    let cast = cast(db);
    let customers = store
        .list_users(&ListUsers {
            page: PageRequest::default(),
            role: Some(Role::Customer),
        })
        .expect("list");
    assert_eq!(customers.total, 2);
    let ids: Vec<_> = customers.users.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![cast.customer.id, cast.other_customer.id]);
    let second_page = store
        .list_users(&ListUsers {
            page: PageRequest::new(2, 3).expect("valid"),
            role: None,
        })
        .expect("list");
    assert_eq!(second_page.total, 4);
    assert_eq!(second_page.users.len(), 1);
    assert_eq!(second_page.users[0].id, cast.admin.id);
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
            let refused = store.update_user(cast.admin.id, change);
            assert!(
                matches!(refused, Err(StoreError::Refused(Refusal::Conflict(_)))),
                "{refused:?}"
            );
        }
        let promoted = store
            .update_user(
                cast.agent.id,
                UserChange {
                    role: Some(Role::Admin),
                    active: None,
                },
            )
            .expect("promote");
        assert_eq!(promoted.role, Role::Admin);
        let deactivated = store
            .update_user(
                cast.admin.id,
                UserChange {
                    role: None,
                    active: Some(false),
                },
            )
            .expect("now another admin remains");
        assert!(!deactivated.active);
        assert!(matches!(
            store.update_user(UserId(999_999), UserChange::default()),
            Err(StoreError::NotFound)
        ));
    }
);

#[test]
fn an_empty_or_unknown_database_url_is_refused_not_defaulted() {
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
fn an_unreachable_postgres_is_unavailable_with_the_real_error() {
    // Port 1 on loopback: nothing listens there.
    let url = store::DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none").expect("valid");
    match store::Store::connect(&url, store::PoolOptions::default()) {
        Err(StoreError::Unavailable(message)) => {
            assert!(
                message.contains("127.0.0.1") || message.contains("refused"),
                "{message}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
