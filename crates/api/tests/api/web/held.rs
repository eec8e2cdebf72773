//! Held mail in the browser: the staff's list and message pages, the
//! Dismiss form (with and without its token), the originals as
//! downloads, and what inbound mail leaves on a ticket's page (its held
//! mail for staff, the follow-up lines for both audiences). The mail
//! comes in as a mail server hands it over: raw messages posted to
//! `POST /api/v1/inbound/email`.

use domain::EmailAddress;
use edge::inbound::{DEFAULT_MAX_EMAIL_BYTES, InboundSettings, reply_address};

use super::*;

/// The support address the tests' mail is sent to.
const SUPPORT: &str = "support@example.com";
/// What the tests' mail server proves itself with.
const INBOUND_TOKEN: &str = "inbound-token-of-the-tests-32-bytes-long";

/// The same database behind a server that takes inbound mail over HTTP.
fn taking_mail(app: TestApp) -> TestApp {
    let settings = InboundSettings {
        address: EmailAddress::parse(SUPPORT).expect("an address"),
        token: Some(INBOUND_TOKEN.to_owned()),
        max_bytes: DEFAULT_MAX_EMAIL_BYTES,
        sender_limit: 100,
        mail_from: None,
        message_id_host: None,
    };
    let state =
        shared_state(app.db.store().clone(), &Budgets::off(), None).with_inbound(Some(settings));
    app.with_router(api::router(state))
}

/// A plain-text message as a mail client writes it.
fn message(from: &str, to: &str, subject: &str, body: &str) -> String {
    // Unique per message, so no two are one message delivered twice.
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <held-page-test-{n}-{}@client.example>\r\n\
         Date: Tue, 08 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        std::process::id()
    )
}

/// Hands `raw` over as the mail server does; the outcome's `data`.
async fn deliver(app: &TestApp, raw: &str) -> Value {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/inbound/email")
        .header(header::CONTENT_TYPE, "message/rfc822")
        .header(header::AUTHORIZATION, format!("Bearer {INBOUND_TOKEN}"))
        .body(Body::from(raw.to_owned()))
        .expect("request");
    app.send(request).await.expect(StatusCode::OK).data()
}

/// Delivers `raw`, which must be held; the held message's id.
async fn held(app: &TestApp, raw: &str) -> i64 {
    let taken = deliver(app, raw).await;
    assert_eq!(taken["outcome"], "held", "{taken}");
    taken["heldId"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a heldId: {taken}"))
}

/// Gives `session`'s account an address, so its mail is known as its own.
async fn give_address(app: &TestApp, session: &Session, address: &str) {
    app.patch("/api/v1/users/me", session, json!({"email": address}))
        .await
        .expect(StatusCode::OK);
}

/// Ticket `id`'s reply address, as its mail's `Reply-To` says.
fn reply_to(id: i64) -> String {
    let support = EmailAddress::parse(SUPPORT).expect("an address");
    reply_address(&support, &test_keys(), TicketId(id))
}

/// The ids of the held messages a page lists, in order.
fn held_rows(page: &WebPage) -> Vec<i64> {
    page.row_ids("held")
}

/// The `href` of the link whose tag holds `marker`.
fn link(page: &WebPage, marker: &str) -> String {
    attribute_of(&page.html, marker, "href")
        .unwrap_or_else(|| panic!("no link with {marker:?} in: {}", page.html))
}

http_tests! {
    async fn staff_read_held_mail_newest_first_and_customers_are_kept_out(app) {
        let app = taking_mail(app);
        let (kayode, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (_, admin) = user(&app, "iambenkay", Role::Admin).await;
        give_address(&app, &kayode, "kayode@example.com").await;
        let ticket = open_ticket(&mut customer, "Card declined", "It says declined.").await;

        // The customer writes again before an agent answered: held, with
        // the rule's refusal as its reason. A stranger writes to the
        // ticket's reply address: held too.
        let early = held(
            &app,
            &message(
                "Kayode <kayode@example.com>",
                SUPPORT,
                &format!("Re: [#{ticket}] Card declined <b>now</b>"),
                "Any news? <script>alert(1)</script>",
            ),
        )
        .await;
        let stranger = held(
            &app,
            &message("mallory@example.net", &reply_to(ticket), "Hello", "Let me in."),
        )
        .await;

        for staff in [&agent, &admin] {
            let list = staff.get("/held").await.expect(StatusCode::OK);
            assert_eq!(held_rows(&list), [stranger, early], "newest first");
            assert!(list.has(r#"href="/held" id="held-mail""#), "the navigation offers it");
            // The first row: its sender (an address without an account),
            // no link but the ticket's and its own.
            assert!(list.has("from mallory@example.net</span>"), "{}", list.html);
            assert!(list.has(&format!(r#"href="/held/{stranger}""#)));
            assert!(list.has(&format!(r#"href="/tickets/{ticket}" class="held-ticket""#)));
            assert!(list.has("Held: The sender is neither the ticket&#39;s customer nor staff."));
            // The second: the account it belongs to, the reason, the
            // subject escaped.
            assert!(list.has("from kayode@example.com (kayode)"), "{}", list.html);
            assert!(list.has("Held: A customer can reply only after a support agent has replied."));
            assert!(list.has("Card declined &#60;b&#62;now&#60;/b&#62;"), "{}", list.html);
            assert!(!list.has("<b>now</b>"));
        }

        // A customer: no link in the navigation, and the pages refused as
        // every staff page refuses them, the message not even there.
        assert!(!customer.get("/tickets").await.has(r#"href="/held""#));
        let refused = customer.get("/held").await;
        refused.shows(StatusCode::FORBIDDEN, "Not allowed");
        assert!(!refused.has("mallory"));
        for path in [
            format!("/held/{early}"),
            format!("/held/{early}/original"),
            "/held/999999".to_owned(),
        ] {
            let page = customer.get(&path).await;
            page.shows(StatusCode::NOT_FOUND, "Not found");
            assert!(!page.has("Any news"), "{path}: {}", page.html);
        }
        agent.get("/held/999999").await.shows(StatusCode::NOT_FOUND, "Not found");
        agent.get("/held/x1").await.shows(StatusCode::NOT_FOUND, "Not found");
        // Signed out: sign in, then back to the page.
        Browser::signed_out(&app)
            .get(&format!("/held/{early}"))
            .await
            .redirects_to(&format!("/login?next=/held/{early}"));
    }

    async fn held_mail_is_paged_like_the_queue(app) {
        let app = taking_mail(app);
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let ticket = open_ticket(&mut customer, "Paging", "Many strangers write.").await;
        let mut ids = Vec::new();
        for n in 0..27 {
            let from = format!("stranger{n}@example.net");
            ids.push(held(&app, &message(&from, &reply_to(ticket), "Hi", "Hello.")).await);
        }
        ids.reverse();
        let first = agent.get("/held").await.expect(StatusCode::OK);
        assert_eq!(held_rows(&first), ids[..25]);
        assert!(!first.has(r#"rel="first""#));
        let next = link(&first, r#"id="next-page""#);
        assert!(next.starts_with("/held?cursor="), "{next}");
        let second = agent.get(&next).await.expect(StatusCode::OK);
        assert_eq!(held_rows(&second), ids[25..]);
        assert_eq!(link(&second, r#"rel="first""#), "/held");
        assert!(!second.has(r#"id="next-page""#));
        // A cursor that is not one of ours is a bad request, shown as a page.
        agent
            .get("/held?cursor=forged")
            .await
            .shows(StatusCode::BAD_REQUEST, "cursor");
    }

    async fn a_held_message_is_read_downloaded_and_dismissed_with_its_token(app) {
        let app = taking_mail(app);
        let (kayode, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        give_address(&app, &kayode, "kayode@example.com").await;
        let ticket = open_ticket(&mut customer, "Card declined", "It says declined.").await;
        let raw = message(
            "kayode@example.com",
            &reply_to(ticket),
            "Re: Card declined",
            "Any news?\r\n<script>alert(1)</script> & more",
        );
        let id = held(&app, &raw).await;

        // The message: sender, ticket, reason, subject, the text escaped.
        let page = agent.get(&format!("/held/{id}")).await.expect(StatusCode::OK);
        assert!(page.has(r#"<span class="badge badge-waiting" id="held-state">Held</span>"#));
        assert!(page.has("kayode@example.com <small>(account kayode)</small>"), "{}", page.html);
        assert!(page.has(&format!(r##"<a href="/tickets/{ticket}">#{ticket}</a>"##)));
        assert!(page.has("A customer can reply only after a support agent has replied."));
        assert!(page.has("<h1>Re: Card declined</h1>"), "{}", page.html);
        assert!(page.has("&#60;script&#62;alert(1)&#60;/script&#62; &#38; more"), "{}", page.html);
        assert!(!page.has("<script>"));

        // The original, byte for byte, as a download for a mail program.
        assert_eq!(link(&page, r#"id="original""#), format!("/held/{id}/original"));
        let original = agent.get(&format!("/held/{id}/original")).await.expect(StatusCode::OK);
        assert_eq!(original.header("content-type"), "message/rfc822");
        assert_eq!(
            original.header("content-disposition"),
            format!("attachment; filename=\"held-{id}.eml\"")
        );
        assert_eq!(original.header("x-content-type-options"), "nosniff");
        assert_eq!(original.html, raw);

        // The ticket's page lists it for staff, not for its customer.
        let path = format!("/tickets/{ticket}");
        let staff_view = agent.get(&path).await.expect(StatusCode::OK);
        assert!(staff_view.has(r#"id="held""#), "{}", staff_view.html);
        assert!(staff_view.has(&format!(
            r#"<li id="held-{id}"><a href="/held/{id}">A customer can reply only after a support agent has replied.</a>"#
        )), "{}", staff_view.html);
        let customer_view = customer.get(&path).await.expect(StatusCode::OK);
        assert!(!customer_view.has(r#"id="held""#));
        assert!(!customer_view.has("/held/"), "{}", customer_view.html);

        // The form: from another site, or without its token, changes
        // nothing; a customer's own token opens nothing.
        let dismiss = format!("/held/{id}/dismiss");
        let form = page.csrf().expect("the form's token");
        agent
            .post(&dismiss, &[], SAME_ORIGIN)
            .await
            .shows(StatusCode::FORBIDDEN, CROSS_SITE);
        agent
            .post(&dismiss, &with_token(&[], &form), &[("sec-fetch-site", "cross-site")])
            .await
            .shows(StatusCode::FORBIDDEN, CROSS_SITE);
        agent
            .post(&dismiss, &with_token(&[], "forged"), SAME_ORIGIN)
            .await
            .shows(StatusCode::FORBIDDEN, CROSS_SITE);
        customer
            .submit(&dismiss, &[])
            .await
            .shows(StatusCode::NOT_FOUND, "Not found");
        let still = agent.get("/held").await;
        assert_eq!(held_rows(&still), [id]);

        // With it: back to the list, which says so and no longer has it.
        agent.submit(&dismiss, &[]).await.redirects_to("/held?done=dismissed");
        let list = agent.get("/held?done=dismissed").await.expect(StatusCode::OK);
        assert!(list.has("Held message dismissed"), "{}", list.html);
        assert!(held_rows(&list).is_empty());
        assert!(list.has(r#"id="empty""#));
        // Still readable by its link, with who dismissed it, and no form.
        let dismissed = agent.get(&format!("/held/{id}")).await.expect(StatusCode::OK);
        assert!(dismissed.has(r#"id="held-state">Dismissed</span>"#));
        assert!(dismissed.has("Dismissed by benjamin on"), "{}", dismissed.html);
        assert!(!dismissed.has(r#"id="dismiss""#));
        // Off the ticket's page, onto its history (for staff).
        let staff_view = agent.get(&path).await.expect(StatusCode::OK);
        assert!(!staff_view.has(r#"id="held""#));
        assert!(staff_view.has(&format!("dismissed held message {id}")), "{}", staff_view.html);
        let customer_view = customer.get(&path).await.expect(StatusCode::OK);
        assert!(!customer_view.has("held message"), "{}", customer_view.html);
    }

    async fn two_dismissals_at_once_are_one(app) {
        let app = taking_mail(app);
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (_, mut other) = user(&app, "amaka", Role::SupportAgent).await;
        let ticket = open_ticket(&mut customer, "Race", "Two agents at once.").await;
        let id = held(&app, &message("mallory@example.net", &reply_to(ticket), "Hi", "Hi.")).await;
        let dismiss = format!("/held/{id}/dismiss");
        let (first, second) = tokio::join!(agent.submit(&dismiss, &[]), other.submit(&dismiss, &[]));
        first.redirects_to("/held?done=dismissed");
        second.redirects_to("/held?done=dismissed");
        let history = agent.get(&format!("/tickets/{ticket}")).await.expect(StatusCode::OK);
        assert_eq!(
            history.html.matches(&format!("dismissed held message {id}")).count(),
            1,
            "{}",
            history.html
        );
    }

    async fn follow_ups_and_replies_by_mail_show_on_the_tickets(app) {
        let app = taking_mail(app);
        let (kayode, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (benjamin, agent) = user(&app, "benjamin", Role::SupportAgent).await;
        give_address(&app, &kayode, "kayode@example.com").await;

        // A reply by mail: staff can download what it came from; the
        // customer sees the reply, not the link.
        let answered = open_ticket(&mut customer, "Export", "PDF export is empty.").await;
        app.reply(&benjamin, answered, "Which browser?").await.expect(StatusCode::CREATED);
        let raw = message(
            "kayode@example.com",
            &reply_to(answered),
            "Re: Export",
            "Firefox 133.",
        );
        let taken = deliver(&app, &raw).await;
        assert_eq!(taken["outcome"], "appended", "{taken}");
        let path = format!("/tickets/{answered}");
        let staff_view = agent.get(&path).await.expect(StatusCode::OK);
        let original = link(&staff_view, r#"class="original""#);
        assert!(
            original.starts_with(&format!("/tickets/{answered}/replies/")) && original.ends_with("/original"),
            "{original}"
        );
        assert_eq!(staff_view.html.matches(r#"class="original""#).count(), 1, "only the reply by mail");
        let download = agent.get(&original).await.expect(StatusCode::OK);
        assert_eq!(download.header("content-type"), "message/rfc822");
        assert_eq!(download.html, raw);
        let customer_view = customer.get(&path).await.expect(StatusCode::OK);
        assert!(customer_view.has("Firefox 133."));
        assert!(!customer_view.has("/original"), "{}", customer_view.html);
        customer.get(&original).await.shows(StatusCode::NOT_FOUND, "Not found");
        // The reply under another ticket's number, or a reply typed in the
        // browser: not found.
        let other = open_ticket(&mut customer, "Other", "Another one.").await;
        let reply = original
            .trim_end_matches("/original")
            .rsplit('/')
            .next()
            .expect("the reply's id")
            .to_owned();
        agent
            .get(&format!("/tickets/{other}/replies/{reply}/original"))
            .await
            .shows(StatusCode::NOT_FOUND, "Not found");
        // The first reply in the thread is the agent's, typed.
        let typed: String = staff_view
            .html
            .split(r#"id="reply-"#)
            .nth(1)
            .expect("the agent's reply")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_ne!(typed, reply);
        agent
            .get(&format!("/tickets/{answered}/replies/{typed}/original"))
            .await
            .shows(StatusCode::NOT_FOUND, "Not found");

        // The customer resolves it, then writes again: a follow-up.
        app.resolve(&kayode, answered).await.expect(StatusCode::OK);
        let taken = deliver(
            &app,
            &message("kayode@example.com", &reply_to(answered), "Re: Export", "It is back."),
        )
        .await;
        assert_eq!(taken["outcome"], "created", "{taken}");
        let follow_up = taken["ticketId"].as_i64().expect("the follow-up");
        for browser in [&customer, &agent] {
            let page = browser.get(&format!("/tickets/{follow_up}")).await.expect(StatusCode::OK);
            assert!(
                page.has(&format!(r##"Follow-up of <a href="/tickets/{answered}">#{answered}</a>"##)),
                "{}",
                page.html
            );
            let page = browser.get(&path).await.expect(StatusCode::OK);
            assert!(
                page.has(&format!(r##"Followed up in <a href="/tickets/{follow_up}">#{follow_up}</a>"##)),
                "{}",
                page.html
            );
            let plain = browser.get(&format!("/tickets/{other}")).await.expect(StatusCode::OK);
            assert!(!plain.has("Follow-up of") && !plain.has("Followed up in"));
        }
    }
}
