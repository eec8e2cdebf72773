//! The support tracker's rules, free of I/O.
//!
//! Everything a request carries is parsed here into a type that cannot hold an
//! invalid value ([`values`], [`listing`], [`workflow`], [`sla`], [`search`]); every
//! business rule is one pure function in [`rules`], [`triage`] or [`login`]
//! that returns either the decision, with the [`history`] events a ticket's
//! change records, or a [`Refusal`] whose kind fixes the HTTP status the API
//! answers. The `store` action that performs a change is the one place that
//! asks these rules.

pub mod cursor;
pub mod entities;
pub mod history;
pub mod listing;
pub mod login;
pub mod report;
pub mod roles;
pub mod rules;
pub mod search;
pub mod sla;
#[cfg(test)]
mod ticket_life;
pub mod triage;
pub mod values;
pub mod workflow;

pub use cursor::{CursorKey, Position, SortValue};
pub use entities::{Reply, Ticket, TicketFacts, User};
pub use history::{Event, EventKind, EventType, NewEvent};
pub use listing::{Direction, ListTickets, ListUsers, Page, PageRequest, Paging, SortField, Start};
pub use login::{BrowserSession, Credentials, LoggedIn, SessionEpoch};
pub use roles::{Actor, Role, TicketStatus, UserId};
pub use rules::{Creator, Refusal, UserChange};
pub use search::{SearchQuery, TicketDocuments};
pub use sla::{DueTimes, SlaTargets};
pub use triage::TicketChange;
pub use values::{Pin, ReplyBody, Subject, TicketBody, Username, ValidationError};
pub use workflow::{Priority, Tag, TagSet};
