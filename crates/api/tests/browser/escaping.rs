//! Ticket text that looks like HTML shows as text, to the customer who
//! wrote it and to the agent who reads it, and runs nothing.

use crate::harness::{Browser, DESKTOP, Driver, Server, ticket_id};

const SCRIPT: &str = "<script>window.__pwned=1</script>";
const IMAGE: &str = r#"<img src=x onerror="window.__pwned=2">"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_ticket_shows_as_text_and_runs_nothing() {
    let Some(driver) = Driver::start("escaping").await else {
        return;
    };
    let server = Server::start().await;
    server.create_user("benjamin", "SUPPORT_AGENT");
    let subject = format!("Help {SCRIPT} {IMAGE}");
    let body = format!("My page shows {IMAGE} and then {SCRIPT} & more");

    let browser = driver.browser(&server, DESKTOP).await;
    browser.sign_up("mallory").await;
    browser.goto("/tickets/new").await;
    browser
        .fill("form#new-ticket-form #subject", &subject)
        .await;
    browser.fill("form#new-ticket-form #body", &body).await;
    browser.submit("form#new-ticket-form").await;
    let path = browser
        .wait_for_path("the new ticket's page", |path| ticket_id(path).is_some())
        .await;
    let id = ticket_id(&path).expect("a ticket id");

    // The customer's ticket page and list.
    assert_eq!(browser.text("h1").await, format!("#{id} {subject}"));
    let message = browser.text("section#thread article.message .body").await;
    assert_eq!(message, body);
    assert_inert(&browser, "the customer's ticket page").await;
    browser.goto("/tickets").await;
    let link = browser
        .text(&format!("li.ticket#ticket-{id} a.ticket-link"))
        .await;
    assert_eq!(link, format!("#{id} {subject}"));
    assert_inert(&browser, "the customer's list").await;

    // The agent's queue and ticket page.
    browser.sign_out().await;
    browser.sign_in("benjamin").await;
    browser.goto("/tickets").await;
    let link = browser
        .text(&format!("li.ticket#ticket-{id} a.ticket-link"))
        .await;
    assert_eq!(link, format!("#{id} {subject}"));
    assert_inert(&browser, "the queue").await;
    browser.goto(&format!("/tickets/{id}")).await;
    assert_eq!(browser.text("h1").await, format!("#{id} {subject}"));
    assert_inert(&browser, "the agent's ticket page").await;

    // A reply and a note that look like markup, too.
    browser.fill("form#note #note-body", IMAGE).await;
    browser.submit("form#note").await;
    browser
        .wait_for_text("section#thread article.message.note .body", IMAGE)
        .await;
    browser.fill("form#reply #reply-body", SCRIPT).await;
    browser.submit("form#reply").await;
    browser.wait_for_text("section#thread", SCRIPT).await;
    assert_inert(&browser, "the agent's ticket page with a reply and a note").await;

    browser.close().await;
}

/// No script of ours ran, no element was made from ticket text.
async fn assert_inert(browser: &Browser, page: &str) {
    let pwned = browser.js("return typeof window.__pwned").await;
    assert_eq!(pwned, "undefined", "{page}: window.__pwned was set");
    assert!(
        browser.all("img[src='x']").await.is_empty(),
        "{page}: an <img src=x> was made from ticket text"
    );
    let scripts = browser
        .js("return document.querySelectorAll('script, [onerror]').length")
        .await;
    assert_eq!(
        scripts, 0,
        "{page}: a <script> or onerror attribute is in the DOM"
    );
}
