//! Inbound mail, shared by its doors (the HTTP endpoint the mailgate posts
//! to, and the IMAP poller): reading a raw message with a real MIME parser
//! (`mail-parser`: every charset, encoded words, quoted-printable, base64,
//! HTML-only mail turned into text) into the facts `domain::inbound`
//! decides on, and taking it through the store in one transaction. The
//! memory the messages being read take is bounded here, for every door.

use std::sync::Arc;

use domain::inbound::{InboundMail, LoopSignals};
use domain::{EmailAddress, TicketId};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders as _, PartType};
use sha2::{Digest as _, Sha256};
use store::{Store, Taken};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::keys::Keys;
use crate::problem::Problem;

/// The largest message taken by default (`MAX_EMAIL_BYTES`): 25 MiB.
pub const DEFAULT_MAX_EMAIL_BYTES: usize = 25 * 1024 * 1024;
/// The bytes of messages being read at once in one process, whatever their
/// number: a message over it is read alone. 20 messages of 25 MiB at once
/// then take about one message's memory, not twenty.
pub const READING_BUDGET_BYTES: usize = 32 * 1024 * 1024;
/// The text read from a message, at most: quoted text is looked for in it,
/// then a body is cut to the API's limit (the original keeps everything).
const TEXT_READ_CHARS: usize = 100_000;
/// The HTML of an HTML-only message made text, at most: rendering builds
/// a tree of it, and the text a body keeps is far shorter.
const HTML_READ_BYTES: usize = 1024 * 1024;
/// Lines of HTML made text are wrapped only past this: a paragraph stays
/// one line, as a plain text part has it.
const HTML_TEXT_WIDTH: usize = 10_000;

/// How inbound mail is set up (`INBOUND_*`, `MAX_EMAIL_BYTES`).
#[derive(Debug, Clone)]
pub struct InboundSettings {
    /// The support address (`INBOUND_ADDRESS`); each ticket's reply
    /// address is `<local>+<ticketId>.<tag>@<domain>`.
    pub address: EmailAddress,
    /// What the endpoint's callers prove themselves with (`INBOUND_TOKEN`);
    /// without it the endpoint is off (404) and only IMAP brings mail in.
    pub token: Option<String>,
    pub max_bytes: usize,
    /// Messages an address may send an hour (`INBOUND_SENDER_LIMIT`).
    pub sender_limit: u32,
    /// Our own sender (`MAIL_FROM`'s address), when mail goes out: mail
    /// from it is ours come back.
    pub mail_from: Option<EmailAddress>,
    /// The right-hand side of the ids our mail carries (`PUBLIC_URL`'s
    /// host): `<ticket-N@host>` in `References` names ticket N.
    pub message_id_host: Option<String>,
}

/// Inbound mail in one server process: its settings and the budget of
/// bytes being read at once.
#[derive(Debug)]
pub struct Inbound {
    pub settings: InboundSettings,
    reading: Arc<Semaphore>,
}

/// A message that can be taken by no one: it has no usable `From`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub &'static str);

impl Inbound {
    pub fn new(settings: InboundSettings) -> Self {
        Self {
            settings,
            reading: Arc::new(Semaphore::new(budget_units(READING_BUDGET_BYTES))),
        }
    }

    /// Waits until a message of `bytes` may be read into memory; the place
    /// is held until the permit is dropped.
    pub async fn place_for(&self, bytes: usize) -> OwnedSemaphorePermit {
        let units = budget_units(bytes.min(READING_BUDGET_BYTES)).max(1);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        Arc::clone(&self.reading)
            .acquire_many_owned(units)
            .await
            .expect("the reading budget is never closed")
    }

    /// Reads and takes one raw message: the outcome, or why not. Its
    /// bytes must already hold a place ([`Inbound::place_for`]).
    pub async fn take(&self, store: &Store, keys: &Keys, raw: Vec<u8>) -> Result<Taken, Problem> {
        let mail = read_message(&self.settings, keys, &raw)
            .map_err(|unreadable| Problem::Invalid(unreadable.to_string()))?;
        let store = store.clone();
        let limit = self.settings.sender_limit;
        tokio::task::spawn_blocking(move || store.take_inbound_mail(&mail, &raw, limit))
            .await
            .map_err(Problem::internal)?
            .map_err(Problem::from)
    }

    /// Whether a caller of the HTTP endpoint may hand a message over: the
    /// endpoint is on (`INBOUND_TOKEN` set, else it does not exist) and
    /// `sent` is its token.
    pub fn admit(&self, sent: &str) -> Result<(), Problem> {
        let expected = self.settings.token.as_deref().ok_or(Problem::NotFound)?;
        match same_secret(sent, expected) {
            true => Ok(()),
            false => Err(Problem::Unauthenticated(
                "the inbound mail token is missing or wrong",
            )),
        }
    }

    /// Ticket `ticket`'s reply address.
    pub fn reply_address(&self, keys: &Keys, ticket: TicketId) -> String {
        reply_address(&self.settings.address, keys, ticket)
    }
}

/// Whether a message refused with `status` may be taken if delivered
/// again: a 5xx (the database away or busy, a fault of ours) or a 429.
/// Every door that hands messages over keeps those for later (the
/// mailgate's exit 75, the IMAP poller's message left unseen) and gives
/// up on the rest.
pub fn may_pass(status: u16) -> bool {
    status >= 500 || status == 429
}

/// The budget counts KiB, so a semaphore's permits hold any size.
fn budget_units(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// `support+<ticketId>.<tag>@example.com` for `support@example.com`.
pub fn reply_address(address: &EmailAddress, keys: &Keys, ticket: TicketId) -> String {
    let (local, domain) = split(address.as_str());
    format!(
        "{local}+{}.{}@{domain}",
        ticket.0,
        keys.reply_address_tag(ticket)
    )
}

/// The ticket of a reply address of `address` with a tag that checks out.
fn ticket_of_reply_address(address: &EmailAddress, keys: &Keys, to: &str) -> Option<TicketId> {
    let (local, domain) = split(address.as_str());
    let (to_local, to_domain) = split(to);
    if !to_domain.eq_ignore_ascii_case(domain) {
        return None;
    }
    let rest = to_local.to_ascii_lowercase();
    let rest = rest.strip_prefix(local)?.strip_prefix('+')?;
    let (id, tag) = rest.split_once('.')?;
    let ticket = TicketId(id.parse::<i64>().ok().filter(|id| *id > 0)?);
    // A tag is a secret per ticket.
    same_secret(tag, &keys.reply_address_tag(ticket)).then_some(ticket)
}

/// Whether two secrets are equal, in time that does not depend on where
/// they differ.
fn same_secret(sent: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

/// An address's local part and domain (the domain empty without an `@`).
fn split(address: &str) -> (&str, &str) {
    address.rsplit_once('@').unwrap_or((address, ""))
}

/// Whether `from` is one of ours: `MAIL_FROM`, the support address, or a
/// reply address of it.
fn is_ours(settings: &InboundSettings, from: &EmailAddress) -> bool {
    let (local, domain) = split(settings.address.as_str());
    let (from_local, from_domain) = split(from.as_str());
    settings.mail_from.as_ref() == Some(from)
        || (from_domain == domain
            && (from_local == local || from_local.starts_with(&format!("{local}+"))))
}

/// The facts of one raw message, or why it cannot be taken.
pub fn read_message(
    settings: &InboundSettings,
    keys: &Keys,
    raw: &[u8],
) -> Result<InboundMail, Unreadable> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable("the message could not be read as mail"))?;
    let from = message
        .from()
        .and_then(Address::first)
        .and_then(|addr| addr.address())
        .and_then(|address| EmailAddress::parse(address.trim()).ok())
        .ok_or(Unreadable("the message has no usable From address"))?;
    let message_key = match message.message_id().map(str::trim) {
        Some(id) if !id.is_empty() => format!("<{id}>"),
        _ => format!("sha256:{}", hex(&Sha256::digest(raw))),
    };
    let text = text_of(&message);
    let raw_header = |name: &'static str| message.header_raw(name).map(str::trim);
    let auto_submitted = raw_header("Auto-Submitted").is_some_and(|value| {
        let value = value.split(';').next().unwrap_or_default().trim();
        !value.eq_ignore_ascii_case("no")
    });
    let precedence = raw_header("Precedence")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let report = message.root_part().content_type().is_some_and(|kind| {
        kind.ctype().eq_ignore_ascii_case("multipart")
            && kind
                .subtype()
                .is_some_and(|sub| sub.eq_ignore_ascii_case("report"))
    });
    let signals = LoopSignals {
        auto_reply: auto_submitted
            || raw_header("X-Autoreply").is_some()
            || raw_header("X-Autorespond").is_some(),
        bulk: matches!(precedence.as_str(), "bulk" | "junk" | "list"),
        bounce: raw_header("Return-Path").is_some_and(|path| path == "<>") || report,
        from_ourselves: is_ours(settings, &from),
    };
    let recipients = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|address| address.iter())
        .filter_map(|addr| addr.address().map(str::to_owned))
        .chain(
            message
                .header_values("Delivered-To")
                .filter_map(|value| value.as_text().map(|text| text.trim().to_owned())),
        );
    let addressed_ticket = recipients
        .into_iter()
        .find_map(|to| ticket_of_reply_address(&settings.address, keys, to.trim()));
    let referenced_ticket = settings.message_id_host.as_deref().and_then(|host| {
        ids(message.in_reply_to())
            .chain(ids(message.references()))
            .find_map(|id| ticket_of_message_id(id, host))
    });
    Ok(InboundMail {
        message_key,
        from,
        subject: message.subject().unwrap_or_default().to_owned(),
        text,
        signals,
        addressed_ticket,
        referenced_ticket,
    })
}

/// The message's text, line ends as `\n`: its first text part as it is,
/// or, for an HTML-only message, its HTML made text by `html2text`
/// (mail-parser's own conversion breaks lines only at `<br>` and `</p>`,
/// so a reply's divs and Outlook's header block ran into one line): blocks
/// and list items on lines of their own, a `<blockquote>`'s lines marked
/// `> ` as a plain text reply quotes, links numbered with their addresses
/// listed at the end, no markup (no `**` for bold).
fn text_of(message: &Message<'_>) -> String {
    let text: String = match message.text_part(0).map(|part| &part.body) {
        Some(PartType::Text(text)) => text.chars().take(TEXT_READ_CHARS).collect(),
        Some(PartType::Html(html)) => html_as_text(html).chars().take(TEXT_READ_CHARS).collect(),
        _ => String::new(),
    };
    text.replace("\r\n", "\n")
}

/// `html` as plain text (at most its first [`HTML_READ_BYTES`]; a cut tag
/// is harmless to an HTML parser).
fn html_as_text(html: &str) -> String {
    let mut end = html.len().min(HTML_READ_BYTES);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .string_from_read(&html.as_bytes()[..end], HTML_TEXT_WIDTH)
        .unwrap_or_default()
}

/// The ids a header lists (`In-Reply-To`, `References`).
fn ids<'a>(value: &'a HeaderValue<'a>) -> impl Iterator<Item = &'a str> {
    let listed: Vec<&str> = match value {
        HeaderValue::Text(text) => vec![text.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    listed.into_iter()
}

/// N, for our `ticket-N@host` (angle brackets already taken off).
fn ticket_of_message_id(id: &str, host: &str) -> Option<TicketId> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(host) {
        return None;
    }
    let number = local.strip_prefix("ticket-")?.parse::<i64>().ok()?;
    (number > 0).then_some(TicketId(number))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
