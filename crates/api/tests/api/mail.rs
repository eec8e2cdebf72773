//! Mail end to end, on both databases, against a real SMTP server (the
//! test kit's `SmtpSink`: aiosmtpd on a port of its own, read back with
//! mail-parser as a recipient's client reads it). Mail is queued through
//! the store's test hook, as a change queues it; the mail worker runs in
//! the test's process over the test's database, as the server runs it,
//! and the outbox is read through the admin API. The last tests run real
//! server processes: a crash between send and record, and three
//! processes sharing one outbox on PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use delivery::Worker;
use delivery::mail::{MailSettings, SmtpServer, parse_sender};
use domain::{
    EmailAddress, NotificationKind, NotificationMail, OutgoingMail, PinResetMail, Priority,
    RetrySchedule, TicketStatus,
};
use serde_json::Value;
use testkit::{ReceivedMail, SmtpSink};

use super::*;

const PUBLIC_URL: &str = "https://help.example.com";
const WAIT: Duration = Duration::from_secs(15);

/// A worker that retries every 300 ms, 20 times.
pub(super) fn quick_settings(sink: &SmtpSink) -> MailSettings {
    let mut settings = MailSettings::new(
        SmtpServer::parse(&sink.url()).expect("the sink's URL"),
        parse_sender("Support <support@example.com>").expect("a sender"),
        url::Url::parse(PUBLIC_URL).expect("a URL"),
    );
    settings.schedule = RetrySchedule::new(vec![Duration::from_millis(300); 20]).with_jitter(10);
    settings.timeout = Duration::from_secs(3);
    settings.lease = Duration::from_secs(10);
    settings.poll_interval = Duration::from_millis(30);
    settings
}

fn start_worker(app: &TestApp, sink: &SmtpSink) -> Worker {
    Worker::start_mail(
        app.db.store().clone(),
        quick_settings(sink),
        Arc::new(test_keys()),
    )
    .expect("the mail worker starts")
}

fn notification(to_customer: bool, kind: NotificationKind, ticket_id: i64) -> OutgoingMail {
    OutgoingMail::Notification(NotificationMail {
        recipient: UserId(7),
        recipient_name: "carol".into(),
        to_customer,
        kind,
        ticket_id,
        subject: Some("Printer <script>alert(1)</script> & fax".into()),
        status: TicketStatus::Replied,
        priority: Priority::High,
        by: if to_customer { "Support" } else { "dave" }.into(),
        text: Some("Try <b>this</b> & that".into()),
        status_before: None,
        at: "2026-12-07T10:00:00.000Z".into(),
    })
}

/// Queues `mail` to `address` as a change would; its message id.
async fn queue(app: &TestApp, address: &str, mail: OutgoingMail) -> String {
    let address = EmailAddress::parse(address).expect("an address");
    app.with_store(move |store| store::test_hooks::queue_mail(store, &address, &mail))
        .await
        .expect("queued")
}

/// The outbox as the admin API lists it with `query`.
async fn outbox(app: &TestApp, admin: &Session, query: &str) -> Vec<Value> {
    app.list(&format!("/api/v1/outbox{query}"), admin).await
}

/// Polls the outbox list until `done` holds, for at most [`WAIT`].
async fn wait_for_outbox(
    app: &TestApp,
    admin: &Session,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let rows = outbox(app, admin, query).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox never got there: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits off the async workers for `count` mails at the sink.
async fn received(sink: &SmtpSink, count: usize) -> Vec<ReceivedMail> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mails = sink.received();
        if mails.len() >= count || Instant::now() >= deadline {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn raw_header(mail: &ReceivedMail, name: &str) -> Option<String> {
    mail.parsed()
        .header_raw(name)
        .map(|value| value.trim().to_owned())
}

http_tests! {
    /// A customer's reply notification and a staff member's note
    /// notification arrive, each with its own Message-ID, the ticket's
    /// thread, the one-click unsubscribe of its kind, both parts with the
    /// values escaped in HTML; only the person's reply is not
    /// auto-submitted. The outbox then lists both as sent.
    async fn a_queued_notification_arrives_with_its_headers_and_both_parts(app) {
        let mut sink = SmtpSink::start().expect("the SMTP sink starts");
        let worker = start_worker(&app, &sink);
        let admin = app.admin().await;
        let to_customer = queue(&app, "carol@example.org", notification(true, NotificationKind::PublicReply, 41)).await;
        let to_staff = queue(&app, "dave@example.org", notification(false, NotificationKind::InternalNote, 41)).await;
        let mails = received(&sink, 2).await;
        assert_eq!(mails.len(), 2, "{mails:?}");
        for (address, message_id, kind, auto) in [
            ("carol@example.org", &to_customer, NotificationKind::PublicReply, false),
            ("dave@example.org", &to_staff, NotificationKind::InternalNote, true),
        ] {
            let mail = sink.received_by(address).pop().unwrap_or_else(|| panic!("nothing to {address}"));
            assert_eq!(mail.envelope_from, "support@example.com");
            let parsed = mail.parsed();
            assert_eq!(parsed.message_id(), Some(format!("{message_id}@help.example.com").as_str()));
            assert_eq!(parsed.in_reply_to().as_text(), Some("ticket-41@help.example.com"));
            assert_eq!(parsed.references().as_text(), Some("ticket-41@help.example.com"));
            assert_eq!(parsed.subject(), Some("[#41] Printer <script>alert(1)</script> & fax"));
            assert_eq!(raw_header(&mail, "Auto-Submitted").is_some(), auto, "{address}");
            let unsubscribe = raw_header(&mail, "List-Unsubscribe").expect("List-Unsubscribe");
            let token = unsubscribe
                .strip_prefix(&format!("<{PUBLIC_URL}/unsubscribe?token="))
                .and_then(|rest| rest.strip_suffix('>'))
                .unwrap_or_else(|| panic!("{unsubscribe}"));
            assert_eq!(test_keys().read_unsubscribe_token(token), Some((UserId(7), kind)));
            assert_eq!(
                raw_header(&mail, "List-Unsubscribe-Post").as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
            let text = parsed.body_text(0).expect("a text part");
            let html = parsed.body_html(0).expect("an HTML part");
            assert!(text.contains("> Try <b>this</b> & that"), "{text}");
            assert!(text.contains(&format!("{PUBLIC_URL}/tickets/41")), "{text}");
            assert!(!html.contains("<script>") && !html.contains("<b>this"), "{html}");
            assert!(html.contains("&#38;") || html.contains("&amp;"), "{html}");
        }
        let sent = wait_for_outbox(&app, &admin, "?status=sent", |rows| rows.len() == 2).await;
        let customer_row = sent.iter().find(|row| row["recipient"] == "carol@example.org").expect("carol's row");
        assert_eq!(customer_row["channel"], "mail");
        assert_eq!(customer_row["kind"], "publicReply");
        assert_eq!(customer_row["ticketId"], 41);
        assert_eq!(customer_row["attempts"], 1);
        assert_eq!(customer_row["lastError"], Value::Null);
        assert_eq!(customer_row["nextAttemptAt"], Value::Null);
        assert!(outbox(&app, &admin, "?status=pending").await.is_empty());
        worker.stop(Duration::from_secs(5)).await;
        sink.stop();
    }

    /// A PIN reset mail: its link, auto-submitted, no thread and nothing
    /// to unsubscribe from; listed as `pinReset` with no ticket.
    async fn a_pin_reset_arrives_with_its_link(app) {
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let worker = start_worker(&app, &sink);
        let admin = app.admin().await;
        queue(&app, "carol@example.org", OutgoingMail::PinReset(PinResetMail {
            recipient: UserId(7),
            recipient_name: "carol".into(),
            nonce: "a-nonce".into(),
            expires_at: "2026-12-07T10:30:00.000Z".into(),
        })).await;
        let mails = received(&sink, 1).await;
        assert_eq!(mails.len(), 1);
        let parsed = mails[0].parsed();
        assert_eq!(parsed.subject(), Some("Reset your PIN"));
        assert_eq!(raw_header(&mails[0], "Auto-Submitted").as_deref(), Some("auto-generated"));
        assert!(raw_header(&mails[0], "List-Unsubscribe").is_none());
        let link = format!("{PUBLIC_URL}/reset-pin?token={}", test_keys().pin_reset_token("a-nonce"));
        assert!(parsed.body_text(0).expect("text").contains(&link));
        let sent = wait_for_outbox(&app, &admin, "?status=sent&channel=mail", |rows| rows.len() == 1).await;
        assert_eq!(sent[0]["kind"], "pinReset");
        assert_eq!(sent[0]["ticketId"], Value::Null);
        worker.stop(Duration::from_secs(5)).await;
    }

    /// While the SMTP server is down the mail stays pending with its
    /// error; once it is back, the mail arrives, once.
    async fn an_outage_keeps_mail_pending_and_it_arrives_once_after(app) {
        let mut sink = SmtpSink::start().expect("the SMTP sink starts");
        sink.stop();
        let worker = start_worker(&app, &sink);
        let admin = app.admin().await;
        let message_id = queue(&app, "carol@example.org", notification(true, NotificationKind::StatusChanged, 5)).await;
        let pending = wait_for_outbox(&app, &admin, "?status=pending", |rows| {
            rows.len() == 1 && rows[0]["lastError"].is_string()
        })
        .await;
        assert_eq!(pending[0]["status"], "pending");
        assert!(pending[0]["nextAttemptAt"].is_string());
        assert!(pending[0]["attempts"].as_i64() >= Some(1));
        assert!(sink.received().is_empty());
        sink.resume().expect("the sink starts again");
        let mails = received(&sink, 1).await;
        assert_eq!(mails.len(), 1);
        wait_for_outbox(&app, &admin, "?status=sent", |rows| rows.len() == 1).await;
        // Time for a duplicate to show, if there were one.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mails = sink.received();
        assert_eq!(mails.len(), 1, "sent once");
        assert_eq!(
            mails[0].parsed().message_id(),
            Some(format!("{message_id}@help.example.com").as_str())
        );
        worker.stop(Duration::from_secs(5)).await;
    }

    /// A 550 for the recipient fails the mail at once (one attempt, no
    /// retry) with the server's answer as its error; a retry queues it
    /// again. A 451 stays pending and is tried again. A retry of a sent
    /// mail is 409, of no mail 404.
    async fn a_permanent_refusal_fails_at_once_and_a_retry_queues_it_again(app) {
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let worker = start_worker(&app, &sink);
        let admin = app.admin().await;
        queue(&app, "bounce@example.org", notification(true, NotificationKind::PublicReply, 9)).await;
        queue(&app, "defer@example.org", notification(true, NotificationKind::PublicReply, 9)).await;
        queue(&app, "carol@example.org", notification(true, NotificationKind::PublicReply, 9)).await;
        let failed = wait_for_outbox(&app, &admin, "?status=failed", |rows| rows.len() == 1).await;
        assert_eq!(failed[0]["recipient"], "bounce@example.org");
        assert_eq!(failed[0]["attempts"], 1);
        let error = failed[0]["lastError"].as_str().expect("an error");
        assert!(error.contains("550"), "{error}");
        let deferred = wait_for_outbox(&app, &admin, "?status=pending", |rows| {
            rows.len() == 1 && rows[0]["attempts"].as_i64() >= Some(2)
        })
        .await;
        assert_eq!(deferred[0]["recipient"], "defer@example.org");
        assert!(deferred[0]["lastError"].as_str().expect("an error").contains("451"));
        // The schedule would have made several attempts by now.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let failed = outbox(&app, &admin, "?status=failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["attempts"], 1, "no second attempt");
        let sent = wait_for_outbox(&app, &admin, "?status=sent", |rows| rows.len() == 1).await;
        assert_eq!(sent[0]["recipient"], "carol@example.org");

        let id = failed[0]["_id"].as_str().expect("an id");
        let retried = app
            .post(&format!("/api/v1/outbox/{id}/retry"), &admin, json!({}))
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(retried["status"], "pending");
        assert_eq!(retried["attempts"], 0);
        // It is tried again, and refused again.
        wait_for_outbox(&app, &admin, "?status=failed", |rows| {
            rows.len() == 1 && rows[0]["attempts"] == 1
        })
        .await;
        let sent_id = sent[0]["_id"].as_str().expect("an id");
        app.post(&format!("/api/v1/outbox/{sent_id}/retry"), &admin, json!({}))
            .await
            .expect(StatusCode::CONFLICT);
        app.post("/api/v1/outbox/999999/retry", &admin, json!({}))
            .await
            .expect(StatusCode::NOT_FOUND);
        assert!(sink.received_by("bounce@example.org").is_empty());
        // Measured: the pending (the deferred one) and the totals.
        app.with_store(edge::observe::record_outbox).await;
        let text = app.request(Method::GET, "/metrics", None, None).await.text();
        for series in [
            "outbox_pending{channel=\"mail\"}",
            "outbox_oldest_pending_seconds{channel=\"mail\"}",
            "outbox_sent_total{channel=\"mail\"}",
            "outbox_failed_total{channel=\"mail\"}",
            "mail_attempt_duration_seconds_bucket",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
        worker.stop(Duration::from_secs(5)).await;
    }

    /// `smtp://` without `tls=none` requires STARTTLS: a server that does
    /// not offer it (the sink) is sent nothing in plain text, and the mail
    /// waits with the reason.
    async fn starttls_is_required_and_nothing_goes_in_plain_text_without_it(app) {
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let mut settings = quick_settings(&sink);
        settings.smtp = SmtpServer::parse(&format!("smtp://127.0.0.1:{}", sink.port())).expect("valid");
        let worker = Worker::start_mail(app.db.store().clone(), settings, Arc::new(test_keys()))
            .expect("the mail worker starts");
        let admin = app.admin().await;
        queue(&app, "carol@example.org", notification(true, NotificationKind::PublicReply, 2)).await;
        let pending = wait_for_outbox(&app, &admin, "?status=pending", |rows| {
            rows.len() == 1 && rows[0]["attempts"].as_i64() >= Some(2)
        })
        .await;
        let error = pending[0]["lastError"].as_str().expect("an error");
        assert!(error.contains("STARTTLS"), "{error}");
        assert!(sink.received().is_empty(), "nothing sent in plain text");
        worker.stop(Duration::from_secs(5)).await;
    }

    /// Only admins see the outbox or retry; a bad filter is 400.
    async fn the_outbox_is_for_admins_and_a_bad_filter_is_400(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let customer = app.customer("carol").await;
        queue(&app, "carol@example.org", notification(true, NotificationKind::PublicReply, 3)).await;
        for who in [&agent, &customer] {
            app.get("/api/v1/outbox", who).await.expect(StatusCode::FORBIDDEN);
            app.post("/api/v1/outbox/1/retry", who, json!({}))
                .await
                .expect(StatusCode::FORBIDDEN);
        }
        let pending = outbox(&app, &admin, "?status=pending&channel=mail").await;
        assert_eq!(pending.len(), 1);
        assert!(outbox(&app, &admin, "?channel=webhook").await.is_empty());
        for bad in ["?status=delivered", "?channel=sms", "?status=", "?limit=0"] {
            app.get(&format!("/api/v1/outbox{bad}"), &admin)
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
        app.post("/api/v1/outbox/abc/retry", &admin, json!({}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        // Paged by cursor, like every list.
        queue(&app, "dave@example.org", notification(false, NotificationKind::Assigned, 3)).await;
        let first = app
            .get("/api/v1/outbox?limit=1", &admin)
            .await
            .expect(StatusCode::OK)
            .json();
        let cursor = first["meta"]["nextCursor"].as_str().expect("a cursor");
        let second = app
            .get(&format!("/api/v1/outbox?limit=1&cursor={cursor}"), &admin)
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(second["data"][0]["recipient"], "dave@example.org");
        assert_eq!(second["meta"]["hasMore"], false);
    }
}

// Real server processes: the mail worker as the binary runs it.

mod processes {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use domain::{EmailAddress, NotificationKind};
    use testkit::{Backend, Log, SmtpSink, TestDb};

    use super::notification;
    use crate::process::{BINARY, Server};

    fn env(db: &TestDb, sink: &SmtpSink, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), db.url()),
            ("SMTP_URL".to_owned(), sink.url()),
            (
                "MAIL_FROM".to_owned(),
                "Support <support@example.com>".to_owned(),
            ),
            ("PUBLIC_URL".to_owned(), super::PUBLIC_URL.to_owned()),
            ("OUTBOX_POLL_MS".to_owned(), "50".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    fn queue(db: &TestDb, address: &str, ticket: i64) -> String {
        store::test_hooks::queue_mail(
            db.store(),
            &EmailAddress::parse(address).expect("an address"),
            &notification(true, NotificationKind::PublicReply, ticket),
        )
        .expect("queued")
    }

    /// A server killed after the SMTP server has the mail and before the
    /// attempt is recorded leaves the row leased; once the lease ends the
    /// next process sends it again, with the same Message-ID.
    fn a_crash_between_send_and_mark_sends_again_with_the_same_message_id(backend: Backend) {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let env = env(
            &db,
            &sink,
            &[("MAIL_TIMEOUT_MS", "2000"), ("MAIL_LEASE_MS", "5000")],
        );
        let mut first = Server::start_logged(dir.path(), &env);
        let message_id = queue(&db, "slow@example.org", 1);
        let sent = sink.wait_for(1, Duration::from_secs(10));
        assert_eq!(sent.len(), 1, "{}", first.process.log_tail());
        let kept_at = Instant::now();
        // The sink answers 1.5 s after it kept the mail: the sender dies
        // before it hears that the mail went.
        first.process.signal("KILL").expect("kill");
        while first.is_running() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut second = Server::start_logged(dir.path(), &env);
        let received = sink.wait_for(2, Duration::from_secs(20));
        assert_eq!(received.len(), 2, "{}", second.process.log_tail());
        assert!(
            kept_at.elapsed() >= Duration::from_secs(3),
            "sent again only once the lease ran out"
        );
        let ids: Vec<String> = received
            .iter()
            .map(|mail| mail.parsed().message_id().expect("a Message-ID").to_owned())
            .collect();
        assert_eq!(ids[0], format!("{message_id}@help.example.com"));
        assert_eq!(ids[1], ids[0], "the same Message-ID");
        // Recorded as sent this time: nothing more goes.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(sink.received().len(), 2);
        let pending = store::test_hooks::pending_mail(db.store()).expect("pending");
        assert!(pending.is_empty(), "{pending:?}");
        second.terminate(Duration::from_secs(10));
    }

    /// SIGTERM while a mail is being sent: the mail finishes and is
    /// recorded within the shutdown grace, and the next process sends
    /// nothing again.
    fn sigterm_lets_the_mail_in_flight_finish(backend: Backend) {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let env = env(&db, &sink, &[("SHUTDOWN_GRACE_SECS", "10")]);
        let mut server = Server::start_logged(dir.path(), &env);
        queue(&db, "slow@example.org", 1);
        // Kept by the sink, answered 1.5 s later.
        assert_eq!(sink.wait_for(1, Duration::from_secs(10)).len(), 1);
        let status = server.terminate(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        let pending = store::test_hooks::pending_mail(db.store()).expect("pending");
        assert!(
            pending.is_empty(),
            "recorded as sent: {pending:?}\n{}",
            server.process.log_tail()
        );
        let mut again = Server::start_logged(dir.path(), &env);
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(sink.received().len(), 1);
        again.terminate(Duration::from_secs(10));
    }

    #[test]
    fn sigterm_lets_the_mail_in_flight_finish_sqlite() {
        sigterm_lets_the_mail_in_flight_finish(Backend::Sqlite);
    }

    #[test]
    fn sigterm_lets_the_mail_in_flight_finish_postgres() {
        sigterm_lets_the_mail_in_flight_finish(Backend::Postgres);
    }

    /// Without SMTP_URL the start-up log says mail is off; a bad mail
    /// setting stops the start, naming the variable and never the
    /// password.
    #[test]
    fn the_start_says_mail_is_off_and_a_bad_mail_setting_stops_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Server::start(dir.path(), &[("RUST_LOG", "info")], Log::CaptureStdout);
        let stopped = server.terminate(Duration::from_secs(30));
        assert!(stopped.success(), "exit status {stopped}");
        let logs = server.stdout();
        assert!(logs.contains("mail is off"), "{logs}");
        for (vars, named) in [
            (
                vec![(
                    "SMTP_URL",
                    "smtp://relay:hunter2-pass@mail.example.com?tls=none",
                )],
                "SMTP_URL",
            ),
            (
                vec![("SMTP_URL", "smtp://relay:hunter2-pass@mail.example.com")],
                "MAIL_FROM",
            ),
            (
                vec![
                    ("SMTP_URL", "smtp://relay:hunter2-pass@mail.example.com"),
                    ("MAIL_FROM", "Support <support@example.com>"),
                ],
                "PUBLIC_URL",
            ),
        ] {
            let output = std::process::Command::new(BINARY)
                .current_dir(dir.path())
                .env_clear()
                .envs(vars)
                .output()
                .expect("ran");
            assert!(!output.status.success());
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(named), "{named}: {stderr}");
            assert!(
                !stderr.contains("hunter2"),
                "the password is never printed: {stderr}"
            );
        }
    }

    #[test]
    fn a_crash_between_send_and_mark_sends_again_with_the_same_message_id_sqlite() {
        a_crash_between_send_and_mark_sends_again_with_the_same_message_id(Backend::Sqlite);
    }

    #[test]
    fn a_crash_between_send_and_mark_sends_again_with_the_same_message_id_postgres() {
        a_crash_between_send_and_mark_sends_again_with_the_same_message_id(Backend::Postgres);
    }

    /// Three processes on one PostgreSQL database send 300 mails queued
    /// while they run: every one arrives, exactly once.
    #[test]
    fn three_processes_share_the_outbox_and_send_each_mail_once() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let env = env(&db, &sink, &[]);
        let mut servers = Server::start_several(3, dir.path(), &env);
        std::thread::scope(|scope| {
            for part in 0..3 {
                let db = &db;
                scope.spawn(move || {
                    for n in 0..100 {
                        queue(db, &format!("user{}@example.org", n % 40), part * 100 + n);
                    }
                });
            }
        });
        let received = sink.wait_for(300, Duration::from_secs(120));
        // Time for a duplicate to show, if there were one.
        std::thread::sleep(Duration::from_millis(700));
        let received = if received.len() == 300 {
            sink.received()
        } else {
            received
        };
        let mut counts: HashMap<String, usize> = HashMap::new();
        for mail in &received {
            let id = mail.parsed().message_id().expect("a Message-ID").to_owned();
            *counts.entry(id).or_default() += 1;
        }
        assert_eq!(counts.len(), 300, "every mail arrived");
        assert!(counts.values().all(|&n| n == 1), "and once");
        for server in &mut servers {
            server.terminate(Duration::from_secs(10));
        }
    }
}

/// An account of `role` with the address `<username>@example.com`.
pub(crate) async fn with_address(app: &TestApp, username: &str, role: Role) -> Session {
    let session = app.user(username, role).await;
    app.patch(
        "/api/v1/users/me",
        &session,
        json!({ "email": format!("{username}@example.com") }),
    )
    .await
    .expect(StatusCode::OK);
    session
}

/// Both parts of a received mail, as its reader's client shows them.
fn readable(mail: &ReceivedMail) -> String {
    let parsed = mail.parsed();
    format!(
        "{}\n{}\n{}",
        parsed.subject().unwrap_or_default(),
        parsed.body_text(0).unwrap_or_default(),
        parsed.body_html(0).unwrap_or_default()
    )
}

http_tests! {
    /// The round trip from changes made through the API to the mailboxes
    /// of a real SMTP server: the customer hears of their ticket and of
    /// the agent's public reply, in one thread, with the agent as
    /// "Support" and never the note, its tag or the agent's name; the
    /// agent hears of the new ticket and of the customer's reply; the
    /// customer's one-click link (POSTed as a mail client does) turns
    /// public replies off, and the next one reaches only the agent's
    /// side.
    async fn a_conversation_reaches_each_mailbox_as_its_reader_may_see_it(app) {
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let worker = start_worker(&app, &sink);
        let app = app.with_mail(&LimitSettings::off());
        let kayode = with_address(&app, "kayode", Role::Customer).await;
        let benjamin = with_address(&app, "benjamin", Role::SupportAgent).await;

        let id = app.open_ticket(&kayode, "The printer is on fire").await;
        let opened = received(&sink, 2).await;
        assert_eq!(opened.len(), 2, "{opened:?}");
        let acknowledgement = sink.received_by("kayode@example.com").pop().expect("the acknowledgement");
        assert!(readable(&acknowledgement).contains(&format!("[#{id}]")));
        assert!(readable(&sink.received_by("benjamin@example.com").pop().expect("the new ticket"))
            .contains("The printer is on fire"));

        app.patch(&format!("/api/v1/tickets/{id}"), &benjamin, json!({"tags": ["vip-secret-tag"]}))
            .await
            .expect(StatusCode::OK);
        app.post(
            &format!("/api/v1/tickets/{id}/replies"),
            &benjamin,
            json!({"body": "secret plan: replace the fuser", "internal": true}),
        )
        .await
        .expect(StatusCode::CREATED);
        app.reply(&benjamin, id, "We are on it <b>now</b>").await.expect(StatusCode::CREATED);
        app.reply(&kayode, id, "Thanks, it smells of toner").await.expect(StatusCode::CREATED);
        // The public reply to the customer, the customer's reply to the
        // assignee (the reply assigned the agent); the note and the tags
        // tell no one else.
        let mails = received(&sink, 4).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.received().len(), 4, "{:#?}", sink.received());

        let to_customer = sink.received_by("kayode@example.com");
        assert_eq!(to_customer.len(), 2, "{to_customer:?}");
        let reply_mail = &to_customer[1];
        let seen = readable(reply_mail);
        assert!(seen.contains("We are on it"), "{seen}");
        assert!(seen.contains("Support"), "{seen}");
        for hidden in ["secret plan", "vip-secret-tag", "benjamin"] {
            assert!(!seen.contains(hidden), "the customer's mail shows {hidden}: {seen}");
            assert!(!readable(&to_customer[0]).contains(hidden), "{hidden}");
        }
        let parsed = reply_mail.parsed();
        let thread = format!("ticket-{id}@help.example.com");
        assert_eq!(parsed.in_reply_to().as_text(), Some(thread.as_str()));
        assert_eq!(acknowledgement.parsed().references().as_text(), Some(thread.as_str()));
        assert_ne!(parsed.message_id(), acknowledgement.parsed().message_id());
        assert!(raw_header(reply_mail, "Auto-Submitted").is_none(), "a person's reply");
        assert_eq!(raw_header(&acknowledgement, "Auto-Submitted").as_deref(), Some("auto-generated"));

        let to_agent = sink.received_by("benjamin@example.com");
        assert_eq!(to_agent.len(), 2, "{to_agent:?}");
        assert!(readable(&to_agent[1]).contains("it smells of toner"));
        assert!(readable(&to_agent[1]).contains("kayode"), "staff see who wrote");

        // The customer's client follows the one-click link.
        let link = raw_header(reply_mail, "List-Unsubscribe").expect("List-Unsubscribe");
        let path = link
            .trim_start_matches('<')
            .trim_end_matches('>')
            .strip_prefix(PUBLIC_URL)
            .expect("a link to this server")
            .to_owned();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("List-Unsubscribe=One-Click"))
            .expect("request");
        let response = app.router().clone().oneshot(request).await.expect("infallible");
        assert!(response.status().is_success(), "{}", response.status());
        let preferences = app.get("/api/v1/users/me/notifications", &kayode).await.expect(StatusCode::OK);
        assert_eq!(preferences.data()["publicReply"], false);
        assert_eq!(preferences.data()["statusChanged"], true, "only that kind");

        app.reply(&benjamin, id, "One more thing").await.expect(StatusCode::CREATED);
        app.reply(&kayode, id, "Still smoking").await.expect(StatusCode::CREATED);
        let all = received(&sink, 5).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.received().len(), 5, "{all:#?}");
        assert_eq!(sink.received_by("kayode@example.com").len(), 2, "no more public replies");
        assert_eq!(sink.received_by("benjamin@example.com").len(), 3);
        drop(mails);
        worker.stop(Duration::from_secs(5)).await;
    }
}
