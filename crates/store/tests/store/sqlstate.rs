//! PostgreSQL says why a statement failed in the language of its
//! `lc_messages`. On a server speaking German, a row lock wait that timed
//! out, a deadlock and a serialization failure must still be "unavailable,
//! try again" (503), never a 500: recognised by SQLSTATE, not by English
//! text.

use std::time::Duration;

use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::{Connection as _, RunQueryDsl as _};
use domain::ReplyKind;
use domain::{ReplyBody, Role, UserChange};
use store::{DatabaseUrl, Store, StoreError, StoreOptions};
use testkit::{SKIP_POSTGRES_VAR, TestCluster};

use crate::{actor, open};

/// The locale `.ci/run` and `cargo xtask test` make with `localedef`.
const GERMAN: &str = "lc_messages=de_DE.UTF-8";

fn german_cluster() -> Option<TestCluster> {
    match TestCluster::start(&[GERMAN], "tracker") {
        Ok(cluster) => Some(cluster),
        Err(error) if std::env::var(SKIP_POSTGRES_VAR).is_ok_and(|v| v == "1") => {
            eprintln!("notice: {SKIP_POSTGRES_VAR}=1 and no German PostgreSQL ({error}): not run");
            None
        }
        Err(error) => panic!(
            "cannot start PostgreSQL with German messages ({error}); \
             make the locale with `localedef -i de_DE -f UTF-8 de_DE.UTF-8`"
        ),
    }
}

fn connect(url: &str) -> Store {
    Store::connect(
        &DatabaseUrl::Postgres(url.to_owned()),
        StoreOptions::default(),
    )
    .expect("connect the store")
}

fn client(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("another client")
}

/// The whole chain of `error`'s causes, as the log shows it.
fn causes(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// Asserts `outcome` is "unavailable" and that the server said why in
/// German (`expected`), so the test proves what it claims.
#[track_caller]
fn assert_unavailable_in_german<T: std::fmt::Debug>(
    outcome: Result<T, StoreError>,
    expected: &str,
) {
    match outcome {
        Err(error @ StoreError::Unavailable(_)) => {
            let text = causes(&error);
            assert!(text.contains(expected), "not the German message: {text}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn on_a_server_speaking_german_lock_timeouts_deadlocks_and_serialization_failures_are_unavailable()
{
    let Some(cluster) = german_cluster() else {
        return;
    };
    let url = cluster.url("tracker");
    let store = connect(&url);
    let customer = actor(&store, "kayode", Role::Customer);
    let agent = actor(&store, "benjamin", Role::SupportAgent);
    let body = ReplyBody::parse("are you there?").expect("valid");

    // A row lock held past the 5 s lock timeout.
    let ticket = open(&store, customer, "locked");
    let mut holder = client(&url);
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM tickets WHERE id = {} FOR UPDATE",
            ticket.id
        ))
        .expect("hold the ticket");
    assert_unavailable_in_german(
        store.add_reply(agent, ticket.id, &body, ReplyKind::Public),
        "Zeitüberschreitung einer Sperre",
    );
    drop(holder);
    store
        .add_reply(agent, ticket.id, &body, ReplyKind::Public)
        .expect("answers once the lock is gone");

    // A deadlock: the store holds the first admin and waits for the second,
    // which the other client holds while it asks for the first. The other
    // client checks for deadlocks much later, so the store's transaction
    // is the one PostgreSQL ends.
    let first = actor(&store, "iambenkay", Role::Admin);
    let second = actor(&store, "second-admin", Role::Admin);
    let mut other = client(&url);
    other
        .batch_execute(&format!(
            "SET deadlock_timeout = '10s'; BEGIN; \
             SELECT id FROM users WHERE id = {} FOR UPDATE",
            second.id().0
        ))
        .expect("hold the second admin");
    let deactivate = UserChange {
        role: None,
        active: Some(false),
        pin: None,
        email: None,
    };
    std::thread::scope(|scope| {
        let update = scope.spawn(|| store.update_user(first, customer.id(), &deactivate));
        std::thread::sleep(Duration::from_millis(300));
        other
            .batch_execute(&format!(
                "SELECT id FROM users WHERE id = {} FOR UPDATE",
                first.id().0
            ))
            .expect("the other client gets the first admin once the store gave up");
        assert_unavailable_in_german(update.join().expect("the update"), "Verklemmung");
    });
    drop(other);

    // A serialization failure: under REPEATABLE READ, a ticket changed by a
    // transaction that committed after ours began cannot be written.
    let mut admin = client(&url);
    diesel::sql_query("CREATE DATABASE repeatable")
        .execute(&mut admin)
        .expect("create database");
    diesel::sql_query(
        "ALTER DATABASE repeatable SET default_transaction_isolation = 'repeatable read'",
    )
    .execute(&mut admin)
    .expect("alter database");
    let url = cluster.url("repeatable");
    let store = connect(&url);
    let customer = actor(&store, "kayode", Role::Customer);
    let agent = actor(&store, "benjamin", Role::SupportAgent);
    let ticket = open(&store, customer, "changed meanwhile");
    let mut writer = client(&url);
    writer
        .batch_execute(&format!(
            "BEGIN; UPDATE tickets SET updated_at = updated_at WHERE id = {}",
            ticket.id
        ))
        .expect("change the ticket");
    std::thread::scope(|scope| {
        let reply = scope.spawn(|| store.add_reply(agent, ticket.id, &body, ReplyKind::Public));
        std::thread::sleep(Duration::from_millis(300));
        writer.batch_execute("COMMIT").expect("commit");
        assert_unavailable_in_german(reply.join().expect("the reply"), "serialisieren");
    });
    store
        .add_reply(agent, ticket.id, &body, ReplyKind::Public)
        .expect("answers when tried again");
}
