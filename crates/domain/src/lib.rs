//! The support tracker's rules, free of I/O.
//!
//! Everything a request carries is parsed here into a type that cannot hold
//! an invalid value ([`values`], with what shows on screen in [`visible`], [`ids`], [`workflow`], [`paging`],
//! [`ticket_list`], [`sla`], [`search`]). Every business rule is one pure
//! function ([`tickets`], [`triage`], [`accounts`], [`login`],
//! [`api_tokens`], [`pin_reset`], [`report`])
//! that returns the decision, with the [`history`] events a ticket's change
//! records, or a [`Refusal`] saying why not. What each viewer sees is
//! decided in [`audience`], who is told of a change by mail in [`notify`], and, for a ticket's whole page, [`view`]; the
//! version of what a viewer sees, for conditional requests, in
//! [`conditional`]; what a request that brings an idempotency key already
//! seen gets, in [`idempotency`]. The `store` action that performs a change is the one place that asks these
//! rules; the doors only render what comes back.

pub mod accounts;
pub mod api_tokens;
pub mod attachments;
pub mod audience;
pub mod conditional;
pub mod cursor;
pub mod entities;
pub mod held;
pub mod history;
pub mod idempotency;
pub mod ids;
pub mod inbound;
pub mod json;
pub mod login;
pub mod mail;
pub mod notify;
pub mod outbox;
pub mod paging;
pub mod pin_reset;
pub mod refusal;
pub mod report;
pub mod roles;
pub mod search;
pub mod sla;
#[cfg(test)]
mod ticket_life;
pub mod ticket_list;
pub mod tickets;
pub mod triage;
pub mod values;
pub mod view;
pub mod visible;
pub mod webhooks;
pub mod workflow;

pub use accounts::{Creator, ListUsers, UserChange};
pub use api_tokens::{Access, ApiToken, ApiTokenId, NewApiToken};
pub use audience::{Audience, Person, SeenTicket, SeenUser};
pub use conditional::{EntityTag, Precondition, TagList};
pub use cursor::{CursorKey, Position, SortValue};
pub use entities::{Reply, Ticket, TicketFacts, User};
pub use history::{Event, EventKind, EventType, NewEvent};
pub use ids::{TicketId, UserId};
pub use login::{BrowserSession, Credentials, LoggedIn, SessionEpoch};
pub use mail::{NotificationKind, NotificationMail, OutgoingMail, PinResetMail};
pub use outbox::{OutboxFilter, OutboxStatus};
pub use paging::{Page, PageRequest, Paging, Start, TicketRecords};
pub use refusal::Refusal;
pub use roles::{Actor, Role};
pub use search::{SearchQuery, TicketDocuments};
pub use sla::{DueTimes, SlaTargets};
pub use ticket_list::{Direction, ListTickets, SortField};
pub use tickets::ReplyKind;
pub use triage::TicketChange;
pub use values::{EmailAddress, Pin, ReplyBody, Subject, TicketBody, Username, ValidationError};
pub use view::{Directory, StaffMember, TicketView};
pub use webhooks::{DestinationPolicy, EventSet, RetrySchedule, WebhookEvent, WebhookUrl};
pub use workflow::{Priority, Tag, TagSet, TicketStatus};
