//! The ids of the records the tracker keeps: what a path or a form names a
//! user or a ticket by.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::{ValidationError, parse_id};

/// The database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A ticket's number, its public `ticketId`: handed out by the database,
/// increasing, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TicketId(pub i64);

impl TicketId {
    /// A ticket number as a path or form carries it: plain digits, from 1.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        parse_id(field, raw).map(TicketId)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_number_is_plain_digits_from_one() {
        assert_eq!(TicketId::parse("ticketId", "42"), Ok(TicketId(42)));
        for bad in ["0", "-1", "+1", " 1", "1e3", "", "99999999999999999999"] {
            let refused = TicketId::parse("ticketId", bad).expect_err(bad);
            assert_eq!(refused.field, "ticketId");
        }
        assert_eq!(TicketId(7).to_string(), "7");
    }

    #[test]
    fn a_user_id_is_written_as_its_number() {
        assert_eq!(UserId(42).to_string(), "42");
        assert_eq!(format!("/users/{}/pin", UserId(7)), "/users/7/pin");
    }
}
