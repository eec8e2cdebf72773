use std::time::Duration;

use domain::ids::UserId;
use domain::{
    EmailAddress, NotificationKind, NotificationMail, OutgoingMail, PinResetMail, Priority,
    TicketId, TicketStatus,
};
use edge::keys::{Keys, ServerSecret};
use mail_parser::{HeaderValue, MessageParser};

use super::render::{Addressing, build_message};
use super::{Security, SmtpServer};

fn keys() -> Keys {
    Keys::new(
        &ServerSecret::new("x".repeat(32)).expect("a secret"),
        Duration::from_secs(60),
    )
}

fn addressing() -> Addressing {
    Addressing {
        public_url: "https://help.example.com".to_owned(),
        host: "help.example.com".to_owned(),
        from: "Support <support@example.com>".parse().expect("a mailbox"),
        inbound: None,
    }
}

fn notification(to_customer: bool, kind: NotificationKind) -> NotificationMail {
    NotificationMail {
        recipient: UserId(7),
        recipient_name: "carol".into(),
        to_customer,
        kind,
        ticket_id: 123,
        subject: Some("Printer <script>alert(1)</script> & fax".into()),
        status: TicketStatus::Replied,
        priority: Priority::Normal,
        by: "Support".into(),
        text: Some("Try <b>turning</b> it off & on.\nSecond line".into()),
        status_before: None,
        at: "2026-12-07T10:00:00.000Z".into(),
    }
}

/// The built message as bytes, as it goes over the wire.
fn built(mail: &OutgoingMail) -> Vec<u8> {
    build_message(
        &addressing(),
        &keys(),
        "carol@example.org",
        "msg_0123abcd",
        mail,
    )
    .expect("built")
    .formatted()
}

fn header_text(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message.header_raw(name).map(|raw| raw.trim().to_owned())
}

#[test]
fn a_notification_parses_back_with_its_threading_and_unsubscribe_headers() {
    let raw = built(&OutgoingMail::Notification(notification(
        true,
        NotificationKind::StatusChanged,
    )));
    let message = MessageParser::default().parse(&raw).expect("parses");
    assert_eq!(
        message.subject(),
        Some("[#123] Printer <script>alert(1)</script> & fax")
    );
    assert_eq!(message.message_id(), Some("msg_0123abcd@help.example.com"));
    assert_eq!(
        message.in_reply_to().as_text(),
        Some("ticket-123@help.example.com")
    );
    assert_eq!(
        message.references().as_text(),
        Some("ticket-123@help.example.com")
    );
    assert_eq!(
        header_text(&message, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let unsubscribe = header_text(&message, "List-Unsubscribe").expect("List-Unsubscribe");
    let url = unsubscribe
        .strip_prefix("<https://help.example.com/unsubscribe?token=")
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{unsubscribe}"));
    assert_eq!(
        keys().read_unsubscribe_token(url),
        Some((UserId(7), NotificationKind::StatusChanged)),
        "the link turns off this kind for this recipient"
    );
    assert_eq!(
        header_text(&message, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let from = message.from().and_then(|from| from.first()).expect("From");
    assert_eq!(from.address(), Some("support@example.com"));
    assert_eq!(from.name(), Some("Support"));
    assert!(matches!(
        message.header("Date"),
        Some(HeaderValue::DateTime(_))
    ));
    assert!(message.header("Reply-To").is_none());
}

#[test]
fn values_are_escaped_in_html_and_intact_in_text() {
    let raw = built(&OutgoingMail::Notification(notification(
        true,
        NotificationKind::PublicReply,
    )));
    let message = MessageParser::default().parse(&raw).expect("parses");
    let text = message.body_text(0).expect("a text part");
    let html = message.body_html(0).expect("an HTML part");
    assert!(
        text.contains("[#123] Printer <script>alert(1)</script> & fax"),
        "{text}"
    );
    assert!(text.contains("> Try <b>turning</b> it off & on."), "{text}");
    assert!(text.contains("> Second line"), "{text}");
    assert!(
        text.contains("https://help.example.com/tickets/123"),
        "{text}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>turning"), "{html}");
    assert!(
        html.contains("Printer &#60;script&#62;alert(1)&#60;/script&#62; &#38; fax")
            || html.contains("Printer &lt;script&gt;alert(1)&lt;/script&gt; &amp; fax"),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://help.example.com/tickets/123""#),
        "{html}"
    );
    // A person's reply to the customer is not auto-submitted.
    assert!(message.header("Auto-Submitted").is_none());
}

#[test]
fn each_kind_says_what_happened_and_why_the_recipient_got_it() {
    for kind in NotificationKind::ALL {
        for to_customer in [true, false] {
            let mut mail = notification(to_customer, kind);
            mail.by = if to_customer { "Support" } else { "dave" }.into();
            mail.status_before = Some(TicketStatus::Unattended);
            let raw = built(&OutgoingMail::Notification(mail));
            let message = MessageParser::default().parse(&raw).expect("parses");
            let text = message.body_text(0).expect("text").into_owned();
            assert!(text.contains("#123"), "{kind:?}: {text}");
            assert!(text.contains("Hello carol"), "{text}");
            assert!(text.contains("You get this mail because"), "{text}");
            assert!(text.contains("/unsubscribe?token="), "{text}");
            if !to_customer && kind != NotificationKind::SlaBreached {
                assert!(text.contains("dave"), "{kind:?}: {text}");
            }
            if kind == NotificationKind::StatusChanged {
                assert!(
                    text.contains("It was UNATTENDED, it is REPLIED now."),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn a_pin_reset_has_its_link_no_thread_and_no_unsubscribe() {
    let nonce = "n0nce";
    let raw = built(&OutgoingMail::PinReset(PinResetMail {
        recipient: UserId(7),
        recipient_name: "carol".into(),
        nonce: nonce.into(),
        expires_at: "2026-12-07T10:30:00.000Z".into(),
    }));
    let message = MessageParser::default().parse(&raw).expect("parses");
    assert_eq!(message.subject(), Some("Reset your PIN"));
    assert_eq!(message.message_id(), Some("msg_0123abcd@help.example.com"));
    assert_eq!(
        header_text(&message, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(message.header("List-Unsubscribe").is_none());
    assert!(message.header("In-Reply-To").is_none());
    let link = format!(
        "https://help.example.com/reset-pin?token={}",
        keys().pin_reset_token(nonce)
    );
    let text = message.body_text(0).expect("text");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("2026-12-07 10:30 UTC"), "{text}");
    assert!(
        text.contains("If it was not you, ignore this mail"),
        "{text}"
    );
    assert!(
        !text.contains(nonce) || link.contains(nonce),
        "the nonce is not the token"
    );
    let html = message.body_html(0).expect("html");
    assert!(html.contains(&format!(r#"href="{link}""#)), "{html}");
}

#[test]
fn a_recipient_that_is_no_address_cannot_be_sent_to() {
    let error = build_message(
        &addressing(),
        &keys(),
        "not an address",
        "msg_1",
        &OutgoingMail::Notification(notification(true, NotificationKind::PublicReply)),
    )
    .expect_err("refused");
    assert!(error.0.contains("recipient"), "{error}");
}

#[test]
fn smtp_urls_say_how_the_connection_is_protected() {
    let server = SmtpServer::parse("smtp://user:p%40ss@mail.example.com:587").expect("valid");
    assert_eq!(server.security, Security::StartTls);
    assert_eq!(
        (server.host.as_str(), server.port),
        ("mail.example.com", 587)
    );
    assert_eq!(
        server.credentials,
        Some(("user".to_owned(), "p@ss".to_owned()))
    );
    assert!(
        !format!("{server:?}").contains("p@ss"),
        "the password never prints"
    );
    let server = SmtpServer::parse("smtp://mail.example.com").expect("valid");
    assert_eq!((server.security, server.port), (Security::StartTls, 587));
    assert!(!server.has_credentials());
    let server = SmtpServer::parse("smtps://u:p@mail.example.com").expect("valid");
    assert_eq!((server.security, server.port), (Security::Tls, 465));
    let server = SmtpServer::parse("smtp://127.0.0.1:2525?tls=none").expect("valid");
    assert_eq!((server.security, server.port), (Security::None, 2525));
    assert!(SmtpServer::parse("smtp://localhost:2525?tls=none").is_ok());
    for bad in [
        "mail.example.com",
        "http://mail.example.com",
        "smtp://mail.example.com:2525?tls=none",
        "smtps://127.0.0.1?tls=none",
        "smtp://mail.example.com?tls=maybe",
        "smtp://mail.example.com?verify=no",
        "smtp://user@mail.example.com",
        "smtp://mail.example.com/inbox",
        "smtp://:587",
    ] {
        assert!(SmtpServer::parse(bad).is_err(), "{bad} was taken");
    }
    let error = SmtpServer::parse("smtp://u:hunter2@mail.example.com?tls=bad").expect_err("bad");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn with_mail_coming_in_a_ticket_mail_says_to_reply_to_the_tickets_address() {
    let inbound = EmailAddress::parse("help@example.com").expect("address");
    let addressing = Addressing {
        inbound: Some(inbound.clone()),
        ..addressing()
    };
    for (to_customer, hint) in [
        (true, "your reply is added to the ticket"),
        (false, "answers the customer in public"),
    ] {
        let mail =
            OutgoingMail::Notification(notification(to_customer, NotificationKind::PublicReply));
        let raw = build_message(&addressing, &keys(), "carol@example.org", "msg_1", &mail)
            .expect("built")
            .formatted();
        let message = MessageParser::default().parse(&raw).expect("parses");
        let reply_to = message
            .reply_to()
            .and_then(|to| to.first())
            .and_then(|to| to.address())
            .expect("Reply-To");
        assert_eq!(
            reply_to,
            edge::inbound::reply_address(&inbound, &keys(), TicketId(123))
        );
        assert!(reply_to.starts_with("help+123."), "{reply_to}");
        let text = message.body_text(0).expect("text");
        assert!(text.contains(hint), "{text}");
        let html = message.body_html(0).expect("html");
        assert!(html.contains(hint), "{html}");
    }
    // Without mail coming in, no hint: replies go nowhere useful.
    let raw = built(&OutgoingMail::Notification(notification(
        true,
        NotificationKind::PublicReply,
    )));
    let message = MessageParser::default().parse(&raw).expect("parses");
    assert!(!message.body_text(0).expect("text").contains("replying"));
}
