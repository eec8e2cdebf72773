//! The support tracker's rules, free of I/O.
//!
//! Everything a request carries is parsed here into a type that cannot hold an
//! invalid value ([`values`], [`listing`]); every business rule is one pure
//! function in [`rules`] that returns either the decision or a [`Refusal`]
//! whose kind fixes the HTTP status the API answers.

pub mod entities;
pub mod listing;
pub mod roles;
pub mod rules;
pub mod throttle;
pub mod values;

pub use entities::{Reply, Ticket, TicketFacts, User};
pub use listing::{Direction, ListTickets, ListUsers, PageRequest, SortField};
pub use roles::{Actor, Role, TicketStatus, UserId};
pub use rules::Refusal;
pub use values::{Pin, ReplyBody, Subject, TicketBody, Username, ValidationError};
