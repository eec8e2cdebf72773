//! User administration (admins, as the store's rules say): the accounts by
//! role, creating staff, changing a role, deactivating and reactivating,
//! resetting a PIN.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::audience::see_user;
use domain::{
    Actor, Creator, CursorKey, EmailAddress, ListUsers, Page, Paging, Pin, Role, User, UserChange,
    UserId, Username,
};
use edge::App;
use edge::problem::Problem;
use serde::Deserialize;
use store::{NewAccount, SignedInUser, Store};

use super::{PageQuery, given, notice, path_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::Posted;
use crate::views::{Choice, Chrome, UserRow, UsersPage, When, render, role_label, sentence};

const USERS_PER_PAGE: &str = "50";
const ROLES: [Role; 3] = [Role::Customer, Role::SupportAgent, Role::Admin];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UsersQuery {
    role: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

impl UsersQuery {
    fn url(&self, cursor: Option<&str>) -> String {
        let mut url = String::from("/admin/users?");
        if let Some(role) = given(&self.role) {
            url.push_str(&format!("role={role}&"));
        }
        if let Some(cursor) = cursor {
            url.push_str(&format!("cursor={cursor}"));
        }
        url.trim_end_matches(['&', '?']).to_owned()
    }
}

pub async fn list(
    State(app): State<App>,
    session: SessionCookie,
    PageQuery(query): PageQuery<UsersQuery>,
) -> Result<Response, PageError> {
    let cursors = app.keys.cursors.clone();
    let asked = UsersQuery {
        done: None,
        ..query.clone()
    };
    let read = session
        .run(&app, move |store, user| {
            read_users(store, user, &cursors, &asked)
        })
        .await?;
    let page = users_page(&app, &session, &query, read, Typed::default(), None);
    Ok(render(&page))
}

/// A page of the accounts as an admin reads it, and where the list goes on.
struct UsersRead {
    user: SignedInUser,
    page: Page<User>,
    next: Option<String>,
}

fn read_users(
    store: &Store,
    user: &SignedInUser,
    cursors: &CursorKey,
    query: &UsersQuery,
) -> Result<UsersRead, PageError> {
    let request = ListUsers::parse(
        Paging {
            page: None,
            limit: Some(USERS_PER_PAGE),
            cursor: given(&query.cursor),
            count: None,
        },
        given(&query.role),
        user.actor,
        cursors,
    )?;
    let page = store.list_users(user.actor, &request)?;
    let next = page
        .next
        .map(|position| cursors.seal(request.page.binding(), position));
    Ok(UsersRead {
        user: user.clone(),
        page,
        next,
    })
}

fn users_page(
    app: &App,
    session: &SessionCookie,
    query: &UsersQuery,
    read: UsersRead,
    typed: Typed,
    error: Option<String>,
) -> UsersPage {
    let UsersRead { user, page, next } = read;
    let role = given(&query.role).unwrap_or("").to_owned();
    let mut roles = vec![Choice::new("", "Every role", &role)];
    roles.extend(ROLES.map(|r| Choice::new(r.as_str(), role_label(r), &role)));
    let rows = page
        .items
        .iter()
        .map(|account| UserRow {
            id: account.id.0,
            username: account.username.clone(),
            role: role_label(account.role),
            active: account.active,
            email: see_user(user.actor, account.clone())
                .user
                .email
                .map(|address| address.as_str().to_owned()),
            created: When::of(account.created_at),
            roles: ROLES
                .map(|r| Choice::new(r.as_str(), role_label(r), account.role.as_str()))
                .to_vec(),
            is_me: account.id == user.actor.id(),
        })
        .collect();
    UsersPage {
        chrome: Chrome::new("Users", Some(viewer(app, session, &user)))
            .with_notice(notice(query.done.as_deref())),
        roles,
        rows,
        next_url: next.as_deref().map(|cursor| query.url(Some(cursor))),
        first_url: query.cursor.as_ref().map(|_| query.url(None)),
        new_username: typed.username,
        new_email: typed.email,
        new_roles: [Role::SupportAgent, Role::Admin, Role::Customer]
            .map(|r| Choice::new(r.as_str(), role_label(r), Role::SupportAgent.as_str()))
            .to_vec(),
        error,
    }
}

/// What the create form held, shown again when it was refused.
#[derive(Debug, Default)]
struct Typed {
    username: String,
    email: String,
}

/// How a change to an account went.
enum Changed {
    /// Done: where to go (the list, with the notice).
    Done(String),
    /// Refused: why, and the list to show it on.
    Refused(Problem, UsersRead),
}

/// Makes `change` as the session's user and, when it is refused, reads the
/// list to show the refusal on (with the username that was being created),
/// in the same trip to the blocking pool.
async fn change_accounts(
    app: &App,
    session: &SessionCookie,
    change: impl FnOnce(&Store, Actor) -> Result<String, PageError> + Send + 'static,
    typed: Typed,
) -> Result<Response, PageError> {
    let cursors = app.keys.cursors.clone();
    let changed = session
        .run(app, move |store, user| match change(store, user.actor) {
            Ok(done) => Ok(Changed::Done(done)),
            Err(error) => {
                let refusal = error.refusal()?;
                let read = read_users(store, user, &cursors, &UsersQuery::default())?;
                Ok(Changed::Refused(refusal, read))
            }
        })
        .await?;
    match changed {
        Changed::Done(done) => Ok(Redirect::to(&done).into_response()),
        Changed::Refused(refusal, read) => {
            let message = sentence(&refusal.to_string());
            let query = UsersQuery::default();
            let page = users_page(app, session, &query, read, typed, Some(message));
            Ok(refusal.with_status(render(&page)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    pin: String,
    role: Option<String>,
    /// Optional: empty for none.
    email: Option<String>,
}

/// Creates an account of any role (an admin's, as the rules say).
pub async fn create(
    State(app): State<App>,
    Posted { session, form }: Posted<NewUserForm>,
) -> Result<Response, PageError> {
    let typed = Typed {
        username: form.username.clone(),
        email: form.email.clone().unwrap_or_default(),
    };
    let new = (|| {
        Ok::<_, PageError>(NewAccount {
            username: Username::parse(form.username)?,
            pin: Pin::parse(form.pin)?,
            role: given(&form.role).map(str::parse).transpose()?,
            email: given(&form.email).map(EmailAddress::parse).transpose()?,
        })
    })();
    // Reserved before the trip, so a flood's refusals never reach the pool.
    let hashing = app.store.reserve_hashing().map_err(PageError::from);
    let change = move |store: &Store, actor: Actor| {
        let new = new?;
        store.create_user(hashing?, Creator::User(actor), &new)?;
        Ok("/admin/users?done=user-created".to_owned())
    };
    change_accounts(&app, &session, change, typed).await
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<RoleForm>,
) -> Result<Response, PageError> {
    let change = form.role.parse::<Role>().map(|role| UserChange {
        role: Some(role),
        active: None,
        pin: None,
        email: None,
    });
    update(
        app,
        session,
        &raw_id,
        change.map_err(PageError::from),
        "role",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct StandingForm {
    #[serde(default)]
    active: String,
}

pub async fn change_standing(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<StandingForm>,
) -> Result<Response, PageError> {
    let (active, done) = match form.active.as_str() {
        "true" => (true, "reactivated"),
        "false" => (false, "deactivated"),
        _ => {
            return Err(Problem::Invalid("active must be true or false".to_owned()).into());
        }
    };
    let change = UserChange {
        role: None,
        active: Some(active),
        pin: None,
        email: None,
    };
    update(app, session, &raw_id, Ok(change), done).await
}

#[derive(Debug, Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
}

pub async fn reset_pin(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form }: Posted<PinForm>,
) -> Result<Response, PageError> {
    let change = Pin::parse(form.pin).map(|pin| UserChange {
        role: None,
        active: None,
        pin: Some(pin),
        email: None,
    });
    update(
        app,
        session,
        &raw_id,
        change.map_err(PageError::from),
        "pin",
    )
    .await
}

/// Applies an admin's change through the store (which refuses a non-admin,
/// and a change that would leave no active admin).
async fn update(
    app: App,
    session: SessionCookie,
    raw_id: &str,
    change: Result<UserChange, PageError>,
    done: &'static str,
) -> Result<Response, PageError> {
    let id = UserId(path_id(raw_id)?);
    let change = move |store: &Store, actor: Actor| {
        store.update_user(actor, id, &change?)?;
        Ok(format!("/admin/users?done={done}#user-{}", id.0))
    };
    change_accounts(&app, &session, change, Typed::default()).await
}
