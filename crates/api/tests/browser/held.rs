//! Held mail, end to end: a customer's mail reaches the real server as a
//! mail server hands it over, a follow-up of a resolved ticket and a
//! message held on it; an agent finds it in Chromium from the navigation,
//! reads it on the ticket and on its own page, and dismisses it. The
//! pages are checked (and, with `SCREENSHOTS_DIR`, saved) at a phone's
//! width and a desktop's, like every main page.

use serde_json::json;

use crate::harness::{DESKTOP, Driver, SUPPORT_ADDRESS, Server};
use crate::pages::Pages;

/// A plain-text message from the customer, naming ticket `ticket` in its
/// subject as a reply to our mail does.
fn customer_mail(ticket: u64, n: u32, body: &str) -> String {
    format!(
        "From: Kayode <kayode@example.com>\r\nTo: {SUPPORT_ADDRESS}\r\n\
         Subject: Re: [#{ticket}] Payment failed twice\r\n\
         Message-ID: <browser-held-{n}@mail.example.com>\r\n\
         Date: Tue, 08 Dec 2026 09:0{n}:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reads_and_dismisses_held_mail_with_screenshots() {
    let Some(driver) = Driver::start("held").await else {
        return;
    };
    let server = Server::start_taking_mail().await;
    server.create_user("benjamin", "SUPPORT_AGENT");
    let agent = server.api_token("benjamin").await;
    let kayode = server.api_customer("kayode").await;
    server
        .api(
            "PATCH",
            "/api/v1/users/me",
            &kayode,
            &json!({"email": "kayode@example.com"}),
            200,
        )
        .await;

    // A ticket answered and resolved; the customer writes to it again by
    // mail (a follow-up), then writes to the follow-up before an agent
    // has answered it (held).
    let created = server
        .api(
            "POST",
            "/api/v1/tickets",
            &kayode,
            &json!({"subject": "Payment failed twice", "body": "Charged twice for order 88231."}),
            201,
        )
        .await;
    let resolved = created["data"]["ticketId"].as_u64().expect("a ticketId");
    let replies = format!("/api/v1/tickets/{resolved}/replies");
    let answer = json!({"body": "Refunded the second charge."});
    server.api("POST", &replies, &agent, &answer, 201).await;
    let resolve = json!({"status": "RESOLVED"});
    let ticket_path = format!("/api/v1/tickets/{resolved}");
    server
        .api("PUT", &ticket_path, &kayode, &resolve, 200)
        .await;
    let taken = server
        .deliver_mail(&customer_mail(
            resolved,
            1,
            "The refund never arrived: my statement still shows both charges.",
        ))
        .await;
    assert_eq!(taken["outcome"], "created", "{taken}");
    let follow_up = taken["ticketId"].as_u64().expect("the follow-up's id");
    let taken = server
        .deliver_mail(&customer_mail(
            follow_up,
            2,
            "Here is the bank's reference: RF-2291-A. <b>Please hurry.</b>",
        ))
        .await;
    assert_eq!(taken["outcome"], "held", "{taken}");
    let held: u64 = taken["heldId"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("the held message's id");

    let mut pages = Pages::default();
    let browser = driver.browser(&server, DESKTOP).await;
    browser.sign_in("benjamin").await;

    // From the navigation to the list.
    browser.click("a#held-mail").await;
    browser
        .wait_for_path("the held mail", |path| path == "/held")
        .await;
    let row = browser.text(&format!("li#held-{held}")).await;
    assert!(row.contains("from kayode@example.com (kayode)"), "{row}");
    assert!(row.contains(&format!("ticket #{follow_up}")), "{row}");
    assert!(
        row.contains("A customer can reply only after a support agent has replied."),
        "{row}"
    );
    pages.check(&browser, "held-mail", "ul#held-list").await;

    // The ticket it was held for: the follow-up line and its held mail.
    browser
        .click(&format!("li#held-{held} a.held-ticket"))
        .await;
    browser
        .wait_for_path("the follow-up's page", |path| {
            path == format!("/tickets/{follow_up}")
        })
        .await;
    browser
        .wait_for_text("#follow-up-of", &format!("Follow-up of #{resolved}"))
        .await;
    browser
        .wait_for_text(&format!("section#held li#held-{held}"), "reply only after")
        .await;
    pages
        .check(&browser, "agent-ticket-held", "section#held")
        .await;

    // The message itself, the text as text.
    browser
        .click(&format!("section#held a[href='/held/{held}']"))
        .await;
    browser
        .wait_for_path("the held message", |path| path == format!("/held/{held}"))
        .await;
    let text = browser.text("#held-text").await;
    assert!(
        text.contains("RF-2291-A. <b>Please hurry.</b>"),
        "the text shown as typed: {text}"
    );
    assert!(
        browser.all("#held-text b").await.is_empty(),
        "no markup made"
    );
    pages.check(&browser, "held-message", "form#dismiss").await;

    // Dismissed: back to the list, which says so and is empty.
    browser.submit("form#dismiss").await;
    browser
        .wait_for_path("the list after dismissing", |path| path == "/held")
        .await;
    browser.wait_for_text("p.notice", "dismissed").await;
    browser.find("#empty").await;

    // Off the ticket, onto its history.
    browser.goto(&format!("/tickets/{follow_up}")).await;
    browser
        .wait_for_text("#history", &format!("dismissed held message {held}"))
        .await;
    assert!(browser.all("section#held").await.is_empty());
    // The resolved ticket names its follow-up.
    browser.goto(&format!("/tickets/{resolved}")).await;
    browser
        .wait_for_text("#followed-up-in", &format!("Followed up in #{follow_up}"))
        .await;

    browser.close().await;
    pages.assert_none_too_wide();
}
