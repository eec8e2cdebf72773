//! The extractors that tell a handler who is calling: a bearer token our
//! keys signed, whose account the store still holds active.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::login::BAD_TOKEN;
use domain::{Actor, Refusal, SessionEpoch, UserId};
use edge::App;
use edge::problem::Problem;
use store::Store;

pub const ONE_AUTHORIZATION: &str = "send one Authorization header, not several";

/// The caller as a valid token of ours names them: its subject and
/// session generation. Whether that account is still active, in that
/// generation, and with which role, is asked of the store in the same
/// blocking call as the request's own work ([`as_caller`]), so
/// a request crosses to the blocking pool once, not twice, and the role
/// still comes from the database, with deactivation applying at once.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    subject: UserId,
    epoch: SessionEpoch,
}

impl Caller {
    /// The account the token was issued to (signed by our key, so it is
    /// ours to trust as an id, e.g. for its write budget).
    pub fn id(self) -> UserId {
        self.subject
    }

    /// The session generation the token was issued in, for a store read
    /// that authenticates in its own query (see
    /// `Store::read_ticket_with_token`).
    pub fn epoch(self) -> SessionEpoch {
        self.epoch
    }

    /// The caller as the store says they are now; a 401 when the account
    /// is gone, deactivated, or its sessions were ended since.
    pub fn authenticate(self, store: &Store) -> Result<Actor, Problem> {
        Ok(store.authenticate(self.subject, self.epoch)?)
    }
}

/// The caller if a token was sent, `None` if none was. A token that was
/// sent but does not hold is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        match bearer_token(parts, app)? {
            Some((subject, epoch)) => Ok(Caller { subject, epoch }),
            None => Err(Refusal::Unauthenticated(BAD_TOKEN).into()),
        }
    }
}

impl FromRequestParts<App> for MaybeCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let Some((subject, epoch)) = bearer_token(parts, app)? else {
            return Ok(MaybeCaller(None));
        };
        let actor = on_store(app, move |store| store.authenticate(subject, epoch)).await?;
        Ok(MaybeCaller(Some(actor)))
    }
}

/// The caller a request's bearer token names, if it sent one (whose
/// idempotency keys the request's key is among); an error for a token that
/// does not verify.
pub fn token_caller(parts: &Parts, app: &App) -> Result<Option<Caller>, Problem> {
    Ok(bearer_token(parts, app)?.map(|(subject, epoch)| Caller { subject, epoch }))
}

/// The subject and session generation of the request's bearer token, if
/// it sent one; a token that does not verify is a 401.
fn bearer_token(parts: &Parts, app: &App) -> Result<Option<(UserId, SessionEpoch)>, Problem> {
    let mut sent = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(header) = sent.next() else {
        return Ok(None);
    };
    // Which one would count is a guess two servers on the way might
    // make differently.
    if sent.next().is_some() {
        return Err(Problem::Invalid(ONE_AUTHORIZATION.to_owned()));
    }
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Refusal::Unauthenticated(BAD_TOKEN))?;
    Ok(Some(app.keys.verify(token)?))
}

/// Runs `work` with the store on the blocking pool.
pub async fn on_store<T, E>(
    app: &App,
    work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
) -> Result<T, Problem>
where
    T: Send + 'static,
    E: Into<Problem> + Send + 'static,
{
    app.blocking(move |store| work(store).map_err(Into::into))
        .await
}

/// Runs `work` on the blocking pool as `caller`, authenticated there
/// first (see [`Caller`]): one trip to the pool for both.
pub async fn as_caller<T, E>(
    app: &App,
    caller: Caller,
    work: impl FnOnce(&Store, Actor) -> Result<T, E> + Send + 'static,
) -> Result<T, Problem>
where
    T: Send + 'static,
    E: Into<Problem> + Send + 'static,
{
    on_store(app, move |store| {
        let actor = caller.authenticate(store)?;
        work(store, actor).map_err(Into::into)
    })
    .await
}
