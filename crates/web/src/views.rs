//! The pages' templates (askama: checked at compile time, every value
//! HTML-escaped) and the plain view values they show. Values are worded
//! here; templates only lay them out.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::{Role, TicketStatus};

use crate::assets;

/// Renders a page as `text/html`; a template that fails to render (a bug)
/// is logged and shown as a plain 500.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(error) => {
            edge::observe::in_request_span(
                || tracing::error!(cause = %error, "a template failed to render"),
            );
            (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
        }
    }
}

/// What every page's frame shows: its title, who is signed in (with the
/// CSRF token of their forms), and a notice from the last action.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub viewer: Option<Viewer>,
    pub notice: Option<&'static str>,
    pub stylesheet: &'static str,
    pub icon: &'static str,
}

impl Chrome {
    pub fn new(title: impl Into<String>, viewer: Option<Viewer>) -> Self {
        Self {
            title: title.into(),
            viewer,
            notice: None,
            stylesheet: assets::stylesheet_url(),
            icon: assets::icon_url(),
        }
    }

    pub fn with_notice(mut self, notice: Option<&'static str>) -> Self {
        self.notice = notice;
        self
    }
}

/// The signed-in user as the frame shows them, and what the frame offers
/// them (as `domain` decides it).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub username: String,
    pub role: Role,
    /// Staff work the queue; a customer has their own tickets.
    pub staff: bool,
    /// The accounts page is offered.
    pub manages_users: bool,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Viewer {
    pub fn role_label(&self) -> &'static str {
        role_label(self.role)
    }
}

/// One `<option>` of a `<select>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Self {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

/// Everything but the unreserved characters and `/` is escaped: a query
/// value (a path to come back to, a search, a cursor) as links carry it.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `value` percent-encoded for a link's query string.
pub fn query_value(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A message from the rules ("the ticket is resolved ...") as a sentence.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let mut text: String = first.to_uppercase().chain(chars).collect();
            if !text.ends_with(['.', '!', '?']) {
                text.push('.');
            }
            text
        }
        None => String::new(),
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Customer => "Customer",
        Role::SupportAgent => "Support agent",
        Role::Admin => "Admin",
    }
}

pub fn status_label(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Unattended => "Waiting for an agent",
        TicketStatus::Replied => "Answered",
        TicketStatus::Resolved => "Resolved",
    }
}

/// The class of a status badge (fixed words, never user text).
pub fn status_class(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Unattended => "badge badge-waiting",
        TicketStatus::Replied => "badge badge-answered",
        TicketStatus::Resolved => "badge badge-resolved",
    }
}

/// A time as the pages show it: UTC, to the minute, with a machine-readable
/// twin for `<time datetime>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub text: String,
    pub iso: String,
}

impl When {
    pub fn of(at: DateTime<Utc>) -> Self {
        Self {
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub heading: &'static str,
    pub message: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, message: String) -> Self {
        let heading = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "That cannot be done now",
            StatusCode::TOO_MANY_REQUESTS => "Slow down",
            StatusCode::BAD_REQUEST => "Something in the request is not right",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            _ => "Something went wrong",
        };
        Self {
            chrome: Chrome::new(heading, None),
            status: status.as_u16(),
            heading,
            message: sentence(&message),
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub chrome: Chrome,
    /// Sign-up (a customer's new account) rather than sign-in.
    pub signing_up: bool,
    /// Where to go once signed in (a local path).
    pub next: String,
    pub username: String,
    /// The sign-up form's optional address, as typed.
    pub email: String,
    pub error: Option<String>,
    /// Whether to offer a PIN reset by mail (only a server that sends
    /// mail does).
    pub offers_pin_reset: bool,
}

/// Asking for a PIN reset link (`token: None`), or choosing the new PIN
/// with one.
#[derive(Debug, Template)]
#[template(path = "reset_pin.html")]
pub struct ResetPinPage {
    pub chrome: Chrome,
    /// The link's token, carried by the new-PIN form.
    pub token: Option<String>,
    /// The username or address, as typed.
    pub account: String,
    pub link_minutes: i64,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "tickets.html")]
pub struct TicketsPage {
    pub chrome: Chrome,
    pub staff: bool,
    pub filters: QueueFilters,
    pub rows: Vec<TicketRow>,
    pub next_url: Option<String>,
    pub first_url: Option<String>,
    pub empty_message: &'static str,
    pub error: Option<String>,
}

/// The queue's filter form, as asked (kept when a filter is refused).
#[derive(Debug, Clone, Default)]
pub struct QueueFilters {
    pub statuses: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub breached: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub directions: Vec<Choice>,
    pub tag: String,
    pub q: String,
    /// Whether any filter is set (the empty state says so).
    pub any: bool,
}

#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: i64,
    pub subject: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub priority: &'static str,
    pub assignee: String,
    /// Who opened it, for staff.
    pub requester: Option<String>,
    pub updated: When,
    pub breached: bool,
}

#[derive(Debug, Template)]
#[template(path = "new_ticket.html")]
pub struct NewTicketPage {
    pub chrome: Chrome,
    pub subject: String,
    pub body: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub chrome: Chrome,
    pub id: i64,
    pub subject: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub priority: &'static str,
    /// Who holds the ticket, as the viewer knows them.
    pub assignee: String,
    pub opened_by: String,
    /// Who opened the ticket, for staff (a customer is the requester).
    pub requester: Option<RequesterView>,
    pub created: When,
    pub updated: When,
    pub resolved: Option<When>,
    pub thread: Vec<ThreadEntry>,
    pub more_replies_url: Option<String>,
    pub reply: ReplyBox,
    /// Staff write internal notes; `None` for a customer.
    pub note_draft: Option<String>,
    pub can_resolve: bool,
    pub triage: Option<TriageForm>,
    pub sla: SlaView,
    pub history: Vec<HistoryEntry>,
    pub more_history_url: Option<String>,
    pub error: Option<String>,
    /// The resolved ticket this one follows up (opened by mail to it).
    pub follow_up_of: Option<i64>,
    /// The tickets that follow this one up.
    pub followed_up_in: Vec<i64>,
    /// Mail held for this ticket, not dismissed (staff only; empty for a
    /// customer).
    pub held: Vec<HeldLink>,
}

/// A held message as a ticket's page lists it.
#[derive(Debug, Clone)]
pub struct HeldLink {
    pub id: i64,
    pub reason: String,
    pub received: When,
}

#[derive(Debug, Clone)]
pub struct ThreadEntry {
    pub anchor: String,
    pub author: String,
    pub when: When,
    pub body: String,
    /// An internal note (staff only), shown apart.
    pub note: bool,
    /// Written by the viewer.
    pub mine: bool,
    /// Where the message it came from by mail is kept, for staff.
    pub original_url: Option<String>,
}

/// The account that opened a ticket, as staff see it beside the ticket.
#[derive(Debug, Clone)]
pub struct RequesterView {
    pub username: String,
    /// The address, when the viewer sees it and there is one.
    pub email: Option<EmailLink>,
    /// The viewer sees the address, and there is none.
    pub no_address: bool,
}

/// An address to show, and its `mailto:` link.
#[derive(Debug, Clone)]
pub struct EmailLink {
    pub address: String,
    pub href: String,
}

impl RequesterView {
    pub fn of(seen: &domain::SeenUser) -> Self {
        let email = seen.user.email.as_ref().map(|address| EmailLink {
            address: address.as_str().to_owned(),
            href: mailto(address.as_str()),
        });
        Self {
            username: seen.user.username.clone(),
            no_address: seen.shows_email && email.is_none(),
            email,
        }
    }
}

/// `mailto:` and the address, percent-encoded but for the characters a
/// `mailto:` URL carries as they are (RFC 6068): letters, digits, `@`,
/// `.`, `-`, `_`, `~` and `+`.
pub fn mailto(address: &str) -> String {
    let mut url = String::from("mailto:");
    for byte in address.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'@' | b'.' | b'-' | b'_' | b'~' | b'+' => {
                url.push(char::from(byte));
            }
            _ => url.push_str(&format!("%{byte:02X}")),
        }
    }
    url
}

/// The public reply box: open, or shut with the rules' reason.
#[derive(Debug, Clone)]
pub struct ReplyBox {
    pub disabled_reason: Option<String>,
    pub draft: String,
}

#[derive(Debug, Clone)]
pub struct TriageForm {
    pub priorities: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub tags: String,
}

#[derive(Debug, Clone)]
pub struct SlaView {
    pub first_response_due: When,
    pub first_response_at: Option<When>,
    pub resolution_due: When,
    pub breached: bool,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub when: When,
    pub who: String,
    pub what: String,
}

#[derive(Debug, Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub roles: Vec<Choice>,
    pub rows: Vec<UserRow>,
    pub next_url: Option<String>,
    pub first_url: Option<String>,
    pub new_username: String,
    pub new_email: String,
    pub new_roles: Vec<Choice>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: &'static str,
    pub active: bool,
    /// The account's address, to a viewer who sees it.
    pub email: Option<String>,
    pub created: When,
    pub roles: Vec<Choice>,
    pub is_me: bool,
}

#[derive(Debug, Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub username: String,
    pub role: &'static str,
    pub tokens: Vec<TokenRow>,
    /// A token just created, shown on this page only: the database keeps
    /// its digest, so it cannot be shown again.
    pub created: Option<CreatedToken>,
    /// What the create form held, shown again when it was refused.
    pub new_name: String,
    pub new_days: String,
    pub new_read_only: bool,
    pub error: Option<String>,
    /// The account's own address, as saved.
    pub email: Option<String>,
    /// What the address form holds: the saved address, or what was typed
    /// when it was refused.
    pub email_typed: String,
    pub email_error: Option<String>,
    /// Each kind of mail the account can get, with whether it is on.
    pub notifications: Vec<NotificationRow>,
}

/// One kind of notification, as the account page and the unsubscribe
/// page name it.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    /// The kind's name (the form field's).
    pub name: &'static str,
    pub label: &'static str,
    pub on: bool,
}

impl NotificationRow {
    pub fn of(kind: domain::NotificationKind, staff: bool, on: bool) -> Self {
        Self {
            name: kind.name(),
            label: notification_label(kind, staff),
            on,
        }
    }
}

/// What a kind of notification is, in a reader's words.
pub fn notification_label(kind: domain::NotificationKind, staff: bool) -> &'static str {
    use domain::NotificationKind as K;
    match (kind, staff) {
        (K::TicketCreated, false) => "When I open a ticket: a note that it was received",
        (K::TicketCreated, true) => {
            "New tickets (and customers' replies and missed targets on unassigned tickets)"
        }
        (K::PublicReply, false) => "Replies from support",
        (K::PublicReply, true) => "Public replies by others on tickets assigned to me",
        (K::CustomerReply, _) => "Customers' replies on tickets assigned to me",
        (K::InternalNote, _) => "Internal notes by others on tickets assigned to me",
        (K::StatusChanged, false) => "Changes of my tickets' status",
        (K::StatusChanged, true) => "Status changes on tickets assigned to me",
        (K::Assigned, _) => "Tickets assigned to me",
        (K::SlaBreached, _) => "Missed SLA targets on tickets assigned to me",
    }
}

/// The one-click unsubscribe page: what the link turns off, and the
/// button that does it (or that it is done).
#[derive(Debug, Template)]
#[template(path = "unsubscribe.html")]
pub struct UnsubscribePage {
    pub chrome: Chrome,
    pub label: &'static str,
    /// The link's token, for the button's form.
    pub token: String,
    pub done: bool,
}

/// One of the account's API tokens, as the account page lists it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub read_only: bool,
    pub created: When,
    /// `None`: it lasts until revoked.
    pub expires: Option<When>,
    pub expired: bool,
    /// `None`: never used.
    pub last_used: Option<When>,
}

/// A token just created: its name and the token itself.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub name: String,
    pub token: String,
}

#[derive(Debug, Template)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    pub chrome: Chrome,
    pub rows: Vec<EndpointRow>,
}

/// A webhook endpoint on its page.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
    pub failing_since: Option<When>,
    pub deliveries: Vec<DeliveryRow>,
}

/// One delivery attempt on the webhooks page.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: String,
    pub kind: String,
    pub at: When,
    pub status: String,
    pub duration_ms: i64,
    pub error: String,
    pub succeeded: bool,
}

/// The held mail, newest first.
#[derive(Debug, Template)]
#[template(path = "held.html")]
pub struct HeldListPage {
    pub chrome: Chrome,
    pub rows: Vec<HeldRow>,
    pub next_url: Option<String>,
    pub first_url: Option<String>,
    pub empty_message: &'static str,
}

/// One held message in the list.
#[derive(Debug, Clone)]
pub struct HeldRow {
    pub id: i64,
    pub received: When,
    pub sender: HeldSender,
    pub ticket: Option<i64>,
    pub reason: String,
    pub subject: String,
}

/// Who sent a held message: the address, and the account it belongs to
/// when there is one.
#[derive(Debug, Clone)]
pub struct HeldSender {
    pub address: String,
    pub account: Option<String>,
}

/// One held message: what it says, why it was held, and what to do with it.
#[derive(Debug, Template)]
#[template(path = "held_message.html")]
pub struct HeldMessagePage {
    pub chrome: Chrome,
    pub id: i64,
    pub received: When,
    pub sender: HeldSender,
    pub ticket: Option<i64>,
    pub reason: String,
    pub subject: String,
    pub body: String,
    /// When and by whom it was dismissed; `None` while it waits.
    pub dismissed: Option<Dismissed>,
}

#[derive(Debug, Clone)]
pub struct Dismissed {
    pub at: When,
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailto_link_carries_the_address_and_encodes_what_a_url_may_not_hold() {
        assert_eq!(
            mailto("kayode.a+help@example.com"),
            "mailto:kayode.a+help@example.com"
        );
        assert_eq!(
            mailto("a?b%c#d&e@example.com"),
            "mailto:a%3Fb%25c%23d%26e@example.com"
        );
        assert_eq!(mailto("é@example.com"), "mailto:%C3%A9@example.com");
    }
}
