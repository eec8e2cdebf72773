//! Held mail and originals over HTTP: `GET /held` (newest first, by
//! cursor), `GET /held/{id}`, `DELETE /held/{id}` (dismissed, on the
//! ticket's history), `GET /tickets/{ticketId}/original` and
//! `GET /replies/{id}/original` (the bytes as received), for each role:
//! staff see them, a customer never.

use std::sync::Arc;

use edge::inbound::{Inbound, InboundSettings, reply_address};

use super::mail::with_address;
use super::*;

pub(crate) const INBOUND_TOKEN: &str = "the-inbound-token-of-32-bytes-or-more";

pub(crate) fn support() -> domain::EmailAddress {
    domain::EmailAddress::parse("support@example.com").expect("address")
}

/// The app taking inbound mail over HTTP, each address at most
/// `sender_limit` messages an hour.
fn taking_mail(app: TestApp, sender_limit: u32) -> TestApp {
    taking_mail_with(app, 1 << 20, sender_limit).0
}

/// The app taking inbound mail over HTTP, messages up to `max_bytes`,
/// each address at most `sender_limit` an hour; and its inbound mail,
/// for a door of the test's own to share (the IMAP poller).
pub(crate) fn taking_mail_with(
    app: TestApp,
    max_bytes: usize,
    sender_limit: u32,
) -> (TestApp, Arc<Inbound>) {
    let settings = InboundSettings {
        address: support(),
        token: Some(INBOUND_TOKEN.to_owned()),
        max_bytes,
        sender_limit,
        mail_from: None,
        message_id_host: None,
    };
    let state = shared_state(app.db.store().clone(), &LimitSettings::off(), None)
        .with_inbound(Some(settings));
    let inbound = state.inbound.clone().expect("inbound mail is on");
    (app.with_router(api::router(state)), inbound)
}

/// A plain message from `from` to `to`, its subject `About {key}`.
pub(crate) fn message(key: &str, from: &str, to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: About {key}\r\nMessage-ID: <{key}@mail.example.net>\r\n\
         Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// Posts `raw` to the inbound endpoint until it is taken; answers its
/// `data` ([`TestApp::deliver`]).
pub(crate) async fn deliver(app: &TestApp, raw: Vec<u8>) -> Value {
    app.deliver(raw).await
}

/// The reply address of ticket `id`.
pub(crate) fn to_ticket(id: i64) -> String {
    reply_address(&support(), &test_keys(), TicketId(id))
}

/// A ticket `customer` (with an address) opened by mail, and a message
/// of theirs held for it (written before an agent answered).
async fn ticket_with_held(app: &TestApp, customer: &Session) -> (i64, String) {
    let from = "kayode@example.com";
    let opened = deliver(app, message("open", from, "support@example.com", "Help")).await;
    assert_eq!(opened["outcome"], "created");
    let ticket = opened["ticketId"].as_i64().expect("ticketId");
    let read = app
        .get(&format!("/api/v1/tickets/{ticket}"), customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(read["author"], json!(customer.id), "the sender's ticket");
    let held = deliver(app, message("again", from, &to_ticket(ticket), "Any news?")).await;
    assert_eq!(held["outcome"], "held");
    assert_eq!(held["ticketId"], ticket);
    (ticket, held["heldId"].as_str().expect("heldId").to_owned())
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|held| held["_id"].as_str().expect("_id").to_owned())
        .collect()
}

fn dismissals(events: &Value) -> Vec<Value> {
    events
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["type"] == "held_dismissed")
        .cloned()
        .collect()
}

http_tests! {
    /// Staff list and read held mail with its sender, ticket, reason and
    /// text; a customer is refused the list (403) and finds no message
    /// (404), dismissing included.
    async fn staff_see_held_mail_and_a_customer_never(app) {
        let app = taking_mail(app, 30);
        let customer = with_address(&app, "kayode", Role::Customer).await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let (ticket, held) = ticket_with_held(&app, &customer).await;
        let stranger = deliver(
            &app,
            message("stranger", "Eve <eve@example.org>", &to_ticket(ticket), "Let me in"),
        )
        .await;
        assert_eq!(stranger["outcome"], "held");
        let stranger = stranger["heldId"].as_str().expect("heldId").to_owned();

        for staff in [&agent, &admin] {
            let page = app.get("/api/v1/held", staff).await.expect(StatusCode::OK).json();
            assert_eq!(ids(&page), [stranger.clone(), held.clone()], "newest first");
            let one = app
                .get(&format!("/api/v1/held/{held}"), staff)
                .await
                .expect(StatusCode::OK)
                .data();
            assert_eq!(one, page["data"][1]);
            assert_eq!(one["sender"]["address"], "kayode@example.com");
            assert_eq!(one["sender"]["user"]["_id"], json!(customer.id));
            assert_eq!(one["sender"]["user"]["email"], "kayode@example.com", "staff see a customer's address");
            assert_eq!(one["ticketId"], ticket);
            assert_eq!(one["subject"], "About again");
            assert_eq!(one["text"], "Any news?");
            assert!(!one["reason"].as_str().expect("reason").is_empty());
            assert!(one["receivedAt"].is_string());
            assert_eq!(one["dismissedAt"], Value::Null);
            assert_eq!(one["dismissedBy"], Value::Null);
            let eve = &page["data"][0];
            assert_eq!(eve["sender"]["address"], "eve@example.org");
            assert_eq!(eve["sender"]["user"], Value::Null, "no account had the address");
        }

        for someone in [&customer, &other] {
            app.get("/api/v1/held", someone).await.expect(StatusCode::FORBIDDEN);
            for id in [&held, &stranger] {
                app.get(&format!("/api/v1/held/{id}"), someone)
                    .await
                    .expect(StatusCode::NOT_FOUND);
                app.request(Method::DELETE, &format!("/api/v1/held/{id}"), Some(&someone.token), None)
                    .await
                    .expect(StatusCode::NOT_FOUND);
            }
        }
        // Nothing a customer tried dismissed anything.
        let page = app.get("/api/v1/held", &agent).await.expect(StatusCode::OK).json();
        assert_eq!(ids(&page).len(), 2);

        app.get("/api/v1/held/999999", &agent).await.expect(StatusCode::NOT_FOUND);
        app.get("/api/v1/held/abc", &agent).await.expect(StatusCode::BAD_REQUEST);
        app.request(Method::DELETE, "/api/v1/held/999999", Some(&admin.token), None)
            .await
            .expect(StatusCode::NOT_FOUND);
        app.request(Method::GET, "/api/v1/held", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }

    /// A dismissal takes the message off the list, stays on the record
    /// (readable by id), and goes on the ticket's history for staff, not
    /// for the customer; dismissing again changes nothing.
    async fn a_dismissal_is_recorded_in_the_history(app) {
        let app = taking_mail(app, 30);
        let customer = with_address(&app, "kayode", Role::Customer).await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let (ticket, held) = ticket_with_held(&app, &customer).await;

        let dismissed = app
            .request(Method::DELETE, &format!("/api/v1/held/{held}"), Some(&agent.token), None)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(dismissed["_id"], json!(held));
        assert_eq!(dismissed["dismissedBy"], json!(agent.id));
        assert!(dismissed["dismissedAt"].is_string());
        let page = app.get("/api/v1/held", &admin).await.expect(StatusCode::OK).json();
        assert!(ids(&page).is_empty(), "off the list");
        let read = app
            .get(&format!("/api/v1/held/{held}"), &admin)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(read, dismissed, "still readable, with its dismissal");

        let history = |who: Session| {
            let app = &app;
            async move {
                app.get(&format!("/api/v1/tickets/{ticket}/events?limit=100"), &who)
                    .await
                    .expect(StatusCode::OK)
                    .data()
            }
        };
        let events = dismissals(&history(agent.clone()).await);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["data"], json!({"heldId": held}));
        assert_eq!(events[0]["actor"], json!(agent.id));
        assert_eq!(events[0]["at"], dismissed["dismissedAt"]);
        assert!(dismissals(&history(customer.clone()).await).is_empty(), "staff business");

        let again = app
            .request(Method::DELETE, &format!("/api/v1/held/{held}"), Some(&admin.token), None)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(again, dismissed, "the first dismissal stands");
        assert_eq!(dismissals(&history(admin.clone()).await).len(), 1);
    }

    /// `GET /held` pages newest first by cursor, each message once, and
    /// counts when asked.
    async fn held_mail_pages_by_cursor(app) {
        // Every message over the limit: every one held.
        let app = taking_mail(app, 0);
        let agent = app.agent().await;
        let mut made = Vec::new();
        for n in 0..7 {
            let taken = deliver(
                &app,
                message(&format!("flood{n}"), "flood@example.net", "support@example.com", "Buy"),
            )
            .await;
            assert_eq!(taken["outcome"], "held");
            assert_eq!(taken.get("ticketId"), None);
            made.push(taken["heldId"].as_str().expect("heldId").to_owned());
        }
        made.reverse();
        let first = app
            .get("/api/v1/held?limit=3&count=true", &agent)
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(first["meta"]["total"], 7);
        let mut seen = ids(&first);
        let mut cursor = first["meta"]["nextCursor"].as_str().map(str::to_owned);
        while let Some(next) = cursor {
            let page = app
                .get(&format!("/api/v1/held?limit=3&cursor={next}"), &agent)
                .await
                .expect(StatusCode::OK)
                .json();
            seen.extend(ids(&page));
            cursor = page["meta"]["nextCursor"].as_str().map(str::to_owned);
            assert!(seen.len() <= 7, "the walk ends");
        }
        assert_eq!(seen, made);
        // A cursor is the caller's own.
        let admin = app.admin().await;
        let cursor = first["meta"]["nextCursor"].as_str().expect("a cursor");
        app.get(&format!("/api/v1/held?limit=3&cursor={cursor}"), &admin)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }

    /// The original of a ticket or reply that came by mail is the message
    /// byte for byte, for staff; 404 for a customer, and for a ticket or
    /// reply that did not come by mail.
    async fn originals_are_the_mail_as_received(app) {
        let app = taking_mail(app, 30);
        let customer = with_address(&app, "kayode", Role::Customer).await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let opening = message("open", "kayode@example.com", "support@example.com", "Caf\u{e9} is on fire");
        let opened = deliver(&app, opening.clone()).await;
        let ticket = opened["ticketId"].as_i64().expect("ticketId");
        let answer = app.reply(&agent, ticket, "Try water").await.expect(StatusCode::CREATED).data();
        let answer = answer["_id"].as_str().expect("_id").to_owned();
        let replying = message("reply", "kayode@example.com", &to_ticket(ticket), "Still burning\r\n\r\n> Try water");
        assert_eq!(deliver(&app, replying.clone()).await["outcome"], "appended");
        let replies = app
            .get(&format!("/api/v1/tickets/{ticket}/replies"), &agent)
            .await
            .expect(StatusCode::OK)
            .data();
        let by_mail = replies
            .as_array()
            .expect("replies")
            .iter()
            .find(|reply| reply["body"] == "Still burning")
            .expect("the reply by mail, its quote trimmed")["_id"]
            .as_str()
            .expect("_id")
            .to_owned();
        let on_the_web = app.open_ticket(&customer, "Opened on the web").await;

        let raw = |path: String, who: &Session| {
            let app = &app;
            let token = who.token.clone();
            async move { app.request(Method::GET, &path, Some(&token), None).await }
        };
        for staff in [&agent, &admin] {
            for (path, bytes) in [
                (format!("/api/v1/tickets/{ticket}/original"), &opening),
                (format!("/api/v1/replies/{by_mail}/original"), &replying),
            ] {
                let got = raw(path, staff).await;
                assert_eq!(got.status, StatusCode::OK);
                assert_eq!(got.headers[header::CONTENT_TYPE], "message/rfc822");
                assert_eq!(&got.body, bytes, "byte for byte");
            }
            for path in [
                format!("/api/v1/replies/{answer}/original"),
                format!("/api/v1/tickets/{on_the_web}/original"),
                "/api/v1/tickets/999999/original".to_owned(),
                "/api/v1/replies/999999/original".to_owned(),
            ] {
                raw(path, staff).await.expect(StatusCode::NOT_FOUND);
            }
        }
        for path in [
            format!("/api/v1/tickets/{ticket}/original"),
            format!("/api/v1/replies/{by_mail}/original"),
        ] {
            raw(path, &customer).await.expect(StatusCode::NOT_FOUND);
        }
        raw("/api/v1/replies/x/original".to_owned(), &agent)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
}
