//! Inbound mail end to end, on both databases: raw messages posted to
//! `POST /api/v1/inbound/email` as a mail server's pipe posts them, and
//! what became of each read back through the API (the ticket, its
//! replies, the new customer's account) and, for what the API does not
//! show yet (a held message's reason, the original), from its record.
//! Every outcome; every rule that holds a message, with the reason HTTP
//! answers for the same act; the answers that refuse a request; the same
//! message delivered at once eight times; one new address writing twenty
//! at once; and the round trip with real mail out (the SMTP sink): the
//! customer answers a notification as a mail client does, and our own
//! mail coming back is ignored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use delivery::Worker;
use domain::EmailAddress;
use domain::inbound::{CUT_MARKER, HELD_DEACTIVATED, HELD_NOT_THEIRS};
use domain::values::BODY_MAX_CHARS;
use edge::inbound::{DEFAULT_MAX_EMAIL_BYTES, InboundSettings};
use edge::limits::LimitSettings;
use testkit::SmtpSink;
use testkit::fingerprint::{Fingerprint, InboundPrint};

use super::held::{INBOUND_TOKEN, support, to_ticket};
use super::*;

pub const PUBLIC_URL: &str = "https://help.example.com";
/// `INBOUND_ADDRESS`.
pub const SUPPORT: &str = "support@example.com";
/// `MAIL_FROM`, other than the support address here so that both are
/// recognised as ours.
pub const MAIL_FROM: &str = "notify@example.com";
const ENDPOINT: &str = "/api/v1/inbound/email";
/// A new ticket's author waits for this long at most for a retried post.
const RETRIES: usize = 50;

/// Inbound mail on as a server with `INBOUND_ADDRESS`, `INBOUND_TOKEN`,
/// `MAIL_FROM` and `PUBLIC_URL` set has it.
pub fn inbound_settings() -> InboundSettings {
    InboundSettings {
        address: support(),
        token: Some(INBOUND_TOKEN.to_owned()),
        max_bytes: DEFAULT_MAX_EMAIL_BYTES,
        sender_limit: domain::inbound::DEFAULT_SENDER_LIMIT,
        mail_from: Some(EmailAddress::parse(MAIL_FROM).expect("an address")),
        message_id_host: Some("help.example.com".to_owned()),
    }
}

impl TestApp {
    /// The same database behind a router that takes inbound mail as
    /// `settings` say and queues mail out, reached at [`PUBLIC_URL`].
    pub fn taking_mail(self, settings: InboundSettings) -> TestApp {
        let state = shared_state(
            self.mailing_store(),
            &LimitSettings::off(),
            Some(PUBLIC_URL),
        )
        .with_inbound(Some(settings));
        self.with_router(api::router(state))
    }

    /// Posts `raw` as a mail server's pipe does.
    pub async fn post_mail(&self, raw: impl Into<Vec<u8>>) -> Answer {
        self.post_mail_as(Some(INBOUND_TOKEN), "message/rfc822", raw.into())
            .await
    }

    pub async fn post_mail_as(
        &self,
        token: Option<&str>,
        content_type: &str,
        raw: Vec<u8>,
    ) -> Answer {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(ENDPOINT)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, raw.len());
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(builder.body(Body::from(raw)).expect("request"))
            .await
    }

    /// Posts `raw` until it is taken, again after a 503 as a mail server
    /// delivers again after a temporary failure; the answer's `data`.
    pub async fn deliver(&self, raw: impl Into<Vec<u8>>) -> Value {
        let raw = raw.into();
        for _ in 0..RETRIES {
            let answer = self.post_mail(raw.clone()).await;
            if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                return answer.expect(StatusCode::OK).data();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never taken after {RETRIES} deliveries");
    }

    /// The list `GET path` answers `session` with (200).
    pub async fn list(&self, path: &str, session: &Session) -> Vec<Value> {
        match self.get(path, session).await.expect(StatusCode::OK).data() {
            Value::Array(list) => list,
            other => panic!("{path}: not a list: {other}"),
        }
    }

    /// Every row a request can change.
    pub async fn fingerprint(&self) -> Fingerprint {
        self.with_store(|store| testkit::fingerprint::fingerprint(store).expect("fingerprint"))
            .await
    }

    /// The tracker's data without the record of mail taken: what acting
    /// on a message changes.
    pub async fn data_print(&self) -> Fingerprint {
        Fingerprint {
            inbound: Vec::new(),
            ..self.fingerprint().await
        }
    }

    /// What became of every message taken, oldest first.
    pub async fn inbound_records(&self) -> Vec<InboundPrint> {
        self.fingerprint().await.inbound
    }

    /// The bytes of the mail a ticket was opened by, or a reply came
    /// from (`path`: `tickets/{id}` or `replies/{id}`), as staff read it.
    pub async fn original(&self, staff: &Session, path: &str) -> Vec<u8> {
        let answer = self.get(&format!("/api/v1/{path}/original"), staff).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        answer.body
    }
}

/// A plain text message from `from` with `headers` (a `Message-ID` of its
/// own unless they carry one, or `Message-ID` is given as empty: none).
pub fn message(from: &str, headers: &[(&str, &str)], text: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut raw =
        format!("From: {from}\r\nTo: {SUPPORT}\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("Message-ID"))
    {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        raw.push_str(&format!(
            "Message-ID: <m{n}.{}@client.example>\r\n",
            std::process::id()
        ));
    }
    for (name, value) in headers {
        if !value.is_empty() {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    raw.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    raw.push_str(&text.replace('\n', "\r\n"));
    raw.push_str("\r\n");
    raw
}

/// `References` naming ticket `id` as our mail does.
pub fn references(id: i64) -> String {
    format!("<ticket-{id}@help.example.com>")
}

/// A customer account with `address`.
pub async fn customer_at(app: &TestApp, username: &str, address: &str) -> Session {
    let session = app.customer(username).await;
    set_address(app, &session, address).await;
    session
}

pub async fn set_address(app: &TestApp, session: &Session, address: &str) {
    app.patch("/api/v1/users/me", session, json!({ "email": address }))
        .await
        .expect(StatusCode::OK);
}

/// A ticket of `customer`'s that `agent` has answered in public.
pub async fn answered_ticket(app: &TestApp, customer: &Session, agent: &Session) -> i64 {
    let id = app.open_ticket(customer, "The printer is offline").await;
    app.reply(agent, id, "Please hold the reset button for ten seconds.")
        .await
        .expect(StatusCode::CREATED);
    id
}

/// The ticket as `viewer` sees it.
pub async fn ticket(app: &TestApp, viewer: &Session, id: i64) -> Value {
    app.get(&format!("/api/v1/tickets/{id}"), viewer)
        .await
        .expect(StatusCode::OK)
        .data()
}

/// The ticket's replies as `viewer` sees them, oldest first.
pub async fn replies(app: &TestApp, viewer: &Session, id: i64) -> Vec<Value> {
    app.list(&format!("/api/v1/tickets/{id}/replies"), viewer)
        .await
}

/// Every ticket `viewer` sees.
async fn tickets(app: &TestApp, viewer: &Session) -> Vec<Value> {
    app.list("/api/v1/tickets?limit=100", viewer).await
}

/// The accounts with `address`, as an admin lists them.
async fn accounts_at(app: &TestApp, admin: &Session, address: &str) -> Vec<Value> {
    app.list("/api/v1/users?limit=100", admin)
        .await
        .into_iter()
        .filter(|user| user["email"] == address)
        .collect()
}

fn outcome(data: &Value) -> &str {
    data["outcome"].as_str().expect("an outcome")
}

fn ticket_id(data: &Value) -> i64 {
    data["ticketId"]
        .as_i64()
        .unwrap_or_else(|| panic!("no ticketId: {data}"))
}

/// A header of a mail the sink received, as it was written.
fn notification_header(mail: &testkit::ReceivedMail, name: &str) -> String {
    mail.parsed()
        .header_raw(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .trim()
        .to_owned()
}

/// A held answer's message, as staff read it.
async fn held(app: &TestApp, staff: &Session, data: &Value) -> Value {
    assert_eq!(outcome(data), "held", "{data}");
    let id = data["heldId"].as_str().expect("heldId");
    app.get(&format!("/api/v1/held/{id}"), staff)
        .await
        .expect(StatusCode::OK)
        .data()
}

http_tests! {
    /// Mail from an address no account has opens a ticket for a new
    /// customer: that address, a username made from it, no PIN (no PIN
    /// signs it in) until a PIN reset by mail gives it one.
    async fn a_new_address_opens_a_ticket_as_a_new_customer_who_sets_a_pin_by_mail(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let admin = app.admin().await;
        let raw = message(
            "Ada Lovelace <Ada.Lovelace@example.org>",
            &[("Subject", "Printer offline")],
            "Hello,\n\nthe printer on floor 2 is offline.\n\nAda",
        );
        let data = app.deliver(raw.clone()).await;
        assert_eq!(outcome(&data), "created");
        assert!(data.get("heldId").is_none(), "{data}");
        let id = ticket_id(&data);
        let seen = ticket(&app, &agent, id).await;
        assert_eq!(seen["subject"], "Printer offline");
        assert_eq!(seen["body"], "Hello,\n\nthe printer on floor 2 is offline.\n\nAda");
        assert_eq!(seen["status"], "UNATTENDED");
        assert!(seen.get("followUpOf").is_none(), "{seen}");
        assert_eq!(seen["requester"]["username"], "ada.lovelace");
        assert_eq!(seen["requester"]["email"], "ada.lovelace@example.org");
        let account = app
            .get(&format!("/api/v1/users/{}", seen["author"].as_str().expect("author")), &admin)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(account["role"], "CUSTOMER");
        assert_eq!(account["active"], true);
        assert_eq!(account["email"], "ada.lovelace@example.org");
        // No PIN: none signs it in, not even an empty one.
        for pin in [PIN, "1234", ""] {
            assert_ne!(app.login("ada.lovelace", pin).await.status, StatusCode::OK, "{pin:?}");
        }
        let records = app.inbound_records().await;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].outcome, "created");
        assert_eq!(records[0].ticket_id, Some(id));
        let original = app.original(&agent, &format!("tickets/{id}")).await;
        assert_eq!(original, raw.as_bytes(), "the original is kept byte for byte");

        app.request(Method::POST, "/api/v1/pin-resets", None, Some(json!({"email": "ada.lovelace@example.org"})))
            .await
            .expect(StatusCode::ACCEPTED);
        let link = super::pin_resets::newest_link(&app).await;
        super::pin_resets::use_link(&app, &link, "4321").await.expect(StatusCode::OK);
        let session = app.login("ada.lovelace", "4321").await.expect(StatusCode::OK);
        assert_eq!(session.data()["_id"], seen["author"]);
        // Her next mail is hers: no second account.
        let data = app.deliver(message("ada.lovelace@example.org", &[("Subject", "Also the scanner")], "It jams.")).await;
        assert_eq!(outcome(&data), "created");
        assert_eq!(ticket(&app, &agent, ticket_id(&data)).await["author"], seen["author"]);
        assert_eq!(accounts_at(&app, &admin, "ada.lovelace@example.org").await.len(), 1);
    }

    /// A customer's reply by mail and an agent's reply by mail are public
    /// replies, trimmed of the quoted mail, and move the ticket as the
    /// same replies over HTTP move a twin ticket.
    async fn replies_by_mail_are_appended_and_move_the_ticket_as_over_http(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        set_address(&app, &agent, "benjamin@example.com").await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        let by_mail = answered_ticket(&app, &customer, &agent).await;
        let by_http = answered_ticket(&app, &customer, &agent).await;

        let data = app.deliver(message(
            "Kayode <kayode@example.org>",
            &[("Subject", "Re: [#1] The printer"), ("References", &references(by_mail))],
            "It still blinks orange.\n\nOn Mon, 7 Dec 2026 at 10:00, Support <support@example.com> wrote:\n> Please hold the reset button for ten seconds.",
        )).await;
        assert_eq!(outcome(&data), "appended");
        assert_eq!(ticket_id(&data), by_mail);
        app.reply(&customer, by_http, "It still blinks orange.").await.expect(StatusCode::CREATED);
        let list = replies(&app, &agent, by_mail).await;
        let last = list.last().expect("a reply");
        assert_eq!(last["body"], "It still blinks orange.");
        assert_eq!(last["author"].as_str(), Some(customer.id.as_str()));
        assert_eq!(last["role"], "CUSTOMER");
        assert_eq!(last["internal"], false);
        assert_eq!(
            ticket(&app, &agent, by_mail).await["status"],
            ticket(&app, &agent, by_http).await["status"]
        );
        let records = app.inbound_records().await;
        let reply_id = records.last().and_then(|record| record.reply_id).expect("a reply's record");
        assert_eq!(last["_id"], reply_id.to_string());
        let original = app.original(&agent, &format!("replies/{reply_id}")).await;
        assert!(original.starts_with(b"From: Kayode <kayode@example.org>"));

        // The agent answers by mail, from the agent's address, to the
        // ticket's reply address.
        let to = to_ticket(by_mail);
        let data = app.deliver(message(
            "Benjamin <benjamin@example.com>",
            &[("To", &to), ("Subject", "Re: [#1] The printer")],
            "Then please unplug it for a minute.\n\n-----Original Message-----\nFrom: Kayode\nIt still blinks orange.",
        )).await;
        assert_eq!(outcome(&data), "appended");
        assert_eq!(ticket_id(&data), by_mail);
        app.reply(&agent, by_http, "Then please unplug it for a minute.").await.expect(StatusCode::CREATED);
        let last = replies(&app, &customer, by_mail).await.pop().expect("a reply");
        assert_eq!(last["body"], "Then please unplug it for a minute.");
        assert_eq!(last["author"].as_str(), Some(agent.id.as_str()));
        assert_eq!(last["internal"], false, "the customer sees it");
        let (mailed, answered) = (ticket(&app, &agent, by_mail).await, ticket(&app, &agent, by_http).await);
        assert_eq!(mailed["status"], "REPLIED");
        assert_eq!(mailed["status"], answered["status"]);
        assert_eq!(mailed["assignee"], answered["assignee"]);
    }

    /// What a rule refuses over HTTP is held by mail, with the refusal
    /// HTTP answers as its reason, and changes nothing on the ticket: a
    /// customer writing before an agent answered, an admin's public
    /// reply, a stranger to the ticket, a deactivated account.
    async fn what_a_rule_refuses_is_held_with_its_reason(app) {
        let app = app.taking_mail(inbound_settings());
        let admin = app.admin().await;
        set_address(&app, &admin, "iambenkay@example.com").await;
        let agent = app.agent().await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        customer_at(&app, "stranger", "stranger@example.org").await;
        let gone = customer_at(&app, "gone", "gone@example.org").await;
        let unanswered = app.open_ticket(&customer, "Nobody answered yet").await;
        let answered = answered_ticket(&app, &customer, &agent).await;
        let own = app.open_ticket(&gone, "Mine").await;
        app.patch(&format!("/api/v1/users/{}", gone.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);

        let waits = app.reply(&customer, unanswered, "Anyone?").await.expect(StatusCode::CONFLICT).json();
        let admins = app.reply(&admin, answered, "Noted.").await.expect(StatusCode::FORBIDDEN).json();
        let before = app.data_print().await;
        for (from, id, reason) in [
            ("kayode@example.org", unanswered, waits["message"].as_str().expect("message")),
            ("iambenkay@example.com", answered, admins["message"].as_str().expect("message")),
            ("stranger@example.org", answered, HELD_NOT_THEIRS),
            ("nobody-yet@example.org", answered, HELD_NOT_THEIRS),
            ("gone@example.org", own, HELD_DEACTIVATED),
            ("gone@example.org", answered, HELD_DEACTIVATED),
        ] {
            let data = app.deliver(message(from, &[("Subject", "Re: it"), ("References", &references(id))], "My words.")).await;
            let record = held(&app, &agent, &data).await;
            assert_eq!(record["reason"], reason, "{from} on #{id}");
            assert_eq!(record["ticketId"], id, "{from}");
            assert_eq!(record["sender"]["address"], from);
            assert_eq!(record["text"], "My words.");
            assert_eq!(ticket_id(&data), id, "{from}");
        }
        // Held, not acted on: no reply, no ticket, no account, no mail.
        assert_eq!(before, app.data_print().await);
        // Staff mail that answers no ticket opens none.
        let data = app.deliver(message("iambenkay@example.com", &[("Subject", "A new one")], "Hi.")).await;
        let record = held(&app, &agent, &data).await;
        assert_eq!(record["ticketId"], Value::Null);
        assert!(data.get("ticketId").is_none(), "{data}");
        assert!(record["reason"].as_str().is_some_and(|reason| reason.contains("staff")), "{record}");
    }

    /// Over `INBOUND_SENDER_LIMIT` an hour, an address's mail is held with
    /// that reason; another address is not held for it.
    async fn an_address_over_its_hourly_limit_is_held(app) {
        let app = app.taking_mail(InboundSettings { sender_limit: 2, ..inbound_settings() });
        let agent = app.agent().await;
        for n in 0..2 {
            let data = app.deliver(message("busy@example.org", &[("Subject", "Hi")], &format!("Mail {n}"))).await;
            assert_eq!(outcome(&data), "created", "{n}");
        }
        let data = app.deliver(message("busy@example.org", &[("Subject", "Hi")], "Mail 3")).await;
        let record = held(&app, &agent, &data).await;
        assert_eq!(record["reason"], "over the limit of 2 messages an hour from one address");
        assert_eq!(record["text"], "Mail 3");
        let data = app.deliver(message("calm@example.org", &[("Subject", "Hi")], "Mail")).await;
        assert_eq!(outcome(&data), "created");
    }

    /// A customer's reply to their resolved ticket opens a new ticket that
    /// follows it up, trimmed; the resolved one stays as it was.
    async fn a_reply_to_a_resolved_ticket_opens_a_follow_up(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        let resolved = answered_ticket(&app, &customer, &agent).await;
        app.resolve(&customer, resolved).await.expect(StatusCode::OK);
        let before = ticket(&app, &agent, resolved).await;
        let data = app.deliver(message(
            "kayode@example.org",
            &[("Subject", "Re: [#1] The printer is offline"), ("References", &references(resolved))],
            "It is offline again.\n\n> Please hold the reset button for ten seconds.",
        )).await;
        assert_eq!(outcome(&data), "created");
        let follow_up = ticket_id(&data);
        assert_ne!(follow_up, resolved);
        let seen = ticket(&app, &customer, follow_up).await;
        assert_eq!(seen["followUpOf"], resolved);
        assert_eq!(seen["body"], "It is offline again.");
        assert_eq!(seen["subject"], "The printer is offline");
        assert_eq!(seen["author"].as_str(), Some(customer.id.as_str()));
        assert_eq!(seen["status"], "UNATTENDED");
        assert_eq!(ticket(&app, &agent, resolved).await, before);
        // A stranger's mail to the resolved ticket follows up nothing.
        customer_at(&app, "stranger", "stranger@example.org").await;
        let data = app.deliver(message("stranger@example.org", &[("References", &references(resolved))], "Me too.")).await;
        assert_eq!(outcome(&data), "held");
    }

    /// Auto-replies, bounces, bulk mail and our own mail are recorded and
    /// ignored: no ticket, no reply, no account, no mail out.
    async fn machine_mail_and_our_own_are_ignored(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        let id = answered_ticket(&app, &customer, &agent).await;
        let refs = references(id);
        let before = app.data_print().await;
        let reply_to = to_ticket(id);
        let report = "From: MAILER-DAEMON@mx.example.org\r\nTo: support@example.com\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--r--\r\n".to_owned();
        for (raw, reason) in [
            (message("kayode@example.org", &[("Auto-Submitted", "auto-replied"), ("References", &refs)], "Away."), "an automatic reply"),
            (message("kayode@example.org", &[("Auto-Submitted", "auto-generated"), ("References", &refs)], "Away."), "an automatic reply"),
            (message("kayode@example.org", &[("X-Autoreply", "yes"), ("References", &refs)], "Away."), "an automatic reply"),
            (message("kayode@example.org", &[("X-Autorespond", "yes")], "Away."), "an automatic reply"),
            (message("newcomer@example.org", &[("Precedence", "bulk")], "News."), "bulk or list mail"),
            (message("newcomer@example.org", &[("Precedence", "list")], "News."), "bulk or list mail"),
            (message("newcomer@example.org", &[("Return-Path", "<>")], "Failed."), "a delivery failure report"),
            (report, "a delivery failure report"),
            (message(&format!("Support <{MAIL_FROM}>"), &[("References", &refs)], "Hello."), "mail from our own address"),
            (message(SUPPORT, &[("References", &refs)], "Hello."), "mail from our own address"),
            (message(&reply_to, &[("To", &reply_to)], "Hello."), "mail from our own address"),
        ] {
            let data = app.deliver(raw.clone()).await;
            assert_eq!(outcome(&data), "ignored", "{raw}");
            assert!(data.get("heldId").is_none(), "{data}");
            let record = app.inbound_records().await.pop().expect("a record");
            assert_eq!(record.outcome, "ignored");
            assert_eq!(record.reason.as_deref(), Some(reason), "{raw}");
        }
        assert_eq!(before, app.data_print().await, "machine mail changed something");
        // `Auto-Submitted: no` is a person's mail.
        let data = app.deliver(message("kayode@example.org", &[("Auto-Submitted", "no"), ("References", &refs)], "Me.")).await;
        assert_eq!(outcome(&data), "appended");
    }

    /// The same message delivered twice changes nothing the second time,
    /// whatever its body: by its Message-ID, or without one by its bytes.
    async fn the_same_message_twice_is_a_duplicate(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let first = message("ada@example.org", &[("Message-ID", "<same@client.example>"), ("Subject", "Hi")], "One.");
        let data = app.deliver(first.clone()).await;
        assert_eq!(outcome(&data), "created");
        let id = ticket_id(&data);
        let before = app.fingerprint().await;
        let again = app.post_mail(first).await.expect(StatusCode::OK);
        assert_eq!(again.json()["message"], "Already taken");
        assert_eq!(again.data(), json!({"outcome": "duplicate", "ticketId": id}));
        let altered = message("ada@example.org", &[("Message-ID", "<same@client.example>"), ("Subject", "Hi")], "Two.");
        assert_eq!(outcome(&app.deliver(altered).await), "duplicate");
        assert_eq!(before, app.fingerprint().await, "a duplicate changed something, or was recorded");
        let anonymous = message("ada@example.org", &[("Message-ID", ""), ("Subject", "Hi")], "Three.");
        let data = app.deliver(anonymous.clone()).await;
        assert_eq!(outcome(&data), "created");
        let third = ticket_id(&data);
        let data = app.deliver(anonymous.clone()).await;
        assert_eq!(data, json!({"outcome": "duplicate", "ticketId": third}));
        let records = app.inbound_records().await;
        assert_eq!(records.len(), 2, "a duplicate is not recorded again");
        assert!(records[1].message_key.starts_with("sha256:"), "{:?}", records[1].message_key);
        // Other bytes without a Message-ID are another message.
        let other = anonymous.replace("Three.", "Four.");
        assert_eq!(outcome(&app.deliver(other).await), "created");
        assert_eq!(tickets(&app, &agent).await.len(), 3);
    }

    /// The answers that refuse a request, none of which records anything:
    /// no token or a wrong one 401, the endpoint off 404, another media
    /// type 415, over `MAX_EMAIL_BYTES` 413 (declared, and sent without a
    /// length), no usable From 400.
    async fn refused_requests_record_nothing(app) {
        let small = InboundSettings { max_bytes: 4096, ..inbound_settings() };
        let off = TestApp::on(app.db.backend());
        let app = app.taking_mail(small);
        let raw = message("ada@example.org", &[("Subject", "Hi")], "Hello.").into_bytes();
        for token in [None, Some("wrong-token-of-the-same-length-012345"), Some("short")] {
            let answer = app.post_mail_as(token, "message/rfc822", raw.clone()).await.expect(StatusCode::UNAUTHORIZED);
            assert!(answer.text().contains("token"), "{}", answer.text());
        }
        app.post_mail_as(Some(INBOUND_TOKEN), "text/plain", raw.clone()).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        app.post_mail_as(Some(INBOUND_TOKEN), "", raw.clone()).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = message("ada@example.org", &[("Subject", "Hi")], &"x".repeat(5000)).into_bytes();
        app.post_mail(big.clone()).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
        // Streamed without a length: cut off at the limit.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(1000).map(|chunk| Ok(chunk.to_vec())).collect();
        let request = Request::builder()
            .method(Method::POST)
            .uri(ENDPOINT)
            .header(header::CONTENT_TYPE, "message/rfc822")
            .header(header::AUTHORIZATION, format!("Bearer {INBOUND_TOKEN}"))
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .expect("request");
        app.send(request).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
        for unreadable in [
            "Subject: no sender\r\n\r\nHello.\r\n".to_owned(),
            message("not an address", &[], "Hello."),
            message("Undisclosed recipients:;", &[], "Hello."),
        ] {
            let answer = app.post_mail(unreadable.clone()).await.expect(StatusCode::BAD_REQUEST);
            assert!(answer.text().contains("From"), "{unreadable}: {}", answer.text());
        }
        assert!(app.inbound_records().await.is_empty());
        // Without INBOUND_TOKEN, or without inbound mail at all: 404.
        let tokenless = TestApp::on(app.db.backend())
            .map(|other| other.taking_mail(InboundSettings { token: None, ..inbound_settings() }));
        for other in [tokenless, off].into_iter().flatten() {
            other.post_mail(raw.clone()).await.expect(StatusCode::NOT_FOUND);
        }
    }

    /// A body over the API's 20,000 characters is cut to fit, with the
    /// marker; the original keeps it whole.
    async fn a_body_over_the_limit_is_cut_with_the_marker(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let text: String = (0..3000).map(|n| format!("line {n:04}\n")).collect();
        assert!(text.chars().count() > BODY_MAX_CHARS);
        let raw = message("long@example.org", &[("Subject", "Logs")], &text);
        let data = app.deliver(raw.clone()).await;
        let body = ticket(&app, &agent, ticket_id(&data)).await["body"].as_str().expect("body").to_owned();
        assert_eq!(body.chars().count(), BODY_MAX_CHARS);
        assert!(body.ends_with(CUT_MARKER), "{}", &body[body.len() - 100..]);
        let kept = body.strip_suffix(CUT_MARKER).expect("the marker");
        assert!(text.starts_with(kept));
        assert_eq!(app.original(&agent, &format!("tickets/{}", ticket_id(&data))).await, raw.as_bytes());
    }

    /// The same message posted eight times at once makes one change: one
    /// ticket, one record, seven duplicates naming it.
    async fn the_same_message_eight_times_at_once_makes_one_change(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        let answered = answered_ticket(&app, &customer, &agent).await;
        for (raw, first) in [
            (message("newcomer@example.org", &[("Subject", "At once")], "Hello."), "created"),
            (message("kayode@example.org", &[("References", &references(answered))], "Thanks."), "appended"),
        ] {
            let datas = futures_util::future::join_all((0..8).map(|_| app.deliver(raw.clone()))).await;
            let mut outcomes: Vec<&str> = datas.iter().map(outcome).collect();
            outcomes.sort_unstable();
            let mut expected = vec!["duplicate"; 7];
            expected.push(first);
            expected.sort_unstable();
            assert_eq!(outcomes, expected, "{datas:?}");
            let id = ticket_id(&datas[0]);
            assert!(datas.iter().all(|data| ticket_id(data) == id), "{datas:?}");
        }
        assert_eq!(tickets(&app, &agent).await.len(), 2);
        assert_eq!(replies(&app, &agent, answered).await.len(), 2);
        assert_eq!(app.inbound_records().await.len(), 2);
    }

    /// Twenty different messages from one new address at once: one
    /// account, twenty tickets, all its.
    async fn twenty_messages_from_a_new_address_at_once_make_one_account(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let admin = app.admin().await;
        let datas = futures_util::future::join_all((0..20).map(|n| {
            app.deliver(message("crowd@example.org", &[("Subject", &format!("Mail {n}"))], "Hello."))
        }))
        .await;
        assert!(datas.iter().all(|data| outcome(data) == "created"), "{datas:?}");
        let accounts = accounts_at(&app, &admin, "crowd@example.org").await;
        assert_eq!(accounts.len(), 1, "{accounts:?}");
        let all = tickets(&app, &agent).await;
        assert_eq!(all.len(), 20);
        assert!(all.iter().all(|ticket| ticket["author"] == accounts[0]["_id"]));
    }

    /// The round trip with real mail: an agent's public reply mails the
    /// customer; the customer's client answers it (To its Reply-To,
    /// In-Reply-To its Message-ID, References its References and
    /// Message-ID, its text quoted under "On ... wrote:"); the answer lands
    /// on the ticket, trimmed, and the agent is mailed about it. Our own
    /// mail posted back is ignored: no loop.
    async fn a_customer_answers_a_notification_mail_and_no_mail_loops(app) {
        let app = app.taking_mail(inbound_settings());
        let sink = SmtpSink::start().expect("the SMTP sink starts");
        let mut settings = super::mail::quick_settings(&sink);
        settings.from = delivery::mail::parse_sender(&format!("Support <{MAIL_FROM}>")).expect("a sender");
        settings.inbound = Some(inbound_settings().address);
        let worker = Worker::start_mail(app.db.store().clone(), settings, std::sync::Arc::new(test_keys()))
            .expect("the mail worker starts");
        let agent = app.agent().await;
        set_address(&app, &agent, "benjamin@example.com").await;
        let customer = customer_at(&app, "kayode", "kayode@example.org").await;
        let other = app.open_ticket(&customer, "Another matter").await;
        let id = app.open_ticket(&customer, "The printer is offline").await;
        assert_ne!(other, id);
        app.reply(&agent, id, "Please hold the reset button for ten seconds.").await.expect(StatusCode::CREATED);
        let thread = references(id);
        let answered = |mail: &testkit::ReceivedMail| {
            mail.is_to("kayode@example.org")
                && notification_header(mail, "References").contains(&thread)
                && mail.parsed().body_text(0).is_some_and(|text| text.contains("reset button"))
        };
        let mut mails = Vec::new();
        for _ in 0..300 {
            mails = sink.received().into_iter().filter(answered).collect();
            if !mails.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let notification = mails.first().expect("the customer is mailed the agent's reply");
        let parsed = notification.parsed();
        let reply_to = parsed.reply_to().and_then(|to| to.first()).and_then(|to| to.address()).expect("Reply-To").to_owned();
        assert_eq!(reply_to, to_ticket(id));
        let message_id = parsed.message_id().expect("Message-ID").to_owned();
        let their_references = notification_header(notification, "References");
        let quoted: String = parsed.body_text(0).expect("text").lines().map(|line| format!("> {line}\n")).collect();
        let answer = format!(
            "From: Kayode <kayode@example.org>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\nDate: Mon, 7 Dec 2026 10:05:00 +0000\r\nMessage-ID: <answer.1@example.org>\r\nIn-Reply-To: <{message_id}>\r\nReferences: {their_references} <{message_id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHolding it did nothing; it still blinks.\r\n\r\nOn Mon, 7 Dec 2026 at 10:00, Support <{MAIL_FROM}> wrote:\r\n{}",
            parsed.subject().expect("a subject"),
            quoted.replace('\n', "\r\n"),
        );
        let data = app.deliver(answer).await;
        assert_eq!(outcome(&data), "appended");
        assert_eq!(ticket_id(&data), id);
        let last = replies(&app, &agent, id).await.pop().expect("a reply");
        assert_eq!(last["body"], "Holding it did nothing; it still blinks.");
        assert_eq!(last["author"].as_str(), Some(customer.id.as_str()));
        assert!(replies(&app, &agent, other).await.is_empty());
        let mut to_agent = Vec::new();
        for _ in 0..300 {
            to_agent = sink
                .received_by("benjamin@example.com")
                .into_iter()
                .filter(|mail| mail.parsed().body_text(0).is_some_and(|text| text.contains("it still blinks")))
                .collect();
            if !to_agent.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let told = to_agent.first().expect("the agent is mailed the answer");
        assert!(notification_header(told, "References").contains(&thread));

        // Our own mail come back: ignored, nothing mailed again.
        let sent = sink.received().len();
        // A person's reply is mailed as not auto-submitted: what stops the
        // loop is that it is from us.
        assert!(notification.parsed().header_raw("Auto-Submitted").is_none());
        for mail in [notification, told] {
            let data = app.deliver(mail.raw.clone()).await;
            assert_eq!(outcome(&data), "ignored");
        }
        assert_eq!(replies(&app, &agent, id).await.len(), 2);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.received().len(), sent, "a mail went out for our own mail");
        worker.stop(Duration::from_secs(5)).await;
    }
}
