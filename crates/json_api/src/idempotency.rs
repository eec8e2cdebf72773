//! Idempotent creation at the JSON door (the IETF `Idempotency-Key`
//! header), in three steps around a creating route's handler:
//!
//! 1. [`idempotent`], a layer, reads the key and the body, and takes the
//!    key in a short write of its own; a key already kept gets its answer
//!    again (`Idempotent-Replayed: true`), 422 for another body, or 409
//!    while its first request is in flight.
//! 2. The handler hands its hold ([`Once`]) to the store action, which
//!    records the answer, rendered here, in the change's own transaction.
//! 3. Back in the layer: a refusal (4xx) is kept as the key's answer in a
//!    write of its own (nothing was changed); a failure of ours (5xx), and
//!    the 4xx that say to come back later, let the key go, so a retry
//!    runs again.
//!
//! Which routes take a key is read from the OpenAPI document: the
//! operations that list the `Idempotency-Key` header.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::idempotency::{
    Fingerprint, IdempotencyKey, KeyOwner, KeyScope, KeyedRequest, StoredAnswer, keeps_answer,
};
use edge::App;
use edge::guard::BODY_LIMIT_BYTES;
use edge::problem::Problem;
use serde::Serialize;
use store::{Claimed, KeyClaim, Recording};

use crate::auth::{remember_caller, token_caller};
use crate::error::{request_id, write_envelope};

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The header of an answer given again.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The routes (method and path template) that take a key.
#[derive(Debug, Clone, Default)]
pub struct KeyedRoutes(Arc<BTreeSet<(Method, String)>>);

impl KeyedRoutes {
    /// The operations of `document` that list the `Idempotency-Key` header.
    pub fn of(document: &utoipa::openapi::OpenApi) -> Self {
        let mut routes = BTreeSet::new();
        for (path, item) in &document.paths.paths {
            let operations = [
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
            ];
            for (method, operation) in operations {
                let takes_key = operation.as_ref().is_some_and(|operation| {
                    operation.parameters.iter().flatten().any(|parameter| {
                        matches!(parameter, utoipa::openapi::RefOr::T(p) if p.name == "Idempotency-Key")
                    })
                });
                if takes_key {
                    routes.insert((method, path.clone()));
                }
            }
        }
        KeyedRoutes(Arc::new(routes))
    }

    fn takes_key(&self, method: &Method, template: &str) -> bool {
        self.0.contains(&(method.clone(), template.to_owned()))
    }
}

/// The hold on its key a creating request's handler records its answer
/// under; empty when the request brought no key.
#[derive(Debug, Clone, Default)]
pub struct Once(Option<KeyClaim>);

/// The hold, as the layer hands it to the handler.
#[derive(Debug, Clone)]
struct Held(KeyClaim);

/// Marks an answer the store recorded as its key's.
#[derive(Debug, Clone, Copy)]
struct Recorded;

impl<S: Send + Sync> FromRequestParts<S> for Once {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Once(
            parts.extensions.get::<Held>().map(|held| held.0.clone()),
        ))
    }
}

impl Once {
    /// What the store action records with its change, if a key is held:
    /// the hold, and `answer`, which renders the action's result.
    pub fn recording<T: 'static>(&self, answer: fn(&T) -> StoredAnswer) -> Option<Recording<T>> {
        self.0.clone().map(|claim| Recording::new(claim, answer))
    }

    /// `answer` as the response, marked as recorded when a key is held.
    pub fn respond(&self, answer: StoredAnswer) -> Response {
        let mut response = stored_response(answer);
        if self.0.is_some() {
            response.extensions_mut().insert(Recorded);
        }
        response
    }
}

/// A 201 with `envelope` as its body, as it is kept for retries.
pub fn created<T: Serialize>(envelope: &T) -> StoredAnswer {
    StoredAnswer {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_string(envelope).unwrap_or_default(),
    }
}

/// A kept answer as a response: its status and its JSON body.
fn stored_response(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer.body,
    )
        .into_response()
}

/// The layer (see the module's summary), over every route of the door;
/// it acts on the routes in `routes` only.
pub async fn idempotent(
    State((app, routes)): State<(App, KeyedRoutes)>,
    request: Request,
    next: Next,
) -> Response {
    // The header first: most requests carry none, and pass at once.
    let keyed = request.headers().contains_key(&IDEMPOTENCY_KEY)
        && request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|template| routes.takes_key(request.method(), template.as_str()));
    if !keyed {
        return next.run(request).await;
    }
    match take_key(&app, request).await {
        Err(problem) => problem.into_response(),
        Ok(Taken::Pass(request)) => next.run(request).await,
        Ok(Taken::Replay(answer)) => {
            let mut response = stored_response(answer);
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Ok(Taken::Held(mut request, claim)) => {
            let request_id = request_id(request.headers());
            request.extensions_mut().insert(Held(claim.clone()));
            let response = next.run(request).await;
            settle(&app, claim, response, request_id).await
        }
    }
}

/// What the first step found.
enum Taken {
    /// No key to take (a credential that does not hold: the route refuses
    /// it).
    Pass(Request),
    Replay(StoredAnswer),
    Held(Request, KeyClaim),
}

/// Reads the key and the body and takes the key for this request.
async fn take_key(app: &App, request: Request) -> Result<Taken, Problem> {
    let mut sent = request.headers().get_all(&IDEMPOTENCY_KEY).iter();
    let (Some(value), None) = (sent.next(), sent.next()) else {
        return Err(Problem::Invalid(
            "send one Idempotency-Key header, not several".to_owned(),
        ));
    };
    let key = IdempotencyKey::parse(value.to_str().unwrap_or(""))?;
    let (mut parts, body) = request.into_parts();
    let found = token_caller(&parts, app).await;
    if let Ok(caller) = found {
        remember_caller(&mut parts, caller);
    }
    let (owner, caller) = match found {
        Ok(Some(caller)) => (KeyOwner::Account(caller.id()), Some(caller)),
        Ok(None) => (
            KeyOwner::Address(app.limits.client_of(&parts).0.to_string()),
            None,
        ),
        Err(_) => return Ok(Taken::Pass(Request::from_parts(parts, body))),
    };
    let scope = KeyScope::new(&owner, parts.method.as_str(), parts.uri.path());
    let bytes = read_body(body).await?;
    let keyed = KeyedRequest {
        scope,
        key,
        fingerprint: Fingerprint::of(&bytes),
    };
    let in_flight_limit = app.limits.request_timeout();
    let claimed = app
        .blocking(move |store| {
            // A token whose session ended gets no answer of its account's
            // again: the route answers it (401), as without a key.
            if let Some(caller) = caller
                && caller.authenticate(store).is_err()
            {
                return Ok(None);
            }
            store
                .claim_idempotency_key(&keyed, in_flight_limit)
                .map(Some)
                .map_err(Problem::from)
        })
        .await?;
    let body = Body::from(bytes);
    Ok(match claimed {
        None => Taken::Pass(Request::from_parts(parts, body)),
        Some(Claimed::Replay(answer)) => Taken::Replay(answer),
        Some(Claimed::Fresh(claim)) => Taken::Held(Request::from_parts(parts, body), claim),
    })
}

/// The whole body, within the door's limit.
async fn read_body(body: Body) -> Result<Bytes, Problem> {
    axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|error| {
            let over = std::error::Error::source(&error)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
            match over {
                true => {
                    Problem::TooLarge(format!("the body may be at most {BODY_LIMIT_BYTES} bytes"))
                }
                false => Problem::Invalid("the body could not be read whole".to_owned()),
            }
        })
}

/// The third step: keeps a refusal's answer, or lets the key go.
async fn settle(
    app: &App,
    claim: KeyClaim,
    response: Response,
    request_id: Option<String>,
) -> Response {
    if response.extensions().get::<Recorded>().is_some() {
        return response;
    }
    let status = response.status();
    if status.is_success() {
        tracing::error!(%status, "a route that takes Idempotency-Key answered without recording its answer; the key is let go");
    }
    if status.is_success() || !keeps_answer(status.as_u16()) {
        release(app, claim).await;
        return response;
    }
    let (parts, body) = write_envelope(response, request_id).into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(body) = String::from_utf8(bytes.to_vec()) else {
        release(app, claim).await;
        return Response::from_parts(parts, Body::from(bytes));
    };
    let answer = StoredAnswer {
        status: status.as_u16(),
        body,
    };
    let kept = app
        .blocking({
            let answer = answer.clone();
            move |store| {
                store
                    .keep_idempotent_answer(&claim, &answer)
                    .map_err(Problem::from)
            }
        })
        .await;
    if let Err(problem) = kept {
        // The answer still goes out; the key stays in flight until it
        // counts as abandoned, and a retry then runs again.
        tracing::warn!(error = %problem, "keeping a refused request's answer failed");
    }
    Response::from_parts(parts, Body::from(answer.body))
}

async fn release(app: &App, claim: KeyClaim) {
    let released = app
        .blocking(move |store| store.release_idempotency_key(&claim).map_err(Problem::from))
        .await;
    if let Err(problem) = released {
        tracing::warn!(error = %problem, "letting an idempotency key go failed");
    }
}
