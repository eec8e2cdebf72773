//! The mail the tracker sends, as the change that causes it writes it to
//! the outbox (channel `mail`): what each message says, already cut to
//! what its recipient may see. The store builds these from the audience
//! view inside the change's transaction; the mail worker only renders
//! them (templates, MIME) and sends them. The recipient's address is the
//! outbox row's recipient, not part of the payload.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::workflow::{Priority, TicketStatus};

/// The kinds of notification, each of which its recipient can turn off;
/// the names are the preference keys of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotificationKind {
    /// A new ticket (to a customer: the acknowledgement of their own).
    TicketCreated,
    /// A staff member's public reply.
    PublicReply,
    /// The customer's reply.
    CustomerReply,
    /// An internal note (staff only, ever).
    InternalNote,
    /// The status moved without a reply.
    StatusChanged,
    /// The ticket was handed to the recipient.
    Assigned,
    /// A due time of the SLA passed.
    SlaBreached,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 7] = [
        NotificationKind::TicketCreated,
        NotificationKind::PublicReply,
        NotificationKind::CustomerReply,
        NotificationKind::InternalNote,
        NotificationKind::StatusChanged,
        NotificationKind::Assigned,
        NotificationKind::SlaBreached,
    ];

    /// The kind's name in the API, the unsubscribe link and the database.
    pub fn name(self) -> &'static str {
        match self {
            NotificationKind::TicketCreated => "ticketCreated",
            NotificationKind::PublicReply => "publicReply",
            NotificationKind::CustomerReply => "customerReply",
            NotificationKind::InternalNote => "internalNote",
            NotificationKind::StatusChanged => "statusChanged",
            NotificationKind::Assigned => "assigned",
            NotificationKind::SlaBreached => "slaBreached",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One message of the `mail` channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum OutgoingMail {
    Notification(NotificationMail),
    PinReset(PinResetMail),
}

impl OutgoingMail {
    /// The account the mail is for.
    pub fn recipient(&self) -> UserId {
        match self {
            OutgoingMail::Notification(mail) => mail.recipient,
            OutgoingMail::PinReset(mail) => mail.recipient,
        }
    }
}

/// A notification about a ticket, as its recipient may see it: for a
/// customer no internal note, no tags, and every staff member "Support".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationMail {
    pub recipient: UserId,
    /// The recipient's username, for the greeting.
    pub recipient_name: String,
    /// Whether the recipient is the ticket's customer (the customer's
    /// view) rather than staff.
    pub to_customer: bool,
    pub kind: NotificationKind,
    /// The ticket's number.
    pub ticket_id: i64,
    /// The ticket's subject (none on tickets opened without one).
    pub subject: Option<String>,
    pub status: TicketStatus,
    pub priority: Priority,
    /// Who made the change, as the recipient knows them ("Support" to a
    /// customer for any staff member).
    pub by: String,
    /// The text the mail quotes: the reply or note, or for a new ticket
    /// its body.
    pub text: Option<String>,
    /// For a status change, the status before it.
    pub status_before: Option<TicketStatus>,
    /// When the change happened (RFC 3339, as `json::timestamp`).
    pub at: String,
}

impl NotificationMail {
    /// The subject line: `[#123] <ticket subject>`, so mail clients and
    /// people see which ticket it is about.
    pub fn subject_line(&self) -> String {
        match &self.subject {
            Some(subject) => format!("[#{}] {subject}", self.ticket_id),
            None => format!("[#{}] Ticket {}", self.ticket_id, self.ticket_id),
        }
    }

    /// A person's own words to another person (a staff member's public
    /// reply to the customer) are not marked `Auto-Submitted`; every other
    /// mail is, so auto-responders leave it alone.
    pub fn is_auto_submitted(&self) -> bool {
        !(self.to_customer && self.kind == NotificationKind::PublicReply)
    }
}

/// A link to set a new PIN. The link's token is not here: the mail worker
/// derives it from `nonce` with a key of the server's secret, so the
/// database never holds a usable token (only the token's digest, in the
/// reset's row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinResetMail {
    pub recipient: UserId,
    pub recipient_name: String,
    pub nonce: String,
    /// When the link stops working (RFC 3339).
    pub expires_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_to(to_customer: bool, kind: NotificationKind) -> NotificationMail {
        NotificationMail {
            recipient: UserId(7),
            recipient_name: "carol".into(),
            to_customer,
            kind,
            ticket_id: 123,
            subject: Some("Printer on fire".into()),
            status: TicketStatus::Replied,
            priority: Priority::Normal,
            by: "Support".into(),
            text: Some("We are on it".into()),
            status_before: None,
            at: "2026-12-07T10:00:00.000Z".into(),
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("a kind is JSON"),
                kind.name()
            );
        }
        assert_eq!(NotificationKind::from_name("everything"), None);
    }

    #[test]
    fn only_a_public_reply_to_the_customer_is_not_auto_submitted() {
        for kind in NotificationKind::ALL {
            for to_customer in [true, false] {
                let personal = to_customer && kind == NotificationKind::PublicReply;
                assert_eq!(reply_to(to_customer, kind).is_auto_submitted(), !personal);
            }
        }
    }

    #[test]
    fn the_subject_names_the_ticket_number() {
        let mut mail = reply_to(true, NotificationKind::PublicReply);
        assert_eq!(mail.subject_line(), "[#123] Printer on fire");
        mail.subject = None;
        assert_eq!(mail.subject_line(), "[#123] Ticket 123");
    }

    #[test]
    fn a_payload_round_trips_through_json() {
        let mail = OutgoingMail::Notification(reply_to(false, NotificationKind::InternalNote));
        let json = serde_json::to_string(&mail).expect("a mail is JSON");
        assert!(json.contains(r#""type":"notification""#), "{json}");
        assert_eq!(
            serde_json::from_str::<OutgoingMail>(&json).expect("it reads back"),
            mail
        );
    }
}
