//! Fresh databases for tests: a temporary SQLite file, or a new database on
//! the PostgreSQL server named by `TEST_POSTGRES_URL` (which `cargo xtask
//! test` starts). Without that variable PostgreSQL tests are skipped with a
//! notice, except under CI, where they fail.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{Connection, RunQueryDsl, pg::PgConnection};

use crate::{DatabaseUrl, PoolOptions, Store};

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the test: the file is deleted, or the
/// PostgreSQL database dropped, when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    store: Option<Store>,
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(
        #[expect(dead_code, reason = "held only to delete the directory on drop")]
        tempfile::TempDir,
    ),
    Postgres {
        server_url: String,
        database: String,
    },
}

impl TestDb {
    /// A fresh database of `backend`, or `None` when PostgreSQL is not
    /// configured outside CI.
    pub fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let url = DatabaseUrl::Sqlite(dir.path().join("tracker.db"));
        Self::open(url, Cleanup::Sqlite(dir))
    }

    /// A fresh database on the test PostgreSQL server, if there is one.
    pub fn postgres() -> Option<TestDb> {
        let Some(server_url) = std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
                panic!(
                    "TEST_POSTGRES_URL is not set under CI: run the tests with `cargo xtask test`"
                );
            }
            eprintln!(
                "notice: TEST_POSTGRES_URL is not set; skipping a PostgreSQL test (run `cargo xtask test`)"
            );
            return None;
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let database = format!(
            "tracker_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let mut admin = PgConnection::establish(&server_url)
            .unwrap_or_else(|e| panic!("cannot reach TEST_POSTGRES_URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("create test database: {e}"));
        let url = DatabaseUrl::Postgres(with_database(&server_url, &database));
        Some(Self::open(
            url,
            Cleanup::Postgres {
                server_url,
                database,
            },
        ))
    }

    fn open(url: DatabaseUrl, cleanup: Cleanup) -> TestDb {
        let store = Store::connect(&url, PoolOptions::default())
            .unwrap_or_else(|e| panic!("open test database: {e}"));
        TestDb {
            store: Some(store),
            url,
            cleanup,
        }
    }

    pub fn store(&self) -> &Store {
        self.store
            .as_ref()
            .unwrap_or_else(|| unreachable!("set until drop"))
    }

    /// The URL a server process would be given for this database.
    pub fn url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool before the database goes.
        self.store.take();
        if let Cleanup::Postgres {
            server_url,
            database,
        } = &self.cleanup
        {
            if let Ok(mut admin) = PgConnection::establish(server_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                        .execute(&mut admin);
            }
        }
    }
}

/// `postgres://host/old?x` with the database name replaced.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

/// Runs one test body on both backends: `both_backends!(name, |store| ...)`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                run($crate::test_support::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                run($crate::test_support::Backend::Postgres);
            }

            fn run(backend: $crate::test_support::Backend) {
                if let Some(db) = $crate::test_support::TestDb::new(backend) {
                    let body: fn(&$crate::test_support::TestDb) = $body;
                    body(&db);
                }
            }
        }
    };
}
