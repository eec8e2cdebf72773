//! The JSON API door: the original service's wire format at `/api/v1`, the
//! operations endpoints (`/health`, `/health/live`, `/metrics`) and the
//! API's own documentation (`/docs`, `/api/v1/openapi.json`), over the
//! `store`'s actions.
//!
//! Handlers parse into `domain` types, call the store on the blocking pool
//! as the caller, and answer the envelope; they hold no rule and no SQL.
//! Every failure is an `edge::problem::Problem`, written as the error
//! envelope by [`error::json_errors`].

pub mod auth;
pub mod conditional;
pub mod docs;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod routes;
pub mod schemas;
pub mod wire;

use axum::{Extension, Router, middleware};
use edge::App;
use edge::guard::{guarded, guarded_for_mail};
use edge::problem::Problem;
use utoipa_axum::router::OpenApiRouter;

/// The JSON door: its routes, and the documentation pages, which the
/// server mounts before trailing slashes are trimmed (Swagger UI sends
/// `/docs` to `/docs/` for its relative asset links).
#[derive(Debug)]
pub struct JsonDoor {
    pub routes: Router,
    pub docs: Router,
}

/// Every route of the JSON door over `app`, behind the shared guards, with
/// every failure (the door's own, and an unknown path of the whole
/// server's) answered as the envelope.
pub fn door(app: App) -> JsonDoor {
    let request_timeout = app.limits.request_timeout();
    let api = OpenApiRouter::new()
        .merge(routes::auth::router())
        .merge(routes::users::router())
        .merge(routes::pin_resets::router())
        .merge(routes::notifications::router())
        .merge(routes::tokens::router())
        .merge(routes::report::router())
        .merge(routes::tickets::router())
        .merge(routes::replies::router())
        .merge(routes::webhooks::router())
        .merge(routes::outbox::router())
        .merge(routes::held::router())
        .merge(openapi::router());
    let (routes, mut document) = openapi::base()
        .nest("/api/v1", api)
        .merge(routes::health::router())
        .with_state(app.clone())
        .split_for_parts();
    // Inbound mail is guarded apart (its size and time limits are mail's).
    let (inbound_routes, inbound_document) = OpenApiRouter::new()
        .nest("/api/v1", routes::inbound::router())
        .with_state(app.clone())
        .split_for_parts();
    document.merge(inbound_document);
    openapi::add_shared_responses(&mut document);
    let keyed_routes = idempotency::KeyedRoutes::of(&document);
    routes::webhooks::describe_deliveries(&mut document);
    let document_json = serde_json::to_vec(&document).expect("the OpenAPI document serialises");
    let routes = routes
        .fallback(|| async { Problem::NotFound })
        // After routing, so it sees which route answers.
        .layer(middleware::from_fn_with_state(
            (app, keyed_routes),
            idempotency::idempotent,
        ))
        .layer(Extension(openapi::DocumentJson(document_json.into())));
    let routes = guarded(routes, request_timeout)
        .merge(guarded_for_mail(inbound_routes))
        .layer(middleware::from_fn(error::json_errors));
    JsonDoor {
        routes,
        docs: docs::router(openapi::DOCUMENT_PATH),
    }
}
