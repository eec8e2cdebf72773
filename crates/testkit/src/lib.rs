//! Test support for the workspace, kept out of the shipped crates: a
//! dev-dependency of `store`'s and `api`'s tests and a dependency of
//! `xtask`, never of the server (`cargo build --release -p api` does not
//! compile it).
//!
//! - [`TestDb`]: a fresh database per test, a SQLite file or a database on
//!   the PostgreSQL server named by `TEST_POSTGRES_URL`, with
//!   [`OtherClient`] (another client of it), [`record_queries`] (the SQL a
//!   store runs), [`hold_connection`] (a starved pool) and
//!   [`both_backends!`] (one test body on each backend).
//! - [`TestCluster`]: a throwaway PostgreSQL cluster, for `cargo xtask test`
//!   and the tests that stop and start their own.
//! - [`fingerprint::fingerprint`]: every row a request can change, to
//!   compare before and after.
//! - [`ServerProcess`]: a real server binary on a port of 127.0.0.1,
//!   waited for, killed on drop, stopped with SIGTERM.
//! - [`SmtpSink`]: a real SMTP server (aiosmtpd) that keeps what it
//!   receives for the test to read as a recipient would.
//! - [`ImapServer`]: a real IMAP server (Dovecot) with one mailbox, mail
//!   delivered into it and read back from its folders.
//!
//! What it needs from inside a `Store` comes through the store's
//! `test-hooks` feature (`store::test_hooks`).

mod cluster;
mod db;
pub mod fingerprint;
mod imap;
mod server;
mod smtp;

pub use cluster::{TestCluster, is_root};
pub use db::{
    Backend, HeldConnection, OtherClient, QueryLog, SKIP_POSTGRES_VAR, TestDb, hold_connection,
    record_queries,
};
pub use imap::{ImapServer, StoredMail};
pub use server::{Launch, Log, Ready, ServerProcess, free_port};
pub use smtp::{ReceivedMail, SmtpSink};
