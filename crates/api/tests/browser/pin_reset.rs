//! A PIN reset by mail, end to end: a signed-out customer asks for a link
//! from the sign-in page, reads it in the mail a real SMTP server
//! received, opens it in Chromium, sets a new PIN and signs in with it;
//! the browser session they had before is over.

use std::time::{Duration, Instant};

use testkit::SmtpSink;

use crate::harness::{DESKTOP, Driver, PIN, Server};

const NEW_PIN: &str = "97531";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_pin_is_replaced_through_the_link_in_a_mail() {
    let Some(driver) = Driver::start("pin_reset").await else {
        return;
    };
    let sink = SmtpSink::start().expect("the SMTP sink (aiosmtpd) starts");
    let server = Server::start_sending_to(&sink).await;

    // The customer signs up and gives the account an address; this
    // browser stays signed in.
    let before = driver.browser(&server, DESKTOP).await;
    before.sign_up("kayode").await;
    let token = server.api_token("kayode").await;
    server
        .api(
            "PATCH",
            "/api/v1/users/me",
            &token,
            &serde_json::json!({"email": "kayode@example.com"}),
            200,
        )
        .await;

    // Signed out, elsewhere: "Forgot your PIN?" from the sign-in page.
    let browser = driver.browser(&server, DESKTOP).await;
    browser.goto("/login").await;
    browser.click("a#forgot-pin").await;
    browser
        .wait_for_path("the reset page", |path| path == "/reset-pin")
        .await;
    browser
        .fill("form#reset-pin #account", "kayode@example.com")
        .await;
    browser.submit("form#reset-pin").await;
    browser.wait_for_text("p.notice", "link").await;

    // The mail, as the customer's client shows it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mail = loop {
        if let Some(mail) = sink.received_by("kayode@example.com").pop() {
            break mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail reached kayode@example.com"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let parsed = mail.parsed();
    assert_eq!(parsed.subject(), Some("Reset your PIN"));
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let origin = server.url("");
    let link = text
        .split_whitespace()
        .find(|word| word.starts_with(&format!("{origin}/reset-pin?token=")))
        .unwrap_or_else(|| panic!("no link to {origin} in the mail: {text}"))
        .to_owned();

    // The link, in the browser: a new PIN, typed twice.
    browser
        .goto(link.strip_prefix(&origin).expect("a path"))
        .await;
    browser.fill("form#new-pin #pin", NEW_PIN).await;
    browser.fill("form#new-pin #pin-again", NEW_PIN).await;
    browser.submit("form#new-pin").await;
    browser
        .wait_for_path("sign-in after the reset", |path| path == "/login")
        .await;
    browser.wait_for_text("p.notice", "new PIN is set").await;

    // The new PIN signs in; the old one no longer does.
    browser.fill("form#login #username", "kayode").await;
    browser.fill("form#login #pin", PIN).await;
    browser.submit("form#login").await;
    browser.find("form#login").await;
    assert!(
        browser.all("button#sign-out").await.is_empty(),
        "the old PIN let kayode in"
    );
    browser.goto("/login").await;
    browser.fill("form#login #username", "kayode").await;
    browser.fill("form#login #pin", NEW_PIN).await;
    browser.submit("form#login").await;
    browser
        .wait_for_path("a page after signing in", |path| {
            !path.starts_with("/login")
        })
        .await;
    browser.find("button#sign-out").await;

    // The session from before the reset has ended.
    before.goto("/tickets").await;
    before
        .wait_for_path("sign-in, the old session over", |path| {
            path.starts_with("/login")
        })
        .await;

    // The link worked once.
    browser
        .goto(link.strip_prefix(&origin).expect("a path"))
        .await;
    browser.fill("form#new-pin #pin", "11111").await;
    browser.fill("form#new-pin #pin-again", "11111").await;
    browser.submit("form#new-pin").await;
    browser.find("#form-error").await;

    before.close().await;
    browser.close().await;
}
