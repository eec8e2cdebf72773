//! What a mail says and how it is put together: the askama templates
//! (`templates/mail/`, a text and an HTML part each; the HTML escapes every
//! value) and the MIME message, built with lettre's `Message` builder, so
//! every header made of a user's words is encoded by the library, never
//! concatenated by us.

use askama::Template;
use domain::{
    EmailAddress, NotificationKind, NotificationMail, OutgoingMail, PinResetMail, TicketId,
};
use edge::inbound::reply_address;
use edge::keys::Keys;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

/// Where a mail's links point and what its ids are made of: the server's
/// public address (`PUBLIC_URL`) and the sender (`MAIL_FROM`).
#[derive(Debug, Clone)]
pub struct Addressing {
    /// `PUBLIC_URL` without a trailing slash.
    pub public_url: String,
    /// Its host: the right-hand side of every `Message-ID` we make.
    pub host: String,
    pub from: Mailbox,
    /// The support address (`INBOUND_ADDRESS`) when inbound mail is on: a
    /// ticket's mail then says to reply to the ticket's reply address.
    pub inbound: Option<EmailAddress>,
}

/// A mail could not be made from its row (an address or payload no
/// attempt can mend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable(pub String);

impl std::fmt::Display for Unsendable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mail's subject and its two parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The message for one outbox row: `to` is the row's recipient,
/// `message_id` its id (`msg_<hex>`, the same on every attempt, so a mail
/// sent twice is recognisably one mail).
pub fn build_message(
    addressing: &Addressing,
    keys: &Keys,
    to: &str,
    message_id: &str,
    mail: &OutgoingMail,
) -> Result<Message, Unsendable> {
    let to: Mailbox = to
        .parse()
        .map_err(|error| Unsendable(format!("unusable recipient address {to:?}: {error}")))?;
    let rendered = render(addressing, keys, mail)?;
    let mut builder = Message::builder()
        .from(addressing.from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(format!("<{message_id}@{}>", addressing.host)));
    match mail {
        OutgoingMail::Notification(notification) => {
            // A reply goes to the ticket's own address when mail comes in;
            // otherwise to From.
            if let Some(inbound) = &addressing.inbound {
                let reply_to = reply_address(inbound, keys, TicketId(notification.ticket_id));
                let reply_to: Mailbox = reply_to.parse().map_err(|error| {
                    Unsendable(format!("unusable reply address {reply_to:?}: {error}"))
                })?;
                builder = builder.reply_to(reply_to);
            }
            // Every mail of a ticket names the ticket's root id, so mail
            // clients thread them, and inbound mail finds the ticket.
            let root = format!("<ticket-{}@{}>", notification.ticket_id, addressing.host);
            builder = builder.in_reply_to(root.clone()).references(root);
            if notification.is_auto_submitted() {
                builder = builder.header(AutoSubmitted);
            }
            builder = builder
                .header(ListUnsubscribe(format!(
                    "<{}>",
                    unsubscribe_url(addressing, keys, notification)?
                )))
                .header(ListUnsubscribePost);
        }
        // A PIN reset is the server's own doing: always auto-submitted,
        // and nothing to unsubscribe from.
        OutgoingMail::PinReset(_) => builder = builder.header(AutoSubmitted),
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|error| Unsendable(format!("cannot build the message: {error}")))
}

/// The subject and both parts of `mail`.
pub fn render(
    addressing: &Addressing,
    keys: &Keys,
    mail: &OutgoingMail,
) -> Result<Rendered, Unsendable> {
    match mail {
        OutgoingMail::Notification(notification) => {
            let view = NotificationView::of(addressing, keys, notification)?;
            Ok(Rendered {
                subject: notification.subject_line(),
                text: NotificationText(&view).render().map_err(template_error)?,
                html: NotificationHtml(&view).render().map_err(template_error)?,
            })
        }
        OutgoingMail::PinReset(reset) => {
            let view = PinResetView::of(addressing, keys, reset);
            Ok(Rendered {
                subject: "Reset your PIN".to_owned(),
                text: PinResetText(&view).render().map_err(template_error)?,
                html: PinResetHtml(&view).render().map_err(template_error)?,
            })
        }
    }
}

fn template_error(error: askama::Error) -> Unsendable {
    Unsendable(format!("cannot render the mail: {error}"))
}

/// The one-click link that turns `notification`'s kind off for its
/// recipient.
fn unsubscribe_url(
    addressing: &Addressing,
    keys: &Keys,
    notification: &NotificationMail,
) -> Result<String, Unsendable> {
    let token = keys
        .unsubscribe_token(notification.recipient, notification.kind)
        .map_err(|_| Unsendable("cannot sign the unsubscribe link".to_owned()))?;
    Ok(format!(
        "{}/unsubscribe?token={token}",
        addressing.public_url
    ))
}

/// What both parts of a notification show.
#[derive(Debug)]
struct NotificationView {
    name: String,
    headline: String,
    /// For a status change, what it changed.
    change: Option<String>,
    /// The quoted text, line by line.
    quoted: Vec<String>,
    ticket_line: String,
    status: &'static str,
    priority: &'static str,
    ticket_url: String,
    why: String,
    /// What answering the mail does, when mail comes in (`INBOUND_ADDRESS`).
    reply_hint: Option<&'static str>,
    unsubscribe_url: String,
}

impl NotificationView {
    fn of(
        addressing: &Addressing,
        keys: &Keys,
        mail: &NotificationMail,
    ) -> Result<Self, Unsendable> {
        let id = mail.ticket_id;
        let by = &mail.by;
        let headline = match (mail.kind, mail.to_customer) {
            (NotificationKind::TicketCreated, true) => {
                format!("We have your request: it is ticket #{id}. We will answer here.")
            }
            (NotificationKind::TicketCreated, false) => format!("{by} opened ticket #{id}."),
            (NotificationKind::PublicReply, true) => format!("{by} replied to your ticket #{id}."),
            (NotificationKind::PublicReply, false) | (NotificationKind::CustomerReply, _) => {
                format!("{by} replied to ticket #{id}.")
            }
            (NotificationKind::InternalNote, _) => {
                format!("{by} added an internal note to ticket #{id}.")
            }
            (NotificationKind::StatusChanged, _) => {
                format!("{by} changed the status of ticket #{id}.")
            }
            (NotificationKind::Assigned, _) => format!("{by} assigned ticket #{id} to you."),
            (NotificationKind::SlaBreached, _) => {
                format!("Ticket #{id} passed a due time of its service level.")
            }
        };
        let change = match (mail.kind, mail.status_before) {
            (NotificationKind::StatusChanged, Some(before)) => Some(format!(
                "It was {}, it is {} now.",
                before.as_str(),
                mail.status.as_str()
            )),
            _ => None,
        };
        let why = match mail.to_customer {
            true => "You get this mail because you opened this ticket.".to_owned(),
            false => format!(
                "You get this mail because mail about {} is on for your account.",
                kind_label(mail.kind)
            ),
        };
        Ok(Self {
            name: mail.recipient_name.clone(),
            headline,
            change,
            quoted: mail
                .text
                .as_deref()
                .map(|text| text.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            ticket_line: mail.subject_line(),
            status: mail.status.as_str(),
            priority: mail.priority.as_str(),
            ticket_url: format!("{}/tickets/{id}", addressing.public_url),
            why,
            // A staff member's answer by mail is a public reply whatever
            // mail it answers (a note's too): said plainly.
            reply_hint: addressing.inbound.as_ref().map(|_| match mail.to_customer {
                true => "You can answer by replying to this mail: your reply is added to the ticket.",
                false => "Replying to this mail answers the customer in public, whatever this mail was about.",
            }),
            unsubscribe_url: unsubscribe_url(addressing, keys, mail)?,
        })
    }
}

/// A kind of notification as a person reads it.
fn kind_label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::TicketCreated => "new tickets",
        NotificationKind::PublicReply => "public replies",
        NotificationKind::CustomerReply => "customers' replies",
        NotificationKind::InternalNote => "internal notes",
        NotificationKind::StatusChanged => "status changes",
        NotificationKind::Assigned => "tickets assigned to you",
        NotificationKind::SlaBreached => "missed service levels",
    }
}

#[derive(Template)]
#[template(path = "mail/notification.txt")]
struct NotificationText<'a>(&'a NotificationView);

#[derive(Template)]
#[template(path = "mail/notification.html")]
struct NotificationHtml<'a>(&'a NotificationView);

impl std::ops::Deref for NotificationText<'_> {
    type Target = NotificationView;
    fn deref(&self) -> &NotificationView {
        self.0
    }
}

impl std::ops::Deref for NotificationHtml<'_> {
    type Target = NotificationView;
    fn deref(&self) -> &NotificationView {
        self.0
    }
}

/// What both parts of a PIN reset show.
#[derive(Debug)]
struct PinResetView {
    name: String,
    reset_url: String,
    valid_until: String,
}

impl PinResetView {
    fn of(addressing: &Addressing, keys: &Keys, mail: &PinResetMail) -> Self {
        let valid_until = chrono::DateTime::parse_from_rfc3339(&mail.expires_at)
            .map(|at| {
                at.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            })
            .unwrap_or_else(|_| mail.expires_at.clone());
        Self {
            name: mail.recipient_name.clone(),
            reset_url: format!(
                "{}/reset-pin?token={}",
                addressing.public_url,
                keys.pin_reset_token(&mail.nonce)
            ),
            valid_until,
        }
    }
}

#[derive(Template)]
#[template(path = "mail/pin_reset.txt")]
struct PinResetText<'a>(&'a PinResetView);

#[derive(Template)]
#[template(path = "mail/pin_reset.html")]
struct PinResetHtml<'a>(&'a PinResetView);

impl std::ops::Deref for PinResetText<'_> {
    type Target = PinResetView;
    fn deref(&self) -> &PinResetView {
        self.0
    }
}

impl std::ops::Deref for PinResetHtml<'_> {
    type Target = PinResetView;
    fn deref(&self) -> &PinResetView {
        self.0
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): auto-responders leave the
/// mail alone.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(raw: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(raw.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST
/// to the link unsubscribes, with no page in between.
#[derive(Debug, Clone, Copy)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}
