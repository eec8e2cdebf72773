//! Who acts (roles, user ids) and the states a ticket moves through.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::ValidationError;

/// The database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A user's role; the wire spellings are those of the original service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    SupportAgent,
    Customer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::SupportAgent, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::SupportAgent => "SUPPORT_AGENT",
            Role::Customer => "CUSTOMER",
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new("role", "must be one of ADMIN, SUPPORT_AGENT, CUSTOMER")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's status; it only moves `UNATTENDED -> REPLIED -> RESOLVED`, or
/// from an unresolved state straight to `RESOLVED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Unattended,
    Replied,
    Resolved,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 3] = [
        TicketStatus::Unattended,
        TicketStatus::Replied,
        TicketStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Unattended => "UNATTENDED",
            TicketStatus::Replied => "REPLIED",
            TicketStatus::Resolved => "RESOLVED",
        }
    }
}

impl FromStr for TicketStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TicketStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new("status", "must be one of UNATTENDED, REPLIED, RESOLVED")
            })
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller of an operation: its id and its current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_use_the_original_wire_spellings() {
        for (role, text) in [
            (Role::Admin, "\"ADMIN\""),
            (Role::SupportAgent, "\"SUPPORT_AGENT\""),
            (Role::Customer, "\"CUSTOMER\""),
        ] {
            assert_eq!(serde_json::to_string(&role).ok().as_deref(), Some(text));
            assert_eq!(text.trim_matches('"').parse::<Role>(), Ok(role));
        }
    }

    #[test]
    fn statuses_use_the_original_wire_spellings() {
        for status in TicketStatus::ALL {
            let json = format!("\"{}\"", status.as_str());
            assert_eq!(serde_json::to_string(&status).ok(), Some(json.clone()));
            assert_eq!(
                serde_json::from_str::<TicketStatus>(&json).ok(),
                Some(status)
            );
        }
    }

    #[test]
    fn unknown_spellings_are_errors_not_panics() {
        assert!("admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
        assert!("Resolved".parse::<TicketStatus>().is_err());
        assert!(serde_json::from_str::<TicketStatus>("\"CLOSED\"").is_err());
    }
}
