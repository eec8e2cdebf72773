//! The staff directory: the usernames behind the ids on a ticket, and the
//! staff a ticket can be given to. Staff only; a customer knows ids.

use std::collections::HashMap;

use diesel::prelude::*;
use domain::audience::may_see_directory;
use domain::{Actor, Role, StaffMember, User, UserId};

use crate::Store;
use crate::connection::DbConnection;
use crate::error::StoreResult;
use crate::rows::{USER_COLUMNS, UserRow, convert_all};
use crate::schema::users;

/// The most staff an assignee menu lists.
pub const ASSIGNABLE_STAFF_SHOWN: i64 = 500;

impl Store {
    /// The usernames behind `ids`, for staff (ids that name no account are
    /// left out).
    pub fn usernames(&self, actor: Actor, ids: &[UserId]) -> StoreResult<HashMap<UserId, String>> {
        may_see_directory(actor)?;
        usernames(&mut *self.conn()?, ids)
    }

    /// The active support agents and admins a ticket can be assigned to,
    /// by username (at most [`ASSIGNABLE_STAFF_SHOWN`]); for staff.
    pub fn assignable_staff(&self, actor: Actor) -> StoreResult<Vec<StaffMember>> {
        may_see_directory(actor)?;
        assignable_staff(&mut *self.conn()?)
    }
}

pub(crate) fn usernames(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> StoreResult<HashMap<UserId, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, username)| (UserId(id), username))
        .collect())
}

pub(crate) fn assignable_staff(conn: &mut DbConnection) -> StoreResult<Vec<StaffMember>> {
    let rows: Vec<UserRow> = users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::SupportAgent.as_str(), Role::Admin.as_str()]))
        .select(USER_COLUMNS)
        .order_by(users::username.asc())
        .limit(ASSIGNABLE_STAFF_SHOWN)
        .load(conn)?;
    let staff: Vec<User> = convert_all(rows)?;
    Ok(staff
        .into_iter()
        .map(|user| StaffMember {
            id: user.id,
            username: user.username,
        })
        .collect())
}
