//! An SQLite database is a file, and a running server's connections keep
//! theirs open whatever happens to its path: these prove the store only
//! serves while the path leads to the file it started with, and serves
//! again, with no restart, once it does.

use std::path::Path;
use std::time::Duration;

use store::{DatabaseUrl, Store, StoreError, StoreOptions};

use crate::actor;

fn open(path: &Path) -> Store {
    let options = StoreOptions {
        connection_timeout: Duration::from_millis(500),
        ..StoreOptions::default()
    };
    Store::connect(&DatabaseUrl::Sqlite(path.to_owned()), options).expect("open the store")
}

/// A query through the pool, as every request makes.
fn query(store: &Store) -> Result<(), StoreError> {
    store.ping(Duration::from_millis(500))
}

#[test]
fn a_path_with_the_characters_a_uri_gives_a_meaning_opens_that_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd ?#% name").join("tracker.db");
    let store = open(&path);
    actor(&store, "kayode", domain::Role::Customer);
    query(&store).expect("a working store");
    assert!(path.is_file(), "the file is where the URL says");
}

#[test]
fn a_moved_database_file_is_unavailable_not_a_new_empty_database_and_serves_again_once_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tracker.db");
    let away = dir.path().join("elsewhere.db");
    let store = open(&path);
    let customer = actor(&store, "kayode", domain::Role::Customer);

    std::fs::rename(&path, &away).expect("move the file away");
    assert!(matches!(query(&store), Err(StoreError::Unavailable(_))));
    assert!(!path.exists(), "no empty database was created in its place");

    std::fs::rename(&away, &path).expect("move it back");
    query(&store).expect("serves again");
    let again = actor(&store, "kayode", domain::Role::Customer);
    assert_eq!(
        again.id(),
        customer.id(),
        "the same data, not a new database"
    );
}

#[test]
fn a_replaced_database_file_is_never_written_through_old_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tracker.db");
    let store = open(&path);
    query(&store).expect("a working store");

    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::rename(&copy, &path).expect("replace the file");
    assert!(matches!(query(&store), Err(StoreError::Unavailable(_))));
}
