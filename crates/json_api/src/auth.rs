//! The extractors that tell a handler who is calling: a session's bearer
//! token our keys signed (a JWT), whose account the store still holds
//! active, or a program's API token (`trk_...`) the store knows.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::login::BAD_TOKEN;
use domain::{Access, Actor, Refusal, SeenTicket, SessionEpoch, TicketId, UserId};
use edge::App;
use edge::api_tokens::ApiTokenSecret;
use edge::problem::Problem;
use store::Store;

pub const ONE_AUTHORIZATION: &str = "send one Authorization header, not several";

/// The caller as their credential names them.
///
/// For a session's JWT: its subject and session generation. Whether that
/// account is still active, in that generation, and with which role, is
/// asked of the store in the same blocking call as the request's own work
/// ([`as_caller`]), so a request crosses to the blocking pool once, not
/// twice, and the role still comes from the database, with deactivation
/// applying at once.
///
/// For an API token: the account the store found for it, already
/// authenticated by the extractor. Only the database knows whose a token
/// is, and handlers need the account before their work (its write
/// budget), so such a request crosses to the pool twice.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    subject: UserId,
    proof: Proof,
}

#[derive(Debug, Clone, Copy)]
enum Proof {
    /// A session's JWT of this generation, not yet checked against the
    /// account.
    Session(SessionEpoch),
    /// An API token the store accepted for this request.
    ApiToken(Actor),
}

impl Caller {
    /// The account the credential was issued to (a JWT signed by our key,
    /// or a token the store found), so ours to trust as an id, e.g. for
    /// its write budget.
    pub fn id(self) -> UserId {
        self.subject
    }

    /// The caller as the store says they are now; a 401 when the account
    /// is gone, deactivated, or its sessions were ended since.
    pub fn authenticate(self, store: &Store) -> Result<Actor, Problem> {
        match self.proof {
            Proof::Session(epoch) => Ok(store.authenticate(self.subject, epoch)?),
            Proof::ApiToken(actor) => Ok(actor),
        }
    }

    /// One ticket as the caller sees it. A session's account is read in
    /// the ticket's own query (`Store::read_ticket_with_token`); an API
    /// token's was authenticated already.
    pub fn read_ticket(self, store: &Store, ticket: TicketId) -> Result<SeenTicket, Problem> {
        match self.proof {
            Proof::Session(epoch) => {
                Ok(store.read_ticket_with_token(self.subject, epoch, ticket)?)
            }
            Proof::ApiToken(actor) => Ok(store.read_ticket(actor, ticket)?),
        }
    }
}

/// The caller if a token was sent, `None` if none was. A token that was
/// sent but does not hold is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        token_caller(parts, app)
            .await?
            .ok_or_else(|| Refusal::Unauthenticated(BAD_TOKEN).into())
    }
}

impl FromRequestParts<App> for MaybeCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let Some(caller) = token_caller(parts, app).await? else {
            return Ok(MaybeCaller(None));
        };
        let actor = match caller.proof {
            Proof::ApiToken(actor) => actor,
            Proof::Session(_) => on_store(app, move |store| caller.authenticate(store)).await?,
        };
        Ok(MaybeCaller(Some(actor)))
    }
}

/// The caller a request's bearer credential names, if it sent one (whose
/// idempotency keys the request's key is among); an error for a
/// credential that does not hold.
///
/// Found once a request: the idempotency layer, which needs the caller
/// before the route does, leaves what it found in the request
/// ([`remember_caller`]), so an API token is looked up once, not twice.
pub async fn token_caller(parts: &Parts, app: &App) -> Result<Option<Caller>, Problem> {
    if let Some(KnownCaller(known)) = parts.extensions.get::<KnownCaller>() {
        return Ok(*known);
    }
    Ok(match bearer(parts, app)? {
        None => None,
        Some(Bearer::Session(subject, epoch)) => Some(Caller {
            subject,
            proof: Proof::Session(epoch),
        }),
        Some(Bearer::ApiToken(token)) => {
            let actor = api_token_caller(app, &parts.method, token).await?;
            Some(Caller {
                subject: actor.id(),
                proof: Proof::ApiToken(actor),
            })
        }
    })
}

/// The caller [`token_caller`] found for a request, kept in it.
#[derive(Debug, Clone, Copy)]
struct KnownCaller(Option<Caller>);

/// Keeps `caller`, as [`token_caller`] found it for the request of
/// `parts`, for the extractors that ask again.
pub fn remember_caller(parts: &mut Parts, caller: Option<Caller>) {
    parts.extensions.insert(KnownCaller(caller));
}

/// The credential a request's `Authorization` header carries.
enum Bearer {
    /// A session's JWT, verified: its subject and session generation.
    Session(UserId, SessionEpoch),
    /// An API token of the right shape, not yet looked up.
    ApiToken(ApiTokenSecret),
}

/// The request's bearer credential, if it sent one; a JWT that does not
/// verify, or a token that cannot be one of ours, is a 401.
fn bearer(parts: &Parts, app: &App) -> Result<Option<Bearer>, Problem> {
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
    if ApiTokenSecret::is_claimed_by(token) {
        let token = ApiTokenSecret::parse(token).ok_or(Refusal::Unauthenticated(BAD_TOKEN))?;
        return Ok(Some(Bearer::ApiToken(token)));
    }
    let (subject, epoch) = app.keys.verify(token)?;
    Ok(Some(Bearer::Session(subject, epoch)))
}

/// Who an API token speaks for in a request of `method`, as the store
/// says (a 401 for an unknown, revoked or expired token or a deactivated
/// account; a 403 for a read-only token's write).
///
/// A read-only token is refused here, by the request's method, and not by
/// each route or store action: every route that acts as an account takes
/// [`Caller`] or [`MaybeCaller`], so a route added later is covered
/// without anyone remembering to mark it a write, and the method is what
/// a client is promised ("anything but GET and HEAD is refused"). A scope
/// carried on the `Actor` would instead need every one of the store's many
/// write actions to check it, and the first one forgotten would let a
/// read-only token write. The verdict itself is `domain`'s
/// (`decide_token_session`), asked by the store.
async fn api_token_caller(
    app: &App,
    method: &Method,
    token: ApiTokenSecret,
) -> Result<Actor, Problem> {
    let access = if method == Method::GET || method == Method::HEAD {
        Access::Read
    } else {
        Access::Write
    };
    let digest = token.digest();
    on_store(app, move |store| {
        store.authenticate_api_token(&digest, access)
    })
    .await
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
