use std::time::Duration;

use super::*;
use crate::keys::ServerSecret;

fn keys() -> Keys {
    Keys::new(&ServerSecret::random(), Duration::from_secs(60))
}

fn settings() -> InboundSettings {
    InboundSettings {
        address: EmailAddress::parse("Support@Example.com").expect("address"),
        token: Some("t".repeat(32)),
        max_bytes: DEFAULT_MAX_EMAIL_BYTES,
        sender_limit: 30,
        mail_from: EmailAddress::parse("notify@example.com").ok(),
        message_id_host: Some("help.example.com".into()),
    }
}

fn read(keys: &Keys, raw: &str) -> InboundMail {
    read_message(&settings(), keys, raw.as_bytes()).expect("readable")
}

#[test]
fn a_reply_address_names_its_ticket_and_no_other() {
    let keys = keys();
    let address = reply_address(&settings().address, &keys, TicketId(42));
    assert!(address.starts_with("support+42."), "{address}");
    assert!(address.ends_with("@example.com"));
    let check = |to: &str| ticket_of_reply_address(&settings().address, &keys, to);
    assert_eq!(check(&address), Some(TicketId(42)));
    // Some servers fold case; the tag is lower case hex anyway.
    assert_eq!(check(&address.to_uppercase()), Some(TicketId(42)));
    let tag = keys.reply_address_tag(TicketId(42));
    assert_eq!(check(&format!("support+43.{tag}@example.com")), None);
    assert_eq!(check(&format!("support+42.{tag}@elsewhere.com")), None);
    assert_eq!(check(&format!("other+42.{tag}@example.com")), None);
    assert_eq!(check("support+42.0000000000000000@example.com"), None);
    assert_eq!(check("support@example.com"), None);
    // Another server's secret makes other tags.
    let other = reply_address(&settings().address, &super::tests::keys(), TicketId(42));
    assert_eq!(check(&other), None);
}

#[test]
fn the_ticket_is_found_in_the_headers_a_reply_carries() {
    let keys = keys();
    let address = reply_address(&settings().address, &keys, TicketId(7));
    let mail = read(
        &keys,
        &format!(
            "From: Ada <ada@example.org>\r\nTo: {address}\r\nSubject: Re: [#7] x\r\nIn-Reply-To: <msg_1@help.example.com>\r\nReferences: <ticket-9@help.example.com> <msg_1@help.example.com>\r\nMessage-ID: <r1@example.org>\r\n\r\nThanks\r\n"
        ),
    );
    assert_eq!(mail.addressed_ticket, Some(TicketId(7)));
    assert_eq!(mail.referenced_ticket, Some(TicketId(9)));
    assert_eq!(mail.message_key, "<r1@example.org>");
    assert_eq!(mail.from.as_str(), "ada@example.org");
    // Another host's ticket ids are not ours.
    let foreign = read(
        &keys,
        "From: ada@example.org\r\nReferences: <ticket-9@elsewhere.com>\r\n\r\nx\r\n",
    );
    assert_eq!(foreign.referenced_ticket, None);
    // Without a Message-ID the key is the bytes' digest.
    assert!(foreign.message_key.starts_with("sha256:"));
}

#[test]
fn machine_mail_is_recognised() {
    let keys = keys();
    let signals = |headers: &str| {
        read(
            &keys,
            &format!("From: a@example.org\r\n{headers}\r\nbody\r\n"),
        )
        .signals
    };
    assert_eq!(signals(""), LoopSignals::default());
    assert!(signals("Auto-Submitted: auto-replied\r\n").auto_reply);
    assert!(!signals("Auto-Submitted: no\r\n").auto_reply);
    assert!(signals("X-Autoreply: yes\r\n").auto_reply);
    assert!(signals("X-Autorespond: on\r\n").auto_reply);
    assert!(signals("Precedence: bulk\r\n").bulk);
    assert!(signals("Precedence: List\r\n").bulk);
    assert!(!signals("Precedence: first-class\r\n").bulk);
    assert!(signals("Return-Path: <>\r\n").bounce);
    assert!(!signals("Return-Path: <a@example.org>\r\n").bounce);
    assert!(
        signals("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n")
            .bounce
    );
    let ours = |from: &str| {
        read(&keys, &format!("From: {from}\r\n\r\nx\r\n"))
            .signals
            .from_ourselves
    };
    assert!(ours("notify@example.com"));
    assert!(ours("support@example.com"));
    assert!(ours("support+5.abc@example.com"));
    assert!(!ours("supporter@example.com"));
}

#[test]
fn a_message_without_a_usable_sender_is_unreadable() {
    for raw in ["Subject: x\r\n\r\nbody", "From: nobody\r\n\r\nbody", ""] {
        assert!(
            read_message(&settings(), &keys(), raw.as_bytes()).is_err(),
            "{raw:?}"
        );
    }
}

#[test]
fn html_only_mail_becomes_text_with_its_lines_and_quotes() {
    let keys = keys();
    let html = "<html><head><style>p { margin: 0 }</style></head><body>\
        <div>The new driver fixed it.</div><div><br></div><div>Linus</div>\
        <ol><li>Opened <b>Reports</b></li><li>Clicked <a href=\"https://app.example.com/export\">Export</a></li></ol>\
        <blockquote>Please try again.</blockquote></body></html>";
    let mail = read(
        &keys,
        &format!("From: a@example.org\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"),
    );
    assert!(
        !mail.text.contains("<div>") && !mail.text.contains("margin"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.starts_with("The new driver fixed it.\n\nLinus\n"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("\n> Please try again."), "{}", mail.text);
    assert!(
        mail.text.contains("https://app.example.com/export"),
        "{}",
        mail.text
    );
}

#[test]
fn a_plain_text_part_is_taken_as_it_is_with_line_ends_as_newlines() {
    let keys = keys();
    let mail = read(
        &keys,
        "From: a@example.org\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nOne\r\n\r\nTwo <b>\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Other</p>\r\n--b--\r\n",
    );
    assert_eq!(mail.text, "One\n\nTwo <b>");
}
