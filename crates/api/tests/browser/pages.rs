//! Every main page at a phone's width (375 px) and a desktop's (1280 px):
//! nothing scrolls sideways on the phone. With `SCREENSHOTS_DIR` set, each
//! page is saved there at both widths (`cargo xtask screenshots`).

use serde_json::json;

use crate::harness::{Browser, DESKTOP, Driver, PHONE, Server, ticket_id};
use crate::story::user_id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_at_phone_and_desktop_width_and_no_sideways_scroll() {
    let Some(driver) = Driver::start("pages").await else {
        return;
    };
    let server = Server::start().await;
    let agent_id = server.create_user("benjamin", "SUPPORT_AGENT");
    server.create_user("amaka", "SUPPORT_AGENT");
    server.create_user("iambenkay", "ADMIN");
    background_tickets(&server).await;
    let mut pages = Pages::default();

    // Signed out.
    let browser = driver.browser(&server, DESKTOP).await;
    browser.goto("/login").await;
    pages.check(&browser, "login", "form#login").await;
    browser.goto("/signup").await;
    pages.check(&browser, "signup", "form#signup").await;

    // A customer with a ticket still waiting and one an agent answers.
    browser.sign_up("kayode").await;
    browser.goto("/tickets").await;
    pages.check(&browser, "customer-no-tickets", "#empty").await;
    browser.goto("/tickets/new").await;
    pages
        .check(&browser, "new-ticket", "form#new-ticket-form")
        .await;
    let waiting = open_ticket(
        &browser,
        "Invoices will not export as PDF",
        "Every invoice export since Monday gives an empty PDF file. \
         I tried Firefox and Chrome, same result.",
    )
    .await;
    let answered = open_ticket(
        &browser,
        "Payment failed twice",
        "My card was charged twice for the March invoice (order 88231). \
         Please refund one of the charges.",
    )
    .await;

    // The agent triages and answers the second one.
    browser.sign_out().await;
    browser.sign_in("benjamin").await;
    browser.goto(&format!("/tickets/{answered}")).await;
    browser
        .find("form#triage #t-priority")
        .await
        .select_by_value("HIGH")
        .await
        .expect("priority HIGH");
    browser
        .find("form#triage #t-assignee")
        .await
        .select_by_value(&agent_id.to_string())
        .await
        .expect("assigned to benjamin");
    browser.fill("form#triage #t-tags", "billing refund").await;
    browser.submit("form#triage").await;
    browser.wait_for_text("#history", "to HIGH").await;
    browser
        .fill(
            "form#note #note-body",
            "Charged twice: refund the second charge in the payment console (order 88231).",
        )
        .await;
    browser.submit("form#note").await;
    browser
        .wait_for_text("section#thread article.message.note", "payment console")
        .await;
    browser
        .fill(
            "form#reply #reply-body",
            "Sorry about that! We have refunded the second charge; it shows on your \
             statement within 3-5 working days.",
        )
        .await;
    browser.submit("form#reply").await;
    browser.wait_for_text("#status", "Answered").await;
    pages
        .check(&browser, "agent-ticket", "section#thread")
        .await;
    browser.goto("/tickets").await;
    pages.check(&browser, "agent-queue", "ul#tickets").await;
    browser.goto("/tickets?assignee=me").await;
    pages.check(&browser, "agent-queue-mine", "#filters").await;

    // The customer's view of both.
    browser.sign_out().await;
    browser.sign_in("kayode").await;
    browser.goto("/tickets").await;
    pages
        .check(&browser, "customer-tickets", "ul#tickets")
        .await;
    browser.goto(&format!("/tickets/{waiting}")).await;
    browser.find("p#reply-disabled").await;
    pages
        .check(&browser, "customer-ticket", "section#thread")
        .await;
    browser.goto(&format!("/tickets/{answered}")).await;
    browser.find("form#resolve").await;
    pages
        .check(&browser, "customer-ticket-answered", "section#thread")
        .await;
    browser.goto("/tickets/99999").await;
    pages.check(&browser, "not-found", "main").await;
    browser.goto("/tickets").await;

    // The admin's users.
    browser.sign_out().await;
    browser.sign_in("iambenkay").await;
    browser.goto("/admin/users").await;
    user_id_of(&browser, "kayode").await;
    pages.check(&browser, "admin-users", "ul#users").await;

    browser.close().await;
    pages.assert_none_too_wide();
}

/// What was found wrong on the way: every page is checked before failing.
#[derive(Debug, Default)]
pub struct Pages {
    too_wide: Vec<String>,
}

impl Pages {
    /// Fails, naming them, if any page checked scrolled sideways.
    pub fn assert_none_too_wide(&self) {
        assert!(
            self.too_wide.is_empty(),
            "pages that scroll sideways at {} px:\n{}",
            PHONE.width,
            self.too_wide.join("\n")
        );
    }

    /// Waits for `ready` on the page, then at each width: a screenshot, and
    /// on the phone, whether it scrolls sideways.
    pub async fn check(&mut self, browser: &Browser, name: &str, ready: &str) {
        browser.find(ready).await;
        let path = browser.path().await;
        for size in [DESKTOP, PHONE] {
            browser.resize(size).await;
            let inner = browser
                .js("return window.innerWidth")
                .await
                .as_u64()
                .expect("innerWidth");
            assert!(
                inner.abs_diff(u64::from(size.width)) <= 20,
                "asked for a {} px wide window, got {inner} px",
                size.width
            );
            if size == PHONE
                && let Some(overflow) = browser.sideways_overflow().await
            {
                self.too_wide.push(format!("{name} ({path}): {overflow}"));
            }
            browser.screenshot(size, name).await;
        }
        browser.resize(DESKTOP).await;
    }
}

/// Opens a ticket through the form; its id.
async fn open_ticket(browser: &Browser, subject: &str, body: &str) -> u64 {
    browser.goto("/tickets/new").await;
    browser.fill("form#new-ticket-form #subject", subject).await;
    browser.fill("form#new-ticket-form #body", body).await;
    browser.submit("form#new-ticket-form").await;
    let path = browser
        .wait_for_path("the new ticket's page", |path| ticket_id(path).is_some())
        .await;
    ticket_id(&path).expect("a ticket id")
}

/// Other customers' tickets, through the JSON API, so the queue and the
/// users page look like a working day: one waiting, one answered, one
/// resolved.
async fn background_tickets(server: &Server) {
    let agent = server.api_token("benjamin").await;
    let ada = server.api_customer("ada").await;
    let tunde = server.api_customer("tunde").await;
    let ticket = async |token: &str, subject: &str, body: &str| -> u64 {
        let created = server
            .api(
                "POST",
                "/api/v1/tickets",
                token,
                &json!({"subject": subject, "body": body}),
                201,
            )
            .await;
        created["data"]["ticketId"].as_u64().expect("a ticketId")
    };
    ticket(
        &ada,
        "Two-factor codes arrive late",
        "The SMS code takes ten minutes to arrive, by then it has expired.",
    )
    .await;
    let answered = ticket(
        &tunde,
        "How do I add a second user to my plan?",
        "We hired someone and they need access to the dashboard.",
    )
    .await;
    server
        .api(
            "POST",
            &format!("/api/v1/tickets/{answered}/replies"),
            &agent,
            &json!({"body": "Open Settings, then Team, then Invite: they get an e-mail."}),
            201,
        )
        .await;
    let resolved = ticket(
        &ada,
        "Password reset e-mail never arrives",
        "I asked for a reset three times today.",
    )
    .await;
    server
        .api(
            "POST",
            &format!("/api/v1/tickets/{resolved}/replies"),
            &agent,
            &json!({"body": "It was caught by our mail filter; please try again now."}),
            201,
        )
        .await;
    server
        .api(
            "PUT",
            &format!("/api/v1/tickets/{resolved}"),
            &ada,
            &json!({"status": "RESOLVED"}),
            200,
        )
        .await;
}
