//! Inbound mail: what becomes of a message sent to the support address.
//!
//! The door parses the message (a real MIME parser) into [`InboundMail`],
//! the store adds what it knows ([`Known`]: whether the message was taken
//! before, the sender's account, the tickets it may belong to), and
//! [`decide_inbound`] says what to do. Nothing is dropped: every message
//! that is not a duplicate is recorded with its [`Outcome`], and a message
//! a rule refuses is held with the refusal as its reason, never lost.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::entities::{Ticket, User};
use crate::ids::TicketId;
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::tickets::{ReplyKind, decide_reply};
use crate::values::{
    BODY_MAX_CHARS, EmailAddress, SUBJECT_MAX_CHARS, USERNAME_MAX_CHARS, Username,
};
use crate::workflow::TicketStatus;

pub mod quoting;

/// A new ticket's subject when the mail had none.
pub const NO_SUBJECT: &str = "(no subject)";
/// The text of a mail that had none (an attachment alone, say).
pub const NO_TEXT: &str = "(no text)";
/// What ends a text cut to fit the body limit; the original keeps it whole.
pub const CUT_MARKER: &str = "\n\n[... cut: the whole message is kept as the original]";
/// The marks mail clients put before a subject they answer or forward, in
/// the languages they are seen most in.
const REPLY_MARKS: [&str; 10] = ["re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "r", "tr"];
/// Messages an address may send an hour before the next is held.
pub const DEFAULT_SENDER_LIMIT: u32 = 30;

/// What the message's headers say about where it came from: the signs of
/// machine mail that must never be answered (no mail loop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopSignals {
    /// `Auto-Submitted` other than `no`, `X-Autoreply` or `X-Autorespond`.
    pub auto_reply: bool,
    /// `Precedence: bulk`, `junk` or `list` (or a `List-Id`).
    pub bulk: bool,
    /// An empty `Return-Path` (`<>`) or a `multipart/report` delivery status.
    pub bounce: bool,
    /// From our own `MAIL_FROM` or the support address (or a reply address
    /// of it).
    pub from_ourselves: bool,
}

/// Why a message was recorded and nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    AutoReply,
    Bulk,
    Bounce,
    OwnMail,
}

impl Ignored {
    pub fn reason(self) -> &'static str {
        match self {
            Self::AutoReply => "an automatic reply",
            Self::Bulk => "bulk or list mail",
            Self::Bounce => "a delivery failure report",
            Self::OwnMail => "mail from our own address",
        }
    }
}

/// The facts the door read from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Its `Message-ID`, or `sha256:<hex>` of its bytes without one: the
    /// same message taken twice, by any door, has the same key.
    pub message_key: String,
    /// The `From` address.
    pub from: EmailAddress,
    /// The subject as decoded (any charset, encoded words).
    pub subject: String,
    /// The message's text, quoted text not yet trimmed (HTML-only mail
    /// already turned into text).
    pub text: String,
    pub signals: LoopSignals,
    /// The ticket of a reply address in `To`, `Cc` or `Delivered-To`
    /// (its tag already checked by the door).
    pub addressed_ticket: Option<TicketId>,
    /// The ticket of one of our ids in `In-Reply-To` or `References`.
    pub referenced_ticket: Option<TicketId>,
}

impl InboundMail {
    /// `[#123]` in the subject: a ticket named by its number, trusted only
    /// for that ticket's own customer.
    pub fn subject_ticket(&self) -> Option<TicketId> {
        ticket_in_subject(&self.subject)
    }

    /// The tickets the message may belong to, in the order they are
    /// tried; the store loads those that exist.
    pub fn candidate_tickets(&self) -> Vec<TicketId> {
        let mut ids = Vec::new();
        for id in [
            self.addressed_ticket,
            self.referenced_ticket,
            self.subject_ticket(),
        ]
        .into_iter()
        .flatten()
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The subject as sent, cut to fit: what a held message shows.
    pub fn record_subject(&self) -> String {
        let subject = self.subject.trim().replace('\0', "");
        match subject.is_empty() {
            true => NO_SUBJECT.to_owned(),
            false => subject.chars().take(SUBJECT_MAX_CHARS).collect(),
        }
    }

    /// The subject a new ticket gets: without the reply and forward marks
    /// and ticket numbers a mail client and our mail put before it (a
    /// follow-up of `[#7] Printer` is `Printer`, not `Re: [#7] Printer`),
    /// cut to fit, `(no subject)` when nothing is left.
    pub fn ticket_subject(&self) -> String {
        let mut rest = self.subject.trim();
        while let Some(next) = without_reply_mark(rest).or_else(|| without_ticket_tag(rest)) {
            rest = next;
        }
        InboundMail {
            subject: rest.to_owned(),
            ..self.clone()
        }
        .record_subject()
    }

    /// The text a reply or a new ticket gets: quoted text trimmed when it
    /// can be recognised (`replying`), cut with a marker to fit the body
    /// limit, `(no text)` when nothing is left.
    pub fn body(&self, replying: bool) -> String {
        let text = match replying {
            true => quoting::trim_quoted(&self.text),
            false => self.text.as_str(),
        };
        fit_body(text)
    }
}

/// `text` as a body: NUL characters removed, trimmed, cut with
/// [`CUT_MARKER`] to at most [`BODY_MAX_CHARS`], `(no text)` when blank.
pub fn fit_body(text: &str) -> String {
    let text = text.replace('\0', "");
    let text = text.trim();
    if text.is_empty() {
        return NO_TEXT.to_owned();
    }
    if text.chars().count() <= BODY_MAX_CHARS {
        return text.to_owned();
    }
    let keep = BODY_MAX_CHARS - CUT_MARKER.chars().count();
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(CUT_MARKER);
    cut
}

/// `subject` after a leading `Re:`, `Fwd:`... (any case).
fn without_reply_mark(subject: &str) -> Option<&str> {
    let (mark, after) = subject.split_once(':')?;
    let known = REPLY_MARKS
        .iter()
        .any(|known| mark.trim().eq_ignore_ascii_case(known));
    known.then(|| after.trim_start())
}

/// `subject` after a leading `[#123]`.
fn without_ticket_tag(subject: &str) -> Option<&str> {
    let (number, after) = subject.strip_prefix("[#")?.split_once(']')?;
    let digits = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
    digits.then(|| after.trim_start())
}

/// The number in the first `[#123]` of a subject.
pub fn ticket_in_subject(subject: &str) -> Option<TicketId> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let id = after[..digits].parse::<i64>().ok().filter(|id| *id > 0);
        if let Some(id) = id.filter(|_| after[digits..].starts_with(']')) {
            return Some(TicketId(id));
        }
        rest = after;
    }
    None
}

/// What the store knows about a message's sender and tickets.
#[derive(Debug, Clone)]
pub struct Known {
    /// A message with this key was taken before.
    pub already_taken: bool,
    /// The account whose address is the sender's, if any.
    pub sender: Option<User>,
    /// Messages from this address taken in the hour before this one.
    pub sent_last_hour: u32,
    /// At most this many an hour (`INBOUND_SENDER_LIMIT`).
    pub sender_limit: u32,
    /// Those of [`InboundMail::candidate_tickets`] that exist, locked.
    pub tickets: Vec<Ticket>,
}

/// Who wrote the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// An active account with the sender's address.
    Account(Actor),
    /// No account has this address: a new customer is made for it.
    NewCustomer(EmailAddress),
}

/// What becomes of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Taken before: nothing changes.
    Duplicate,
    /// Machine mail: recorded, nothing else (no ticket, no mail back).
    Ignored(Ignored),
    /// Kept for staff to look at, for `reason`; `ticket` is the one it
    /// belongs to, if it was found.
    Held {
        reason: Cow<'static, str>,
        ticket: Option<TicketId>,
    },
    /// The sender's public reply on `ticket`.
    Append { ticket: TicketId, author: Actor },
    /// A new ticket by `author`, following up `follow_up_of` when set (a
    /// customer's mail to their resolved ticket).
    Create {
        author: Sender,
        follow_up_of: Option<TicketId>,
    },
}

impl Outcome {
    /// The words of a held message's record and of a new ticket's.
    pub const HELD: &'static str = "held";
    pub const CREATED: &'static str = "created";

    /// The word the API answers and the record keeps.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Ignored(_) => "ignored",
            Self::Held { .. } => Self::HELD,
            Self::Append { .. } => "appended",
            Self::Create { .. } => Self::CREATED,
        }
    }
}

/// Why a deactivated account's mail is held.
pub const HELD_DEACTIVATED: &str = "the sender's account is deactivated";
/// Why mail to a ticket its sender may not see is held.
pub const HELD_NOT_THEIRS: &str = "the sender is neither the ticket's customer nor staff";

/// Decides what becomes of `mail`, given what the store knows. In order:
/// a duplicate changes nothing; machine mail is ignored; a deactivated
/// sender's mail, and an address over its hourly limit, is held; then the
/// first ticket it belongs to (its reply address, one of our ids it
/// answers, `[#123]` in the subject for that ticket's own customer) gets
/// the sender's reply, by the same rule as over HTTP, or the message is
/// held with the rule's refusal (a customer's mail to their resolved
/// ticket opens a follow-up instead); mail that belongs to no ticket opens
/// one, which only a customer may.
pub fn decide_inbound(mail: &InboundMail, known: &Known, now: DateTime<Utc>) -> Outcome {
    if known.already_taken {
        return Outcome::Duplicate;
    }
    let signals = mail.signals;
    let ignored = if signals.from_ourselves {
        Some(Ignored::OwnMail)
    } else if signals.bounce {
        Some(Ignored::Bounce)
    } else if signals.auto_reply {
        Some(Ignored::AutoReply)
    } else if signals.bulk {
        Some(Ignored::Bulk)
    } else {
        None
    };
    if let Some(ignored) = ignored {
        return Outcome::Ignored(ignored);
    }
    let ticket = belongs_to(mail, known);
    let held = |reason: Cow<'static, str>| Outcome::Held {
        reason,
        ticket: ticket.map(|ticket| ticket.id),
    };
    let sender = match &known.sender {
        Some(user) if !user.active => return held(HELD_DEACTIVATED.into()),
        Some(user) => Sender::Account(Actor::authenticated(user.id, user.role)),
        None => Sender::NewCustomer(mail.from.clone()),
    };
    if known.sent_last_hour >= known.sender_limit {
        return held(
            format!(
                "over the limit of {} messages an hour from one address",
                known.sender_limit
            )
            .into(),
        );
    }
    let Some(ticket) = ticket else {
        return match sender {
            Sender::Account(actor) if actor.role() != Role::Customer => {
                held("staff mail that answers no ticket opens none".into())
            }
            author => Outcome::Create {
                author,
                follow_up_of: None,
            },
        };
    };
    // A new address writing to a ticket is no one the ticket knows.
    let Sender::Account(actor) = sender else {
        return held(HELD_NOT_THEIRS.into());
    };
    let follows_up = actor.role() == Role::Customer
        && ticket.author == actor.id()
        && ticket.status == TicketStatus::Resolved;
    if follows_up {
        return Outcome::Create {
            author: sender,
            follow_up_of: Some(ticket.id),
        };
    }
    match decide_reply(actor, ticket.facts(), ReplyKind::Public, now) {
        Ok(_) => Outcome::Append {
            ticket: ticket.id,
            author: actor,
        },
        Err(Refusal::NotFound) => held(HELD_NOT_THEIRS.into()),
        Err(refusal) => held(refusal.to_string().into()),
    }
}

/// The first of the message's tickets that exists: its reply address, one
/// of our ids it answers, then `[#123]`, but that one only for the
/// ticket's own customer (a subject is anyone's to write).
fn belongs_to<'a>(mail: &InboundMail, known: &'a Known) -> Option<&'a Ticket> {
    let existing = |id: TicketId| known.tickets.iter().find(|ticket| ticket.id == id);
    let by_header = [mail.addressed_ticket, mail.referenced_ticket]
        .into_iter()
        .flatten()
        .find_map(existing);
    by_header.or_else(|| {
        let ticket = existing(mail.subject_ticket()?)?;
        let sender = known.sender.as_ref()?;
        (sender.role == Role::Customer && ticket.author == sender.id).then_some(ticket)
    })
}

/// Usernames to try, in order, for a customer made from an address: its
/// local part in the characters a username takes, then with `-2`, `-3`...
pub fn usernames_for(address: &EmailAddress) -> impl Iterator<Item = Username> {
    let local = address.as_str().split('@').next().unwrap_or_default();
    let mut base: String = local
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') => c,
            _ => '-',
        })
        .take(USERNAME_MAX_CHARS - 8)
        .collect();
    if base.trim_matches(['.', '_', '-']).is_empty() {
        base = "customer".to_owned();
    }
    (1u32..).filter_map(move |n| {
        let name = match n {
            1 => base.clone(),
            n => format!("{base}-{n}"),
        };
        Username::parse(name).ok()
    })
}

/// The actor a new customer made from mail acts as.
pub fn new_customer_actor(user: &User) -> Actor {
    Actor::authenticated(user.id, Role::Customer)
}

#[cfg(test)]
mod tests;
