//! Browser sessions at the store's boundary: who a session speaks for, every
//! way it ends (PIN change or reset, deactivation, expiry, signing out), the
//! sweep of a user's expired sessions, and the staff names the pages show.

use std::time::Duration;

use chrono::Utc;
use domain::Refusal;
use domain::login::SESSION_ENDED;
use domain::{Credentials, LoggedIn, Pin, Role, UserChange, UserId};
use testkit::both_backends;

use super::*;

/// A session that lasts longer than any test.
const HOUR: Duration = Duration::from_secs(3600);

/// `name` signed in with `pin`: the login a session is opened for.
fn log_in(store: &Store, name: &str, pin: &str) -> LoggedIn {
    let credentials =
        Credentials::parse(name.to_owned(), pin.to_owned()).expect("well-formed credentials");
    store
        .log_in(hashing(store), &credentials, None, None)
        .expect("log in")
}

/// Opens a session for `login` keyed by `digest`, lasting `lifetime`.
fn open_session(store: &Store, login: &LoggedIn, digest: &str, lifetime: Duration) {
    store
        .open_browser_session(login, digest, lifetime)
        .expect("open a browser session");
}

/// Whether the session keyed by `digest` is refused as ended.
#[track_caller]
fn assert_ended(store: &Store, digest: &str) {
    assert_eq!(
        refused(store.authenticate_browser_session(digest)),
        Refusal::Unauthenticated(SESSION_ENDED),
        "the session {digest} still speaks for someone"
    );
}

fn change(role: Option<Role>, active: Option<bool>, pin: Option<&str>) -> UserChange {
    UserChange {
        role,
        active,
        pin: pin.map(|pin| Pin::parse(pin).expect("valid pin")),
        email: None,
    }
}

both_backends!(
    a_session_speaks_for_its_user_with_the_role_they_have_now,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let login = log_in(store, "benjamin", PIN);
        let expires_at = store
            .open_browser_session(&login, "agent-session", HOUR)
            .expect("open");
        let lasts = expires_at - Utc::now();
        assert!(
            lasts > chrono::Duration::minutes(59) && lasts <= chrono::Duration::hours(1),
            "expires {lasts} from now"
        );
        let signed_in = store
            .authenticate_browser_session("agent-session")
            .expect("a fresh session");
        assert_eq!(signed_in.actor, cast.agent);
        assert_eq!(signed_in.username, "benjamin");
        // A role change applies to the open session at once, both ways.
        for role in [Role::Customer, Role::Admin, Role::SupportAgent] {
            store
                .update_user(cast.admin, cast.agent.id(), &change(Some(role), None, None))
                .expect("change the role");
            let now = store
                .authenticate_browser_session("agent-session")
                .expect("a role change ends no session");
            assert_eq!(now.actor.role(), role);
            assert_eq!(now.actor.id(), cast.agent.id());
        }
    }
);

both_backends!(an_unknown_session_is_refused_like_an_ended_one, |db| {
    let store = db.store();
    cast(db);
    let login = log_in(store, "kayode", PIN);
    open_session(store, &login, "known", HOUR);
    for unknown in ["", "unknown", "KNOWN", "known "] {
        assert_ended(store, unknown);
    }
    store
        .authenticate_browser_session("known")
        .expect("the known one still works");
});

both_backends!(changing_or_resetting_the_pin_ends_the_open_sessions, |db| {
    let store = db.store();
    let cast = cast(db);
    let before = log_in(store, "kayode", PIN);
    open_session(store, &before, "before-change", HOUR);
    let other_user = log_in(store, "tolu", PIN);
    open_session(store, &other_user, "bystander", HOUR);
    let pin = |digits: &str| Pin::parse(digits).expect("valid pin");
    store
        .change_own_pin(hashing(store), cast.customer, &pin(PIN), &pin("4821"))
        .expect("change own pin");
    assert_ended(store, "before-change");
    // A session opened after the change, in the new generation, works...
    let after = log_in(store, "kayode", "4821");
    open_session(store, &after, "after-change", HOUR);
    assert_eq!(
        store
            .authenticate_browser_session("after-change")
            .expect("a session of the new pin")
            .actor,
        cast.customer
    );
    // ...until an admin resets the PIN.
    store
        .update_user(
            cast.admin,
            cast.customer.id(),
            &change(None, None, Some("7777")),
        )
        .expect("reset the pin");
    assert_ended(store, "after-change");
    assert_ended(store, "before-change");
    // Another account's session is untouched by either.
    assert_eq!(
        store
            .authenticate_browser_session("bystander")
            .expect("another account's session")
            .actor,
        cast.other_customer
    );
    let reset = log_in(store, "kayode", "7777");
    open_session(store, &reset, "after-reset", HOUR);
    store
        .authenticate_browser_session("after-reset")
        .expect("a session after the reset");
});

both_backends!(deactivating_an_account_ends_its_sessions_for_good, |db| {
    let store = db.store();
    let cast = cast(db);
    let login = log_in(store, "benjamin", PIN);
    open_session(store, &login, "agent-session", HOUR);
    store
        .update_user(
            cast.admin,
            cast.agent.id(),
            &change(None, Some(false), None),
        )
        .expect("deactivate");
    assert_ended(store, "agent-session");
    // Reactivating the account does not bring the old session back.
    store
        .update_user(cast.admin, cast.agent.id(), &change(None, Some(true), None))
        .expect("reactivate");
    assert_ended(store, "agent-session");
    let again = log_in(store, "benjamin", PIN);
    open_session(store, &again, "agent-again", HOUR);
    assert_eq!(
        store
            .authenticate_browser_session("agent-again")
            .expect("a session after reactivation")
            .actor,
        cast.agent
    );
});

both_backends!(a_session_ends_when_its_lifetime_is_over, |db| {
    let store = db.store();
    cast(db);
    let login = log_in(store, "kayode", PIN);
    open_session(store, &login, "no-lifetime", Duration::ZERO);
    assert_ended(store, "no-lifetime");
    let expires_at = store
        .open_browser_session(&login, "one-second", Duration::from_secs(1))
        .expect("open");
    store
        .authenticate_browser_session("one-second")
        .expect("valid within its second");
    let left = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    std::thread::sleep(left + Duration::from_millis(100));
    assert_ended(store, "one-second");
});

both_backends!(signing_out_ends_that_session_only_and_twice_is_fine, |db| {
    let store = db.store();
    let cast = cast(db);
    let login = log_in(store, "kayode", PIN);
    open_session(store, &login, "laptop", HOUR);
    open_session(store, &login, "phone", HOUR);
    store.end_browser_session("laptop").expect("sign out");
    assert_ended(store, "laptop");
    store
        .end_browser_session("laptop")
        .expect("signing out again is fine");
    store
        .end_browser_session("never-opened")
        .expect("an unknown session ends quietly");
    assert_eq!(
        store
            .authenticate_browser_session("phone")
            .expect("the other device stays signed in")
            .actor,
        cast.customer
    );
});

both_backends!(
    opening_a_session_sweeps_expired_sessions_and_keeps_live_ones,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let customer = log_in(store, "kayode", PIN);
        let agent = log_in(store, "benjamin", PIN);
        open_session(store, &customer, "customer-live", HOUR);
        open_session(store, &customer, "customer-expired", Duration::ZERO);
        open_session(store, &agent, "agent-live", HOUR);
        open_session(store, &agent, "agent-expired", Duration::ZERO);
        // A digest is its row's key: a live session's cannot be opened
        // again, by anyone...
        let stranger = log_in(store, "tolu", PIN);
        for live in ["customer-live", "agent-live"] {
            assert!(
                store.open_browser_session(&stranger, live, HOUR).is_err(),
                "{live} was opened twice"
            );
        }
        // ...while an expired one, of any account, is swept by the opening
        // before its row is written, so its key is free again.
        for expired in ["customer-expired", "agent-expired"] {
            store
                .open_browser_session(&stranger, expired, HOUR)
                .unwrap_or_else(|e| panic!("{expired} was not swept: {e:?}"));
            assert_eq!(
                store
                    .authenticate_browser_session(expired)
                    .expect("the new row")
                    .actor,
                cast.other_customer
            );
        }
        for (live, who) in [("customer-live", cast.customer), ("agent-live", cast.agent)] {
            assert_eq!(
                store
                    .authenticate_browser_session(live)
                    .expect("a live session is never swept")
                    .actor,
                who
            );
        }
    }
);

both_backends!(
    only_staff_see_usernames_and_the_active_staff_by_name,
    |db| {
        let store = db.store();
        // Loaded out of alphabetical order, so the sort is not the ids'.
        let zoe = actor(store, "zoe", Role::SupportAgent);
        let cast = cast(db);
        let carla = actor(store, "carla", Role::Admin);
        let gone = actor(store, "aaron", Role::SupportAgent);
        store
            .update_user(cast.admin, gone.id(), &change(None, Some(false), None))
            .expect("deactivate");
        for customer in [cast.customer, cast.other_customer] {
            assert!(matches!(
                refused(store.assignable_staff(customer)),
                Refusal::Forbidden(_)
            ));
            assert!(matches!(
                refused(store.usernames(customer, &[cast.agent.id()])),
                Refusal::Forbidden(_)
            ));
            assert!(matches!(
                refused(store.usernames(customer, &[])),
                Refusal::Forbidden(_)
            ));
        }
        for staff in [cast.agent, cast.admin] {
            let listed: Vec<(UserId, String)> = store
                .assignable_staff(staff)
                .expect("staff list the staff")
                .into_iter()
                .map(|member| {
                    let account = store
                        .read_user(cast.admin, member.id)
                        .expect("a listed staff member's account");
                    assert!(account.active, "{account:?}");
                    (member.id, member.username)
                })
                .collect();
            assert!(
                listed.iter().all(|(id, _)| *id != gone.id()),
                "a deactivated agent is not assignable: {listed:?}"
            );
            assert_eq!(
                listed,
                vec![
                    (cast.agent.id(), "benjamin".to_owned()),
                    (carla.id(), "carla".to_owned()),
                    (cast.admin.id(), "iambenkay".to_owned()),
                    (zoe.id(), "zoe".to_owned()),
                ],
                "active agents and admins only, by username"
            );
            let names = store
                .usernames(
                    staff,
                    &[
                        cast.customer.id(),
                        gone.id(),
                        cast.agent.id(),
                        UserId(999_999),
                    ],
                )
                .expect("staff read names");
            assert_eq!(names.len(), 3, "{names:?}");
            assert_eq!(names[&cast.customer.id()], "kayode");
            assert_eq!(names[&gone.id()], "aaron");
            assert_eq!(names[&cast.agent.id()], "benjamin");
            assert!(
                store
                    .usernames(staff, &[])
                    .expect("no ids, no names")
                    .is_empty()
            );
        }
    }
);
