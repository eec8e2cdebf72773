//! Who acts: the roles, and the authenticated actor every rule is asked for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::values::ValidationError;

/// A user's role; its spellings are those of the original service.
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

/// The authenticated caller of an operation: its id and its current role.
///
/// Only authentication makes one (`login::decide_session` and the
/// browser session's twin, from the account as the database has it now),
/// so a value of this type is proof that its role was checked: the rules
/// trust it, and no door can make an admin of whoever it likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    id: UserId,
    role: Role,
}

impl Actor {
    /// The account a session proved, in its current role.
    pub(crate) const fn authenticated(id: UserId, role: Role) -> Self {
        Self { id, role }
    }

    /// An actor without authentication, for tests and development tools
    /// (the seed); the server never enables this.
    #[cfg(any(test, feature = "test-support"))]
    pub const fn for_tests(id: UserId, role: Role) -> Self {
        Self { id, role }
    }

    pub fn id(self) -> UserId {
        self.id
    }

    pub fn role(self) -> Role {
        self.role
    }
}

/// The actors the crate's tests share.
#[cfg(test)]
pub(crate) mod test_actors {
    use super::{Actor, Role};
    use crate::ids::UserId;

    pub(crate) const OWNER: Actor = Actor::for_tests(UserId(1), Role::Customer);
    pub(crate) const OTHER_CUSTOMER: Actor = Actor::for_tests(UserId(2), Role::Customer);
    pub(crate) const AGENT: Actor = Actor::for_tests(UserId(3), Role::SupportAgent);
    pub(crate) const ADMIN: Actor = Actor::for_tests(UserId(4), Role::Admin);
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
    fn a_role_is_written_as_its_wire_spelling() {
        for role in Role::ALL {
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(format!("role {}", Role::SupportAgent), "role SUPPORT_AGENT");
    }

    #[test]
    fn unknown_spellings_are_errors_not_panics() {
        assert!("admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }
}
