//! web.md's proof, in two (then three) browsers: a customer signs up and
//! opens a ticket, an agent answers it with a note and a reply, the
//! customer sees the reply but never the note, replies and resolves, the
//! agent downloads the report, an admin deactivates the customer and the
//! customer's session ends.

use crate::harness::{DESKTOP, Driver, Server, ticket_id};

const SUBJECT: &str = "Cannot log in to the vendor console";
const BODY: &str = "Since this morning the console says my PIN is wrong.";
const NOTE: &str = "Staff only: the vendor rotated keys at 09:00, check the SSO config";
const REPLY: &str = "Could you try logging in again? We reset the vendor link.";
const CUSTOMER_REPLY: &str = "That worked, thank you!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_from_sign_up_to_report_and_deactivation() {
    let Some(driver) = Driver::start("story").await else {
        return;
    };
    let server = Server::start().await;
    server.create_user("benjamin", "SUPPORT_AGENT");
    server.create_user("iambenkay", "ADMIN");

    // A customer signs up and opens a ticket.
    let customer = driver.browser(&server, DESKTOP).await;
    customer.sign_up("kayode").await;
    customer.goto("/tickets").await;
    customer.find("#empty").await;
    customer.click("a#new-ticket").await;
    customer
        .wait_for_path("/tickets/new", |path| path == "/tickets/new")
        .await;
    customer
        .fill("form#new-ticket-form #subject", SUBJECT)
        .await;
    customer.fill("form#new-ticket-form #body", BODY).await;
    customer.submit("form#new-ticket-form").await;
    let path = customer
        .wait_for_path("the new ticket's page", |path| ticket_id(path).is_some())
        .await;
    let id = ticket_id(&path).expect("a ticket id");
    customer.wait_for_text("h1", SUBJECT).await;
    customer.wait_for_text("section#thread", BODY).await;
    assert_eq!(customer.text("#status").await, "Waiting for an agent");

    // Until an agent replies, the customer's reply box is disabled, saying why.
    let reply_box = customer.find("form#reply textarea#reply-body").await;
    assert!(
        !reply_box.is_enabled().await.expect("enabled?"),
        "the reply box is disabled before an agent replied"
    );
    let reason = customer.text("p#reply-disabled").await;
    assert!(reason.len() > "You cannot reply now: .".len(), "{reason:?}");
    assert!(customer.all("form#note").await.is_empty(), "no note box");

    // An agent, in a second browser, finds it in the queue and answers.
    let agent = driver.browser(&server, DESKTOP).await;
    agent.sign_in("benjamin").await;
    agent.goto("/tickets").await;
    let link = format!("li.ticket#ticket-{id} a.ticket-link");
    agent.wait_for_text(&link, SUBJECT).await;
    agent.click(&link).await;
    agent
        .wait_for_path("the ticket's page", |path| ticket_id(path) == Some(id))
        .await;
    agent.fill("form#note #note-body", NOTE).await;
    agent.submit("form#note").await;
    agent
        .wait_for_text("section#thread article.message.note", NOTE)
        .await;
    agent.fill("form#reply #reply-body", REPLY).await;
    agent.submit("form#reply").await;
    agent.wait_for_text("section#thread", REPLY).await;
    assert_eq!(agent.text("#status").await, "Answered");
    let public: Vec<String> = texts(&agent, "section#thread article.message:not(.note)").await;
    assert!(
        public.iter().any(|text| text.contains(REPLY)),
        "the reply is a public message: {public:?}"
    );
    let notes = texts(&agent, "section#thread article.message.note").await;
    assert!(
        notes.iter().all(|text| !text.contains(REPLY)) && notes.len() == 1,
        "only the note is marked internal: {notes:?}"
    );
    let history = agent.text("#history").await;
    assert!(!history.is_empty(), "the history shows what happened");

    // The customer reloads: the reply is there, the note nowhere.
    customer.refresh().await;
    customer.wait_for_text("section#thread", REPLY).await;
    let page = customer.source().await;
    assert!(!page.contains(NOTE), "the customer's page shows the note");
    assert!(
        !page.contains("vendor rotated keys"),
        "the customer's page shows part of the note"
    );
    assert!(customer.all("article.message.note").await.is_empty());
    assert_eq!(customer.text("#status").await, "Answered");

    // The customer replies and marks it resolved.
    customer
        .fill("form#reply textarea#reply-body", CUSTOMER_REPLY)
        .await;
    customer.submit("form#reply").await;
    customer
        .wait_for_text("section#thread", CUSTOMER_REPLY)
        .await;
    customer.submit("form#resolve").await;
    customer.wait_for_text("#status", "Resolved").await;
    assert_eq!(customer.text("#status").await, "Resolved");
    assert!(
        customer.all("form#resolve").await.is_empty(),
        "a resolved ticket offers no Mark resolved"
    );

    // The agent downloads the report: the link, fetched with its session.
    agent.refresh().await;
    agent.wait_for_text("#status", "Resolved").await;
    let href = agent
        .find("a#report")
        .await
        .attr("href")
        .await
        .expect("the report link's href")
        .expect("an href");
    assert!(href.ends_with("/report.csv"), "{href}");
    let report = agent.fetch("/report.csv").await;
    assert_eq!(report.status, 200, "{}\n{}", report.head, report.body);
    assert!(
        report.head.contains("content-type: text/csv"),
        "{}",
        report.head
    );
    let mut lines = report.body.lines();
    assert_eq!(
        lines.next(),
        Some("ticketId,subject,body,status,resolvedAt,createdAt")
    );
    let row = lines
        .find(|line| line.starts_with(&format!("{id},")))
        .unwrap_or_else(|| panic!("no row for ticket {id} in the report:\n{}", report.body));
    assert!(row.contains(SUBJECT) && row.contains("RESOLVED"), "{row}");
    // The customer's session cannot have it.
    let refused = customer.fetch("/report.csv").await;
    assert_ne!(refused.status, 200, "a customer downloaded the report");

    // An admin (in the agent's browser, after signing out) deactivates the
    // customer.
    agent.sign_out().await;
    agent.sign_in("iambenkay").await;
    agent.goto("/admin/users").await;
    let user_id = user_id_of(&agent, "kayode").await;
    agent.click(&format!("button#deactivate-{user_id}")).await;
    agent.find(&format!("button#reactivate-{user_id}")).await;
    let row_class = agent
        .find(&format!("li#user-{user_id}"))
        .await
        .attr("class")
        .await
        .expect("the row's class")
        .unwrap_or_default();
    assert!(row_class.contains("inactive"), "{row_class}");

    // The customer's next page load lands on the sign-in page.
    customer.goto("/tickets").await;
    customer
        .wait_for_path("/login after being deactivated", |path| path == "/login")
        .await;
    customer.find("form#login").await;
    assert!(customer.all("button#sign-out").await.is_empty());
    customer.goto(&format!("/tickets/{id}")).await;
    customer
        .wait_for_path("/login, not the ticket", |path| path == "/login")
        .await;

    customer.close().await;
    agent.close().await;
}

/// The texts of every `css`.
async fn texts(browser: &crate::harness::Browser, css: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.all(css).await {
        texts.push(element.text().await.expect("an element's text"));
    }
    texts
}

/// The id of `username`'s row on /admin/users (`li#user-{id}`).
pub async fn user_id_of(browser: &crate::harness::Browser, username: &str) -> u64 {
    browser.find("ul#users").await;
    for row in browser.all("li.user").await {
        let name = row
            .find(fantoccini::Locator::Css(".username"))
            .await
            .expect("a row's username")
            .text()
            .await
            .expect("its text");
        if name.trim() == username {
            let id = row
                .attr("id")
                .await
                .expect("the row's id")
                .unwrap_or_default();
            return id
                .strip_prefix("user-")
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("a row id user-N, not {id:?}"));
        }
    }
    panic!("no row for {username} on /admin/users");
}
