//! User administration (admins, as the store's rules say): the accounts by
//! role, creating staff, changing a role, deactivating and reactivating,
//! resetting a PIN.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Creator, ListUsers, Page, Paging, Pin, Role, User, UserChange, UserId, Username};
use edge::App;
use edge::problem::Problem;
use serde::Deserialize;
use store::{NewAccount, SignedInUser};

use super::{PageQuery, given, notice, path_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::Posted;
use crate::views::{Choice, Chrome, UserRow, UsersPage, When, render, role_label, sentence};

const USERS_PER_PAGE: &str = "50";
const ROLES: [Role; 3] = [Role::Customer, Role::SupportAgent, Role::Admin];

#[derive(Debug, Default, Deserialize)]
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
    let (user, page, next) = read_users(&app, &session, &query).await?;
    let page = users_page(
        &app,
        &session,
        &query,
        user,
        page,
        next,
        String::new(),
        None,
    );
    Ok(render(&page))
}

async fn read_users(
    app: &App,
    session: &SessionCookie,
    query: &UsersQuery,
) -> Result<(SignedInUser, Page<User>, Option<String>), PageError> {
    let cursors = app.keys.cursors.clone();
    let (role, cursor) = (query.role.clone(), query.cursor.clone());
    session
        .run(app, move |store, user| {
            let request = ListUsers::parse(
                Paging {
                    page: None,
                    limit: Some(USERS_PER_PAGE),
                    cursor: given(&cursor),
                    count: None,
                },
                given(&role),
                user.actor,
                &cursors,
            )?;
            let page = store.list_users(user.actor, &request)?;
            let next = page
                .next
                .map(|position| cursors.seal(request.page.binding(), position));
            Ok((user.clone(), page, next))
        })
        .await
}

#[expect(clippy::too_many_arguments, reason = "one page's parts, named")]
fn users_page(
    app: &App,
    session: &SessionCookie,
    query: &UsersQuery,
    user: SignedInUser,
    page: Page<User>,
    next: Option<String>,
    new_username: String,
    error: Option<String>,
) -> UsersPage {
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
        new_username,
        new_roles: [Role::SupportAgent, Role::Admin, Role::Customer]
            .map(|r| Choice::new(r.as_str(), role_label(r), Role::SupportAgent.as_str()))
            .to_vec(),
        error,
    }
}

/// A refused change: the list again, with the refusal and the username
/// that was being created.
async fn refused(
    app: &App,
    session: &SessionCookie,
    error: PageError,
    new_username: String,
) -> Result<Response, PageError> {
    let refusal = error.refusal()?;
    let query = UsersQuery::default();
    let (user, page, next) = read_users(app, session, &query).await?;
    let message = sentence(&refusal.to_string());
    let page = users_page(
        app,
        session,
        &query,
        user,
        page,
        next,
        new_username,
        Some(message),
    );
    Ok(refusal.with_status(render(&page)))
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    pin: String,
    role: Option<String>,
}

/// Creates an account of any role (an admin's, as the rules say).
pub async fn create(
    State(app): State<App>,
    Posted { session, form }: Posted<NewUserForm>,
) -> Result<Response, PageError> {
    let typed = form.username.clone();
    let new = (|| {
        Ok::<_, PageError>(NewAccount {
            username: Username::parse(form.username)?,
            pin: Pin::parse(form.pin)?,
            role: given(&form.role).map(str::parse).transpose()?,
        })
    })();
    let outcome = match new {
        Ok(new) => match app.store.reserve_hashing() {
            Ok(hashing) => {
                session
                    .run(&app, move |store, user| {
                        Ok(store
                            .create_user(hashing, Creator::User(user.actor), &new)
                            .map_err(PageError::from))
                    })
                    .await?
            }
            Err(busy) => Err(busy.into()),
        },
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to("/admin/users?done=user-created").into_response()),
        Err(error) => refused(&app, &session, error, typed).await,
    }
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
    let outcome = match change {
        Ok(change) => {
            session
                .run(&app, move |store, user| {
                    Ok(store
                        .update_user(user.actor, id, &change)
                        .map_err(PageError::from))
                })
                .await?
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/users?done={done}#user-{}", id.0)).into_response())
        }
        Err(error) => refused(&app, &session, error, String::new()).await,
    }
}
