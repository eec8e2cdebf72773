//! Accounts: who may create which, who may see and manage them, the rule
//! that always leaves an active admin, and the admins' list of them.

use crate::cursor::CursorKey;
use crate::ids::UserId;
use crate::paging::{PageRequest, Paging, by_id, caller};
use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::values::{EmailAddress, Pin, ValidationError};

/// Usernames are unique as typed; the database's unique index enforces it
/// and the store answers this when it does.
pub const USERNAME_TAKEN: Refusal = Refusal::Conflict("the username is taken");

/// Addresses are unique across accounts, whatever their case (they are
/// held lower-cased); the database's unique index enforces it.
pub const EMAIL_TAKEN: Refusal = Refusal::Conflict("the email address belongs to another account");

/// Who asks for a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creator {
    /// A request with no token: a sign-up.
    Anonymous,
    /// A logged-in user.
    User(Actor),
    /// Whoever runs `api create-user` on the server's host. They hold the
    /// database already, so they may create any account; this is how a
    /// deployment gets its first admin.
    Operator,
}

impl From<Option<Actor>> for Creator {
    fn from(actor: Option<Actor>) -> Self {
        actor.map_or(Creator::Anonymous, Creator::User)
    }
}

/// The role of a new account: a request without a role is a customer's own
/// sign-up. Anyone may create a customer; only an admin (or the operator)
/// creates staff; asking for staff unauthenticated is refused as such, and
/// by anyone else as forbidden.
pub fn decide_new_account_role(creator: Creator, requested: Option<Role>) -> Result<Role, Refusal> {
    let role = requested.unwrap_or(Role::Customer);
    match (role, creator) {
        (Role::Customer, _) | (_, Creator::Operator) => Ok(role),
        (_, Creator::User(actor)) if actor.role() == Role::Admin => Ok(role),
        (_, Creator::Anonymous) => Err(Refusal::Unauthenticated(
            "only a signed-in admin can create staff accounts",
        )),
        (_, Creator::User(_)) => Err(Refusal::Forbidden("only admins can create staff accounts")),
    }
}

/// Whether creating an account spends the sign-up budget of the address it
/// comes from. Every creation hashes a PIN and may probe a username, and a
/// signed-in customer can do both as fast as a stranger, so holding a token
/// exempts no one but an admin (who is still bounded by the hashing queue)
/// and the operator at the command line.
pub fn creation_spends_sign_up_budget(creator: Creator) -> bool {
    match creator {
        Creator::Anonymous => true,
        Creator::User(actor) => actor.role() != Role::Admin,
        Creator::Operator => false,
    }
}

/// Who may see an account: its owner, and admins.
pub fn may_view_account(actor: Actor, account: UserId) -> Result<(), Refusal> {
    if actor.id() == account || actor.role() == Role::Admin {
        Ok(())
    } else {
        Err(Refusal::NotFound)
    }
}

/// Rule 7: only admins manage users (list them, change their standing).
pub fn may_manage_users(actor: Actor) -> Result<(), Refusal> {
    match actor.role() {
        Role::Admin => Ok(()),
        Role::SupportAgent | Role::Customer => {
            Err(Refusal::Forbidden("only admins can manage users"))
        }
    }
}
/// A user's standing: what an admin may change about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub active: bool,
}

impl Standing {
    fn is_active_admin(self) -> bool {
        self.active && self.role == Role::Admin
    }
}

/// An admin's change to an account; `None` leaves a field as it is. A PIN
/// is how an admin resets a forgotten one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub pin: Option<Pin>,
    /// `Some(None)` clears the address.
    pub email: Option<Option<EmailAddress>>,
}

/// What an allowed change to an account writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountUpdate {
    pub standing: Standing,
    /// Every token issued before the change stops working: a PIN reset (the
    /// old PIN may have leaked) and a deactivation (reactivating later must
    /// not bring the old tokens back) end them.
    pub ends_sessions: bool,
}

/// The last-admin rule, for a change [`may_manage_users`] allowed: the
/// change must leave at least one active admin; `active_admins` counts them
/// before the change, the target included. Answers what to write, or
/// `None` when the change asks for what already is.
pub fn decide_user_change(
    before: Standing,
    change: &UserChange,
    active_admins: u64,
) -> Result<Option<AccountUpdate>, Refusal> {
    let after = Standing {
        role: change.role.unwrap_or(before.role),
        active: change.active.unwrap_or(before.active),
    };
    let removes_an_admin = before.is_active_admin() && !after.is_active_admin();
    if removes_an_admin && active_admins <= 1 {
        return Err(Refusal::Conflict("the change would leave no active admin"));
    }
    let resets_pin = change.pin.is_some();
    let deactivates = before.active && !after.active;
    // An address is written as asked (the store compares it); it ends no
    // session.
    let sets_email = change.email.is_some();
    Ok(
        (after != before || resets_pin || sets_email).then_some(AccountUpdate {
            standing: after,
            ends_sessions: resets_pin || deactivates,
        }),
    )
}

/// A request for a page of users, optionally of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListUsers {
    pub page: PageRequest,
    pub role: Option<Role>,
}

impl ListUsers {
    pub fn parse(
        paging: Paging<'_>,
        role: Option<&str>,
        actor: Actor,
        key: &CursorKey,
    ) -> Result<Self, ValidationError> {
        let role: Option<Role> = role.map(str::parse).transpose()?;
        let query = format!("users|{}|{role:?}", caller(actor));
        Ok(Self {
            page: PageRequest::parse(paging, key, &query, by_id)?,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::test_actors::{ADMIN, AGENT, OTHER_CUSTOMER, OWNER};

    const CREATORS: [Creator; 5] = [
        Creator::Anonymous,
        Creator::User(OWNER),
        Creator::User(AGENT),
        Creator::User(ADMIN),
        Creator::Operator,
    ];

    #[test]
    fn only_an_admin_and_the_operator_create_accounts_without_spending_the_sign_up_budget() {
        let spends: Vec<bool> = CREATORS
            .iter()
            .map(|creator| creation_spends_sign_up_budget(*creator))
            .collect();
        assert_eq!(spends, [true, true, true, false, false]);
        assert!(creation_spends_sign_up_budget(Creator::User(
            OTHER_CUSTOMER
        )));
    }

    #[test]
    fn a_request_without_a_role_signs_up_a_customer() {
        for creator in CREATORS {
            assert_eq!(decide_new_account_role(creator, None), Ok(Role::Customer));
        }
    }

    #[test]
    fn anyone_may_sign_up_as_a_customer_but_only_an_admin_creates_staff() {
        for creator in CREATORS {
            assert_eq!(
                decide_new_account_role(creator, Some(Role::Customer)),
                Ok(Role::Customer)
            );
        }
        for role in [Role::SupportAgent, Role::Admin] {
            assert!(matches!(
                decide_new_account_role(Creator::Anonymous, Some(role)),
                Err(Refusal::Unauthenticated(_))
            ));
            assert!(matches!(
                decide_new_account_role(Creator::User(OWNER), Some(role)),
                Err(Refusal::Forbidden(_))
            ));
            assert!(matches!(
                decide_new_account_role(Creator::User(AGENT), Some(role)),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(
                decide_new_account_role(Creator::User(ADMIN), Some(role)),
                Ok(role)
            );
            assert_eq!(
                decide_new_account_role(Creator::Operator, Some(role)),
                Ok(role),
                "the operator bootstraps staff"
            );
        }
    }

    const ACTIVE_ADMIN: Standing = Standing {
        role: Role::Admin,
        active: true,
    };
    const DEMOTE: UserChange = UserChange {
        role: Some(Role::SupportAgent),
        active: None,
        pin: None,
        email: None,
    };
    const DEACTIVATE: UserChange = UserChange {
        role: None,
        active: Some(false),
        pin: None,
        email: None,
    };

    fn update(role: Role, active: bool, ends_sessions: bool) -> Option<AccountUpdate> {
        Some(AccountUpdate {
            standing: Standing { role, active },
            ends_sessions,
        })
    }

    #[test]
    fn only_admins_manage_users() {
        assert_eq!(may_manage_users(ADMIN), Ok(()));
        assert!(matches!(
            may_manage_users(AGENT),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            may_manage_users(OWNER),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
        for change in [DEMOTE, DEACTIVATE] {
            assert!(matches!(
                decide_user_change(ACTIVE_ADMIN, &change, 1),
                Err(Refusal::Conflict(_))
            ));
        }
        assert_eq!(
            decide_user_change(ACTIVE_ADMIN, &DEMOTE, 2),
            Ok(update(Role::SupportAgent, true, false))
        );
        assert_eq!(
            decide_user_change(ACTIVE_ADMIN, &DEACTIVATE, 2),
            Ok(update(Role::Admin, false, true))
        );
        let agent = Standing {
            role: Role::SupportAgent,
            active: true,
        };
        let promote = UserChange {
            role: Some(Role::Admin),
            ..UserChange::default()
        };
        assert_eq!(
            decide_user_change(agent, &promote, 0),
            Ok(update(Role::Admin, true, false))
        );
    }

    #[test]
    fn a_pin_reset_or_a_deactivation_ends_sessions_and_nothing_else_does() {
        let reset = UserChange {
            pin: Some(Pin::parse("4821").expect("valid pin")),
            ..UserChange::default()
        };
        assert_eq!(
            decide_user_change(ACTIVE_ADMIN, &reset, 1),
            Ok(update(Role::Admin, true, true)),
            "a reset alone is a change, and the last admin may have one"
        );
        let inactive = Standing {
            role: Role::Customer,
            active: false,
        };
        let reactivate = UserChange {
            active: Some(true),
            ..UserChange::default()
        };
        assert_eq!(
            decide_user_change(inactive, &reactivate, 1),
            Ok(update(Role::Customer, true, false)),
            "reactivating does not revive the tokens the deactivation ended"
        );
    }

    #[test]
    fn an_account_is_visible_to_its_owner_and_to_admins_only() {
        assert_eq!(may_view_account(OWNER, OWNER.id()), Ok(()));
        assert_eq!(may_view_account(ADMIN, OWNER.id()), Ok(()));
        assert_eq!(may_view_account(AGENT, OWNER.id()), Err(Refusal::NotFound));
        assert_eq!(
            may_view_account(OTHER_CUSTOMER, OWNER.id()),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn a_change_to_what_already_is_changes_nothing() {
        let same = UserChange {
            role: Some(Role::Admin),
            active: Some(true),
            pin: None,
            email: None,
        };
        for change in [same, UserChange::default()] {
            assert_eq!(decide_user_change(ACTIVE_ADMIN, &change, 1), Ok(None));
        }
    }

    #[test]
    fn a_users_list_takes_a_known_role_only() {
        let key = CursorKey::derive(b"the test secret, thirty-two bytes long");
        let refused = ListUsers::parse(Paging::default(), Some("ROOT"), ADMIN, &key);
        assert_eq!(refused.map_err(|e| e.field), Err("role"));
        let agents = ListUsers::parse(Paging::default(), Some("SUPPORT_AGENT"), ADMIN, &key);
        assert_eq!(agents.map(|list| list.role), Ok(Some(Role::SupportAgent)));
    }
}
