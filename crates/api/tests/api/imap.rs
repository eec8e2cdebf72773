//! Inbound mail through IMAP, on both databases, against a real IMAP
//! server (the test kit's `ImapServer`: Dovecot on a port of its own, mail
//! delivered into its Maildir as a delivery agent does). The poller runs
//! in the test's process over the test's database, as the server runs it,
//! beside the API's router with inbound mail on; what it did is read back
//! from the mailbox's folders and the database. The last tests run real
//! server processes: two polling one mailbox on PostgreSQL, the start-up
//! log and SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use delivery::Worker;
use delivery::imap::{ImapMailbox, ImapSettings};
use domain::inbound::DEFAULT_SENDER_LIMIT;
use edge::inbound::Inbound;
use testkit::fingerprint::{Fingerprint, fingerprint};
use testkit::{ImapServer, StoredMail};

use super::held::{deliver, message, taking_mail_with, to_ticket};
use super::mail::with_address;
use super::*;

const SUPPORT: &str = "support@example.com";
const DONE: &str = "Processed";
const WAIT: Duration = Duration::from_secs(20);
/// Messages up to 1 MiB.
const MAX_BYTES: usize = 1 << 20;

/// The app's router with inbound mail on (as a server given
/// `INBOUND_ADDRESS` and `INBOUND_TOKEN`), messages up to `max_bytes`; and
/// its inbound mail, for the poller to share.
fn taking_mail(app: TestApp, max_bytes: usize) -> (TestApp, Arc<Inbound>) {
    taking_mail_with(app, max_bytes, DEFAULT_SENDER_LIMIT)
}

/// A poller of `server`'s INBOX over `store`, polling every second.
fn start_poller(store: &Store, inbound: &Arc<Inbound>, server: &ImapServer) -> Worker {
    poller_of(store, inbound, &server.url("INBOX"))
}

/// A poller of the mailbox `url` over `store`, polling every second.
fn poller_of(store: &Store, inbound: &Arc<Inbound>, url: &str) -> Worker {
    let mut settings = ImapSettings::new(ImapMailbox::parse(url).expect("an IMAP URL"));
    settings.poll_interval = Duration::from_secs(1);
    Worker::start_imap(
        store.clone(),
        settings,
        inbound.clone(),
        Arc::new(test_keys()),
    )
    .expect("the poller starts")
}

/// Waits until the INBOX is empty and the done folder holds `count`
/// messages (a move is a copy, then an expunge: both are waited for), for
/// at most [`WAIT`]; what the done folder holds then.
async fn filed(server: &ImapServer, count: usize) -> Vec<StoredMail> {
    let deadline = Instant::now() + WAIT;
    loop {
        let done = server.messages(DONE);
        let settled = done.len() >= count && server.messages("INBOX").is_empty();
        if settled || Instant::now() >= deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything the database holds.
async fn rows(app: &TestApp) -> Fingerprint {
    app.with_store(|store| fingerprint(store).expect("a fingerprint"))
        .await
}

/// The tickets made from the message `key` (their subject `About {key}`).
fn tickets_about(rows: &Fingerprint, key: &str) -> usize {
    let subject = format!("About {key}");
    rows.tickets
        .iter()
        .filter(|ticket| ticket.subject.as_deref() == Some(subject.as_str()))
        .count()
}

/// A second store on the app's database with one connection, held: what
/// wants a connection waits `wait`, then fails as a database out of reach
/// does, until the [`testkit::HeldConnection`] is dropped.
async fn starved_store(app: &TestApp, wait: Duration) -> (Store, testkit::HeldConnection) {
    let url = store::DatabaseUrl::parse(&app.db.url()).expect("the test database's URL");
    tokio::task::spawn_blocking(move || {
        let options = store::StoreOptions {
            max_size: Some(1),
            connection_timeout: wait,
            ..store::StoreOptions::default()
        };
        let store = Store::connect(&url, options).expect("a store of one connection");
        let held = testkit::hold_connection(&store).expect("its connection");
        (store, held)
    })
    .await
    .expect("join")
}

http_tests! {
    /// A message delivered to the INBOX becomes a ticket of a new customer
    /// account for its sender, and is moved to the done folder, which the
    /// poller made; nothing is left in the INBOX.
    async fn a_message_in_the_inbox_becomes_a_ticket_and_moves_to_the_done_folder(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let poller = start_poller(app.db.store(), &inbound, &server);
        let raw = message("fire", "Dana <dana@example.org>", SUPPORT, "It is on fire.");
        server.append("INBOX", &raw);
        let done = filed(&server, 1).await;
        assert_eq!(done.len(), 1, "{}", server.log());
        assert_eq!(done[0].raw, raw, "moved whole");
        assert!(server.messages("INBOX").is_empty());
        let rows = rows(&app).await;
        let ticket = rows.tickets.iter().find(|t| t.subject.as_deref() == Some("About fire")).expect("a ticket");
        assert_eq!(ticket.body, "It is on fire.");
        let author = rows.users.iter().find(|user| user.id == ticket.author_id).expect("its author");
        assert_eq!(author.role, "CUSTOMER");
        assert!(author.username.starts_with("dana"), "{}", author.username);
        assert_eq!(rows.tickets.len(), 1);
        poller.stop(Duration::from_secs(5)).await;
    }

    /// A customer's reply by mail to the reply address of their ticket,
    /// after an agent's answer, is added to it as the customer's reply,
    /// the quoted earlier message trimmed.
    async fn a_customer_reply_by_imap_is_added_to_the_ticket(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let carol = with_address(&app, "carol", Role::Customer).await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&carol, "The printer is on fire").await;
        app.reply(&agent, ticket, "Have you tried water?").await.expect(StatusCode::CREATED);
        let poller = start_poller(app.db.store(), &inbound, &server);
        let raw = message(
            "carol-reply",
            "Carol <carol@example.com>",
            &to_ticket(ticket),
            "Water made it worse.\r\n\r\nOn Mon, 7 Dec 2026, Support wrote:\r\n> Have you tried water?",
        );
        server.append("INBOX", &raw);
        assert_eq!(filed(&server, 1).await.len(), 1, "{}", server.log());
        let rows = rows(&app).await;
        let replies: Vec<_> = rows.replies.iter().filter(|reply| reply.ticket_id == ticket).collect();
        assert_eq!(replies.len(), 2, "{replies:?}");
        let by_mail = replies.last().expect("the mail's reply");
        assert_eq!(by_mail.author_id.to_string(), carol.id);
        assert_eq!(by_mail.body, "Water made it worse.");
        assert!(!by_mail.internal);
        assert_eq!(rows.tickets.len(), 1, "no new ticket");
        poller.stop(Duration::from_secs(5)).await;
    }

    /// The same message through the HTTP endpoint and through IMAP makes
    /// one change, whichever comes first: the second is a duplicate (the
    /// endpoint says so), and IMAP's copy is still moved.
    async fn the_same_message_through_http_and_imap_makes_one_change(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let poller = start_poller(app.db.store(), &inbound, &server);
        let first = message("jam", "Erin <erin@example.org>", SUPPORT, "It jams.");
        assert_eq!(deliver(&app, first.clone()).await["outcome"], "created");
        server.append("INBOX", &first);
        assert_eq!(filed(&server, 1).await.len(), 1, "{}", server.log());

        let second = message("fax", "Erin <erin@example.org>", SUPPORT, "No tone.");
        server.append("INBOX", &second);
        assert_eq!(filed(&server, 2).await.len(), 2, "{}", server.log());
        assert_eq!(deliver(&app, second.clone()).await["outcome"], "duplicate");
        assert!(server.messages("INBOX").is_empty());
        let rows = rows(&app).await;
        assert_eq!(tickets_about(&rows, "jam"), 1);
        assert_eq!(tickets_about(&rows, "fax"), 1);
        assert_eq!(rows.tickets.len(), 2);
        poller.stop(Duration::from_secs(5)).await;
    }

    /// A message no one can take (no usable From) and one over
    /// MAX_EMAIL_BYTES are moved to the done folder, kept there and not
    /// tried again; the poller goes on to the next message.
    async fn an_unreadable_message_is_moved_not_retried_forever(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, 4096);
        let poller = start_poller(app.db.store(), &inbound, &server);
        let no_sender = b"To: support@example.com\r\nSubject: Who am I\r\nMessage-ID: <nobody-1@example.org>\r\n\r\nNo From here.\r\n".to_vec();
        let too_big = message("huge", "Finn <finn@example.org>", SUPPORT, &"log line\r\n".repeat(800));
        let fine = message("small", "Finn <finn@example.org>", SUPPORT, "Where is the manual?");
        for raw in [&no_sender, &too_big, &fine] {
            server.append("INBOX", raw);
        }
        let done = filed(&server, 3).await;
        assert_eq!(done.len(), 3, "{}", server.log());
        // Rounds go on: none of them comes back or is taken again.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(server.messages("INBOX").is_empty());
        let done = server.messages(DONE);
        assert_eq!(done.len(), 3);
        for raw in [&no_sender, &too_big, &fine] {
            assert!(done.iter().any(|stored| &stored.raw == raw), "kept whole");
        }
        let rows = rows(&app).await;
        assert_eq!(rows.tickets.len(), 1, "{:?}", rows.tickets);
        assert_eq!(tickets_about(&rows, "small"), 1);
        poller.stop(Duration::from_secs(5)).await;
    }

    /// While the database is out of reach (the poller's pool starved), a
    /// message stays in the INBOX, unseen; once it is back, a later round
    /// takes it, once.
    async fn a_temporary_failure_leaves_the_message_for_a_later_round(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let (starved, held) = starved_store(&app, Duration::from_millis(500)).await;
        let poller = start_poller(&starved, &inbound, &server);
        let raw = message("badge", "Gus <gus@example.org>", SUPPORT, "It does not beep.");
        server.append("INBOX", &raw);
        // Several rounds fail meanwhile.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let waiting = server.messages("INBOX");
        assert_eq!(waiting.len(), 1, "{}", server.log());
        assert!(!waiting[0].is_seen(), "read with PEEK: still unseen");
        assert!(server.messages(DONE).is_empty());
        assert!(rows(&app).await.tickets.is_empty());
        drop(held);
        let done = filed(&server, 1).await;
        assert_eq!(done.len(), 1, "{}", server.log());
        assert!(server.messages("INBOX").is_empty());
        assert_eq!(tickets_about(&rows(&app).await, "badge"), 1);
        poller.stop(Duration::from_secs(5)).await;
    }

    /// Told to stop while a message is being taken (the database slow to
    /// give a connection), the poller finishes that message, moves it,
    /// and only then stops.
    async fn a_stop_finishes_the_message_in_hand_first(app) {
        let server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let (slow, held) = starved_store(&app, Duration::from_secs(20)).await;
        let poller = start_poller(&slow, &inbound, &server);
        server.append("INBOX", &message("in-hand", "Lee <lee@example.org>", SUPPORT, "Hold on."));
        // Woken at once, the poller is waiting for a connection to take it.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let asked = Instant::now();
        let stopping = tokio::spawn(poller.stop(Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!stopping.is_finished(), "stopped with the message in hand");
        drop(held);
        stopping.await.expect("stopped");
        assert!(asked.elapsed() < Duration::from_secs(5), "stopped after {:?}", asked.elapsed());
        assert_eq!(server.messages(DONE).len(), 1, "{}", server.log());
        assert!(server.messages("INBOX").is_empty());
        assert_eq!(tickets_about(&rows(&app).await, "in-hand"), 1);
    }

    /// Dovecot stops while the poller is connected (in IDLE), a message
    /// arrives meanwhile, Dovecot starts again on its port: the poller
    /// connects again and takes the message, once.
    async fn the_poller_recovers_from_a_server_restart_and_takes_the_message_once(app) {
        let mut server = ImapServer::start().expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let poller = start_poller(app.db.store(), &inbound, &server);
        server.append("INBOX", &message("before", "Hal <hal@example.org>", SUPPORT, "One."));
        assert_eq!(filed(&server, 1).await.len(), 1, "{}", server.log());
        // Connected, waiting for mail.
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.stop();
        server.append("INBOX", &message("during", "Hal <hal@example.org>", SUPPORT, "Two."));
        // The poller's attempts to connect fail meanwhile.
        tokio::time::sleep(Duration::from_secs(2)).await;
        server.resume().expect("Dovecot starts again");
        let done = filed(&server, 2).await;
        assert_eq!(done.len(), 2, "{}", server.log());
        assert!(server.messages("INBOX").is_empty());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let rows = rows(&app).await;
        assert_eq!(tickets_about(&rows, "before"), 1);
        assert_eq!(tickets_about(&rows, "during"), 1);
        assert_eq!(rows.tickets.len(), 2);
        assert_eq!(server.messages(DONE).len(), 2);
        poller.stop(Duration::from_secs(5)).await;
    }

    /// A server offering neither IDLE nor MOVE: the poller sleeps between
    /// rounds and moves by COPY, \Deleted and an expunge, leaving nothing
    /// behind in the INBOX.
    async fn without_idle_and_move_the_poller_sleeps_and_copies_then_expunges(app) {
        let server = ImapServer::start_without(&["IDLE", "MOVE"]).expect("Dovecot starts");
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let poller = start_poller(app.db.store(), &inbound, &server);
        for n in 0..3 {
            server.append("INBOX", &message(&format!("question-{n}"), "Ivy <ivy@example.org>", SUPPORT, "Hello?"));
        }
        assert_eq!(filed(&server, 3).await.len(), 3, "{}", server.log());
        assert!(server.messages("INBOX").is_empty(), "expunged");
        assert!(server.messages(DONE).iter().all(|stored| !stored.is_deleted()));
        assert_eq!(rows(&app).await.tickets.len(), 3);
        poller.stop(Duration::from_secs(5)).await;
    }
}

http_tests! {
    /// `imap://` requires STARTTLS: to a server that does not offer it,
    /// and to one whose certificate is not trusted, the poller never logs
    /// in (the password goes neither in plain text nor to a server it
    /// cannot verify) and takes nothing; the mail stays where it is.
    async fn starttls_is_required_and_an_untrusted_certificate_is_refused(app) {
        let (app, inbound) = taking_mail(app, MAX_BYTES);
        let raw = message("secret", "Kim <kim@example.org>", SUPPORT, "Shh.");
        for (server, tls) in [(ImapServer::start(), false), (ImapServer::start_with_untrusted_tls(), true)] {
            let server = server.expect("Dovecot starts");
            server.append("INBOX", &raw);
            let starttls = server.url("INBOX").replace("?tls=none", "");
            let poller = poller_of(app.db.store(), &inbound, &starttls);
            // Several attempts.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            poller.stop(Duration::from_secs(5)).await;
            let log = server.log();
            assert!(log.contains("imap-login"), "the poller did connect: {log}");
            assert!(!log.contains("Login: user="), "{log}");
            // The handshake was made, and the certificate refused.
            assert_eq!(log.contains("SSL_accept() failed"), tls, "{log}");
            assert_eq!(server.messages("INBOX").len(), 1);
            assert!(server.messages(DONE).is_empty());
        }
        assert!(rows(&app).await.tickets.is_empty());
    }
}

// Real server processes: the poller as the binary runs it.

mod processes {
    use std::time::{Duration, Instant};

    use testkit::{Backend, ImapServer, TestDb};

    use super::{DONE, SUPPORT, message};
    use crate::process::{BINARY, Server};

    /// A server polling `server`'s INBOX every `poll_secs`.
    fn env(db: &TestDb, server: &ImapServer, poll_secs: u32) -> Vec<(String, String)> {
        [
            ("DATABASE_URL", db.url()),
            ("INBOUND_ADDRESS", SUPPORT.to_owned()),
            ("IMAP_URL", server.url("INBOX")),
            ("IMAP_POLL_SECS", poll_secs.to_string()),
            ("RUST_LOG", "info".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Two server processes on one PostgreSQL database poll one mailbox
    /// holding 30 messages (half there before they start, half arriving
    /// while they run): exactly 30 tickets, every message moved, and
    /// neither process's log shows a failed connection.
    #[test]
    fn two_processes_polling_one_mailbox_make_each_change_once() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let server = ImapServer::start().expect("Dovecot starts");
        let raw = |n: usize| {
            message(
                &format!("request-{n}"),
                &format!("Customer {n} <customer{n}@example.org>"),
                SUPPORT,
                "Please help.",
            )
        };
        for n in 0..15 {
            server.append("INBOX", &raw(n));
        }
        let env = env(&db, &server, 1);
        let mut servers = Server::start_several(2, dir.path(), &env);
        for n in 15..30 {
            server.append("INBOX", &raw(n));
            std::thread::sleep(Duration::from_millis(20));
        }
        let done = server.wait_for(DONE, 30, Duration::from_secs(60));
        let logs: Vec<String> = servers.iter().map(|s| s.process.log_tail()).collect();
        assert_eq!(done.len(), 30, "{}\n{logs:?}", server.log());
        // Time for a second change to show, if there were one.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(server.messages("INBOX").is_empty());
        assert_eq!(server.messages(DONE).len(), 30);
        let rows = testkit::fingerprint::fingerprint(db.store()).expect("a fingerprint");
        assert_eq!(rows.tickets.len(), 30, "exactly one change each");
        for n in 0..30 {
            assert_eq!(
                super::tickets_about(&rows, &format!("request-{n}")),
                1,
                "request {n}"
            );
        }
        for server in &mut servers {
            let status = server.terminate(Duration::from_secs(10));
            assert!(status.success(), "{status}");
            let log = server.process.log().unwrap_or_default();
            assert!(log.contains("IMAP polling is on"), "{log}");
            assert!(!log.contains("the connection failed"), "{log}");
        }
    }

    /// The start-up log says IMAP polling is on, with the host and folder
    /// and never the password; SIGTERM ends a poller waiting in IDLE at
    /// once (long before its 60 s poll). A wrong password is logged
    /// (without it) and tried again, the server running on; IMAP_URL
    /// without INBOUND_ADDRESS stops the start.
    fn the_start_says_polling_is_on_and_sigterm_ends_it(backend: Backend) {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let server = ImapServer::start().expect("Dovecot starts");
        // IDLE outlasts the test unless new mail or the stop ends it.
        let env = env(&db, &server, 60);
        let mut polling = Server::start_logged(dir.path(), &env);
        server.append(
            "INBOX",
            &message("hello", "Jo <jo@example.org>", SUPPORT, "Hi."),
        );
        assert_eq!(
            server.wait_for(DONE, 1, Duration::from_secs(20)).len(),
            1,
            "{}",
            polling.process.log_tail()
        );
        // In IDLE by now.
        std::thread::sleep(Duration::from_millis(500));
        let asked = Instant::now();
        let status = polling.terminate(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "stopped after {:?}",
            asked.elapsed()
        );
        let log = polling.process.log().unwrap_or_default();
        let line = log
            .lines()
            .find(|line| line.contains("IMAP polling is on"))
            .unwrap_or_else(|| panic!("{log}"));
        assert!(
            line.contains("127.0.0.1") && line.contains("INBOX") && line.contains(DONE),
            "{line}"
        );
        assert!(!log.contains(server.password()), "{log}");

        let wrong = server
            .url("INBOX")
            .replace(server.password(), "not-the-password");
        let mut env = env.clone();
        env.retain(|(name, _)| name != "IMAP_URL");
        env.push(("IMAP_URL".to_owned(), wrong));
        let mut refused = Server::start_logged(dir.path(), &env);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !refused.process.log().unwrap_or_default().contains("LOGIN")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(refused.is_running());
        let status = refused.terminate(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        let log = refused.process.log().unwrap_or_default();
        assert!(
            log.contains("the connection failed") && log.contains("LOGIN"),
            "{log}"
        );
        assert!(!log.contains("not-the-password"), "{log}");

        let output = std::process::Command::new(BINARY)
            .current_dir(dir.path())
            .env_clear()
            .env("DATABASE_URL", db.url())
            .env("IMAP_URL", server.url("INBOX"))
            .output()
            .expect("ran");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("IMAP_URL") && stderr.contains("INBOUND_ADDRESS"),
            "{stderr}"
        );
        assert!(!stderr.contains(server.password()), "{stderr}");
    }

    #[test]
    fn the_start_says_polling_is_on_and_sigterm_ends_it_sqlite() {
        the_start_says_polling_is_on_and_sigterm_ends_it(Backend::Sqlite);
    }

    #[test]
    fn the_start_says_polling_is_on_and_sigterm_ends_it_postgres() {
        the_start_says_polling_is_on_and_sigterm_ends_it(Backend::Postgres);
    }
}
